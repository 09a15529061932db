//! The crate map as a test: which workspace crate may depend on which (docs/architecture.md).
//!
//! Reads `cargo metadata` and fails when a crate depends (as a normal dependency) on one the
//! architecture forbids: the no-I/O codecs and rules on anything with I/O, the connector on the
//! hub or its store, the hub on the connector, a library on the binary or on test code.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Every workspace crate and the workspace crates it may use in `[dependencies]`. A crate
/// missing here fails the test: a new crate takes its place in the map deliberately.
const ALLOWED: &[(&str, &[&str])] = &[
    ("portcullis-proto", &["portcullis-domain"]),
    ("portcullis-ni", &[]),
    ("portcullis-domain", &[]),
    ("portcullis-socks5", &["portcullis-domain"]),
    ("portcullis-router", &["portcullis-ni", "portcullis-domain"]),
    (
        "portcullis-transport",
        &["portcullis-proto", "portcullis-domain"],
    ),
    ("portcullis-store", &["portcullis-domain"]),
    // The backup format both the hub and the connector write: neither depends on the other.
    ("portcullis-backup", &[]),
    (
        "portcullis-webui",
        &["portcullis-domain", "portcullis-transport"],
    ),
    (
        "portcullis-client",
        &[
            "portcullis-proto",
            "portcullis-domain",
            "portcullis-transport",
        ],
    ),
    (
        "portcullis-connector",
        &[
            "portcullis-proto",
            "portcullis-domain",
            "portcullis-transport",
            "portcullis-webui",
            "portcullis-backup",
        ],
    ),
    (
        "portcullis-hub",
        &[
            "portcullis-proto",
            "portcullis-domain",
            "portcullis-transport",
            "portcullis-store",
            "portcullis-ni",
            "portcullis-router",
            "portcullis-socks5",
            "portcullis-webui",
            "portcullis-backup",
        ],
    ),
];

/// Crates that may use any workspace crate: the binary and the tests.
const ANYTHING: &[&str] = &["portcullis", "portcullis-test-support", "portcullis-e2e"];

/// Crates that do no I/O: bytes in, values out. Each must stay free of an async runtime.
const NO_IO: &[&str] = &[
    "portcullis-proto",
    "portcullis-ni",
    "portcullis-domain",
    "portcullis-socks5",
];

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Each workspace package with the names of its normal (not dev, not build) dependencies.
fn normal_dependencies(meta: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut map = BTreeMap::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().expect("name").to_string();
        let deps = p["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().expect("dependency name").to_string())
            .collect();
        map.insert(name, deps);
    }
    map
}

/// The rule, separate from `cargo metadata` so that it can be shown to fail.
fn violations(deps: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut bad = Vec::new();
    for (krate, uses) in deps {
        if ANYTHING.contains(&krate.as_str()) {
            continue;
        }
        let Some(may) = allowed.get(krate.as_str()) else {
            bad.push(format!("{krate} has no place in the crate map (ALLOWED)"));
            continue;
        };
        for dep in uses.iter().filter(|d| d.starts_with("portcullis")) {
            if !may.contains(&dep.as_str()) {
                bad.push(format!("{krate} must not depend on {dep}"));
            }
        }
        if NO_IO.contains(&krate.as_str()) {
            for io in ["tokio", "hyper", "sqlx", "rustls", "axum"] {
                if uses.contains(io) {
                    bad.push(format!("{krate} does no I/O, yet depends on {io}"));
                }
            }
        }
    }
    bad
}

#[test]
fn every_crate_depends_only_on_what_the_architecture_allows() {
    let deps = normal_dependencies(&metadata());
    assert!(
        deps.contains_key("portcullis-hub") && deps.contains_key("portcullis-connector"),
        "cargo metadata lists the workspace: {:?}",
        deps.keys()
    );
    let bad = violations(&deps);
    assert!(
        bad.is_empty(),
        "forbidden dependencies:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_rule_refuses_a_connector_that_uses_the_hub() {
    let mut deps = normal_dependencies(&metadata());
    deps.get_mut("portcullis-connector")
        .expect("connector")
        .insert("portcullis-hub".into());
    // The hub shares the backup format through portcullis-backup, never the connector.
    deps.get_mut("portcullis-hub")
        .expect("hub")
        .insert("portcullis-connector".into());
    deps.get_mut("portcullis-proto")
        .expect("proto")
        .insert("tokio".into());
    deps.insert("portcullis-new".into(), BTreeSet::new());
    let bad = violations(&deps);
    assert!(
        bad.contains(&"portcullis-connector must not depend on portcullis-hub".to_string()),
        "{bad:?}"
    );
    assert!(
        bad.contains(&"portcullis-hub must not depend on portcullis-connector".to_string()),
        "{bad:?}"
    );
    assert!(
        bad.contains(&"portcullis-proto does no I/O, yet depends on tokio".to_string()),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|b| b.starts_with("portcullis-new has no place")),
        "{bad:?}"
    );
}
