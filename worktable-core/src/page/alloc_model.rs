//! Property test of the slot allocator: random allocations, frees and
//! evacuations (with the moves vacuum would make), checking after every step
//! that slots in use and free space tile every page exactly, that nothing
//! lands in an evacuating page, and that emptied evacuating pages are gone.

use proptest::prelude::*;

use super::alloc::SlotPool;
use super::link::{Link, MAX_ROW_BYTES, PAGE_SIZE, SLOT_ALIGN};

#[derive(Clone, Debug)]
enum Op {
    Allocate(usize),
    Free(usize),
    Evacuate { max_fill: f64, max_new: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop_oneof![
            4 => 1usize..=1024,
            2 => 1025usize..=4096,
            1 => 4097usize..=MAX_ROW_BYTES,
        ]
        .prop_map(Op::Allocate),
        5 => any::<usize>().prop_map(Op::Free),
        1 => (0.0f64..=1.0, 1usize..6).prop_map(|(max_fill, max_new)| Op::Evacuate { max_fill, max_new }),
    ]
}

/// Checks that `live` slots and the allocator's free space tile every active
/// page, and that evacuating pages hold only live slots.
fn check(pool: &SlotPool, live: &[Link]) -> Result<(), TestCaseError> {
    let mut pages = pool.audit().map_err(TestCaseError::fail)?;
    for slot in live {
        let Some(Some((_, units))) = pages.get_mut(slot.page.index()) else {
            return Err(TestCaseError::fail(format!(
                "{slot:?} is in an absent page"
            )));
        };
        let start = usize::from(slot.offset) / SLOT_ALIGN;
        for unit in &mut units[start..start + slot.slot_size() / SLOT_ALIGN] {
            prop_assert!(!*unit, "{slot:?} overlaps another slot or free space");
            *unit = true;
        }
    }
    for (page, state) in pages.iter().enumerate() {
        if let Some((evacuating, units)) = state {
            let taken = units.iter().filter(|&&unit| unit).count();
            if *evacuating {
                let held = live.iter().filter(|slot| slot.page.index() == page).count();
                prop_assert!(held > 0, "evacuating page {page} is empty but kept");
            } else {
                prop_assert_eq!(taken * SLOT_ALIGN, PAGE_SIZE, "page {} not tiled", page);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn slots_and_free_space_tile_the_pages(ops in prop::collection::vec(op(), 1..200)) {
        let pool = SlotPool::default();
        let mut live: Vec<Link> = Vec::new();
        for op in ops {
            match op {
                Op::Allocate(len) => {
                    let slot = pool.allocate(len).expect("page ids left");
                    prop_assert_eq!(usize::from(slot.len), len);
                    live.push(slot);
                }
                Op::Free(pick) if !live.is_empty() => {
                    let slot = live.swap_remove(pick % live.len());
                    pool.free(slot);
                }
                Op::Free(_) => {}
                Op::Evacuate { max_fill, max_new } => {
                    let before = pool.page_count();
                    let evacuating = pool.begin_evacuation(max_fill, max_new);
                    // Move what vacuum would move: every live slot in an
                    // evacuating page gets a new slot elsewhere, then goes.
                    let leaving: Vec<usize> = (0..live.len())
                        .filter(|&i| evacuating.binary_search(&live[i].page).is_ok())
                        .collect();
                    for &i in &leaving {
                        let copy = pool.allocate(usize::from(live[i].len)).expect("page ids left");
                        // Never into a page being evacuated (an evacuated page
                        // released meanwhile may come back, active, under its id).
                        let state = pool.audit().map_err(TestCaseError::fail)?;
                        prop_assert!(
                            matches!(state[copy.page.index()], Some((false, _))),
                            "{:?} landed in an evacuating page", copy
                        );
                        pool.free(std::mem::replace(&mut live[i], copy));
                    }
                    check(&pool, &live)?;
                    prop_assert_eq!(pool.figures().evacuating_pages, 0);
                    prop_assert!(
                        pool.page_count() <= before,
                        "evacuation grew the table from {} to {} pages", before, pool.page_count()
                    );
                }
            }
            check(&pool, &live)?;
        }
        for slot in live.drain(..) {
            pool.free(slot);
        }
        check(&pool, &live)?;
        let figures = pool.figures();
        prop_assert_eq!(figures.free_bytes, figures.pages * PAGE_SIZE);
    }
}
