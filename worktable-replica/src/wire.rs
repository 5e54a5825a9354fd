//! The messages on the stream: each names its place in the primary's
//! numbering, so that a replica can check it follows on from what it
//! applied, and carries a checksum, so that a damaged or foreign message
//! is refused before anything of it is applied.
//!
//! # Layout (little-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `WTRP` |
//! | 1 | format version, 1 |
//! | 1 | kind: 1 commits, 2 re-seed |
//! | 16 | origin: the id of the database that published it |
//! | 8 | schema: the fingerprint of the database's tables |
//! | 8 | `prev`: the commit the message follows on from |
//! | 8 | `last`: the last commit it holds (commits); the snapshot's commit (re-seed) |
//! | 8 | when the publisher sent it: microseconds since the Unix epoch, its clock |
//! | n | commits: rkyv archive of `Vec<ConfirmedCommit>` (empty for a re-seed) |
//! | 4 | CRC32C of everything before |
//!
//! A commits message holds whole commits `prev+1 ..= last`, numbered on
//! without a gap from `prev` (a commit's changes are numbered
//! consecutively up to its number). A re-seed message says that the
//! history goes on after `last` but the commits between `prev` and `last`
//! are not on the stream: a replica behind `last` loads a snapshot at
//! `last` or later.
//!
//! Depends on: nothing else in the crate.

use worktable_core::rkyv;
use worktable_persist::ConfirmedCommit;

use crate::error::MessageError;

const MAGIC: [u8; 4] = *b"WTRP";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 1 + 16 + 8 + 8 + 8 + 8;
const CRC_LEN: usize = 4;

/// What a message says, decoded and checked.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) origin: u128,
    pub(crate) schema: u64,
    pub(crate) prev: u64,
    pub(crate) last: u64,
    /// When the publisher sent it (microseconds since the Unix epoch).
    pub(crate) sent_at: u64,
    pub(crate) body: Body,
}

#[derive(Debug)]
pub(crate) enum Body {
    /// Whole commits, in order.
    Commits(Vec<ConfirmedCommit>),
    /// Commits `prev+1 ..= last` are only in snapshots.
    Reseed,
}

/// The fixed part of a message, to encode.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    pub(crate) origin: u128,
    pub(crate) schema: u64,
    pub(crate) prev: u64,
}

/// Encodes `commits` (numbered on from `header.prev`) as one message.
pub(crate) fn encode_commits(header: Header, commits: &[ConfirmedCommit]) -> Vec<u8> {
    let last = commits.last().map_or(header.prev, |commit| commit.number);
    let body = rkyv::to_bytes::<rkyv::rancor::Error>(&commits.to_vec())
        .expect("a commit of archived rows always serializes");
    frame(1, header, last, &body)
}

/// Encodes a re-seed message: the history resumes after `snapshot`.
pub(crate) fn encode_reseed(header: Header, snapshot: u64) -> Vec<u8> {
    frame(2, header, snapshot, &[])
}

fn frame(kind: u8, header: Header, last: u64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + CRC_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(kind);
    out.extend_from_slice(&header.origin.to_le_bytes());
    out.extend_from_slice(&header.schema.to_le_bytes());
    out.extend_from_slice(&header.prev.to_le_bytes());
    out.extend_from_slice(&last.to_le_bytes());
    out.extend_from_slice(&now_micros().to_le_bytes());
    out.extend_from_slice(body);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The message id a publish carries (`Nats-Msg-Id`): the stream stores a
/// message with one id once (within its de-duplication window), so a
/// retried publish is not stored twice.
pub(crate) fn message_id(origin: u128, kind_reseed: bool, last: u64) -> String {
    let kind = if kind_reseed { "r" } else { "c" };
    format!("{origin:032x}-{kind}{last}")
}

/// Decodes and checks a message: magic, version, checksum, kind, and that
/// its commits are whole and numbered on from `prev` to `last`.
pub(crate) fn decode(bytes: &[u8]) -> Result<Message, MessageError> {
    if bytes.len() < HEADER_LEN + CRC_LEN || bytes[..4] != MAGIC {
        return Err(MessageError::Foreign);
    }
    if bytes[4] != VERSION {
        return Err(MessageError::Version { found: bytes[4] });
    }
    let (framed, crc) = bytes.split_at(bytes.len() - CRC_LEN);
    let stored = u32::from_le_bytes(crc.try_into().expect("four bytes"));
    if crc32c::crc32c(framed) != stored {
        return Err(MessageError::Checksum);
    }
    let u64_at = |at: usize| u64::from_le_bytes(framed[at..at + 8].try_into().expect("8 bytes"));
    let origin = u128::from_le_bytes(framed[6..22].try_into().expect("16 bytes"));
    let (schema, prev, last, sent_at) = (u64_at(22), u64_at(30), u64_at(38), u64_at(46));
    let body = &framed[HEADER_LEN..];
    let body = match framed[5] {
        1 => {
            // The body sits at an arbitrary offset: copy it aligned.
            let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(body.len());
            aligned.extend_from_slice(body);
            let commits = rkyv::from_bytes::<Vec<ConfirmedCommit>, rkyv::rancor::Error>(&aligned)
                .map_err(|_| MessageError::Body)?;
            check_numbering(prev, last, &commits)?;
            Body::Commits(commits)
        }
        2 if body.is_empty() && last >= prev => Body::Reseed,
        kind => return Err(MessageError::Kind { kind }),
    };
    Ok(Message {
        origin,
        schema,
        prev,
        last,
        sent_at,
        body,
    })
}

/// Microseconds since the Unix epoch, by this machine's clock.
pub(crate) fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

/// Every commit's changes are numbered consecutively up to its number,
/// the first commit follows `prev`, each the one before, the last is `last`.
fn check_numbering(prev: u64, last: u64, commits: &[ConfirmedCommit]) -> Result<(), MessageError> {
    let mut at = prev;
    for commit in commits {
        if commit.changes.is_empty() {
            return Err(MessageError::Numbering { after: at });
        }
        for change in &commit.changes {
            if change.seq != at + 1 {
                return Err(MessageError::Numbering { after: at });
            }
            at += 1;
        }
        if commit.number != at {
            return Err(MessageError::Numbering { after: at });
        }
    }
    if at == last {
        Ok(())
    } else {
        Err(MessageError::Numbering { after: at })
    }
}

#[cfg(test)]
mod tests {
    use worktable_persist::ConfirmedChange;

    use super::*;

    fn commit(first: u64, changes: u64) -> ConfirmedCommit {
        ConfirmedCommit {
            number: first + changes - 1,
            changes: (first..first + changes)
                .map(|seq| ConfirmedChange {
                    table: 0,
                    seq,
                    kind: 1,
                    before: None,
                    after: Some(vec![seq as u8; 8]),
                })
                .collect(),
        }
    }

    const HEADER: Header = Header {
        origin: 7,
        schema: 9,
        prev: 10,
    };

    #[test]
    fn commits_round_trip() {
        let commits = vec![commit(11, 3), commit(14, 1)];
        let message = decode(&encode_commits(HEADER, &commits)).unwrap();
        assert_eq!((message.origin, message.schema), (7, 9));
        assert_eq!((message.prev, message.last), (10, 14));
        match message.body {
            Body::Commits(decoded) => assert_eq!(decoded, commits),
            Body::Reseed => panic!("a commits message decoded as a re-seed"),
        }
    }

    #[test]
    fn reseed_round_trips() {
        let message = decode(&encode_reseed(HEADER, 500)).unwrap();
        assert_eq!((message.prev, message.last), (10, 500));
        assert!(matches!(message.body, Body::Reseed));
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = encode_commits(HEADER, &[commit(11, 2)]);
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            assert!(decode(&damaged).is_err(), "byte {at} flipped was accepted");
        }
    }

    #[test]
    fn foreign_and_short_messages_are_refused() {
        assert!(matches!(decode(b"hello"), Err(MessageError::Foreign)));
        assert!(matches!(decode(&[0u8; 64]), Err(MessageError::Foreign)));
        let mut future = encode_reseed(HEADER, 11);
        future[4] = 2;
        assert!(matches!(
            decode(&future),
            Err(MessageError::Version { found: 2 })
        ));
    }

    #[test]
    fn a_gap_inside_a_message_is_refused() {
        // Commits 11..=12 and 14: 13 is missing.
        let commits = vec![commit(11, 2), commit(14, 1)];
        let bytes = encode_commits(HEADER, &commits);
        assert!(matches!(
            decode(&bytes),
            Err(MessageError::Numbering { after: 12 })
        ));
    }
}
