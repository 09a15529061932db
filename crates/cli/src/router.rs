//! `portcullis router`: SAProuter's command line (sap-reference §1.8).
//!
//! The options are SAProuter's letters, so start scripts and runbooks keep working:
//! `-r` starts a router, the other lower-case letters administer a running one on the same
//! host. Options SAProuter has and this router does not (`-K`, `-Y`, …) are refused with the
//! replacement, never silently ignored. See `docs/router.md`.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{ArgGroup, Args};
use portcullis_ni::rterr::format_error_time;
use portcullis_ni::{AdminCommand, InfoResponse};
use portcullis_router::admin_client::{self, AdminReply};
use portcullis_router::{Router, RouterConfig, TlsFiles};
use tokio_util::sync::CancellationToken;

/// SAProuter's options. Exactly one of `-r -s -p -l -L -n -t -c -z -d -f`.
#[derive(Debug, Args)]
#[command(
    disable_help_flag = true,
    group(ArgGroup::new("action").required(true).multiple(false)
        .args(["start", "stop", "soft", "info", "info_long", "reload", "trace_toggle",
               "cancel", "hide", "dump", "flush"]))
)]
pub struct RouterArgs {
    /// Start the router.
    #[arg(short = 'r')]
    start: bool,
    /// Stop the running router (routes end with −98).
    #[arg(short = 's')]
    stop: bool,
    /// Soft shutdown: refuse new routes, stop when the last one ends.
    #[arg(short = 'p')]
    soft: bool,
    /// Show the running router's clients.
    #[arg(short = 'l')]
    info: bool,
    /// Like -l, with flags and connection times.
    #[arg(short = 'L')]
    info_long: bool,
    /// Re-read the route permission table; routed connections stay.
    #[arg(short = 'n')]
    reload: bool,
    /// Toggle the trace level of the running router.
    #[arg(short = 't')]
    trace_toggle: bool,
    /// Cancel a connection by its client id (repeat for several); both sides get −97.
    #[arg(short = 'c', value_name = "ID")]
    cancel: Vec<u32>,
    /// Hide error detail from clients of the running router.
    #[arg(short = 'z')]
    hide: bool,
    /// Dump buffers (nothing is buffered; accepted for scripts).
    #[arg(short = 'd')]
    dump: bool,
    /// Flush buffers (nothing is buffered; accepted for scripts).
    #[arg(short = 'f')]
    flush: bool,

    /// Route permission table.
    #[arg(short = 'R', value_name = "ROUTTAB", default_value = "./saprouttab")]
    table: PathBuf,
    /// Port or service name to listen on (administration: of the running router).
    #[arg(short = 'S', value_name = "SERVICE", default_value = "3299")]
    service: String,
    /// Address to listen on (default: all); administration: the router's host.
    #[arg(short = 'H', value_name = "HOST")]
    host: Option<String>,
    /// Log file, SAProuter's format (default: no log).
    #[arg(short = 'G', value_name = "LOGFILE")]
    log_file: Option<PathBuf>,
    /// Trace file.
    #[arg(short = 'T', value_name = "TRACEFILE", default_value = "dev_rout")]
    trace: PathBuf,
    /// Trace level 1–3.
    #[arg(short = 'V', value_name = "LEVEL", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=3))]
    trace_level: u8,
    /// Most clients at once; a routed connection takes two.
    #[arg(short = 'C', value_name = "CLIENTS", default_value_t = 800)]
    max_clients: usize,
    /// Timeout for network calls and for the first message, in milliseconds.
    #[arg(short = 'W', value_name = "MS", default_value_t = 5000)]
    timeout_ms: u64,
    /// Hide error detail from clients (the default; see --show-error-detail).
    #[arg(short = 'Z')]
    hide_detail: bool,
    /// Send release, module and host name in errors, as SAProuter does without -Z.
    #[arg(long, conflicts_with = "hide_detail")]
    show_error_detail: bool,
    /// Append to the log and trace files instead of overwriting them.
    #[arg(short = 'E')]
    append: bool,
    /// Largest log file in bytes; a full one is renamed to <file>.old.
    #[arg(short = 'J', value_name = "BYTES")]
    log_max: Option<u64>,
    /// Password for information requests (-l/-L); at most 19 characters.
    #[arg(short = 'P', value_name = "INFOPASS")]
    info_password: Option<String>,
    /// Enable IPv6 (listen on all IPv6 and IPv4 addresses, connect to IPv6 targets).
    #[arg(short = '6')]
    ipv6: bool,
    /// Accepted for compatibility: this router never does reverse DNS lookups.
    #[arg(short = 'D')]
    no_reverse_dns: bool,
    /// This router's certificate chain (PEM) for TLS hops.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    tls_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificates (PEM) of the routers this one accepts and connects to over TLS.
    #[arg(long, requires = "tls_cert")]
    tls_ca: Option<PathBuf>,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,

    /// SNC name (SAProuter -K): replaced by TLS hops.
    #[arg(short = 'K', hide = true, num_args = 0..=1, default_missing_value = "")]
    snc: Option<String>,
    /// Unsupported SAProuter options, refused with a reason.
    #[arg(short = 'Y', hide = true)]
    max_servers: Option<String>,
    #[arg(short = 'A', hide = true)]
    snc_init: Option<String>,
    #[arg(short = 'a', hide = true)]
    library: Option<String>,
    #[arg(short = 'B', hide = true)]
    queue_packets: Option<String>,
    #[arg(short = 'Q', hide = true)]
    queue_bytes: Option<String>,
    #[arg(short = 'M', hide = true)]
    port_range: Option<String>,
    #[arg(short = 'I', hide = true)]
    source_address: Option<String>,
}

impl RouterArgs {
    fn refuse_unsupported(&self) -> Result<()> {
        if self.snc.is_some() || self.snc_init.is_some() || self.library.is_some() {
            bail!(
                "SNC (-K, -A, -a) is replaced by TLS hops: start with --tls-cert, --tls-key and \
                 --tls-ca and keep your KT/KP/KS/KD lines (peer names are certificate \
                 subjects); see docs/router.md"
            );
        }
        let unsupported = [
            (
                "-Y",
                &self.max_servers,
                "one router serves up to -C clients; raise -C instead",
            ),
            (
                "-B",
                &self.queue_packets,
                "routes are relayed without per-client queues",
            ),
            (
                "-Q",
                &self.queue_bytes,
                "routes are relayed without per-client queues",
            ),
            (
                "-M",
                &self.port_range,
                "outgoing ports are chosen by the operating system",
            ),
            (
                "-I",
                &self.source_address,
                "the operating system chooses the source address",
            ),
        ];
        for (option, value, why) in unsupported {
            if value.is_some() {
                bail!("option {option} is not supported: {why}");
            }
        }
        if self
            .info_password
            .as_ref()
            .is_some_and(|p| p.len() > portcullis_ni::admin::INFO_PASSWORD_LEN)
        {
            bail!(
                "-P: the info password has at most {} characters (the protocol's field size)",
                portcullis_ni::admin::INFO_PASSWORD_LEN
            );
        }
        Ok(())
    }

    fn port(&self) -> Result<u16> {
        if self.service == "0" {
            return Ok(0);
        }
        portcullis_ni::service::resolve_service(&self.service)
            .with_context(|| format!("-S: unknown service '{}'", self.service))
    }

    fn config(&self) -> Result<RouterConfig> {
        let port = self.port()?;
        let ip = match &self.host {
            Some(host) => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .with_context(|| format!("-H: '{host}' is not an IP address to listen on"))?,
            None if self.ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let mut config = RouterConfig::new(&self.table);
        config.listen = SocketAddr::new(ip, port);
        config.log_file = self.log_file.clone();
        config.log_max_bytes = self.log_max;
        config.append = self.append;
        config.trace_file = Some(self.trace.clone());
        config.trace_level = self.trace_level;
        config.max_clients = self.max_clients;
        config.timeout = Duration::from_millis(self.timeout_ms.max(1));
        config.hide_error_detail = !self.show_error_detail;
        config.info_password = self.info_password.clone();
        config.ipv6 = self.ipv6;
        config.host_name = host_name();
        if let (Some(cert), Some(key), Some(ca)) = (&self.tls_cert, &self.tls_key, &self.tls_ca) {
            config.tls = Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                ca: ca.clone(),
            });
        }
        Ok(config)
    }

    fn admin_command(&self) -> Option<AdminCommand> {
        let info = || AdminCommand::Info {
            password: self.info_password.clone().unwrap_or_default(),
        };
        Some(if self.stop {
            AdminCommand::Stop
        } else if self.soft {
            AdminCommand::SoftShutdown
        } else if self.info || self.info_long {
            info()
        } else if self.reload {
            AdminCommand::NewRouteTable
        } else if self.trace_toggle {
            AdminCommand::ToggleTrace
        } else if !self.cancel.is_empty() {
            AdminCommand::Cancel {
                ids: self.cancel.clone(),
            }
        } else if self.hide {
            AdminCommand::HideErrorInfo
        } else if self.dump {
            AdminCommand::DumpBuffers
        } else if self.flush {
            AdminCommand::FlushBuffers
        } else {
            return None;
        })
    }
}

/// This machine's name, for error texts (`<host>: route permission denied …`).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Runs `portcullis router …`; a started router serves until `-s`, the end of a soft
/// shutdown, or `stop`.
pub async fn run(args: RouterArgs, stop: impl Future<Output = ()>) -> Result<()> {
    args.refuse_unsupported()?;
    let Some(command) = args.admin_command() else {
        return start(&args, stop).await;
    };
    let host = args.host.clone().unwrap_or_else(|| "localhost".to_owned());
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let reply = match admin_client::send(&host, &args.service, command.clone(), timeout).await {
        Ok(reply) => reply,
        Err(portcullis_router::client::ClientError::Refused(refusal)) => {
            bail!("the router at {host}:{} refused: {refusal}", args.service)
        }
        Err(e) => return Err(e).context(format!("router at {host}:{}", args.service)),
    };
    match reply {
        AdminReply::Info(info) => print!("{}", render_info(&info, args.info_long)),
        AdminReply::Done => println!("{}", done_message(&command)),
    }
    Ok(())
}

async fn start(args: &RouterArgs, stop: impl Future<Output = ()>) -> Result<()> {
    let config = args.config()?;
    let router = Router::bind(config).await.context("router not started")?;
    let addr = router.local_addr()?;
    println!(
        "SAProuter (Portcullis {}) running on port {} (PID = {})",
        env!("CARGO_PKG_VERSION"),
        addr.port(),
        std::process::id()
    );
    println!("portcullis router listening on {addr}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let shutdown = CancellationToken::new();
    let run = router.run(shutdown.clone());
    tokio::pin!(run);
    tokio::select! {
        () = &mut run => {}
        () = stop => {
            shutdown.cancel();
            run.await;
        }
    }
    Ok(())
}

fn done_message(command: &AdminCommand) -> String {
    match command {
        AdminCommand::Stop => "router stopped".into(),
        AdminCommand::SoftShutdown => {
            "soft shutdown: no new routes; the router stops when the last one ends".into()
        }
        AdminCommand::NewRouteTable => "route permission table reloaded".into(),
        AdminCommand::ToggleTrace => "trace level toggled".into(),
        AdminCommand::Cancel { ids } => {
            let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
            format!("cancelled {}", ids.join(", "))
        }
        AdminCommand::HideErrorInfo => "error detail hidden from clients".into(),
        _ => "done".into(),
    }
}

/// The `-l` / `-L` listing.
pub fn render_info(info: &InfoResponse, long: bool) -> String {
    let server = &info.server;
    let mut out = format!(
        "SAP Network Interface Router (Portcullis) running on port {} (PID = {})\n\
         started on {}\n\n",
        server.port,
        server.pid,
        format_error_time(i64::try_from(server.started_on).unwrap_or(i64::MAX)),
    );
    if long {
        out.push_str(&format!(
            "{:<6} {:<8} {:<24} {:<40} {:<10} {}\n",
            "ID", "FLAGS", "CONNECTED ON", "CLIENT", "PARTNER", "SERVICE"
        ));
    } else {
        out.push_str(&format!(
            "{:<6} {:<40} {:<40} {}\n",
            "ID", "CLIENT", "PARTNER", "SERVICE"
        ));
    }
    for c in &info.clients {
        let traced = if c.is_traced() { "*" } else { "" };
        if long {
            let flags = format!(
                "{}{}{}",
                if c.is_connected() { "C" } else { "-" },
                if c.is_routed() { "R" } else { "-" },
                if c.is_traced() { "T" } else { "-" },
            );
            out.push_str(&format!(
                "{:<6} {:<8} {:<24} {:<40} {:<10} {}\n",
                format!("{}{traced}", c.id),
                flags,
                format_error_time(i64::try_from(c.connected_on).unwrap_or(i64::MAX)),
                c.address,
                c.partner,
                c.service
            ));
        } else {
            out.push_str(&format!(
                "{:<6} {:<40} {:<40} {}\n",
                format!("{}{traced}", c.id),
                c.address,
                c.partner,
                c.service
            ));
        }
    }
    out.push('\n');
    for line in &info.lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}
