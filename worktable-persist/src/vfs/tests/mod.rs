//! Tests of the file-system layer: the contract of [`Vfs`](super::Vfs) on
//! both implementations, what only the real file system does, and each
//! rule of the simulated disk's model.

mod contract;
mod real_fs;
mod sim_faults;
mod sim_locks;
mod sim_model;
mod sim_power_cut;

use std::io;

/// The error kind of `result`, which must be an error.
fn err_kind<T: std::fmt::Debug>(result: io::Result<T>) -> io::ErrorKind {
    result.expect_err("the call should fail").kind()
}
