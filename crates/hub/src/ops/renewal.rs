//! A connector renewing its client certificate over its tunnel (issue #17 part 4).
//!
//! Two steps, so neither side can lose the identity that works: [`sign`] answers the
//! connector's CSR with a certificate for the **same** connector (company and location; the
//! CSR gives only the key), and changes nothing stored. The connector writes it beside the one
//! in use and says so ([`portcullis_proto::RenewStored`]); only then [`put_in_force`] moves the
//! connector's fingerprint to the new certificate, with the `connector.renewed` audit event in
//! the same transaction. From then on the tunnel endpoint accepts only the new certificate for
//! new tunnels; the tunnel in use is not touched (TLS does not check a certificate again on a
//! connection it established), so live streams run on. A connector that stops between the
//! steps still holds its old certificate, which still works, and asks again.

use portcullis_store::NewAuditEvent;
use portcullis_transport::pki::SignedCert;
use time::OffsetDateTime;

use super::enrolment::EnrolError;
use crate::audit_action::AuditAction;
use crate::state::State;

/// The connector `id`, while `in_use` (the tunnel's certificate) is still its certificate on
/// record: a connector re-enrolled elsewhere (or revoked) since this tunnel opened renews
/// nothing through it.
async fn current(
    st: &State,
    id: i64,
    in_use: &str,
) -> Result<portcullis_store::Connector, EnrolError> {
    st.store
        .get_connector(id)
        .await?
        .filter(|c| c.revoked_at.is_none() && c.cert_fingerprint.as_deref() == Some(in_use))
        .ok_or(EnrolError::NotFound("connector with this certificate"))
}

/// Signs `csr_pem`'s key for connector `id`, whose tunnel uses the certificate `in_use`;
/// nothing stored.
pub async fn sign(
    st: &State,
    id: i64,
    in_use: &str,
    csr_pem: &str,
) -> Result<SignedCert, EnrolError> {
    let conn = current(st, id, in_use).await?;
    let (_, cn) = super::enrolment::company_and_name(st, &conn).await?;
    st.pki
        .ca
        .sign_csr(csr_pem, &cn, st.config.connector_certificate_lifetime)
        .map_err(|e| {
            tracing::info!(connector = id, error = %e, "renewal with an unusable CSR");
            EnrolError::BadCsr
        })
}

/// Puts `signed` in force for connector `id` (its fingerprint moves from `in_use`, the
/// tunnel's certificate, which must still be the one on record), audited.
pub async fn put_in_force(
    st: &State,
    id: i64,
    in_use: &str,
    signed: &SignedCert,
) -> Result<(), EnrolError> {
    let conn = current(st, id, in_use).await?;
    let mut tx = st.store.begin().await?;
    tx.set_connector_certificate(id, &signed.fingerprint_hex, signed.not_after)
        .await?;
    tx.audit(NewAuditEvent {
        at: OffsetDateTime::now_utc(),
        company_id: Some(conn.company_id),
        actor: format!("connector:{id}"),
        action: AuditAction::ConnectorRenewed.code().into(),
        target: conn.location.clone(),
        outcome: "ok".into(),
        detail: serde_json::json!({
            "fingerprint": signed.fingerprint_hex,
            "previous_fingerprint": conn.cert_fingerprint,
            "not_after": signed.not_after.unix_timestamp(),
            "public_key_sha256": signed.public_key_sha256,
        }),
    })
    .await?;
    super::commit(st, tx, &[]).await?;
    Ok(())
}
