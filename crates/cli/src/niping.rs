//! `portcullis niping`: SAP's niping test tool with niping's option letters, so that the
//! commands in SAP notes and runbooks work unchanged (`niping -s`, `niping -c -H host`,
//! `niping -c -H /H/saprouter/H/host -L 100 -B 10000`).
//!
//! The work is done by `portcullis_router::niping`; this module maps options and prints
//! what niping prints. The server announces its address on stdout as soon as it listens, so
//! that scripts and tests can start it with `-S 0` and learn the port.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{ArgGroup, Args};
use portcullis_ni::niping::{DEFAULT_LEN, DEFAULT_PORT};
use portcullis_router::niping::{self, Client, ClientOptions, ServerOptions, MAX_LEN, MIN_LEN};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The client's timeout when `-W` is not given.
const DEFAULT_TIMEOUT_MS: u64 = 5000;

/// `portcullis niping`: exactly one of `-s` and `-c`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["server", "client"])))]
pub struct NipingArgs {
    /// Server: echo every message back, until Ctrl-C or SIGTERM.
    #[arg(short = 's')]
    pub server: bool,
    /// Client: send messages to a niping server and time each echo.
    #[arg(short = 'c')]
    pub client: bool,
    /// Client: the server's host, or a route string (/H/saprouter/S/3299/H/host) whose last
    /// hop is the server. Server: the address to listen on [default: 0.0.0.0].
    #[arg(
        short = 'H',
        value_name = "HOST|ROUTE",
        required_if_eq("client", "true")
    )]
    pub host: Option<String>,
    /// Client: the server's port, also for a route string's last hop when it has no /S/.
    /// Server: the port to listen on, 0 for any free port.
    #[arg(short = 'S', value_name = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Client: messages to send.
    #[arg(
        short = 'L',
        value_name = "LOOPS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..),
        conflicts_with = "server"
    )]
    pub loops: u32,
    /// Client: bytes per message, at least 10 (every niping buffer starts with the eye
    /// catcher EYECATCHER), at most 64 MiB.
    #[arg(
        short = 'B',
        value_name = "BYTES",
        default_value_t = DEFAULT_LEN,
        value_parser = parse_len,
        conflicts_with = "server"
    )]
    pub len: usize,
    /// Timeout in milliseconds. Client: for the connection and for each echo [default:
    /// 5000]. Server: close a connection that stays silent this long [default: never].
    #[arg(short = 'W', value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: Option<u64>,
}

/// `-B`: a buffer length the client can send (see [`MIN_LEN`], [`MAX_LEN`]).
fn parse_len(s: &str) -> Result<usize, String> {
    let len: usize = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of bytes"))?;
    if len < MIN_LEN {
        return Err(format!(
            "{len} bytes is too short: a niping buffer is at least {MIN_LEN} bytes, since it \
             starts with the eye catcher EYECATCHER"
        ));
    }
    if len > MAX_LEN {
        return Err(format!(
            "{len} bytes is too long: at most {MAX_LEN} (64 MiB), the largest frame a niping \
             server accepts by default"
        ));
    }
    Ok(len)
}

/// Runs the server until Ctrl-C or SIGTERM, or the client once.
pub async fn run(args: NipingArgs) -> Result<()> {
    if args.server {
        run_server(args, crate::signal::stop_signal()).await
    } else {
        run_client(args).await
    }
}

/// The server: listen, announce the address, echo until `stop` completes.
pub async fn run_server(args: NipingArgs, stop: impl Future<Output = ()>) -> Result<()> {
    let host = args.host.as_deref().unwrap_or("0.0.0.0");
    let bind_host = host.trim_start_matches('[').trim_end_matches(']');
    let listener = TcpListener::bind((bind_host, args.port))
        .await
        .with_context(|| format!("cannot listen on {host} port {}", args.port))?;
    let addr = listener.local_addr()?;
    let opts = ServerOptions {
        idle_timeout: args.timeout_ms.map(Duration::from_millis),
        ..ServerOptions::default()
    };
    // The readiness signal: one line, flushed before the first connection can be served.
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "niping server listening on {addr}")?;
        out.flush()?;
    }
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn(niping::serve(listener, opts, shutdown.clone()));
    stop.await;
    shutdown.cancel();
    serving.await.context("the niping server task failed")?;
    Ok(())
}

/// The client: connect, send, print niping's report.
pub async fn run_client(args: NipingArgs) -> Result<()> {
    let target = args
        .host
        .context("the client needs -H <host|route string>")?;
    let opts = ClientOptions {
        target,
        port: args.port,
        loops: args.loops,
        len: args.len,
        timeout: Duration::from_millis(args.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)),
    };
    let client = Client::connect(&opts).await?;
    println!("connect to server o.k.");
    println!(
        "send and receive {} messages (len {})",
        opts.loops, opts.len
    );
    let report = client.run().await?;
    println!();
    print!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        niping: NipingArgs,
    }

    fn parse(args: &[&str]) -> Result<NipingArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("niping").chain(args.iter().copied())).map(|c| c.niping)
    }

    #[test]
    fn niping_letters_and_defaults() {
        let a = parse(&[
            "-c",
            "-H",
            "/H/r1/H/app",
            "-L",
            "5",
            "-B",
            "2000",
            "-W",
            "100",
        ])
        .unwrap();
        assert!(a.client && !a.server);
        assert_eq!(a.host.as_deref(), Some("/H/r1/H/app"));
        assert_eq!(
            (a.port, a.loops, a.len, a.timeout_ms),
            (3298, 5, 2000, Some(100))
        );
        let a = parse(&["-s", "-S", "0"]).unwrap();
        assert!(a.server && a.host.is_none());
        assert_eq!((a.port, a.loops, a.len, a.timeout_ms), (0, 10, 1000, None));
    }

    #[test]
    fn mistakes_are_refused_with_a_reason() {
        for (args, needle) in [
            (&["-H", "app"][..], "required"),
            (&["-s", "-c", "-H", "app"][..], "cannot be used with"),
            (&["-c"][..], "-H"),
            (&["-c", "-H", "app", "-B", "9"][..], "eye catcher"),
            (&["-c", "-H", "app", "-B", "67108865"][..], "too long"),
            (&["-c", "-H", "app", "-L", "0"][..], "-L"),
            (&["-s", "-L", "5"][..], "cannot be used with"),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }
}
