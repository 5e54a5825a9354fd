//! `worktable`: look into a durable worktable directory (a
//! `PersistentTable`'s or a `DurableDatabase`'s) without its Rust types.
//!
//! ```text
//! worktable inspect DIR [--pages] [--json]   tables, schemas, checkpoint, log segments
//! worktable verify DIR                        every checksum and row; exit code 1 on damage
//! worktable dump DIR [--table NAME] [--json]  the rows, one per line
//! worktable backup DIR DEST                   a checked copy of a directory no program has open
//! ```
//!
//! Only `backup` writes, and only to `DEST`. Exit codes: 0 success, 1
//! `verify` found problems, 2 the directory could not be read (or the
//! command line is wrong). Everything is done by
//! `worktable_persist::inspect`, which a program can call itself.

mod dump;
mod json;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use worktable_persist::inspect::{Directory, InspectError};

/// Inspect, verify, dump and back up durable worktable directories.
#[derive(Debug, Parser)]
#[command(name = "worktable", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the directory's tables (schema, indexes, checkpoint, rows) and
    /// its log segments.
    Inspect {
        /// The table's or database's directory.
        dir: PathBuf,
        /// Also chart how full each page of each checkpoint is.
        #[arg(long)]
        pages: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check every checksum, the log's numbering and every row; exit with
    /// code 1 if anything is wrong.
    Verify {
        /// The table's or database's directory.
        dir: PathBuf,
    },
    /// Print a table's rows, in primary key order, one per line.
    Dump {
        /// The table's or database's directory.
        dir: PathBuf,
        /// The table (a database's field name); required when a database
        /// has more than one.
        #[arg(long)]
        table: Option<String>,
        /// One JSON object per row (field name to value).
        #[arg(long)]
        json: bool,
    },
    /// Copy a directory that no program has open to DEST (new or empty),
    /// then verify the copy.
    Backup {
        /// The table's or database's directory.
        dir: PathBuf,
        /// Where the copy goes.
        dest: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("worktable: {error}");
            ExitCode::from(2)
        }
    }
}

/// Why a command failed (exit code 2).
#[derive(Debug)]
enum Failure {
    /// The directory could not be read, or a backup not made.
    Inspect(InspectError),
    /// `dump` was asked for a table the directory does not have, or a
    /// database's dump did not name one.
    Table(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Inspect(error) => write!(f, "{error}"),
            Failure::Table(detail) => f.write_str(detail),
        }
    }
}

impl From<InspectError> for Failure {
    fn from(error: InspectError) -> Self {
        Failure::Inspect(error)
    }
}

fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Inspect { dir, pages, json } => {
            let found = Directory::open(&dir)?;
            if json {
                println!("{}", json::inspection(&found)?);
            } else {
                print!("{}", show::inspection(&found, pages)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { dir } => Ok(verify(&dir)),
        Command::Dump { dir, table, json } => {
            dump::rows(&Directory::open(&dir)?, table.as_deref(), json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { dir, dest } => {
            let spinner = ProgressBar::new_spinner().with_message("copying and verifying");
            spinner.enable_steady_tick(std::time::Duration::from_millis(100));
            let summary = Directory::backup(&dir, &dest);
            spinner.finish_and_clear();
            let summary = summary?;
            println!(
                "copied {} files ({} bytes) to {}; the copy verifies: {} frames, {} log records, {} rows checked",
                summary.files,
                summary.bytes,
                dest.display(),
                summary.checked.frames,
                summary.checked.records,
                summary.checked.rows
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `verify`: a directory whose metadata does not even read is a problem
/// found (exit code 1), like any other damage.
fn verify(dir: &std::path::Path) -> ExitCode {
    let found = match Directory::open(dir) {
        Ok(found) => found,
        Err(error @ (InspectError::NotDurable { .. } | InspectError::Io { .. })) => {
            eprintln!("worktable: {error}");
            return ExitCode::from(2);
        }
        Err(error) => {
            println!("problem: {error}");
            println!("1 problem found");
            return ExitCode::from(1);
        }
    };
    let bar = ProgressBar::new(found.verify_len()).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = found.verify(|done| bar.set_position(done));
    bar.finish_and_clear();
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    for table in &report.unread_tables {
        println!("note: rows checked by checksum only: {table}");
    }
    println!(
        "checked {} frames, {} log records, {} rows: {}",
        report.frames,
        report.records,
        report.rows,
        match report.problems.len() {
            0 => "no problem found".to_owned(),
            1 => "1 problem found".to_owned(),
            n => format!("{n} problems found"),
        }
    );
    if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
