//! `portcullis quickstart`: a hub, a connector and two demo back ends in one process on
//! 127.0.0.1, with an embedded SQLite database under one directory.
//!
//! It goes through the same doors a real installation does: the vendor admin creates the
//! company and hands it over by making its first company admin; that admin (the customer)
//! creates the connector, the demo system, its service connections, grants and windows over
//! the HTTPS API, and the connector enrols with a one-time token. The portal (on the API's
//! address) gets demo users with passwords ([`PortalUser`]): a customer super administrator,
//! a customer user without authorizations, the support engineer and a vendor admin. A second
//! start on the same directory reuses all of it (the passwords too), and the same ports when
//! they are free.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use portcullis_domain::authz::Role;
use portcullis_domain::system::{SystemStatus, SystemType};
use portcullis_domain::window::WindowState;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use portcullis_client::requests::{
    NewServiceConnection, NewToken, NewUser, NewUserToken, OpenWindow, ServiceQuery, SystemData,
};
use portcullis_client::ApiClient;

mod connector_admin;
mod portal;
pub use connector_admin::ConnectorAdminInfo;
use portal::{portal_lines, portal_users};
pub use portal::{PortalInfo, PortalUser, PORTAL_USERS};

/// The demo company, location and target names.
pub const COMPANY: &str = "demo";
/// Location ID of the quickstart connector.
pub const LOCATION: &str = "demo-site";

/// What `quickstart.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Info {
    /// Hub API base URL.
    pub api_url: String,
    /// Path of the hub CA certificate (PEM).
    pub ca_cert: PathBuf,
    /// SOCKS5 entry, `host:port`.
    pub socks5: String,
    /// HTTP CONNECT proxy entry, `host:port`.
    pub http_proxy: String,
    /// NI entry for SAP route strings, `host:port`.
    #[serde(default)]
    pub ni: String,
    /// Web entry for browsers (HTTPS), `host:port`; links come from `portcullis web-link`.
    #[serde(default)]
    pub web: String,
    /// The connector's location ID.
    pub location: String,
    /// A technical API token of the demo company.
    pub token: String,
    /// File with the vendor-admin token.
    pub admin_token_file: PathBuf,
    /// File with the demo company's admin token: the customer, who opens the windows.
    #[serde(default)]
    pub company_admin_token_file: PathBuf,
    /// Targets the demo connector exposes.
    pub targets: Vec<TargetInfo>,
    /// A support engineer's API token (user `engineer`): reaches the demo system's service
    /// connections while their windows are open.
    pub engineer_token: String,
    /// The demo system's service connections, as an engineer names them.
    pub services: Vec<ServiceInfo>,
    /// The web portal and its demo sign-ins.
    #[serde(default)]
    pub portal: PortalInfo,
    /// The connector's admin UI and REST API, with a ready administrator.
    #[serde(default)]
    pub connector_admin: Option<ConnectorAdminInfo>,
    /// Where Prometheus scrapes the hub and the connector.
    #[serde(default)]
    pub metrics: Option<MetricsInfo>,
}

/// `metrics` in `quickstart.json`: the scrape URLs and what each needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsInfo {
    /// The hub's `/metrics` (plain HTTP, no credential); `/healthz` and `/readyz` beside it.
    pub hub: String,
    /// The connector's `/metrics` on its admin listener (HTTPS).
    pub connector: String,
    /// A connector user allowed to scrape (HTTP basic auth).
    pub connector_user: String,
    /// His password.
    pub connector_password: String,
    /// The connector's certificate to trust (PEM).
    pub connector_certificate: PathBuf,
}

/// One service connection of the demo system.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Connection type key.
    pub connection_type: String,
    /// `host:port` to give an entry point, e.g. `generic_tcp.dem.demo.portcullis:7`.
    pub entry: String,
    /// Window state when the quickstart started (`open`).
    pub state: String,
}

/// One exposed target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Name in the connector's access control.
    pub name: String,
    /// Virtual `host:port`.
    pub r#virtual: String,
    /// Protocol.
    pub protocol: String,
}

/// Remembered between starts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Saved {
    api: Option<SocketAddr>,
    tunnel: Option<SocketAddr>,
    socks5: Option<SocketAddr>,
    http_proxy: Option<SocketAddr>,
    #[serde(default)]
    ni: Option<SocketAddr>,
    #[serde(default)]
    web: Option<SocketAddr>,
    #[serde(default)]
    metrics: Option<SocketAddr>,
    token: Option<String>,
    #[serde(default)]
    engineer_token: Option<String>,
    #[serde(default)]
    company_admin_token: Option<String>,
    /// The portal demo users' passwords, by user name.
    #[serde(default)]
    portal_passwords: BTreeMap<String, String>,
    /// Where the connector's admin UI listened.
    #[serde(default)]
    connector_admin: Option<SocketAddr>,
    /// Its administrator's password.
    #[serde(default)]
    connector_admin_password: Option<String>,
}

/// A running quickstart.
#[derive(Debug)]
pub struct Quickstart {
    /// What was written to `quickstart.json`.
    pub info: Info,
    /// The hub.
    pub hub: portcullis_hub::RunningHub,
    /// Stops the connector and the demo back ends.
    pub stop: CancellationToken,
    /// The connector task.
    pub connector: tokio::task::JoinHandle<Result<(), portcullis_connector::ConnectorError>>,
}

fn hub_config(dir: &Path, saved: &Saved, reuse_ports: bool) -> Result<portcullis_hub::HubConfig> {
    let port = |a: Option<SocketAddr>| match (reuse_ports, a) {
        (true, Some(a)) => a.to_string(),
        _ => "127.0.0.1:0".to_string(),
    };
    let mut raw = portcullis_hub::RawHubConfig {
        data_dir: Some(dir.join("hub")),
        server_names: Some(vec!["localhost".into(), "127.0.0.1".into()]),
        ..Default::default()
    };
    raw.listen.api = Some(port(saved.api));
    raw.listen.tunnel = Some(port(saved.tunnel));
    raw.listen.socks5 = Some(port(saved.socks5));
    raw.listen.http_proxy = Some(port(saved.http_proxy));
    raw.listen.ni = Some(port(saved.ni));
    raw.listen.web = Some(port(saved.web));
    raw.listen.metrics = Some(port(saved.metrics));
    Ok(portcullis_hub::HubConfig::try_from(raw)?)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    portcullis_hub::pki_state::write_file(path, text).map_err(|e| anyhow!("{e}"))
}

/// Starts everything and writes `quickstart.json`; returns when the tunnel is up and the
/// connector's inventory has arrived.
pub async fn start(dir: &Path) -> Result<Quickstart> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let saved_path = dir.join("state.json");
    let saved: Saved = std::fs::read_to_string(&saved_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();

    let config = hub_config(&dir, &saved, true)?;
    let store = portcullis_hub::open_store(&config).await?;
    let hub = match portcullis_hub::start(config, store.clone()).await {
        Ok(h) => h,
        Err(portcullis_hub::HubError::Bind { what, addr, .. }) => {
            tracing::info!(%addr, what, "saved port is busy; choosing new ports");
            portcullis_hub::start(hub_config(&dir, &saved, false)?, store).await?
        }
        Err(e) => return Err(e.into()),
    };
    let a = hub.addrs;
    let api_url = format!("https://127.0.0.1:{}", a.api.port());
    let ca_path = hub.state.pki.ca_path.clone();
    let ca_pem = std::fs::read_to_string(&ca_path)?;
    let admin_file = dir.join("hub").join(portcullis_hub::ADMIN_TOKEN_FILE);
    let admin_token = std::fs::read_to_string(&admin_file)?.trim().to_string();
    let admin = ApiClient::new(&api_url, &ca_pem, Some(admin_token))?;

    // Company and token.
    if admin.find_company(COMPANY).await?.is_none() {
        admin.create_company(COMPANY).await?;
    }
    // The vendor admin hands the company over to its first admin; from here on the demo
    // company's own admin does everything of the company's (BY-01).
    let company_admin_token = match saved.company_admin_token.clone() {
        Some(t) => t,
        None => {
            let body = NewToken {
                name: "demo-admin".into(),
                role: Some(Role::CompanyAdmin),
                ..NewToken::default()
            };
            admin
                .create_company_token(COMPANY, &body)
                .await
                .context("cannot make the demo company's first admin")?
                .token
                .into_inner()
        }
    };
    let company_admin_file = dir.join("demo-admin.token");
    write_private(&company_admin_file, &company_admin_token)?;
    let company = ApiClient::new(&api_url, &ca_pem, Some(company_admin_token.clone()))?;
    let token = match saved.token.clone() {
        Some(t) => t,
        None => user_token(&company, Some(COMPANY), "quickstart-app", Role::Technical).await?,
    };
    let engineer_token = match saved.engineer_token.clone() {
        Some(t) => t,
        None => user_token(&admin, None, "engineer", Role::SupportEngineer).await?,
    };

    // Demo back ends.
    let stop = CancellationToken::new();
    let any: SocketAddr = "127.0.0.1:0".parse()?;
    let echo = crate::demo::echo_server(any, stop.clone()).await?;
    let web = crate::demo::http_server(any, stop.clone()).await?;

    // Connector config (regenerated each start: back-end ports change).
    let conn_dir = dir.join("connector");
    let conn_cfg_path = dir.join("connector.toml");
    let conn_toml = format!(
        "# Written by `portcullis quickstart` at every start.\n\
         data_dir = \"connector\"\n\
         hub_tunnel = \"{tunnel}\"\n\n\
         # The admin UI and REST API (HTTPS, self-signed; see quickstart.json).\n\
         [admin]\nlisten = \"{admin_listen}\"\n\n\
         [[access]]\nname = \"echo\"\nvirtual = \"echo.demo:7\"\ninternal = \"{echo}\"\nprotocol = \"tcp\"\n\n\
         [[access]]\nname = \"web\"\nvirtual = \"web.demo:80\"\ninternal = \"{web}\"\nprotocol = \"http\"\n\n\
         # An HTTP entry: only these paths reach the back end, everything else gets 403.\n\
         [[access.resources]]\npath = \"/\"\npolicy = \"path_only\"\ndescription = \"the start page\"\n\n\
         [[access.resources]]\npath = \"/hello\"\npolicy = \"path_and_sub_paths\"\n\n\
         [[access.resources]]\npath = \"/docs\"\npolicy = \"path_and_sub_paths\"\n",
        tunnel = a.tunnel,
        admin_listen = connector_admin::listen(saved.connector_admin),
    );
    std::fs::write(&conn_cfg_path, conn_toml)?;
    let cfg = portcullis_connector::ConnectorConfig::load(&conn_cfg_path)?;

    // Enrol once.
    if !portcullis_connector::identity::Identity::exists(&conn_dir) {
        let list = company.list_connectors(COMPANY).await?;
        let v = match list.iter().find(|c| c.location == LOCATION) {
            Some(c) => company.new_enrollment_token(c.id).await?,
            None => company.create_connector(COMPANY, LOCATION).await?,
        };
        let et = v.enrollment_token.expose();
        portcullis_connector::enroll::enroll(&api_url, et, &cfg.data_dir, true).await?;
    }

    let admin_password =
        connector_admin::ready_admin(&cfg.data_dir, saved.connector_admin_password.as_deref())
            .await?;
    let conn_data = cfg.data_dir.clone();

    // Start the connector and wait for its inventory at the hub.
    let mut changes = hub.state.registry.subscribe();
    let running = portcullis_connector::spawn(cfg, Some(conn_cfg_path.clone()), stop.clone());
    let company_id = hub
        .state
        .store
        .find_company_by_name(COMPANY)
        .await?
        .ok_or_else(|| anyhow!("demo company missing"))?
        .id;
    let ready = async {
        loop {
            let up = hub
                .state
                .registry
                .get(company_id, LOCATION)
                .is_some_and(|t| t.inventory.read().map(|i| i.len() == 2).unwrap_or(false));
            if up || changes.changed().await.is_err() {
                return up;
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(30), ready).await {
        Ok(true) => {}
        _ => {
            return Err(anyhow!(
                "the demo connector did not come up within 30 s; see the log"
            ))
        }
    }

    let admin_addr = running.status.borrow().admin_addr;
    let services = seed_remote_connections(&company).await?;
    let portal_users = portal_users(&admin, &company, &saved.portal_passwords)
        .await
        .context("cannot set up the portal's demo users")?;

    let metrics = match (a.metrics, admin_addr) {
        (Some(hub_metrics), Some(conn)) => Some(MetricsInfo {
            hub: format!("http://{hub_metrics}/metrics"),
            connector: format!("https://{conn}/metrics"),
            connector_user: portcullis_connector::admin::users::INITIAL_USER.into(),
            connector_password: admin_password.clone(),
            connector_certificate: portcullis_connector::data_dir::ConnectorDataDir::new(
                &conn_data,
            )
            .ui_cert(),
        }),
        _ => None,
    };
    let info = Info {
        metrics,
        engineer_token: engineer_token.clone(),
        services,
        portal: PortalInfo {
            url: format!("{api_url}/"),
            users: portal_users.clone(),
        },
        connector_admin: admin_addr
            .map(|addr| connector_admin::info(addr, &conn_data, admin_password.clone())),
        api_url,
        ca_cert: ca_path,
        socks5: a.socks5.map(|s| s.to_string()).unwrap_or_default(),
        http_proxy: a.http_proxy.map(|s| s.to_string()).unwrap_or_default(),
        ni: a.ni.map(|s| s.to_string()).unwrap_or_default(),
        web: a.web.map(|s| s.to_string()).unwrap_or_default(),
        location: LOCATION.into(),
        token: token.clone(),
        admin_token_file: admin_file,
        company_admin_token_file: company_admin_file,
        targets: vec![
            TargetInfo {
                name: "echo".into(),
                r#virtual: "echo.demo:7".into(),
                protocol: "tcp".into(),
            },
            TargetInfo {
                name: "web".into(),
                r#virtual: "web.demo:80".into(),
                protocol: "http".into(),
            },
        ],
    };
    write_private(
        &dir.join("quickstart.json"),
        &serde_json::to_string_pretty(&info)?,
    )?;
    let saved = Saved {
        api: Some(a.api),
        tunnel: Some(a.tunnel),
        socks5: a.socks5,
        http_proxy: a.http_proxy,
        ni: a.ni,
        web: a.web,
        metrics: a.metrics,
        token: Some(token),
        engineer_token: Some(engineer_token),
        company_admin_token: Some(company_admin_token),
        portal_passwords: portal_users
            .into_iter()
            .map(|u| (u.name, u.password))
            .collect(),
        connector_admin: admin_addr,
        connector_admin_password: Some(admin_password),
    };
    write_private(&saved_path, &serde_json::to_string_pretty(&saved)?)?;
    Ok(Quickstart {
        info,
        hub,
        stop,
        connector: running.join,
    })
}

/// A user (created if missing) and a fresh token for it, made by `admin` (the vendor admin for
/// vendor users, the company's admin for its users).
async fn user_token(
    admin: &ApiClient,
    company: Option<&str>,
    name: &str,
    role: Role,
) -> Result<String> {
    let users = crate::remote::user::list(admin, company).await?;
    let id = match users.iter().find(|u| u.name == name) {
        Some(u) => u.id,
        None => {
            let mut body = NewUser::new(name, role);
            body.company = company.map(str::to_string);
            admin.create_user(&body).await?.id
        }
    };
    let body = NewUserToken {
        name: "quickstart".into(),
        ..NewUserToken::default()
    };
    Ok(admin.create_user_token(id, &body).await?.token.into_inner())
}

async fn seed_remote_connections(admin: &ApiClient) -> Result<Vec<ServiceInfo>> {
    let systems = admin.list_systems(COMPANY).await?;
    let system = match systems.iter().find(|s| s.system.data.sid == "DEM") {
        Some(s) => s.system.id,
        None => {
            let data = SystemData {
                sid: "DEM".into(),
                system_number: "00".into(),
                system_type: SystemType::Other,
                product: "Portcullis demo back ends".into(),
                product_version: "1".into(),
                installation_number: "0000000001".into(),
                status: SystemStatus::Active,
                eu_data_protection: false,
                advanced_secure_support: false,
                allow_independent_opening: false,
                description: "The quickstart's echo and web servers".into(),
            };
            admin.create_system(COMPANY, &data).await?.id
        }
    };
    let wanted = [
        NewServiceConnection::new("generic_tcp", LOCATION, "echo.demo", 7),
        NewServiceConnection::new("http_connect", LOCATION, "web.demo", 80)
            .with_url("http://web.demo/"),
    ];
    let mut out = Vec::new();
    for body in wanted {
        let query = ServiceQuery {
            system: Some(system),
            ..ServiceQuery::default()
        };
        let list = admin
            .list_service_connections_where(COMPANY, &query)
            .await?;
        let sc = match list
            .into_iter()
            .find(|s| s.connection_type == body.connection_type)
        {
            Some(s) => s,
            None => admin.create_service_connection(system, &body).await?,
        };
        let id = sc.id;
        let grants = admin.list_grants(COMPANY).await?;
        if !grants
            .iter()
            .any(|g| g.service_connection_id == id && g.revoked_at.is_none())
        {
            admin.create_grant(id, "quickstart-app").await?;
        }
        if sc.state != WindowState::Open {
            admin
                .open_window(id, &OpenWindow::now("quickstart (demo admin)"))
                .await?;
        }
        out.push(ServiceInfo {
            connection_type: sc.connection_type,
            entry: format!("{}:{}", sc.entry_host, sc.virtual_port),
            state: "open".into(),
        });
    }
    Ok(out)
}

impl Quickstart {
    /// Stops the connector, the back ends and the hub.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.connector).await;
        self.hub.stop(Duration::from_secs(2)).await;
    }
}

/// What a person sees after the start.
pub fn describe(info: &Info, dir: &Path) -> String {
    let ca = info.ca_cert.display();
    // niping's NI frames come back unchanged from the TCP echo behind the generic service.
    let tcp_entry = info
        .services
        .iter()
        .find(|s| s.connection_type == "generic_tcp")
        .and_then(|s| s.entry.rsplit_once(':'))
        .unwrap_or(("", ""));
    format!(
        "\nPortcullis quickstart is running (state in {dir}).\n\n\
         Hub API         {api}   (CA: {ca})\n\
         SOCKS5 entry    {socks}\n\
         HTTP proxy      {http}\n\
         NI entry        {ni}   (SAP route strings)\n\
         Web entry       https://{web}   (browsers: each service at https://sc<id>.web.localhost:<port>/;\n\
         \x20               links from `portcullis web-link`)\n\
         Connector       location {loc}, exposing echo.demo:7 (TCP echo) and web.demo:80 (HTTP: /, /hello/… and /docs/… allowed, the rest refused)\n\
         Token           {token}   (technical user quickstart-app, standing grants)\n\
         Engineer token  {eng}   (support engineer, windows open for 8 h)\n\
         Admin token     in {admin}   (vendor admin)\n\
         Company admin   in {company_admin}   (the demo company's admin: its windows, grants, users)\n\n\
         Portal          {portal}   (sign in with a browser that trusts the CA)\n\
         {portal_users}\n\
         {connector_admin}\
         {metrics}\
         Try:\n\
         \x20 curl --proxy socks5h://{loc}:{token}@{socks} http://web.demo/\n\
         \x20 curl --proxy socks5h://engineer:{eng}@{socks} http://{web_entry}/\n\
         \x20 curl --proxy http://{http} --proxy-user {loc}:{token} -p http://web.demo/hello\n\
         \x20 portcullis niping -c -H /H/{ni_host}/S/{ni_port}/W/{eng}/H/{tcp_host}/S/{tcp_port}\n\
         \x20 portcullis connect --hub {api} --ca {ca} --token {token} {loc} echo.demo:7 --listen 127.0.0.1:7007\n\
         \x20 portcullis connect --hub {api} --ca {ca} --token {eng} {tcp_host}:{tcp_port} --listen 127.0.0.1:7008\n\
         \x20     then: nc 127.0.0.1 7007 (or 7008)\n\
         \x20 portcullis web-link --hub {api} --ca {ca} --token {eng} --company {company} --system DEM --type http_connect\n\
         \x20     then open the link in a browser that trusts {ca}\n\
         \x20 PORTCULLIS_HUB={api} PORTCULLIS_CA={ca} PORTCULLIS_TOKEN=$(cat {admin}) \\\n\
         \x20     portcullis admin connector list --company {company}\n\n\
         The same in machine-readable form: {dir}/quickstart.json. Stop with Ctrl-C.\n",
        dir = dir.display(),
        portal = info.portal.url,
        portal_users = portal_lines(info),
        connector_admin = info
            .connector_admin
            .as_ref()
            .map(|c| format!(
                "Connector admin {}   (user {}, password {}; certificate {}; REST API under /api/v1)\n\n",
                c.url,
                c.user,
                c.password,
                c.certificate.display()
            ))
            .unwrap_or_default(),
        metrics = info
            .metrics
            .as_ref()
            .map(|m| format!(
                "Metrics         {}   (Prometheus; /healthz and /readyz beside it)\n\
                 \x20               {}   (user {}, HTTPS with the connector's certificate)\n\n",
                m.hub, m.connector, m.connector_user
            ))
            .unwrap_or_default(),
        api = info.api_url,
        socks = info.socks5,
        http = info.http_proxy,
        loc = info.location,
        token = info.token,
        eng = info.engineer_token,
        web_entry = info
            .services
            .iter()
            .find(|s| s.connection_type == "http_connect")
            .map_or("", |s| s.entry.as_str()),
        admin = info.admin_token_file.display(),
        company_admin = info.company_admin_token_file.display(),
        company = COMPANY,
        ni = info.ni,
        web = info.web,
        ni_host = info.ni.rsplit_once(':').map_or("", |(h, _)| h),
        ni_port = info.ni.rsplit_once(':').map_or("", |(_, p)| p),
        tcp_host = tcp_entry.0,
        tcp_port = tcp_entry.1,
    )
}

/// Runs the quickstart until `signal`.
pub async fn run(dir: &Path, signal: impl Future<Output = ()>) -> Result<()> {
    let qs = start(dir).await?;
    println!("{}", describe(&qs.info, &dir.canonicalize()?));
    signal.await;
    println!("stopping");
    qs.shutdown().await;
    Ok(())
}
