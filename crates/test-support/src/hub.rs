//! [`TestHub`]: a real hub on loopback port 0 with a temporary data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use portcullis_client::requests::{
    AuditQuery, NewServiceConnection, NewToken, NewUser, NewUserToken, SystemData,
};
use portcullis_client::views::{AuditEvent, Company, ServiceConnection, System, User};
use portcullis_client::ApiClient;
use portcullis_domain::authz::Role;
use portcullis_hub::{HubConfig, RawHubConfig, RunningHub};

use crate::WAIT;

/// Settings a test may change before the hub starts.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// `[connectors] min_version`.
    pub min_version: Option<String>,
    /// `[connectors] warn_below`.
    pub warn_below: Option<String>,
    /// `[connectors] sunset_date`.
    pub sunset_date: Option<String>,
    /// `[connectors] heartbeat_interval_ms`.
    pub heartbeat_ms: Option<u64>,
    /// `[connectors] enrollment_token_ttl_secs`.
    pub enrollment_ttl_secs: Option<u64>,
    /// `[connectors] certificate_lifetime_secs`.
    pub certificate_lifetime_secs: Option<u64>,
    /// `[limits] preauth_timeout_secs`.
    pub preauth_timeout_secs: Option<u64>,
    /// `[limits] max_preauth`.
    pub max_preauth: Option<usize>,
    /// `[limits] max_preauth_per_source`.
    pub max_preauth_per_source: Option<usize>,
    /// `[limits] tls_handshake_timeout_secs`.
    pub tls_handshake_timeout_secs: Option<u64>,
    /// `[limits] max_sessions_per_token`.
    pub max_sessions_per_token: Option<usize>,
    /// `[tokens]`.
    pub tokens: portcullis_hub::token_policy::RawTokens,
    /// `[tls]`: the operator's certificates.
    pub tls: portcullis_hub::operator_tls::RawTls,
}

/// A running hub and an admin client for it.
#[derive(Debug)]
pub struct TestHub {
    /// The hub (taken by `stop`).
    pub hub: Option<RunningHub>,
    /// Where it keeps its data; reused by `restart`.
    pub dir: tempfile::TempDir,
    /// Options it was started with.
    pub options: HubOptions,
    /// Vendor-admin API client.
    pub admin: ApiClient,
    /// `https://127.0.0.1:port`.
    pub api_url: String,
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// The addresses it listened on: `restart` binds them again, also after `stop`.
    bound: portcullis_hub::BoundAddrs,
    /// Each company's first admin, by company name (made on first use by
    /// [`TestHub::company_admin`]).
    company_admins: std::sync::Mutex<Vec<(String, ApiClient)>>,
}

impl TestHub {
    /// Starts a hub with default options.
    pub async fn start() -> TestHub {
        Self::start_with(HubOptions::default()).await
    }

    /// Starts a hub with `options`.
    pub async fn start_with(options: HubOptions) -> TestHub {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::boot(dir, options, None).await
    }

    async fn boot(
        dir: tempfile::TempDir,
        options: HubOptions,
        reuse: Option<portcullis_hub::BoundAddrs>,
    ) -> TestHub {
        crate::init_tracing();
        let any = "127.0.0.1:0".to_string();
        let a = |x: Option<SocketAddr>| x.map_or(any.clone(), |a| a.to_string());
        let mut raw = RawHubConfig {
            data_dir: Some(dir.path().join("hub")),
            server_names: Some(vec!["localhost".into(), "127.0.0.1".into()]),
            ..Default::default()
        };
        raw.listen.api = Some(a(reuse.map(|r| r.api)));
        raw.listen.tunnel = Some(a(reuse.map(|r| r.tunnel)));
        raw.listen.socks5 = Some(a(reuse.and_then(|r| r.socks5)));
        raw.listen.http_proxy = Some(a(reuse.and_then(|r| r.http_proxy)));
        raw.listen.ni = Some(a(reuse.and_then(|r| r.ni)));
        raw.listen.web = Some(a(reuse.and_then(|r| r.web)));
        raw.listen.metrics = Some(a(reuse.and_then(|r| r.metrics)));
        raw.connectors.min_version = options.min_version.clone();
        raw.connectors.warn_below = options.warn_below.clone();
        raw.connectors.sunset_date = options.sunset_date.clone();
        raw.connectors.heartbeat_interval_ms = options.heartbeat_ms;
        raw.connectors.enrollment_token_ttl_secs = options.enrollment_ttl_secs;
        raw.connectors.certificate_lifetime_secs = options.certificate_lifetime_secs;
        raw.limits.preauth_timeout_secs = options.preauth_timeout_secs;
        raw.limits.max_preauth = options.max_preauth;
        raw.limits.max_preauth_per_source = options.max_preauth_per_source;
        raw.limits.tls_handshake_timeout_secs = options.tls_handshake_timeout_secs;
        raw.limits.max_sessions_per_token = options.max_sessions_per_token;
        raw.tokens = options.tokens.clone();
        raw.tls = options.tls.clone();
        let config = HubConfig::try_from(raw).expect("valid test config");
        let store = portcullis_hub::open_store(&config)
            .await
            .expect("store opens");
        let hub = portcullis_hub::start(config, store)
            .await
            .expect("hub starts");
        let api_url = format!("https://127.0.0.1:{}", hub.addrs.api.port());
        let ca_pem = std::fs::read_to_string(&hub.state.pki.ca_path).expect("CA file");
        let admin_token = std::fs::read_to_string(
            dir.path()
                .join("hub")
                .join(portcullis_hub::ADMIN_TOKEN_FILE),
        )
        .expect("admin token file");
        let admin =
            ApiClient::new(&api_url, &ca_pem, Some(admin_token.trim().to_string())).unwrap();
        TestHub {
            bound: hub.addrs,
            hub: Some(hub),
            dir,
            options,
            admin,
            api_url,
            ca_pem,
            company_admins: Default::default(),
        }
    }

    fn running(&self) -> &RunningHub {
        self.hub.as_ref().expect("hub is running")
    }

    /// The web entry (browsers; HTTPS with the hub's certificate).
    pub fn web(&self) -> SocketAddr {
        self.addrs().web.expect("web entry enabled")
    }

    /// `http://127.0.0.1:port` of the metrics listener (always on in tests).
    pub fn metrics_url(&self) -> String {
        let a = self.addrs().metrics.expect("metrics listener enabled");
        format!("http://{a}")
    }

    /// Bound addresses.
    pub fn addrs(&self) -> portcullis_hub::BoundAddrs {
        self.running().addrs
    }

    /// SOCKS5 entry address.
    pub fn socks5(&self) -> SocketAddr {
        self.addrs().socks5.expect("socks5 enabled")
    }

    /// HTTP proxy entry address.
    pub fn http_proxy(&self) -> SocketAddr {
        self.addrs().http_proxy.expect("http proxy enabled")
    }

    /// NI entry address.
    pub fn ni(&self) -> SocketAddr {
        self.addrs().ni.expect("ni entry enabled")
    }

    /// Shared hub state (store, registry).
    pub fn state(&self) -> &portcullis_hub::State {
        &self.running().state
    }

    /// An API client with `token`.
    pub fn client(&self, token: &str) -> ApiClient {
        ApiClient::new(&self.api_url, &self.ca_pem, Some(token.to_string())).unwrap()
    }

    /// Creates a company, as the vendor admin.
    pub async fn company(&self, name: &str) -> Company {
        self.admin
            .create_company(name)
            .await
            .expect("create company")
    }

    /// An API client of `company`'s admin (the customer's super administrator), who opens
    /// the company's windows, gives its grants and makes its users' tokens. The first call per
    /// company bootstraps him the one way a vendor admin may: `POST
    /// /api/v1/companies/{company}/tokens` with role `company_admin` while the company has no
    /// admin yet.
    pub async fn company_admin(&self, company: &str) -> ApiClient {
        if let Some((_, c)) = self
            .company_admins
            .lock()
            .unwrap()
            .iter()
            .find(|(n, _)| n == company)
        {
            return c.clone();
        }
        let created = self
            .admin
            .create_company_token(
                company,
                &NewToken {
                    name: format!("{company}-admin"),
                    role: Some(portcullis_domain::authz::Role::CompanyAdmin),
                    ..NewToken::default()
                },
            )
            .await
            .expect("bootstrap the company's first admin");
        let client = self.client(created.token.expose());
        let mut g = self.company_admins.lock().unwrap();
        match g.iter().find(|(n, _)| n == company) {
            Some((_, c)) => c.clone(),
            None => {
                g.push((company.to_string(), client.clone()));
                client
            }
        }
    }

    /// Creates system `sid` (ABAP, system number 00, production, EU data protection) in
    /// `company`, as its admin.
    pub async fn system(&self, company: &str, sid: &str) -> System {
        use portcullis_domain::system::{SystemStatus, SystemType};
        let data = SystemData {
            sid: sid.to_string(),
            system_number: "00".into(),
            system_type: SystemType::Abap,
            product: "SAP S/4HANA".into(),
            product_version: "2023".into(),
            installation_number: "0020123456".into(),
            status: SystemStatus::Active,
            eu_data_protection: true,
            advanced_secure_support: false,
            allow_independent_opening: false,
            description: "production".into(),
        };
        self.company_admin(company)
            .await
            .create_system(company, &data)
            .await
            .expect("create system")
    }

    /// Sets a service connection up for `system`, as its company's admin.
    pub async fn service(&self, system: &System, body: &NewServiceConnection) -> ServiceConnection {
        let company = self
            .state()
            .store
            .get_company(system.company_id)
            .await
            .unwrap()
            .expect("the system's company")
            .name;
        self.company_admin(&company)
            .await
            .create_service_connection(system.id, body)
            .await
            .expect("create service connection")
    }

    /// Company `acme`, connector `berlin` exposing `echo.internal:7` (to `backend`), system
    /// PRD and its generic TCP service connection `generic_tcp.prd.acme.portcullis:7`, no
    /// window yet: where the window tests start. Returns the running connector, the system and
    /// the service connection as the API answered them.
    pub async fn prd_echo_service(
        &self,
        backend: SocketAddr,
    ) -> (crate::TestConnector, System, ServiceConnection) {
        self.prd_echo_service_with(backend, |c| c).await
    }

    /// [`Self::prd_echo_service`] with the connector set up further by `f` before it runs
    /// (e.g. [`crate::TestConnector::with_admin_ui`]).
    pub async fn prd_echo_service_with(
        &self,
        backend: SocketAddr,
        f: impl FnOnce(crate::TestConnector) -> crate::TestConnector,
    ) -> (crate::TestConnector, System, ServiceConnection) {
        self.company("acme").await;
        let conn = f(crate::TestConnector::for_hub(self, "acme", "berlin")
            .await
            .expose("echo", "echo.internal:7", backend))
        .run()
        .await;
        self.wait_inventory(conn.company_id, "berlin", |i| i.len() == 1)
            .await;
        let system = self.system("acme", "PRD").await;
        let sc = self
            .service(
                &system,
                &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
            )
            .await;
        assert_eq!(sc.entry_host, "generic_tcp.prd.acme.portcullis");
        (conn, system, sc)
    }

    /// Creates a vendor support engineer `name` with an API token; returns the token.
    pub async fn engineer(&self, name: &str) -> String {
        self.user_with_token(NewUser::new(name, Role::SupportEngineer))
            .await
            .1
    }

    /// Creates the user `body` describes through the API and an API token for him, as the one
    /// who may: a company's admin for its users, the vendor admin for vendor users. Returns
    /// (user id, token).
    pub async fn user_with_token(&self, body: NewUser) -> (i64, String) {
        let maker = match &body.company {
            Some(company) => self.company_admin(company).await,
            None => self.admin.clone(),
        };
        let user: User = maker.create_user(&body).await.expect("create user");
        let token = maker
            .create_user_token(
                user.id,
                &NewUserToken {
                    name: "laptop".into(),
                    ..NewUserToken::default()
                },
            )
            .await
            .expect("create the user's token");
        (user.id, token.token.into_inner())
    }

    /// The hub's audit events of `action` (at most 1000, oldest first), as the vendor admin
    /// reads them.
    pub async fn audit(&self, action: &str) -> Vec<AuditEvent> {
        self.admin
            .list_audit(&AuditQuery::action(action, 1000))
            .await
            .expect("list audit")
    }

    /// Creates a technical token for `company`, as its admin; returns the token string.
    pub async fn token(&self, company: &str, name: &str) -> String {
        self.company_admin(company)
            .await
            .create_company_token(
                company,
                &NewToken {
                    name: name.to_string(),
                    ..NewToken::default()
                },
            )
            .await
            .expect("create token")
            .token
            .into_inner()
    }

    /// Makes `target` (`host:port` at connector `location` of `company`) reachable for the
    /// technical user behind `token`, the way a company admin does: a system (SID `Tnn`, one
    /// per target), a *Generic TCP* service connection to the target, and a standing grant
    /// for the token's user. Returns the service connection's id. Goes through the store, not
    /// the API, so that tests about other things stay short.
    pub async fn grant(&self, company: &str, token: &str, location: &str, target: &str) -> i64 {
        use portcullis_domain::system::{SystemData, SystemStatus, SystemType};
        let store = self.state().store.clone();
        let c = store
            .find_company_by_name(company)
            .await
            .unwrap()
            .expect("company exists");
        let (public, _) = portcullis_hub::auth::parse_api_token(token).expect("a token");
        let user = store
            .find_api_token(public)
            .await
            .unwrap()
            .expect("token exists")
            .user_id;
        let connector = store
            .find_connector(c.id, location)
            .await
            .unwrap()
            .expect("connector exists");
        let (host, port) = target.rsplit_once(':').expect("host:port");
        let port: u16 = port.parse().expect("port");
        let existing = store.list_service_connections(Some(c.id)).await.unwrap();
        let sc = match existing.iter().find(|s| {
            s.connector_id == connector.id && s.virtual_host == host && s.virtual_port == port
        }) {
            Some(sc) => sc.clone(),
            None => {
                let n = store.list_systems(Some(c.id)).await.unwrap().len();
                let system = store
                    .create_system(
                        c.id,
                        &SystemData {
                            sid: format!("T{n:02}"),
                            system_number: "00".into(),
                            system_type: SystemType::Other,
                            product: "test back end".into(),
                            product_version: "1".into(),
                            installation_number: "0000000001".into(),
                            status: SystemStatus::Active,
                            eu_data_protection: false,
                            advanced_secure_support: false,
                            allow_independent_opening: false,
                            description: target.into(),
                        },
                    )
                    .await
                    .unwrap();
                let ty = store
                    .find_connection_type(c.id, "generic_tcp")
                    .await
                    .unwrap()
                    .expect("catalogue seeded");
                store
                    .create_service_connection(portcullis_store::NewServiceConnection {
                        system_id: system.id,
                        connection_type_id: ty.id,
                        connector_id: connector.id,
                        virtual_host: host.to_ascii_lowercase(),
                        virtual_port: port,
                        url: None,
                        created_by: "test".into(),
                    })
                    .await
                    .unwrap()
            }
        };
        if store
            .find_active_grant(user, sc.id)
            .await
            .unwrap()
            .is_none()
        {
            store.create_grant(user, sc.id, "test").await.unwrap();
        }
        sc.id
    }

    /// Waits until the hub's audit log holds at least `n` events whose action is `action`
    /// (woken by each audit commit, no polling); returns them, oldest first.
    pub async fn wait_audit(&self, action: &str, n: usize) -> Vec<AuditEvent> {
        let mut commits = self.state().audit.subscribe();
        let res = tokio::time::timeout(WAIT, async {
            loop {
                commits.borrow_and_update();
                let hits: Vec<AuditEvent> = self
                    .audit(action)
                    .await
                    .into_iter()
                    .filter(|e| e.action == action)
                    .collect();
                if hits.len() >= n {
                    return hits;
                }
                if commits.changed().await.is_err() {
                    return hits;
                }
            }
        })
        .await;
        match res {
            Ok(hits) if hits.len() >= n => hits,
            other => panic!("no {n} {action:?} audit events within {WAIT:?}: {other:?}"),
        }
    }

    /// Creates a connector location, as the company's admin; returns (connector id, enrolment
    /// token).
    pub async fn connector(&self, company: &str, location: &str) -> (i64, String) {
        let created = self
            .company_admin(company)
            .await
            .create_connector(company, location)
            .await
            .expect("create connector");
        (created.connector.id, created.enrollment_token.into_inner())
    }

    /// Waits until `pred` holds for the registry (checked on every registry change).
    pub async fn wait_registry(
        &self,
        what: &str,
        pred: impl Fn(&portcullis_hub::registry::Registry) -> bool,
    ) {
        let reg = &self.state().registry;
        let mut rx = reg.subscribe();
        let res = tokio::time::timeout(WAIT, async {
            loop {
                if pred(reg) {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        assert!(res.is_ok() && pred(reg), "timed out waiting for {what}");
    }

    /// Waits until the connector of `company_id`/`location` has a tunnel whose inventory
    /// satisfies `pred`.
    pub async fn wait_inventory(
        &self,
        company_id: i64,
        location: &str,
        pred: impl Fn(&[portcullis_proto::InventoryTarget]) -> bool,
    ) {
        self.wait_registry(&format!("inventory of {location}"), |r| {
            r.get(company_id, location)
                .and_then(|t| t.inventory.read().ok().map(|i| pred(&i)))
                .unwrap_or(false)
        })
        .await
    }

    /// Stops the hub (grace 0: cut everything at once).
    pub async fn stop(&mut self) {
        if let Some(h) = self.hub.take() {
            h.stop(Duration::ZERO).await;
        }
    }

    /// Stops (unless stopped already) and starts again on the same data directory and the
    /// same ports.
    pub async fn restart(mut self) -> TestHub {
        let addrs = self.bound;
        self.stop().await;
        let options = self.options.clone();
        let admins = std::mem::take(&mut *self.company_admins.lock().unwrap());
        let hub = Self::boot(self.dir, options, Some(addrs)).await;
        *hub.company_admins.lock().unwrap() = admins;
        hub
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("hub")
    }
}
