//! Every system runs the same operations on the same small data set and
//! must give the answers of a plain `BTreeMap` model.

use std::collections::BTreeMap;

use crate::{SCAN_BALANCE_BELOW, SharedSystem, System, SystemVisitor, User, shuffled, users};

const ROWS: usize = 2_000;
const SEED: u64 = 0xa9ee;

fn sorted(mut rows: Vec<User>) -> Vec<User> {
    rows.sort_by_key(|user| user.id);
    rows
}

/// The rows the model holds with `age`, in key order.
fn with_age(model: &BTreeMap<u64, User>, age: u32) -> Vec<User> {
    model
        .values()
        .filter(|user| user.age == age)
        .cloned()
        .collect()
}

fn assert_agrees<S: System>(system: &S, model: &BTreeMap<u64, User>) {
    let name = S::NAME;
    for user in model.values().step_by(7) {
        assert_eq!(system.get(user.id).as_ref(), Some(user), "{name}: get");
        assert_eq!(
            system.read_balance(user.id),
            Some(user.balance),
            "{name}: read_balance"
        );
        assert_eq!(
            system.get_by_email(&user.email).as_ref(),
            Some(user),
            "{name}: get_by_email"
        );
    }
    for age in [0, 1, 42, 99, 100] {
        assert_eq!(
            sorted(system.find_by_age(age)),
            with_age(model, age),
            "{name}: find_by_age({age})"
        );
    }
    let below: Vec<User> = model
        .values()
        .filter(|user| user.balance < SCAN_BALANCE_BELOW * 5)
        .cloned()
        .collect();
    assert!(!below.is_empty());
    assert_eq!(
        sorted(system.scan_balance_below(SCAN_BALANCE_BELOW * 5)),
        below,
        "{name}: scan"
    );
}

/// Runs the workload's operations on `S` and on the model, comparing after
/// each phase.
fn check<S: System>() {
    let name = S::NAME;
    let rows = users(ROWS, SEED);
    let mut model: BTreeMap<u64, User> = rows.iter().map(|u| (u.id, u.clone())).collect();
    let mut system = S::new();
    system.bulk_insert(rows.iter().cloned());
    assert_agrees(&system, &model);

    // Missing keys and refused duplicates.
    let absent = users(ROWS + 1, SEED)[ROWS].clone();
    assert_eq!(system.get(absent.id), None, "{name}: get absent");
    assert_eq!(system.read_balance(absent.id), None, "{name}: read absent");
    assert_eq!(
        system.get_by_email(&absent.email),
        None,
        "{name}: email absent"
    );
    assert!(
        !system.set_balance(absent.id, 1),
        "{name}: set_balance absent"
    );
    assert!(
        !system.update_balance_with(absent.id, 1),
        "{name}: update_balance_with absent"
    );
    assert!(!system.set_age(absent.id, 1), "{name}: set_age absent");
    assert!(!system.delete(absent.id), "{name}: delete absent");
    let same_key = User {
        email: absent.email.clone(),
        ..rows[0].clone()
    };
    assert!(!system.insert(same_key), "{name}: duplicate key");
    let same_email = User {
        id: absent.id,
        ..rows[1].clone()
    };
    assert!(!system.insert(same_email), "{name}: duplicate email");
    assert_agrees(&system, &model);

    // The benchmarks' writes, on a random tenth of the rows each.
    let order = shuffled(ROWS, SEED + 1);
    for (n, &i) in order.iter().take(ROWS / 10).enumerate() {
        let id = rows[i].id;
        assert!(system.set_balance(id, n as i64), "{name}: set_balance");
        model.get_mut(&id).unwrap().balance = n as i64;
    }
    for (n, &i) in order.iter().skip(ROWS / 10).take(ROWS / 10).enumerate() {
        let id = rows[i].id;
        let age = (n % 101) as u32;
        assert!(system.set_age(id, age), "{name}: set_age");
        model.get_mut(&id).unwrap().age = age;
    }
    // The closure update, on a tenth of its own and then on every 20th row
    // of the order (some of them with a balance or an age just set); the
    // new balances move rows into and out of the scan's range.
    let with_order = order
        .iter()
        .skip(3 * ROWS / 10)
        .take(ROWS / 10)
        .chain(order.iter().step_by(20));
    for (n, &i) in with_order.enumerate() {
        let id = rows[i].id;
        let balance = (n as i64 * 997) % 100_000;
        assert!(
            system.update_balance_with(id, balance),
            "{name}: update_balance_with"
        );
        model.get_mut(&id).unwrap().balance = balance;
    }
    assert_agrees(&system, &model);
    for &i in order.iter().skip(ROWS / 5).take(ROWS / 10) {
        let id = rows[i].id;
        assert!(system.delete(id), "{name}: delete");
        let user = model.remove(&id).unwrap();
        assert_eq!(system.get(id), None, "{name}: get deleted");
        assert!(
            !system.update_balance_with(id, 0),
            "{name}: update_balance_with deleted"
        );
        assert_eq!(
            system.get_by_email(&user.email),
            None,
            "{name}: deleted email"
        );
    }
    assert_agrees(&system, &model);
    for &i in order.iter().skip(ROWS / 5).take(ROWS / 20) {
        let user = rows[i].clone();
        assert!(system.insert(user.clone()), "{name}: re-insert");
        model.insert(user.id, user);
    }
    assert_agrees(&system, &model);

    // The shared store, from two threads at once on disjoint rows.
    let shared = system.into_shared();
    let ids: Vec<u64> = model.keys().copied().collect();
    std::thread::scope(|scope| {
        for half in [0, 1] {
            let (shared, ids) = (&shared, &ids);
            scope.spawn(move || {
                for &id in ids.iter().skip(half).step_by(2) {
                    assert!(shared.set_balance(id, -(id as i64 % 1000)));
                }
            });
        }
    });
    for &id in &ids {
        let expected = User {
            balance: -(id as i64 % 1000),
            ..model[&id].clone()
        };
        assert_eq!(
            SharedSystem::get(&shared, id),
            Some(expected),
            "{name}: shared"
        );
    }
}

struct Check;

impl SystemVisitor for Check {
    fn visit<S: System>(&mut self) {
        check::<S>();
    }
}

#[test]
fn every_system_agrees_with_the_model() {
    super::visit_all(&mut Check);
}

#[test]
fn names_follow_the_visiting_order() {
    struct Names(Vec<&'static str>);
    impl SystemVisitor for Names {
        fn visit<S: System>(&mut self) {
            self.0.push(S::NAME);
        }
    }
    let mut names = Names(Vec::new());
    super::visit_all(&mut names);
    assert_eq!(names.0, super::NAMES);
}
