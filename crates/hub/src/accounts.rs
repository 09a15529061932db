//! Users and the API tokens that are their credentials.
//!
//! A token acts as its user: role, company and authorizations come from the user row, so
//! changing a user's authorizations or disabling the user takes effect on every token at once
//! (after the token cache's TTL for changes made behind the hub's back).

use portcullis_domain::authz::{Authorizations, Role};
use portcullis_store::{ApiToken, Id, NewApiToken, NewUser, Store, StoreError, TokenScope, User};
use time::OffsetDateTime;

use crate::auth::{format_api_token, new_secret};

/// A token just issued: the stored row and the token string, which is shown once.
pub struct IssuedToken {
    /// The stored row.
    pub row: ApiToken,
    /// `pct_<public>_<secret>`; never stored, never logged.
    pub token: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("row", &self.row)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Issues a new token for `user_id`.
pub async fn issue_token(
    store: &dyn Store,
    user_id: Id,
    name: &str,
    expires_at: Option<OffsetDateTime>,
) -> Result<IssuedToken, StoreError> {
    let s = new_secret(6);
    let row = store
        .create_api_token(NewApiToken {
            user_id,
            name: name.to_owned(),
            public_id: s.public_id.clone(),
            secret_hash: s.hash.clone(),
            expires_at,
            scope: TokenScope::Api,
        })
        .await?;
    Ok(IssuedToken {
        row,
        token: format_api_token(&s.public_id, &s.secret),
    })
}

/// Creates a user named `name` (or `token-<random>` for `None`: a user that exists only to
/// hold one token, the way `token create` works for callers that do not manage users).
pub async fn create_user(
    store: &dyn Store,
    company_id: Option<Id>,
    name: Option<&str>,
    display_name: &str,
    role: Role,
    authorizations: Authorizations,
) -> Result<User, StoreError> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => format!("token-{}", new_secret(6).public_id),
    };
    store
        .create_user(NewUser {
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
    use portcullis_store::SqliteStore;

    #[tokio::test]
    async fn a_token_acts_as_its_user() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let acme = store.create_company("acme").await.unwrap();
        let u = create_user(
            &store,
            Some(acme.id),
            None,
            "ci bot",
            Role::Technical,
            Authorizations::none(),
        )
        .await
        .unwrap();
        assert!(u.name.starts_with("token-"), "{}", u.name);
        let t = issue_token(&store, u.id, "ci", None).await.unwrap();
        let p = crate::auth::verify_token(&store, &t.token).await.unwrap();
        assert_eq!(
            (p.user_id, p.role, p.company_id),
            (u.id, Role::Technical, Some(acme.id))
        );
        assert!(
            !format!("{t:?}").contains(&t.token),
            "the token is masked in Debug"
        );

        store
            .disable_user(u.id, OffsetDateTime::now_utc())
            .await
            .unwrap();
        assert!(matches!(
            crate::auth::verify_token(&store, &t.token).await,
            Err(crate::auth::AuthError::Disabled)
        ));
    }
}
