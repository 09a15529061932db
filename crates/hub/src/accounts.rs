//! Users and the API tokens that are their credentials.
//!
//! A token acts as its user: role, company and authorizations come from the user row, so
//! changing a user's authorizations or disabling the user takes effect on every token at once
//! (after the token cache's TTL for changes made behind the hub's back).
//!
//! A *route password* ([`issue_route_password`]) is a token of scope `route`: short, always
//! expiring, and a connection password only (see [`crate::auth`]).

use portcullis_domain::authz::{Authorizations, Op, Permit, Role};
use portcullis_domain::secret::Secret;
use portcullis_store::{
    ApiToken, Id, NewApiToken, NewUser, Store, StoreError, StoreTx, TokenScope, User,
};
use time::OffsetDateTime;

use crate::auth::{
    format_api_token, new_secret, new_secret_sized, PUBLIC_ID_BYTES, ROUTE_SECRET_BYTES,
};

/// The name route passwords carry in token lists and audit records
/// (`token:route-password#<id>`).
pub const ROUTE_PASSWORD_NAME: &str = "route-password";

/// A token just issued: the stored row and the token string, which is shown once.
#[derive(Debug)]
pub struct IssuedToken {
    /// The stored row.
    pub row: ApiToken,
    /// `pct_<public>_<secret>`; never stored, never logged.
    pub token: Secret<String>,
}

/// Issues a new token for `user_id` in `tx` (the caller adds the audit event and commits).
pub async fn issue_token(
    tx: &mut dyn StoreTx,
    user_id: Id,
    name: &str,
    expires_at: Option<OffsetDateTime>,
) -> Result<IssuedToken, StoreError> {
    let s = new_secret(PUBLIC_ID_BYTES);
    let row = tx
        .create_api_token(NewApiToken {
            user_id,
            name: name.to_owned(),
            public_id: s.public_id.clone(),
            secret_hash: s.hash.clone().into(),
            expires_at,
            scope: TokenScope::Api,
        })
        .await?;
    Ok(IssuedToken {
        row,
        token: format_api_token(&s.public_id, s.secret.expose()).into(),
    })
}

/// The name portal sessions' credentials carry in token lists and audit records
/// (`token:portal#<id>`).
pub const PORTAL_CREDENTIAL_NAME: &str = "portal";
/// The name of a portal session's credential when the company's identity provider signed the
/// user in (`token:portal-oidc#<id>`): such a session has no password to change.
pub const PORTAL_OIDC_CREDENTIAL_NAME: &str = "portal-oidc";

/// Issues the credential of a portal session for `user_id`, expiring at `expires_at` (the
/// session's absolute timeout), in `tx`; `name` is [`PORTAL_CREDENTIAL_NAME`] or
/// [`PORTAL_OIDC_CREDENTIAL_NAME`].
pub async fn issue_portal_credential(
    tx: &mut dyn StoreTx,
    user_id: Id,
    expires_at: OffsetDateTime,
    name: &'static str,
) -> Result<IssuedToken, StoreError> {
    let s = new_secret(PUBLIC_ID_BYTES);
    let row = tx
        .create_api_token(NewApiToken {
            user_id,
            name: name.to_owned(),
            public_id: s.public_id.clone(),
            secret_hash: s.hash.clone().into(),
            expires_at: Some(expires_at),
            scope: TokenScope::Portal,
        })
        .await?;
    Ok(IssuedToken {
        row,
        token: format_api_token(&s.public_id, s.secret.expose()).into(),
    })
}

/// How long a route password lives: 1 minute to 12 hours, an hour unless asked otherwise.
///
/// Short because it is typed into SAP GUI's route string field, where it is visible and may be
/// saved with the connection entry; 12 hours cover a long working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteTtl {
    minutes: i64,
}

/// A route password lifetime outside 1..=720 minutes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ttl_minutes must be 1 to 720: a route password lives at least a minute and at most 12 hours \
     ({0} minutes were asked for)"
)]
pub struct RouteTtlError(pub i64);

impl RouteTtl {
    /// The lifetime when none is asked for: an hour.
    pub const DEFAULT: RouteTtl = RouteTtl { minutes: 60 };
    /// The longest lifetime, in minutes (12 hours).
    pub const MAX_MINUTES: i64 = 720;

    /// A lifetime of `minutes`, if within 1..=720.
    pub fn from_minutes(minutes: i64) -> Result<RouteTtl, RouteTtlError> {
        if (1..=Self::MAX_MINUTES).contains(&minutes) {
            Ok(RouteTtl { minutes })
        } else {
            Err(RouteTtlError(minutes))
        }
    }

    /// The lifetime in minutes.
    pub fn minutes(self) -> i64 {
        self.minutes
    }

    /// The lifetime as a duration.
    pub fn duration(self) -> time::Duration {
        time::Duration::minutes(self.minutes)
    }
}

/// Issues a route password for the user `permit` was given to (one's own, never another's),
/// expiring `ttl` from now, or at `not_after` if that is sooner (the expiry of the API token
/// that asks for it: a credential never outlives the one that made it). The permit must be
/// for [`Op::CreateRoutePassword`].
pub async fn issue_route_password(
    tx: &mut dyn StoreTx,
    permit: &Permit,
    ttl: RouteTtl,
    not_after: Option<OffsetDateTime>,
) -> Result<IssuedToken, StoreError> {
    debug_assert_eq!(permit.op(), Op::CreateRoutePassword, "wrong permit");
    let s = new_secret_sized(PUBLIC_ID_BYTES, ROUTE_SECRET_BYTES);
    let row = tx
        .create_api_token(NewApiToken {
            user_id: permit.user_id(),
            name: ROUTE_PASSWORD_NAME.to_owned(),
            public_id: s.public_id.clone(),
            secret_hash: s.hash.clone().into(),
            expires_at: Some(
                not_after.map_or(OffsetDateTime::now_utc() + ttl.duration(), |n| {
                    n.min(OffsetDateTime::now_utc() + ttl.duration())
                }),
            ),
            scope: TokenScope::Route,
        })
        .await?;
    Ok(IssuedToken {
        row,
        token: format_api_token(&s.public_id, s.secret.expose()).into(),
    })
}

/// Which of a user's tokens [`live_tokens`] picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// API tokens and route passwords alike: what disabling a user revokes (the user row
    /// already refuses every token; revoking them too makes that permanent, whatever later
    /// happens to the user row).
    All,
    /// Route passwords only: what revoking one of the user's API tokens takes with it. A route
    /// password is made with an API token and the hub does not record which, so revoking any
    /// of his API tokens takes all of them (they live at most 12 hours; he makes a new one
    /// with a token he still holds).
    RoutePasswords,
    /// Portal sessions' credentials only: what a password change or reset ends.
    PortalSessions,
}

/// The ids of `user_id`'s tokens of `kind` that are not revoked: read before the transaction
/// that revokes them with [`revoke`].
pub async fn live_tokens(
    store: &dyn Store,
    user_id: Id,
    kind: TokenKind,
) -> Result<Vec<Id>, StoreError> {
    Ok(store
        .list_user_tokens(user_id)
        .await?
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .filter(|t| match kind {
            TokenKind::All => true,
            TokenKind::RoutePasswords => t.scope == TokenScope::Route,
            TokenKind::PortalSessions => t.scope == TokenScope::Portal,
        })
        .map(|t| t.id)
        .collect())
}

/// Revokes the tokens `ids` in `tx`; returns those this call revoked (for cutting their
/// sessions once the transaction committed).
pub async fn revoke(
    tx: &mut dyn StoreTx,
    ids: &[Id],
    at: OffsetDateTime,
) -> Result<Vec<Id>, StoreError> {
    let mut revoked = Vec::new();
    for &id in ids {
        if tx.revoke_api_token(id, at).await? {
            revoked.push(id);
        }
    }
    Ok(revoked)
}

/// Creates a user named `name` (or `token-<random>` for `None`: a user that exists only to
/// hold one token, the way `token create` works for callers that do not manage users).
pub async fn create_user(
    tx: &mut dyn StoreTx,
    company_id: Option<Id>,
    name: Option<&str>,
    display_name: &str,
    role: Role,
    authorizations: Authorizations,
) -> Result<User, StoreError> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => format!("token-{}", new_secret(PUBLIC_ID_BYTES).public_id),
    };
    tx.create_user(NewUser {
        company_id,
        name,
        display_name: display_name.to_owned(),
        email: None,
        role,
        authorizations,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::{SqliteStore, Store};

    #[tokio::test]
    async fn a_token_acts_as_its_user() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let acme = store.create_company("acme").await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let u = create_user(
            &mut *tx,
            Some(acme.id),
            None,
            "ci bot",
            Role::Technical,
            Authorizations::none(),
        )
        .await
        .unwrap();
        assert!(u.name.starts_with("token-"), "{}", u.name);
        let t = issue_token(&mut *tx, u.id, "ci", None).await.unwrap();
        tx.commit().await.unwrap();
        let p = crate::auth::verify_token(&store, t.token.expose())
            .await
            .unwrap();
        assert_eq!(
            (p.user_id, p.role, p.company_id),
            (u.id, Role::Technical, Some(acme.id))
        );
        assert!(
            !format!("{t:?}").contains(t.token.expose()),
            "the token is masked in Debug"
        );

        store
            .disable_user(u.id, OffsetDateTime::now_utc())
            .await
            .unwrap();
        assert!(matches!(
            crate::auth::verify_token(&store, t.token.expose()).await,
            Err(crate::auth::AuthError::Disabled)
        ));
    }

    #[test]
    fn route_password_lifetimes_are_one_minute_to_twelve_hours() {
        assert_eq!(RouteTtl::DEFAULT.minutes(), 60);
        assert_eq!(RouteTtl::from_minutes(1).unwrap().minutes(), 1);
        assert_eq!(
            RouteTtl::from_minutes(720).unwrap().duration(),
            time::Duration::hours(12)
        );
        for bad in [0, -1, 721, i64::MAX, i64::MIN] {
            let e = RouteTtl::from_minutes(bad).unwrap_err();
            assert_eq!(e, RouteTtlError(bad));
            assert!(e.to_string().contains("1 to 720"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_route_password_is_a_connection_password_of_its_user_only() {
        use crate::auth::{AuthError, TokenCache};
        use portcullis_domain::authz::authorize;
        let store = SqliteStore::open_in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let eve = create_user(
            &mut *tx,
            None,
            Some("eve"),
            "Eve",
            Role::SupportEngineer,
            Authorizations::none(),
        )
        .await
        .unwrap();
        let api = issue_token(&mut *tx, eve.id, "laptop", None).await.unwrap();
        tx.commit().await.unwrap();
        let cache = TokenCache::default();
        let p = cache.verify_api(&store, api.token.expose()).await.unwrap();
        assert_eq!(p.scope, TokenScope::Api);
        let permit = authorize(&p.actor(), Op::CreateRoutePassword, p.company_id).unwrap();
        let before = OffsetDateTime::now_utc();
        let mut tx = store.begin().await.unwrap();
        let route =
            issue_route_password(&mut *tx, &permit, RouteTtl::from_minutes(5).unwrap(), None)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(route.row.user_id, eve.id, "for the permit's user");
        assert_eq!(route.row.name, ROUTE_PASSWORD_NAME);
        assert_eq!(route.row.scope, TokenScope::Route);
        let left = route.row.expires_at.unwrap() - before;
        assert!(
            (left - time::Duration::minutes(5)).abs() < time::Duration::seconds(1),
            "{left}"
        );
        assert!(!format!("{route:?}").contains(route.token.expose()));

        // Accepted as a connection password, with its scope for the entry to see …
        let p = cache.verify(&store, route.token.expose()).await.unwrap();
        assert_eq!(
            (p.user_id, p.scope, p.expires_at),
            (eve.id, TokenScope::Route, route.row.expires_at)
        );
        // … refused by the REST API's check, but only once the secret is right.
        assert!(matches!(
            cache.verify_api(&store, route.token.expose()).await,
            Err(AuthError::RoutePassword)
        ));
        let (id, _) = crate::auth::parse_api_token(route.token.expose()).unwrap();
        let wrong = crate::auth::format_api_token(id, &"0".repeat(32));
        assert!(matches!(
            cache.verify_api(&store, &wrong).await,
            Err(AuthError::WrongSecret)
        ));
        // Expired: refused everywhere.
        store
            .create_api_token(NewApiToken {
                user_id: eve.id,
                name: ROUTE_PASSWORD_NAME.into(),
                public_id: "0123456789ab".into(),
                secret_hash: crate::auth::hash_secret(&"ab".repeat(16)).into(),
                expires_at: Some(OffsetDateTime::now_utc() - time::Duration::seconds(1)),
                scope: TokenScope::Route,
            })
            .await
            .unwrap();
        let expired = crate::auth::format_api_token("0123456789ab", &"ab".repeat(16));
        assert!(matches!(
            cache.verify(&store, &expired).await,
            Err(AuthError::Expired)
        ));
    }
}
