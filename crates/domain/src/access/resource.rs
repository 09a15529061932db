//! HTTP resources: the paths of an HTTP(S) entry a request may reach (sap-reference §3.5.3).
//!
//! Strict allowlist: a request whose path no active resource covers is refused. A resource
//! is a path and a policy: **path only** (the request's path, before `?`, equals it exactly)
//! or **path and all sub-paths** (the request's path starts with it, as a plain string
//! prefix, as SAP compares: `/accounting` also covers `/accounting-archive`). Paths compare
//! case-sensitively and raw: nothing is decoded or normalised, so `/a/../b` is not `/b`.
//!
//! When several resources cover a request, the longest path decides (an exact one before a
//! prefix of the same length): a suspended `/app/admin` inside an active `/app` refuses
//! `/app/admin/users`. SAP does not document overlaps; the most specific rule winning is what
//! an administrator who suspends a sub-tree expects.

use std::fmt;

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
    pub fn new(path: &str, policy: PathPolicy) -> Result<Resource, String> {
        if !path.starts_with('/') {
            return Err(format!("{path:?} must start with '/'"));
        }
        if path.len() > MAX_PATH_LEN {
            return Err(format!("longer than {MAX_PATH_LEN} bytes"));
        }
        if path.contains(['?', '#']) || path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(format!(
                "{path:?}: a path without '?', '#', blanks or control characters"
            ));
        }
        Ok(Resource {
            path: path.to_owned(),
            policy,
            active: true,
            websocket_upgrade: false,
            description: String::new(),
        })
    }

    fn covers(&self, path: &str) -> bool {
        match self.policy {
            PathPolicy::PathOnly => path == self.path,
            PathPolicy::PathAndSubPaths => path.starts_with(&self.path),
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceDenied {
    /// No resource covers the path.
    NotListed {
        /// The request's path.
        path: String,
    },
    /// The deciding resource is suspended.
    Suspended {
        /// The request's path.
        path: String,
        /// The resource.
        resource: String,
    },
    /// A WebSocket upgrade the deciding resource does not allow.
    UpgradeNotAllowed {
        /// The request's path.
        path: String,
        /// The resource.
        resource: String,
    },
}

impl fmt::Display for ResourceDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceDenied::NotListed { path } => {
                write!(f, "no resource of this access control entry allows {path}")
            }
            ResourceDenied::Suspended { path, resource } => {
                write!(f, "{path} is covered by the suspended resource {resource}")
            }
            ResourceDenied::UpgradeNotAllowed { path, resource } => write!(
                f,
                "the resource {resource} does not allow WebSocket upgrades (asked on {path})"
            ),
        }
    }
}

/// The path of a request target: before `?`; for an absolute-form target
/// (`http://host/p?q`), its path. `*` and other forms have no path and are never allowed.
pub fn request_path(target: &str) -> Option<&str> {
    let target = target.split(['?', '#']).next().unwrap_or_default();
    if target.starts_with('/') {
        return Some(target);
    }
    let rest = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))?;
    Some(rest.find('/').map_or("/", |i| &rest[i..]))
}

/// Decides a request for `target` (as it appears in the request line) against `resources`;
/// `Ok` with the deciding resource's path.
pub fn check(
    resources: &[Resource],
    target: &str,
    upgrade: bool,
) -> Result<String, ResourceDenied> {
    let path = request_path(target).unwrap_or(target);
    let deciding = resources
        .iter()
        .filter(|r| request_path(target).is_some() && r.covers(path))
        .max_by_key(|r| (r.path.len(), r.policy == PathPolicy::PathOnly));
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
            Err(ResourceDenied::NotListed { path: "/".into() })
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
            })
        );
    }

    #[test]
    fn websocket_upgrades_need_the_flag() {
        let mut ws = r("/ws", PathPolicy::PathAndSubPaths);
        let rs = [ws.clone()];
        assert!(matches!(
            check(&rs, "/ws/chat", true),
            Err(ResourceDenied::UpgradeNotAllowed { .. })
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
        assert_eq!(request_path("http://h"), Some("/"));
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
}
