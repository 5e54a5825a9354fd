//! The lines the child prints and the parent reads.
//!
//! Each message is one line holding [`PREFIX`] and then the message. The
//! test harness may print the test's name on the same line before the
//! child's first output, so the parent looks for the prefix anywhere in the
//! line and ignores lines without it.
//!
//! | Message | Meaning |
//! | ------- | ------- |
//! | `account <id> <balance> <branch> <owner>` | recovery gave this account (one per account) |
//! | `entry <txid> <account> <amount>` | recovery gave this ledger entry (one per entry, after the accounts) |
//! | `recovered <accounts> <entries>` | all of the recovered database was printed; the child checked its indexes |
//! | `seeding` | the database was empty: the child starts the seeding transaction |
//! | `seeded` | the seeding transaction returned `Ok`: it is durable |
//! | `ready` | writes start |
//! | `begin <txid> <from> <to> <amount> <branch>` | a transfer starts; `<branch>` is the `to` account's new branch, or `-` |
//! | `ack <txid>` | the transfer returned `Ok`: it is durable |
//! | `fail <txid>` | the transfer returned `TxError::Conflict`: nothing was written |
//! | `error <message>` | the child failed and exits non-zero |

use std::fmt;

/// Marks the child's messages.
pub(crate) const PREFIX: &str = "db-crash-child:";

/// A transfer as its `begin` line announces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transfer {
    pub(crate) txid: u64,
    pub(crate) from: u32,
    pub(crate) to: u32,
    pub(crate) amount: i64,
    /// The `to` account's new branch, if the transfer changes it.
    pub(crate) branch: Option<u8>,
}

/// One message of the child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    Account {
        id: u32,
        balance: i64,
        branch: u8,
        owner: String,
    },
    Entry {
        txid: u64,
        account: u32,
        amount: i64,
    },
    Recovered {
        accounts: usize,
        entries: usize,
    },
    Seeding,
    Seeded,
    Ready,
    Begin(Transfer),
    Ack {
        txid: u64,
    },
    Fail {
        txid: u64,
    },
    Error(String),
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        match self {
            Message::Account {
                id,
                balance,
                branch,
                owner,
            } => write!(f, " account {id} {balance} {branch} {owner}"),
            Message::Entry {
                txid,
                account,
                amount,
            } => write!(f, " entry {txid} {account} {amount}"),
            Message::Recovered { accounts, entries } => {
                write!(f, " recovered {accounts} {entries}")
            }
            Message::Seeding => f.write_str(" seeding"),
            Message::Seeded => f.write_str(" seeded"),
            Message::Ready => f.write_str(" ready"),
            Message::Begin(Transfer {
                txid,
                from,
                to,
                amount,
                branch,
            }) => {
                write!(f, " begin {txid} {from} {to} {amount} ")?;
                match branch {
                    Some(branch) => write!(f, "{branch}"),
                    None => f.write_str("-"),
                }
            }
            Message::Ack { txid } => write!(f, " ack {txid}"),
            Message::Fail { txid } => write!(f, " fail {txid}"),
            Message::Error(message) => write!(f, " error {message}"),
        }
    }
}

/// What a line of the child's output holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A message.
    Message(Message),
    /// Output without the prefix (the harness's own lines).
    Other,
    /// The prefix followed by something that is not a message.
    Malformed,
}

pub(crate) fn parse_line(line: &str) -> Line {
    let Some(at) = line.find(PREFIX) else {
        return Line::Other;
    };
    let rest = &line[at + PREFIX.len()..];
    parse_message(rest).map_or(Line::Malformed, Line::Message)
}

fn parse_message(rest: &str) -> Option<Message> {
    let rest = rest.trim();
    if let Some(message) = rest.strip_prefix("error ") {
        return Some(Message::Error(message.to_owned()));
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let message = match words.as_slice() {
        ["account", id, balance, branch, owner] => Message::Account {
            id: id.parse().ok()?,
            balance: balance.parse().ok()?,
            branch: branch.parse().ok()?,
            owner: (*owner).to_owned(),
        },
        ["entry", txid, account, amount] => Message::Entry {
            txid: txid.parse().ok()?,
            account: account.parse().ok()?,
            amount: amount.parse().ok()?,
        },
        ["recovered", accounts, entries] => Message::Recovered {
            accounts: accounts.parse().ok()?,
            entries: entries.parse().ok()?,
        },
        ["seeding"] => Message::Seeding,
        ["seeded"] => Message::Seeded,
        ["ready"] => Message::Ready,
        ["begin", txid, from, to, amount, branch] => Message::Begin(Transfer {
            txid: txid.parse().ok()?,
            from: from.parse().ok()?,
            to: to.parse().ok()?,
            amount: amount.parse().ok()?,
            branch: match *branch {
                "-" => None,
                branch => Some(branch.parse().ok()?),
            },
        }),
        ["ack", txid] => Message::Ack {
            txid: txid.parse().ok()?,
        },
        ["fail", txid] => Message::Fail {
            txid: txid.parse().ok()?,
        },
        _ => return None,
    };
    Some(message)
}
