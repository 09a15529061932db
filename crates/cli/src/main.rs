//! The `portcullis` binary: argument parsing and wiring only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use portcullis::admin::AdminCmd;
use portcullis_client::ApiClient;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Time-bound, audited access to systems in a customer's network, with no inbound port"
)]
struct Cli {
    /// Log filter, e.g. `info` or `portcullis_hub=debug`.
    #[arg(long, env = "PORTCULLIS_LOG", default_value = "info", global = true)]
    log: String,
    /// Log as JSON lines.
    #[arg(long, env = "PORTCULLIS_LOG_JSON", global = true)]
    log_json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the hub (API, tunnel endpoint, SOCKS5 and HTTP proxy entries); `hub backup` and
    /// `hub restore` save and restore its data directory.
    #[command(args_conflicts_with_subcommands = true)]
    Hub {
        #[command(subcommand)]
        cmd: Option<portcullis::hub_backup::HubCmd>,
        #[command(flatten)]
        args: HubArgs,
    },
    /// The on-premise connector.
    #[command(subcommand)]
    Connector(ConnectorCmd),
    /// Administers the hub over its REST API.
    Admin {
        #[command(flatten)]
        hub: HubClientArgs,
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    /// The tamper-evident audit log: list, verify (on the hub or an exported file), export.
    ///
    /// `audit verify` exits with 0 when the chain is intact, 1 when it is broken, 2 when it
    /// could not be checked.
    Audit {
        #[command(flatten)]
        hub: portcullis::audit::HubOpts,
        #[command(subcommand)]
        cmd: portcullis::audit::AuditCmd,
    },
    /// Remote connections: users, systems, connection types, service connections, windows,
    /// grants, summary.
    #[command(flatten)]
    Remote(portcullis::remote::RemoteCmd),
    /// Forwards a local port to a system behind a connector, through the hub's HTTPS port.
    Connect(ConnectArgs),
    /// A SAProuter-compatible router, with SAProuter's options: `-r` starts one, `-s -p -l
    /// -L -n -t -c -z` administer the one running on this host. See docs/router.md.
    Router(portcullis::router::RouterArgs),
    /// SAP's niping: an NI echo server (-s), or a client (-c) that times round trips to one,
    /// directly or through SAProuters.
    Niping(portcullis::niping::NipingArgs),
    /// Asks a readiness endpoint once: exit 0 when ready, 1 when not (why on stderr), 2 when
    /// nothing answered. For container and systemd health checks.
    Healthcheck(portcullis::healthcheck::HealthcheckArgs),
    /// Prints configuration examples.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Hub, connector and two demo back ends in one process on 127.0.0.1, for a first look.
    Quickstart {
        /// Where to keep state (reused on the next start).
        #[arg(long, default_value = "./portcullis-quickstart")]
        dir: PathBuf,
    },
}

#[derive(Debug, Args)]
struct HubArgs {
    /// Configuration file (TOML); see `portcullis config example hub`.
    #[arg(long, env = "PORTCULLIS_HUB_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (database, CA, certificates).
    #[arg(long, env = "PORTCULLIS_HUB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Names and IPs for the server certificate (repeat); the first is what connectors verify.
    #[arg(
        long = "server-name",
        env = "PORTCULLIS_HUB_SERVER_NAMES",
        value_delimiter = ','
    )]
    server_names: Vec<String>,
    /// REST API listen address.
    #[arg(long, env = "PORTCULLIS_HUB_API")]
    api: Option<String>,
    /// Tunnel endpoint listen address.
    #[arg(long, env = "PORTCULLIS_HUB_TUNNEL")]
    tunnel: Option<String>,
    /// SOCKS5 entry listen address ("" disables).
    #[arg(long, env = "PORTCULLIS_HUB_SOCKS5")]
    socks5: Option<String>,
    /// HTTP CONNECT proxy listen address ("" disables).
    #[arg(long, env = "PORTCULLIS_HUB_HTTP_PROXY")]
    http_proxy: Option<String>,
    /// NI entry (SAP route strings) listen address ("" disables; default 127.0.0.1:3299).
    #[arg(long, env = "PORTCULLIS_HUB_NI")]
    ni: Option<String>,
    /// Web entry (browsers) listen address ("" disables, the default).
    #[arg(long, env = "PORTCULLIS_HUB_WEB")]
    web: Option<String>,
    /// Tunnel address told to connectors at enrolment.
    #[arg(long, env = "PORTCULLIS_HUB_ADVERTISED_TUNNEL")]
    advertised_tunnel: Option<String>,
    /// Oldest connector version accepted.
    #[arg(long, env = "PORTCULLIS_HUB_MIN_CONNECTOR_VERSION")]
    min_connector_version: Option<String>,
    /// Connectors below this version get a warning.
    #[arg(long, env = "PORTCULLIS_HUB_WARN_BELOW")]
    warn_below: Option<String>,
    /// Date from which `warn_below` becomes the minimum.
    #[arg(long, env = "PORTCULLIS_HUB_SUNSET_DATE")]
    sunset_date: Option<String>,
    /// Heartbeat interval on tunnels (ms).
    #[arg(long, env = "PORTCULLIS_HUB_HEARTBEAT_MS")]
    heartbeat_interval_ms: Option<u64>,
    /// Per-stream receive window on tunnels (KiB, 64..=16384; default 1024).
    #[arg(long, env = "PORTCULLIS_HUB_STREAM_WINDOW_KIB")]
    stream_window_kib: Option<u32>,
    /// Enrolment token lifetime (seconds).
    #[arg(long, env = "PORTCULLIS_HUB_ENROLLMENT_TTL")]
    enrollment_token_ttl_secs: Option<u64>,
    /// Deadline for pre-authentication phases (seconds).
    #[arg(long, env = "PORTCULLIS_HUB_PREAUTH_TIMEOUT")]
    preauth_timeout_secs: Option<u64>,
    /// Most connections in pre-authentication phases at once, per listener.
    #[arg(long, env = "PORTCULLIS_HUB_MAX_PREAUTH")]
    max_preauth: Option<usize>,
    /// Of those, most from one source (an IPv4 address or an IPv6 /64), per listener.
    #[arg(long, env = "PORTCULLIS_HUB_MAX_PREAUTH_PER_SOURCE")]
    max_preauth_per_source: Option<usize>,
    /// Deadline for TLS handshakes on the API, web entry and tunnel (seconds).
    #[arg(long, env = "PORTCULLIS_HUB_TLS_HANDSHAKE_TIMEOUT")]
    tls_handshake_timeout_secs: Option<u64>,
    /// On shutdown, how long sessions may finish before they are cut (seconds).
    #[arg(long, env = "PORTCULLIS_HUB_GRACE", default_value_t = 10)]
    grace_secs: u64,
}

#[derive(Debug, Args)]
struct HubClientArgs {
    /// Hub API URL, e.g. https://hub.example.com:8443.
    #[arg(long, env = "PORTCULLIS_HUB")]
    hub: String,
    /// The hub's CA certificate (PEM), e.g. hub-data/pki/ca.pem.
    #[arg(long, env = "PORTCULLIS_CA")]
    ca: PathBuf,
    /// API token.
    #[arg(long, env = "PORTCULLIS_TOKEN", hide_env_values = true)]
    token: String,
}

impl HubClientArgs {
    fn client(&self) -> Result<ApiClient> {
        let pem = std::fs::read_to_string(&self.ca)
            .with_context(|| format!("cannot read the hub CA {}", self.ca.display()))?;
        Ok(ApiClient::new(&self.hub, &pem, Some(self.token.clone()))?)
    }
}

#[derive(Debug, Subcommand)]
enum ConnectorCmd {
    /// Runs the connector.
    Run {
        /// Configuration file (TOML); see `portcullis config example connector`.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
    },
    /// Enrols with a hub using a one-time token; writes the identity into the data directory.
    Enroll {
        /// Hub API URL.
        #[arg(long, env = "PORTCULLIS_HUB")]
        hub: String,
        /// One-time enrolment token (PCE1.…).
        #[arg(long, env = "PORTCULLIS_ENROLL_TOKEN", hide_env_values = true)]
        token: String,
        /// Configuration file whose data_dir receives the identity.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// Replace an existing identity.
        #[arg(long)]
        force: bool,
    },
    /// The running connector's state: its tunnel, and whether its audit log can be written
    /// (while it cannot, new sessions are refused); exit 1 while sessions are refused.
    Status(portcullis::connector_admin::StatusArgs),
    /// Lists the windows the running connector on this machine knows, by its own clock.
    Windows(portcullis::connector_admin::WindowsArgs),
    /// Closes a window at the running connector on this machine: new streams are refused,
    /// live sessions cut, the close audited and sent to the hub.
    CloseWindow(portcullis::connector_admin::CloseWindowArgs),
    /// Checks, at the running connector, whether its access entries' back ends are
    /// reachable (TCP connect, TLS handshake, HEAD / for HTTP); exit 1 when one is not.
    Check(portcullis::connector_admin::CheckArgs),
    /// The running connector's monitoring: without a verb the HTTP records (most recent
    /// requests, top time consumers, duration buckets, usage per virtual host and resource);
    /// `hardware`, `usage`, `connections`, `reset`.
    Monitor(portcullis::connector_admin::MonitorArgs),
    /// The running connector's live sessions; `cut ID` ends one at once (audited).
    Sessions(portcullis::connector_sessions::SessionsArgs),
    /// Writes the system certificate (the connector's TLS client certificate towards back
    /// ends) as PEM, generated self-signed (`generate`) or taken from a PKCS#12 file
    /// (`import`), and prints the `[backend_tls]` lines that use it.
    #[command(subcommand)]
    SystemCertificate(portcullis::system_certificate::SystemCertificateCmd),
    /// The running connector's access list: export, import (merge by name), remove.
    #[command(subcommand)]
    Access(portcullis::connector_admin::AccessCmd),
    /// The running connector's back-end trust store: list, add, remove (applied without a
    /// restart).
    #[command(subcommand)]
    Trust(portcullis::connector_trust::TrustCmd),
    /// Checks the hash chain of the connector's own audit log (or a copy of it), without the
    /// hub. Exit status: 0 intact (repairs of torn tails included), 1 edited (the first bad
    /// line is named), 2 not checked, 3 torn tail (only the last line is incomplete: a write
    /// cut short by a crash or a full disk; the connector sets it aside at its next start).
    AuditVerify(portcullis::connector_audit::AuditVerifyArgs),
    /// Writes the configuration and the data directory (identity, audit log, trust store,
    /// admin UI users…) into one file encrypted with a password (age, scrypt); works while
    /// the connector runs. The password: --password-file or PORTCULLIS_BACKUP_PASSWORD.
    Backup(portcullis::connector_backup::BackupArgs),
    /// Restores a backup after checking it (password, every file's SHA-256, version not
    /// newer than this binary, audit chain); refuses a data directory with files in it
    /// without --force. Stop the connector first.
    Restore(portcullis::connector_backup::RestoreArgs),
}

#[derive(Debug, Args)]
struct ConnectArgs {
    #[command(flatten)]
    hub: HubClientArgs,
    /// A service connection's name (`ssh.prd.acme.portcullis:22`), or a connector location
    /// followed by a virtual host:port as that connector lists it (`berlin prd-app:22`).
    #[arg(value_name = "[LOCATION] TARGET", num_args = 1..=2, required = true)]
    target: Vec<String>,
    /// Local address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Prints a commented example configuration.
    Example {
        /// `hub` or `connector`.
        #[arg(value_parser = ["hub", "connector"])]
        which: String,
    },
}

fn init_logging(filter: &str, json: bool) {
    let f = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal, never into files or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let b = tracing_subscriber::fmt()
        .with_env_filter(f)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

fn hub_config(a: &HubArgs) -> Result<portcullis_hub::HubConfig> {
    let mut raw = match &a.config {
        Some(p) => portcullis_hub::RawHubConfig::load(p)?,
        None => portcullis_hub::RawHubConfig::default(),
    };
    macro_rules! set {
        ($dst:expr, $src:expr) => {
            if let Some(v) = $src.clone() {
                $dst = Some(v);
            }
        };
    }
    set!(raw.data_dir, a.data_dir);
    if !a.server_names.is_empty() {
        raw.server_names = Some(a.server_names.clone());
    }
    set!(raw.listen.api, a.api);
    set!(raw.listen.tunnel, a.tunnel);
    set!(raw.listen.socks5, a.socks5);
    set!(raw.listen.http_proxy, a.http_proxy);
    set!(raw.listen.ni, a.ni);
    set!(raw.listen.web, a.web);
    set!(raw.listen.advertised_tunnel, a.advertised_tunnel);
    set!(raw.connectors.min_version, a.min_connector_version);
    set!(raw.connectors.warn_below, a.warn_below);
    set!(raw.connectors.sunset_date, a.sunset_date);
    set!(
        raw.connectors.heartbeat_interval_ms,
        a.heartbeat_interval_ms
    );
    set!(raw.connectors.stream_window_kib, a.stream_window_kib);
    set!(
        raw.connectors.enrollment_token_ttl_secs,
        a.enrollment_token_ttl_secs
    );
    set!(raw.limits.preauth_timeout_secs, a.preauth_timeout_secs);
    set!(raw.limits.max_preauth, a.max_preauth);
    set!(raw.limits.max_preauth_per_source, a.max_preauth_per_source);
    set!(
        raw.limits.tls_handshake_timeout_secs,
        a.tls_handshake_timeout_secs
    );
    Ok(portcullis_hub::HubConfig::try_from(raw)?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log, cli.log_json);
    match cli.cmd {
        Cmd::Router(args) => portcullis::router::run(args, portcullis::signal::stop_signal()).await,
        Cmd::Hub { cmd: Some(cmd), .. } => {
            if let Err(e) = portcullis::hub_backup::run(&cmd).await {
                // The named refusal once, without a backtrace: exit 1.
                eprintln!("portcullis hub: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Hub { cmd: None, args: a } => {
            let config = hub_config(&a)?;
            let store = portcullis_hub::open_store(&config).await?;
            let hub = portcullis_hub::start(config, store).await?;
            hub.run_until(
                portcullis::signal::stop_signal(),
                Duration::from_secs(a.grace_secs),
            )
            .await;
            Ok(())
        }
        Cmd::Connector(ConnectorCmd::Run { config }) => {
            let cfg = portcullis_connector::ConnectorConfig::load(&config)?;
            let shutdown = CancellationToken::new();
            let running = portcullis_connector::spawn(cfg, Some(config), shutdown.clone());
            let mut join = running.join;
            let result = tokio::select! {
                r = &mut join => r?,
                _ = portcullis::signal::stop_signal() => {
                    shutdown.cancel();
                    join.await?
                }
            };
            match result {
                // Retrying cannot help (revoked, too old, unknown): exit 2 so service managers
                // can tell this from a crash (see examples/systemd).
                Err(e @ portcullis_connector::ConnectorError::Rejected(_)) => {
                    eprintln!("portcullis connector: {e}");
                    std::process::exit(2);
                }
                other => Ok(other?),
            }
        }
        Cmd::Connector(ConnectorCmd::Enroll {
            hub,
            token,
            config,
            force,
        }) => {
            let cfg = portcullis_connector::ConnectorConfig::load(&config)?;
            let id = portcullis_connector::enroll_via(
                &hub,
                &token,
                &cfg.data_dir,
                force,
                cfg.proxy.as_ref(),
            )
            .await?;
            println!(
                "Enrolled as {}/{} (connector {}); tunnel {}. Start it with: portcullis connector run --config {}",
                id.enrollment.company,
                id.enrollment.location,
                id.enrollment.connector_id,
                id.enrollment.tunnel_addr,
                config.display()
            );
            Ok(())
        }
        Cmd::Connector(ConnectorCmd::Status(a)) => portcullis::connector_admin::status(&a).await,
        Cmd::Connector(ConnectorCmd::Windows(a)) => portcullis::connector_admin::windows(&a).await,
        Cmd::Connector(ConnectorCmd::Check(a)) => portcullis::connector_admin::check(&a).await,
        Cmd::Connector(ConnectorCmd::Monitor(a)) => portcullis::connector_admin::monitor(&a).await,
        Cmd::Connector(ConnectorCmd::Sessions(a)) => portcullis::connector_sessions::run(&a).await,
        Cmd::Connector(ConnectorCmd::Access(a)) => portcullis::connector_admin::access(&a).await,
        Cmd::Connector(ConnectorCmd::SystemCertificate(c)) => {
            portcullis::system_certificate::run(&c)
        }
        Cmd::Connector(ConnectorCmd::Trust(a)) => portcullis::connector_trust::run(&a).await,
        Cmd::Connector(ConnectorCmd::AuditVerify(a)) => {
            match portcullis::connector_audit::verify(&a) {
                Ok(portcullis::connector_audit::Outcome::Intact) => Ok(()),
                Ok(portcullis::connector_audit::Outcome::Edited) => std::process::exit(1),
                Ok(portcullis::connector_audit::Outcome::TornTail) => std::process::exit(3),
                Err(e) => {
                    eprintln!("portcullis connector audit-verify: {e:#}");
                    std::process::exit(2);
                }
            }
        }
        Cmd::Connector(ConnectorCmd::Backup(a)) => {
            if let Err(e) = portcullis::connector_backup::backup(&a) {
                // The named refusal once, without a backtrace: exit 1.
                eprintln!("portcullis connector backup: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Connector(ConnectorCmd::Restore(a)) => {
            if let Err(e) = portcullis::connector_backup::restore(&a) {
                eprintln!("portcullis connector restore: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Connector(ConnectorCmd::CloseWindow(a)) => {
            portcullis::connector_admin::close_window(&a).await
        }
        Cmd::Admin { hub, cmd } => portcullis::admin::run(&hub.client()?, cmd).await,
        Cmd::Audit { hub, cmd } => match portcullis::audit::run(&hub, cmd).await {
            Ok(true) => Ok(()),
            // A broken chain: the report is printed; the status says so to scripts.
            Ok(false) => std::process::exit(1),
            Err(e) => {
                eprintln!("portcullis audit: {e:#}");
                std::process::exit(2);
            }
        },
        Cmd::Remote(cmd) => {
            let name = cmd.name();
            if let Err(e) = portcullis::remote::run(cmd).await {
                // The hub's own message (or ours), once, without a backtrace: exit 1.
                eprintln!("portcullis {name}: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Connect(a) => {
            let fwd = portcullis::connect::Forward::from_args(&a.target)?;
            let client = a.hub.client()?;
            let (listener, addr) = portcullis::connect::bind(a.listen).await?;
            println!("Forwarding {addr} → {fwd} through {}", client.authority());
            let shutdown = CancellationToken::new();
            let serve = portcullis::connect::serve(client, fwd, listener, shutdown.clone());
            tokio::select! {
                _ = serve => {}
                _ = portcullis::signal::stop_signal() => shutdown.cancel(),
            }
            Ok(())
        }
        Cmd::Niping(a) => {
            if let Err(e) = portcullis::niping::run(a).await {
                // The error alone, once, as niping would print it: exit 1.
                eprintln!("portcullis niping: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Config(ConfigCmd::Example { which }) => {
            match which.as_str() {
                "hub" => print!("{}", portcullis_hub::config::EXAMPLE),
                _ => print!("{}", portcullis_connector::config::example()),
            }
            Ok(())
        }
        Cmd::Healthcheck(args) => {
            let code = portcullis::healthcheck::run(&args).await;
            std::process::exit(code)
        }
        Cmd::Quickstart { dir } => {
            portcullis::quickstart::run(&dir, portcullis::signal::stop_signal()).await
        }
    }
}
