//! `DirLock`: exclusion within a process and across processes, release on
//! drop and on process exit, and errors that name the lock file.
//!
//! The tests that hold locks run one at a time (`serial`): spawning a child
//! process briefly duplicates every open descriptor of this one, so a lock
//! another test just dropped could still be held by the copy for a moment.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{DirLock, LOCK_FILE_NAME, LockError};

/// Environment variable that turns [`lock_holder_child`] into the lock
/// holder, with the directory to lock as its value.
const HOLDER_ENV: &str = "WORKTABLE_PERSIST_TEST_LOCK_HOLDER";

/// What the child prints once it holds the lock, on a line of its own.
/// The test harness may print the test's name on the same line first, so
/// the parent looks for a line that ends with it.
const LOCKED: &str = "lock holder: locked";

/// How long the parent waits for the child to report the lock.
const CHILD_TIMEOUT: Duration = Duration::from_secs(30);

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

#[test]
fn second_acquire_in_the_same_process_is_refused_until_the_first_is_dropped() {
    let _serial = serial();
    let dir = tempdir();
    let lock = DirLock::acquire(dir.path()).unwrap();
    assert_eq!(lock.path(), dir.path().join(LOCK_FILE_NAME));
    for _ in 0..2 {
        match DirLock::acquire(dir.path()) {
            Err(LockError::AlreadyOpen { path }) => assert_eq!(path, lock.path()),
            other => panic!("expected AlreadyOpen, got {other:?}"),
        }
    }
    drop(lock);
    let again = DirLock::acquire(dir.path()).unwrap();
    drop(again);
    DirLock::acquire(dir.path()).unwrap();
}

#[test]
fn locks_on_different_directories_are_independent() {
    let _serial = serial();
    let (a, b) = (tempdir(), tempdir());
    let _lock_a = DirLock::acquire(a.path()).unwrap();
    let _lock_b = DirLock::acquire(b.path()).unwrap();
}

#[test]
fn an_existing_lock_file_is_reused_and_kept() {
    let _serial = serial();
    let dir = tempdir();
    let path = dir.path().join(LOCK_FILE_NAME);
    std::fs::write(&path, b"left by an earlier opener").unwrap();
    let lock = DirLock::acquire(dir.path()).unwrap();
    drop(lock);
    // Neither truncated nor deleted.
    assert_eq!(std::fs::read(&path).unwrap(), b"left by an earlier opener");
}

#[test]
fn already_open_message_names_the_lock_file() {
    let err = LockError::AlreadyOpen {
        path: Path::new("/data/orders").join(LOCK_FILE_NAME),
    };
    assert_eq!(
        err.to_string(),
        "the table directory is already open: /data/orders/LOCK is locked by another opener, in this process or another"
    );
    assert_eq!(err.path(), Path::new("/data/orders/LOCK"));
}

#[test]
fn missing_directory_is_an_io_error_naming_the_lock_file() {
    let dir = tempdir();
    let missing = dir.path().join("no such table");
    let err = DirLock::acquire(&missing).unwrap_err();
    let expected = missing.join(LOCK_FILE_NAME);
    match &err {
        LockError::Io { path, source } => {
            assert_eq!(path, &expected);
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    let source = std::error::Error::source(&err).expect("the io error is the source");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot lock the table directory through {}: {source}",
            expected.display()
        )
    );
    assert!(source.downcast_ref::<io::Error>().is_some());
}

#[test]
fn a_file_in_place_of_the_directory_is_an_io_error() {
    let dir = tempdir();
    let file = dir.path().join("not a directory");
    std::fs::write(&file, b"").unwrap();
    let err = DirLock::acquire(&file).unwrap_err();
    assert!(
        matches!(&err, LockError::Io { path, .. } if *path == file.join(LOCK_FILE_NAME)),
        "{err:?}"
    );
}

#[cfg(unix)]
#[test]
fn read_only_directory_without_a_lock_file_is_an_io_error() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempdir();
    let read_only = dir.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
    // A privileged user (root) is not bound by the mode: nothing to test.
    let enforced = std::fs::File::create(read_only.join("probe")).is_err();
    let result = enforced.then(|| DirLock::acquire(&read_only));
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some(result) = result else {
        eprintln!("skipped: directory permissions are not enforced for this user");
        return;
    };
    match result {
        Err(LockError::Io { path, source }) => {
            assert_eq!(path, read_only.join(LOCK_FILE_NAME));
            assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

/// Not a test on its own: run as a child process (by [`Holder::start`] and
/// [`a_lock_held_here_is_seen_by_another_process`]) with [`HOLDER_ENV`]
/// set, it takes the lock, prints [`LOCKED`] and holds the lock until its
/// standard input closes. Without the variable it does nothing.
#[test]
fn lock_holder_child() {
    let Some(dir) = std::env::var_os(HOLDER_ENV) else {
        return;
    };
    let lock = DirLock::acquire(Path::new(&dir)).expect("the child takes the lock");
    // Straight to the descriptor, past the test harness's output capture.
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "\n{LOCKED}").unwrap();
    stdout.flush().unwrap();
    let _ = io::stdin().read_to_end(&mut Vec::new());
    drop(lock);
}

/// This test binary, run again to execute only [`lock_holder_child`] as the
/// holder of the lock on `dir`.
fn holder_command(dir: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "vfs::dir_lock::tests::lock_holder_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLDER_ENV, dir);
    command
}

/// A child process (this test binary again, running [`lock_holder_child`])
/// that holds the lock on a directory. Dropping it kills and reaps the
/// child if it is still running, so a failing test leaves no process behind.
struct Holder {
    child: Child,
}

impl Holder {
    /// Starts the child and returns once it reports holding the lock on
    /// `dir`; panics with its output if it does not within
    /// [`CHILD_TIMEOUT`].
    fn start(dir: &Path) -> Self {
        let child = holder_command(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the test binary runs again as the child");
        let mut holder = Self { child };
        let stdout = holder.child.stdout.take().unwrap();
        // Read the child's output on a thread, so that a hung child fails
        // the test after a timeout instead of hanging it. The thread keeps
        // draining until the child's stdout closes, also after nobody
        // listens any more: a closed pipe would fail the child's harness
        // when it prints its summary.
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut output = Vec::new();
        loop {
            match lines_rx.recv_timeout(CHILD_TIMEOUT) {
                Ok(line) if line.trim_end().ends_with(LOCKED) => return holder,
                Ok(line) => output.push(line),
                Err(err) => {
                    panic!("the child did not report the lock ({err}); its output: {output:?}")
                }
            }
        }
    }

    /// Closes the child's stdin, so it releases the lock and exits, and
    /// waits for it: it must succeed.
    fn finish(mut self) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the child failed: {status}");
    }

    /// Kills the child (`SIGKILL` on Unix: no destructor runs) and waits for
    /// it.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn assert_already_open(dir: &Path) {
    match DirLock::acquire(dir) {
        Err(LockError::AlreadyOpen { path }) => assert_eq!(path, dir.join(LOCK_FILE_NAME)),
        other => panic!("expected AlreadyOpen while the child holds the lock, got {other:?}"),
    }
}

#[test]
fn lock_held_by_another_process_is_seen_until_it_exits() {
    let _serial = serial();
    let dir = tempdir();
    let holder = Holder::start(dir.path());
    assert_already_open(dir.path());
    assert_already_open(dir.path());
    holder.finish();
    DirLock::acquire(dir.path()).expect("the lock is free once the child has exited");
}

#[test]
fn lock_of_a_killed_process_is_released() {
    let _serial = serial();
    let dir = tempdir();
    let holder = Holder::start(dir.path());
    assert_already_open(dir.path());
    holder.kill();
    DirLock::acquire(dir.path()).expect("the lock is free once the child was killed");
}

#[test]
fn a_lock_held_here_is_seen_by_another_process() {
    let _serial = serial();
    let dir = tempdir();
    let lock = DirLock::acquire(dir.path()).unwrap();
    let output = holder_command(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success(), "the child took a lock held here");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AlreadyOpen"), "{stderr}");
    drop(lock);
}

#[test]
fn a_held_lock_is_refused_and_taken_again_once_dropped() -> Result<(), Box<dyn std::error::Error>> {
    let _serial = serial();
    let dir = tempfile::tempdir()?;
    let lock = DirLock::acquire(dir.path())?;
    assert!(matches!(
        DirLock::acquire(dir.path()),
        Err(LockError::AlreadyOpen { .. })
    ));
    drop(lock);
    let _again = DirLock::acquire(dir.path())?;
    Ok(())
}
