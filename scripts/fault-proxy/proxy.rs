//! The fault proxy (`scripts/fault-proxy/proxy.mjs`) as the fault tests
//! start it: they include this file (`#[path = …] mod proxy;`), like the
//! fault table's row (`scripts/fault-report/row.rs`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The proxy in front of the node, spoiling a share of the requests; killed
/// when dropped.
pub(crate) struct Proxy {
    child: Child,
    /// Where it listens (`http://127.0.0.1:<port>`).
    pub(crate) url: String,
}

impl Proxy {
    /// A proxy in front of `upstream` that lets the first `pass_first`
    /// requests through unspoiled (a client's connection check, say), then
    /// spoils `share` of the others with `fault` (seeded with `seed`).
    pub(crate) fn start(
        upstream: &str,
        fault: &str,
        share: f64,
        seed: u64,
        pass_first: u32,
    ) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/fault-proxy/proxy.mjs"
        );
        let mut child = Command::new("node")
            .args([
                script,
                upstream,
                fault,
                &share.to_string(),
                &seed.to_string(),
            ])
            .args(["--lifetime", "600", "--pass-first", &pass_first.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs the fault proxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("the proxy's stdout"))
            .read_line(&mut line)
            .expect("the proxy says where it listens");
        let port = line.trim().strip_prefix("listening ").expect(&line);
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
