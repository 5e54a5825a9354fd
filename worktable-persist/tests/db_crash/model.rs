//! What the parent knows of the database between kills, and the checks of
//! a recovered database against it.
//!
//! The model holds the last *verified* contents (every account and every
//! ledger entry, as last observed after a recovery) and the transfers
//! begun since. An observation of a recovered database (printed by a
//! child, or read by the parent on a reopen) decides every transfer begun
//! since: it is *present* if its ledger entry is, and then the whole of it
//! must be there, else none of it.

use std::collections::BTreeMap;

use crate::bank::{
    ACCOUNTS, AccountState, Booking, Contents, MAX_AMOUNT, START_BALANCE, branch_of,
    initial_branch, owner, run_of, show_txid,
};
use crate::protocol::{Line, Message, Transfer, parse_line};

/// Where the seeding of the database stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seeding {
    /// The database has no accounts and no seeding is in flight.
    Empty,
    /// A child printed `seeding` but was killed before `seeded`: recovery
    /// gives all the accounts or none.
    InFlight,
    /// The database holds the accounts.
    Done,
}

/// A transfer begun since the last observation.
#[derive(Clone, Copy, Debug)]
struct Pending {
    transfer: Transfer,
    /// The run that began it.
    run: u64,
    /// The index of its `begin` line in that run's output.
    begun: usize,
    /// The index of its `ack` line, if it was acknowledged.
    acked: Option<usize>,
    /// It returned `TxError::Conflict`: nothing was written.
    failed: bool,
}

impl Pending {
    /// Whether this transfer certainly committed before `later` began:
    /// it was acknowledged before `later` announced itself (the lines are
    /// printed in the order they happen), or it was begun by an earlier
    /// child (which was killed before `later`'s child started).
    fn precedes(&self, later: &Pending) -> bool {
        self.run < later.run
            || (self.run == later.run && self.acked.is_some_and(|acked| acked < later.begun))
    }

    /// The ledger entry it books.
    fn booking(&self) -> Booking {
        Booking {
            account: self.transfer.from,
            amount: -self.transfer.amount,
        }
    }

    /// The transfer for a failure message.
    fn describe(&self) -> String {
        let Transfer {
            txid,
            from,
            to,
            amount,
            branch,
        } = self.transfer;
        let branch = branch.map_or(String::new(), |branch| {
            format!(", branch of {to} := {branch}")
        });
        let status = if self.failed {
            "failed"
        } else if self.acked.is_some() {
            "acknowledged"
        } else {
            "in flight at the kill"
        };
        format!(
            "tx {} ({amount} from {from} to {to}{branch}; {status})",
            show_txid(txid)
        )
    }
}

/// Counters for the summary line.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    /// Transfers the children acknowledged.
    pub(crate) acked: u64,
    /// Transfers that gave up on conflicts (`fail`).
    pub(crate) failed: u64,
    /// Transfers in flight at a kill that recovery kept.
    pub(crate) applied: u64,
    /// Transfers in flight at a kill that recovery did not keep.
    pub(crate) not_applied: u64,
    /// Seedings in flight at a kill that recovery kept / did not keep.
    pub(crate) seeding_applied: u64,
    pub(crate) seeding_not_applied: u64,
    /// Observations checked (children's recoveries and the parent's
    /// reopens).
    pub(crate) observations: u64,
}

/// What one child's output showed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunOutcome {
    /// It printed `ready`.
    pub(crate) ready: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Model {
    seeding: Seeding,
    /// The contents last observed.
    verified: Contents,
    /// The transfers begun since, by txid.
    pending: BTreeMap<u64, Pending>,
    pub(crate) counts: Counts,
}

impl Default for Model {
    fn default() -> Self {
        Self {
            seeding: Seeding::Empty,
            verified: Contents::default(),
            pending: BTreeMap::new(),
            counts: Counts::default(),
        }
    }
}

/// The listing phase of a child's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Printing the recovered accounts and entries.
    Listing,
    /// Listed (`recovered`); maybe seeding.
    Listed,
    /// `ready`: transferring.
    Ready,
}

impl Model {
    /// Whether the database is known to hold the accounts.
    pub(crate) fn seeded(&self) -> bool {
        self.seeding == Seeding::Done
    }

    /// Ledger entries verified so far.
    pub(crate) fn entries(&self) -> usize {
        self.verified.ledger.len()
    }

    /// Takes in the output of one killed child of run `run`: its recovered
    /// contents (an observation, if it printed all of them), its seeding,
    /// then its begun, acknowledged and failed transfers.
    pub(crate) fn apply_run(&mut self, run: u64, lines: &[String]) -> Result<RunOutcome, String> {
        let mut phase = Phase::Listing;
        let mut listed = Contents::default();
        let mut seeding_here = false;
        for (index, line) in lines.iter().enumerate() {
            let message = match parse_line(line) {
                Line::Message(message) => message,
                Line::Other => continue,
                // Only the last line can have been cut short by the kill.
                Line::Malformed if index + 1 == lines.len() => continue,
                Line::Malformed => return Err(format!("the child printed {line:?}")),
            };
            let out_of_place = || format!("out of place: {line:?}");
            match message {
                Message::Account {
                    id,
                    balance,
                    branch,
                    owner: name,
                } => {
                    if phase != Phase::Listing || name != owner(id) {
                        return Err(out_of_place());
                    }
                    if listed
                        .accounts
                        .insert(id, AccountState { balance, branch })
                        .is_some()
                    {
                        return Err(format!("account {id} printed twice"));
                    }
                }
                Message::Entry {
                    txid,
                    account,
                    amount,
                } => {
                    if phase != Phase::Listing {
                        return Err(out_of_place());
                    }
                    if listed
                        .ledger
                        .insert(txid, Booking { account, amount })
                        .is_some()
                    {
                        return Err(format!("entry {} printed twice", show_txid(txid)));
                    }
                }
                Message::Recovered { accounts, entries } => {
                    if phase != Phase::Listing
                        || accounts != listed.accounts.len()
                        || entries != listed.ledger.len()
                    {
                        return Err(format!(
                            "{} after {} accounts and {} entries",
                            out_of_place(),
                            listed.accounts.len(),
                            listed.ledger.len()
                        ));
                    }
                    self.observe(&listed, &format!("the database child {run} recovered"))?;
                    phase = Phase::Listed;
                }
                Message::Seeding => {
                    if phase != Phase::Listed || seeding_here || !self.verified.accounts.is_empty()
                    {
                        return Err(out_of_place());
                    }
                    seeding_here = true;
                    self.seeding = Seeding::InFlight;
                }
                Message::Seeded => {
                    if phase != Phase::Listed || self.seeding != Seeding::InFlight {
                        return Err(out_of_place());
                    }
                    self.seeding = Seeding::Done;
                    self.verified = seeded_contents();
                }
                Message::Ready => {
                    if phase != Phase::Listed || self.seeding != Seeding::Done {
                        return Err(out_of_place());
                    }
                    phase = Phase::Ready;
                }
                Message::Begin(transfer) => {
                    let txid = transfer.txid;
                    let valid = transfer.from < ACCOUNTS
                        && transfer.to < ACCOUNTS
                        && transfer.from != transfer.to
                        && (1..=MAX_AMOUNT).contains(&transfer.amount)
                        && transfer
                            .branch
                            .is_none_or(|branch| branch == branch_of(txid));
                    if phase != Phase::Ready
                        || run_of(txid) != run
                        || !valid
                        || self.pending.contains_key(&txid)
                        || self.verified.ledger.contains_key(&txid)
                    {
                        return Err(out_of_place());
                    }
                    self.pending.insert(
                        txid,
                        Pending {
                            transfer,
                            run,
                            begun: index,
                            acked: None,
                            failed: false,
                        },
                    );
                }
                Message::Ack { txid } | Message::Fail { txid } => {
                    let acked = matches!(message, Message::Ack { .. });
                    let Some(pending) = self.pending.get_mut(&txid) else {
                        return Err(out_of_place());
                    };
                    if pending.run != run || pending.acked.is_some() || pending.failed {
                        return Err(out_of_place());
                    }
                    if acked {
                        pending.acked = Some(index);
                        self.counts.acked += 1;
                    } else {
                        pending.failed = true;
                        self.counts.failed += 1;
                    }
                }
                Message::Error(message) => return Err(format!("the child failed: {message}")),
            }
        }
        if phase == Phase::Listing {
            // Killed while listing: what it did print must be allowed.
            self.check_partial(&listed).map_err(|err| {
                format!("the part of its recovered database child {run} printed: {err}")
            })?;
        }
        Ok(RunOutcome {
            ready: phase == Phase::Ready,
        })
    }

    /// The state the accounts were in at the last observation (or as
    /// seeded, if a seeding is in flight).
    fn base(&self) -> Contents {
        match self.seeding {
            Seeding::InFlight => seeded_contents(),
            Seeding::Empty | Seeding::Done => self.verified.clone(),
        }
    }

    /// A problem with the recovered entry `txid`, if it has one: it must be
    /// the verified entry, or the entry of a transfer begun since that did
    /// not fail.
    fn entry_problem(&self, txid: u64, booking: Booking) -> Option<String> {
        let shown = show_txid(txid);
        if let Some(verified) = self.verified.ledger.get(&txid) {
            return (*verified != booking)
                .then(|| format!("entry {shown} is {booking:?}, it was verified as {verified:?}"));
        }
        match self.pending.get(&txid) {
            None => Some(format!(
                "entry {shown} ({booking:?}) belongs to no transfer begun since the last check \
                 (never begun, or found absent at an earlier check)"
            )),
            Some(pending) if pending.failed => Some(format!(
                "entry {shown} is present, but its transfer gave up on conflicts \
                 (nothing should be written): {}",
                pending.describe()
            )),
            Some(pending) if pending.booking() != booking => Some(format!(
                "entry {shown} is {booking:?}, its transfer booked {:?}: {}",
                pending.booking(),
                pending.describe()
            )),
            Some(_) => None,
        }
    }

    /// The branches account `id` may have, given the transfers found
    /// present: the last present branch change of it, where the order is
    /// known, else any of the present changes not known to precede another
    /// one; the verified branch if none is present.
    fn allowed_branches(&self, base: &Contents, id: u32, present: &[&Pending]) -> Vec<u8> {
        let changes: Vec<&Pending> = present
            .iter()
            .filter(|pending| pending.transfer.to == id && pending.transfer.branch.is_some())
            .copied()
            .collect();
        if changes.is_empty() {
            return base
                .accounts
                .get(&id)
                .map(|a| a.branch)
                .into_iter()
                .collect();
        }
        changes
            .iter()
            .filter(|change| {
                !changes.iter().any(|other| {
                    other.transfer.txid != change.transfer.txid && change.precedes(other)
                })
            })
            .filter_map(|change| change.transfer.branch)
            .collect()
    }

    /// Checks the whole contents of a recovered database against the model,
    /// decides every transfer begun since the last observation, and makes
    /// `found` the verified state.
    pub(crate) fn observe(&mut self, found: &Contents, what: &str) -> Result<(), String> {
        let fail = |problems: Vec<String>| -> Result<(), String> {
            Err(format!(
                "{what} disagrees with the model ({} problems): {}",
                problems.len(),
                problems.into_iter().take(20).collect::<Vec<_>>().join("; ")
            ))
        };
        self.counts.observations += 1;
        // All accounts or none.
        if found.accounts.is_empty() {
            let mut problems = Vec::new();
            if self.seeding == Seeding::Done {
                problems.push(format!(
                    "no accounts, but the seeding was acknowledged ({} accounts verified)",
                    self.verified.accounts.len()
                ));
            }
            if !found.ledger.is_empty() {
                problems.push(format!(
                    "no accounts, but {} ledger entries",
                    found.ledger.len()
                ));
            }
            if !problems.is_empty() {
                return fail(problems);
            }
            if self.seeding == Seeding::InFlight {
                self.counts.seeding_not_applied += 1;
            }
            self.seeding = Seeding::Empty;
            self.verified = Contents::default();
            self.pending.clear();
            return Ok(());
        }
        if self.seeding == Seeding::Empty {
            return fail(vec![format!(
                "{} accounts, but no seeding ever began",
                found.accounts.len()
            )]);
        }
        if found.accounts.keys().ne(&(0..ACCOUNTS).collect::<Vec<_>>()) {
            return fail(vec![format!(
                "accounts {:?}, expected all of 0..{ACCOUNTS} (a part of the seeding?)",
                found.accounts.keys().collect::<Vec<_>>()
            )]);
        }
        let base = self.base();

        // Which transfers are present, and their entries.
        let mut problems = Vec::new();
        for (&txid, &booking) in &found.ledger {
            problems.extend(self.entry_problem(txid, booking));
        }
        for txid in self.verified.ledger.keys() {
            if !found.ledger.contains_key(txid) {
                problems.push(format!("the verified entry {} is gone", show_txid(*txid)));
            }
        }
        for pending in self.pending.values() {
            if pending.acked.is_some() && !found.ledger.contains_key(&pending.transfer.txid) {
                problems.push(format!(
                    "the acknowledged {} is lost: no ledger entry",
                    pending.describe()
                ));
            }
        }
        let present: Vec<&Pending> = self
            .pending
            .values()
            .filter(|pending| found.ledger.contains_key(&pending.transfer.txid))
            .collect();

        // Every present transfer whole, every absent one not at all.
        let mut total = 0;
        for (&id, account) in &found.accounts {
            total += account.balance;
            let before = base.accounts[&id];
            let mut expected = before.balance;
            for pending in &present {
                if pending.transfer.from == id {
                    expected -= pending.transfer.amount;
                }
                if pending.transfer.to == id {
                    expected += pending.transfer.amount;
                }
            }
            if account.balance != expected {
                let touching: Vec<String> = self
                    .pending
                    .values()
                    .filter(|p| p.transfer.from == id || p.transfer.to == id)
                    .map(|p| {
                        let kept = found.ledger.contains_key(&p.transfer.txid);
                        format!(
                            "{} {}",
                            if kept { "present" } else { "absent" },
                            p.describe()
                        )
                    })
                    .collect();
                problems.push(format!(
                    "account {id} has balance {}, expected {expected} (verified {} and the \
                     present transfers; a transfer applied in part?); transfers touching it: {}",
                    account.balance,
                    before.balance,
                    touching.join(", ")
                ));
            }
            let allowed = self.allowed_branches(&base, id, &present);
            if !allowed.contains(&account.branch) {
                problems.push(format!(
                    "account {id} has branch {}, expected one of {allowed:?} (verified {})",
                    account.branch, before.branch
                ));
            }
        }
        let expected_total = i64::from(ACCOUNTS) * START_BALANCE;
        if total != expected_total {
            problems.push(format!(
                "the balances add up to {total}, not {expected_total}"
            ));
        }
        if !problems.is_empty() {
            return fail(problems);
        }

        if self.seeding == Seeding::InFlight {
            self.counts.seeding_applied += 1;
        }
        for pending in self.pending.values() {
            if pending.acked.is_none() && !pending.failed {
                if found.ledger.contains_key(&pending.transfer.txid) {
                    self.counts.applied += 1;
                } else {
                    self.counts.not_applied += 1;
                }
            }
        }
        self.seeding = Seeding::Done;
        self.verified = found.clone();
        self.pending.clear();
        Ok(())
    }

    /// Checks the part of a recovered database a child printed before it
    /// was killed: each account and entry it printed must be possible.
    fn check_partial(&self, listed: &Contents) -> Result<(), String> {
        let mut problems = Vec::new();
        if !listed.accounts.is_empty() && self.seeding == Seeding::Empty {
            problems.push("accounts, but no seeding ever began".to_owned());
        }
        let base = self.base();
        for (&id, account) in &listed.accounts {
            let Some(before) = base.accounts.get(&id) else {
                problems.push(format!("account {id}, which the model does not have"));
                continue;
            };
            let touching: Vec<&Pending> = self
                .pending
                .values()
                .filter(|p| !p.failed && (p.transfer.from == id || p.transfer.to == id))
                .collect();
            let reach: i64 = touching.iter().map(|p| p.transfer.amount).sum();
            if (account.balance - before.balance).abs() > reach {
                problems.push(format!(
                    "account {id} has balance {}, verified {} and transfers of {reach} in all \
                     touch it since",
                    account.balance, before.balance
                ));
            }
            let mut allowed = vec![before.branch];
            allowed.extend(
                touching
                    .iter()
                    .filter(|p| p.transfer.to == id)
                    .filter_map(|p| p.transfer.branch),
            );
            if !allowed.contains(&account.branch) {
                problems.push(format!(
                    "account {id} has branch {}, expected one of {allowed:?}",
                    account.branch
                ));
            }
        }
        for (&txid, &booking) in &listed.ledger {
            problems.extend(self.entry_problem(txid, booking));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.into_iter().take(20).collect::<Vec<_>>().join("; "))
        }
    }
}

/// The contents right after the seeding transaction.
fn seeded_contents() -> Contents {
    Contents {
        accounts: (0..ACCOUNTS)
            .map(|id| {
                (
                    id,
                    AccountState {
                        balance: START_BALANCE,
                        branch: initial_branch(id),
                    },
                )
            })
            .collect(),
        ledger: BTreeMap::new(),
    }
}
