//! Who is locking: the identity a row guard records in its lock entry, so
//! that a write by the same task can be refused instead of waiting for the
//! guard forever.

use std::thread::{self, ThreadId};

/// A tokio task, or the future that a tokio `block_on` drives on one
/// thread (the body of `#[tokio::main]` and `#[tokio::test]`, which is not
/// a task and has no task id).
///
/// Two values are equal exactly when they name the same task, or `block_on`
/// on the same thread. Everything one of them drives — the branches of a
/// `join!` or `select!`, a `FuturesUnordered` — counts as that one task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskId {
    /// A spawned tokio task (also a `spawn_local` or `spawn_blocking` one).
    Task(tokio::task::Id),
    /// Not inside a task, but on a thread inside a tokio runtime's context:
    /// the future a `block_on` drives there.
    BlockOn(ThreadId),
}

impl TaskId {
    /// The running task, or `None` outside a tokio runtime's context (e.g.
    /// under `futures::executor::block_on` alone), where nothing is
    /// detected.
    ///
    /// Reads tokio's thread-local context (and, outside a task, clones and
    /// drops the runtime's handle): called only when a `RowGuard` is taken
    /// and when a write must wait for a row a guard holds, never on a
    /// write nobody contends.
    pub(crate) fn current() -> Option<Self> {
        if let Some(id) = tokio::task::try_id() {
            return Some(Self::Task(id));
        }
        tokio::runtime::Handle::try_current()
            .ok()
            .map(|_| Self::BlockOn(thread::current().id()))
    }
}

/// Who joins a key's lock.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Locker<T> {
    /// One of the table's own writes, which holds the lock only while it
    /// runs: it records nothing, and looks up its task only when a guard
    /// holds the key.
    Write,
    /// A `RowGuard` being taken by task `T` (`None` when there is no task
    /// to record): the entry names `T` while the guard holds the lock.
    Guard(Option<T>),
}

impl<T> Locker<T> {
    /// The task of the locker, looked up with `current` for a write.
    pub(super) fn task(self, current: impl FnOnce() -> Option<T>) -> Option<T> {
        match self {
            Self::Write => current(),
            Self::Guard(task) => task,
        }
    }
}

/// A lock refused because the key's lock is held by a `RowGuard` that the
/// locking task itself took: waiting would never end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeldBySameTask;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_runtime_there_is_no_task() {
        assert_eq!(TaskId::current(), None);
        assert_eq!(
            futures::executor::block_on(async { TaskId::current() }),
            None
        );
    }

    #[test]
    fn block_on_counts_as_one_task_per_thread_and_spawned_tasks_differ() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (outer, again, spawned) = runtime.block_on(async {
            let outer = TaskId::current();
            let spawned = tokio::spawn(async { TaskId::current() }).await.unwrap();
            (outer, TaskId::current(), spawned)
        });
        let here = thread::current().id();
        assert_eq!(outer, Some(TaskId::BlockOn(here)));
        assert_eq!(again, outer);
        assert!(matches!(spawned, Some(TaskId::Task(_))), "{spawned:?}");
    }
}
