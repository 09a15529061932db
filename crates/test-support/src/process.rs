//! [`Proc`]: the real `portcullis` binary as a child process, with its log lines on a channel
//! so a test waits for readiness lines instead of sleeping.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process whose stderr lines arrive on a channel; killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct Proc {
    /// The child (`kill` sends SIGKILL).
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    /// Starts `bin` with `args`, logging at info level.
    pub fn spawn(bin: &str, args: &[&str]) -> Proc {
        let mut child = Command::new(bin)
            .args(args)
            .env("PORTCULLIS_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts");
        let err = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines: rx }
    }

    /// Waits (at most 30 s) for a log line containing `needle` and returns it.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => panic!("no log line containing {needle:?}"),
            }
        }
    }

    /// The log lines that arrived and were not consumed yet.
    pub fn drain(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Kills the process with SIGKILL (no chance to flush or clean up) and reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Starts `bin hub` on the data directory `data` with the API and the tunnel on loopback port
/// 0 and no entry point listening, waits until it listens, and returns it with its API URL
/// (`https://127.0.0.1:port`).
pub fn start_hub(bin: &str, data: &std::path::Path) -> (Proc, String) {
    let proc = Proc::spawn(
        bin,
        &[
            "hub",
            "--data-dir",
            data.to_str().expect("a UTF-8 path"),
            "--api",
            "127.0.0.1:0",
            "--tunnel",
            "127.0.0.1:0",
            "--socks5",
            "",
            "--http-proxy",
            "",
            "--ni",
            "",
            "--grace-secs",
            "0",
        ],
    );
    let line = proc.wait_for("hub listening");
    let url = format!("https://{}", field(&line, "api"));
    (proc, url)
}

/// The value of `key=` in a log line (`api=127.0.0.1:1234`, `socks5=Some(…)`).
pub fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let at = line
        .find(&format!("{key}="))
        .unwrap_or_else(|| panic!("{key} in {line}"))
        + key.len()
        + 1;
    let rest = line[at..].trim_start_matches("Some(");
    rest.split(|c: char| c.is_whitespace() || c == ')')
        .next()
        .unwrap_or_default()
}
