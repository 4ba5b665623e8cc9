//! Prints the benchmark fixture as JSON for the peer harness
//! (`benches/peers/`): the template, the keys, the TIs of every record size
//! with the TC ehrchain generates for each under a fixed nonce, the roots of
//! the benchmark batches and one depth-20 proof. The harness re-implements the
//! pipeline with viem / ethers / node:crypto / WebCrypto and refuses to time
//! it unless it reproduces these bytes exactly: the peers do the same work.
//!
//! ```text
//! cargo run --release -p ehrchain-benches --example peer_fixture > fixture.json
//! ```

use std::error::Error;
use std::io::Write;

use ehrchain_benches::{
    CHAIN_ID, Fixture, NOW, PSEUDONYM_KEY, PSEUDONYM_KEY_ID, RECORD_SIZES, REGISTRY, SEALING_KEY,
    SEALING_KEY_ID, batch_of, rng, template_json,
};
use ehrchain_core::Bytes;
use rand_core::RngCore;
use serde_json::json;

/// Batch sizes the harness builds (the `batch_build` bench's).
const BATCH_SIZES: [u32; 3] = [1_000, 100_000, 1_000_000];
/// A power-of-two batch, for which OpenZeppelin's complete tree and
/// ehrchain's are the same tree: the harness checks the roots agree.
const CHECK_BATCH: u32 = 1 << 10;
/// The proof the verification benches time: a leaf of a 2^20-record batch.
const PROOF_BATCH: u32 = 1 << 20;
const PROOF_INDEX: u32 = 777_777;

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let fx = Fixture::new()?;
    let mut nonce = [0u8; 12];
    rng().fill_bytes(&mut nonce);
    let mut tis = Vec::new();
    for size in RECORD_SIZES {
        let ti = fx.ti_with_record_size(size)?;
        // A fresh RNG hands the generator the same nonce as above.
        let tc = fx.generator.generate(&fx.registry, &ti, NOW, &mut rng())?;
        tis.push(json!({
            "record_bytes": size,
            "ti": serde_json::from_str::<serde_json::Value>(&ti.to_json())?,
            "nonce": Bytes::copy_from_slice(&nonce),
            "calldata": tc.calldata,
            "envelope": Bytes::copy_from_slice(tc.envelope.as_bytes()),
            "recordHash": tc.record_hash,
        }));
    }
    let batches = BATCH_SIZES
        .iter()
        .map(|&n| Ok(json!({ "leaves": n, "root": batch_of(n)?.root() })))
        .collect::<Result<Vec<_>, Box<dyn Error + Send + Sync>>>()?;
    let proof = batch_of(PROOF_BATCH)?.proof(PROOF_INDEX)?;
    let fixture = json!({
        "now_ms": NOW,
        "chainId": CHAIN_ID,
        "registry": REGISTRY,
        "sealing_key_id": SEALING_KEY_ID,
        "sealing_key": Bytes::copy_from_slice(&SEALING_KEY),
        "pseudonym_key_id": PSEUDONYM_KEY_ID,
        "pseudonym_key": Bytes::copy_from_slice(&PSEUDONYM_KEY),
        "template": serde_json::from_str::<serde_json::Value>(&template_json()?)?,
        "tis": tis,
        "batch_hash_rule": "record hash i = u32be(i) || 28 bytes 0x5a",
        "batches": batches,
        "check_batch": { "leaves": CHECK_BATCH, "root": batch_of(CHECK_BATCH)?.root() },
        "proof": serde_json::from_str::<serde_json::Value>(&proof.to_json())?,
    });
    writeln!(
        std::io::stdout(),
        "{}",
        serde_json::to_string_pretty(&fixture)?
    )?;
    Ok(())
}
