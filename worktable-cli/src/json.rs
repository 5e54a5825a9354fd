//! Values and inspections as JSON.

use serde_json::{Map, Number, Value as Json, json};
use worktable_persist::inspect::{
    Directory, DirectoryKind, InspectError, SegmentEnd, StoredKeySource, Value,
};

/// A field's value as JSON. Integers beyond JSON's safe range are kept
/// exact as numbers when they fit 64 bits, as strings beyond; floats that
/// are not finite are strings (`"NaN"`, `"inf"`, `"-inf"`).
pub(crate) fn value(value: &Value) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => i64::try_from(*i).map_or_else(|_| Json::String(i.to_string()), Json::from),
        Value::UInt(u) => {
            u64::try_from(*u).map_or_else(|_| Json::String(u.to_string()), Json::from)
        }
        Value::Float(x) => {
            Number::from_f64(*x).map_or_else(|| Json::String(x.to_string()), Json::Number)
        }
        Value::Char(c) => Json::String(c.to_string()),
        Value::Text(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(self::value).collect()),
        // `Null`, and any value a later version adds.
        _ => Json::Null,
    }
}

/// A row as a JSON object, field name to value.
pub(crate) fn row(fields: &[String], values: &[Value]) -> Json {
    let object: Map<String, Json> = fields
        .iter()
        .zip(values)
        .map(|(name, v)| (name.clone(), value(v)))
        .collect();
    Json::Object(object)
}

/// What `inspect --json` prints.
pub(crate) fn inspection(found: &Directory) -> Result<Json, InspectError> {
    let mut tables = Vec::new();
    for (slot, table) in found.tables().iter().enumerate() {
        let schema = &table.schema;
        let checkpoint = match found.manifest(slot)? {
            None => Json::Null,
            Some(manifest) => json!({
                "generation": manifest.generation,
                "rows": manifest.row_count(),
                "frames": manifest.frame_count,
                "pages": manifest.pages.iter().map(|page| json!({
                    "page": page.page_id,
                    "frame": page.frame,
                    "rows": page.rows.len(),
                    "bytes": page.rows.iter().map(|r| r.slot_size()).sum::<usize>(),
                })).collect::<Vec<_>>(),
            }),
        };
        let rows = match found.rows(slot) {
            Ok(rows) => json!(rows.rows.len()),
            Err(InspectError::UnknownType { .. }) => Json::Null,
            Err(error) => return Err(error),
        };
        tables.push(json!({
            "name": table.name,
            "table_name": table.table_name,
            "schema_fingerprint": format!("{:016x}", table.schema_fingerprint),
            "schema_version": schema.version,
            "fields": schema.fields.iter().map(|f| json!({"name": f.name, "type": f.ty})).collect::<Vec<_>>(),
            "primary_key": schema.pk,
            "key_source": match &schema.key_source {
                StoredKeySource::Caller => "caller".to_owned(),
                StoredKeySource::AutoIncrement => "autoincrement".to_owned(),
                StoredKeySource::Generator(path) => format!("generator {path}"),
            },
            "indexes": schema.indexes.iter().map(|i| json!({
                "name": i.name, "fields": i.fields, "unique": i.unique,
            })).collect::<Vec<_>>(),
            "checkpoint": checkpoint,
            "rows": rows,
        }));
    }
    let segments = found.log()?;
    Ok(json!({
        "path": found.path().display().to_string(),
        "kind": match found.kind() {
            DirectoryKind::Database { .. } => "database",
            _ => "table",
        },
        "format_version": 2,
        "archive_format": found.archive_format().to_string(),
        "checkpoint_seq": found.checkpoint_seq(),
        "log_synced_through": found.log_synced_through(),
        "tables": tables,
        "log": segments.iter().map(|s| json!({
            "file": s.file.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "first_seq": s.file.first_seq,
            "bytes": s.file.len,
            "records": s.records,
            "last_seq": s.last_seq,
            "end": match s.end {
                SegmentEnd::Clean => "clean".to_owned(),
                SegmentEnd::ZeroFilled { offset } => format!("zero-filled from byte {offset}"),
                SegmentEnd::TornTail { offset, .. } => format!("torn record at byte {offset}"),
                _ => "other".to_owned(),
            },
        })).collect::<Vec<_>>(),
    }))
}
