//! `POST /api/v1/enroll`: a one-time token and a CSR in, a client certificate out
//! ([`crate::ops::enrolment`], which says why the token is the only credential).

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_proto::enroll::{EnrollRequest, EnrollResponse};

use super::extract::Body;
use super::ApiErr;
use crate::ops::enrolment::{self, EnrolError};
use crate::state::State;

pub use crate::ops::enrolment::CLIENT_CERT_VALIDITY;

impl From<EnrolError> for ApiErr {
    fn from(e: EnrolError) -> Self {
        let message = e.to_string();
        let (status, code) = match e {
            EnrolError::Store(s) => return s.into(),
            EnrolError::NotFound(what) => return ApiErr::not_found(what),
            EnrolError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_token"),
            EnrolError::WrongHub => (StatusCode::BAD_REQUEST, "wrong_hub"),
            EnrolError::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
            EnrolError::BadCsr => (StatusCode::BAD_REQUEST, "bad_csr"),
            EnrolError::Expired => (StatusCode::GONE, "token_expired"),
            EnrolError::Used => (StatusCode::GONE, "token_used"),
            EnrolError::Revoked => (StatusCode::FORBIDDEN, "connector_revoked"),
            EnrolError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        ApiErr::new(status, code, message)
    }
}

/// Handles an enrolment.
pub async fn enroll(
    AxState(st): AxState<State>,
    Body(req): Body<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiErr> {
    Ok(Json(enrolment::enroll(&st, req).await?))
}
