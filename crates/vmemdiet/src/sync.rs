//! The synchronization primitives the lock-free code is written against, so that the same
//! algorithm runs on `std` in the library and under a model checker in tests.
//!
//! Why a trait and not a `cfg`-switched re-export: a facade that swaps `std` for `shuttle` when a
//! cargo feature is on would switch *every* user of the crate in the build, because cargo (resolver
//! 2) unifies the features of one package across all targets built together. `cargo test
//! --workspace` builds the shuttle model test and the real-thread stress tests against a single
//! `vmemdiet` library, and shuttle primitives panic outside `shuttle::check_*`. So code that must
//! be model-checked is generic over [`Primitives`], with [`Std`] as the default type parameter:
//! the library and every other test use `std` (monomorphized, no runtime cost), and a model test
//! names `Shuttle` explicitly. The `shuttle` feature only *adds* `Shuttle`; it never changes
//! what the default is, so enabling it anywhere in the build is harmless.
//!
//! Both implementations come from one macro, so they cannot drift apart.

use std::fmt::Debug;

pub use std::sync::atomic::Ordering;

/// The operations [`Primitives::AtomicU64`] offers; the names and semantics of
/// `std::sync::atomic::AtomicU64`'s methods of the same name.
pub trait AtomicU64: Debug + Default + Send + Sync {
    /// `AtomicU64::load`.
    fn load(&self, order: Ordering) -> u64;
    /// `AtomicU64::fetch_add`.
    fn fetch_add(&self, val: u64, order: Ordering) -> u64;
    /// `AtomicU64::fetch_sub`.
    fn fetch_sub(&self, val: u64, order: Ordering) -> u64;
}

/// A mutual-exclusion lock protecting nothing but the section it is held over.
pub trait Mutex: Debug + Default + Send + Sync {
    /// Takes the lock until the returned guard is dropped. A poisoned lock is still taken: the
    /// protected state is `()`, so a panic while holding it cannot leave anything half-updated.
    fn lock(&self) -> impl Sized + '_;
}

/// One family of synchronization primitives: `std`'s ([`Std`]) or shuttle's (`Shuttle`).
pub trait Primitives: Debug + Send + Sync + 'static {
    /// A 64-bit atomic integer.
    type AtomicU64: AtomicU64;
    /// A lock around `()`.
    type Mutex: Mutex;
    /// Gives the CPU to another thread while busy-waiting (`std::thread::yield_now`); under a
    /// model checker, a scheduling point.
    fn yield_now();
}

/// Implements the traits above for one family, forwarding every call to the inherent method of
/// the same name.
macro_rules! primitives {
    ($(#[$m:meta])* $name:ident, $atomic:ty, $mutex:ty, $yield_now:path) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl AtomicU64 for $atomic {
            #[inline]
            fn load(&self, order: Ordering) -> u64 {
                <$atomic>::load(self, order)
            }
            #[inline]
            fn fetch_add(&self, val: u64, order: Ordering) -> u64 {
                <$atomic>::fetch_add(self, val, order)
            }
            #[inline]
            fn fetch_sub(&self, val: u64, order: Ordering) -> u64 {
                <$atomic>::fetch_sub(self, val, order)
            }
        }

        impl Mutex for $mutex {
            #[inline]
            fn lock(&self) -> impl Sized + '_ {
                <$mutex>::lock(self).unwrap_or_else(std::sync::PoisonError::into_inner)
            }
        }

        impl Primitives for $name {
            type AtomicU64 = $atomic;
            type Mutex = $mutex;
            #[inline]
            fn yield_now() {
                $yield_now()
            }
        }
    };
}

primitives!(
    /// The real thing: `std::sync` and `std::thread::yield_now`. The default everywhere.
    Std,
    std::sync::atomic::AtomicU64,
    std::sync::Mutex<()>,
    std::thread::yield_now
);

#[cfg(feature = "shuttle")]
primitives!(
    /// shuttle's controlled primitives, for model tests run inside `shuttle::check_*` (they
    /// panic anywhere else). Only with the `shuttle` feature.
    Shuttle,
    shuttle::sync::atomic::AtomicU64,
    shuttle::sync::Mutex<()>,
    shuttle::thread::yield_now
);
