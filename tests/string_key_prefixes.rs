//! `String` keys keep an 8-byte order-preserving prefix beside each ordered index entry
//! (chosen by `#[derive(Table)]`, for `String` keys and composite keys that start with one):
//! keys that agree on their first eight bytes, keys that differ only by trailing zero bytes,
//! and the empty key still insert, move, delete, scan and look up exactly as an ordered model
//! predicts, over enough rows to spread every index across many nodes.

use std::collections::BTreeMap;
use std::ops::Bound;

use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "tags", index(name = "by_label_rank", fields(label, rank)))]
struct Tag {
    #[pk]
    name: String,
    #[index(unique)]
    label: String,
    #[index]
    rank: u32,
}

/// Rows in the fixture: a few dozen index nodes.
const TAGS: u64 = 3000;

/// SplitMix64's output function: scrambles `i`.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The start of key `i`: one of a few shapes whose first eight bytes tie with many other
/// keys, or whose only differences are trailing zero bytes.
fn stem(i: u64) -> &'static str {
    [
        "",
        "a",
        "ab",
        "ab\0",
        "ab\0\0",
        "shared-prefix:",
        "shared-prefix:\0",
    ][(i % 7) as usize]
}

/// Tag `i` with label version `version`: names and labels both unique, in an order
/// unrelated to each other.
fn tag(i: u64, version: u64) -> Tag {
    let scrambled = mix(i ^ (version << 32)) % 1_000_000;
    Tag {
        name: format!("{}{i}", stem(i)),
        label: format!("{}{scrambled:06}/{i}", stem(i / 7)),
        rank: (mix(i) % 5) as u32,
    }
}

/// The ordered model: rows by name, and checks of every ordered read against it.
struct Model(BTreeMap<String, Tag>);

impl Model {
    fn check(&self, table: &WorkTable<Tag>) {
        assert_eq!(table.len(), self.0.len());
        let by_name: Vec<Tag> = self.0.values().cloned().collect();
        assert_eq!(table.iter().collect::<Vec<_>>(), by_name, "iter()");
        let mut rev: Vec<Tag> = table.iter().rev().collect();
        rev.reverse();
        assert_eq!(rev, by_name, "iter().rev()");

        let mut by_label = by_name.clone();
        by_label.sort_by(|a, b| a.label.cmp(&b.label));
        let labels: Vec<Tag> = table.range_by(Tag::LABEL, ..).collect();
        assert_eq!(labels, by_label, "range_by(LABEL, ..)");

        let mut by_label_rank = by_name.clone();
        by_label_rank.sort_by(|a, b| (&a.label, a.rank).cmp(&(&b.label, b.rank)));
        let composite: Vec<Tag> = table.range_by(Tag::BY_LABEL_RANK, ..).collect();
        assert_eq!(composite, by_label_rank, "range_by(BY_LABEL_RANK, ..)");

        // Bounds that tie with many keys on their first eight bytes.
        for (low, high) in [
            ("ab", "ab\0\0"),
            ("ab\0", "b"),
            ("", "a"),
            ("shared-prefix:", "shared-prefix:\0"),
        ] {
            let range = (
                Bound::Included(low.to_owned()),
                Bound::Excluded(high.to_owned()),
            );
            let expected: Vec<Tag> = self
                .0
                .range::<String, _>(range.clone())
                .map(|(_, tag)| tag.clone())
                .collect();
            assert_eq!(
                table.range(range.clone()).collect::<Vec<_>>(),
                expected,
                "range({low:?}..{high:?})"
            );
            let expected: Vec<Tag> = by_label
                .iter()
                .filter(|tag| tag.label.as_str() >= low && tag.label.as_str() < high)
                .cloned()
                .collect();
            assert_eq!(
                table.range_by(Tag::LABEL, range).collect::<Vec<_>>(),
                expected,
                "range_by(LABEL, {low:?}..{high:?})"
            );
        }
        for tag in self.0.values().step_by(97) {
            assert_eq!(table.get(&tag.name).as_ref(), Some(tag));
            assert_eq!(
                table.get_by(Tag::LABEL, tag.label.as_str()).as_ref(),
                Some(tag)
            );
            assert_eq!(
                table.find_by(Tag::BY_LABEL_RANK, &(tag.label.clone(), tag.rank)),
                std::slice::from_ref(tag)
            );
            let prefixed: Vec<Tag> = table
                .prefix_by(Tag::BY_LABEL_RANK, tag.label.clone())
                .collect();
            assert_eq!(prefixed, std::slice::from_ref(tag));
        }
        table
            .check_integrity()
            .expect("indexes agree with the rows");
    }
}

fn key_prefix_of<I: Index<Tag>>(_index: I) -> bool {
    I::key_prefix().is_some()
}

#[test]
fn the_derive_keeps_prefixes_for_string_keys_only() {
    assert!(<Tag as Row>::pk_prefix().is_some(), "String primary key");
    assert!(key_prefix_of(Tag::LABEL), "String index");
    assert!(key_prefix_of(Tag::BY_LABEL_RANK), "(String, u32) index");
    assert!(!key_prefix_of(Tag::RANK), "u32 index");
}

#[tokio::test]
async fn keys_that_tie_on_their_prefix_sort_move_and_delete_as_the_model_does() {
    let table = WorkTable::<Tag>::new();
    let mut model = Model(BTreeMap::new());
    // Inserted in scrambled order, so that nodes fill and split at random places.
    let mut order: Vec<u64> = (0..TAGS).collect();
    order.sort_by_key(|&i| mix(i ^ 0xA5));
    for &i in &order {
        let tag = tag(i, 0);
        table.insert(tag.clone()).await.expect("distinct keys");
        model.0.insert(tag.name.clone(), tag);
    }
    model.check(&table);

    // A unique label already taken is refused, whatever its prefix shares.
    let mut clash = tag(TAGS, 0);
    clash.label = model.0.values().nth(5).expect("rows").label.clone();
    assert!(matches!(
        table.insert(clash).await,
        Err(TableError::DuplicateKey { index: "label", .. })
    ));

    // New labels for a third of the rows (entries move between nodes), two thirds of
    // the rest deleted (nodes merge).
    for &i in order.iter().filter(|&&i| i % 3 == 0) {
        let tag = tag(i, 1);
        table.update(tag.clone()).await.expect("labels stay unique");
        model.0.insert(tag.name.clone(), tag);
    }
    for &i in order.iter().filter(|&&i| i % 3 != 0 && i % 5 != 0) {
        let name = tag(i, 0).name;
        table.delete(&name).await.expect("present");
        model.0.remove(&name);
    }
    model.check(&table);

    // And back: every deleted row again.
    for &i in order.iter().filter(|&&i| i % 3 != 0 && i % 5 != 0) {
        let tag = tag(i, 0);
        table.insert(tag.clone()).await.expect("free again");
        model.0.insert(tag.name.clone(), tag);
    }
    model.check(&table);
}
