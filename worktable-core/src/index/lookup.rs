//! The forms of a key that index look-ups accept: the key itself, or the
//! form a user has at hand (`"x"` for a `String` key, `&Some("x")` for an
//! `Option<String>` key).
//!
//! [`Borrow`] cannot express these: an `Option<String>` holds no
//! `Option<&str>` to lend. [`LookupKey`] compares the form with a key
//! instead of borrowing the key as the form; for the hash maps, which need
//! [`Borrow`], it lends what the key borrows as, or builds the key.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt::Debug;
use std::hash::Hash;

use crate::row::Key;

/// A value that look-ups by a key of type `K` accept: `get_by`, `find_by`,
/// `delete_by`, `delete_all_by`, `update_all_by`, `Query::by`, and the same
/// on snapshots and in transactions.
///
/// | key type `K` | accepted forms |
/// |---|---|
/// | any key | `&K` |
/// | `String` | `"x"` (`&str`), `&"x"` (`&&str`) |
/// | `Vec<T>` | `&[T]` (`v.as_slice()`, `&v[..]`) |
/// | `Option<String>` | `&Some("x")` (`&Option<&str>`), `&name.as_ref()` (`&Option<&String>`), `&None::<&str>` |
/// | `Option<Vec<T>>` | `&Some(&v[..])` (`&Option<&[T]>`), `&None::<&[T]>` |
///
/// `&None` alone is a key of every `Option` index except those two: an
/// `Option<String>` index accepts `None` of three types, and Rust cannot
/// pick one, so say which (`&None::<&str>`; `&None::<String>` works too).
///
/// ```
/// use worktable_core::prelude::*;
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Ticket {
///     #[pk]
///     id: u32,
///     #[index]
///     assignee: Option<String>,
/// }
///
/// futures::executor::block_on(async {
///     let tickets = WorkTable::<Ticket>::new();
///     tickets.insert(Ticket { id: 1, assignee: Some("ana".into()) }).await?;
///     tickets.insert(Ticket { id: 2, assignee: None }).await?;
///     assert_eq!(tickets.find_by(Ticket::ASSIGNEE, &Some("ana"))[0].id, 1);
///     assert_eq!(tickets.find_by(Ticket::ASSIGNEE, &None::<&str>)[0].id, 2);
///     let ana = Some(String::from("ana"));
///     assert_eq!(tickets.find_by(Ticket::ASSIGNEE, &ana).len(), 1);
///     Ok::<(), TableError>(())
/// })?;
/// # Ok::<(), TableError>(())
/// ```
///
/// A form must hash, compare and order exactly as the key it stands for
/// (the contract of [`Borrow`]); implement it for a borrowed form of your
/// own key type (`impl LookupKey<Email> for str`) the same way.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot look up keys of type `{K}`",
    label = "not a key of this index, nor a borrowed form of one",
    note = "give the key itself (`&key`), or for a `String` key a `&str`, for a `Vec<T>` key a `&[T]`, for an `Option<String>` key `&Some(\"x\")` or `&None::<&str>`"
)]
pub trait LookupKey<K>: Hash + Debug {
    /// Where `self` sorts relative to `key`, as the key `self` stands for
    /// would.
    fn cmp_key(&self, key: &K) -> Ordering;

    /// Whether `self` stands for `key`.
    fn eq_key(&self, key: &K) -> bool {
        self.cmp_key(key).is_eq()
    }

    /// The key `self` stands for, owned.
    fn to_key(&self) -> K;

    /// Calls `visit` with a form `K` borrows as (for hash maps keyed by
    /// `K`): `self` when `K: Borrow<Self>`, else the key built with
    /// [`to_key`](Self::to_key).
    #[doc(hidden)]
    fn with_borrowed<V: BorrowedVisit<K>>(&self, visit: V) -> V::Output
    where
        K: Hash + Eq,
    {
        visit.visit(&self.to_key())
    }
}

/// A look-up that needs its key in a form `K` borrows as: what a hash map
/// keyed by `K` searches with. See [`LookupKey::with_borrowed`].
#[doc(hidden)]
pub trait BorrowedVisit<K> {
    /// What the look-up returns.
    type Output;

    /// Runs the look-up with `borrowed`.
    fn visit<B: Hash + Eq + ?Sized>(self, borrowed: &B) -> Self::Output
    where
        K: Borrow<B>;
}

impl<K: Key> LookupKey<K> for K {
    #[inline]
    fn cmp_key(&self, key: &K) -> Ordering {
        self.cmp(key)
    }

    #[inline]
    fn eq_key(&self, key: &K) -> bool {
        self == key
    }

    fn to_key(&self) -> K {
        self.clone()
    }

    #[inline]
    fn with_borrowed<V: BorrowedVisit<K>>(&self, visit: V) -> V::Output
    where
        K: Hash + Eq,
    {
        visit.visit(self)
    }
}

impl LookupKey<String> for str {
    #[inline]
    fn cmp_key(&self, key: &String) -> Ordering {
        self.cmp(key.as_str())
    }

    #[inline]
    fn eq_key(&self, key: &String) -> bool {
        self == key
    }

    fn to_key(&self) -> String {
        self.to_owned()
    }

    #[inline]
    fn with_borrowed<V: BorrowedVisit<String>>(&self, visit: V) -> V::Output {
        visit.visit(self)
    }
}

impl LookupKey<String> for &str {
    #[inline]
    fn cmp_key(&self, key: &String) -> Ordering {
        (**self).cmp(key.as_str())
    }

    #[inline]
    fn eq_key(&self, key: &String) -> bool {
        *self == key
    }

    fn to_key(&self) -> String {
        (*self).to_owned()
    }

    #[inline]
    fn with_borrowed<V: BorrowedVisit<String>>(&self, visit: V) -> V::Output {
        visit.visit(*self)
    }
}

impl<T: Key> LookupKey<Vec<T>> for [T] {
    #[inline]
    fn cmp_key(&self, key: &Vec<T>) -> Ordering {
        self.cmp(key.as_slice())
    }

    #[inline]
    fn eq_key(&self, key: &Vec<T>) -> bool {
        self == key.as_slice()
    }

    fn to_key(&self) -> Vec<T> {
        self.to_vec()
    }

    #[inline]
    fn with_borrowed<V: BorrowedVisit<Vec<T>>>(&self, visit: V) -> V::Output {
        visit.visit(self)
    }
}

/// An optional key given in a borrowed form: `Option<&str>` for
/// `Option<String>`, `Option<&String>` for `Option<String>`, and
/// `Option<&[T]>` for `Option<Vec<T>>`. `Option<X>` hashes as its
/// discriminant, then the value, so a borrowed form hashes as the key.
macro_rules! optional_form {
    ($form:ty => $key:ty $(, for $($param:ident),*)?) => {
        impl<'a $($(, $param: Key)*)?> LookupKey<Option<$key>> for Option<&'a $form> {
            #[inline]
            fn cmp_key(&self, key: &Option<$key>) -> Ordering {
                match (self, key) {
                    (Some(form), Some(key)) => (**form).cmp(key.borrow()),
                    (form, key) => form.is_some().cmp(&key.is_some()),
                }
            }

            fn to_key(&self) -> Option<$key> {
                self.map(|form| form.to_owned())
            }
        }
    };
}

optional_form!(str => String);
optional_form!(String => String);
optional_form!([T] => Vec<T>, for T);

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    fn hash<Q: Hash + ?Sized>(q: &Q) -> u64 {
        // A fixed seed: both sides must hash alike under any seed.
        foldhash::fast::FixedState::with_seed(7).hash_one(q)
    }

    #[test]
    fn borrowed_optional_forms_hash_and_order_as_their_keys() {
        let keys = [
            None,
            Some(String::new()),
            Some("a".into()),
            Some("b".into()),
        ];
        for key in &keys {
            let form = key.as_deref();
            assert_eq!(hash(&form), hash(key), "{key:?}");
            assert_eq!(hash(&key.as_ref()), hash(key), "{key:?}");
            for other in &keys {
                assert_eq!(form.cmp_key(other), key.cmp(other), "{key:?} {other:?}");
                assert_eq!(key.as_ref().cmp_key(other), key.cmp(other));
            }
            assert_eq!(&LookupKey::<Option<String>>::to_key(&form), key);
        }
        let lists = [None, Some(vec![]), Some(vec![1u8]), Some(vec![1, 2])];
        for list in &lists {
            let form = list.as_deref();
            assert_eq!(hash(&form), hash(list));
            for other in &lists {
                assert_eq!(form.cmp_key(other), list.cmp(other));
            }
        }
    }

    #[test]
    fn strings_and_slices_hash_and_order_as_their_keys() {
        let key = String::from("key");
        assert_eq!(hash("key"), hash(&key));
        assert_eq!(hash(&"key"), hash(&key));
        assert!("key".eq_key(&key) && "kex".cmp_key(&key).is_lt());
        assert!((&"kez").cmp_key(&key).is_gt());
        let list = vec![3u16, 4];
        assert_eq!(hash(&list[..]), hash(&list));
        assert!(list[..].eq_key(&list));
    }
}
