//! The real `portcullis` binary as separate processes: hub, admin verbs, enrolment, connector,
//! and a session through the SOCKS5 entry. Readiness is read from the processes' log lines.

use std::process::Command;

use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::echo_server;
use portcullis_test_support::process::{field, start_hub, Proc};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// Hands company `company` over the one way a vendor admin may (`env` holds his token): its
/// first company admin's token, who does everything of the company's from then on (BY-01).
fn first_company_admin(company: &str, env: &[(&str, &str)]) -> String {
    let v: serde_json::Value = serde_json::from_str(&run_ok(
        &[
            "admin",
            "token",
            "create",
            "--company",
            company,
            "--name",
            "first-admin",
            "--role",
            "company_admin",
        ],
        env,
    ))
    .unwrap();
    v["token"].as_str().unwrap().to_string()
}

fn run_ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "portcullis {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn config_examples_parse() {
    let hub = run_ok(&["config", "example", "hub"], &[]);
    let raw = portcullis_hub::RawHubConfig::from_toml(&hub).unwrap();
    portcullis_hub::HubConfig::try_from(raw).unwrap();
    let conn = run_ok(&["config", "example", "connector"], &[]);
    portcullis_connector::ConnectorConfig::from_toml_str(&conn, std::path::Path::new("/tmp"))
        .unwrap();
}

#[test]
fn admin_without_a_readable_ca_says_so() {
    let out = Command::new(BIN)
        .args([
            "admin",
            "--hub",
            "https://127.0.0.1:1",
            "--ca",
            "/nonexistent/ca.pem",
            "--token",
            "x",
            "company",
            "list",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hub_admin_enroll_connector_and_a_session_as_separate_processes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let data_s = data.to_str().unwrap();
    let hub = Proc::spawn(
        BIN,
        &[
            "hub",
            "--data-dir",
            data_s,
            "--api",
            "127.0.0.1:0",
            "--tunnel",
            "127.0.0.1:0",
            "--socks5",
            "127.0.0.1:0",
            "--http-proxy",
            "",
            "--ni",
            "",
            "--grace-secs",
            "0",
        ],
    );
    let line = hub.wait_for("hub listening");
    let api = field(&line, "api").to_string();
    let socks: std::net::SocketAddr = field(&line, "socks5").parse().unwrap();
    let url = format!("https://{api}");
    let ca = data.join("pki/ca.pem");
    let admin_token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let env = [
        ("PORTCULLIS_HUB", url.as_str()),
        ("PORTCULLIS_CA", ca.to_str().unwrap()),
        ("PORTCULLIS_TOKEN", admin_token.trim()),
    ];
    run_ok(&["admin", "company", "create", "acme"], &env);
    let company_token = first_company_admin("acme", &env);
    let env = [
        ("PORTCULLIS_HUB", url.as_str()),
        ("PORTCULLIS_CA", ca.to_str().unwrap()),
        ("PORTCULLIS_TOKEN", company_token.as_str()),
    ];
    let v: portcullis_client::views::ConnectorWithToken = serde_json::from_str(&run_ok(
        &[
            "admin",
            "connector",
            "create",
            "--company",
            "acme",
            "--location",
            "berlin",
        ],
        &env,
    ))
    .unwrap();
    let enroll_token = v.enrollment_token.expose().clone();
    let v: serde_json::Value = serde_json::from_str(&run_ok(
        &[
            "admin",
            "token",
            "create",
            "--company",
            "acme",
            "--name",
            "bot",
        ],
        &env,
    ))
    .unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    let user = v["user"].as_str().unwrap().to_string();
    // What a company admin does for a technical user: a system, a service connection to the
    // target, a standing grant.
    let api = portcullis_client::ApiClient::new(
        &url,
        &std::fs::read_to_string(&ca).unwrap(),
        Some(company_token.clone()),
    )
    .unwrap();
    use portcullis_client::requests::{NewServiceConnection, SystemData};
    use portcullis_domain::system::{SystemStatus, SystemType};
    let system = api
        .create_system(
            "acme",
            &SystemData {
                sid: "ECO".into(),
                system_number: "00".into(),
                system_type: SystemType::Other,
                product: "echo".into(),
                product_version: "1".into(),
                installation_number: "0000000001".into(),
                status: SystemStatus::Active,
                eu_data_protection: false,
                advanced_secure_support: false,
                allow_independent_opening: false,
                description: String::new(),
            },
        )
        .await
        .unwrap();
    let sc = api
        .create_service_connection(
            system.id,
            &NewServiceConnection::new("generic_tcp", "berlin", "echo.internal", 7),
        )
        .await
        .unwrap();
    api.create_grant(sc.id, &user).await.unwrap();

    let echo = echo_server().await;
    let cfg = dir.path().join("connector.toml");
    std::fs::write(
        &cfg,
        format!("data_dir = \"cdata\"\n[admin]\nlisten = \"127.0.0.1:0\"\n[[access]]\nname = \"echo\"\nvirtual = \"echo.internal:7\"\ninternal = \"{echo}\"\nprotocol = \"tcp\"\n"),
    )
    .unwrap();
    let out = run_ok(
        &[
            "connector",
            "enroll",
            "--hub",
            &url,
            "--token",
            &enroll_token,
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains("Enrolled as acme/berlin"), "{out}");
    let conn = Proc::spawn(
        BIN,
        &["connector", "run", "--config", cfg.to_str().unwrap()],
    );
    // The admin UI's one-time password: in a 0600 file whose path the log names, never the
    // password itself.
    let line = conn.wait_for("initial password");
    let pw_file = dir.path().join("cdata/admin/initial-password");
    let pw = std::fs::read_to_string(&pw_file).expect("the initial password file");
    assert!(line.contains(pw_file.to_str().unwrap()), "{line}");
    assert!(
        !line.contains(pw.trim()),
        "the password reached the log: {line}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pw_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    conn.wait_for("tunnel established");
    hub.wait_for("tunnel up");

    let Socks5Outcome::Connected(mut s) =
        socks5_connect(socks, "berlin", &token, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("session refused");
    };
    assert_eq!(
        echo_round_trip(&mut s, b"across processes").await.unwrap(),
        b"across processes"
    );
    let list = run_ok(&["admin", "connector", "list", "--company", "acme"], &env);
    assert!(list.contains("\"connected\""), "{list}");

    // The token typed into the user-name field (and garbage as the password): refused, and
    // the log names the attempt by length and fingerprint, never by the token.
    let refused = socks5_connect(socks, &token, "not-a-token", "echo.internal", 7)
        .await
        .unwrap();
    assert!(!matches!(refused, Socks5Outcome::Connected(_)));
    let line = hub.wait_for("socks5 authentication failed");
    let secret = token.rsplit('_').next().unwrap();
    assert!(!line.contains(secret), "the token reached the log: {line}");
    assert!(line.contains("bytes, sha256"), "{line}");

    // Everything the hub and the connector wrote is their owner's alone.
    for root in [data.clone(), dir.path().join("cdata")] {
        assert_private(&root);
    }
}

/// Every directory below `root` (and `root`) is 0700, every file grants nothing to group or
/// others.
fn assert_private(root: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut seen = 0;
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(
                mode,
                0o700,
                "{} is a directory with mode {mode:o}",
                p.display()
            );
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", p.display());
            seen += 1;
        }
    }
    assert!(seen >= 3, "{} holds files to check", root.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_connector_process_exits_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let (_hub, url) = start_hub(BIN, &data);
    let ca = data.join("pki/ca.pem");
    let admin_token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let env = [
        ("PORTCULLIS_HUB", url.as_str()),
        ("PORTCULLIS_CA", ca.to_str().unwrap()),
        ("PORTCULLIS_TOKEN", admin_token.trim()),
    ];
    run_ok(&["admin", "company", "create", "acme"], &env);
    let company_token = first_company_admin("acme", &env);
    let env = [
        ("PORTCULLIS_HUB", url.as_str()),
        ("PORTCULLIS_CA", ca.to_str().unwrap()),
        ("PORTCULLIS_TOKEN", company_token.as_str()),
    ];
    let v: portcullis_client::views::ConnectorWithToken = serde_json::from_str(&run_ok(
        &[
            "admin",
            "connector",
            "create",
            "--company",
            "acme",
            "--location",
            "berlin",
        ],
        &env,
    ))
    .unwrap();
    let cfg = dir.path().join("connector.toml");
    std::fs::write(&cfg, "data_dir = \"cdata\"\n[admin]\nlisten = \"\"\n").unwrap();
    run_ok(
        &[
            "connector",
            "enroll",
            "--hub",
            &url,
            "--token",
            v.enrollment_token.expose(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    let id = v.connector.id.to_string();
    run_ok(&["admin", "connector", "revoke", &id], &env);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["connector", "run", "--config", cfg.to_str().unwrap()])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("revoked"));
}
