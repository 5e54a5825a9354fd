//! Unique indexes: a hash map from each key's hash to the rows that hold
//! it, for point look-ups and for reserving keys atomically, plus the
//! ordered entries for ranges.

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

use dashmap::mapref::entry::Entry;

use super::LookupKey;
use super::entry::{Borrowed, IndexEntry, SeekRange};
use super::ordered::OrderedMap;
use super::traits::{Index, IndexStore, OrderedStore, UniqueLookup};
use super::verify_ordered;
use crate::hash::{HashMap, HashState, hash_bytes, hash_map};
use crate::row::{DuplicateKey, IndexMaintenance, LoadPart, Row};

/// Storage of a unique index: key → primary key.
///
/// The hash map is keyed by the key's 64-bit hash, not by the key: it
/// holds no copy of the keys (the ordered entries hold one), and a look-up
/// compares no key there — the row it leads to is compared instead, which
/// the look-up reads anyway. Two keys may share a hash, so a hash holds a
/// list of primary keys, almost always of one.
///
/// Protocol: a writer adds or removes a key's ordered entry and its
/// primary key in the hash's list together, under the hash map's lock for
/// the hash. So whenever nobody holds that lock, the list of a hash holds
/// exactly the primary keys of the ordered entries whose keys have that
/// hash; and an insert, holding the lock, rejects its key if an ordered
/// entry has it. This makes two inserts of one value race to exactly one
/// winner. (The hash map's lock is taken before the ordered map's node
/// locks: see the lock table in `ARCHITECTURE.md`.)
///
/// `H` hashes the keys for the map (a seeded foldhash; tests give one whose
/// hashes always collide).
pub struct UniqueStore<R: Row, I: Index<R>, H = HashState> {
    hash: HashMap<u64, Holders<R::Pk>>,
    hasher: H,
    ordered: OrderedMap<I::Key, R::Pk>,
    _index: PhantomData<fn() -> I>,
}

/// The primary keys of the rows whose keys have one hash.
#[derive(Debug)]
enum Holders<P> {
    One(P),
    /// Two or more (keys whose hashes collide: rare). A boxed slice, so
    /// that `Holders<u64>` takes 16 bytes.
    Many(Box<[P]>),
}

impl<P: PartialEq + Clone> Holders<P> {
    fn as_slice(&self) -> &[P] {
        match self {
            Self::One(pk) => std::slice::from_ref(pk),
            Self::Many(pks) => pks,
        }
    }

    fn push(&mut self, pk: P) {
        let mut pks = self.as_slice().to_vec();
        pks.push(pk);
        *self = Self::Many(pks.into_boxed_slice());
    }

    /// Takes one `pk` out; returns whether none is left.
    fn remove(&mut self, pk: &P) -> bool {
        if let Self::One(held) = self {
            return held == pk;
        }
        let mut pks = self.as_slice().to_vec();
        if let Some(at) = pks.iter().position(|held| held == pk) {
            pks.swap_remove(at);
        }
        *self = match pks.len() {
            0 => return true,
            1 => Self::One(pks.pop().expect("one left")),
            _ => Self::Many(pks.into_boxed_slice()),
        };
        false
    }
}

impl<R: Row, I: Index<R>, H: Default> Default for UniqueStore<R, I, H> {
    fn default() -> Self {
        Self {
            hash: hash_map(),
            hasher: H::default(),
            ordered: OrderedMap::new(I::key_prefix()),
            _index: PhantomData,
        }
    }
}

impl<R: Row, I: Index<R>, H> fmt::Debug for UniqueStore<R, I, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UniqueStore")
            .field("index", &I::NAME)
            .field("entries", &self.ordered.len())
            .finish()
    }
}

impl<R: Row, I: Index<R>, H: BuildHasher> UniqueStore<R, I, H> {
    /// The hash of `key` in `hash` (equal for a key and each of its
    /// [`LookupKey`] forms).
    fn hash_of<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Whether an ordered entry has `key`.
    fn has_key(&self, key: &I::Key) -> bool {
        self.ordered
            .range(SeekRange::only(Borrowed(key)))
            .next()
            .is_some()
    }

    fn duplicate(key: &I::Key) -> DuplicateKey {
        DuplicateKey {
            index: I::NAME,
            key: format!("{key:?}"),
        }
    }

    /// Loads the hash part: one entry per row, and an error if two rows
    /// have one key.
    fn load_hash(&self, rows: &[(&R::Archived, &R::Pk)]) -> Result<(), DuplicateKey> {
        let mut shared = HashSet::new();
        for &(archived, pk) in rows {
            let hash = self.hash_of(&I::key_of_archived(archived));
            match self.hash.entry(hash) {
                Entry::Occupied(mut taken) => {
                    taken.get_mut().push(pk.clone());
                    shared.insert(hash);
                }
                Entry::Vacant(slot) => {
                    slot.insert(Holders::One(pk.clone()));
                }
            }
        }
        if shared.is_empty() {
            return Ok(());
        }
        // Some rows share a hash: compare their keys.
        let mut keys = HashSet::new();
        for &(archived, _) in rows {
            let key = I::key_of_archived(archived);
            if shared.contains(&self.hash_of(&key)) && !keys.insert(key.clone()) {
                return Err(Self::duplicate(&key));
            }
        }
        Ok(())
    }
}

impl<R: Row, I: Index<R>, H: BuildHasher + Send + Sync> IndexMaintenance<R>
    for UniqueStore<R, I, H>
{
    fn name(&self) -> &'static str {
        I::NAME
    }

    fn is_unique(&self) -> bool {
        true
    }

    fn insert(&self, row: &R) -> Result<(), DuplicateKey> {
        let key = I::key(row);
        let pk = row.pk();
        // Held until the ordered entry is in: see the protocol above.
        let _reserved = match self.hash.entry(self.hash_of(&key)) {
            Entry::Occupied(mut taken) => {
                if self.has_key(&key) {
                    return Err(Self::duplicate(&key));
                }
                taken.get_mut().push(pk.clone());
                taken.into_ref()
            }
            Entry::Vacant(slot) => slot.insert(Holders::One(pk.clone())),
        };
        self.ordered.insert(key, pk);
        Ok(())
    }

    fn remove(&self, row: &R) {
        let entry = IndexEntry {
            key: I::key(row),
            pk: row.pk(),
        };
        let Entry::Occupied(mut holders) = self.hash.entry(self.hash_of(&entry.key)) else {
            return;
        };
        self.ordered.remove(&entry);
        if holders.get_mut().remove(&entry.pk) {
            holders.remove();
        }
    }

    fn load_parts(&self) -> &'static [LoadPart] {
        &[LoadPart::Hash, LoadPart::Ordered]
    }

    fn load(&self, rows: &[(&R::Archived, &R::Pk)], part: LoadPart) -> Result<(), DuplicateKey> {
        match part {
            LoadPart::Hash => self.load_hash(rows)?,
            LoadPart::Ordered => {
                self.ordered.load_sorted(super::sorted_keys::<R, I>(rows));
            }
        }
        Ok(())
    }

    fn key_changed(&self, old: &R, new: &R) -> bool {
        !I::same_key(old, new)
    }

    fn entry_count(&self) -> usize {
        self.ordered.len()
    }

    fn approx_bytes(&self) -> usize {
        hash_bytes(&self.hash) + self.ordered.approx_bytes()
    }

    fn verify(&self, read: &dyn Fn(&R::Pk) -> Option<R>) -> Result<usize, String> {
        let entries = verify_ordered::<R, I>(&self.ordered, read)?;
        let held: usize = self
            .hash
            .iter()
            .map(|holders| holders.as_slice().len())
            .sum();
        if held != entries {
            return Err(format!(
                "index `{}`: {held} reserved keys but {entries} ordered entries",
                I::NAME
            ));
        }
        let mut previous: Option<I::Key> = None;
        for entry in self.ordered.iter() {
            let (key, pk) = (&entry.key, &entry.pk);
            if previous.as_ref() == Some(key) {
                return Err(format!("index `{}`: key {key:?} is held twice", I::NAME));
            }
            let hash = self.hash_of(key);
            if !self
                .hash
                .get(&hash)
                .is_some_and(|holders| holders.as_slice().contains(pk))
            {
                return Err(format!(
                    "index `{}`: ordered entry {key:?} → {pk:?} is not the key's reservation",
                    I::NAME
                ));
            }
            previous = Some(key.clone());
        }
        Ok(entries)
    }
}

impl<R: Row, I: Index<R>, H: BuildHasher + Send + Sync + Default + 'static> IndexStore<R, I>
    for UniqueStore<R, I, H>
{
    fn ordered(&self) -> Option<&OrderedMap<I::Key, R::Pk>> {
        Some(&self.ordered)
    }
}

impl<R: Row, I: Index<R>, H: BuildHasher + Send + Sync + Default + 'static> OrderedStore<R, I>
    for UniqueStore<R, I, H>
{
    fn entries(&self) -> &OrderedMap<I::Key, R::Pk> {
        &self.ordered
    }
}

impl<R: Row, I: Index<R>, H: BuildHasher + Send + Sync + Default + 'static> UniqueLookup<R, I>
    for UniqueStore<R, I, H>
{
    /// The rows whose key has `key`'s hash, almost always at most one.
    fn find<Q, T>(&self, key: &Q, mut f: impl FnMut(&R::Pk, bool) -> Option<T>) -> Option<T>
    where
        Q: LookupKey<I::Key> + ?Sized,
    {
        let holders = self.hash.get(&self.hash_of(key))?;
        let pks = holders.as_slice();
        pks.iter().find_map(|pk| f(pk, pks.len() == 1))
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasherDefault, Hasher};

    use crate::Table;
    use crate::rkyv::{Archive, Deserialize, Serialize};

    use super::*;

    #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    #[rkyv(crate = crate::rkyv)]
    #[table(crate = "crate")]
    struct Account {
        #[pk]
        id: u32,
        #[index(unique)]
        name: String,
    }

    /// A hasher under which every key has the hash 0: every key collides.
    #[derive(Default)]
    struct Colliding;

    impl Hasher for Colliding {
        fn finish(&self) -> u64 {
            0
        }

        fn write(&mut self, _: &[u8]) {}
    }

    type Store<I> = UniqueStore<Account, I, BuildHasherDefault<Colliding>>;

    fn store<I: Index<Account>>(_: I) -> Store<I> {
        Store::default()
    }

    fn account(id: u32, name: &str) -> Account {
        Account {
            id,
            name: name.into(),
        }
    }

    /// The primary keys `find` offers for `key`, with whether it said each
    /// was alone.
    fn offered<I: Index<Account, Key = String>>(store: &Store<I>, key: &str) -> Vec<(u32, bool)> {
        let mut offered = Vec::new();
        store.find(key, |pk, alone| {
            offered.push((*pk, alone));
            None::<()>
        });
        offered
    }

    #[test]
    fn colliding_keys_are_told_apart_and_a_taken_key_is_refused() {
        let names = store(Account::NAME);
        let (a, b) = (account(1, "ann"), account(2, "bob"));
        names.insert(&a).unwrap();
        names.insert(&b).unwrap();
        assert_eq!(offered(&names, "bob"), [(1, false), (2, false)]);
        let taken = names.insert(&account(3, "ann")).unwrap_err();
        assert_eq!(taken.key, "\"ann\"");
        // The refused insert left nothing behind.
        assert_eq!(offered(&names, "ann").len(), 2);

        names.remove(&a);
        assert_eq!(offered(&names, "bob"), [(2, true)]);
        names.insert(&account(3, "ann")).unwrap();
        let rows = [b, account(3, "ann")];
        let read = |pk: &u32| rows.iter().find(|row| row.id == *pk).cloned();
        assert_eq!(names.verify(&read), Ok(2));

        names.remove(&rows[0]);
        names.remove(&rows[1]);
        assert!(offered(&names, "ann").is_empty());
        assert_eq!(names.verify(&read), Ok(0));
    }

    #[test]
    fn a_row_may_move_to_a_colliding_key_of_its_own() {
        // An update inserts the new key before it removes the old one.
        let names = store(Account::NAME);
        let (old, new) = (account(1, "ann"), account(1, "anna"));
        names.insert(&old).unwrap();
        names.insert(&new).unwrap();
        names.remove(&old);
        assert_eq!(offered(&names, "anna"), [(1, true)]);
        assert_eq!(names.verify(&|_| Some(new.clone())), Ok(1));
    }

    #[test]
    fn loading_finds_a_duplicate_among_colliding_keys() {
        let rows = [account(1, "ann"), account(2, "bob"), account(3, "ann")];
        let images: Vec<_> = rows
            .iter()
            .map(|row| crate::rkyv::to_bytes::<crate::rkyv::rancor::Error>(row).unwrap())
            .collect();
        let archived: Vec<_> = images
            .iter()
            .map(|bytes| {
                crate::rkyv::access::<ArchivedAccount, crate::rkyv::rancor::Error>(bytes).unwrap()
            })
            .collect();
        let loaded = |count: usize| {
            let pairs: Vec<_> = archived[..count]
                .iter()
                .zip(&rows)
                .map(|(archived, row)| (*archived, &row.id))
                .collect();
            store(Account::NAME).load(&pairs, LoadPart::Hash)
        };
        assert_eq!(loaded(2), Ok(()));
        assert_eq!(loaded(3).unwrap_err().key, "\"ann\"");
    }
}
