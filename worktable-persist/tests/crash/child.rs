//! The child role: this test binary run again (see `Child::start` in the
//! parent) to open the table and write to it until it is killed.
//!
//! It reports the recovered rows, then runs [`TASKS`] writer tasks on
//! disjoint ids, each doing one write at a time. Each write is announced by
//! a `begin` line before it starts and confirmed by an `ack` line once its
//! future returned `Ok` (with `Durability::Sync`: once it is synced). Any
//! error, or a write that does not find the row the child expected, ends
//! the child with an `error` line and a non-zero exit status.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use worktable_core::WorkTable;
use worktable_persist::PersistentTable;

use crate::protocol::{Message, Op, State};
use crate::rows::{CrashRow, IDS_PER_TASK, Rng, TASKS, email, first_version, make_row};

/// Set (to the table directory) to make [`run_if_child`] the child.
pub(crate) const DIR_ENV: &str = "WORKTABLE_CRASH_CHILD_DIR";

/// The run's seed and epoch, as `<seed> <epoch>`. The epoch (the parent's
/// iteration plus one) is in every version the child creates, so versions
/// never repeat across runs.
pub(crate) const RUN_ENV: &str = "WORKTABLE_CRASH_CHILD_RUN";

/// Runs the child if [`DIR_ENV`] is set, and never returns then; returns
/// at once otherwise.
pub(crate) fn run_if_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let spec = std::env::var(RUN_ENV).unwrap_or_default();
    let mut words = spec.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(seed)), Some(Ok(epoch))) = (words.next(), words.next()) else {
        fail(format!("{RUN_ENV} is not `<seed> <epoch>`: {spec:?}"));
    };
    run(Path::new(&dir), seed, epoch)
}

/// Prints one message as one line, written and flushed at once: the
/// parent counts everything printed before the kill as done.
fn say(message: &Message) {
    let line = format!("{message}\n");
    let mut stdout = io::stdout().lock();
    if stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // The parent is gone: nobody is counting.
        std::process::exit(2);
    }
}

/// Reports `message` (on one line) and exits with a failure status.
fn fail(message: impl Display) -> ! {
    let message = message.to_string().replace('\n', " ");
    say(&Message::Error(message));
    std::process::exit(1)
}

/// An error and its sources, on one line.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn run(dir: &Path, seed: u64, epoch: u64) -> ! {
    // Exit once the parent's end of stdin closes, so a parent that fails
    // without killing its child leaves no writer behind.
    std::thread::spawn(|| {
        let _ = io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(3);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap_or_else(|err| fail(format!("runtime: {err}")));
    let table = PersistentTable::<CrashRow>::open(dir, crate::table_options())
        .unwrap_or_else(|err| fail(format!("open: {}", chain(&err))));

    let mut live: Vec<BTreeMap<u64, u64>> = (0..TASKS).map(|_| BTreeMap::new()).collect();
    let mut rows = 0;
    for row in table.iter() {
        if row.id >= TASKS * IDS_PER_TASK || row != make_row(row.id, row.version) {
            fail(format!(
                "recovered row {} (version {}) is not a row this test writes",
                row.id, row.version
            ));
        }
        say(&Message::State {
            id: row.id,
            version: row.version,
        });
        live[(row.id % TASKS) as usize].insert(row.id, row.version);
        rows += 1;
    }
    say(&Message::Ready {
        rows,
        last_seq: table.last_seq(),
    });

    let table = Arc::new(table);
    runtime.block_on(async move {
        let writers: Vec<_> = (0..TASKS)
            .zip(live)
            .map(|(task, live)| {
                let rng = Rng::derive(seed, epoch * TASKS + task);
                tokio::spawn(write_forever(Arc::clone(&table), task, live, rng, epoch))
            })
            .collect();
        for writer in writers {
            if let Err(err) = writer.await {
                fail(format!("a writer task ended: {err}"));
            }
        }
    });
    fail("the writer tasks stopped")
}

/// One writer task: random writes, one at a time, on the ids `≡ task (mod
/// TASKS)`; `live` holds the versions of its present rows.
async fn write_forever(
    table: Arc<PersistentTable<CrashRow>>,
    task: u64,
    mut live: BTreeMap<u64, u64>,
    mut rng: Rng,
    epoch: u64,
) {
    let mut fresh = 0;
    loop {
        let id = task + TASKS * rng.below(IDS_PER_TASK);
        let before = live.get(&id).copied();
        let (op, after) = match before {
            None => {
                let version = first_version(epoch, fresh);
                fresh += 1;
                let op = if rng.chance(1, 2) {
                    Op::Insert
                } else {
                    Op::Upsert
                };
                (op, Some(version))
            }
            Some(version) => match rng.below(5) {
                0 => (Op::Update, Some(version + 1)),
                1 => (Op::Upsert, Some(version + 1)),
                2 => (Op::UpdateWith, Some(version + 1)),
                3 => (Op::Delete, None),
                _ => (Op::DeleteBy, None),
            },
        };
        say(&Message::Begin {
            task,
            op,
            id,
            before,
            after,
        });
        if let Err(err) = perform(&table, op, id, before, after).await {
            fail(format!("task {task}: {} of row {id}: {err}", op.name()));
        }
        say(&Message::Ack { task });
        match after {
            Some(version) => live.insert(id, version),
            None => live.remove(&id),
        };
    }
}

/// Does `op` on row `id`, taking it from `before` to `after`, and checks
/// the row the write replaced or removed.
async fn perform(
    table: &WorkTable<CrashRow>,
    op: Op,
    id: u64,
    before: State,
    after: State,
) -> Result<(), String> {
    let show = |err: worktable_core::TableError| chain(&err);
    let new_row = || {
        after
            .map(|version| make_row(id, version))
            .ok_or("no new row")
    };
    let previous = match op {
        Op::Insert => {
            let pk = table.insert(new_row()?).await.map_err(show)?;
            if pk != id {
                return Err(format!("insert returned key {pk}"));
            }
            None
        }
        Op::Update => Some(table.update(new_row()?).await.map_err(show)?),
        Op::Upsert => table.upsert(new_row()?).await.map_err(show)?,
        Op::UpdateWith => Some(
            table
                .update_with(&id, |row| {
                    std::mem::replace(row, make_row(id, row.version + 1))
                })
                .await
                .map_err(show)?,
        ),
        Op::Delete => Some(table.delete(&id).await.map_err(show)?),
        Op::DeleteBy => {
            let version = before.ok_or("no row to delete")?;
            let key = email(id, version);
            Some(
                table
                    .delete_by(CrashRow::EMAIL, key.as_str())
                    .await
                    .map_err(show)?,
            )
        }
    };
    let expected = before.map(|version| make_row(id, version));
    if previous != expected {
        return Err(format!(
            "the write found {}, expected {}",
            describe(previous.as_ref()),
            describe(expected.as_ref())
        ));
    }
    Ok(())
}

/// A row as `(id, version)`, or its absence, without the payload.
fn describe(row: Option<&CrashRow>) -> String {
    match row {
        None => "no row".to_owned(),
        Some(row) if *row == make_row(row.id, row.version) => {
            format!("row {} version {}", row.id, row.version)
        }
        Some(row) => format!("row {} version {} with other content", row.id, row.version),
    }
}
