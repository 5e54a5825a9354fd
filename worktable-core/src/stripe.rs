//! Values kept once per thread stripe, so that threads writing "their own"
//! copy do not pass a cache line back and forth on every write.
//!
//! A thread gets a stripe number the first time it asks, round-robin; the
//! threads that run at once usually have different stripes, but nothing
//! depends on it: a stripe is shared safely, only more slowly.
//!
//! Depends on nothing else in core.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Number of stripes: more than the threads that commonly write at once.
const STRIPES: usize = 16;

/// A value alone on its cache lines (128 bytes: the pair of lines that
/// adjacent-line prefetchers fetch together).
#[repr(align(128))]
#[derive(Debug, Default)]
struct Padded<T>(T);

/// One `T` per stripe.
#[derive(Debug)]
pub(crate) struct Striped<T> {
    stripes: Box<[Padded<T>]>,
}

impl<T: Default> Default for Striped<T> {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Padded::default()).collect(),
        }
    }
}

impl<T> Striped<T> {
    /// The calling thread's stripe.
    pub(crate) fn local(&self) -> &T {
        &self.stripes[stripe()].0
    }

    /// Every stripe, for the rare reader of all of them.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.stripes.iter().map(|padded| &padded.0)
    }
}

/// The calling thread's stripe number.
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|stripe| *stripe)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn threads_write_their_stripe_and_a_reader_sees_every_write() {
        let counts = Striped::<AtomicUsize>::default();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        counts.local().fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        let total: usize = counts.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        assert_eq!(total, 4000);
    }

    #[test]
    fn stripes_are_apart_and_one_thread_keeps_its_stripe() {
        let striped = Striped::<u8>::default();
        let first: *const u8 = striped.local();
        let second: *const u8 = striped.local();
        assert_eq!(first, second);
        let addresses: Vec<usize> = striped.iter().map(|v| v as *const u8 as usize).collect();
        assert_eq!(addresses.len(), STRIPES);
        assert!(addresses.windows(2).all(|w| w[1] - w[0] >= 128));
    }
}
