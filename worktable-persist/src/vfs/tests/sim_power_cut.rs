//! Power cuts against an independent model: after a cut in any mode, every
//! file and every directory is in a state the model allows, synced data is
//! intact, and the same seed gives the same disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proptest::collection::vec;
use proptest::prelude::*;

use crate::vfs::{PowerCut, SimFs, Vfs, VfsFile};

const DIR: &str = "/t";
const FILES: usize = 3;

fn path(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

fn file_path(i: usize) -> PathBuf {
    path(&format!("f{i}"))
}

fn arb_mode() -> impl Strategy<Value = PowerCut> {
    prop_oneof![
        Just(PowerCut::KeepSynced),
        Just(PowerCut::Prefix),
        Just(PowerCut::Scatter)
    ]
}

// ---------------------------------------------------------------------------
// File contents

/// A change of a file's bytes, as the test's own model sees it.
#[derive(Clone, Debug)]
enum Change {
    Write { offset: u64, bytes: Vec<u8> },
    SetLen(u64),
}

impl Change {
    fn apply(&self, data: &mut Vec<u8>) {
        match self {
            Self::Write { offset, bytes } => {
                let start = *offset as usize;
                let end = start + bytes.len();
                if data.len() < end {
                    data.resize(end, 0);
                }
                data[start..end].copy_from_slice(bytes);
            }
            Self::SetLen(len) => data.resize(*len as usize, 0),
        }
    }
}

#[derive(Clone, Debug)]
enum FileOp {
    Change { file: usize, change: Change },
    Sync { file: usize, all: bool },
}

/// Non-zero bytes (so a zero in a file is a gap or an extension), varied
/// enough that a byte out of place is noticed. Built from three numbers: a
/// vector of arbitrary bytes would make generation the slowest part.
fn arb_bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    (len, any::<u8>(), 1..=254u8).prop_map(|(len, start, step)| {
        (0..len)
            .map(|i| 1 + (usize::from(start) + i * usize::from(step)) as u8 % 255)
            .collect()
    })
}

fn arb_file_op() -> impl Strategy<Value = FileOp> {
    let write = (0..FILES, 0..2_000u64, arb_bytes(1..1_100)).prop_map(|(file, offset, bytes)| {
        FileOp::Change {
            file,
            change: Change::Write { offset, bytes },
        }
    });
    let set_len = (0..FILES, 0..2_500u64).prop_map(|(file, len)| FileOp::Change {
        file,
        change: Change::SetLen(len),
    });
    let sync = (0..FILES, any::<bool>()).prop_map(|(file, all)| FileOp::Sync { file, all });
    prop_oneof![6 => write, 1 => set_len, 2 => sync]
}

/// What the test knows of a file: its durable bytes and its changes since.
#[derive(Clone, Debug, Default)]
struct FileModel {
    durable: Vec<u8>,
    pending: Vec<Change>,
}

impl FileModel {
    fn current(&self) -> Vec<u8> {
        let mut data = self.durable.clone();
        for change in &self.pending {
            change.apply(&mut data);
        }
        data
    }

    /// Whether the byte `value` at `i` is one the model allows after a cut:
    /// the durable byte, a byte of a pending write covering `i`, or a zero
    /// past the durable end or past a pending truncation.
    fn allows(&self, i: usize, value: u8) -> bool {
        if self.durable.get(i) == Some(&value) {
            return true;
        }
        let zero_allowed = i >= self.durable.len()
            || self
                .pending
                .iter()
                .any(|c| matches!(c, Change::SetLen(len) if (*len as usize) <= i));
        if value == 0 && zero_allowed {
            return true;
        }
        self.pending.iter().any(|change| match change {
            Change::Write { offset, bytes } => {
                (i as u64)
                    .checked_sub(*offset)
                    .and_then(|at| bytes.get(at as usize))
                    == Some(&value)
            }
            Change::SetLen(_) => false,
        })
    }

    /// The longest the file can be after a cut.
    fn max_len(&self) -> usize {
        self.pending
            .iter()
            .map(|change| match change {
                Change::Write { offset, bytes } => *offset as usize + bytes.len(),
                Change::SetLen(len) => *len as usize,
            })
            .fold(self.durable.len(), usize::max)
    }

    /// Whether `result` is the durable bytes with the first `k` pending
    /// changes applied, the `k`-th possibly torn, for some `k`.
    fn is_prefix_outcome(&self, result: &[u8]) -> bool {
        let mut state = self.durable.clone();
        for change in &self.pending {
            if result == state {
                return true;
            }
            if let Change::Write { offset, bytes } = change
                && torn(&state, *offset as usize, bytes, result)
            {
                return true;
            }
            change.apply(&mut state);
        }
        result == state
    }
}

/// Whether `result` is `before` with part of the write of `bytes` at
/// `start` landed: outside the write nothing changed; inside, each byte is
/// old or new; the length grew at most to the write's end.
fn torn(before: &[u8], start: usize, bytes: &[u8], result: &[u8]) -> bool {
    let end = start + bytes.len();
    if result.len() < before.len() || result.len() > before.len().max(end) {
        return false;
    }
    result.iter().enumerate().all(|(i, &value)| {
        let old = before.get(i).copied().unwrap_or(0);
        value == old || ((start..end).contains(&i) && value == bytes[i - start])
    })
}

/// A disk with `FILES` durable files holding `initial`, then `ops` applied
/// to it and to the model.
fn run_file_ops(initial: &[Vec<u8>], ops: &[FileOp]) -> (SimFs, Vec<FileModel>) {
    let sim = SimFs::new();
    sim.create_dir_all(Path::new(DIR)).unwrap();
    let mut files: Vec<Box<dyn VfsFile>> = Vec::new();
    let mut models = Vec::new();
    for (i, bytes) in initial.iter().enumerate() {
        let file = sim.open(&file_path(i), true).unwrap();
        file.write_at(0, bytes).unwrap();
        file.sync_data().unwrap();
        files.push(file);
        models.push(FileModel {
            durable: bytes.clone(),
            pending: Vec::new(),
        });
    }
    sim.sync_dir(Path::new(DIR)).unwrap();
    for op in ops {
        match op {
            FileOp::Change { file, change } => {
                match change {
                    Change::Write { offset, bytes } => files[*file].write_at(*offset, bytes),
                    Change::SetLen(len) => files[*file].set_len(*len),
                }
                .unwrap();
                models[*file].pending.push(change.clone());
            }
            FileOp::Sync { file, all } => {
                if *all {
                    files[*file].sync_all().unwrap();
                } else {
                    files[*file].sync_data().unwrap();
                }
                let model = &mut models[*file];
                model.durable = model.current();
                model.pending.clear();
            }
        }
    }
    for (i, model) in models.iter().enumerate() {
        assert_eq!(sim.file(&file_path(i)).unwrap(), model.current());
        assert_eq!(sim.durable_file(&file_path(i)).unwrap(), model.durable);
    }
    (sim, models)
}

fn arb_initial() -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(arb_bytes(0..1_500), FILES)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_byte_after_a_cut_is_durable_or_from_a_pending_write(
        initial in arb_initial(),
        ops in vec(arb_file_op(), 0..24),
        mode in arb_mode(),
        seed in any::<u64>(),
    ) {
        let (sim, models) = run_file_ops(&initial, &ops);
        let after = sim.power_cut(mode, seed);
        for (i, model) in models.iter().enumerate() {
            let result = after.file(&file_path(i)).expect("durable entries survive");
            if model.pending.is_empty() || mode == PowerCut::KeepSynced {
                prop_assert_eq!(&result, &model.durable);
            }
            prop_assert!(result.len() <= model.max_len());
            for (at, &value) in result.iter().enumerate() {
                prop_assert!(
                    model.allows(at, value),
                    "file {} byte {} = {} is neither durable nor written", i, at, value
                );
            }
            if mode == PowerCut::Prefix {
                prop_assert!(model.is_prefix_outcome(&result), "file {} is not a prefix outcome", i);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_same_seed_gives_the_same_disk(
        initial in arb_initial(),
        ops in vec(arb_file_op(), 0..16),
        mode in arb_mode(),
        seed in any::<u64>(),
    ) {
        let (first, _) = run_file_ops(&initial, &ops);
        let (second, _) = run_file_ops(&initial, &ops);
        let snapshot = |sim: &SimFs| -> Vec<(PathBuf, Vec<u8>)> {
            let after = sim.power_cut(mode, seed);
            after.paths().into_iter().map(|p| { let bytes = after.file(&p).unwrap(); (p, bytes) }).collect()
        };
        prop_assert_eq!(snapshot(&first), snapshot(&first));
        prop_assert_eq!(snapshot(&first), snapshot(&second));
    }
}

// ---------------------------------------------------------------------------
// Directory entries

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

#[derive(Clone, Debug)]
enum NameOp {
    /// Create the file (if missing) with fresh contents, written and synced.
    Create(usize),
    Rename(usize, usize),
    Remove(usize),
    SyncDir,
}

fn arb_name_op() -> impl Strategy<Value = NameOp> {
    let name = 0..NAMES.len();
    prop_oneof![
        3 => name.clone().prop_map(NameOp::Create),
        3 => (name.clone(), name.clone()).prop_map(|(a, b)| NameOp::Rename(a, b)),
        1 => name.prop_map(NameOp::Remove),
        1 => Just(NameOp::SyncDir),
    ]
}

/// A namespace as the test sees it: name → the contents identifying a file.
type Names = BTreeMap<String, Vec<u8>>;

/// Runs `ops` and returns the disk and every namespace the directory had
/// since its last sync, oldest (the durable one) first.
fn run_name_ops(ops: &[NameOp]) -> (SimFs, Vec<Names>) {
    let sim = SimFs::new();
    let dir = Path::new(DIR);
    sim.create_dir_all(dir).unwrap();
    let mut current = Names::new();
    let mut since_sync = vec![current.clone()];
    for (step, op) in ops.iter().enumerate() {
        match *op {
            NameOp::Create(n) => {
                let name = NAMES[n];
                if current.contains_key(name) {
                    continue;
                }
                let id = format!("file made at step {step}").into_bytes();
                let file = sim.open(&path(name), true).unwrap();
                file.write_at(0, &id).unwrap();
                file.sync_data().unwrap();
                current.insert(name.to_owned(), id);
            }
            NameOp::Rename(from, to) => {
                let (from, to) = (NAMES[from], NAMES[to]);
                let result = sim.rename(&path(from), &path(to));
                let Some(id) = current.remove(from) else {
                    assert!(result.is_err());
                    continue;
                };
                result.unwrap();
                current.insert(to.to_owned(), id);
            }
            NameOp::Remove(n) => {
                let name = NAMES[n];
                let result = sim.remove_file(&path(name));
                if current.remove(name).is_none() {
                    assert!(result.is_err());
                    continue;
                }
                result.unwrap();
            }
            NameOp::SyncDir => {
                sim.sync_dir(dir).unwrap();
                since_sync.clear();
            }
        }
        since_sync.push(current.clone());
    }
    (sim, since_sync)
}

fn names_of(sim: &SimFs) -> Names {
    sim.paths()
        .into_iter()
        .map(|p| {
            let bytes = sim.file(&p).unwrap();
            (p.file_name().unwrap().to_str().unwrap().to_owned(), bytes)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_directory_after_a_cut_is_one_it_was_since_its_last_sync(
        ops in vec(arb_name_op(), 0..20),
        mode in arb_mode(),
        seed in any::<u64>(),
    ) {
        let (sim, since_sync) = run_name_ops(&ops);
        let found = names_of(&sim.power_cut(mode, seed));
        match mode {
            PowerCut::KeepSynced => prop_assert_eq!(&found, &since_sync[0]),
            PowerCut::Prefix | PowerCut::Scatter => prop_assert!(
                since_sync.contains(&found),
                "{:?} is none of {:?}", found, since_sync
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// The modes do what they say, beyond KeepSynced

/// Two writes to separate sectors of a durable empty file, unsynced.
fn two_writes() -> SimFs {
    let sim = SimFs::new();
    sim.create_dir_all(Path::new(DIR)).unwrap();
    let file = sim.open(&path("log"), true).unwrap();
    sim.sync_dir(Path::new(DIR)).unwrap();
    file.write_at(0, &[1u8; 1024]).unwrap();
    file.write_at(1024, &[2u8; 1024]).unwrap();
    sim
}

fn outcomes(sim: &SimFs, mode: PowerCut) -> BTreeSet<Vec<u8>> {
    (0..300)
        .map(|seed| sim.power_cut(mode, seed).file(&path("log")).unwrap())
        .collect()
}

#[test]
fn prefix_cuts_keep_nothing_everything_and_torn_writes() {
    let found = outcomes(&two_writes(), PowerCut::Prefix);
    let first = vec![1u8; 1024];
    let both: Vec<u8> = [vec![1u8; 1024], vec![2u8; 1024]].concat();
    assert!(found.contains(&Vec::new()));
    assert!(found.contains(&first));
    assert!(found.contains(&both));
    let torn = found
        .iter()
        .filter(|f| ![&[][..], &first, &both].contains(&&f[..]));
    assert!(
        torn.count() > 0,
        "no torn write among {} outcomes",
        found.len()
    );
    // Never the second write without the first.
    assert!(
        found
            .iter()
            .all(|f| f.len() <= 1024 || f[..1024] == first[..])
    );
}

#[test]
fn scatter_cuts_can_land_a_later_write_without_an_earlier_one() {
    let found = outcomes(&two_writes(), PowerCut::Scatter);
    let second_only: Vec<u8> = [vec![0u8; 1024], vec![2u8; 1024]].concat();
    assert!(found.contains(&second_only));
    // Torn at sector granularity only: every aligned 512-byte sector is
    // uniform.
    for outcome in &found {
        for sector in outcome.chunks(512) {
            assert!(sector.iter().all(|&b| b == sector[0]), "{sector:?}");
        }
    }
}

#[test]
fn prefix_cuts_can_keep_part_of_a_directorys_pending_changes() {
    let sim = SimFs::new();
    sim.create_dir_all(Path::new(DIR)).unwrap();
    for name in ["x", "y"] {
        sim.open(&path(name), true).unwrap();
    }
    let found: BTreeSet<Vec<PathBuf>> = (0..100)
        .map(|seed| sim.power_cut(PowerCut::Prefix, seed).paths())
        .collect();
    let expected: BTreeSet<Vec<PathBuf>> = [vec![], vec![path("x")], vec![path("x"), path("y")]]
        .into_iter()
        .collect();
    assert_eq!(found, expected);
}
