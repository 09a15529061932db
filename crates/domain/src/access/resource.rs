//! HTTP resources: the paths of an HTTP(S) entry a request may reach (sap-reference §3.5.3).
//!
//! Strict allowlist: a request whose path no active resource covers is refused. A resource
//! is a path and a policy: **path only** (the request's path, before `?`, equals it exactly)
//! or **path and all sub-paths** (the request's path starts with it, as a plain string
//! prefix, as SAP compares: `/accounting` also covers `/accounting-archive`).
//!
//! What is compared is never the raw request target: [`crate::http_path`] parses it into one
//! canonical path (dot segments resolved, empty segments merged, escapes canonical) or
//! refuses it (400) when back ends could read it differently; the canonical path is what
//! the back end receives. The comparison uses that path with every escape decoded (a back
//! end decodes `%2B` to `+`), and it must succeed for every reading of its `;` path
//! parameters ([`RequestTarget::readings`]): as they are, and taken off (Tomcat). Resource
//! paths are written in canonical form themselves (checked by [`Resource::new`]). Paths
//! compare case-sensitively, unless the entry says its back end ignores case
//! (`case_insensitive_paths`): then both sides compare in ASCII lowercase, and a non-ASCII
//! path is refused (the back end's folding rules for it are unknown).
//!
//! When several resources cover a request, the longest path decides (an exact one before a
//! prefix of the same length): a suspended `/app/admin` inside an active `/app` refuses
//! `/app/admin/users`, `/app//admin/users`, `/app/x/../admin/users`, `/app;x/admin/users`
//! and `/app/%61dmin/users` alike. SAP does not document overlaps; the most specific rule
//! winning is what an administrator who suspends a sub-tree expects.

use crate::http_path::{self, PathError, RequestTarget};
/// Longest resource path.
pub const MAX_PATH_LEN: usize = 2048;

/// How a resource's path matches.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PathPolicy {
    /// The request's path equals the resource's path (the default: the strictest).
    #[default]
    PathOnly,
    /// The request's path starts with the resource's path.
    PathAndSubPaths,
}

/// Why [`Resource::new`] refused a path: the path, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ResourceError {
    /// The path as given.
    pub path: String,
    /// What is wrong with it.
    pub kind: ResourceErrorKind,
}

/// What is wrong with a resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceErrorKind {
    /// It does not start with `/`.
    NotAbsolute,
    /// It is longer than [`MAX_PATH_LEN`].
    TooLong,
    /// It holds `?`, `#`, a blank or a control character.
    Characters,
    /// It is not a request target a back end would read one way.
    Target(PathError),
    /// It is not in canonical form.
    NotCanonical {
        /// How to write it.
        canonical: String,
    },
    /// It holds `;` path parameters.
    Parameters,
}

impl ResourceError {
    /// The message, as the connector's configuration errors show it after "`path` ". The path
    /// is left out where it is too long to be worth repeating.
    fn message(&self) -> String {
        let path = &self.path;
        match &self.kind {
            ResourceErrorKind::NotAbsolute => format!("{path:?} must start with '/'"),
            ResourceErrorKind::TooLong => format!("longer than {MAX_PATH_LEN} bytes"),
            ResourceErrorKind::Characters => {
                format!("{path:?}: a path without '?', '#', blanks or control characters")
            }
            ResourceErrorKind::Target(e) => format!("{path:?}: {e}"),
            ResourceErrorKind::NotCanonical { canonical } => {
                format!("{path:?} is not in canonical form: write {canonical:?}")
            }
            ResourceErrorKind::Parameters => {
                format!("{path:?}: path parameters (';') are not part of a resource path")
            }
        }
    }
}

/// One resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The path, starting with `/`.
    pub path: String,
    /// Exact or prefix.
    pub policy: PathPolicy,
    /// Suspended resources refuse what they cover.
    pub active: bool,
    /// Whether a WebSocket upgrade may be requested on what it covers.
    pub websocket_upgrade: bool,
    /// For people.
    pub description: String,
}

impl Resource {
    /// An active resource without WebSocket upgrades; `Err` says what is wrong with `path`.
    pub fn new(path: &str, policy: PathPolicy) -> Result<Resource, ResourceError> {
        let bad = |kind| ResourceError {
            path: path.to_owned(),
            kind,
        };
        if !path.starts_with('/') {
            return Err(bad(ResourceErrorKind::NotAbsolute));
        }
        if path.len() > MAX_PATH_LEN {
            return Err(bad(ResourceErrorKind::TooLong));
        }
        if path.contains(['?', '#']) || path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad(ResourceErrorKind::Characters));
        }
        let parsed = http_path::parse_target(path.as_bytes())
            .map_err(|e| bad(ResourceErrorKind::Target(e)))?;
        if parsed.path() != path {
            return Err(bad(ResourceErrorKind::NotCanonical {
                canonical: parsed.path().to_owned(),
            }));
        }
        if parsed.match_form().contains(';') {
            return Err(bad(ResourceErrorKind::Parameters));
        }
        Ok(Resource {
            path: path.to_owned(),
            policy,
            active: true,
            websocket_upgrade: false,
            description: String::new(),
        })
    }

    fn covers(&self, key: &str, case_insensitive: bool) -> bool {
        let mine = http_path::decode_all(&self.path);
        let mine = if case_insensitive {
            mine.to_ascii_lowercase()
        } else {
            mine
        };
        match self.policy {
            PathPolicy::PathOnly => key == mine,
            PathPolicy::PathAndSubPaths => key.starts_with(&mine),
        }
    }
}

/// Why a request was refused by the resources (answered with 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceDenied {
    /// No resource covers the path.
    #[error("no resource of this access control entry allows {path}")]
    NotListed {
        /// The request's canonical path.
        path: String,
    },
    /// The deciding resource is suspended.
    #[error("{path} is covered by the suspended resource {resource}")]
    Suspended {
        /// The request's canonical path.
        path: String,
        /// The resource.
        resource: String,
    },
    /// A WebSocket upgrade the deciding resource does not allow.
    #[error("the resource {resource} does not allow WebSocket upgrades (asked on {path})")]
    UpgradeNotAllowed {
        /// The request's canonical path.
        path: String,
        /// The resource.
        resource: String,
    },
}

impl ResourceDenied {
    /// The request's canonical path.
    pub fn path(&self) -> &str {
        match self {
            ResourceDenied::NotListed { path }
            | ResourceDenied::Suspended { path, .. }
            | ResourceDenied::UpgradeNotAllowed { path, .. } => path,
        }
    }
}

/// Why an HTTP request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestRefused {
    /// The request target has no single meaning (400).
    #[error("bad request target: {0}")]
    BadTarget(#[from] PathError),
    /// The resources do not allow it (403).
    #[error(transparent)]
    Denied(#[from] ResourceDenied),
}

/// An allowed request: its canonical target and the deciding resource's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedRequest {
    /// What the back end receives.
    pub target: RequestTarget,
    /// The deciding resource's path.
    pub resource: String,
}

/// Decides a request for `target` (the request target as it appears in the request line)
/// against `resources`; `Ok` with the canonical target to forward and the deciding resource.
pub fn check(
    resources: &[Resource],
    target: &[u8],
    upgrade: bool,
    case_insensitive: bool,
) -> Result<AllowedRequest, RequestRefused> {
    let target = http_path::parse_target(target)?;
    let readings = target.readings();
    if case_insensitive && readings.iter().any(|r| !r.is_ascii()) {
        return Err(PathError::NonAsciiCaseInsensitive.into());
    }
    let mut deciding_first = None;
    for reading in &readings {
        let key = if case_insensitive {
            reading.to_ascii_lowercase()
        } else {
            reading.clone()
        };
        let resource = decide(resources, target.path(), &key, upgrade, case_insensitive)?;
        deciding_first.get_or_insert(resource);
    }
    let resource = deciding_first.unwrap_or_default();
    Ok(AllowedRequest { target, resource })
}

/// The deciding resource for one reading (`key`); `path` is what refusals name.
fn decide(
    resources: &[Resource],
    path: &str,
    key: &str,
    upgrade: bool,
    case_insensitive: bool,
) -> Result<String, ResourceDenied> {
    let deciding = resources
        .iter()
        .filter(|r| r.covers(key, case_insensitive))
        .max_by_key(|r| {
            (
                http_path::decode_all(&r.path).len(),
                r.policy == PathPolicy::PathOnly,
            )
        });
    let Some(resource) = deciding else {
        return Err(ResourceDenied::NotListed {
            path: path.to_owned(),
        });
    };
    if !resource.active {
        return Err(ResourceDenied::Suspended {
            path: path.to_owned(),
            resource: resource.path.clone(),
        });
    }
    if upgrade && !resource.websocket_upgrade {
        return Err(ResourceDenied::UpgradeNotAllowed {
            path: path.to_owned(),
            resource: resource.path.clone(),
        });
    }
    Ok(resource.path.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(path: &str, policy: PathPolicy) -> Resource {
        Resource::new(path, policy).unwrap()
    }

    /// `check` with the deciding resource's path only.
    fn check(rs: &[Resource], target: &str, upgrade: bool) -> Result<String, RequestRefused> {
        super::check(rs, target.as_bytes(), upgrade, false).map(|a| a.resource)
    }

    #[test]
    fn path_only_is_exact_and_ignores_the_query() {
        let rs = [r("/sap/opu/odata/sap/API_BP", PathPolicy::PathOnly)];
        assert!(check(&rs, "/sap/opu/odata/sap/API_BP", false).is_ok());
        assert!(check(&rs, "/sap/opu/odata/sap/API_BP?$top=1", false).is_ok());
        assert!(check(&rs, "/sap/opu/odata/sap/API_BP/", false).is_err());
        assert!(
            check(&rs, "/sap/opu/odata/sap/api_bp", false).is_err(),
            "case-sensitive"
        );
        assert!(check(&rs, "/sap/opu/odata/sap/API_BP2", false).is_err());
    }

    #[test]
    fn sub_paths_are_a_plain_string_prefix() {
        let rs = [r("/production/accounting", PathPolicy::PathAndSubPaths)];
        for ok in [
            "/production/accounting",
            "/production/accounting/2026",
            "/production/accounting-plus-some-more",
        ] {
            assert!(check(&rs, ok, false).is_ok(), "{ok}");
        }
        assert!(check(&rs, "/production", false).is_err());
        let everything = [r("/", PathPolicy::PathAndSubPaths)];
        assert!(check(&everything, "/anything/at/all?x", false).is_ok());
    }

    #[test]
    fn nothing_listed_nothing_allowed() {
        assert_eq!(
            check(&[], "/", false),
            Err(ResourceDenied::NotListed { path: "/".into() }.into())
        );
        let rs = [r("/", PathPolicy::PathAndSubPaths)];
        assert!(check(&rs, "*", false).is_err(), "OPTIONS * has no path");
        assert!(
            check(&rs, "example.com:443", false).is_err(),
            "authority form"
        );
    }

    #[test]
    fn the_most_specific_resource_decides() {
        let mut admin = r("/app/admin", PathPolicy::PathAndSubPaths);
        admin.active = false;
        let rs = [r("/app", PathPolicy::PathAndSubPaths), admin];
        assert!(check(&rs, "/app/index.html", false).is_ok());
        assert_eq!(
            check(&rs, "/app/admin/users", false),
            Err(ResourceDenied::Suspended {
                path: "/app/admin/users".into(),
                resource: "/app/admin".into()
            }
            .into())
        );
    }

    #[test]
    fn websocket_upgrades_need_the_flag() {
        let mut ws = r("/ws", PathPolicy::PathAndSubPaths);
        let rs = [ws.clone()];
        assert!(matches!(
            check(&rs, "/ws/chat", true),
            Err(RequestRefused::Denied(
                ResourceDenied::UpgradeNotAllowed { .. }
            ))
        ));
        assert!(check(&rs, "/ws/chat", false).is_ok());
        ws.websocket_upgrade = true;
        assert!(check(&[ws], "/ws/chat", true).is_ok());
    }

    #[test]
    fn absolute_form_targets_use_their_path() {
        let rs = [r("/hello", PathPolicy::PathOnly)];
        assert!(check(&rs, "http://web.internal:8080/hello?x=1", false).is_ok());
        assert!(check(&rs, "http://web.internal:8080", false).is_err());
    }

    #[test]
    fn bad_paths_are_refused() {
        for bad in ["relative", "/a?b", "/a b", "/a\n", "/a#x"] {
            assert!(Resource::new(bad, PathPolicy::PathOnly).is_err(), "{bad:?}");
        }
        assert!(Resource::new(
            &format!("/{}", "a".repeat(MAX_PATH_LEN)),
            PathPolicy::PathOnly
        )
        .is_err());
    }

    #[test]
    fn refusals_name_what_is_wrong_and_say_it_as_before() {
        let err = |path| Resource::new(path, PathPolicy::PathOnly).unwrap_err();
        assert_eq!(err("relative").kind, ResourceErrorKind::NotAbsolute);
        assert_eq!(
            err("relative").to_string(),
            "\"relative\" must start with '/'"
        );
        assert_eq!(err("/a b").kind, ResourceErrorKind::Characters);
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert_eq!(err(&long).kind, ResourceErrorKind::TooLong);
        assert_eq!(err(&long).to_string(), "longer than 2048 bytes");
        assert_eq!(
            err("/a/../b").kind,
            ResourceErrorKind::NotCanonical {
                canonical: "/b".into()
            }
        );
        assert_eq!(
            err("/a/../b").to_string(),
            "\"/a/../b\" is not in canonical form: write \"/b\""
        );
        assert_eq!(err("/a;x").kind, ResourceErrorKind::Parameters);
        assert_eq!(err("/a;x").path, "/a;x");
    }
}
