//! The shipped example configurations parse.

use std::path::Path;

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

#[test]
fn example_hub_config_parses() {
    let raw = portcullis_hub::RawHubConfig::load(&example("hub.toml")).unwrap();
    let cfg = portcullis_hub::HubConfig::try_from(raw).unwrap();
    assert_eq!(cfg.server_names, ["hub.example.com"]);
}

#[test]
fn example_connector_config_parses() {
    std::env::set_var("PORTCULLIS_PROXY_PASSWORD", "example");
    let cfg = portcullis_connector::ConnectorConfig::load(&example("connector.toml")).unwrap();
    assert_eq!(cfg.access.entries().len(), 2);
    assert!(cfg.proxy.is_some());
}
