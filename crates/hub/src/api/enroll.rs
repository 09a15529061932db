//! `POST /api/v1/enroll`: a one-time token and a CSR in, a client certificate out.
//!
//! Unauthenticated by design (the token is the credential). The hub ignores every identity the
//! CSR asks for: the certificate names the company and location the token was issued for, and
//! its fingerprint is stored on the connector's row, which the tunnel endpoint checks on every
//! connect.
//!
//! A token is redeemed for the CSR's public key. If the connector lost the answer (a dropped
//! connection, a crash before it wrote its certificate), it may send the same token with a CSR
//! for the **same** key again until the token expires, and gets a fresh certificate for it
//! (the stored fingerprint moves to the new one, so only the latest certificate connects). The
//! CSR's signature proves possession of the key, so the token alone is not enough to repeat;
//! any other key finds the token used.

use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::Json;
use portcullis_proto::enroll::{EnrollRequest, EnrollResponse, EnrollToken};
use portcullis_store::{NewAuditEvent, Redemption, StoreError};
use time::OffsetDateTime;

use super::ApiErr;
use crate::audit_action::AuditAction;
use crate::auth::secret_matches;
use crate::ops::{self, Change};
use crate::state::State;

/// Lifetime of connector certificates.
pub const CLIENT_CERT_VALIDITY: Duration = Duration::from_secs(365 * 86_400);

fn invalid_token() -> ApiErr {
    ApiErr::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the enrolment token is not valid",
    )
}

/// Handles an enrolment.
pub async fn enroll(
    AxState(st): AxState<State>,
    super::extract::Body(req): super::extract::Body<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiErr> {
    let tok = EnrollToken::parse(req.token.expose())
        .map_err(|e| ApiErr::bad_request("malformed_token", e.to_string()))?;
    if tok.ca_fingerprint != st.pki.ca.fingerprint_hex() {
        return Err(ApiErr::bad_request(
            "wrong_hub",
            "this token was issued by another hub (CA fingerprint differs)",
        ));
    }
    // Check the secret before spending the token, so a mistyped token does not burn a good
    // one; a wrong secret learns nothing about the token's state.
    let found = st
        .store
        .find_enrollment_token(&tok.public_id)
        .await?
        .filter(|t| secret_matches(tok.secret.expose(), t.secret_hash.expose()));
    let Some(found) = found else {
        tracing::warn!(token = %tok.public_id, "enrolment with an unknown token or a wrong secret");
        return Err(invalid_token());
    };
    // Sign before spending the token too: a malformed CSR is the client's mistake to fix and
    // retry, not a reason to need a new token.
    let conn = st
        .store
        .get_connector(found.connector_id)
        .await?
        .ok_or_else(|| ApiErr::not_found("connector"))?;
    let company = st
        .store
        .get_company(conn.company_id)
        .await?
        .ok_or_else(|| ApiErr::not_found("company"))?;
    let cn = format!("connector {}/{}", company.name, conn.location);
    let signed = st
        .pki
        .ca
        .sign_csr(&req.csr_pem, &cn, CLIENT_CERT_VALIDITY)
        .map_err(|e| {
            tracing::info!(error = %e, "enrolment with an unusable CSR");
            ApiErr::bad_request(
                "bad_csr",
                "the certificate signing request could not be parsed or its signature is invalid",
            )
        })?;
    // Spending the token, recording the certificate and the audit event commit together:
    // a failure anywhere leaves the token unspent.
    let mut tx = st.store.begin().await?;
    let redemption = match tx
        .redeem_enrollment_token(
            &tok.public_id,
            OffsetDateTime::now_utc(),
            &signed.public_key_sha256,
        )
        .await
    {
        Ok(t) => t,
        Err(StoreError::NotFound(_)) => return Err(invalid_token()),
        Err(StoreError::Expired) => {
            return Err(ApiErr::new(
                StatusCode::GONE,
                "token_expired",
                "the enrolment token has expired; ask for a new one",
            ))
        }
        Err(StoreError::AlreadyUsed) => {
            return Err(ApiErr::new(
                StatusCode::GONE,
                "token_used",
                "the enrolment token was already used (by another key); ask for a new one",
            ))
        }
        Err(StoreError::Revoked(_)) => {
            return Err(ApiErr::new(
                StatusCode::FORBIDDEN,
                "connector_revoked",
                "this connector was revoked",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    tx.set_connector_certificate(conn.id, &signed.fingerprint_hex, signed.not_after)
        .await?;
    tx.audit(NewAuditEvent {
        at: OffsetDateTime::now_utc(),
        company_id: Some(conn.company_id),
        actor: format!("connector:{}", conn.id),
        action: AuditAction::ConnectorEnrolled.code().into(),
        target: conn.location.clone(),
        outcome: "ok".into(),
        detail: serde_json::json!({
            "fingerprint": signed.fingerprint_hex, "hostname": req.hostname,
            "public_key_sha256": signed.public_key_sha256,
            "repeat": redemption == Redemption::Repeat,
        }),
    })
    .await?;
    // A re-enrolment replaces the identity: the old certificate's tunnel goes now.
    ops::commit(&st, tx, &[Change::ConnectorCut { connector: conn.id }]).await?;
    Ok(Json(EnrollResponse {
        certificate_pem: signed.cert_pem,
        ca_pem: st.pki.ca.cert_pem().to_string(),
        tunnel_addr: st.advertised_tunnel.clone(),
        tunnel_server_name: st.config.server_names[0].clone(),
        connector_id: conn.id,
        company: company.name,
        location: conn.location,
    }))
}
