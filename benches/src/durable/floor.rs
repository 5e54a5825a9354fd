//! What the disk allows: one file, rows appended as log records (a 32-byte
//! header like the write-ahead log's record, then the row's archived
//! bytes, the image `worktable` logs) and synced with `fdatasync`. No
//! table, no index: the cost of the appends and syncs alone.
//!
//! - [`Floor`]: one `fdatasync` per row, from one writer: a durable single
//!   row insert can be no faster.
//! - [`FloorBatch16`]: one `fdatasync` per 16 rows, from one writer: what
//!   group commit of 16 writers could reach at most.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use worktable_core::rkyv;

use super::{DurableSystem, Writers};
use crate::User;

/// The log file in the table directory.
const FILE: &str = "floor.log";

/// Bytes of a record's header: length, checksum, sequence number and
/// 16 reserved bytes, the size of the write-ahead log's record header.
const HEADER_LEN: usize = 32;

/// [`DiskFloor`] with one sync per row.
pub type Floor = DiskFloor<1>;

/// [`DiskFloor`] with one sync per 16 rows.
pub type FloorBatch16 = DiskFloor<16>;

/// Appends each row to a file and syncs every `BATCH` rows. With `BATCH`
/// above 1, [`insert`](DurableSystem::insert) returns before its row is
/// durable except for every `BATCH`-th row; runs insert a multiple of
/// `BATCH` rows, so every row is synced when the run ends.
#[derive(Debug)]
pub struct DiskFloor<const BATCH: usize> {
    log: Mutex<Log>,
}

#[derive(Debug)]
struct Log {
    file: File,
    /// Encoded records not yet written.
    pending: Vec<u8>,
    /// Records in `pending`.
    pending_records: usize,
    /// The next record's sequence number.
    next_seq: u64,
}

impl Log {
    /// Writes the pending records and syncs the file.
    fn sync(&mut self) {
        self.file
            .write_all(&self.pending)
            .expect("the log can be written");
        self.file.sync_data().expect("the log can be synced");
        self.pending.clear();
        self.pending_records = 0;
    }
}

/// Appends `user`'s record to `out`.
fn encode(out: &mut Vec<u8>, seq: u64, user: &User) {
    let image = rkyv::to_bytes::<rkyv::rancor::Error>(user).expect("a user archives");
    let len = u32::try_from(HEADER_LEN - 8 + image.len()).expect("a row is small");
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&[0; HEADER_LEN - 16]);
    out.extend_from_slice(&image);
    let crc = crc32c::crc32c(&out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

impl<const BATCH: usize> DurableSystem for DiskFloor<BATCH> {
    const NAME: &'static str = match BATCH {
        1 => "floor",
        16 => "floor_batch16",
        _ => panic!("name the floor's batch size"),
    };
    const WRITERS: Writers = Writers::Threads;
    const MAX_WRITERS: usize = 1;

    fn open(dir: &Path) -> Self {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(dir.join(FILE))
            .expect("the log file can be made");
        Self {
            log: Mutex::new(Log {
                file,
                pending: Vec::new(),
                pending_records: 0,
                next_seq: 1,
            }),
        }
    }

    async fn insert(&self, user: User) {
        let mut log = self.log.lock().expect("not poisoned");
        let seq = log.next_seq;
        log.next_seq += 1;
        encode(&mut log.pending, seq, &user);
        log.pending_records += 1;
        if log.pending_records == BATCH {
            log.sync();
        }
    }

    fn close(self) {
        let mut log = self.log.into_inner().expect("not poisoned");
        if log.pending_records > 0 {
            log.sync();
        }
    }

    fn stored_rows(dir: &Path) -> usize {
        let bytes = std::fs::read(dir.join(FILE)).expect("the log can be read");
        let mut records = 0;
        let mut at = 0;
        while at < bytes.len() {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
            let body = &bytes[at + 8..at + 8 + len];
            assert_eq!(crc32c::crc32c(body), crc, "record {records} damaged");
            records += 1;
            at += 8 + len;
        }
        records
    }
}
