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
    // The file names its proxy password's variable. The password is given in the text
    // instead of setting the variable: all end-to-end tests share this process, and one that
    // writes the environment races every other thread that reads it.
    let path = example("connector.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let by_env = "password_env = \"PORTCULLIS_PROXY_PASSWORD\"";
    assert!(
        text.contains(by_env),
        "the example names its password's variable"
    );
    let text = text.replace(by_env, "password = \"example\"");
    let cfg = portcullis_connector::ConnectorConfig::from_toml_str(&text, path.parent().unwrap())
        .unwrap();
    assert_eq!(cfg.access.entries().len(), 2);
    assert!(cfg.proxy.is_some());
}
