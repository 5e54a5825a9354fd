//! `decode_header`: each way a header can be wrong has its own error.

use super::{FINGERPRINT, header, synced_puts};
use crate::log::{
    FORMAT_VERSION, HEADER_LEN, LogError, SegmentHeader, decode_header, encode_header, scan,
};

/// Rewrites the header checksum after a test edited bytes 0..32.
fn reseal_header(bytes: &mut [u8; HEADER_LEN]) {
    let crc = crc32c::crc32c(&bytes[..32]);
    bytes[32..36].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn header_round_trips() {
    for (fingerprint, first_seq) in [(0, 0), (FINGERPRINT, 1), (u64::MAX, u64::MAX)] {
        let header = SegmentHeader {
            schema_fingerprint: fingerprint,
            first_seq,
        };
        assert_eq!(decode_header(&encode_header(&header)), Ok(header));
    }
}

#[test]
fn header_layout_matches_the_spec() {
    let bytes = encode_header(&header(0x1122));
    assert_eq!(&bytes[0..8], b"WTLOG\0\0\0");
    assert_eq!(bytes[8..12], FORMAT_VERSION.to_le_bytes());
    assert_eq!(bytes[12..16], [0; 4]);
    assert_eq!(bytes[16..24], FINGERPRINT.to_le_bytes());
    assert_eq!(bytes[24..32], 0x1122u64.to_le_bytes());
    assert_eq!(bytes[32..36], crc32c::crc32c(&bytes[..32]).to_le_bytes());
    assert_eq!(bytes[36..40], [0; 4]);
}

#[test]
fn header_decodes_from_the_start_of_a_longer_segment() {
    let built = synced_puts(5, 2);
    assert_eq!(decode_header(&built.bytes), Ok(built.header));
}

#[test]
fn too_short_for_a_header() {
    let full = encode_header(&header(1));
    for len in [0, 1, 8, 39] {
        assert_eq!(
            decode_header(&full[..len]),
            Err(LogError::HeaderTooShort { len })
        );
        assert_eq!(scan(&full[..len]), Err(LogError::HeaderTooShort { len }));
    }
    assert_eq!(
        LogError::HeaderTooShort { len: 39 }.to_string(),
        "log segment is 39 bytes long, shorter than its 40-byte header"
    );
}

#[test]
fn wrong_magic() {
    let mut bytes = encode_header(&header(1));
    bytes[7] = 1;
    assert_eq!(
        decode_header(&bytes),
        Err(LogError::BadMagic {
            found: *b"WTLOG\0\0\x01"
        })
    );
    assert_eq!(
        decode_header(&bytes).unwrap_err().to_string(),
        r#"not a log segment: bytes 0..8 are "WTLOG\x00\x00\x01", not the log magic "WTLOG\0\0\0""#
    );
}

#[test]
fn all_zero_header_is_wrong_magic() {
    assert_eq!(
        decode_header(&[0; 64]),
        Err(LogError::BadMagic { found: [0; 8] })
    );
}

#[test]
fn newer_format_version_is_reported_as_such_even_if_the_checksum_layout_changed() {
    let mut bytes = encode_header(&header(1));
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let expected = Err(LogError::UnsupportedVersion {
        found: 2,
        supported: 1,
    });
    // Stale checksum: the version is still what is reported.
    assert_eq!(decode_header(&bytes), expected);
    reseal_header(&mut bytes);
    assert_eq!(decode_header(&bytes), expected);
    assert!(
        decode_header(&bytes)
            .unwrap_err()
            .to_string()
            .contains("format version 2 (bytes 8..12); this build reads only version 1")
    );
}

#[test]
fn format_version_zero_is_unsupported() {
    let mut bytes = encode_header(&header(1));
    bytes[8..12].copy_from_slice(&0u32.to_le_bytes());
    reseal_header(&mut bytes);
    assert_eq!(
        decode_header(&bytes),
        Err(LogError::UnsupportedVersion {
            found: 0,
            supported: 1
        })
    );
}

#[test]
fn bad_header_checksum() {
    let mut bytes = encode_header(&header(1));
    let stored = u32::from_le_bytes(bytes[32..36].try_into().unwrap());
    bytes[24] ^= 0x04; // first_seq 1 -> 5
    let computed = crc32c::crc32c(&bytes[..32]);
    assert_eq!(
        decode_header(&bytes),
        Err(LogError::HeaderChecksum { stored, computed })
    );
    assert!(
        decode_header(&bytes)
            .unwrap_err()
            .to_string()
            .starts_with("log segment header is damaged: checksum at byte offset 32 is 0x")
    );
}

#[test]
fn flipped_checksum_byte_is_a_bad_header_checksum() {
    let mut bytes = encode_header(&header(1));
    bytes[35] ^= 0x80;
    assert!(matches!(
        decode_header(&bytes),
        Err(LogError::HeaderChecksum { .. })
    ));
}

#[test]
fn unknown_flags() {
    let mut bytes = encode_header(&header(1));
    bytes[12] = 0x01;
    // Without a matching checksum a flipped flag is damage...
    assert!(matches!(
        decode_header(&bytes),
        Err(LogError::HeaderChecksum { .. })
    ));
    // ...and with one, a flag this build does not know.
    reseal_header(&mut bytes);
    assert_eq!(
        decode_header(&bytes),
        Err(LogError::UnsupportedFlags { flags: 1 })
    );
}

#[test]
fn non_zero_padding() {
    let mut bytes = encode_header(&header(1));
    bytes[39] = 0xff;
    assert_eq!(decode_header(&bytes), Err(LogError::HeaderPadding));
}
