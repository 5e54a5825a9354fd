//! Write failures: a durable table on a simulated disk ([`SimFs`]) whose
//! log or checkpoint files fail to be written or synced.
//!
//! - A failed write or sync of the log fails the write waiting for it with
//!   `TableError::Durability` (source `WriteError::LogWrite`; that change
//!   stays in memory), and refuses every later write before it changes
//!   anything (`TableError::WriteRefused`, same source; `health()` says the
//!   table has failed); after a reopen the table holds every acknowledged
//!   write, never a refused one, and at most the one write whose record was
//!   being written when the log failed (its bytes may be in the file: a
//!   process that dies keeps them).
//! - A failed write, sync, rename, directory sync, ... of a checkpoint
//!   (`SimFs` faults by kind and by file-name prefix, and a [`Tap`] failing
//!   any one operation of a checkpoint) makes `checkpoint()` return a typed
//!   error naming the file, loses nothing, and the next checkpoint
//!   succeeds; a power cut during that retry loses nothing either.
//!
//! Normal run: a few seconds. Campaign (more seeds, every power-cut mode at
//! every operation of the retries):
//!
//! ```text
//! WORKTABLE_CAMPAIGN=1 cargo test --release -p worktable-persist --test faults
//! ```
//!
//! Replay one seed (printed on failure): `WORKTABLE_SEED=<n> cargo test -p
//! worktable-persist --test faults <test name>`.

mod common;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use common::{
    Item, Op, Rng, Script, SeedGuard, State, Tap, TapOp, apply, chain, diff, dir, injected,
    is_log_failure, is_refused, is_unlogged, manual, open_on, recover_state, release, seeds,
};
use worktable_persist::testing::vfs::{Fault, PowerCut, SimFs};
use worktable_persist::{CheckpointError, PersistentTable, WriteError};

const MODES: [PowerCut; 3] = [PowerCut::KeepSynced, PowerCut::Prefix, PowerCut::Scatter];

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `n` random ops of `script`, each of which must succeed.
async fn write_ok(table: &PersistentTable<Item>, script: &mut Script, rng: &mut Rng, n: u64) {
    for _ in 0..n {
        let op = script.next_op(rng);
        if let Err(error) = op.run(table).await {
            panic!("{op:?} failed: {error}");
        }
        script.apply(&op);
    }
}

/// Checks that `image` reopens to one of `allowed` states.
fn check_image(label: &str, image: &SimFs, allowed: &[&State]) {
    match recover_state::<Item>(image) {
        Ok(found) if allowed.contains(&&found) => {}
        Ok(found) => panic!(
            "{label}: the reopened table holds other rows: {}",
            diff(allowed[0], &found)
        ),
        Err(problem) => panic!("{label}: {problem}"),
    }
}

/// The disk as a killed process and as each power cut would leave it.
fn images(disk: &SimFs, seed: u64) -> Vec<(String, SimFs)> {
    let mut images = vec![("kill".to_owned(), disk.kill_process())];
    for (i, mode) in MODES.into_iter().enumerate() {
        let cut_seed = seed.wrapping_mul(7) + i as u64;
        images.push((
            format!("{mode:?} (cut seed {cut_seed})"),
            disk.power_cut(mode, cut_seed),
        ));
    }
    images
}

/// Asserts `error` is typed and names the table directory.
fn assert_names_the_directory(what: &str, error: &CheckpointError) {
    let text = chain(error);
    assert!(
        text.contains(common::DIR),
        "{what}: the error does not name the table's files: {text} ({error:?})"
    );
}

// ---------------------------------------------------------------------
// The log fails
// ---------------------------------------------------------------------

/// One sequential case: random writes, the fault, writes that must fail
/// from the first failing one on, and the reopened images.
async fn log_failure_case(seed: u64) -> usize {
    let mut rng = Rng::new(seed);
    let disk = SimFs::new();
    let table = open_on::<Item>(&disk, manual()).unwrap().expect("open");
    let mut script = Script::new(0, 40);
    let before = 20 + rng.below(60);
    let checkpoint_at = rng.percent(60).then(|| rng.below(before));
    for i in 0..before {
        write_ok(&table, &mut script, &mut rng, 1).await;
        if checkpoint_at == Some(i) {
            table.checkpoint().await.expect("checkpoint");
        }
    }
    // Each write of a lone writer is one log write and one sync.
    let (fault, first_failing, may_land) = match seed % 3 {
        0 => {
            let nth = 1 + rng.below(3);
            let written = [0, 7, 40, usize::MAX][rng.index(4)];
            (Fault::Write { nth, written }, nth - 1, written > 0)
        }
        1 => {
            let nth = 1 + rng.below(3);
            (Fault::Sync { nth }, nth - 1, true)
        }
        _ => (
            Fault::Path {
                prefix: "log-".into(),
            },
            0,
            false,
        ),
    };
    disk.fail(fault.clone());
    let mut failed: Option<Op> = None;
    let mut in_memory = script.state.clone();
    for i in 0..first_failing + 4 {
        let op = if failed.is_none() {
            script.next_op(&mut rng)
        } else {
            script.next_upsert(&mut rng)
        };
        match op.run(&table).await {
            Ok(()) => {
                assert!(
                    failed.is_none(),
                    "{fault:?}: write {i} ({op:?}) succeeded after an earlier write failed"
                );
                script.apply(&op);
                apply(&mut in_memory, &op);
            }
            Err(error) if failed.is_none() => {
                assert!(
                    is_unlogged(&error),
                    "{fault:?}: write {i} ({op:?}) failed with {error}, not a log failure"
                );
                assert_eq!(
                    i, first_failing,
                    "{fault:?}: the first failing write is #{i}"
                );
                failed = Some(op.clone());
                // Its record was handed to the log before the failure: it is
                // committed in memory all the same (documented).
                apply(&mut in_memory, &op);
                let found = table.get(&op.id()).map(|row| row.version);
                assert_eq!(found, op.outcome(), "{op:?} is not visible in memory");
                assert!(table.health().is_failed(), "{fault:?}: health after {op:?}");
            }
            Err(error) => {
                // Every later write is refused before it changes anything.
                assert!(
                    is_refused(&error),
                    "{fault:?}: write {i} ({op:?}) after the failure gave {error}, not a refusal"
                );
                let found = table.get(&op.id()).map(|row| row.version);
                assert_eq!(
                    found,
                    in_memory.get(&op.id()).copied(),
                    "{op:?} was refused but changed the row in memory"
                );
            }
        }
    }
    let failed = failed.expect("the fault fired");

    // A checkpoint now must not succeed: the log is broken.
    match table.checkpoint().await {
        Err(error @ CheckpointError::LogFailed(WriteError::LogWrite { .. })) => {
            assert_names_the_directory("checkpoint after a log failure", &error);
        }
        other => panic!("{fault:?}: checkpoint after a log failure gave {other:?}"),
    }
    let acked = script.state.clone();
    let mut with_failed = acked.clone();
    apply(&mut with_failed, &failed);
    let mut checked = 0;
    let before_close = images(&disk, seed);
    match table.close().await {
        Err(CheckpointError::LogFailed(WriteError::LogWrite { .. })) => {}
        other => panic!("{fault:?}: close after a log failure gave {other:?}"),
    }
    let after_close = ("kill after close".to_owned(), disk.kill_process());
    for (label, image) in before_close.iter().chain([&after_close]) {
        let label = format!("{fault:?}, {label}");
        if label.contains("KeepSynced") || !may_land {
            check_image(&label, image, &[&acked]);
        } else {
            check_image(&label, image, &[&acked, &with_failed]);
        }
        checked += 1;
    }

    // Reopened, the table writes again.
    let reopened = after_close.1.kill_process();
    let table = open_on::<Item>(&reopened, manual())
        .unwrap()
        .expect("reopen");
    let mut state = common::read_state(&table).unwrap();
    let op = script.next_upsert(&mut rng);
    op.run(&table).await.expect("a write after reopening");
    apply(&mut state, &op);
    table.close().await.expect("close after reopening");
    check_image("after reopening and writing", &reopened, &[&state]);
    checked
}

#[tokio::test]
async fn a_failed_log_write_or_sync_fails_that_write_and_every_later_one() {
    let started = Instant::now();
    let mut images = 0;
    let all = seeds(10, 15, 600);
    for &seed in &all {
        let _guard = SeedGuard {
            seed,
            test: "a_failed_log_write_or_sync_fails_that_write_and_every_later_one",
            file: "faults",
        };
        images += log_failure_case(seed).await;
    }
    eprintln!(
        "faults: log failures: {} seeds, {images} images reopened, {:.1?}",
        all.len(),
        started.elapsed()
    );
}

/// Several writers when the log fails: each sees its writes fail from one
/// point on; the reopened table holds every acknowledged write and, per
/// writer, at most its first failed one.
async fn concurrent_log_failure_case(seed: u64) -> usize {
    let mut rng = Rng::new(seed);
    let disk = SimFs::new();
    let table = Arc::new(open_on::<Item>(&disk, manual()).unwrap().expect("open"));
    let writers = 3;
    let mut tasks = Vec::new();
    let armed = Arc::new(AtomicBool::new(false));
    for w in 0..writers {
        let table = Arc::clone(&table);
        let armed = Arc::clone(&armed);
        let mut rng = Rng::new(seed ^ ((w + 1) * 0x51));
        tasks.push(tokio::spawn(async move {
            let mut script = Script::new(w * 1000, 30);
            let mut first_failed = None;
            let mut after = 0;
            for _ in 0..5000 {
                let op = if first_failed.is_none() {
                    script.next_op(&mut rng)
                } else {
                    script.next_upsert(&mut rng)
                };
                match op.run(&table).await {
                    Ok(()) => {
                        assert!(first_failed.is_none(), "a write succeeded after a failure");
                        script.apply(&op);
                    }
                    Err(error) => {
                        assert!(is_log_failure(&error), "{op:?}: {error}");
                        if first_failed.is_none() {
                            first_failed = Some(op);
                        } else {
                            after += 1;
                            if after == 3 {
                                break;
                            }
                        }
                    }
                }
                if !armed.load(Ordering::Relaxed) && rng.percent(20) {
                    tokio::task::yield_now().await;
                }
            }
            (
                script.state,
                first_failed.expect("the log failure reached every writer"),
            )
        }));
    }
    tokio::time::sleep(Duration::from_micros(200 + rng.below(3000))).await;
    let fault = match seed % 3 {
        0 => Fault::Write {
            nth: 1 + rng.below(3),
            written: [0, 20, usize::MAX][rng.index(3)],
        },
        1 => Fault::Sync {
            nth: 1 + rng.below(3),
        },
        _ => Fault::Path {
            prefix: "log-".into(),
        },
    };
    disk.fail(fault.clone());
    armed.store(true, Ordering::Relaxed);
    let mut acked = State::new();
    let mut failed = Vec::new();
    for task in tasks {
        let (state, first_failed) = task.await.expect("a writer panicked");
        acked.extend(state);
        failed.push(first_failed);
    }
    let table = Arc::into_inner(table).expect("the writers let go");
    assert!(table.close().await.is_err(), "close after a log failure");

    // Per key: the acknowledged state, or a writer's first failed write.
    let mut checked = 0;
    for (label, image) in images(&disk, seed) {
        let found = recover_state::<Item>(&image)
            .unwrap_or_else(|problem| panic!("{fault:?}, {label}: {problem}"));
        let keys: std::collections::BTreeSet<u64> =
            acked.keys().chain(found.keys()).copied().collect();
        for id in keys {
            let now = found.get(&id).copied();
            let was = acked.get(&id).copied();
            let maybe = failed.iter().find(|op| op.id() == id).map(Op::outcome);
            let may_land = !label.contains("KeepSynced");
            assert!(
                now == was || (may_land && maybe == Some(now)),
                "{fault:?}, {label}: id {id}: found {now:?}, acknowledged {was:?}, first failed write {maybe:?}"
            );
        }
        checked += 1;
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_all_fail_once_the_log_fails_and_lose_nothing_acknowledged() {
    let started = Instant::now();
    let mut images = 0;
    let all = seeds(11, 9, 300);
    for &seed in &all {
        let _guard = SeedGuard {
            seed,
            test: "concurrent_writers_all_fail_once_the_log_fails",
            file: "faults",
        };
        images += concurrent_log_failure_case(seed).await;
    }
    eprintln!(
        "faults: concurrent log failures: {} seeds, {images} images reopened, {:.1?}",
        all.len(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------
// A checkpoint fails
// ---------------------------------------------------------------------

/// A table with some history: `checkpointed` also takes a checkpoint in
/// the middle, so the failing checkpoint is not the first.
async fn history(table: &PersistentTable<Item>, rng: &mut Rng, checkpointed: bool) -> Script {
    let mut script = Script::new(0, 80);
    write_ok(table, &mut script, rng, 60).await;
    if checkpointed {
        table.checkpoint().await.expect("checkpoint");
        write_ok(table, &mut script, rng, 40).await;
    }
    script
}

/// After a failed checkpoint (faults cleared): whether the log still takes
/// writes (a failure in the rotation's new segment breaks the log for
/// good). The probe write is acknowledged into `script` if it succeeds.
async fn log_still_works(
    table: &PersistentTable<Item>,
    script: &mut Script,
    rng: &mut Rng,
) -> bool {
    let op = script.next_op(rng);
    match op.run(table).await {
        Ok(()) => {
            script.apply(&op);
            true
        }
        Err(error) if is_log_failure(&error) => false,
        Err(error) => panic!("probe write {op:?}: {error}"),
    }
}

/// The end of every checkpoint-failure case: another checkpoint succeeds
/// (if the log works), and every image of the disk reopens to what was
/// acknowledged.
async fn finish_after_checkpoint_failure(
    label: &str,
    disk: &SimFs,
    table: PersistentTable<Item>,
    mut script: Script,
    rng: &mut Rng,
    seed: u64,
) -> usize {
    if log_still_works(&table, &mut script, rng).await {
        write_ok(&table, &mut script, rng, 10).await;
        if let Err(error) = table.checkpoint().await {
            panic!("{label}: the checkpoint after the failed one failed too: {error}");
        }
        write_ok(&table, &mut script, rng, 5).await;
    } else {
        assert!(
            table.checkpoint().await.is_err(),
            "{label}: a checkpoint succeeded with a broken log"
        );
    }
    let mut checked = 0;
    for (image_label, image) in images(disk, seed) {
        check_image(&format!("{label}, {image_label}"), &image, &[&script.state]);
        checked += 1;
    }
    release(table);
    checked
}

#[tokio::test]
async fn a_failed_write_or_sync_at_each_step_of_a_checkpoint_loses_nothing() {
    let started = Instant::now();
    let (mut cases, mut images) = (0, 0);
    for seed in seeds(12, 2, 20) {
        let _guard = SeedGuard {
            seed,
            test: "a_failed_write_or_sync_at_each_step_of_a_checkpoint",
            file: "faults",
        };
        for checkpointed in [false, true] {
            for sync in [false, true] {
                for nth in 1.. {
                    let mut rng = Rng::new(seed ^ nth);
                    let disk = SimFs::new();
                    let table = open_on::<Item>(&disk, manual()).unwrap().expect("open");
                    let script = history(&table, &mut rng, checkpointed).await;
                    let fault = if sync {
                        Fault::Sync { nth }
                    } else {
                        Fault::Write {
                            nth,
                            written: rng.index(70_000),
                        }
                    };
                    let label = format!(
                        "seed {seed}, {} checkpoint, {fault:?}",
                        if checkpointed { "second" } else { "first" }
                    );
                    let injected = disk.stats().injected_failures;
                    disk.fail(fault.clone());
                    let outcome = table.checkpoint().await;
                    disk.clear_faults();
                    if disk.stats().injected_failures == injected {
                        // Past the checkpoint's last write or sync.
                        outcome.unwrap_or_else(|e| panic!("{label}: no fault fired, yet {e}"));
                        release(table);
                        break;
                    }
                    match &outcome {
                        Ok(_) => panic!("{label}: the checkpoint reported success"),
                        Err(error) => assert_names_the_directory(&label, error),
                    }
                    images += finish_after_checkpoint_failure(
                        &label, &disk, table, script, &mut rng, seed,
                    )
                    .await;
                    cases += 1;
                }
            }
        }
    }
    eprintln!(
        "faults: checkpoint write/sync failures: {cases} cases, {images} images reopened, {:.1?}",
        started.elapsed()
    );
    assert!(cases >= 8);
}

#[tokio::test]
async fn a_checkpoint_file_that_cannot_be_touched_is_a_typed_error_and_loses_nothing() {
    let mut cases = 0;
    for seed in seeds(13, 2, 20) {
        let _guard = SeedGuard {
            seed,
            test: "a_checkpoint_file_that_cannot_be_touched",
            file: "faults",
        };
        for prefix in ["pages", "manifest-", "meta", "log-"] {
            for checkpointed in [false, true] {
                for through_close in [false, true] {
                    let mut rng = Rng::new(seed);
                    let disk = SimFs::new();
                    let table = open_on::<Item>(&disk, manual()).unwrap().expect("open");
                    let mut script = history(&table, &mut rng, checkpointed).await;
                    let label = format!(
                        "seed {seed}, prefix {prefix}, checkpointed {checkpointed}, close {through_close}"
                    );
                    disk.fail(Fault::Path {
                        prefix: prefix.into(),
                    });
                    if through_close {
                        // `close` checkpoints: it reports the failure; the
                        // log still has everything.
                        let error = table.close().await.expect_err(&label);
                        assert_names_the_directory(&label, &error);
                        disk.clear_faults();
                        for (image_label, image) in images(&disk, seed) {
                            check_image(
                                &format!("{label}, {image_label}"),
                                &image,
                                &[&script.state],
                            );
                        }
                    } else {
                        let error = table.checkpoint().await.expect_err(&label);
                        assert_names_the_directory(&label, &error);
                        if prefix != "log-" {
                            assert!(
                                chain(&error).contains(prefix),
                                "{label}: the error does not name the file: {}",
                                chain(&error)
                            );
                        }
                        disk.clear_faults();
                        let works = log_still_works(&table, &mut script, &mut rng).await;
                        assert_eq!(works, prefix != "log-", "{label}: log works: {works}");
                        finish_after_checkpoint_failure(
                            &label, &disk, table, script, &mut rng, seed,
                        )
                        .await;
                    }
                    cases += 1;
                }
            }
        }
    }
    eprintln!("faults: path faults: {cases} cases");
}

/// What the tap of a table does.
enum Plan {
    Off,
    /// Fail operation number `at` (counting from the arming).
    Fail {
        at: u64,
        seen: u64,
        fired: Option<String>,
    },
    /// Before every `every`-th operation, record the disk as a killed
    /// process and a power cut (modes in turn) would leave it.
    Cut {
        seen: u64,
        every: u64,
        seed: u64,
        all_modes: bool,
        images: Vec<(String, SimFs)>,
    },
    /// Fail the first `fail` operation (as displayed: `"sync_dir items"`)
    /// after the first `after` operation.
    FailAfter {
        after: &'static str,
        fail: &'static str,
        primed: bool,
        fired: bool,
    },
    /// Record the disk as a killed process leaves it, just before the first
    /// `before` operation.
    KillBefore {
        before: &'static str,
        image: Option<SimFs>,
    },
    /// Block the first operation on a file whose name starts with `prefix`
    /// until `go` says so.
    Pause {
        prefix: &'static str,
        reached: mpsc::Sender<()>,
        go: mpsc::Receiver<()>,
    },
}

/// The tap's controls.
struct Switch {
    disk: SimFs,
    plan: Mutex<Plan>,
}

impl Switch {
    fn new(disk: &SimFs) -> Arc<Self> {
        Arc::new(Self {
            disk: disk.clone(),
            plan: Mutex::new(Plan::Off),
        })
    }

    fn tap(self: &Arc<Self>) -> Tap {
        let switch = Arc::clone(self);
        Tap::new(&self.disk, Arc::new(move |op| switch.hook(op)))
    }

    fn set(&self, plan: Plan) -> Plan {
        std::mem::replace(&mut *lock(&self.plan), plan)
    }

    fn hook(&self, op: TapOp<'_>) -> io::Result<()> {
        let mut plan = lock(&self.plan);
        match &mut *plan {
            Plan::Off => Ok(()),
            Plan::Fail { at, seen, fired } => {
                *seen += 1;
                if seen == at {
                    *fired = Some(op.to_string());
                    return Err(injected(op));
                }
                Ok(())
            }
            Plan::Cut {
                seen,
                every,
                seed,
                all_modes,
                images,
            } => {
                *seen += 1;
                if *seen % *every != 0 {
                    return Ok(());
                }
                let n = *seen;
                let cut_seed = seed.wrapping_add(n);
                let which: Vec<usize> = if *all_modes {
                    (0..4).collect()
                } else {
                    vec![(n % 4) as usize]
                };
                for i in which {
                    let image = match i {
                        0 => ("kill".to_owned(), self.disk.kill_process()),
                        _ => {
                            let mode = MODES[i - 1];
                            (
                                format!("{mode:?} (cut seed {cut_seed})"),
                                self.disk.power_cut(mode, cut_seed),
                            )
                        }
                    };
                    images.push((format!("{} before operation {n} `{op}`", image.0), image.1));
                }
                Ok(())
            }
            Plan::FailAfter {
                after,
                fail,
                primed,
                fired,
            } => {
                let shown = op.to_string();
                if *primed && !*fired && shown == *fail {
                    *fired = true;
                    return Err(injected(op));
                }
                *primed |= shown == *after;
                Ok(())
            }
            Plan::KillBefore { before, image } => {
                if image.is_none() && op.to_string() == *before {
                    *image = Some(self.disk.kill_process());
                }
                Ok(())
            }
            Plan::Pause { prefix, .. } => {
                if !op.name().starts_with(*prefix) {
                    return Ok(());
                }
                let Plan::Pause { reached, go, .. } = std::mem::replace(&mut *plan, Plan::Off)
                else {
                    unreachable!()
                };
                drop(plan);
                let _ = reached.send(());
                let _ = go.recv();
                Ok(())
            }
        }
    }
}

#[tokio::test]
async fn any_failed_operation_of_a_checkpoint_then_a_power_cut_during_the_retry_loses_nothing() {
    let started = Instant::now();
    let (mut cases, mut images_checked, mut ignored) = (0, 0, Vec::new());
    let campaign = common::campaign();
    for seed in seeds(14, 1, 4) {
        let _guard = SeedGuard {
            seed,
            test: "any_failed_operation_of_a_checkpoint_then_a_power_cut_during_the_retry",
            file: "faults",
        };
        for checkpointed in [false, true] {
            for at in 1.. {
                let mut rng = Rng::new(seed ^ at);
                let disk = SimFs::new();
                let switch = Switch::new(&disk);
                let table =
                    PersistentTable::<Item>::open_in(Arc::new(switch.tap()), dir(), manual())
                        .expect("open");
                let mut script = history(&table, &mut rng, checkpointed).await;
                switch.set(Plan::Fail {
                    at,
                    seen: 0,
                    fired: None,
                });
                let outcome = table.checkpoint().await;
                let Plan::Fail { fired, .. } = switch.set(Plan::Off) else {
                    unreachable!()
                };
                let Some(fired) = fired else {
                    outcome.expect("no operation failed");
                    release(table);
                    break;
                };
                let label = format!(
                    "seed {seed}, {} checkpoint, operation {at} (`{fired}`) failed",
                    if checkpointed { "second" } else { "first" }
                );
                match &outcome {
                    Ok(_) => ignored.push(fired.clone()),
                    Err(error) => assert_names_the_directory(&label, error),
                }
                cases += 1;
                if !log_still_works(&table, &mut script, &mut rng).await {
                    images_checked += finish_after_checkpoint_failure(
                        &label, &disk, table, script, &mut rng, seed,
                    )
                    .await;
                    continue;
                }
                write_ok(&table, &mut script, &mut rng, 10).await;
                // The retry, with the power cut before its operations.
                switch.set(Plan::Cut {
                    seen: 0,
                    every: if campaign { 1 } else { 2 },
                    seed: seed ^ (at << 20),
                    all_modes: campaign,
                    images: Vec::new(),
                });
                let retried = table.checkpoint().await;
                let Plan::Cut { images, .. } = switch.set(Plan::Off) else {
                    unreachable!()
                };
                if let Err(error) = retried {
                    panic!("{label}: the next checkpoint failed: {error}");
                }
                for (image_label, image) in &images {
                    check_image(
                        &format!("{label}; retry: {image_label}"),
                        image,
                        &[&script.state],
                    );
                }
                images_checked += images.len();
                write_ok(&table, &mut script, &mut rng, 5).await;
                images_checked +=
                    finish_after_checkpoint_failure(&label, &disk, table, script, &mut rng, seed)
                        .await;
            }
        }
    }
    ignored.sort();
    ignored.dedup();
    eprintln!(
        "faults: any-operation checkpoint failures: {cases} cases, {images_checked} images reopened, {:.1?}; failures a checkpoint ignores (after it took effect): {ignored:?}",
        started.elapsed()
    );
}

/// A write whose log record failed is committed in memory (as documented)
/// and a later one is refused; a checkpoint running at that moment must not
/// make either durable: after a reopen the table holds what was
/// acknowledged, plus at most the write whose log record failed. The checkpoint is held at its
/// first page-file operation (creating the page file of a first checkpoint:
/// after the log has rotated, before the rows are copied) while one write
/// fails in the log and a second is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_racing_a_log_failure_does_not_persist_refused_writes() {
    let mut rng = Rng::new(77);
    let disk = SimFs::new();
    let switch = Switch::new(&disk);
    let table = Arc::new(
        PersistentTable::<Item>::open_in(Arc::new(switch.tap()), dir(), manual()).expect("open"),
    );
    let mut script = history(&table, &mut rng, false).await;
    let (reached_tx, reached) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    switch.set(Plan::Pause {
        prefix: "pages",
        reached: reached_tx,
        go: go_rx,
    });
    let checkpoint = tokio::spawn({
        let table = Arc::clone(&table);
        async move { table.checkpoint().await }
    });
    tokio::task::spawn_blocking(move || reached.recv())
        .await
        .unwrap()
        .expect("the checkpoint reaches the page file");
    disk.fail(Fault::Path {
        prefix: "log-".into(),
    });
    let failed = script.next_upsert(&mut rng);
    let error = failed.run(&table).await.expect_err("the log is failing");
    assert!(is_log_failure(&error), "{error}");
    let refused = Op::Upsert(5_000, 1);
    let error = refused.run(&table).await.expect_err("the log has failed");
    assert!(is_refused(&error), "{error}");
    assert!(!table.contains(&5_000), "a refused write changed the table");
    go.send(()).unwrap();
    let outcome = checkpoint.await.unwrap();
    disk.clear_faults();

    let acked = script.state.clone();
    let mut with_failed = acked.clone();
    apply(&mut with_failed, &failed);
    for (label, image) in images(&disk, 3) {
        let label = format!(
            "the checkpoint racing the log failure gave {outcome:?}; {failed:?} failed in the log, {refused:?} was refused; {label}"
        );
        check_image(&label, &image, &[&acked, &with_failed]);
    }
    release(Arc::into_inner(table).unwrap());
}

/// The smallest case of the failures above: a checkpoint's metadata file is
/// renamed into place, then syncing the directory fails, so `checkpoint()`
/// returns an error; but the renamed metadata file, naming the new
/// checkpoint (generation 1), is what the directory holds (and what a later
/// directory sync makes durable: the log's next segment syncs it). The next
/// checkpoint must neither reuse generation 1 nor the frames the failed one
/// wrote (it did, before the fix: a process killed before it completed
/// left a metadata file naming a manifest and frames being overwritten,
/// and the table did not open).
#[tokio::test]
async fn a_checkpoint_after_one_whose_metadata_directory_sync_failed_keeps_the_named_checkpoint_intact()
 {
    let disk = SimFs::new();
    let switch = Switch::new(&disk);
    let table =
        PersistentTable::<Item>::open_in(Arc::new(switch.tap()), dir(), manual()).expect("open");
    let mut state = State::new();
    for op in [Op::Insert(1, 1), Op::Insert(2, 1), Op::Insert(3, 1)] {
        op.run(&table).await.unwrap();
        apply(&mut state, &op);
    }
    switch.set(Plan::FailAfter {
        after: "rename meta.tmp",
        fail: "sync_dir items",
        primed: false,
        fired: false,
    });
    let error = table
        .checkpoint()
        .await
        .expect_err("the directory sync fails");
    assert_names_the_directory("the failed checkpoint", &error);
    switch.set(Plan::Off);
    // Reopening right now is fine (the renamed metadata file and its
    // checkpoint are complete).
    check_image(
        "kill after the failed checkpoint",
        &disk.kill_process(),
        &[&state],
    );

    let op = Op::Upsert(1, 2);
    op.run(&table).await.unwrap();
    apply(&mut state, &op);
    // The retry must not reuse generation 1 (the metadata file may name
    // it): it writes manifest 2, in frames neither manifest uses.
    switch.set(Plan::KillBefore {
        before: "open manifest-00000000000000000002",
        image: None,
    });
    table.checkpoint().await.expect("the next checkpoint");
    let Plan::KillBefore { image, .. } = switch.set(Plan::Off) else {
        unreachable!()
    };
    let image = image.expect("the retry writes manifest 2");
    check_image(
        "kill during the next checkpoint, before it writes its manifest",
        &image,
        &[&state],
    );
    release(table);
}

/// Two failed metadata replacements in a row: the first fails after its
/// rename (the metadata file names generation 1), the second before its
/// rename (it still names 1, not 2). The third checkpoint must keep the
/// frames of both unsettled manifests, not only the last one's.
#[tokio::test]
async fn after_two_failed_metadata_replacements_every_named_checkpoint_stays_intact() {
    let disk = SimFs::new();
    let switch = Switch::new(&disk);
    let table =
        PersistentTable::<Item>::open_in(Arc::new(switch.tap()), dir(), manual()).expect("open");
    let mut state = State::new();
    let failures = [
        ("rename meta.tmp", "sync_dir items"),
        ("open manifest-00000000000000000002", "rename meta.tmp"),
    ];
    for (round, (after, fail)) in failures.into_iter().enumerate() {
        let round = round as u32 + 1;
        for op in [Op::Insert(u64::from(round) * 10, 1), Op::Upsert(1, round)] {
            op.run(&table).await.unwrap();
            apply(&mut state, &op);
        }
        switch.set(Plan::FailAfter {
            after,
            fail,
            primed: false,
            fired: false,
        });
        table
            .checkpoint()
            .await
            .expect_err("replacing the metadata file fails");
        switch.set(Plan::Off);
        check_image(
            &format!("kill after failed checkpoint {round}"),
            &disk.kill_process(),
            &[&state],
        );
    }
    let op = Op::Upsert(1, 9);
    op.run(&table).await.unwrap();
    apply(&mut state, &op);
    switch.set(Plan::KillBefore {
        before: "open manifest-00000000000000000003",
        image: None,
    });
    table.checkpoint().await.expect("the third checkpoint");
    let Plan::KillBefore { image, .. } = switch.set(Plan::Off) else {
        unreachable!()
    };
    let image = image.expect("the third checkpoint writes manifest 3");
    check_image(
        "kill during the third checkpoint, before it writes its manifest",
        &image,
        &[&state],
    );
    release(table);
}

/// Once the log has failed, the table says so, and a later write — a retry
/// of the failed one included — is refused before it changes anything,
/// with an error whose message carries the operating system's reason.
#[tokio::test]
async fn a_failed_log_refuses_every_later_write_before_it_changes_anything() {
    let disk = SimFs::new();
    let table = open_on::<Item>(&disk, manual()).unwrap().expect("open");
    Op::Insert(1, 1).run(&table).await.expect("a healthy write");
    assert!(!table.health().is_failed());

    disk.fail(Fault::Sync { nth: 1 });
    let error = Op::Insert(2, 1)
        .run(&table)
        .await
        .expect_err("its sync fails");
    assert!(is_unlogged(&error), "{error}");
    let health = table.health();
    let failure = health.error().expect("the table has failed");
    assert!(matches!(failure, WriteError::LogWrite { .. }));
    let message = failure.to_string();
    assert!(
        message.contains(common::DIR) && message.contains("injected fault"),
        "the message names the directory and the reason: {message}"
    );

    let mut changes = table.subscribe();
    let last_seq = table.last_seq();
    let rows = common::read_state(&table).unwrap();
    for op in [
        Op::Insert(3, 1),
        Op::Insert(3, 1),
        Op::Update(1, 2),
        Op::UpdateWith(1, 3),
        Op::Upsert(4, 1),
        Op::Delete(1),
    ] {
        let error = op.run(&table).await.expect_err("the log has failed");
        assert!(is_refused(&error), "{op:?}: {error}");
        assert!(
            error.to_string().contains("injected fault"),
            "{op:?}: the refusal carries the reason: {error}"
        );
    }
    assert_eq!(common::read_state(&table).unwrap(), rows);
    assert_eq!(table.last_seq(), last_seq);
    assert!(
        changes.try_next().is_none(),
        "a refused write was announced"
    );
    assert!(matches!(
        table.checkpoint().await,
        Err(CheckpointError::LogFailed(WriteError::LogWrite { .. }))
    ));
    assert!(table.close().await.is_err());
}
