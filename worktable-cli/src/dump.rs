//! `dump`: a table's rows, one per line.

use std::io::{self, Write};

use worktable_persist::inspect::Directory;

use crate::{Failure, json};

/// Prints the rows of the table named `table` (or the only one) to
/// standard output, as JSON objects or as `field=value` lines.
pub(crate) fn rows(found: &Directory, table: Option<&str>, as_json: bool) -> Result<(), Failure> {
    let slot = pick(found, table)?;
    let rows = found.rows(slot)?;
    let mut out = io::stdout().lock();
    for values in &rows.rows {
        let line = if as_json {
            json::row(&rows.fields, values).to_string()
        } else {
            rows.fields
                .iter()
                .zip(values)
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        // A closed pipe (`| head`) ends the dump quietly.
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(())
}

/// The slot of the table named `table`, or of the only table.
fn pick(found: &Directory, table: Option<&str>) -> Result<usize, Failure> {
    let tables = found.tables();
    let names = || {
        tables
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unknown = |detail: String| Failure::Table(format!("{}: {detail}", found.path().display()));
    match table {
        Some(name) => tables
            .iter()
            .position(|t| t.name == name || t.table_name == name)
            .ok_or_else(|| unknown(format!("it has no table `{name}`; its tables: {}", names()))),
        None if tables.len() == 1 => Ok(0),
        None => Err(unknown(format!(
            "it has several tables; choose one with --table: {}",
            names()
        ))),
    }
}
