//! Runs `tests/pysap/ni_client.py`, the pysap-based third-party NI client, and parses its
//! JSON answer.
//!
//! The venv comes from `scripts/pysap-venv` (which `scripts/test` and `.ci/run` call); the
//! tests do not download anything themselves. Set `PORTCULLIS_PYSAP_PYTHON` to use another
//! interpreter with pysap installed.

use std::path::PathBuf;

use serde_json::Value;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PORTCULLIS_PYSAP_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join("target/pysap-venv/bin/python");
    assert!(
        venv.exists(),
        "pysap is not installed: run ./scripts/pysap-venv (./scripts/test does) or set \
         PORTCULLIS_PYSAP_PYTHON"
    );
    venv
}

/// `ni_client.py route` through `hops` (`host:port[:password]`, first router first, target
/// last) in `mode` (`msg` or `raw`), sending `payload`.
pub async fn route(hops: &[String], mode: &str, payload: &str) -> Value {
    let mut args = vec!["route"];
    for hop in hops {
        args.extend(["--hop", hop.as_str()]);
    }
    args.extend(["--mode", mode, "--payload", payload]);
    run(&args).await
}

/// Runs `ni_client.py <args>` and returns its JSON output. Panics with the script's stderr
/// when it fails or prints no JSON.
pub async fn run(args: &[&str]) -> Value {
    let script = workspace_root().join("tests/pysap/ni_client.py");
    let output = tokio::time::timeout(
        crate::WAIT,
        tokio::process::Command::new(python())
            .arg(script)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("pysap client finishes")
    .expect("pysap client runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pysap client failed ({}):\n{stderr}",
        output.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("pysap client printed no JSON ({e}):\n{stdout}\n{stderr}"))
}
