//! From a verified ID token to a portal user: the claim the company named, and the one user
//! of that company it names.
//!
//! Only existing users are found (nothing is made on the fly): an enabled user of the
//! company, not a technical user (those have tokens, not sign-ins). The claim `email` is
//! matched against users' e-mail addresses, and refused when the token says the address is
//! not verified; any other claim against user names. Both without regard to case, and two
//! users matching is a refusal, not a guess.

use base64::Engine;
use portcullis_domain::authz::Role;
use portcullis_store::User;

/// Why no user was found for a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The token does not carry the claim as a string (or the e-mail is marked unverified).
    #[error("the identity provider's token does not name a user (claim {0:?})")]
    NoClaim(String),
    /// No user of the company has that name (or e-mail address).
    #[error("no user of this company matches {0:?}")]
    Unknown(String),
    /// The user is disabled.
    #[error("the user {0:?} is disabled")]
    Disabled(String),
    /// Several users match.
    #[error("several users of this company match {0:?}")]
    Ambiguous(String),
}

impl MappingError {
    /// The `reason` recorded in the audit event.
    pub fn reason(&self) -> &'static str {
        match self {
            MappingError::NoClaim(_) => "oidc_no_claim",
            MappingError::Unknown(_) => "oidc_unknown_user",
            MappingError::Disabled(_) => "oidc_disabled",
            MappingError::Ambiguous(_) => "oidc_ambiguous",
        }
    }
}

/// The payload of a compact JWT (`header.payload.signature`) as JSON; `None` when it is not
/// one. Call it only on a token whose signature was verified.
pub fn payload(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = jwt.split('.');
    let (_, Some(p), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(p.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The value of `claim` in verified `claims`, as the user's key.
pub fn claim_value(
    claims: &serde_json::Map<String, serde_json::Value>,
    claim: &str,
) -> Result<String, MappingError> {
    let value = claims
        .get(claim)
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 320)
        .ok_or_else(|| MappingError::NoClaim(claim.to_string()))?;
    if claim == "email" && claims.get("email_verified") == Some(&serde_json::Value::Bool(false)) {
        return Err(MappingError::NoClaim(claim.to_string()));
    }
    Ok(value.to_string())
}

/// The one user among `users` (one company's) that `value` of `claim` names.
pub fn find_user<'u>(
    users: &'u [User],
    claim: &str,
    value: &str,
) -> Result<&'u User, MappingError> {
    let matches: Vec<&User> = users
        .iter()
        .filter(|u| u.role != Role::Technical)
        .filter(|u| {
            let key = if claim == "email" {
                u.email.as_deref().unwrap_or("")
            } else {
                u.name.as_str()
            };
            !key.is_empty() && key.eq_ignore_ascii_case(value) && key.len() == value.len()
        })
        .collect();
    match matches.as_slice() {
        [] => Err(MappingError::Unknown(value.to_string())),
        [one] if one.disabled_at.is_some() => Err(MappingError::Disabled(one.name.clone())),
        [one] => Ok(one),
        _ => Err(MappingError::Ambiguous(value.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_domain::authz::Authorizations;
    use time::OffsetDateTime;

    fn user(id: i64, name: &str, email: Option<&str>, role: Role, disabled: bool) -> User {
        User {
            id,
            company_id: Some(1),
            name: name.into(),
            display_name: name.into(),
            email: email.map(Into::into),
            role,
            authorizations: Authorizations::none(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            disabled_at: disabled.then_some(OffsetDateTime::UNIX_EPOCH),
        }
    }

    fn claims(json: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn a_claim_names_one_user_by_name_or_by_email() {
        let users = vec![
            user(
                1,
                "anna",
                Some("Anna@Acme.example"),
                Role::CompanyAdmin,
                false,
            ),
            user(2, "ben", None, Role::CompanyUser, false),
            user(3, "bot", Some("bot@acme.example"), Role::Technical, false),
            user(4, "old", Some("old@acme.example"), Role::CompanyUser, true),
        ];
        assert_eq!(
            find_user(&users, "preferred_username", "ANNA").unwrap().id,
            1
        );
        assert_eq!(
            find_user(&users, "preferred_username", "ben").unwrap().id,
            2
        );
        assert_eq!(
            find_user(&users, "email", "anna@acme.example").unwrap().id,
            1
        );
        assert_eq!(
            find_user(&users, "email", "ben"),
            Err(MappingError::Unknown("ben".into())),
            "a name is not an e-mail address"
        );
        assert_eq!(
            find_user(&users, "preferred_username", "bot"),
            Err(MappingError::Unknown("bot".into())),
            "technical users do not sign in"
        );
        assert_eq!(
            find_user(&users, "preferred_username", "old"),
            Err(MappingError::Disabled("old".into()))
        );
        assert_eq!(
            find_user(&users, "sub", "carl"),
            Err(MappingError::Unknown("carl".into()))
        );
        let twins = vec![
            user(1, "a1", Some("same@acme.example"), Role::CompanyUser, false),
            user(2, "a2", Some("SAME@acme.example"), Role::CompanyUser, false),
        ];
        assert_eq!(
            find_user(&twins, "email", "same@acme.example"),
            Err(MappingError::Ambiguous("same@acme.example".into()))
        );
    }

    #[test]
    fn the_claim_must_be_a_string_and_a_verified_address() {
        let c = claims(serde_json::json!({
            "sub": "x", "preferred_username": " anna ", "groups": ["a"],
            "email": "anna@acme.example", "email_verified": false, "upn": ""
        }));
        assert_eq!(claim_value(&c, "preferred_username").unwrap(), "anna");
        assert_eq!(claim_value(&c, "sub").unwrap(), "x");
        for missing in ["groups", "upn", "name", "email"] {
            assert_eq!(
                claim_value(&c, missing),
                Err(MappingError::NoClaim(missing.into())),
                "{missing}"
            );
        }
        let c = claims(serde_json::json!({"email": "anna@acme.example", "email_verified": true}));
        assert_eq!(claim_value(&c, "email").unwrap(), "anna@acme.example");
        let c = claims(serde_json::json!({"email": "anna@acme.example"}));
        assert_eq!(claim_value(&c, "email").unwrap(), "anna@acme.example");
    }

    #[test]
    fn a_payload_is_read_from_a_compact_token_only() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!("{}.{}.sig", b64("{}"), b64(r#"{"sub":"s"}"#));
        assert_eq!(payload(&jwt).unwrap()["sub"], "s");
        assert!(payload("a.b").is_none());
        assert!(payload(&format!("{jwt}.x")).is_none());
        assert!(payload(&format!("{}.{}.sig", b64("{}"), b64("[1]"))).is_none());
        assert!(payload("a.!!!.c").is_none());
    }
}
