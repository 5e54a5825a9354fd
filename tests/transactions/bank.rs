//! The bank: 8 tasks move money between 100 accounts and book each transfer
//! in a ledger, in transactions retried on conflict; 4 readers check every
//! snapshot (the total never changes, every balance is its opening balance
//! plus its ledger entries), and 2 readers outside transactions check
//! that no transfer is half visible (an account's last transfer has its
//! ledger entry, and the other account shows it too).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use worktable_core::TxError;
use worktable_core::prelude::*;

use crate::concurrent::{Rng, bounded, scaled};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u32,
    balance: i64,
    /// Transfers that touched the account so far.
    seq: u64,
    /// The last of them (0: none).
    last_transfer: u64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Booking {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    transfer: u64,
    from: u32,
    to: u32,
    amount: i64,
    /// The accounts' `seq` after the transfer.
    from_seq: u64,
    to_seq: u64,
}

#[derive(Database)]
struct Bank {
    accounts: WorkTable<Account>,
    ledger: WorkTable<Booking>,
}

const ACCOUNTS: u32 = 100;
const OPENING: i64 = 1_000;

#[derive(Debug)]
struct Insufficient;

/// One transfer: both accounts and the booking in one transaction.
async fn transfer(
    bank: &Bank,
    id: u64,
    from: u32,
    to: u32,
    amount: i64,
) -> Result<(), TxError<Insufficient>> {
    bank.transaction(|tx| async move {
        let mut debit = tx.accounts.get(&from).expect("an account");
        if debit.balance < amount {
            return Err(Insufficient);
        }
        let mut credit = tx.accounts.get(&to).expect("an account");
        debit.balance -= amount;
        credit.balance += amount;
        for account in [&mut debit, &mut credit] {
            account.seq += 1;
            account.last_transfer = id;
        }
        let booking = Booking {
            id: 0,
            transfer: id,
            from,
            to,
            amount,
            from_seq: debit.seq,
            to_seq: credit.seq,
        };
        tx.accounts.update(debit).expect("an account");
        tx.accounts.update(credit).expect("an account");
        tx.ledger.insert(booking).expect("a new booking");
        Ok(())
    })
    .await
}

/// Every balance is its opening balance plus its bookings, and the total
/// never changes.
fn check_snapshot(snap: &BankSnapshot<'_>) {
    let accounts: Vec<Account> = snap.accounts.iter().collect();
    assert_eq!(accounts.len(), ACCOUNTS as usize);
    let total: i64 = accounts.iter().map(|a| a.balance).sum();
    assert_eq!(
        total,
        i64::from(ACCOUNTS) * OPENING,
        "money appeared or vanished at commit {}",
        snap.commit()
    );
    let mut expected: HashMap<u32, (i64, u64)> =
        (0..ACCOUNTS).map(|id| (id, (OPENING, 0))).collect();
    for booking in snap.ledger.iter() {
        let from = expected.get_mut(&booking.from).unwrap();
        from.0 -= booking.amount;
        from.1 += 1;
        let to = expected.get_mut(&booking.to).unwrap();
        to.0 += booking.amount;
        to.1 += 1;
    }
    for account in accounts {
        assert_eq!(
            (account.balance, account.seq),
            expected[&account.id],
            "account {} disagrees with the ledger at commit {}",
            account.id,
            snap.commit()
        );
    }
}

/// Outside any transaction: an account's last transfer is booked, and the
/// other account of that transfer shows it too.
fn check_point_reads(bank: &Bank, id: u32) -> bool {
    let account = bank.accounts.get(&id).unwrap();
    if account.last_transfer == 0 {
        return false;
    }
    let booking = bank
        .ledger
        .get_by(Booking::TRANSFER, &account.last_transfer)
        .expect("a transfer visible on an account is booked");
    let (own_seq, other, other_seq) = if booking.from == id {
        (booking.from_seq, booking.to, booking.to_seq)
    } else {
        (booking.to_seq, booking.from, booking.from_seq)
    };
    assert!(account.seq >= own_seq);
    let other = bank.accounts.get(&other).unwrap();
    assert!(
        other.seq >= other_seq,
        "transfer {} is visible on one account only",
        booking.transfer
    );
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_keep_the_books_balanced_for_every_reader() {
    const WRITERS: u64 = 8;
    const TRANSFERS: u64 = scaled(250) as u64;
    let bank = Arc::new(Bank::new());
    for id in 0..ACCOUNTS {
        let account = Account {
            id,
            balance: OPENING,
            seq: 0,
            last_transfer: 0,
        };
        bank.accounts.insert(account).await.unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));
    let (committed, refused, snapshots, point_checks) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );

    bounded(async {
        let writers: Vec<_> = (0..WRITERS)
            .map(|task| {
                let (bank, committed, refused) = (
                    Arc::clone(&bank),
                    Arc::clone(&committed),
                    Arc::clone(&refused),
                );
                tokio::spawn(async move {
                    let mut rng = Rng::new(900 + task);
                    for n in 0..TRANSFERS {
                        let from = rng.below(ACCOUNTS);
                        let to = (from + 1 + rng.below(ACCOUNTS - 1)) % ACCOUNTS;
                        let amount = i64::from(1 + rng.below(400));
                        let id = (task + 1) << 32 | (n + 1);
                        match transfer(&bank, id, from, to, amount).await {
                            Ok(()) => committed.fetch_add(1, Ordering::Relaxed),
                            Err(TxError::Aborted(Insufficient)) => {
                                refused.fetch_add(1, Ordering::Relaxed)
                            }
                            Err(other) => panic!("transfer {id}: {other:?}"),
                        };
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let snapshot_readers: Vec<_> = (0..4)
            .map(|_| {
                let (bank, done, snapshots) =
                    (Arc::clone(&bank), Arc::clone(&done), Arc::clone(&snapshots));
                tokio::spawn(async move {
                    while !done.load(Ordering::Acquire) {
                        check_snapshot(&bank.snapshot());
                        snapshots.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let point_readers: Vec<_> = (0..2)
            .map(|reader| {
                let (bank, done, checks) = (
                    Arc::clone(&bank),
                    Arc::clone(&done),
                    Arc::clone(&point_checks),
                );
                tokio::spawn(async move {
                    let mut rng = Rng::new(950 + reader);
                    while !done.load(Ordering::Acquire) {
                        if check_point_reads(&bank, rng.below(ACCOUNTS)) {
                            checks.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, Ordering::Release);
        for reader in snapshot_readers.into_iter().chain(point_readers) {
            reader.await.unwrap();
        }
    })
    .await;

    let committed = committed.load(Ordering::Relaxed);
    let refused = refused.load(Ordering::Relaxed);
    assert_eq!(committed + refused, WRITERS * TRANSFERS);
    assert!(
        committed > refused,
        "{committed} transfers, {refused} refused"
    );
    assert!(snapshots.load(Ordering::Relaxed) > 0 && point_checks.load(Ordering::Relaxed) > 0);
    // Exact totals at the end.
    let snap = bank.snapshot();
    check_snapshot(&snap);
    drop(snap);
    assert_eq!(bank.ledger.len() as u64, committed);
    let touched: u64 = bank.accounts.iter().map(|a| a.seq).sum();
    assert_eq!(touched, 2 * committed);
    for stats in [bank.accounts.stats(), bank.ledger.stats()] {
        assert_eq!((stats.locked_rows, stats.versions_held), (0, 0));
    }
    bank.accounts.check_integrity().unwrap();
    bank.ledger.check_integrity().unwrap();
    eprintln!(
        "bank: {committed} transfers, {refused} refused, {} snapshots and {} point checks",
        snapshots.load(Ordering::Relaxed),
        point_checks.load(Ordering::Relaxed)
    );
}
