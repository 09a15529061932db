//! Browser scenarios: `node tests/browser/run.mjs <scenario>`, headless Debian Chromium
//! (`/usr/bin/chromium`) driven by playwright-core, with axe-core accessibility checks and
//! full-page screenshots (see `tests/browser/README.md`).
//!
//! The test starts what the scenario needs (a hub, users, a site) on loopback port 0 and
//! hands the scenario a JSON fixture (`{"url": "https://127.0.0.1:43123", ...}`) in the
//! environment variable `PORTCULLIS_FIXTURE`. `PORTCULLIS_SCREENSHOTS`, when set, is passed on:
//! the scenarios' screenshots land there (e.g. `docs/portal`) instead of a temp dir.
//!
//! Nothing here skips: without Node.js, Chromium or the npm packages the run panics and says
//! to run `scripts/browser-deps` (which `scripts/test` and `.ci/run` call).
//!
//! A run keeps one core busy for a few seconds; a test that runs many scenarios beside other
//! heavy tests can hold [`crate::serial::heavy`] around them (`run` does not take it, so a
//! caller that already holds it does not deadlock).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// How long one scenario may run before it is killed (run.mjs gives up by itself at 120 s).
pub const DEADLINE: Duration = Duration::from_secs(150);

/// The Chromium the scenarios drive (Debian's package).
pub const CHROMIUM: &str = "/usr/bin/chromium";

const HINT: &str = "run scripts/browser-deps first (scripts/test does)";

/// The workspace root (where `tests/browser` lives).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// `tests/browser`: the scenarios, their library and their npm packages.
pub fn dir() -> PathBuf {
    workspace_root().join("tests/browser")
}

/// Runs `tests/browser/scenarios/<scenario>.mjs` with `fixture` and returns its stdout.
/// Panics, with the scenario's stdout and stderr, when it fails (its error names the step
/// that failed) or runs past [`DEADLINE`].
pub async fn run(scenario: &str, fixture: &Value) -> String {
    let dir = dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir()
            && dir.join("node_modules/axe-core").is_dir(),
        "browser scenario {scenario}: {} has no playwright-core/axe-core: {HINT}",
        dir.join("node_modules").display()
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "browser scenario {scenario}: {CHROMIUM} is missing: {HINT}"
    );
    let root = workspace_root();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("run.mjs"))
        .arg(scenario)
        .current_dir(&root)
        .env("PORTCULLIS_FIXTURE", fixture.to_string())
        // Playwright colours its call logs even into a pipe; a panic message has no use for
        // escape codes.
        .env("FORCE_COLOR", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("browser scenario {scenario}: cannot start node ({e}): {HINT}"));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let stdout = tokio::spawn(async move {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s).await;
        String::from_utf8_lossy(&s).into_owned()
    });
    let stderr = tokio::spawn(async move {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s).await;
        String::from_utf8_lossy(&s).into_owned()
    });

    let status = match tokio::time::timeout(DEADLINE, child.wait()).await {
        Ok(status) => Some(status.expect("waiting for node")),
        Err(_) => {
            // SIGTERM first: Playwright's handler closes the browser (which runs in a process
            // group of its own, out of reach of a kill of node alone) and removes its profile.
            if let Some(pid) = child.id() {
                let _ = Command::new("sh")
                    .arg("-c")
                    .arg(format!("kill -TERM {pid}"))
                    .status()
                    .await;
            }
            if tokio::time::timeout(Duration::from_secs(5), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
            None
        }
    };
    let elapsed = started.elapsed();
    let stdout = stdout.await.unwrap_or_default();
    let stderr = stderr.await.unwrap_or_default();
    match status {
        Some(s) if s.success() => {
            println!(
                "browser scenario {scenario}: ok in {:.1} s\n{stdout}",
                elapsed.as_secs_f64()
            );
            stdout
        }
        Some(s) => panic!(
            "browser scenario {scenario} failed ({s}) after {:.1} s\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            elapsed.as_secs_f64()
        ),
        None => panic!(
            "browser scenario {scenario} killed after {} s\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            DEADLINE.as_secs()
        ),
    }
}
