//! The names of the files in a table directory.

/// The file name of the log segment whose first record is `first_seq`.
pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("log-{first_seq:020}")
}

/// The first sequence number of the segment named `name`, if it is one.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    parse_numbered(name, "log-")
}

/// The generation of the manifest named `name`, if it is one.
pub(crate) fn parse_manifest_name(name: &str) -> Option<u64> {
    parse_numbered(name, "manifest-")
}

fn parse_numbered(name: &str, prefix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::manifest_name;

    #[test]
    fn names_round_trip() {
        for n in [1, 42, u64::MAX] {
            assert_eq!(parse_segment_name(&segment_name(n)), Some(n));
            assert_eq!(parse_manifest_name(&manifest_name(n)), Some(n));
        }
        for other in [
            "log-1",
            "log-0000000000000000000x",
            "meta",
            "manifest-",
            "log-00000000000000000001.tmp",
        ] {
            assert_eq!(parse_segment_name(other), None, "{other}");
            assert_eq!(parse_manifest_name(other), None, "{other}");
        }
    }
}
