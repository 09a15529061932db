//! `POST /api/v1/backup`: a backup of the running connector, encrypted with the password the
//! body gives, as the answer's body (what `portcullis connector backup` writes; restore it with
//! `portcullis connector restore`). Administrators only ([`Permit::Backup`]): a backup holds
//! the connector's private keys.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{caller, json_body, ApiError, ApiUser, ErrorBody};
use super::roles::{self, Permit};
use super::state::Admin;
use crate::ops::backup::{BackupRefused, Made};

/// The routes.
pub fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new().routes(routes!(make))
}

/// What a backup is encrypted with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupBody {
    /// The password a restore will ask for; not empty. Keep it apart from the file.
    password: String,
}

/// The answer that carries a backup file.
pub fn file_response(made: Made) -> Response {
    let name = format!(
        "attachment; filename=\"portcullis-connector-{}.age\"",
        time::OffsetDateTime::now_utc().unix_timestamp()
    );
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(made.file));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, name),
            (header::CONTENT_LENGTH, made.len.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

/// The status and code of a refused backup.
pub fn refused(e: &BackupRefused) -> (StatusCode, &'static str) {
    match e {
        BackupRefused::EmptyPassword => (StatusCode::BAD_REQUEST, "bad_request"),
        BackupRefused::NoConfigFile => (StatusCode::CONFLICT, "no_config_file"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "not_made"),
    }
}

/// A backup of this connector, encrypted with the given password (age); everything
/// `portcullis connector restore` needs to bring it back as itself on a fresh host.
#[utoipa::path(post, path = "/api/v1/backup", tag = "backup",
    request_body = BackupBody,
    responses((status = 200, description = "The encrypted backup file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = ErrorBody, description = "a bad body or an empty password"),
        (status = 409, body = ErrorBody, description = "the connector runs without a configuration file (`no_config_file`)"),
        (status = 500, body = ErrorBody, description = "it could not be written (`not_made`)")),
    extensions(("x-permit" = json!("Backup"))))]
pub async fn make(
    State(st): State<Admin>,
    ApiUser(a): ApiUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    roles::permit(&a, Permit::Backup)?;
    let b: BackupBody = json_body(&body)?;
    match crate::ops::backup::make(&st.shared, &caller(&a), b.password).await {
        Ok(made) => Ok(file_response(made)),
        Err(e) => {
            let (status, code) = refused(&e);
            Err(ApiError(status, code, e.to_string()))
        }
    }
}
