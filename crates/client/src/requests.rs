//! Request bodies, one per operation that takes one. Optional fields are left out of the JSON
//! when unset, so the hub applies its defaults (a window's 8 hours, a token's policy …).

use portcullis_domain::authz::{Authorizations, Role};
use serde::Serialize;
use time::OffsetDateTime;

/// A system's fields (SID, type, product, flags …), as created and updated.
pub use portcullis_domain::system::SystemData;

/// A connection type's definition (key, name, protocol, port …), as a company creates one.
pub use portcullis_domain::conntype::ConnTypeDef;

/// `POST /companies`.
#[derive(Debug, Clone, Serialize)]
pub struct NewCompany {
    pub name: String,
}

/// `POST /companies/{company}/tokens`: a token and a user of its own.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewToken {
    pub name: String,
    /// `technical` when unset; `company_admin` only for the company's first admin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Within the hub's `[tokens]` policy; its default when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// Only where the policy allows unlimited tokens.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_expiry: bool,
}

/// `POST /companies/{company}/connectors`.
#[derive(Debug, Clone, Serialize)]
pub struct NewConnector {
    pub location: String,
}

/// `POST /users`.
#[derive(Debug, Clone, Serialize)]
pub struct NewUser {
    /// The company of a customer user; none for vendor users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub role: Role,
    /// What a `company_user` may do besides reading.
    pub authorizations: Authorizations,
}

impl NewUser {
    /// A user `name` with `role`, no company, no authorizations.
    pub fn new(name: &str, role: Role) -> NewUser {
        NewUser {
            company: None,
            name: name.to_string(),
            display_name: String::new(),
            email: None,
            role,
            authorizations: Authorizations::none(),
        }
    }

    /// The same user in `company`.
    pub fn in_company(mut self, company: &str) -> NewUser {
        self.company = Some(company.to_string());
        self
    }
}

/// `PATCH /users/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct EditUser {
    pub authorizations: Authorizations,
}

/// `POST /users/{id}/tokens`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewUserToken {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_expiry: bool,
}

/// `POST /users/{id}/password`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetPassword {
    /// The password to set; `None`: a generated one-time password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Whether the next sign-in must change it (the hub's default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub must_change: Option<bool>,
}

/// `POST /route-passwords`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewRoutePassword {
    /// 1 minute to 12 hours; 60 when unset. Signed as the hub reads it, so a value out of
    /// range reaches the hub and its refusal says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_minutes: Option<i64>,
}

/// `POST /systems/{id}/service-connections`.
#[derive(Debug, Clone, Serialize)]
pub struct NewServiceConnection {
    /// The connection type's key (`generic_tcp`, `r3_support`, `http_connect` …).
    pub connection_type: String,
    /// The connector's location.
    pub location: String,
    pub virtual_host: String,
    /// The type's default port when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_port: Option<u16>,
    /// The start URL, for web types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl NewServiceConnection {
    /// A service connection of type `connection_type` to `virtual_host:virtual_port` as
    /// connector `location` exposes it.
    pub fn new(
        connection_type: &str,
        location: &str,
        virtual_host: &str,
        virtual_port: u16,
    ) -> NewServiceConnection {
        NewServiceConnection {
            connection_type: connection_type.to_string(),
            location: location.to_string(),
            virtual_host: virtual_host.to_string(),
            virtual_port: Some(virtual_port),
            url: None,
        }
    }

    /// The same, with the start URL web types need.
    pub fn with_url(mut self, url: &str) -> NewServiceConnection {
        self.url = Some(url.to_string());
        self
    }
}

/// `POST /service-connections/{id}/windows`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpenWindow {
    /// The customer's contact (an independent opening defaults to the engineer).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub contact: String,
    /// A reservation's start; now when unset.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub start: Option<OffsetDateTime>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub end: Option<OffsetDateTime>,
    /// Instead of `end`; 8 when neither is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<u32>,
    /// The engineers it is for; anyone when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub engineers: Vec<String>,
}

impl OpenWindow {
    /// A window open now for the default time, with `contact`.
    pub fn now(contact: &str) -> OpenWindow {
        OpenWindow {
            contact: contact.to_string(),
            ..OpenWindow::default()
        }
    }

    /// A reservation from `start` for the default time, with `contact`.
    pub fn reserve(contact: &str, start: OffsetDateTime) -> OpenWindow {
        OpenWindow {
            contact: contact.to_string(),
            start: Some(start),
            ..OpenWindow::default()
        }
    }
}

/// `PATCH /windows/{id}`: what to change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EditWindow {
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub start: Option<OffsetDateTime>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub end: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engineers: Option<Vec<String>>,
}

/// `POST /service-connections/{id}/grants`: a standing grant for a technical user.
#[derive(Debug, Clone, Serialize)]
pub struct NewGrant {
    /// The user's name.
    pub user: String,
}

/// The filters of `GET /audit`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// One company's events (vendor roles; a company's own roles get theirs anyway).
    pub company: Option<String>,
    /// One action (`session.start`, `window.closed` …).
    pub action: Option<String>,
    /// Events after this `seq`.
    pub after: Option<i64>,
    /// At most this many (the hub caps it).
    pub limit: Option<u32>,
}

impl AuditQuery {
    /// Up to `limit` events of `action`.
    pub fn action(action: &str, limit: u32) -> AuditQuery {
        AuditQuery {
            action: Some(action.to_string()),
            limit: Some(limit),
            ..AuditQuery::default()
        }
    }

    /// The query string, `?…` (empty without filters). Values are percent-encoded.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.company {
            parts.push(format!("company={}", encode(c)));
        }
        if let Some(a) = &self.action {
            parts.push(format!("action={}", encode(a)));
        }
        if let Some(a) = self.after {
            parts.push(format!("after={a}"));
        }
        if let Some(l) = self.limit {
            parts.push(format!("limit={l}"));
        }
        query(parts)
    }
}

/// The filters and sort of `GET /companies/{company}/systems`. Values go to the hub as given
/// (it refuses ones that can never match, with the allowed values in its message).
#[derive(Debug, Clone, Default)]
pub struct SystemQuery {
    /// `active` or `inactive`.
    pub status: Option<String>,
    /// `abap`, `java`, `dual_stack`, `hana`, `database`, `other`.
    pub system_type: Option<String>,
    /// Products containing this, case-insensitive.
    pub product: Option<String>,
    /// Systems with this flag set: `eu_data_protection`, `advanced_secure_support`,
    /// `allow_independent_opening`.
    pub flag: Option<String>,
    /// Systems with a window open now.
    pub open: bool,
    /// The caller's favourites.
    pub favourites: bool,
    /// `connected`, `not_connected`, `not_set_up`.
    pub network: Option<String>,
    /// `sid` (the hub's default), `product`, `status`, `system_type`, `open`.
    pub sort: Option<String>,
    /// The filter syntax of the portal's list, e.g. `prd NOT status:inactive state:open`.
    pub q: Option<String>,
}

impl SystemQuery {
    /// The query string, `?…` (empty without filters). Values are percent-encoded.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("status", &self.status),
            ("system_type", &self.system_type),
            ("product", &self.product),
            ("flag", &self.flag),
            ("network", &self.network),
            ("sort", &self.sort),
            ("q", &self.q),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        if self.open {
            parts.push("open=true".into());
        }
        if self.favourites {
            parts.push("favourites=true".into());
        }
        query(parts)
    }
}

/// The filters of `GET /companies/{company}/service-connections`. Values go to the hub as
/// given.
#[derive(Debug, Clone, Default)]
pub struct ServiceQuery {
    /// One system's (its id).
    pub system: Option<i64>,
    /// One connection type's (its key).
    pub connection_type: Option<String>,
    /// Those `open`, `reserved` or `closed` now.
    pub state: Option<String>,
    /// Those whose connector is `connected`, `not_connected`, `not_enrolled` or `revoked`.
    pub network: Option<String>,
}

impl ServiceQuery {
    /// The query string, `?…` (empty without filters). Values are percent-encoded.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.system {
            parts.push(format!("system={s}"));
        }
        for (k, v) in [
            ("connection_type", &self.connection_type),
            ("state", &self.state),
            ("network", &self.network),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        query(parts)
    }
}

/// `?a&b…`, or nothing without parts.
fn query(parts: Vec<String>) -> String {
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_queries_encode_their_values() {
        assert_eq!(AuditQuery::default().to_query(), "");
        let q = AuditQuery {
            company: Some("a b&c".into()),
            action: Some("session.end".into()),
            after: Some(7),
            limit: Some(10),
        };
        assert_eq!(
            q.to_query(),
            "?company=a%20b%26c&action=session.end&after=7&limit=10"
        );
    }

    #[test]
    fn system_and_service_queries_carry_only_what_is_set() {
        assert_eq!(SystemQuery::default().to_query(), "");
        let q = SystemQuery {
            product: Some("S/4".into()),
            favourites: true,
            sort: Some("open".into()),
            ..SystemQuery::default()
        };
        assert_eq!(q.to_query(), "?product=S%2F4&sort=open&favourites=true");
        assert_eq!(ServiceQuery::default().to_query(), "");
        let q = ServiceQuery {
            system: Some(3),
            connection_type: Some("r3 support".into()),
            state: Some("open".into()),
            network: None,
        };
        assert_eq!(
            q.to_query(),
            "?system=3&connection_type=r3%20support&state=open"
        );
    }

    #[test]
    fn unset_options_are_left_out() {
        let v = serde_json::to_value(OpenWindow::now("Bob")).unwrap();
        assert_eq!(v, serde_json::json!({"contact": "Bob"}));
        let v = serde_json::to_value(NewToken {
            name: "bot".into(),
            ..NewToken::default()
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({"name": "bot"}));
    }
}
