//! The quickstart connector's admin UI: a ready `Administrator` whose password is set before
//! the connector starts (no forced change, like the portal's demo users), kept for the
//! quickstart directory, and where the UI listens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use portcullis_connector::admin::users::{UserStore, INITIAL_USER};
use portcullis_connector::data_dir::ConnectorDataDir;
use portcullis_domain::secret::Secret;
use serde::{Deserialize, Serialize};

/// `connector_admin` in `quickstart.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectorAdminInfo {
    /// The admin UI's address (the REST API is under `/api/v1`).
    pub url: String,
    /// The user to log on with.
    pub user: String,
    /// His password (no forced change; kept across restarts).
    pub password: String,
    /// The UI's self-signed certificate (PEM), for a client to trust.
    pub certificate: PathBuf,
}

/// `[admin] listen` for the quickstart connector: the saved address when it is free, else a
/// new port on the loopback address.
pub(super) fn listen(saved: Option<SocketAddr>) -> String {
    match saved {
        Some(a) if std::net::TcpListener::bind(a).is_ok() => a.to_string(),
        _ => "127.0.0.1:0".into(),
    }
}

/// Makes the user store (at the first start) and sets `Administrator`'s password: the saved
/// one, else a new random one. Returns it.
pub(super) async fn ready_admin(data_dir: &Path, saved: Option<&str>) -> Result<String> {
    let store = UserStore::open(&ConnectorDataDir::new(data_dir))
        .context("cannot open the connector's admin users")?;
    let password = match saved {
        Some(p) => p.to_owned(),
        None => portcullis_webui::password::generate().into_inner(),
    };
    store
        .set_password(INITIAL_USER, Secret::new(password.clone()), false)
        .await
        .context("cannot set the connector administrator's password")?;
    Ok(password)
}

/// The info once the connector listens at `addr`.
pub(super) fn info(addr: SocketAddr, data_dir: &Path, password: String) -> ConnectorAdminInfo {
    ConnectorAdminInfo {
        url: format!("https://{addr}/"),
        user: INITIAL_USER.into(),
        password,
        certificate: ConnectorDataDir::new(data_dir).ui_cert(),
    }
}
