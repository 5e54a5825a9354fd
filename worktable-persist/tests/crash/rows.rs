//! The row type of the crash test, whose whole content is a function of
//! `(id, version)`, and the seeded generator that drives both processes.

use worktable_core::prelude::*;

/// Writer tasks in the child; task `t` owns the ids `≡ t (mod TASKS)`.
pub(crate) const TASKS: u64 = 4;

/// Ids each writer task owns: ids are below `TASKS * IDS_PER_TASK`.
pub(crate) const IDS_PER_TASK: u64 = 128;

/// Longest payload (exclusive bound on its length).
const PAYLOAD_SPAN: u64 = 700;

/// A row of the crash test. Every field but `id` and `version` is derived
/// from them by [`make_row`], so a row read back can be checked exactly
/// from its key and version alone.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(
    name = "crash_rows",
    index(name = "by_group_version", fields(group, version))
)]
pub(crate) struct CrashRow {
    #[pk]
    pub(crate) id: u64,
    #[index(unique)]
    pub(crate) email: String,
    #[index]
    pub(crate) group: u32,
    pub(crate) version: u64,
    pub(crate) payload: Vec<u8>,
}

/// The version of the `counter`-th row a child of run `epoch` creates
/// (inserts, or upserts of an absent row); each update adds one. Versions
/// never repeat for a row, so a row can only show a version that was
/// written for it.
pub(crate) fn first_version(epoch: u64, counter: u64) -> u64 {
    assert!(
        counter < 1 << 20 && epoch < 1 << 24,
        "version space exhausted"
    );
    (epoch << 40) | (counter << 20)
}

/// A version as `<epoch>.<counter>+<updates>`, for failure messages.
pub(crate) fn show_version(version: u64) -> String {
    let low = |v: u64| v & 0xF_FFFF;
    format!("{}.{}+{}", version >> 40, low(version >> 20), low(version))
}

/// The unique email of version `version` of row `id`.
pub(crate) fn email(id: u64, version: u64) -> String {
    format!("u{id}-v{version}@crash.test")
}

/// The one content row `id` has at version `version`.
pub(crate) fn make_row(id: u64, version: u64) -> CrashRow {
    let len = id.wrapping_mul(31).wrapping_add(version.wrapping_mul(17)) % PAYLOAD_SPAN;
    let mut bytes = Rng::new(id ^ version.rotate_left(29));
    let payload = (0..len).map(|_| bytes.next_u64() as u8).collect();
    CrashRow {
        id,
        email: email(id, version),
        group: (version % 7) as u32,
        version,
        payload,
    }
}

/// The campaigns' seeded generator.
pub(crate) use crate::killed_child::Rng;
