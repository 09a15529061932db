//! A company's OpenID Connect sign-in settings: its identity provider (issuer), the hub's
//! client there (id and secret), the claim that names a user, an extra CA for the provider's
//! HTTPS, and whether it is on. What a sign-in through it does is [`super::oidc_signin`].
//!
//! Only the company's super administrator reads and sets them (the permit for
//! [`Op::ManageUsers`] on the company): whoever sets the provider decides who signs in as the
//! company's users, which is a way in, so a vendor administrator may not (see
//! `portcullis_domain::authz`). The client secret is sealed at rest
//! ([`crate::signin::sealer`], bound to the company), written only: no answer shows it.

use portcullis_domain::authz::{Op, Permit};
use portcullis_domain::secret::Secret;
use portcullis_store::{Id, OidcConfig};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{check, event, Caller, Change, OpError};
use crate::audit_action::AuditAction;
use crate::signin::oidc::http::pem_certificates;
use crate::state::State;

/// The claim that names a user unless the settings say otherwise.
pub const DEFAULT_CLAIM: &str = "preferred_username";
/// Largest extra CA bundle accepted.
pub const MAX_CA_PEM: usize = 64 * 1024;

/// The sealing context of a company's client secret.
pub(crate) fn secret_context(company: Id) -> Vec<u8> {
    format!("oidc-client-secret:company:{company}").into_bytes()
}

/// The settings as shown (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OidcView {
    /// The issuer URL.
    pub issuer: String,
    /// The hub's client id at the provider.
    pub client_id: String,
    /// Always `true`: a secret is stored (it is never shown).
    pub client_secret_set: bool,
    /// The claim that names a user.
    pub user_claim: String,
    /// Extra trusted CA certificates (PEM), if any.
    pub extra_ca_pem: Option<String>,
    /// Whether sign-ins through the provider are accepted.
    pub enabled: bool,
    /// When they were last set.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
}

/// What an admin sets (`PUT /api/v1/companies/{c}/oidc`, the portal's form).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcInput {
    /// The issuer URL (`https://…`, no query or fragment).
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret; left out or empty keeps the stored one (required the first time).
    #[serde(default)]
    pub client_secret: Option<Secret<String>>,
    /// The claim that names a user; left out or empty: `preferred_username`.
    #[serde(default)]
    pub user_claim: Option<String>,
    /// Extra trusted CA certificates (PEM); left out or empty: the system's roots only.
    #[serde(default)]
    pub extra_ca_pem: Option<String>,
    /// Whether sign-ins through the provider are accepted (default on).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// The hub's redirect URI, which the provider must have registered for the client.
pub fn redirect_uri(st: &State) -> String {
    format!("{}{}", st.api_url(), crate::signin::oidc::CALLBACK_PATH)
}

fn view(st: &State, c: OidcConfig) -> OidcView {
    OidcView {
        issuer: c.issuer,
        client_id: c.client_id,
        client_secret_set: true,
        user_claim: c.user_claim,
        extra_ca_pem: c.extra_ca_pem,
        enabled: c.enabled,
        updated_at: c.updated_at,
        redirect_uri: redirect_uri(st),
    }
}

fn invalid(field: &str, why: &str) -> OpError {
    OpError::Invalid {
        code: "invalid",
        message: format!("{field}: {why}"),
    }
}

/// Checks an issuer URL: `https://host[:port][/path]`, nothing else.
pub fn check_issuer(issuer: &str) -> Result<(), OpError> {
    let bad = |why: &str| invalid("issuer", why);
    if issuer.is_empty() || issuer.len() > 512 {
        return Err(bad(
            "give the identity provider's issuer URL (at most 512 characters)",
        ));
    }
    let url = openidconnect::url::Url::parse(issuer).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "https" {
        return Err(bad("must start with https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("names no host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("must not hold a query, a fragment or a user name"));
    }
    Ok(())
}

fn printable(v: &str) -> bool {
    !v.chars().any(char::is_control)
}

/// The settings checked: issuer, client id, claim, CA (the secret is checked by [`put`]).
fn checked(input: &OidcInput) -> Result<(String, String, String, Option<String>), OpError> {
    let issuer = input.issuer.trim().to_string();
    check_issuer(&issuer)?;
    let client_id = input.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 255 || !printable(&client_id) {
        return Err(invalid("client_id", "1 to 255 printable characters"));
    }
    let claim = match input.user_claim.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_CLAIM.to_string(),
        Some(c) => c.to_string(),
    };
    let claim_ok = claim.len() <= 64
        && claim
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if !claim_ok {
        return Err(invalid(
            "user_claim",
            "1 to 64 letters, digits, '_', '-', '.', ':' (for example preferred_username or email)",
        ));
    }
    let ca = match input.extra_ca_pem.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(pem) if pem.len() > MAX_CA_PEM => {
            return Err(invalid("extra_ca_pem", "at most 64 KiB"));
        }
        Some(pem) if pem_certificates(pem).is_empty() => {
            return Err(invalid(
                "extra_ca_pem",
                "holds no PEM certificate (-----BEGIN CERTIFICATE----- …)",
            ));
        }
        Some(pem) => Some(format!("{pem}\n")),
    };
    Ok((issuer, client_id, claim, ca))
}

/// The company's settings, if it has any.
pub async fn get(st: &State, permit: &Permit, company: Id) -> Result<Option<OidcView>, OpError> {
    check(permit, Op::ManageUsers, Some(company))?;
    Ok(st.store.company_oidc(company).await?.map(|c| view(st, c)))
}

/// Sets the company's settings (see [`OidcInput`]), with the audit event
/// `company.oidc_set` (never the secret).
pub async fn put(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    company: Id,
    input: OidcInput,
) -> Result<OidcView, OpError> {
    check(permit, Op::ManageUsers, Some(company))?;
    let (issuer, client_id, user_claim, extra_ca_pem) = checked(&input)?;
    let c = st
        .store
        .get_company(company)
        .await?
        .ok_or(OpError::NotFound("company"))?;
    let before = st.store.company_oidc(company).await?;
    let secret = input
        .client_secret
        .filter(|s| !s.expose().trim().is_empty());
    let sealed = match (&secret, &before) {
        (Some(s), _) => {
            let s = s.expose().trim();
            if s.len() > 1024 || !printable(s) {
                return Err(invalid(
                    "client_secret",
                    "at most 1024 printable characters",
                ));
            }
            st.sealer.seal(&secret_context(company), s.as_bytes())
        }
        (None, Some(b)) => b.client_secret_sealed.expose().clone(),
        (None, None) => {
            return Err(invalid(
                "client_secret",
                "give the client secret the identity provider issued",
            ))
        }
    };
    let config = OidcConfig {
        company_id: company,
        issuer,
        client_id,
        client_secret_sealed: sealed.into(),
        user_claim,
        extra_ca_pem,
        enabled: input.enabled,
        updated_at: OffsetDateTime::now_utc(),
    };
    let mut tx = st.store.begin().await?;
    tx.put_company_oidc(&config).await?;
    tx.audit(event(
        by,
        company,
        AuditAction::CompanyOidcSet,
        &c.name,
        serde_json::json!({
            "issuer": &config.issuer,
            "client_id": &config.client_id,
            "user_claim": &config.user_claim,
            "enabled": config.enabled,
            "extra_ca": config.extra_ca_pem.is_some(),
            "secret_changed": secret.is_some(),
        }),
    ))
    .await?;
    super::commit(st, tx, &[Change::OidcChanged { company }]).await?;
    Ok(view(st, config))
}

/// Removes the company's settings (`company.oidc_removed`); `false` when it had none.
pub async fn delete(
    st: &State,
    by: Caller<'_>,
    permit: &Permit,
    company: Id,
) -> Result<bool, OpError> {
    check(permit, Op::ManageUsers, Some(company))?;
    let c = st
        .store
        .get_company(company)
        .await?
        .ok_or(OpError::NotFound("company"))?;
    let Some(before) = st.store.company_oidc(company).await? else {
        return Ok(false);
    };
    let mut tx = st.store.begin().await?;
    let removed = tx.delete_company_oidc(company).await?;
    tx.audit(event(
        by,
        company,
        AuditAction::CompanyOidcRemoved,
        &c.name,
        serde_json::json!({"issuer": before.issuer}),
    ))
    .await?;
    super::commit(st, tx, &[Change::OidcChanged { company }]).await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_urls_and_nothing_more() {
        for ok in [
            "https://idp.example.com",
            "https://login.example.com/realms/acme",
            "https://127.0.0.1:8443/",
        ] {
            assert!(check_issuer(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "http://idp.example.com",
            "idp.example.com",
            "https://idp.example.com/?x=1",
            "https://idp.example.com/#f",
            "https://user@idp.example.com/",
            "file:///etc/passwd",
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_claim_defaults_and_the_ca_must_hold_a_certificate() {
        let mut input = OidcInput {
            issuer: "https://idp.example.com".into(),
            client_id: " hub ".into(),
            enabled: true,
            ..OidcInput::default()
        };
        let (_, id, claim, ca) = checked(&input).unwrap();
        assert_eq!(
            (id.as_str(), claim.as_str(), ca),
            ("hub", DEFAULT_CLAIM, None)
        );
        input.user_claim = Some("email".into());
        assert_eq!(checked(&input).unwrap().2, "email");
        input.user_claim = Some("a b".into());
        assert!(checked(&input).is_err());
        input.user_claim = None;
        input.extra_ca_pem = Some("hello".into());
        assert!(checked(&input).is_err());
        input.extra_ca_pem = Some(" ".into());
        assert_eq!(checked(&input).unwrap().3, None);
        input.client_id = "x\u{7}".into();
        assert!(checked(&input).is_err());
    }
}
