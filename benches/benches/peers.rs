//! worktable side by side with hand-rolled baselines and peer table stores:
//! the same workloads on the same data, in one process. Every system is
//! loaded first; then each workload runs on every system in turn, before the
//! next workload starts (so all loaded systems are in memory at once: about
//! 250 MB at 100,000 rows, 2.5 GB in large mode). The workload is
//! [`System`]; the systems are in `benches/src/systems/`.
//!
//! ```text
//! cargo bench -p worktable-benches --bench peers                        # 100,000 rows
//! WORKTABLE_BENCH=quick cargo bench -p worktable-benches --bench peers  # a few minutes
//! WORKTABLE_BENCH=large cargo bench -p worktable-benches --bench peers  # 1,000,000 rows
//! cargo run --profile bench -p worktable-benches --bin report           # the table
//! ```
//!
//! The report reads the run of the size `WORKTABLE_BENCH` names (set it the
//! same way, or pass `-- --rows N`); `--profile bench` reuses the
//! benchmark's build.
//!
//! `WORKTABLE_BENCH_SYSTEMS=worktable,rwlock_hashmap` runs only the named
//! systems (criterion's name filter still applies on top).
//!
//! Benchmark IDs are `peers_<workload>/<system>/<rows>`. Per system:
//!
//! - `insert`: all rows into an empty store, the system's bulk way
//!   (throughput: rows);
//! - `insert_each`: all rows into an empty store, one `insert` call a row;
//! - `insert_each_ascending`: the same, the rows in ascending primary-key
//!   order;
//! - `get_pk`, `read_pk`: owned row / one field without an owned row, by a
//!   random primary key;
//! - `get_unique`: owned row by a random email;
//! - `find_non_unique`: all rows of one age, cycling through the 100 ages
//!   (throughput: the average rows per age);
//! - `scan_filter`: the rows with a balance below 10,000, about 1% (no index);
//! - `update_balance` / `update_age`: set a non-indexed / indexed field of a
//!   random row;
//! - `update_with`: set the non-indexed field of a random row through the
//!   system's closure-style update ([`System::update_balance_with`]; the
//!   same as `update_balance` where the system has no other way);
//! - `delete_reinsert`: delete a random row, insert it again;
//! - `mixed_2_threads`: two threads, each 90% `get` / 10% balance update of
//!   random rows (throughput: operations of both threads). It runs in
//!   [`MIX_ROUNDS`] rounds, each on every system in turn, with IDs
//!   `peers_mixed_2_threads/<system>/<rows>-round<k>`; the report takes the
//!   median of a system's rounds (see [`MIX_ROUNDS`] for why).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use worktable_benches::results::{MIX_ROUNDS, mix_round};
use worktable_benches::{
    Mode, SCAN_BALANCE_BELOW, SharedSystem, System, SystemFilter, SystemVisitor, User, mix,
    shuffled, systems, users,
};

const SEED: u64 = 0x5eed;
/// Operations per thread per measured iteration of the mixed workload.
const MIX_OPS_PER_THREAD: u64 = 20_000;

/// The data every system gets, and the random orders workloads visit it in.
struct Fixture {
    rows: Vec<User>,
    /// The rows in ascending primary-key order, for the ascending fill.
    ascending: Vec<User>,
    /// The rows in a random order, laid out sequentially so that fetching
    /// the next key costs no system a cache miss.
    shuffled: Vec<User>,
}

impl Fixture {
    fn new(rows: usize) -> Self {
        let rows = users(rows, SEED);
        let mut ascending = rows.clone();
        ascending.sort_unstable_by_key(|user| user.id);
        let shuffled = Self::order(&rows, SEED + 1);
        Self {
            rows,
            ascending,
            shuffled,
        }
    }

    /// `rows` in the random order of `seed`, laid out sequentially.
    fn order(rows: &[User], seed: u64) -> Vec<User> {
        shuffled(rows.len(), seed)
            .into_iter()
            .map(|i| rows[i].clone())
            .collect()
    }

    /// The `i`-th row of the random order, cycling.
    fn nth(&self, i: u64) -> &User {
        nth(&self.shuffled, i)
    }

    /// A random order of its own for a write workload (`seed` tells them
    /// apart). A write may move the row it changes (a new row version, new
    /// index nodes), so a write workload that visited rows in the order the
    /// previous one did would find them next to each other in memory:
    /// every write workload gets an order of its own.
    fn write_order(&self, seed: u64) -> Vec<User> {
        Self::order(&self.rows, SEED + 100 + seed)
    }
}

/// The `i`-th row of `order`, cycling.
fn nth(order: &[User], i: u64) -> &User {
    &order[(i % order.len() as u64) as usize]
}

/// The workloads, in the order they run. Each runs for every system, one
/// system after the other, before the next workload starts: a system's
/// figures and its peers' are measured minutes apart at most, so that the
/// machine's drift over a run (which is large) reaches all of them alike.
#[derive(Clone, Copy)]
enum Workload {
    Insert(Fill),
    GetPk,
    ReadPk,
    GetUnique,
    FindNonUnique,
    ScanFilter,
    UpdateBalance,
    UpdateWith,
    UpdateAge,
    DeleteReinsert,
    /// Last, in rounds: the first turns the loaded system into its shared
    /// form.
    Mixed {
        round: usize,
    },
}

impl Workload {
    /// The workloads before the mix, in order.
    const SINGLE: [Self; 12] = [
        Self::Insert(Fill::Bulk),
        Self::Insert(Fill::EachRow),
        Self::Insert(Fill::EachRowAscending),
        Self::GetPk,
        Self::ReadPk,
        Self::GetUnique,
        Self::FindNonUnique,
        Self::ScanFilter,
        Self::UpdateBalance,
        Self::UpdateWith,
        Self::UpdateAge,
        Self::DeleteReinsert,
    ];

    /// Every workload in the order they run: the mix's rounds last.
    fn all() -> impl Iterator<Item = Self> {
        let rounds = (0..MIX_ROUNDS).map(|round| Self::Mixed { round });
        Self::SINGLE.into_iter().chain(rounds)
    }
}

/// A loaded system: owned for the single-threaded workloads, then shared
/// for the rounds of the mix.
enum Loaded<S: System> {
    Owned(S),
    Shared(S::Shared),
    /// Only while turning one into the other.
    Moving,
}

/// Runs one workload on one system; type-erased, so that the systems can be
/// held side by side.
type Runner<'a> = Box<dyn FnMut(&mut Criterion, Workload) + 'a>;

/// Loads each selected system with the fixture's rows and keeps it, with a
/// runner for it. The loaded systems take the workloads in turn, reads
/// first, then writes, as a table in use would.
struct Load<'a> {
    fixture: &'a Fixture,
    mode: Mode,
    /// The systems that run.
    only: SystemFilter,
    runners: Vec<Runner<'a>>,
}

impl<'a> SystemVisitor for Load<'a> {
    fn visit<S: System>(&mut self) {
        if !self.only.selects(S::NAME) {
            return;
        }
        let (fixture, mode) = (self.fixture, self.mode);
        let mut system = S::new();
        system.bulk_insert(fixture.rows.iter().cloned());
        let mut loaded = Loaded::Owned(system);
        self.runners.push(Box::new(move |criterion, workload| {
            run(criterion, fixture, mode, &mut loaded, workload);
        }));
    }
}

/// Runs `workload` on system `S`; `loaded` is its loaded store, which the
/// first round of [`Workload::Mixed`] turns into its shared form.
fn run<S: System>(
    criterion: &mut Criterion,
    fixture: &Fixture,
    mode: Mode,
    loaded: &mut Loaded<S>,
    workload: Workload,
) {
    if let Workload::Insert(fill) = workload {
        return insert::<S>(criterion, fixture, mode, fill);
    }
    if let Workload::Mixed { round } = workload {
        if let Loaded::Owned(_) = loaded
            && let Loaded::Owned(system) = std::mem::replace(loaded, Loaded::Moving)
        {
            *loaded = Loaded::Shared(system.into_shared());
        }
        let Loaded::Shared(shared) = loaded else {
            unreachable!("the mix shares the loaded system")
        };
        return mixed(criterion, fixture, shared, S::NAME, round);
    }
    let Loaded::Owned(system) = loaded else {
        unreachable!("the mixed workload runs last")
    };
    match workload {
        Workload::GetPk => point::<S>(criterion, fixture, "get_pk", |i| {
            black_box(system.get(fixture.nth(i).id).expect("present"));
        }),
        Workload::ReadPk => point::<S>(criterion, fixture, "read_pk", |i| {
            black_box(system.read_balance(fixture.nth(i).id).expect("present"));
        }),
        Workload::GetUnique => point::<S>(criterion, fixture, "get_unique", |i| {
            black_box(system.get_by_email(&fixture.nth(i).email).expect("present"));
        }),
        Workload::FindNonUnique => find_non_unique(criterion, fixture, system),
        Workload::ScanFilter => scan_filter(criterion, fixture, system),
        Workload::UpdateBalance => {
            let order = fixture.write_order(1);
            point::<S>(criterion, fixture, "update_balance", |i| {
                assert!(system.set_balance(nth(&order, i).id, i as i64));
            });
        }
        Workload::UpdateWith => {
            let order = fixture.write_order(4);
            point::<S>(criterion, fixture, "update_with", |i| {
                assert!(system.update_balance_with(nth(&order, i).id, i as i64));
            });
        }
        Workload::UpdateAge => {
            let order = fixture.write_order(2);
            point::<S>(criterion, fixture, "update_age", |i| {
                // Random ages: about 1% of the updates leave the age as it was.
                assert!(system.set_age(nth(&order, i).id, (mix(i) % 100) as u32));
            });
        }
        Workload::DeleteReinsert => {
            let order = fixture.write_order(3);
            point::<S>(criterion, fixture, "delete_reinsert", |i| {
                let user = nth(&order, i);
                assert!(system.delete(user.id));
                assert!(system.insert(user.clone()));
            });
        }
        Workload::Insert(_) | Workload::Mixed { .. } => unreachable!("handled above"),
    }
}

/// Benchmarks `routine` (one operation, given a running counter) as
/// `peers_<workload>/<system>/<rows>`.
fn point<S: System>(
    criterion: &mut Criterion,
    fixture: &Fixture,
    workload: &str,
    mut routine: impl FnMut(u64),
) {
    let mut group = criterion.benchmark_group(format!("peers_{workload}"));
    let mut i = 0;
    group.bench_function(BenchmarkId::new(S::NAME, fixture.rows.len()), |b| {
        b.iter(|| {
            i += 1;
            routine(i)
        });
    });
    group.finish();
}

/// How the insert workloads fill an empty system.
#[derive(Clone, Copy)]
enum Fill {
    /// [`System::bulk_insert`]: the system's way of loading many rows.
    Bulk,
    /// [`System::insert`], one row after another.
    EachRow,
    /// [`System::insert`], one row after another, in ascending primary-key
    /// order.
    EachRowAscending,
}

fn insert<S: System>(criterion: &mut Criterion, fixture: &Fixture, mode: Mode, fill: Fill) {
    let rows = fixture.rows.len();
    let (name, source) = match fill {
        Fill::Bulk => ("peers_insert", &fixture.rows),
        Fill::EachRow => ("peers_insert_each", &fixture.rows),
        Fill::EachRowAscending => ("peers_insert_each_ascending", &fixture.ascending),
    };
    let mut group = criterion.benchmark_group(name);
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    // Ten samples of at least one fill each.
    group.measurement_time(mode.measurement_time() * 5);
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function(BenchmarkId::new(S::NAME, rows), |b| {
        b.iter_batched(
            || (S::new(), source.clone()),
            |(mut system, rows)| {
                match fill {
                    Fill::Bulk => system.bulk_insert(rows),
                    Fill::EachRow | Fill::EachRowAscending => {
                        for row in rows {
                            assert!(system.insert(row), "generated users are distinct");
                        }
                    }
                }
                system
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn find_non_unique<S: System>(criterion: &mut Criterion, fixture: &Fixture, system: &S) {
    let rows = fixture.rows.len();
    let mut group = criterion.benchmark_group("peers_find_non_unique");
    // Ages are uniform in 0..100: on average rows / 100 rows per age.
    group.throughput(Throughput::Elements((rows / 100) as u64));
    let mut age = 0;
    group.bench_function(BenchmarkId::new(S::NAME, rows), |b| {
        b.iter(|| {
            age = (age + 1) % 100;
            black_box(system.find_by_age(age))
        });
    });
    group.finish();
}

fn scan_filter<S: System>(criterion: &mut Criterion, fixture: &Fixture, system: &S) {
    let mut group = criterion.benchmark_group("peers_scan_filter");
    // Scans take milliseconds: equal samples keep the run short.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(BenchmarkId::new(S::NAME, fixture.rows.len()), |b| {
        b.iter(|| black_box(system.scan_balance_below(SCAN_BALANCE_BELOW)));
    });
    group.finish();
}

/// Runs `work(thread, iteration)` on two threads at once, `iters` times, and
/// returns the wall-clock time of the runs.
fn on_two_threads(iters: u64, work: impl Fn(u64, u64) + Sync) -> Duration {
    let mut total = Duration::ZERO;
    for iteration in 0..iters {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for thread in 0..2 {
                let work = &work;
                scope.spawn(move || work(thread, iteration));
            }
        });
        total += start.elapsed();
    }
    total
}

fn mixed(
    criterion: &mut Criterion,
    fixture: &Fixture,
    shared: &impl SharedSystem,
    name: &str,
    round: usize,
) {
    let rows = fixture.rows.len();
    let mut group = criterion.benchmark_group("peers_mixed_2_threads");
    // An iteration takes milliseconds: equal samples keep the run short.
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(2 * MIX_OPS_PER_THREAD));
    group.bench_function(BenchmarkId::new(name, mix_round(rows, round)), |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, |thread, iteration| {
                for op in 0..MIX_OPS_PER_THREAD {
                    let r = mix(SEED ^ (thread << 40) ^ (iteration << 20) ^ op);
                    let id = fixture.nth(r).id;
                    if r.is_multiple_of(10) {
                        assert!(shared.set_balance(id, (r >> 44) as i64));
                    } else {
                        black_box(shared.get(id).expect("present"));
                    }
                }
            })
        });
    });
    group.finish();
}

fn main() {
    let mode = Mode::from_env();
    let only = SystemFilter::from_env();
    let mut criterion = Criterion::default()
        .warm_up_time(mode.warm_up_time())
        .measurement_time(mode.measurement_time())
        .sample_size(mode.sample_size())
        .configure_from_args();
    let fixture = Fixture::new(mode.rows());
    let mut load = Load {
        fixture: &fixture,
        mode,
        only,
        runners: Vec::new(),
    };
    systems::visit_all(&mut load);
    for workload in Workload::all() {
        for runner in &mut load.runners {
            runner(&mut criterion, workload);
        }
    }
    criterion.final_summary();
}
