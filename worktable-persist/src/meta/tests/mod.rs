//! Tests of the metadata file, by behaviour: the encoded layout, each
//! decoding error, properties over random files and random damage, and
//! reading and replacing the file in a directory.

mod decode_errors;
mod encoding;
mod files;
mod properties;
mod schema_errors;

use super::{Meta, StoredField, StoredIndex, StoredKeySource, StoredSchema};
pub(super) use crate::damage::bitwise_crc32c;
use crate::format::ArchiveFormat;

/// The schema description of [`FIXTURE_V2`](encoding::FIXTURE_V2): fields
/// `id: u64` and `client: String`, primary key `id`, keys by
/// autoincrement, a unique index `by_client` on `client`.
fn sample_schema() -> StoredSchema {
    keyed_by_id_and("client", "by_client")
}

/// A schema description of version 1: fields `id: u64` and `other:
/// String`, primary key `id`, keys by autoincrement, a unique index
/// `index` on `other`.
fn keyed_by_id_and(other: &str, index: &str) -> StoredSchema {
    StoredSchema {
        version: 1,
        fields: vec![
            StoredField {
                name: "id".to_owned(),
                ty: "u64".to_owned(),
            },
            StoredField {
                name: other.to_owned(),
                ty: "String".to_owned(),
            },
        ],
        pk: vec!["id".to_owned()],
        key_source: StoredKeySource::AutoIncrement,
        indexes: vec![StoredIndex {
            name: index.to_owned(),
            fields: vec![other.to_owned()],
            unique: true,
        }],
    }
}

/// The metadata of table `orders` at checkpoint 41 of generation 3, with
/// the default schema description.
fn orders_at_41(log_synced_through: u64, largest_deleted_key: &[u8]) -> Meta {
    Meta {
        archive_format: ArchiveFormat::current(),
        schema_fingerprint: 0x5eed,
        table_name: "orders".to_owned(),
        checkpoint_seq: 41,
        page_file_generation: 3,
        log_synced_through,
        largest_deleted_key: largest_deleted_key.to_vec(),
        schema: StoredSchema::default(),
    }
}

/// The file of [`FIXTURE_V2`](encoding::FIXTURE_V2), decoded.
fn sample() -> Meta {
    Meta {
        archive_format: ArchiveFormat::from_bytes([1, 4, 1, 0]).unwrap(),
        schema_fingerprint: 0x0123_4567_89ab_cdef,
        table_name: "orders".to_owned(),
        checkpoint_seq: 41,
        page_file_generation: 3,
        log_synced_through: 44,
        largest_deleted_key: 42u64.to_le_bytes().to_vec(),
        schema: sample_schema(),
    }
}

/// A metadata file with every field empty or zero.
fn empty() -> Meta {
    Meta {
        archive_format: ArchiveFormat::current(),
        schema_fingerprint: 0,
        table_name: String::new(),
        checkpoint_seq: 0,
        page_file_generation: 0,
        log_synced_through: 0,
        largest_deleted_key: Vec::new(),
        schema: StoredSchema::default(),
    }
}

/// Recomputes the trailing checksum after a test edited the bytes before
/// it, so the edit is what a writer produced rather than damage.
fn reseal(bytes: &mut [u8]) {
    let at = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..at]);
    bytes[at..].copy_from_slice(&crc.to_le_bytes());
}
