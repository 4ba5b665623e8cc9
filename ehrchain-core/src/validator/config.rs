//! How patient the validator is: [`ValidatorConfig`] and its defaults.

use serde::{Deserialize, Serialize};

use crate::finality::Finality;

/// How patient the validator is. The `*_ms` fields are durations in
/// milliseconds (the instants they are added to are
/// [`UnixMillis`](crate::UnixMillis)).
///
/// JSON form: the field names below; a missing field takes its default, an
/// unknown one is refused (`{"confirmations": 1}` is the defaults with one
/// confirmation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ValidatorConfig {
    /// Blocks that must hold the transaction (its own included) before the
    /// verdict is final; 0 counts as 1. Used with [`Finality::Depth`].
    pub confirmations: u64,
    /// How the verdict becomes final: `confirmations` deep (the default), or
    /// at or below the node's `safe` or `finalized` block
    /// ([`Transmit::ReadBlock`](crate::validator::Transmit::ReadBlock)).
    /// By tag, the validator waits for the node's block as long as the host
    /// lets it (the drivers' deadline): finality that stalls is not a
    /// verdict. JSON: `"finality": "finalized"`; left out when `"depth"`.
    #[serde(skip_serializing_if = "Finality::is_depth")]
    pub finality: Finality,
    /// Wait after the first retryable transport failure (the node
    /// unreachable, timing out, rate-limiting); doubled after each further
    /// one. Such failures are retried for as long as the outage lasts: an
    /// outage is not a verdict ([`Outage`](crate::validator::Outage)); the
    /// host bounds how long it waits with the drivers' deadline
    /// ([`Until`](crate::Until)).
    pub backoff_initial_ms: u64,
    /// Longest wait between two attempts during an outage.
    pub backoff_max_ms: u64,
    /// Wait between two polls of a pending transaction or of the chain head.
    pub poll_interval_ms: u64,
    /// How long a submitted transaction may stay pending before it is treated
    /// as dropped and sent again; also how long the chain head may stand
    /// still while the validator waits for confirmations, before it gives up
    /// ([`InvalidReason::Unconfirmed`](crate::InvalidReason::Unconfirmed)).
    pub inclusion_timeout_ms: u64,
    /// How many times the transaction is sent again after being dropped, timed
    /// out or reorged out, before the TI is given up as invalid.
    pub max_resubmissions: u32,
}

impl Default for ValidatorConfig {
    /// 3 confirmations (depth finality), retries during an outage backing off from 0.5 s to
    /// 30 s, a poll every second, 2 minutes to be mined, 3 resubmissions.
    fn default() -> Self {
        Self {
            confirmations: 3,
            finality: Finality::Depth,
            backoff_initial_ms: 500,
            backoff_max_ms: 30_000,
            poll_interval_ms: 1_000,
            inclusion_timeout_ms: 120_000,
            max_resubmissions: 3,
        }
    }
}

/// The wait before the retry after `failures` failures in a row: `initial_ms`
/// doubled after each failure past the first, at most `max_ms`.
pub(crate) fn backoff_ms(initial_ms: u64, max_ms: u64, failures: u32) -> u64 {
    let shift = failures.saturating_sub(1).min(32);
    initial_ms.saturating_mul(1u64 << shift).min(max_ms)
}
