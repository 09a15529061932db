//! Talking to the running connector through its admin socket (`data_dir/connector.sock`, mode
//! 0600; see `portcullis_connector::local`): one request, one answer. The verbs of
//! `portcullis connector …` that ask the running connector ([`crate::connector_admin`],
//! [`crate::connector_monitor`]) all go through [`request`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use portcullis_connector::local::{socket_path, ErrorCode, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// How long the connector has to answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest answer read (a listing of every window fits easily).
pub const MAX_ANSWER_LEN: u64 = 64 << 20;

/// Sends one request to the connector whose data directory is `data_dir` and reads its answer.
/// An error answer from the connector becomes an `Err` with its message.
pub async fn request(data_dir: &Path, req: &Request) -> Result<Response> {
    let path = socket_path(data_dir);
    let mut stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            bail!(
                "the connector is not running (nothing answers on {})",
                path.display()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bail!(
            "no permission to use {}: run this as the connector's user or as root",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("connecting to {}", path.display())),
    };
    let exchange = async {
        let mut line = serde_json::to_vec(req)?;
        line.push(b'\n');
        stream.write_all(&line).await?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(MAX_ANSWER_LEN)
            .read_to_end(&mut answer)
            .await?;
        anyhow::Ok(answer)
    };
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, exchange)
        .await
        .map_err(|_| anyhow::anyhow!("the connector did not answer within {ANSWER_TIMEOUT:?}"))?
        .with_context(|| format!("talking to the connector on {}", path.display()))?;
    let response: Response = serde_json::from_slice(answer.trim_ascii_end())
        .context("the connector's answer is not understood (a different version?)")?;
    if let Response::Error { code, message } = response {
        bail!("{}{message}", prefix(code));
    }
    Ok(response)
}

fn prefix(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::UnknownWindow => "unknown window: ",
        ErrorCode::AlreadyClosed => "already closed: ",
        ErrorCode::Forbidden => "refused: ",
        _ => "",
    }
}

pub(crate) fn data_dir(config: &Path) -> Result<PathBuf> {
    portcullis_connector::config::data_dir_of(config)
        .with_context(|| format!("reading {}", config.display()))
}

/// The invoking person: under sudo the one who ran sudo, not root; without a login name in
/// the environment (a service, a container) `uid N`. The connector records the caller's uid
/// from the socket's peer credentials either way.
pub(crate) fn login_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|n| n.trim().to_owned())
        .find(|n| !n.is_empty())
        .or_else(|| {
            // `/proc/self` belongs to the process's effective user (Linux).
            let uid = std::fs::metadata("/proc/self").ok()?.uid();
            Some(format!("uid {uid}"))
        })
}
