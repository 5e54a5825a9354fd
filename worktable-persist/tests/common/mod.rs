//! Shared helpers of the power-loss, fault and corruption campaigns
//! (`power_loss.rs`, `faults.rs`, `corruption.rs`): the row types, a small
//! seeded generator, seeds from the environment, [`Tap`] (a [`Vfs`] around
//! a [`SimFs`] that calls a hook before every file operation: to take power
//! cuts at chosen operations, or to fail any one of them), and the checks
//! of a recovered table.
//!
//! Environment:
//! - `WORKTABLE_SEED=<n>`: run only seed `n` (the seed a failure printed).
//! - `WORKTABLE_CAMPAIGN=1`: the long campaigns (many more seeds).
//! - `WORKTABLE_DUMP=1`: write the disk image of a failing case under the
//!   system's temporary directory (`worktable-campaigns/`), one file per file.

// Each test binary uses part of these helpers.
#![allow(dead_code)]

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use worktable_core::prelude::*;
use worktable_persist::testing::vfs::{LockError, Mapped, SimFs, Vfs, VfsFile};
use worktable_persist::{Durability, OpenError, Options, PersistentTable, WriteError};

/// The table directory on every simulated disk.
pub(crate) const DIR: &str = "/disk/items";

/// The table directory as a path.
pub(crate) fn dir() -> &'static Path {
    Path::new(DIR)
}

/// Values of the non-unique index `group`.
pub(crate) const GROUPS: u32 = 11;

/// The row of the campaigns: its whole content is a function of
/// `(id, version)` ([`item`]), so a recovered row is checked exactly.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
pub(crate) struct Item {
    #[pk]
    pub(crate) id: u64,
    /// Unique: names the id and the version.
    #[index(unique)]
    pub(crate) tag: String,
    /// Non-unique.
    #[index]
    pub(crate) group: u32,
    pub(crate) version: u32,
    /// 1 to 600 bytes, so rows differ in size and fill several pages.
    pub(crate) payload: Vec<u8>,
}

/// Version `version` of row `id`.
pub(crate) fn item(id: u64, version: u32) -> Item {
    let len = ((id * 31 + u64::from(version) * 17) % 600 + 1) as usize;
    let mut state = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(version);
    let payload = (0..len)
        .map(|_| {
            state = splitmix(state);
            state as u8
        })
        .collect();
    Item {
        id,
        tag: format!("t{id}.{version}"),
        group: group_of(id, version),
        version,
        payload,
    }
}

/// The `group` of version `version` of row `id`.
pub(crate) fn group_of(id: u64, version: u32) -> u32 {
    ((id * 7 + u64::from(version)) % u64::from(GROUPS)) as u32
}

/// [`Item`] after a migration: another schema, same table name.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
pub(crate) struct ItemV2 {
    #[pk]
    pub(crate) id: u64,
    #[index(unique)]
    pub(crate) tag: String,
    #[index]
    pub(crate) group: u32,
    pub(crate) version: u32,
    pub(crate) payload: Vec<u8>,
    pub(crate) checksum: u64,
}

/// The migration of the campaigns.
pub(crate) fn migrate(old: Item) -> ItemV2 {
    let checksum = old.payload.iter().fold(old.id, |sum, &b| {
        sum.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    ItemV2 {
        id: old.id,
        tag: old.tag,
        group: old.group,
        version: old.version,
        payload: old.payload,
        checksum,
    }
}

/// A row type whose content is a function of `(id, version)`: the checks
/// below work on both [`Item`] and [`ItemV2`].
pub(crate) trait Versioned: Row + fmt::Debug + PartialEq {
    fn expected(id: u64, version: u32) -> Self;
    fn id(&self) -> u64;
    fn version(&self) -> u32;
    fn tag(&self) -> &str;
    fn group(&self) -> u32;
    fn by_tag(table: &WorkTable<Self>, tag: &str) -> Option<Self>;
    fn by_group(table: &WorkTable<Self>, group: u32) -> Vec<Self>;
}

/// `Versioned` for a row type with the fields `id`, `version`, `tag` and
/// `group` and the indexes `TAG` and `GROUP`; `$expected` builds the row of
/// `(id, version)`.
macro_rules! versioned {
    ($row:ident, $expected:expr) => {
        impl Versioned for $row {
            fn expected(id: u64, version: u32) -> Self {
                $expected(id, version)
            }
            fn id(&self) -> u64 {
                self.id
            }
            fn version(&self) -> u32 {
                self.version
            }
            fn tag(&self) -> &str {
                &self.tag
            }
            fn group(&self) -> u32 {
                self.group
            }
            fn by_tag(table: &WorkTable<Self>, tag: &str) -> Option<Self> {
                table.get_by($row::TAG, tag)
            }
            fn by_group(table: &WorkTable<Self>, group: u32) -> Vec<Self> {
                table.find_by($row::GROUP, &group)
            }
        }
    };
}

versioned!(Item, item);
versioned!(ItemV2, |id, version| migrate(item(id, version)));

/// What a table holds, as `id -> version`.
pub(crate) type State = BTreeMap<u64, u32>;

/// Reads `table` as a [`State`], checking everything that can be checked
/// without knowing what it should hold: every row is exactly the row its
/// `(id, version)` names, `check_integrity` passes, and both indexes find
/// every row (the unique one by its tag, the other by each group value).
pub(crate) fn read_state<R: Versioned>(table: &WorkTable<R>) -> Result<State, String> {
    table
        .check_integrity()
        .map_err(|e| format!("check_integrity failed: {e}"))?;
    let mut state = State::new();
    let mut groups: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for row in table.iter() {
        let expected = R::expected(row.id(), row.version());
        if row != expected {
            return Err(format!(
                "row {} has content that no version wrote: found {row:?}, version {} is {expected:?}",
                row.id(),
                row.version()
            ));
        }
        match R::by_tag(table, row.tag()) {
            Some(found) if found == row => {}
            other => {
                return Err(format!(
                    "get_by(tag {:?}) gives {other:?}, the row is {row:?}",
                    row.tag()
                ));
            }
        }
        groups.entry(row.group()).or_default().push(row.id());
        state.insert(row.id(), row.version());
    }
    for group in 0..GROUPS {
        let found: Vec<u64> = R::by_group(table, group).iter().map(R::id).collect();
        let expected = groups.remove(&group).unwrap_or_default();
        if found != expected {
            return Err(format!(
                "find_by(group {group}) gives ids {found:?}, the rows say {expected:?}"
            ));
        }
    }
    if table.len() != state.len() {
        return Err(format!(
            "len() is {}, iter() gives {} rows",
            table.len(),
            state.len()
        ));
    }
    Ok(state)
}

/// The first difference between two states, for messages.
pub(crate) fn diff(expected: &State, found: &State) -> String {
    let mut lines = Vec::new();
    for (id, version) in expected {
        match found.get(id) {
            None => lines.push(format!("id {id}: expected version {version}, missing")),
            Some(v) if v != version => {
                lines.push(format!("id {id}: expected version {version}, found {v}"));
            }
            Some(_) => {}
        }
    }
    for (id, version) in found {
        if !expected.contains_key(id) {
            lines.push(format!("id {id}: expected absent, found version {version}"));
        }
    }
    let more = lines.len().saturating_sub(6);
    lines.truncate(6);
    if more > 0 {
        lines.push(format!("... and {more} more"));
    }
    lines.join("; ")
}

/// Options with no background checkpoint: the test decides when.
pub(crate) fn manual() -> Options {
    Options::durability(Durability::Sync)
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None)
}

/// The text of a panic payload.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
}

/// Runs `f`, turning a panic into an `Err` with its message.
pub(crate) fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|payload| format!("PANIC in {what}: {}", panic_text(&*payload)))
}

/// Opens the table of `disk` (the disk itself, which the open writes to:
/// pass a copy), turning a panic into `Err(message)`.
pub(crate) fn open_on<R: Row>(
    disk: &SimFs,
    options: Options,
) -> Result<Result<PersistentTable<R>, OpenError>, String> {
    let vfs: Arc<dyn Vfs> = Arc::new(disk.clone());
    no_panic("open", || {
        PersistentTable::<R>::open_in(vfs, dir(), options)
    })
}

/// Drops `table` on a thread of its own, without waiting: dropping a table
/// right after opening it blocks for up to 50 ms (its background checkpoint
/// thread waits one poll interval before it looks at the stop flag), which
/// the campaigns, opening thousands of tables, do not wait for. Nothing is
/// buffered in a table the campaigns drop, so the drop writes nothing.
pub(crate) fn release<R: Row>(table: PersistentTable<R>) {
    thread::spawn(move || drop(table));
}

/// Opens a copy of `image` (the image itself is left as it is) and reads
/// it: `Err` on a panic, a failed open or a failed check.
pub(crate) fn recover_state<R: Versioned>(image: &SimFs) -> Result<State, String> {
    let copy = image.kill_process();
    match open_on::<R>(&copy, manual())? {
        Ok(table) => {
            let state = no_panic("reading the recovered table", || read_state(&table))??;
            release(table);
            Ok(state)
        }
        Err(error) => Err(format!("open failed: {error} ({error:?})")),
    }
}

/// The whole error chain of `error`, for messages and for checks that an
/// error names its file.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// A small seeded generator (SplitMix64): the campaigns' only randomness.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

fn splitmix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(splitmix(seed ^ 0x5eed_5eed_5eed_5eed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix(self.0)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `0..n` as a `usize`.
    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub(crate) fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Whether the long campaigns run (`WORKTABLE_CAMPAIGN=1`).
pub(crate) fn campaign() -> bool {
    std::env::var("WORKTABLE_CAMPAIGN").is_ok_and(|v| v == "1")
}

/// The seeds of a test: `WORKTABLE_SEED` alone if set, else `normal` seeds
/// (or `long` ones in a campaign), distinct per test through `salt`.
pub(crate) fn seeds(salt: u64, normal: u64, long: u64) -> Vec<u64> {
    if let Ok(seed) = std::env::var("WORKTABLE_SEED") {
        let seed = seed
            .trim()
            .parse()
            .expect("WORKTABLE_SEED must be a decimal u64");
        return vec![seed];
    }
    let count = if campaign() { long } else { normal };
    (0..count).map(|i| salt * 1_000_000 + i).collect()
}

/// Prints the seed (and how to replay it) if the thread panics while the
/// guard lives.
#[derive(Debug)]
pub(crate) struct SeedGuard {
    pub(crate) seed: u64,
    pub(crate) test: &'static str,
    pub(crate) file: &'static str,
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "\n*** failed at seed {seed}; replay: WORKTABLE_SEED={seed} cargo test -p worktable-persist --test {file} {test}\n",
                seed = self.seed,
                file = self.file,
                test = self.test,
            );
        }
    }
}

/// Writes every file of `disk` under the temporary directory if
/// `WORKTABLE_DUMP=1`, for a look at a failing image; returns where.
pub(crate) fn dump(disk: &SimFs, label: &str) -> Option<PathBuf> {
    if std::env::var("WORKTABLE_DUMP").map_or(true, |v| v != "1") {
        return None;
    }
    let root = std::env::temp_dir()
        .join("worktable-campaigns")
        .join(label.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_"));
    for path in disk.paths() {
        let target = root.join(path.strip_prefix("/").unwrap_or(&path));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).ok()?;
        }
        std::fs::write(&target, disk.file(&path)?).ok()?;
    }
    Some(root)
}

/// One file operation, as a [`Tap`]'s hook sees it (before it runs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TapOp<'a> {
    /// `"open"`, `"write_at"`, `"sync_data"`, `"rename"`, `"sync_dir"`, ...
    pub(crate) kind: &'static str,
    /// The file (or directory) it is about; for a rename, the source.
    pub(crate) path: &'a Path,
}

impl TapOp<'_> {
    /// The file name of the operation's path.
    pub(crate) fn name(&self) -> &str {
        self.path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("")
    }
}

impl fmt::Display for TapOp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name())
    }
}

/// What a [`Tap`] calls before every operation: `Err` makes the operation
/// fail with that error without running it.
pub(crate) type Hook = Arc<dyn Fn(TapOp<'_>) -> io::Result<()> + Send + Sync>;

/// A [`Vfs`] that calls a hook before every operation of another (a
/// [`SimFs`]), the directory lock excepted: the tests use it to cut the
/// power at a chosen operation (the hook takes `SimFs::power_cut` of the
/// disk underneath, which no operation is changing at that moment) and to
/// fail any one operation, of any kind (`SimFs`'s own faults cover writes,
/// syncs and whole path prefixes; this also reaches renames, directory
/// syncs, removals, truncations).
#[derive(Clone)]
pub(crate) struct Tap {
    inner: Arc<dyn Vfs>,
    hook: Hook,
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tap").field("inner", &self.inner).finish()
    }
}

impl Tap {
    pub(crate) fn new(inner: &SimFs, hook: Hook) -> Self {
        Self {
            inner: Arc::new(inner.clone()),
            hook,
        }
    }

    fn call(&self, kind: &'static str, path: &Path) -> io::Result<()> {
        (self.hook)(TapOp { kind, path })
    }
}

/// An error the hook injects.
pub(crate) fn injected(op: TapOp<'_>) -> io::Error {
    io::Error::other(format!("injected by the test's tap: {op}"))
}

impl Vfs for Tap {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.call("create_dir_all", dir)?;
        self.inner.create_dir_all(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.call("read", path)?;
        self.inner.read(path)
    }

    fn map(&self, path: &Path) -> io::Result<Mapped> {
        self.call("map", path)?;
        self.inner.map(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.call("list", dir)?;
        self.inner.list(dir)
    }

    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>> {
        self.call("open", path)?;
        let file = self.inner.open(path, create)?;
        Ok(Box::new(TapFile {
            file,
            path: path.to_path_buf(),
            hook: Arc::clone(&self.hook),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.call("rename", from)?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.call("remove_file", path)?;
        self.inner.remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.call("sync_dir", dir)?;
        self.inner.sync_dir(dir)
    }

    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn Any + Send + Sync>, LockError> {
        self.inner.lock_dir(dir)
    }
}

/// A file opened through a [`Tap`].
struct TapFile {
    file: Box<dyn VfsFile>,
    path: PathBuf,
    hook: Hook,
}

impl fmt::Debug for TapFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TapFile").field("path", &self.path).finish()
    }
}

impl TapFile {
    fn call(&self, kind: &'static str) -> io::Result<()> {
        (self.hook)(TapOp {
            kind,
            path: &self.path,
        })
    }
}

impl VfsFile for TapFile {
    fn len(&self) -> io::Result<u64> {
        self.call("len")?;
        self.file.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.call("read_at")?;
        self.file.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.call("write_at")?;
        self.file.write_at(offset, bytes)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.call("set_len")?;
        self.file.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.call("sync_data")?;
        self.file.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.call("sync_all")?;
        self.file.sync_all()
    }
}

/// A sequential writer's history over keys `0..keys` (offset by `base`):
/// the ops it issues and the state after each, for tests that drive one
/// table from one task and need every intermediate state.
#[derive(Debug)]
pub(crate) struct Script {
    pub(crate) base: u64,
    pub(crate) keys: u64,
    /// Next version per key (versions are never reused, so a `(id,
    /// version)` names one write).
    next_version: BTreeMap<u64, u32>,
    /// The state the acknowledged ops made.
    pub(crate) state: State,
}

/// One write of a [`Script`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Insert(u64, u32),
    Update(u64, u32),
    UpdateWith(u64, u32),
    Upsert(u64, u32),
    Delete(u64),
}

impl Op {
    pub(crate) fn id(&self) -> u64 {
        match *self {
            Op::Insert(id, _)
            | Op::Update(id, _)
            | Op::UpdateWith(id, _)
            | Op::Upsert(id, _)
            | Op::Delete(id) => id,
        }
    }

    /// The key's version once the op is applied (`None`: absent).
    pub(crate) fn outcome(&self) -> Option<u32> {
        match *self {
            Op::Insert(_, v) | Op::Update(_, v) | Op::UpdateWith(_, v) | Op::Upsert(_, v) => {
                Some(v)
            }
            Op::Delete(_) => None,
        }
    }

    /// Applies the op to `table`.
    pub(crate) async fn run(&self, table: &WorkTable<Item>) -> Result<(), TableError> {
        match *self {
            Op::Insert(id, v) => table.insert(item(id, v)).await.map(drop),
            Op::Update(id, v) => table.update(item(id, v)).await.map(drop),
            Op::UpdateWith(id, v) => {
                table
                    .update_with(&id, |row: &mut Item| *row = item(id, v))
                    .await
            }
            Op::Upsert(id, v) => table.upsert(item(id, v)).await.map(drop),
            Op::Delete(id) => table.delete(&id).await.map(drop),
        }
    }
}

impl Script {
    pub(crate) fn new(base: u64, keys: u64) -> Self {
        Self {
            base,
            keys,
            next_version: BTreeMap::new(),
            state: State::new(),
        }
    }

    /// A random op that succeeds on the current state (not applied yet).
    pub(crate) fn next_op(&mut self, rng: &mut Rng) -> Op {
        let id = self.base + rng.below(self.keys);
        let version = self.next_version.entry(id).or_insert(0);
        *version += 1;
        let v = *version;
        let present = self.state.contains_key(&id);
        let roll = rng.below(100);
        match (present, roll) {
            (false, 0..70) => Op::Insert(id, v),
            (false, _) => Op::Upsert(id, v),
            (true, 0..35) => Op::Update(id, v),
            (true, 35..60) => Op::Upsert(id, v),
            (true, 60..80) => Op::UpdateWith(id, v),
            (true, _) => Op::Delete(id),
        }
    }

    /// An insert of `id` (absent), with its next version.
    pub(crate) fn insert(&mut self, id: u64) -> Op {
        let version = self.next_version.entry(id).or_insert(0);
        *version += 1;
        Op::Insert(id, *version)
    }

    /// A random upsert (valid whatever the key's state): for writes after
    /// a failure, when the table's memory and the acknowledged state differ.
    pub(crate) fn next_upsert(&mut self, rng: &mut Rng) -> Op {
        let id = self.base + rng.below(self.keys);
        let version = self.next_version.entry(id).or_insert(0);
        *version += 1;
        Op::Upsert(id, *version)
    }

    /// Records `op` as acknowledged.
    pub(crate) fn apply(&mut self, op: &Op) {
        apply(&mut self.state, op);
    }
}

/// `state` after `op`.
pub(crate) fn apply(state: &mut State, op: &Op) {
    match op.outcome() {
        Some(v) => state.insert(op.id(), v),
        None => state.remove(&op.id()),
    };
}

/// Whether `error` is the failure of a write because the log could not be
/// written: the durability failure of a write whose record the log was
/// writing (committed in memory), or the refusal of a later one (not made).
pub(crate) fn is_log_failure(error: &TableError) -> bool {
    is_unlogged(error) || is_refused(error)
}

/// Whether `error` is the durability failure of a write committed in memory
/// whose log record could not be written or synced.
pub(crate) fn is_unlogged(error: &TableError) -> bool {
    match error {
        TableError::Durability { source, .. } => matches!(
            source.downcast_ref::<WriteError>(),
            Some(WriteError::LogWrite { .. })
        ),
        _ => false,
    }
}

/// Whether `error` is the refusal of a write, not made, because the log had
/// failed before it.
pub(crate) fn is_refused(error: &TableError) -> bool {
    match error {
        TableError::WriteRefused { source, .. } => matches!(
            source.downcast_ref::<WriteError>(),
            Some(WriteError::LogWrite { .. })
        ),
        _ => false,
    }
}
