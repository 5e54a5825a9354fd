//! What a power cut leaves of a simulated disk: [`PowerCut`] and the
//! choice of which pending operations land.

use std::collections::{BTreeMap, BTreeSet};

use super::rng::SplitMix64;
use super::state::{Dir, Ino, Inode, State, WriteOp, to_usize, write_into};

/// The disk sector: the unit a torn write is cut into when it is torn at
/// sector granularity. Sectors are aligned on file offsets.
pub(super) const SECTOR: u64 = 512;

/// How much of what was not synced survives a power cut, from the kindest
/// to the most hostile. The model is described with the simulated disk
/// (`src/vfs/sim.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PowerCut {
    /// Only what was synced: the durable namespace of every directory and
    /// the durable bytes of every file.
    KeepSynced,
    /// Each directory keeps a random prefix of its unsynced entry changes,
    /// and each file a random prefix of its unsynced writes, the last of
    /// which may be torn (a random prefix of its bytes, or a random subset
    /// of its sectors, lands).
    Prefix,
    /// Each unsynced write of a file lands or not, independently of the
    /// others, and a landing write may be torn at sector granularity: a disk
    /// that reorders what it was not told to order. Directories keep a
    /// random prefix of their entry changes, as in `Prefix`.
    Scatter,
}

/// The disk left by a power cut of `state` in `mode`, as a new state with
/// nothing pending, no locks, no faults and no counts. Deterministic: the
/// same state, mode and seed give the same disk.
pub(super) fn power_cut(state: &State, mode: PowerCut, seed: u64) -> State {
    let mut rng = SplitMix64::new(seed);
    let mut dirs = BTreeMap::new();
    for (path, dir) in &state.dirs {
        let landed = match mode {
            PowerCut::KeepSynced => 0,
            PowerCut::Prefix | PowerCut::Scatter => rng.up_to(dir.pending.len()),
        };
        let mut names = dir.durable.clone();
        for op in &dir.pending[..landed] {
            op.apply(&mut names);
        }
        dirs.insert(path.clone(), Dir::settled(names));
    }
    let linked: BTreeSet<Ino> = dirs
        .values()
        .flat_map(|dir| dir.current.values().copied())
        .collect();
    let inodes = linked
        .into_iter()
        .map(|ino| {
            let inode = state.inode(ino);
            let bytes = match mode {
                PowerCut::KeepSynced => inode.durable.clone(),
                PowerCut::Prefix => prefix(inode, &mut rng),
                PowerCut::Scatter => scatter(inode, &mut rng),
            };
            (ino, Inode::settled(bytes))
        })
        .collect();
    State {
        dirs,
        inodes,
        next_ino: state.next_ino,
        ..State::default()
    }
}

/// The durable bytes with a random prefix of the pending writes, the last
/// one possibly torn.
fn prefix(inode: &Inode, rng: &mut SplitMix64) -> Vec<u8> {
    let mut bytes = inode.durable.clone();
    let landed = rng.up_to(inode.pending.len());
    let Some((last, whole)) = inode.pending[..landed].split_last() else {
        return bytes;
    };
    for op in whole {
        op.apply(&mut bytes);
    }
    match rng.up_to(2) {
        0 => last.apply(&mut bytes),
        1 => tear_bytes(last, &mut bytes, rng),
        _ => tear_sectors(last, &mut bytes, rng),
    }
    bytes
}

/// The durable bytes with each pending write landing or not, independently,
/// in the order they were made; a landing write is torn one time in three.
fn scatter(inode: &Inode, rng: &mut SplitMix64) -> Vec<u8> {
    let mut bytes = inode.durable.clone();
    for op in &inode.pending {
        if !rng.one_in(2) {
            continue;
        }
        if rng.one_in(3) {
            tear_sectors(op, &mut bytes, rng);
        } else {
            op.apply(&mut bytes);
        }
    }
    bytes
}

/// A write of which only a random prefix of bytes landed (possibly none,
/// possibly all); the file grows only as far as those bytes. A `set_len`
/// cannot be torn: it lands whole.
fn tear_bytes(op: &WriteOp, bytes: &mut Vec<u8>, rng: &mut SplitMix64) {
    match op {
        WriteOp::Write {
            offset,
            bytes: data,
        } => {
            let landed = rng.up_to(data.len());
            write_into(bytes, *offset, &data[..landed]);
        }
        WriteOp::SetLen(_) => op.apply(bytes),
    }
}

/// A write of which a random subset of its sectors landed. The file's
/// length grew to the end of the write (its size is metadata, written
/// apart from the data): a sector that did not land past the old end reads
/// as zeros, one before it keeps its old bytes.
fn tear_sectors(op: &WriteOp, bytes: &mut Vec<u8>, rng: &mut SplitMix64) {
    let WriteOp::Write {
        offset,
        bytes: data,
    } = op
    else {
        op.apply(bytes);
        return;
    };
    if data.is_empty() {
        return;
    }
    let end = to_usize(*offset) + data.len();
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    let mut at = *offset;
    let mut rest = &data[..];
    while !rest.is_empty() {
        let in_sector = to_usize(SECTOR - at % SECTOR).min(rest.len());
        let (piece, tail) = rest.split_at(in_sector);
        if rng.one_in(2) {
            write_into(bytes, at, piece);
        }
        at += piece.len() as u64;
        rest = tail;
    }
}
