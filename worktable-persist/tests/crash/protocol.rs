//! The lines the child prints and the parent reads.
//!
//! Each message is one line holding [`PREFIX`] and then the message. The
//! test harness may print the test's name on the same line before the
//! child's first output, so the parent looks for the prefix anywhere in the
//! line and ignores lines without it.
//!
//! | Message | Meaning |
//! | ------- | ------- |
//! | `state <id> <version>` | recovery gave row `id` at `version` (one per row, before `ready`) |
//! | `ready <rows> <last_seq>` | open finished with `rows` rows, all reported, numbering its last change `last_seq`; writes start |
//! | `begin <task> <op> <id> <before> <after>` | `task` starts `op` on `id`, taking it from state `before` to `after` |
//! | `ack <task>` | the write `task` began last returned `Ok`: it is durable |
//! | `error <message>` | the child failed and exits non-zero |
//!
//! A state is a version number, or `-` for an absent row.

use std::fmt;

/// Marks the child's messages.
pub(crate) const PREFIX: &str = "crash-child:";

/// A row's state: `Some(version)`, or `None` when the row is absent.
pub(crate) type State = Option<u64>;

/// The write operations the child performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Insert,
    Update,
    Upsert,
    UpdateWith,
    Delete,
    DeleteBy,
}

impl Op {
    const ALL: [Op; 6] = [
        Op::Insert,
        Op::Update,
        Op::Upsert,
        Op::UpdateWith,
        Op::Delete,
        Op::DeleteBy,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Upsert => "upsert",
            Op::UpdateWith => "update_with",
            Op::Delete => "delete",
            Op::DeleteBy => "delete_by",
        }
    }

    fn parse(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// One message of the child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    State {
        id: u64,
        version: u64,
    },
    Ready {
        rows: usize,
        /// The recovered table's `last_seq()`.
        last_seq: u64,
    },
    Begin {
        task: u64,
        op: Op,
        id: u64,
        before: State,
        after: State,
    },
    Ack {
        task: u64,
    },
    Error(String),
}

/// Writes a state as the protocol spells it.
pub(crate) struct ShowState(pub(crate) State);

impl fmt::Display for ShowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(version) => write!(f, "{version}"),
            None => f.write_str("-"),
        }
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        match self {
            Message::State { id, version } => write!(f, " state {id} {version}"),
            Message::Ready { rows, last_seq } => write!(f, " ready {rows} {last_seq}"),
            Message::Begin {
                task,
                op,
                id,
                before,
                after,
            } => write!(
                f,
                " begin {task} {} {id} {} {}",
                op.name(),
                ShowState(*before),
                ShowState(*after)
            ),
            Message::Ack { task } => write!(f, " ack {task}"),
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
        ["state", id, version] => Message::State {
            id: id.parse().ok()?,
            version: version.parse().ok()?,
        },
        ["ready", rows, last_seq] => Message::Ready {
            rows: rows.parse().ok()?,
            last_seq: last_seq.parse().ok()?,
        },
        ["begin", task, op, id, before, after] => Message::Begin {
            task: task.parse().ok()?,
            op: Op::parse(op)?,
            id: id.parse().ok()?,
            before: parse_state(before)?,
            after: parse_state(after)?,
        },
        ["ack", task] => Message::Ack {
            task: task.parse().ok()?,
        },
        _ => return None,
    };
    Some(message)
}

fn parse_state(word: &str) -> Option<State> {
    match word {
        "-" => Some(None),
        version => version.parse().ok().map(Some),
    }
}
