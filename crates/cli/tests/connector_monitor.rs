//! `portcullis connector monitor hardware|usage|connections|alerts|reset` as a separate process
//! against a running connector (whose hub is unreachable: the admin socket answers anyway).
//! Everything on 127.0.0.1; readiness from the socket file and polling with a deadline.

use std::time::{Duration, Instant};

mod common;

use common::{identity, run, text, T};
use portcullis_connector::ConnectorConfig;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_verbs_answer_from_the_running_connector() {
    let dir = tempfile::tempdir().expect("temp dir");
    identity(dir.path());
    let config = dir.path().join("connector.toml");
    std::fs::write(
        &config,
        "data_dir = \"data\"\n[admin]\nlisten = \"\"\n[reconnect]\ninitial_ms = 1000\nmax_ms = 5000\n\
         [monitoring]\nhardware_interval_ms = 100\ndisk_interval_ms = 100\n\
         [alerts]\ncheck_interval_ms = 100\ntunnel_tolerance_secs = 0\n",
    )
    .expect("config");
    let cfg = ConnectorConfig::load(&config).expect("config loads");
    let shutdown = CancellationToken::new();
    let c = portcullis_connector::spawn(cfg, Some(config.clone()), shutdown.clone());
    let cfg_arg = config.to_str().expect("utf-8 path");
    let socket = dir.path().join("data/connector.sock");

    // Samples arrive: poll the CLI until two are there.
    let deadline = Instant::now() + T;
    let view = loop {
        if socket.exists() {
            let out = run(&[
                "connector",
                "monitor",
                "hardware",
                "--config",
                cfg_arg,
                "--json",
            ]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            let n = v["cpu_memory"].as_array().map_or(0, Vec::len);
            if n >= 2 && !v["disk"].as_array().expect("disk").is_empty() {
                break v;
            }
        }
        assert!(Instant::now() < deadline, "no samples in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(view["interval_ms"], 100);
    assert_eq!(view["cpu_memory"][0]["gap_before"], true);
    assert!(view["cpu_memory"][0]["memory_total"].as_u64().unwrap() > 0);

    // People get a summary; --svg writes the charts.
    let svg_dir = dir.path().join("charts");
    let out = run(&[
        "connector",
        "monitor",
        "hardware",
        "--config",
        cfg_arg,
        "--since",
        "30m",
        "--svg",
        svg_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.contains("CPU ") && summary.contains("Disk of the data directory"),
        "{summary}"
    );
    for name in ["cpu.svg", "memory.svg", "disk.svg"] {
        let svg = std::fs::read_to_string(svg_dir.join(name)).expect("chart written");
        assert!(
            svg.starts_with("<svg") && svg.contains("<title"),
            "{name}: {svg}"
        );
    }
    let out = run(&[
        "connector",
        "monitor",
        "hardware",
        "--config",
        cfg_arg,
        "--since",
        "1w",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unit must be s, m, h or d"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&[
        "connector",
        "monitor",
        "usage",
        "--config",
        cfg_arg,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "[]");
    let out = run(&["connector", "monitor", "connections", "--config", cfg_arg]);
    assert!(
        text(&out.stdout).contains("no back-end connections"),
        "{}",
        text(&out.stdout)
    );

    // The unreachable hub is an alert, listed (no channel to send it to, and said so).
    let deadline = Instant::now() + T;
    loop {
        let out = run(&["connector", "monitor", "alerts", "--config", cfg_arg]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let table = text(&out.stdout);
        if table.contains("active") {
            assert!(table.contains("tunnel"), "{table}");
            assert!(table.contains("no channel configured"), "{table}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no tunnel alert in time: {table}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = run(&[
        "connector",
        "monitor",
        "alerts",
        "--config",
        cfg_arg,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let tunnel = v["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["category"] == "tunnel")
        .unwrap_or_else(|| panic!("no tunnel alert in {v}"));
    assert_eq!(tunnel["status"], "active");

    // A reset is audited with who asked.
    let out = run(&[
        "connector",
        "monitor",
        "reset",
        "performance",
        "--config",
        cfg_arg,
        "--by",
        "alice",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("reset: performance"),
        "{}",
        text(&out.stdout)
    );
    let audit = std::fs::read_to_string(dir.path().join("data/audit.log")).expect("audit log");
    let reset = audit
        .lines()
        .find(|l| l.contains("\"monitoring.reset\""))
        .unwrap_or_else(|| panic!("no monitoring.reset in {audit}"));
    assert!(
        reset.contains("\"what\":\"performance\"") && reset.contains("\"by\":\"alice\""),
        "{reset}"
    );
    let out = run(&[
        "connector",
        "monitor",
        "reset",
        "everything",
        "--config",
        cfg_arg,
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("expected usage, performance, top or connections"));

    // The bare verb still shows the HTTP records, and needs the configuration.
    let out = run(&["connector", "monitor", "--config", cfg_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Most recent requests"));
    let out = run(&["connector", "monitor"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--config FILE"),
        "{}",
        text(&out.stderr)
    );

    shutdown.cancel();
    let _ = tokio::time::timeout(T, c.join).await;
}
