// The table name: the struct name in snake case, or #[table(name = "...")].
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct HTTPRequestLog {
    #[pk]
    id: u64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "audit trail")]
struct AuditEntry {
    #[pk]
    id: u64,
}

fn main() {
    assert_eq!(HTTPRequestLog::TABLE_NAME, "http_request_log");
    assert_eq!(
        WorkTable::<HTTPRequestLog>::new().name(),
        "http_request_log"
    );
    assert_eq!(AuditEntry::TABLE_NAME, "audit trail");
    assert_eq!(WorkTable::<AuditEntry>::new().name(), "audit trail");
}
