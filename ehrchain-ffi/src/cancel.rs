//! `ehr_cancel`: the host's limits on a blocking call (a deadline and a
//! cancel token, the core's `Until`). A call that reaches either returns
//! `EHR_STILL_PENDING` without an ACK: the TI is pending, not invalid, and
//! its outbox entry is kept for `ehr_handshaker_resume`.

use ehrchain_core::{CancelToken, UnixMillis, Until};

use crate::ptr;
use crate::result::{Result, ehr_result, guard};
use crate::shapes::{free, made};
use crate::transport::{FfiTransport, ehr_transport};

/// A cancel token for the blocking calls (`ehr_handshaker_submit`,
/// `ehr_handshaker_submit_durably`, `ehr_handshaker_resume`,
/// `ehr_validator_run`, `ehr_batch_submit`): another thread signals it
/// with `ehr_cancel_signal`, and the call using it returns
/// `EHR_STILL_PENDING` at once (a wait between two attempts wakes; a
/// request in flight ends first, bounded by the transport's timeout).
///
/// Thread safety: `ehr_cancel_signal` may be called from any thread while
/// a blocking call uses the token; free it only once no call uses it and
/// no thread will signal it.
pub struct ehr_cancel {
    token: CancelToken,
}

/// Makes a cancel token, not signalled yet. Free it with `ehr_cancel_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_cancel_new(cancel_out: *mut *mut ehr_cancel) -> ehr_result {
    made(cancel_out, "cancel_out", || ehr_cancel {
        token: CancelToken::new(),
    })
}

/// Signals the token: every blocking call using it stops waiting and
/// returns `EHR_STILL_PENDING`; later calls given it return at once. Safe
/// to call from any thread, any number of times.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_cancel_signal(cancel: *const ehr_cancel) -> ehr_result {
    guard(|| {
        ptr::handle(cancel, "cancel")?.token.cancel();
        Ok(())
    })
}

/// Frees a cancel token; NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ehr_cancel_free(cancel: *mut ehr_cancel) {
    free(cancel);
}

/// The limits of a blocking call: `deadline_ms` (Unix milliseconds on the
/// system clock; 0 for none) and `cancel` (NULL for none).
pub(crate) fn until(deadline_ms: u64, cancel: *const ehr_cancel) -> Result<Until> {
    let until = if deadline_ms == 0 {
        Until::verdict()
    } else {
        Until::deadline(UnixMillis(deadline_ms))
    };
    if cancel.is_null() {
        Ok(until)
    } else {
        Ok(until.cancelled_by(&ptr::handle(cancel, "cancel")?.token))
    }
}

/// The transport and the limits of a blocking call through `transport`
/// (see [`until`]), checked in that order.
pub(crate) fn blocking<'a>(
    transport: *mut ehr_transport,
    deadline_ms: u64,
    cancel: *const ehr_cancel,
) -> Result<(&'a mut FfiTransport, Until)> {
    let transport = ptr::handle_mut(transport, "transport")?;
    Ok((&mut transport.inner, until(deadline_ms, cancel)?))
}
