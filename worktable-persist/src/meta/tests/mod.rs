//! Tests of the metadata file, by behaviour: the encoded layout, each
//! decoding error, properties over random files and random damage, and
//! reading and replacing the file in a directory.

mod decode_errors;
mod encoding;
mod files;
mod properties;

use super::Meta;

/// The file of [`FIXTURE_V1`](encoding::FIXTURE_V1), decoded.
fn sample() -> Meta {
    Meta {
        schema_fingerprint: 0x0123_4567_89ab_cdef,
        table_name: "orders".to_owned(),
        checkpoint_seq: 41,
        page_file_generation: 3,
        next_key: 42u64.to_le_bytes().to_vec(),
    }
}

/// Recomputes the trailing checksum after a test edited the bytes before
/// it, so the edit is what a writer produced rather than damage.
fn reseal(bytes: &mut [u8]) {
    let at = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..at]);
    bytes[at..].copy_from_slice(&crc.to_le_bytes());
}
