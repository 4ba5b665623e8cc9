#!/usr/bin/env python3
"""Splits a `perf record --call-graph dwarf` profile of `profile_generate` into
the steps of TransactionGenerator::generate.

    perf record -F 1500 --call-graph dwarf,16384 -o perf.data \
        target/release/examples/profile_generate 1500000
    perf script -i perf.data -F period,ip,sym --no-inline | python3 benches/tools/perf-steps.py

Each sample inside `profile_generate::run` is charged to the innermost step
function on its stack (first match walking from `generate` towards the leaf
wins for nested steps, see STEPS). Separately, samples whose leaf is the
allocator or memcpy/memmove are summed as "allocation and copying", across steps.
"""

import collections
import sys

# (step, substring of a frame's symbol). Checked from the root of the stack
# towards the leaf; the deepest matching entry wins, so put outer steps first.
STEPS = [
    ("validation (template checks)", "check_values"),
    ("validation (template checks)", "check_envelope_data"),
    ("validation (template checks)", "valid_identifier"),
    ("validation (template checks)", "TemplateRegistry::get"),
    ("patient pseudonym (HMAC-SHA256)", "Pseudonymizer::pseudonym"),
    ("key store lookup", "as ehrchain_core::keys::KeyStore>::master_key"),
    ("envelope framing (header, plaintext copy)", "UnsealedEnvelope::new"),
    ("envelope framing (header, plaintext copy)", "UnsealedEnvelope::seal"),
    ("record JSON (written into the envelope)", "record::write_record"),
    ("HKDF-SHA256 extract", "Hkdf<H>::extract"),
    ("HKDF-SHA256 expand", "Hkdf<H>::expand"),
    ("AES-256 key schedule and GHASH key", "KeyInit>::new"),
    ("AES-256 key schedule and GHASH key", "as core::convert::From<Aes>>::from"),
    ("AES-256 key schedule and GHASH key", "AesEnc<15_usize>::new"),
    ("AES-GCM: AES-CTR keystream", "encrypt_inout_detached"),
    ("AES-GCM: AES-CTR keystream", "x86_vaes512::Aes<_>::encrypt"),
    ("AES-GCM: GHASH", "ghash::"),
    ("AES-GCM: GHASH", "polyval::"),
    ("AES-256 key schedule and GHASH key", "Polyval::new"),
    ("SHA-256 record hash", "Envelope::record_hash"),
    ("ABI encoding (calldata)", "encode_call"),
    ("drop of the TC", "drop_in_place<ehrchain_core::generator::ChainTransaction>"),
]
ALLOC = ("malloc", "free", "realloc", "memmove", "memcpy", "memset", "_int_", "finish_grow",
         "do_reserve_and_handle", "__rust_alloc", "__rust_dealloc", "__rust_realloc")


def samples(lines):
    period, frames = 0, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield period, frames
            period, frames = 0, []
        elif not line.startswith("\t") and not line.startswith(" " * 8):
            period = int(line.split()[0])
        else:
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "?")
    if frames:
        yield period, frames


def main():
    by_step = collections.Counter()
    alloc_by_step = collections.Counter()
    total = count = 0
    for period, frames in samples(sys.stdin):
        if not any("profile_generate::run" in f for f in frames):
            continue
        total += period
        count += 1
        step = "generate (other)"
        for frame in reversed(frames):  # root first
            for name, pattern in STEPS:
                if pattern in frame:
                    step = name
                    break
        by_step[step] += period
        if any(a in frames[0] for a in ALLOC):
            alloc_by_step[step] += period
    if total == 0:
        sys.exit("no samples inside profile_generate::run")
    print(f"{count} samples inside profile_generate::run")
    width = max(len(s) for s in by_step)
    print(f"{'step':<{width}}  share  (of which alloc/copy)")
    for step, n in by_step.most_common():
        print(f"{step:<{width}}  {100 * n / total:5.1f}%  ({100 * alloc_by_step[step] / total:4.1f}%)")
    print(f"{'allocation and copying, all steps':<{width}}  {100 * sum(alloc_by_step.values()) / total:5.1f}%")


main()
