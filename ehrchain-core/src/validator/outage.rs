//! Outages: a run of retryable transport failures (the node unreachable, timing
//! out or rate-limiting) is not a verdict. The validator backs off, doubling
//! from [`ValidatorConfig::backoff_initial_ms`] up to
//! [`ValidatorConfig::backoff_max_ms`], and asks again for as long as it
//! takes; meanwhile its state says why it waits ([`Outage`]). Only the host
//! decides how long it blocks on a validator (the drivers' deadline and
//! cancellation, [`Until`](crate::driver::Until)); stopping leaves the TI
//! pending, never invalid.
//!
//! [`ValidatorConfig::backoff_initial_ms`]: super::ValidatorConfig::backoff_initial_ms
//! [`ValidatorConfig::backoff_max_ms`]: super::ValidatorConfig::backoff_max_ms

use serde::{Deserialize, Serialize};

use super::{AuditEvent, InvalidReason, Phase, TransactionValidator};
use crate::time::UnixMillis;
use crate::transport::TransportError;

/// Why a validator is waiting although it has something to do: the node has
/// failed every attempt since `since` with a retryable error. Cleared by the
/// next answer (of any kind) from the node.
///
/// JSON form: `{"since": 1764495000000, "attempts": 7, "retryAt": …,
/// "lastError": {"error": "unavailable", "detail": "…"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Outage {
    /// When the first failed attempt of this run was answered.
    pub since: UnixMillis,
    /// Failed attempts in a row (at least 1).
    pub attempts: u32,
    /// When the validator asks again (the backoff after the last failure).
    pub retry_at: UnixMillis,
    /// The last failure.
    pub last_error: TransportError,
}

impl std::fmt::Display for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the Ethereum node has failed {} attempts in a row since {} (next attempt at {}); last error: {}",
            self.attempts, self.since, self.retry_at, self.last_error
        )
    }
}

impl TransactionValidator {
    /// The outage the validator is waiting out, if any: what a host or UI
    /// shows beside a pending TI ("node unreachable since …").
    #[must_use]
    pub fn outage(&self) -> Option<&Outage> {
        self.parts.outage.as_ref()
    }

    /// The node answered (whatever it said): any outage is over.
    pub(super) fn node_answered(&mut self) {
        self.parts.outage = None;
    }

    /// An action failed with `error`: a retryable one is retried after the
    /// backoff, however long the outage lasts; a permanent one ends the TI
    /// (after settling, see the [module docs](super)).
    pub(super) fn transport_failed(&mut self, now: UnixMillis, error: TransportError) {
        let (since, attempts) = self
            .parts
            .outage
            .as_ref()
            .map_or((now, 1), |o| (o.since, o.attempts.saturating_add(1)));
        self.audit(
            now,
            AuditEvent::TransportError {
                error: error.clone(),
                attempt: attempts,
            },
        );
        // A head read after the outage starts a new measure of a stalled
        // chain: the time the node was away says nothing about its blocks.
        self.parts.head_mark = None;
        if error.is_retryable() {
            let retry_at = now.saturating_add_ms(super::backoff_ms(
                self.parts.config.backoff_initial_ms,
                self.parts.config.backoff_max_ms,
                attempts,
            ));
            self.parts.next_at = retry_at;
            self.parts.outage = Some(Outage {
                since,
                attempts,
                retry_at,
                last_error: error,
            });
        } else {
            self.parts.outage = None;
            if matches!(self.parts.phase, Phase::Settle(_)) {
                self.settle_unreadable(now);
            } else {
                self.give_up(now, InvalidReason::TransportRejected { error });
            }
        }
    }
}
