//! Redeeming a connector's one-time enrolment token for a client certificate.
//!
//! Takes no permit: the token is the credential. The hub ignores every identity the CSR asks
//! for: the certificate names the company and location the token was issued for, and its
//! fingerprint is stored on the connector's row, which the tunnel endpoint checks on every
//! connect.
//!
//! A token is redeemed for the CSR's public key. If the connector lost the answer (a dropped
//! connection, a crash before it wrote its certificate), it may send the same token with a CSR
//! for the **same** key again until the token expires, and gets a fresh certificate for it
//! (the stored fingerprint moves to the new one, so only the latest certificate connects). The
//! CSR's signature proves possession of the key, so the token alone is not enough to repeat;
//! any other key finds the token used.

use std::time::Duration;

use portcullis_proto::enroll::{EnrollRequest, EnrollResponse, EnrollToken};
use portcullis_store::{NewAuditEvent, Redemption, StoreError};
use time::OffsetDateTime;

use super::Change;
use crate::audit_action::AuditAction;
use crate::auth::secret_matches;
use crate::state::State;

/// Lifetime of connector certificates unless `[connectors] certificate_lifetime_secs` says
/// otherwise.
pub const CLIENT_CERT_VALIDITY: Duration = Duration::from_secs(365 * 86_400);

/// Why an enrolment was refused. The wording is for the connector's operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolError {
    /// The token is not a token.
    #[error("{0}")]
    Malformed(String),
    /// The token names another hub's CA.
    #[error("this token was issued by another hub (CA fingerprint differs)")]
    WrongHub,
    /// No such token, or a wrong secret (the two are not told apart).
    #[error("the enrolment token is not valid")]
    InvalidToken,
    /// The token's connector or company is gone.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The CSR does not parse or its signature is wrong; the token is not spent.
    #[error("the certificate signing request could not be parsed or its signature is invalid")]
    BadCsr,
    /// The token expired.
    #[error("the enrolment token has expired; ask for a new one")]
    Expired,
    /// The token was spent for another key.
    #[error("the enrolment token was already used (by another key); ask for a new one")]
    Used,
    /// The connector was revoked.
    #[error("this connector was revoked")]
    Revoked,
    /// The store did not answer in time (a renewal over a tunnel, which must not hold up
    /// its heartbeats).
    #[error("the store did not answer in time")]
    Timeout,
    /// The store failed (or is full).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The company of `conn` and the common name its certificates carry:
/// `connector <company>/<location>`.
pub(super) async fn company_and_name(
    st: &State,
    conn: &portcullis_store::Connector,
) -> Result<(portcullis_store::Company, String), EnrolError> {
    let company = st
        .store
        .get_company(conn.company_id)
        .await?
        .ok_or(EnrolError::NotFound("company"))?;
    let cn = format!("connector {}/{}", company.name, conn.location);
    Ok((company, cn))
}

/// Redeems `req`'s token for a certificate for its CSR's key, records the certificate on the
/// connector and cuts the tunnel of the identity it replaces.
pub async fn enroll(st: &State, req: EnrollRequest) -> Result<EnrollResponse, EnrolError> {
    let tok =
        EnrollToken::parse(req.token.expose()).map_err(|e| EnrolError::Malformed(e.to_string()))?;
    if tok.ca_fingerprint != st.pki.ca.fingerprint_hex() {
        return Err(EnrolError::WrongHub);
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
        return Err(EnrolError::InvalidToken);
    };
    // Sign before spending the token too: a malformed CSR is the client's mistake to fix and
    // retry, not a reason to need a new token.
    let conn = st
        .store
        .get_connector(found.connector_id)
        .await?
        .ok_or(EnrolError::NotFound("connector"))?;
    let (company, cn) = company_and_name(st, &conn).await?;
    let signed = st
        .pki
        .ca
        .sign_csr(&req.csr_pem, &cn, st.config.connector_certificate_lifetime)
        .map_err(|e| {
            tracing::info!(error = %e, "enrolment with an unusable CSR");
            EnrolError::BadCsr
        })?;
    // Spending the token, recording the certificate and the audit event commit together:
    // a failure anywhere leaves the token unspent.
    let mut tx = st.store.begin().await?;
    let redemption = tx
        .redeem_enrollment_token(
            &tok.public_id,
            OffsetDateTime::now_utc(),
            &signed.public_key_sha256,
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => EnrolError::InvalidToken,
            StoreError::Expired => EnrolError::Expired,
            StoreError::AlreadyUsed => EnrolError::Used,
            StoreError::Revoked(_) => EnrolError::Revoked,
            other => EnrolError::Store(other),
        })?;
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
    super::commit(st, tx, &[Change::ConnectorCut { connector: conn.id }]).await?;
    Ok(EnrollResponse {
        certificate_pem: signed.cert_pem,
        ca_pem: st.pki.ca.cert_pem().to_string(),
        tunnel_addr: st.advertised_tunnel.clone(),
        tunnel_server_name: st.config.server_names[0].clone(),
        connector_id: conn.id,
        company: company.name,
        location: conn.location,
    })
}
