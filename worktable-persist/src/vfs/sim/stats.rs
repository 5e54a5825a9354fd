//! [`SimStats`]: what a [`SimFs`](super::SimFs) has been asked to do.

/// Counters of the operations a [`SimFs`](super::SimFs) carried out since
/// it was made (a power cut or a process kill starts a new one at zero).
/// A failed operation is not counted in its own counter; one that an
/// injected [`Fault`](super::Fault) made fail is counted in
/// `injected_failures`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Successful `write_at` calls.
    pub writes: u64,
    /// Bytes those calls wrote.
    pub bytes_written: u64,
    /// Successful `set_len` calls.
    pub set_lens: u64,
    /// Successful `sync_data` calls.
    pub sync_data: u64,
    /// Successful `sync_all` calls.
    pub sync_all: u64,
    /// Successful `sync_dir` calls.
    pub sync_dir: u64,
    /// Successful `rename` calls.
    pub renames: u64,
    /// Operations that failed because of an injected [`Fault`](super::Fault).
    pub injected_failures: u64,
}

impl SimStats {
    /// `sync_data` and `sync_all` together: the file syncs.
    pub fn file_syncs(&self) -> u64 {
        self.sync_data + self.sync_all
    }
}
