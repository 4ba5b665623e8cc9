//! The only module with `unsafe` code: turning the C caller's pointers and
//! lengths into references and slices, and writing outputs through them.
//!
//! Every helper checks for NULL (and, where it matters, for a zero length)
//! before touching memory, and names the C parameter (`name`) in the message
//! of the error it returns. What cannot be checked is the C caller's side of
//! the contract (README, "Pointer rules"): a non-NULL pointer points to at
//! least the stated number of valid bytes (or to a live handle of the stated
//! type, made by this library and not yet freed), and the memory is not
//! changed by another thread during the call.
#![allow(unsafe_code)]

use ehrchain_core::{Address, B256, ErrorCode};
use std::ffi::c_char;
use zeroize::Zeroizing;

use crate::batch::ehr_proof_summary;
use crate::capsule::{ehr_capsule_binding, ehr_capsule_summary};
use crate::handshaker::ehr_ack_summary;
use crate::keys::ehr_key_store_callbacks;
use crate::outbox::ehr_outbox_callbacks;
use crate::pipeline::ehr_pipeline_transmit;
use crate::result::{Error, Result};
use crate::run::{ehr_drain_step, ehr_durable_step, ehr_watch_step};
use crate::sharing::ehr_sharing_context;
use crate::signer::ehr_signer_callbacks;
use crate::transport::{ehr_receipt, ehr_transport_callbacks};
use crate::validator::{ehr_outage, ehr_transmit};

/// `EHR_NULL_ARGUMENT` for the parameter `name`.
fn null(name: &str) -> Error {
    Error::new(
        ErrorCode::NullArgument,
        format!("the argument `{name}` is NULL; it is required"),
    )
}

/// `EHR_NULL_ARGUMENT` unless the host's callback `name` (such as
/// `callbacks->sign`), which ehrchain cannot do without, is set.
pub(crate) fn required<F>(callback: Option<F>, name: &str) -> Result<()> {
    match callback {
        Some(_) => Ok(()),
        None => Err(Error::new(
            ErrorCode::NullArgument,
            format!("the callback `{name}` is NULL; it is required"),
        )),
    }
}

/// `EHR_ZERO_LENGTH` for the parameter `name`.
fn empty(name: &str) -> Error {
    Error::new(
        ErrorCode::ZeroLength,
        format!("the argument `{name}` has length 0; it must not be empty"),
    )
}

/// A non-empty byte input: the parameter `name`, `len` bytes at `p`.
pub(crate) fn bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if p.is_null() {
        return Err(null(name));
    }
    if len == 0 {
        return Err(empty(name));
    }
    // SAFETY: `p` is non-NULL and, by the caller's contract, points to `len`
    // readable bytes that stay unchanged during the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A byte input that may be empty (then `p` may be NULL).
pub(crate) fn bytes_or_empty<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    bytes(p, len, name)
}

/// A non-empty UTF-8 text input (not NUL-terminated: `len` bytes).
pub(crate) fn text<'a>(p: *const c_char, len: usize, name: &str) -> Result<&'a str> {
    let raw = bytes(p.cast(), len, name)?;
    std::str::from_utf8(raw).map_err(|e| {
        Error::new(
            ErrorCode::InvalidUtf8,
            format!("the argument `{name}` is not valid UTF-8: {e}"),
        )
    })
}

/// A text input that may be empty (then `p` may be NULL), for parsers that
/// refuse empty text with their own error, as in every binding (a proof's
/// text: malformed).
pub(crate) fn text_or_empty<'a>(p: *const c_char, len: usize, name: &str) -> Result<&'a str> {
    if len == 0 {
        return Ok("");
    }
    text(p, len, name)
}

/// An optional text input: NULL means absent.
pub(crate) fn opt_text<'a>(p: *const c_char, len: usize, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    text(p, len, name).map(Some)
}

/// A fixed-size input (a hash, an id, an address): `N` bytes at `p`.
pub(crate) fn array<const N: usize>(p: *const u8, name: &str) -> Result<[u8; N]> {
    if p.is_null() {
        return Err(null(name));
    }
    let mut out = [0u8; N];
    // SAFETY: `p` is non-NULL and, by the caller's contract, points to N
    // readable bytes; `out` is N bytes of our own.
    unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), N) };
    Ok(out)
}

/// A 20-byte address input at `p`.
pub(crate) fn address(p: *const u8, name: &str) -> Result<Address> {
    array::<20>(p, name).map(Address::from)
}

/// A 32-byte input (a hash, an id) at `p`.
pub(crate) fn b256(p: *const u8, name: &str) -> Result<B256> {
    array::<32>(p, name).map(B256::from)
}

/// A 32-byte secret key at `p`, copied straight into memory that is
/// zeroized when dropped (no plain copy is left behind).
pub(crate) fn secret32(p: *const u8, name: &str) -> Result<Zeroizing<[u8; 32]>> {
    if p.is_null() {
        return Err(null(name));
    }
    let mut out = Zeroizing::new([0u8; 32]);
    // SAFETY: `p` is non-NULL and, by the caller's contract, points to 32
    // readable bytes; `out` is 32 bytes of our own.
    unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), 32) };
    Ok(out)
}

/// A live handle made by this library.
pub(crate) fn handle<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: by the caller's contract a non-NULL handle pointer points to a
    // live `T` that this library boxed and has not freed.
    unsafe { p.as_ref() }.ok_or_else(|| null(name))
}

/// An optional handle: NULL is none.
pub(crate) fn opt_handle<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: as `handle`.
    unsafe { p.as_ref() }
}

/// A live handle made by this library, to change.
pub(crate) fn handle_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: as `handle`; the caller's contract also says no other call uses
    // the handle at the same time.
    unsafe { p.as_mut() }.ok_or_else(|| null(name))
}

/// An array of `n` live handles.
pub(crate) fn handles<'a, T>(p: *const *const T, n: usize, name: &str) -> Result<Vec<&'a T>> {
    if p.is_null() {
        return Err(null(name));
    }
    if n == 0 {
        return Err(empty(name));
    }
    // SAFETY: `p` is non-NULL and, by the caller's contract, points to `n`
    // readable handle pointers.
    let ptrs = unsafe { std::slice::from_raw_parts(p, n) };
    ptrs.iter()
        .enumerate()
        .map(|(i, &h)| handle(h, &format!("{name}[{i}]")))
        .collect()
}

/// A receipt the host wrote (a `poll` callback's, or one passed to
/// `ehr_validator_handle_receipt`), copied field by field with its booleans
/// read as bytes: 0 is false, any other value true. (Reading a C `bool`
/// holding another value as a Rust `bool` would be undefined behaviour.)
pub(crate) fn receipt(p: *const ehr_receipt, name: &str) -> Result<ehr_receipt> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: as in `extensible`. (One layout so far: every field below lies
    // within the host's struct.)
    layout_within::<ehr_receipt>(unsafe { p.cast::<usize>().read() }, name)?;
    let flag = |b: *const bool| {
        // SAFETY: `b` points into the receipt at `p`, readable by the
        // caller's contract; it is read as the byte it is.
        unsafe { b.cast::<u8>().read() != 0 }
    };
    // SAFETY: `p` is non-NULL and, by the caller's contract, points to a
    // readable `ehr_receipt`; every field but the booleans is plain data of
    // any bit pattern, read through `addr_of!` without a reference to the
    // whole struct.
    unsafe {
        Ok(ehr_receipt {
            struct_size: size_of::<ehr_receipt>(),
            tx_hash: (&raw const (*p).tx_hash).read(),
            success: flag(&raw const (*p).success),
            block_number: (&raw const (*p).block_number).read(),
            block_hash: (&raw const (*p).block_hash).read(),
            has_anchor_log_index: flag(&raw const (*p).has_anchor_log_index),
            anchor_log_index: (&raw const (*p).anchor_log_index).read(),
            gas_used: (&raw const (*p).gas_used).read(),
            revert_data_len: (&raw const (*p).revert_data_len).read(),
            revert_data: (&raw const (*p).revert_data).read(),
        })
    }
}

/// A struct the host allocates, extensible by its first field `size_t
/// struct_size`: the host sets it to `sizeof` the struct as its header
/// declares it (README, "Extensible structs"). ehrchain reads (or, for an
/// output, writes) the fields of the largest layout it knows that fits in
/// that size; fields beyond it are absent (zero: NULL callbacks) or left
/// unwritten.
///
/// # Safety
///
/// The implementing type is `#[repr(C)]`, its first field is
/// `struct_size: usize`, all zeros is a valid value of it, and `LAYOUTS`
/// lists the sizes of its layouts, ascending, each ending where a field
/// starts, the last `size_of::<Self>()`. A field added later starts at or
/// after the size of every earlier layout (so it never lies in an older
/// host's padding).
pub(crate) unsafe trait Extensible {
    /// The C name (`ehr_key_store_callbacks`).
    const NAME: &'static str;
    /// The sizes of the layouts ehrchain knows: the struct up to its last
    /// required field, then one layout per optional field after it (an older
    /// header's struct, or a host leaving the optional ones out).
    const LAYOUTS: &'static [usize];
}

/// An [`Extensible`] struct ehrchain may copy from the host's bytes.
///
/// # Safety
///
/// Every bit pattern of every field is valid: raw pointers, `Option`s of
/// `extern "C"` functions, integers and byte arrays (no `bool`s: a receipt's
/// are read one by one, [`receipt`]).
pub(crate) unsafe trait AnyBits: Extensible {}

/// Implements [`Extensible`] (and, with `any_bits`, [`AnyBits`]) for the
/// struct `$t`, whose optional fields after its required ones are
/// `$optional`, in order.
macro_rules! extensible {
    ($t:ident $(, $optional:ident)*) => {
        // SAFETY: `$t` is `#[repr(C)]` with `struct_size: usize` first, all
        // zeros is valid for every field (NULL, `None`, 0, false), and each
        // layout ends where an optional field starts.
        unsafe impl Extensible for $t {
            const NAME: &'static str = stringify!($t);
            const LAYOUTS: &'static [usize] =
                &[$(std::mem::offset_of!($t, $optional),)* size_of::<$t>()];
        }

        impl Default for $t {
            /// All zeros (NULL, 0, false), `struct_size` its size.
            fn default() -> Self {
                // SAFETY: all zeros is a valid `$t` (above).
                let mut value: Self = unsafe { std::mem::MaybeUninit::zeroed().assume_init() };
                value.struct_size = size_of::<$t>();
                value
            }
        }
    };
    (any_bits $t:ident $(, $optional:ident)*) => {
        extensible!($t $(, $optional)*);
        // SAFETY: `$t`'s fields are raw pointers, `Option`s of `extern "C"`
        // functions, integers and byte arrays (and structs of them).
        unsafe impl AnyBits for $t {}
    };
}

extensible!(any_bits ehr_key_store_callbacks, recipient_key);
extensible!(any_bits ehr_outbox_callbacks, finish_all);
extensible!(any_bits ehr_transport_callbacks, anchored_batch, block_at);
extensible!(any_bits ehr_signer_callbacks);
extensible!(any_bits ehr_sharing_context);
extensible!(any_bits ehr_capsule_binding);
extensible!(any_bits ehr_transmit);
extensible!(any_bits ehr_pipeline_transmit);
extensible!(ehr_receipt);
extensible!(ehr_ack_summary);
extensible!(ehr_proof_summary);
extensible!(ehr_capsule_summary);
extensible!(ehr_outage);
extensible!(ehr_durable_step);
extensible!(ehr_watch_step);
extensible!(ehr_drain_step);

/// The host's extensible struct at `p` (the parameter `name`), copied: the
/// fields of the largest layout within its `struct_size`, the others zero.
/// `EHR_INVALID_ARGUMENT` when `struct_size` is below the first layout.
pub(crate) fn extensible<T: AnyBits>(p: *const T, name: &str) -> Result<T> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: `p` is non-NULL and, by the caller's contract, points to a
    // readable struct of some published layout; every layout starts with
    // `struct_size`.
    let len = layout_within::<T>(unsafe { p.cast::<usize>().read() }, name)?;
    let mut value = std::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: the host's struct holds `struct_size >= len` readable bytes, and
    // `len <= size_of::<T>()` (the last layout is `T`'s size, and any
    // other is smaller); all zeros and any bytes the host wrote are valid
    // for every field (`AnyBits`), and the copy ends on a field boundary.
    unsafe {
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), value.as_mut_ptr().cast::<u8>(), len);
        Ok(value.assume_init())
    }
}

/// The largest layout of `T` that fits in the host's `size`.
fn layout_within<T: Extensible>(size: usize, name: &str) -> Result<usize> {
    let layout = T::LAYOUTS.iter().rev().find(|&&layout| layout <= size);
    layout.map(|&layout| layout.min(size_of::<T>())).ok_or_else(|| {
        let (c, first) = (T::NAME, T::LAYOUTS.first().copied().unwrap_or_default());
        let init = c.to_ascii_uppercase() + "_INIT";
        Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "`{name}->struct_size` is {size}, but an {c} is at least {first} bytes: set it to \
                 sizeof({c}) (as {init} does)"
            ),
        )
    })
}

/// Takes back ownership of a handle given out with [`Out::give`]; NULL is
/// nothing.
pub(crate) fn take<T>(p: *mut T) -> Option<Box<T>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: by the caller's contract a non-NULL pointer passed to a `_free`
    // function is a handle this library boxed and that is freed only once.
    Some(unsafe { Box::from_raw(p) })
}

/// Hands the value of the caller's handle at `*slot` (the parameter `name`)
/// to `take`. When `take` keeps it, the handle is freed and `*slot` is
/// NULL; when it gives the value back with an error, the value is written
/// back into the same handle (same address, still the caller's). A panic in
/// `take` leaves `*slot` NULL: the value is lost, never freed twice.
pub(crate) fn hand_over<T>(
    slot: *mut *mut T,
    name: &str,
    take: impl FnOnce(T) -> std::result::Result<(), (Box<T>, Error)>,
) -> Result<()> {
    let slot = handle_mut(slot, name)?;
    let p = std::mem::replace(slot, std::ptr::null_mut());
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: a non-NULL handle is a live `T` this library boxed (the
    // caller's contract); viewed as `MaybeUninit<T>`, moving the value out
    // leaves memory that is freed without dropping it again.
    let mut cell = unsafe { Box::from_raw(p.cast::<std::mem::MaybeUninit<T>>()) };
    // SAFETY: the value is initialised and read exactly once here.
    let value = unsafe { cell.assume_init_read() };
    match take(value) {
        Ok(()) => Ok(()),
        Err((value, error)) => {
            cell.write(*value);
            *slot = Box::into_raw(cell).cast();
            Err(error)
        }
    }
}

/// An output slot, checked for NULL before any work is done and written only
/// on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Checks the slot, the parameter `name`.
    pub(crate) fn new(p: *mut T, name: &str) -> Result<Self> {
        if p.is_null() {
            return Err(null(name));
        }
        Ok(Self(p))
    }

    /// Writes the value (the previous contents are not read or dropped).
    pub(crate) fn set(self, value: T) {
        // SAFETY: `self.0` is non-NULL and, by the caller's contract, points
        // to writable, suitably aligned memory for a `T`. `write` does not
        // read or drop what was there (it may be uninitialised).
        unsafe { self.0.write(value) }
    }
}

impl<T> Out<*mut T> {
    /// Hands a new handle to the caller, who owns it from now on.
    pub(crate) fn give(self, value: T) {
        self.set(Box::into_raw(Box::new(value)));
    }

    /// Hands a new handle to the caller, or NULL for none.
    pub(crate) fn give_or_null(self, value: Option<T>) {
        match value {
            Some(value) => self.give(value),
            None => self.set(std::ptr::null_mut()),
        }
    }
}

/// A fixed-size output (a hash, an id, an address): `N` bytes at `p`.
pub(crate) struct OutArray<const N: usize>(*mut u8);

impl<const N: usize> OutArray<N> {
    /// Checks the slot, the parameter `name`.
    pub(crate) fn new(p: *mut u8, name: &str) -> Result<Self> {
        if p.is_null() {
            return Err(null(name));
        }
        Ok(Self(p))
    }

    /// Writes the N bytes.
    pub(crate) fn set(self, value: &[u8; N]) {
        // SAFETY: `self.0` is non-NULL and, by the caller's contract, points
        // to N writable bytes that do not overlap `value` (ours).
        unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), self.0, N) }
    }
}

/// An extensible struct the host allocates for ehrchain to fill in (a
/// summary): checked (NULL, `struct_size`) before any work is done, written
/// only on success and only within the host's `struct_size`, which is left
/// as the host set it.
pub(crate) struct OutExtensible<T>(*mut T, usize);

impl<T: Extensible> OutExtensible<T> {
    /// Checks the struct, the parameter `name`.
    pub(crate) fn new(p: *mut T, name: &str) -> Result<Self> {
        if p.is_null() {
            return Err(null(name));
        }
        // SAFETY: as in `extensible`; the struct is readable as well.
        let len = layout_within::<T>(unsafe { p.cast::<usize>().read() }, name)?;
        Ok(Self(p, len))
    }

    /// Writes the fields of `value` that lie within the host's struct.
    pub(crate) fn set(self, value: T) {
        let start = size_of::<usize>();
        // SAFETY: `self.0` is non-NULL and, by the caller's contract, points
        // to `struct_size >= self.1` writable bytes, `self.1 <=
        // size_of::<T>()` and ends on a field boundary; `value` is ours. The
        // copy is untyped, padding included.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&raw const value).cast::<u8>().add(start),
                self.0.cast::<u8>().add(start),
                self.1.saturating_sub(start),
            );
        }
    }
}

/// An array of `n` output slots.
pub(crate) struct OutSlots<T>(*mut T, usize);

impl<T> OutSlots<T> {
    /// Checks the array, the parameter `name`.
    pub(crate) fn new(p: *mut T, n: usize, name: &str) -> Result<Self> {
        if p.is_null() {
            return Err(null(name));
        }
        Ok(Self(p, n))
    }

    /// The number of slots.
    pub(crate) fn len(&self) -> usize {
        self.1
    }

    /// Fails unless there is one value per slot.
    fn check_count(&self, values: usize) -> Result<()> {
        if values == self.1 {
            return Ok(());
        }
        Err(Error::new(
            ErrorCode::Internal,
            "internal error: output count differs from the slots",
        ))
    }

    /// Writes one value per slot; `values` must have exactly
    /// [`OutSlots::len`] elements.
    pub(crate) fn set_all(self, values: Vec<T>) -> Result<()> {
        self.check_count(values.len())?;
        for (i, value) in values.into_iter().enumerate() {
            // SAFETY: `self.0` is non-NULL and, by the caller's contract,
            // points to `self.1` writable, aligned slots; `i < self.1`.
            // `write` does not read or drop what was there.
            unsafe { self.0.add(i).write(value) }
        }
        Ok(())
    }
}

impl<T> OutSlots<*mut T> {
    /// Hands one new handle per value to the caller; `values` must have
    /// exactly [`OutSlots::len`] elements.
    pub(crate) fn give_all(self, values: Vec<T>) -> Result<()> {
        self.check_count(values.len())?;
        let handles = values.into_iter().map(|v| Box::into_raw(Box::new(v)));
        self.set_all(handles.collect())
    }
}

/// Writes `data` into the caller's buffer `buf` of `len` bytes and its length
/// into `*out_len`. When `len` is too small, writes only the length needed
/// into `*out_len` and fails with `EHR_BUFFER_TOO_SMALL`.
pub(crate) fn write_bytes(
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
    data: &[u8],
) -> Result<()> {
    let out_len = Out::new(out_len, "out_len")?;
    if data.len() > len {
        out_len.set(data.len());
        return Err(too_small(data.len(), len));
    }
    if !data.is_empty() {
        if buf.is_null() {
            return Err(null("buf"));
        }
        // SAFETY: `buf` is non-NULL and, by the caller's contract, points to
        // `len >= data.len()` writable bytes not overlapping `data` (ours).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len()) };
    }
    out_len.set(data.len());
    Ok(())
}

/// Writes `text` and a terminating NUL into the caller's buffer `buf` of `len`
/// bytes; `*out_len` gets the text length without the NUL. When `len` is too
/// small, writes only the buffer size needed (NUL included) into `*out_len`
/// and fails with `EHR_BUFFER_TOO_SMALL`.
pub(crate) fn write_text(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    text: &str,
) -> Result<()> {
    let out_len = Out::new(out_len, "out_len")?;
    let needed = text.len() + 1;
    if needed > len {
        out_len.set(needed);
        return Err(too_small(needed, len));
    }
    if buf.is_null() {
        return Err(null("buf"));
    }
    let buf = buf.cast::<u8>();
    // SAFETY: `buf` is non-NULL and, by the caller's contract, points to
    // `len >= text.len() + 1` writable bytes not overlapping `text` (ours).
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf, text.len());
        buf.add(text.len()).write(0);
    }
    out_len.set(text.len());
    Ok(())
}

fn too_small(needed: usize, given: usize) -> Error {
    Error::new(
        ErrorCode::BufferTooSmall,
        format!(
            "the output buffer holds {given} bytes but {needed} are needed; call again with a buffer of at least {needed} bytes"
        ),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn a_host_struct_is_read_up_to_the_largest_layout_within_its_size() {
        type T = ehr_transport_callbacks;
        let (batch, block_at, full) = (
            offset_of!(T, anchored_batch),
            offset_of!(T, block_at),
            size_of::<T>(),
        );
        let len = |size| layout_within::<T>(size, "callbacks");
        assert_eq!(len(batch).unwrap(), batch);
        assert_eq!(len(block_at - 1).unwrap(), batch);
        assert_eq!(len(block_at).unwrap(), block_at);
        assert_eq!(len(full - 1).unwrap(), block_at);
        assert_eq!(len(full).unwrap(), full);
        assert_eq!(len(full + 64).unwrap(), full);
        let short = len(batch - 1).unwrap_err();
        assert_eq!(short.code, ErrorCode::InvalidArgument);
        assert_eq!(
            short.message,
            format!(
                "`callbacks->struct_size` is {}, but an ehr_transport_callbacks is at least {batch} \
                 bytes: set it to sizeof(ehr_transport_callbacks) (as \
                 EHR_TRANSPORT_CALLBACKS_INIT does)",
                batch - 1
            )
        );
    }

    #[test]
    fn an_older_hosts_struct_reads_its_later_callbacks_as_null() {
        unsafe extern "C" fn finish_all(
            _: *mut std::ffi::c_void,
            _: *const crate::outbox::ehr_verdict,
            _: usize,
        ) -> crate::result::ehr_result {
            crate::result::ehr_result::OK
        }
        let mut full = ehr_outbox_callbacks {
            finish_all: Some(finish_all),
            ..ehr_outbox_callbacks::default()
        };
        assert!(
            extensible(&raw const full, "outbox")
                .unwrap()
                .finish_all
                .is_some()
        );
        full.struct_size = offset_of!(ehr_outbox_callbacks, finish_all);
        let old = extensible(&raw const full, "outbox").unwrap();
        assert!(old.finish_all.is_none());
        assert_eq!(old.struct_size, full.struct_size);
    }
}
