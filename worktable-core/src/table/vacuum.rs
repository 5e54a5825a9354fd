//! Vacuum: moving rows out of sparse pages so that whole pages go back to
//! the allocator, on demand or in a background thread.
//!
//! # How a row moves
//!
//! Vacuum marks a few sparse pages *evacuating* (they take no new versions),
//! copies each row version still in them to a slot elsewhere and swaps the
//! row's cell from the old location to the copy with a compare-exchange. A
//! writer that replaced the row in the meantime wins: the exchange fails and
//! the copy is dropped. The old slot is retired like any replaced version, so
//! a reader that found it keeps reading valid bytes; once the last slot of an
//! evacuating page is free, the page's memory is released.
//!
//! A move changes neither a row's value nor any index, takes no row lock and
//! emits no change event: readers and subscribers cannot tell it happened,
//! except through [`TableStats`](super::TableStats).

use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread;
use std::time::Duration;

use super::WorkTable;
use super::stats::{fragmentation, reclaimable_pages};
use crate::observe;
use crate::page::{PAGE_SIZE, PageId};
use crate::row::Row;

/// When and how hard vacuum works. The defaults suit most tables; each
/// field has a builder method.
///
/// ```
/// use std::time::Duration;
/// use worktable_core::VacuumPolicy;
///
/// let policy = VacuumPolicy::default()
///     .min_fragmentation(0.5)
///     .interval(Duration::from_secs(10));
/// assert_eq!(policy.min_fragmentation, 0.5);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VacuumPolicy {
    /// Background vacuum starts when at least this share of page memory
    /// holds no current row version (see [`TableStats::fragmentation`]).
    /// Default 0.3.
    ///
    /// [`TableStats::fragmentation`]: super::TableStats::fragmentation
    pub min_fragmentation: f64,
    /// ...and at least this many pages could be given back. Default 4.
    pub min_reclaimable_pages: usize,
    /// Pages at most this full (a share of the page) are emptied. Default 0.5.
    pub max_page_fill: f64,
    /// Pages emptied per step; between steps vacuum pauses. Default 64.
    pub pages_per_step: usize,
    /// The pause between steps, so that vacuum never holds the allocator
    /// for long. Default 1 ms.
    pub pause: Duration,
    /// How often the background vacuum looks at the table. Default 1 s.
    pub interval: Duration,
}

impl Default for VacuumPolicy {
    fn default() -> Self {
        Self {
            min_fragmentation: 0.3,
            min_reclaimable_pages: 4,
            max_page_fill: 0.5,
            pages_per_step: 64,
            pause: Duration::from_millis(1),
            interval: Duration::from_secs(1),
        }
    }
}

impl VacuumPolicy {
    /// Sets [`min_fragmentation`](Self::min_fragmentation).
    pub fn min_fragmentation(mut self, share: f64) -> Self {
        self.min_fragmentation = share;
        self
    }

    /// Sets [`min_reclaimable_pages`](Self::min_reclaimable_pages).
    pub fn min_reclaimable_pages(mut self, pages: usize) -> Self {
        self.min_reclaimable_pages = pages;
        self
    }

    /// Sets [`max_page_fill`](Self::max_page_fill).
    pub fn max_page_fill(mut self, share: f64) -> Self {
        self.max_page_fill = share;
        self
    }

    /// Sets [`pages_per_step`](Self::pages_per_step) (at least 1).
    pub fn pages_per_step(mut self, pages: usize) -> Self {
        self.pages_per_step = pages.max(1);
        self
    }

    /// Sets [`pause`](Self::pause).
    pub fn pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// Sets [`interval`](Self::interval).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

/// What a vacuum run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumReport {
    /// Row versions moved to other pages.
    pub rows_moved: usize,
    /// Pages holding memory when the run started.
    pub pages_before: usize,
    /// Pages holding memory when it ended.
    pub pages_after: usize,
    /// Steps run (each empties up to `pages_per_step` pages).
    pub steps: usize,
}

impl VacuumReport {
    /// Pages given back (0 if writers took new pages meanwhile).
    pub fn pages_freed(&self) -> usize {
        self.pages_before.saturating_sub(self.pages_after)
    }
}

impl<R: Row> WorkTable<R> {
    /// Compacts the table with the default [`VacuumPolicy`]: moves the rows
    /// of sparse pages into other pages and gives the emptied pages' memory
    /// back, while readers and writers keep running.
    ///
    /// Runs on the calling thread, pausing between steps, until no page
    /// qualifies or two steps in a row give no page back (the rows of a
    /// sparse page may fit nowhere but in a new page); in async code call it
    /// through `spawn_blocking`, or let [`spawn_vacuum`](Self::spawn_vacuum)
    /// do it in the background. A page is given back once no running reader
    /// can still see the versions that left it, so a reader in the middle of
    /// a [`read`](Self::read) closure — on any table, as the epoch collector
    /// is process-wide — can delay it until a later collection or run.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     for id in 0..20_000 {
    ///         orders.insert(Order { id, price: 100 }).await?;
    ///     }
    ///     for id in (0..20_000).filter(|id| id % 10 != 0) {
    ///         orders.delete(&id).await?;
    ///     }
    ///     let before = orders.stats().pages;
    ///     let report = orders.vacuum();
    ///     assert!(report.pages_after * 2 < before, "{report:?}");
    ///     assert_eq!(orders.len(), 2_000);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn vacuum(&self) -> VacuumReport {
        self.vacuum_with(&VacuumPolicy::default())
    }

    /// [`vacuum`](Self::vacuum) with the page choice, step size and pause
    /// of `policy` (its triggers, `min_fragmentation` and
    /// `min_reclaimable_pages`, only apply to the background vacuum).
    pub fn vacuum_with(&self, policy: &VacuumPolicy) -> VacuumReport {
        self.vacuum_until(policy, || false)
    }

    fn vacuum_until(&self, policy: &VacuumPolicy, stop: impl Fn() -> bool) -> VacuumReport {
        let started = observe::Stopwatch::start();
        let _span = observe::vacuum_span(R::TABLE_NAME);
        // Slots of versions replaced before the run count as taken until
        // the collector returns them: return what it can first, so that
        // pages are judged by what they really hold.
        self.store.collect_retired();
        let mut report = VacuumReport {
            pages_before: self.store.page_count(),
            ..VacuumReport::default()
        };
        let mut known = 0;
        let mut fruitless = 0;
        while !stop() {
            let holding = self.pages_holding_rows();
            let evacuating = self
                .store
                .begin_evacuation(policy.max_page_fill, policy.pages_per_step.max(1));
            let newly_marked = evacuating.len().saturating_sub(known);
            let moved = self.move_rows_out(&evacuating);
            report.rows_moved += moved;
            report.steps += 1;
            // Hand the old versions over and let the collector free them,
            // so that emptied pages go now.
            self.store.collect_retired();
            known = self.store.figures().evacuating_pages;
            if newly_marked == 0 && moved == 0 {
                // Nothing left to choose; pages still evacuating wait for
                // readers and go with a later collection or run.
                break;
            }
            // Free space elsewhere may add up to a page's rows yet lie in
            // holes too small for them: the rows then take a new page, as
            // sparse as the one they left, and the next step would choose it
            // again. Two steps in a row that leave as many pages holding
            // rows end the run. (Pages emptied count as gone even while a
            // reader — of any table: the collector is process-wide — keeps
            // them from being given back yet: that is no reason to stop.)
            fruitless = if self.pages_holding_rows() < holding {
                0
            } else {
                fruitless + 1
            };
            if fruitless == 2 {
                break;
            }
            thread::sleep(policy.pause);
        }
        report.pages_after = self.store.page_count();
        observe::vacuumed(
            R::TABLE_NAME,
            report.rows_moved,
            report.steps,
            report.pages_before,
            report.pages_after,
            started,
        );
        report
    }

    /// Pages that still hold rows: every page but those emptied and
    /// waiting to be given back.
    fn pages_holding_rows(&self) -> usize {
        self.store
            .page_count()
            .saturating_sub(self.store.figures().evacuating_pages)
    }

    /// Moves every current version in the `evacuating` pages (sorted) to
    /// other pages; returns how many moved.
    fn move_rows_out(&self, evacuating: &[PageId]) -> usize {
        if evacuating.is_empty() {
            return 0;
        }
        let mut leaving = Vec::new();
        self.primary.for_each_row(|pk, cell| {
            if evacuating.binary_search(&self.store.page_of(cell)).is_ok() {
                leaving.push(pk.clone());
            }
        });
        let mut moved = 0;
        let hold = || {
            self.relocations
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let mut no_capture = hold();
        for (i, pk) in leaving.iter().enumerate() {
            let relocated = self
                .primary
                .with_cell(pk, |cell| self.store.relocate(cell, evacuating));
            match relocated {
                Some(Ok(Some(old))) => {
                    self.store.retire(old);
                    moved += 1;
                }
                // Deleted, or replaced by a writer meanwhile.
                None | Some(Ok(None)) => {}
                // Every page id is taken: nothing more can move.
                Some(Err(_)) => break,
            }
            if i % 64 == 63 {
                // A checkpoint's capture may take its turn here.
                drop(no_capture);
                thread::yield_now();
                no_capture = hold();
            }
        }
        moved
    }

    /// Whether `policy` asks the background vacuum to run now. Cheap: reads
    /// the allocator's figures, not the rows.
    fn wants_vacuum(&self, policy: &VacuumPolicy) -> bool {
        let figures = self.store.figures();
        let page_bytes = figures.pages * PAGE_SIZE;
        if page_bytes == 0 {
            return false;
        }
        // Everything handed out and not retired: current versions, and the
        // few slots writes in progress hold.
        // The retired count is read after the rest, so saturate.
        let used = page_bytes
            .saturating_sub(figures.free_bytes)
            .saturating_sub(figures.retired_bytes);
        fragmentation(page_bytes, used) >= policy.min_fragmentation
            && reclaimable_pages(figures.pages, used) >= policy.min_reclaimable_pages
    }

    /// Starts a background thread that vacuums the table whenever `policy`
    /// says so (checked every `policy.interval`). The thread holds only a
    /// weak reference: it ends when the table is dropped, or when the
    /// returned handle is stopped or dropped. Retune it with
    /// [`VacuumHandle::set_policy`].
    ///
    /// It runs on its own OS thread, never on an async runtime's workers,
    /// and pauses between steps so that it never holds writers up for long.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use worktable_core::VacuumPolicy;
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    /// }
    ///
    /// let orders = Arc::new(WorkTable::<Order>::new());
    /// let vacuum = orders.spawn_vacuum(VacuumPolicy::default().interval(Duration::from_millis(100)));
    /// // ... the application runs ...
    /// vacuum.set_policy(VacuumPolicy::default().min_fragmentation(0.5));
    /// let total = vacuum.stop();
    /// assert_eq!(total.rows_moved, 0);
    /// ```
    pub fn spawn_vacuum(self: &Arc<Self>, policy: VacuumPolicy) -> VacuumHandle {
        Self::spawn_vacuum_in(self, policy)
    }

    /// [`spawn_vacuum`](Self::spawn_vacuum) for a table kept inside
    /// another shared value (a durable table's state, for instance): the
    /// thread holds a weak reference to `owner` and vacuums the table it
    /// gives, ending when `owner` is dropped.
    pub fn spawn_vacuum_in<T>(owner: &Arc<T>, policy: VacuumPolicy) -> VacuumHandle
    where
        T: AsRef<Self> + Send + Sync + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(Control {
                policy,
                changed: false,
                stop: false,
                total: VacuumReport::default(),
            }),
            wake: Condvar::new(),
        });
        let owner = Arc::downgrade(owner);
        let worker = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name(format!("vacuum-{}", R::TABLE_NAME))
            .spawn(move || background::<R, T>(&owner, &worker))
            .expect("the OS refused a vacuum thread");
        VacuumHandle {
            shared,
            thread: Some(thread),
        }
    }
}

/// State shared by a [`VacuumHandle`] and its thread.
#[derive(Debug)]
struct Shared {
    state: Mutex<Control>,
    wake: Condvar,
}

#[derive(Debug)]
struct Control {
    policy: VacuumPolicy,
    /// The policy was replaced since the thread last read it.
    changed: bool,
    stop: bool,
    /// What every run so far did, added up.
    total: VacuumReport,
}

impl Shared {
    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.control().stop
    }
}

fn background<R: Row, T: AsRef<WorkTable<R>>>(owner: &Weak<T>, shared: &Shared) {
    loop {
        let policy = {
            let control = shared.control();
            let interval = control.policy.interval;
            let (mut control, _) = shared
                .wake
                .wait_timeout_while(control, interval, |control| {
                    !control.stop && !control.changed
                })
                .unwrap_or_else(PoisonError::into_inner);
            if control.stop {
                return;
            }
            if control.changed {
                // Wait again, by the new policy's interval.
                control.changed = false;
                continue;
            }
            control.policy.clone()
        };
        let Some(owner) = owner.upgrade() else {
            return;
        };
        let table = (*owner).as_ref();
        if table.wants_vacuum(&policy) {
            let run = table.vacuum_until(&policy, || shared.stopping());
            let mut control = shared.control();
            control.total.rows_moved += run.rows_moved;
            control.total.steps += run.steps;
            if control.total.steps == run.steps {
                control.total.pages_before = run.pages_before;
            }
            control.total.pages_after = run.pages_after;
        }
    }
}

/// Controls a background vacuum started by
/// [`WorkTable::spawn_vacuum`]; dropping it stops the vacuum (waiting for
/// the current step to end).
#[derive(Debug)]
pub struct VacuumHandle {
    shared: Arc<Shared>,
    thread: Option<thread::JoinHandle<()>>,
}

impl VacuumHandle {
    /// Replaces the policy; takes effect at the next check.
    pub fn set_policy(&self, policy: VacuumPolicy) {
        let mut control = self.shared.control();
        control.policy = policy;
        control.changed = true;
        drop(control);
        self.shared.wake.notify_all();
    }

    /// The policy in force.
    pub fn policy(&self) -> VacuumPolicy {
        self.shared.control().policy.clone()
    }

    /// What the background vacuum has done so far, added up over its runs
    /// (`pages_before` from the first run, `pages_after` from the last).
    pub fn progress(&self) -> VacuumReport {
        self.shared.control().total
    }

    /// Stops the vacuum, waits for its thread to end and returns
    /// [`progress`](Self::progress).
    pub fn stop(mut self) -> VacuumReport {
        self.halt();
        self.progress()
    }

    fn halt(&mut self) {
        self.shared.control().stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic in the vacuum thread has already been reported by the
            // panic hook; there is nothing more to do with it here.
            let _ = thread.join();
        }
    }
}

impl Drop for VacuumHandle {
    fn drop(&mut self) {
        self.halt();
    }
}
