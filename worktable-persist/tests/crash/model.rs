//! What the parent knows of the table between kills, and the checks of a
//! recovered table against it.

use std::collections::{BTreeMap, BTreeSet};

use worktable_core::WorkTable;

use crate::protocol::{Line, Message, Op, State, parse_line};
use crate::rows::{CrashRow, IDS_PER_TASK, TASKS, make_row, show_version};

/// A write that began but was not acknowledged before its child was
/// killed: recovery may or may not have kept it.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    op: Op,
    id: u64,
    before: State,
    after: State,
}

/// Counters for the summary line.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    /// Writes the children acknowledged.
    pub(crate) acked: u64,
    /// Writes in flight at a kill that recovery kept.
    pub(crate) applied: u64,
    /// Writes in flight at a kill that recovery did not keep.
    pub(crate) not_applied: u64,
}

/// The states every row may be in after the next recovery.
///
/// After each observation of a recovered table the model is exact (one
/// state per row); a child's acknowledged writes keep it exact, and each
/// write in flight when the child is killed adds its outcome as a second
/// allowed state of its row, until the next observation decides it.
#[derive(Debug, Default)]
pub(crate) struct Model {
    /// The allowed states of every row that may be present; a row not here
    /// must be absent.
    allowed: BTreeMap<u64, Vec<State>>,
    /// Writes in flight at a kill, not yet decided by an observation.
    in_flight: Vec<InFlight>,
    /// The recovered table's `last_seq()` is at least this: the number
    /// last observed plus the writes acknowledged since (each took its own
    /// number after it, durably; the durable history is a prefix).
    seq_low: u64,
    /// ... and at most this: the number last observed plus the writes
    /// begun since (each takes at most one number).
    seq_high: u64,
    pub(crate) counts: Counts,
}

impl Model {
    /// Rows the model expects (present in some allowed state).
    pub(crate) fn rows(&self) -> usize {
        self.allowed.len()
    }

    /// Takes in the output of one killed child: its recovered rows (an
    /// observation, if it got as far as `ready`), then its begun and
    /// acknowledged writes. Returns whether the child was ready.
    pub(crate) fn apply_run(&mut self, lines: &[String]) -> Result<bool, String> {
        let mut recovered = BTreeMap::new();
        let mut ready = false;
        let mut begun: BTreeMap<u64, InFlight> = BTreeMap::new();
        for (index, line) in lines.iter().enumerate() {
            let message = match parse_line(line) {
                Line::Message(message) => message,
                Line::Other => continue,
                // Only the last line can have been cut short by the kill.
                Line::Malformed if index + 1 == lines.len() => continue,
                Line::Malformed => return Err(format!("the child printed {line:?}")),
            };
            match message {
                Message::State { id, version } => {
                    if ready || recovered.insert(id, version).is_some() {
                        return Err(format!("out of place: {line:?}"));
                    }
                }
                Message::Ready { rows, last_seq } => {
                    if ready || rows != recovered.len() {
                        return Err(format!(
                            "out of place: {line:?} after {} rows",
                            recovered.len()
                        ));
                    }
                    self.observe(&recovered, "the rows the child recovered")?;
                    self.observe_seq(last_seq, "the child's recovered table")?;
                    ready = true;
                }
                Message::Begin {
                    task,
                    op,
                    id,
                    before,
                    after,
                } => {
                    let modeled = self.exact(id);
                    if !ready || id % TASKS != task || modeled != Some(before) {
                        return Err(format!(
                            "out of place: {line:?} (model: row {id} at {})",
                            modeled.map_or("several states".to_owned(), describe)
                        ));
                    }
                    let write = InFlight {
                        op,
                        id,
                        before,
                        after,
                    };
                    if begun.insert(task, write).is_some() {
                        return Err(format!("task {task} began two writes: {line:?}"));
                    }
                    self.seq_high += 1;
                }
                Message::Ack { task } => {
                    let write = begun
                        .remove(&task)
                        .ok_or_else(|| format!("out of place: {line:?}"))?;
                    self.set(write.id, write.after);
                    self.counts.acked += 1;
                    self.seq_low += 1;
                }
                Message::Error(message) => return Err(format!("the child failed: {message}")),
            }
        }
        if !ready {
            // Killed while reporting: the rows it did report must still be
            // allowed (the others are unknown).
            for (&id, &version) in &recovered {
                let allowed = self.allowed_states(id);
                if !allowed.contains(&Some(version)) {
                    return Err(format!(
                        "the child recovered a row the writes do not allow: {}",
                        self.explain(id, Some(version))
                    ));
                }
            }
        }
        for write in begun.into_values() {
            self.allowed
                .insert(write.id, vec![write.before, write.after]);
            self.in_flight.push(write);
        }
        Ok(ready)
    }

    /// The states row `id` may be in.
    fn allowed_states(&self, id: u64) -> &[State] {
        self.allowed.get(&id).map_or(&[None], Vec::as_slice)
    }

    /// The one state row `id` is known to be in, if it is known exactly.
    fn exact(&self, id: u64) -> Option<State> {
        match self.allowed_states(id) {
            [state] => Some(*state),
            _ => None,
        }
    }

    fn set(&mut self, id: u64, state: State) {
        match state {
            Some(version) => self.allowed.insert(id, vec![Some(version)]),
            None => self.allowed.remove(&id),
        };
    }

    /// Checks a recovered table's rows (`id → version`) against the allowed
    /// states, decides the writes in flight, and makes the model exact.
    pub(crate) fn observe(&mut self, found: &BTreeMap<u64, u64>, what: &str) -> Result<(), String> {
        let ids: BTreeSet<u64> = self.allowed.keys().chain(found.keys()).copied().collect();
        let mut problems = Vec::new();
        for id in ids {
            let allowed = self.allowed_states(id);
            let state = found.get(&id).copied();
            if !allowed.contains(&state) {
                problems.push(self.explain(id, state));
            }
        }
        if !problems.is_empty() {
            return Err(format!(
                "{what} disagree with the acknowledged writes in {} rows: {}",
                problems.len(),
                problems.into_iter().take(20).collect::<Vec<_>>().join("; ")
            ));
        }
        for write in self.in_flight.drain(..) {
            if found.get(&write.id).copied() == write.after {
                self.counts.applied += 1;
            } else {
                self.counts.not_applied += 1;
            }
        }
        self.allowed = found.iter().map(|(&id, &v)| (id, vec![Some(v)])).collect();
        Ok(())
    }

    /// Checks the `last_seq()` of a recovered table: its numbering continues
    /// the durable history (every acknowledged write kept its number, and
    /// no number was skipped), and becomes the model's.
    pub(crate) fn observe_seq(&mut self, last_seq: u64, what: &str) -> Result<(), String> {
        if !(self.seq_low..=self.seq_high).contains(&last_seq) {
            return Err(format!(
                "{what} numbers its last change {last_seq}, expected {}..={}: the numbering \
                 does not continue the acknowledged history",
                self.seq_low, self.seq_high
            ));
        }
        self.seq_low = last_seq;
        self.seq_high = last_seq;
        Ok(())
    }

    /// Why `state` is not allowed for row `id`.
    fn explain(&self, id: u64, state: State) -> String {
        let found = describe(state);
        match self.in_flight.iter().find(|write| write.id == id) {
            Some(write) => format!(
                "row {id}: found {found}, expected {} (acknowledged) or {} ({} in flight at the kill)",
                describe(write.before),
                describe(write.after),
                write.op.name()
            ),
            None => {
                let expected = self.exact(id).flatten();
                format!(
                    "row {id}: found {found}, expected {} (acknowledged, nothing in flight)",
                    describe(expected)
                )
            }
        }
    }
}

/// A state for a failure message.
fn describe(state: State) -> String {
    match state {
        None => "absent".to_owned(),
        Some(version) => format!("version {}", show_version(version)),
    }
}

/// Checks a reopened table on its own: integrity, every row's exact
/// content, and every index against the rows. Returns its rows as
/// `id → version`.
pub(crate) fn check_table(table: &WorkTable<CrashRow>) -> Result<BTreeMap<u64, u64>, String> {
    table
        .check_integrity()
        .map_err(|err| format!("check_integrity: {err}"))?;
    let rows: Vec<CrashRow> = table.iter().collect();
    if table.len() != rows.len() {
        return Err(format!(
            "len() is {}, iter() gives {} rows",
            table.len(),
            rows.len()
        ));
    }
    let mut found = BTreeMap::new();
    let mut by_group: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut by_group_version: BTreeMap<(u32, u64), Vec<u64>> = BTreeMap::new();
    for row in &rows {
        if row.id >= TASKS * IDS_PER_TASK || *row != make_row(row.id, row.version) {
            return Err(format!(
                "row {} (version {}) is not a row this test writes",
                row.id, row.version
            ));
        }
        let ok = |other: Option<CrashRow>| other.as_ref() == Some(row);
        if !ok(table.get(&row.id)) {
            return Err(format!(
                "get({}) does not give the row iter() gives",
                row.id
            ));
        }
        if !ok(table.get_by(CrashRow::EMAIL, row.email.as_str())) {
            return Err(format!(
                "get_by(EMAIL, {:?}) does not give row {}",
                row.email, row.id
            ));
        }
        found.insert(row.id, row.version);
        by_group.entry(row.group).or_default().push(row.id);
        by_group_version
            .entry((row.group, row.version))
            .or_default()
            .push(row.id);
    }
    let ids = |rows: Vec<CrashRow>| rows.into_iter().map(|row| row.id).collect::<Vec<_>>();
    for group in 0..7 {
        let expected = by_group.get(&group).cloned().unwrap_or_default();
        let by_index = ids(table.find_by(CrashRow::GROUP, &group));
        let by_prefix = ids(table.prefix_by(CrashRow::BY_GROUP_VERSION, group).collect());
        let mut by_prefix_in_pk_order = by_prefix.clone();
        by_prefix_in_pk_order.sort_unstable();
        if by_index != expected || by_prefix_in_pk_order != expected {
            return Err(format!(
                "group {group}: the rows hold {expected:?}, find_by(GROUP) gives {by_index:?}, \
                 prefix_by(BY_GROUP_VERSION) gives {by_prefix:?}"
            ));
        }
    }
    for (key, expected) in &by_group_version {
        let by_index = ids(table.find_by(CrashRow::BY_GROUP_VERSION, key));
        if by_index != *expected {
            return Err(format!(
                "find_by(BY_GROUP_VERSION, {key:?}) gives {by_index:?}, the rows hold {expected:?}"
            ));
        }
    }
    Ok(found)
}
