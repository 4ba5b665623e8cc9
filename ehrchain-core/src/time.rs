//! Time: the one time unit of the API, and the host's clock.
//!
//! Every point in time the API takes or returns (the generator's and the
//! validator's `now`, [`TransactionValidator::poll_timeout`], [`Clock`],
//! [`AuditEntry::at`]) is a [`UnixMillis`]: milliseconds since the Unix
//! epoch, UTC. Durations (the `*_ms` fields of [`ValidatorConfig`] and
//! [`GeneratorConfig::max_clock_skew_ms`]) are plain milliseconds.
//!
//! The one exception is data, not API: a TI's
//! [`timestamp`](crate::InitialTransaction::timestamp) is Unix *seconds*,
//! because that is what its JSON form, the sealed record and the on-chain
//! `uint64 timestamp` argument hold (`docs/templates.md`,
//! `docs/envelope.md`). Convert with [`UnixMillis::from_secs`] and
//! [`UnixMillis::as_secs`].
//!
//! The core reads no clock itself. Hosts pass their own [`Clock`] to
//! [`run_blocking`] and [`Handshaker::submit`]; native hosts can enable the
//! `std-clock` feature for `SystemClock`, the system clock. A [`CancelToken`]
//! ends a wait early.
//!
//! [`TransactionValidator::poll_timeout`]: crate::TransactionValidator::poll_timeout
//! [`AuditEntry::at`]: crate::validator::AuditEntry::at
//! [`ValidatorConfig`]: crate::ValidatorConfig
//! [`GeneratorConfig::max_clock_skew_ms`]: crate::GeneratorConfig::max_clock_skew_ms
//! [`run_blocking`]: crate::run_blocking
//! [`Handshaker::submit`]: crate::Handshaker::submit

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since the Unix epoch (1970-01-01T00:00:00Z).
///
/// Serialises as the bare integer. Arithmetic saturates: a deadline past
/// `u64::MAX` milliseconds is "never", not a wrap to 1970.
///
/// ```
/// use ehrchain_core::UnixMillis;
///
/// let now = UnixMillis(1_764_495_000_250);
/// assert_eq!(now.as_secs(), 1_764_495_000); // a TI timestamp is in seconds
/// assert_eq!(UnixMillis::from_secs(1_764_495_000), UnixMillis(1_764_495_000_000));
/// assert_eq!(now.saturating_add_ms(750), UnixMillis(1_764_495_001_000));
/// assert_eq!(now.to_string(), "1764495000250 ms");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// The Unix epoch.
    pub const EPOCH: Self = Self(0);

    /// The instant `secs` whole seconds after the epoch (saturating).
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Whole seconds since the epoch, rounded down.
    #[must_use]
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Milliseconds since the epoch.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The instant `ms` milliseconds later (saturating).
    #[must_use]
    pub const fn saturating_add_ms(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`, or 0 when `earlier` is not
    /// earlier.
    #[must_use]
    pub const fn saturating_ms_since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// The host's clock and a way to wait, for the blocking driver
/// ([`run_blocking`](crate::run_blocking), [`Handshaker::submit`](crate::Handshaker::submit)).
/// The core has no clock of its own: native hosts pass `SystemClock`
/// (feature `std-clock`), tests and simulations a [`VirtualClock`], hosts
/// with a time source of their own an implementation like this one:
///
/// ```
/// use ehrchain_core::{CancelToken, Clock, UnixMillis};
///
/// /// A host's clock over its own time source (here a tick counter that
/// /// moves 10 ms a tick), waiting by ticking until the deadline.
/// struct Ticks(u64);
///
/// impl Clock for Ticks {
///     fn now(&mut self) -> UnixMillis {
///         UnixMillis(self.0)
///     }
///     fn wait_until(&mut self, deadline: UnixMillis, cancel: &CancelToken) {
///         while !cancel.is_cancelled() && self.0 < deadline.as_millis() {
///             self.0 += 10;
///         }
///     }
/// }
///
/// let mut clock = Ticks(1_000);
/// clock.wait_until(UnixMillis(1_495), &CancelToken::new());
/// assert_eq!(clock.now(), UnixMillis(1_500));
/// let cancelled = CancelToken::new();
/// cancelled.cancel();
/// clock.wait_until(UnixMillis(9_000), &cancelled); // returns at once
/// assert_eq!(clock.now(), UnixMillis(1_500));
/// ```
pub trait Clock {
    /// The current time.
    fn now(&mut self) -> UnixMillis;
    /// Returns no earlier than `deadline`, or at once when it has passed,
    /// or as soon as `cancel` is cancelled (from another thread, say):
    /// a host that cancels must not wait out a backoff.
    fn wait_until(&mut self, deadline: UnixMillis, cancel: &CancelToken);
}

/// A clock for tests and simulations: it stands still until waited upon,
/// and waiting jumps straight to the deadline (unless cancelled), so a run
/// that spans minutes of backoffs and block times takes no real time.
/// Clones share one time: hand one to the driver and keep another for a
/// simulated chain that mines by it, or to move time yourself.
///
/// ```
/// use ehrchain_core::{CancelToken, Clock, UnixMillis, VirtualClock};
///
/// let mut clock = VirtualClock::starting_at(UnixMillis(1_000));
/// let chain_side = clock.clone();
/// let cancel = CancelToken::new();
/// clock.wait_until(UnixMillis(1_500), &cancel);
/// assert_eq!(chain_side.time(), UnixMillis(1_500));
/// clock.wait_until(UnixMillis(1_200), &cancel); // passed: returns at once
/// assert_eq!(clock.now(), UnixMillis(1_500));
/// chain_side.advance_ms(500);
/// assert_eq!(clock.now(), UnixMillis(2_000));
/// ```
#[derive(Clone, Debug, Default)]
pub struct VirtualClock(Arc<AtomicU64>);

impl VirtualClock {
    /// A clock reading `start`.
    #[must_use]
    pub fn starting_at(start: UnixMillis) -> Self {
        Self(Arc::new(AtomicU64::new(start.as_millis())))
    }

    /// The time it reads (as [`Clock::now`], without a mutable borrow).
    #[must_use]
    pub fn time(&self) -> UnixMillis {
        UnixMillis(self.0.load(Ordering::SeqCst))
    }

    /// Moves every clone forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(ms))
            });
    }
}

impl Clock for VirtualClock {
    fn now(&mut self) -> UnixMillis {
        self.time()
    }

    fn wait_until(&mut self, deadline: UnixMillis, cancel: &CancelToken) {
        if !cancel.is_cancelled() {
            self.0.fetch_max(deadline.as_millis(), Ordering::SeqCst);
        }
    }
}

/// A cancel signal for the blocking drivers ([`Until::cancelled_by`](crate::Until::cancelled_by)):
/// cloned into the driver, cancelled by the host from any thread (a UI's
/// "stop" button, a shutdown); a wait in progress ([`Clock::wait_until`])
/// wakes at once. Once cancelled it stays cancelled.
///
/// ```
/// use ehrchain_core::CancelToken;
///
/// let cancel = CancelToken::new();
/// let handle = cancel.clone();
/// std::thread::spawn(move || handle.cancel()).join().ok();
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<Signal>);

#[derive(Debug, Default)]
struct Signal {
    cancelled: Mutex<bool>,
    woken: Condvar,
}

impl CancelToken {
    /// A token not cancelled yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels: every clone reports it, and waits on it end now.
    pub fn cancel(&self) {
        *self.flag() = true;
        self.0.woken.notify_all();
    }

    /// Whether [`CancelToken::cancel`] was called on this token or a clone.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        *self.flag()
    }

    /// The flag; a panic elsewhere while it was held cannot leave it torn
    /// (it is one bool), so a poisoned lock is used as is.
    fn flag(&self) -> std::sync::MutexGuard<'_, bool> {
        self.0
            .cancelled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks the thread for up to `ms` milliseconds, or until cancelled.
    #[cfg(feature = "std-clock")]
    fn sleep_ms(&self, ms: u64) {
        let cancelled = self.flag();
        // Woken early (spuriously) is fine: the caller loops on the clock.
        let _ =
            self.0
                .woken
                .wait_timeout_while(cancelled, std::time::Duration::from_millis(ms), |c| !*c);
    }
}

/// The system clock (`std::time::SystemTime`), waiting on the cancel token
/// (a condition variable, so a cancel wakes it at once): the [`Clock`] for
/// native hosts. Behind the
/// `std-clock` feature, off by default so the core stays free of I/O; not for
/// `wasm32-unknown-unknown`, which has no system clock (JavaScript hosts pass
/// `Date.now()`).
///
/// ```
/// use ehrchain_core::{CancelToken, Clock, SystemClock, UnixMillis};
///
/// let mut clock = SystemClock;
/// let start = clock.now();
/// assert!(start > UnixMillis::from_secs(1_700_000_000)); // after November 2023
/// clock.wait_until(start.saturating_add_ms(20), &CancelToken::new());
/// assert!(clock.now().saturating_ms_since(start) >= 20);
/// ```
#[cfg(feature = "std-clock")]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[cfg(feature = "std-clock")]
impl Clock for SystemClock {
    /// The system's wall-clock time; [`UnixMillis::EPOCH`] if it is set before 1970.
    fn now(&mut self) -> UnixMillis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(UnixMillis::EPOCH, |d| {
                UnixMillis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            })
    }

    /// Sleeps until the system clock reads `deadline` (again if woken early or
    /// if the clock was set back meanwhile), or until `cancel` is cancelled.
    fn wait_until(&mut self, deadline: UnixMillis, cancel: &CancelToken) {
        loop {
            let left = deadline.saturating_ms_since(self.now());
            if left == 0 || cancel.is_cancelled() {
                return;
            }
            cancel.sleep_ms(left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UnixMillis;

    #[cfg(feature = "std-clock")]
    #[test]
    fn a_cancel_from_another_thread_ends_a_wait_promptly() {
        use super::{CancelToken, Clock, SystemClock};
        let cancel = CancelToken::new();
        let handle = cancel.clone();
        let start = std::time::Instant::now();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            handle.cancel();
        });
        let mut clock = SystemClock;
        let deadline = clock.now().saturating_add_ms(60_000);
        clock.wait_until(deadline, &cancel);
        let waited = start.elapsed();
        assert!(canceller.join().is_ok());
        assert!(cancel.is_cancelled());
        // Cancelled after 50 ms; a minute-long wait ended well within 2 s.
        assert!(
            waited >= std::time::Duration::from_millis(50)
                && waited < std::time::Duration::from_secs(2),
            "waited {waited:?}"
        );
    }

    #[test]
    fn conversions_saturate_and_round_down() {
        assert_eq!(UnixMillis::from_secs(u64::MAX), UnixMillis(u64::MAX));
        assert_eq!(UnixMillis(1_999).as_secs(), 1);
        assert_eq!(
            UnixMillis(u64::MAX).saturating_add_ms(1),
            UnixMillis(u64::MAX)
        );
        assert_eq!(UnixMillis(5).saturating_ms_since(UnixMillis(9)), 0);
        assert_eq!(UnixMillis(9).saturating_ms_since(UnixMillis(5)), 4);
    }

    #[test]
    fn serialises_as_the_bare_integer() -> Result<(), serde_json::Error> {
        assert_eq!(
            serde_json::to_string(&UnixMillis(1_764_495_000_000))?,
            "1764495000000"
        );
        assert_eq!(serde_json::from_str::<UnixMillis>("42")?, UnixMillis(42));
        Ok(())
    }
}
