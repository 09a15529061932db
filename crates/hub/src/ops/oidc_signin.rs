//! A sign-in through the company's identity provider (OpenID Connect): [`start`] sends the
//! browser there, [`finish`] takes its answer at the callback.
//!
//! What is decided here and nowhere else: the company must have its provider set up and on
//! (an unknown company and one without a provider get the same answer, so the form does not
//! tell which companies exist); the callback must come from the browser that started the
//! flow, with its `state`, once ([`crate::signin::oidc::flows`]); the ID token must pass its
//! checks ([`crate::signin::oidc::provider`]); and its claim must name an existing, enabled
//! user of *that* company ([`crate::signin::oidc::claims`]; nobody is made on the fly, vendor
//! users never match). Then the session is made exactly as after a password
//! ([`super::signin::issue_session`]), without the password's duties (no password to
//! change), and with the second factor's code step when the user has one; a company that
//! requires one still sends a user without one to set it up.
//!
//! Every refusal is audited (`user.sign_in_failed` with its `reason`, never a token) and
//! slows the address down ([`crate::signin::throttle`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use portcullis_domain::secret::Secret;
use portcullis_store::{Company, NewAuditEvent, OidcConfig};
use time::OffsetDateTime;

use super::signin::{issue_session, SignInStep};
use crate::audit_action::AuditAction;
use crate::signin::oidc::claims::{self, MappingError};
use crate::signin::oidc::flows::{Flow, FlowError};
use crate::signin::oidc::provider::{ProviderError, Settings};
use crate::signin::Method;
use crate::state::State;

/// Why a sign-in through the identity provider did not succeed. The sentences are for the
/// person at the browser.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcSignInError {
    /// No such company, or it has no identity provider set up (or it is off).
    #[error("signing in through an identity provider is not set up for this company; sign in with your user name and password")]
    NotAvailable,
    /// Too many failures from this address: try again after this long.
    #[error("too many failed sign-ins; try again in {} seconds", .0.as_secs().max(1))]
    SlowDown(Duration),
    /// The callback matches no flow of this browser.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The provider could not be reached or its settings are not usable.
    #[error("your company's identity provider could not be reached; try again later, or sign in with your user name and password")]
    Unreachable,
    /// The provider answered with an error (the person cancelled, the client is refused …).
    #[error("your company's identity provider did not sign you in ({0})")]
    Provider(String),
    /// The token exchange or the ID token's checks failed.
    #[error("your company's identity provider's answer was refused; start again")]
    Token,
    /// The token names no user of the company that may sign in.
    #[error("{0}; ask your company's administrator")]
    NoUser(MappingError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] portcullis_store::StoreError),
}

/// A flow started: the value for the browser's flow cookie, and where to send it.
#[derive(Debug)]
pub struct Started {
    /// The flow cookie's value.
    pub browser: Secret<String>,
    /// The provider's authorization URL.
    pub url: String,
}

/// What came back to the callback.
#[derive(Debug, Default)]
pub struct Callback {
    /// The flow cookie's value, if the browser sent it.
    pub browser: Option<String>,
    /// `state`.
    pub state: String,
    /// `code`, on success.
    pub code: Option<String>,
    /// `error`, when the provider refused.
    pub error: Option<String>,
    /// `iss` (RFC 9207), when the provider names itself: it must be the flow's issuer.
    pub iss: Option<String>,
}

/// Records a refused sign-in through the provider (actor `portal`; never a token).
async fn refused(
    st: &State,
    company: Option<&Company>,
    target: &str,
    from: SocketAddr,
    reason: &str,
    cause: Option<&str>,
) {
    st.signin_throttle.failed_from(from.ip(), Instant::now());
    let mut detail = serde_json::json!({
        "reason": reason,
        "method": Method::Oidc.as_str(),
        "from": from.to_string(),
    });
    if let Some(c) = cause {
        detail["cause"] = c.chars().take(300).collect::<String>().into();
    }
    tracing::info!(%from, reason, cause, "portal sign-in through an identity provider refused");
    st.audit
        .record_event(NewAuditEvent {
            at: OffsetDateTime::now_utc(),
            company_id: company.map(|c| c.id),
            actor: "portal".into(),
            action: AuditAction::UserSignInFailed.code().into(),
            target: target.chars().take(64).collect(),
            outcome: "failure".into(),
            detail,
        })
        .await;
}

/// The company and its settings, when it has a provider that is on.
async fn usable(st: &State, name: &str) -> Result<Option<(Company, OidcConfig)>, OidcSignInError> {
    if super::check_name("company", name).is_err() {
        return Ok(None);
    }
    let Some(company) = st.store.find_company_by_name(name).await? else {
        return Ok(None);
    };
    Ok(st
        .store
        .company_oidc(company.id)
        .await?
        .filter(|c| c.enabled)
        .map(|c| (company, c)))
}

/// The client secret, opened; `None` (logged) when it does not open with this hub's key.
/// What the provider client needs of `config`, calling back to `redirect`; `None` when the
/// stored client secret does not open.
fn settings<'a>(st: &State, config: &'a OidcConfig, redirect: &'a str) -> Option<Settings<'a>> {
    Some(Settings {
        issuer: &config.issuer,
        client_id: &config.client_id,
        client_secret: secret(st, config)?,
        extra_ca: config.extra_ca_pem.as_deref(),
        redirect_uri: redirect,
    })
}

fn secret(st: &State, c: &OidcConfig) -> Option<Secret<String>> {
    let plain = st.sealer.open(
        &super::oidc::secret_context(c.company_id),
        c.client_secret_sealed.expose(),
    );
    let plain = plain.and_then(|p| String::from_utf8(p).ok());
    if plain.is_none() {
        tracing::error!(
            company = c.company_id,
            "a stored OIDC client secret does not open with this hub's key"
        );
    }
    plain.map(Secret::new)
}

/// Starts a sign-in through `company`'s identity provider from a browser at `from`.
pub async fn start(
    st: &State,
    company: &str,
    from: SocketAddr,
) -> Result<Started, OidcSignInError> {
    if let Some(wait) = st.signin_throttle.wait_from(from.ip(), Instant::now()) {
        return Err(OidcSignInError::SlowDown(wait));
    }
    let name = company.trim();
    let Some((company, config)) = usable(st, name).await? else {
        refused(st, None, name, from, "oidc_unknown_company", None).await;
        return Err(OidcSignInError::NotAvailable);
    };
    let redirect = super::oidc::redirect_uri(st);
    let Some(settings) = settings(st, &config, &redirect) else {
        return Err(OidcSignInError::Unreachable);
    };
    let begun = match st.oidc.providers.begin(&settings).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(company = %company.name, error = %e, "OIDC discovery failed");
            // Counted like any failure: starts that anybody can make must not turn into
            // unbounded requests to a provider that is down (and audit events).
            refused(
                st,
                Some(&company),
                &company.name,
                from,
                e.reason(),
                Some(&e.to_string()),
            )
            .await;
            return Err(OidcSignInError::Unreachable);
        }
    };
    let browser = st.oidc.flows.start(
        Flow {
            company: company.id,
            issuer: config.issuer.clone(),
            state: begun.state,
            nonce: begun.nonce,
            pkce_verifier: begun.pkce_verifier,
        },
        Instant::now(),
    );
    Ok(Started {
        browser,
        url: begun.url,
    })
}

/// Takes the provider's answer at the callback (see the module docs).
pub async fn finish(
    st: &State,
    cb: Callback,
    from: SocketAddr,
) -> Result<SignInStep, OidcSignInError> {
    if let Some(wait) = st.signin_throttle.wait_from(from.ip(), Instant::now()) {
        return Err(OidcSignInError::SlowDown(wait));
    }
    let taken = match cb.browser.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => st.oidc.flows.take(b, &cb.state, Instant::now()),
        None => Err(FlowError::Unknown),
    };
    let flow = match taken {
        Ok(f) => f,
        Err(e) => {
            refused(st, None, "", from, "oidc_state", Some(&e.to_string())).await;
            return Err(e.into());
        }
    };
    let company = st.store.get_company(flow.company).await?;
    let config = st
        .store
        .company_oidc(flow.company)
        .await?
        .filter(|c| c.enabled && c.issuer == flow.issuer);
    let (Some(company), Some(config)) = (company, config) else {
        refused(
            st,
            None,
            "",
            from,
            "oidc_unknown_company",
            Some("the settings changed"),
        )
        .await;
        return Err(OidcSignInError::NotAvailable);
    };
    if cb.iss.as_deref().is_some_and(|iss| iss != flow.issuer) {
        let cause = "the answer names another issuer (iss)";
        refused(
            st,
            Some(&company),
            &company.name,
            from,
            "oidc_provider_error",
            Some(cause),
        )
        .await;
        return Err(OidcSignInError::Token);
    }
    if let Some(error) = cb.error {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        refused(
            st,
            Some(&company),
            &company.name,
            from,
            "oidc_provider_error",
            Some(&error),
        )
        .await;
        return Err(OidcSignInError::Provider(error));
    }
    let Some(code) = cb.code.filter(|c| !c.is_empty() && c.len() <= 4096) else {
        refused(
            st,
            Some(&company),
            &company.name,
            from,
            "oidc_provider_error",
            Some("no code"),
        )
        .await;
        return Err(OidcSignInError::Provider("no code".into()));
    };
    let redirect = super::oidc::redirect_uri(st);
    let Some(settings) = settings(st, &config, &redirect) else {
        return Err(OidcSignInError::Unreachable);
    };
    let verified = st
        .oidc
        .providers
        .finish(
            &settings,
            &code,
            flow.nonce.expose(),
            flow.pkce_verifier.expose(),
        )
        .await;
    let claims = match verified {
        Ok(c) => c,
        Err(e) => {
            refused(
                st,
                Some(&company),
                &company.name,
                from,
                e.reason(),
                Some(&e.to_string()),
            )
            .await;
            return Err(match e {
                ProviderError::Settings(_) | ProviderError::Unreachable(_) => {
                    OidcSignInError::Unreachable
                }
                ProviderError::Exchange(_) | ProviderError::Token(_) => OidcSignInError::Token,
            });
        }
    };
    let users = st.store.list_users(Some(company.id)).await?;
    let found = claims::claim_value(&claims, &config.user_claim)
        .and_then(|value| claims::find_user(&users, &config.user_claim, &value).cloned());
    let user = match found {
        Ok(u) => u,
        Err(e) => {
            let target = match &e {
                MappingError::Unknown(v)
                | MappingError::Disabled(v)
                | MappingError::Ambiguous(v) => v.clone(),
                MappingError::NoClaim(_) => company.name.clone(),
            };
            refused(
                st,
                Some(&company),
                &target,
                from,
                e.reason(),
                Some(&e.to_string()),
            )
            .await;
            return Err(OidcSignInError::NoUser(e));
        }
    };
    if st.store.user_totp(user.id).await?.is_some() {
        let ticket = st.pending_signins.issue(
            crate::signin::pending::Pending {
                user: user.id,
                must_change: false,
                method: Method::Oidc,
            },
            Instant::now(),
        );
        return Ok(SignInStep::Code(ticket));
    }
    st.signin_throttle.succeeded(&user.name);
    Ok(SignInStep::Done(
        issue_session(st, &user, false, from, false, Method::Oidc).await?,
    ))
}
