//! The hub's Prometheus metrics and health endpoints (issue #17 part 5), scraped with curl from
//! a real hub while real sessions flow: a session through SOCKS5 is counted by entry and end
//! cause with its bytes, a refused one by its reason, tunnels and certificate expiry are read
//! at the scrape; the whole exposition passes Prometheus' own `promtool check metrics`
//! (naming and unit conventions; `scripts/promtool` unpacks it from Debian's package).
//! `/healthz` answers while the process runs; `/readyz` answers 503 once the hub is shutting
//! down.

use std::path::PathBuf;

use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::Granted;

/// `curl -sS URL`: status and body.
async fn get(url: &str) -> (u16, String) {
    get_with(url, &[]).await
}

/// `curl -sS` with `args` before `URL`: status and body.
async fn get_with(url: &str, args: &[&str]) -> (u16, String) {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .await
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (status.trim().parse().unwrap_or(0), body.to_owned())
}

/// The value of the sample `line` (name and labels exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

fn promtool() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/promtool/promtool");
    assert!(
        p.exists(),
        "promtool is missing: run ./scripts/promtool (./scripts/test does)"
    );
    p
}

/// `promtool check metrics` on `text`: its complaints (empty when clean).
async fn promtool_check(text: &str) -> String {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        report
    } else {
        format!("promtool failed: {report}")
    }
}

#[tokio::test]
async fn the_hub_counts_sessions_by_entry_cause_and_refusal_and_promtool_accepts_it() {
    let w = Granted::echo().await;
    let base = w.hub.metrics_url();
    let (status, body) = get(&format!("{base}/healthz")).await;
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!((status, body.trim()), (200, "ready"));

    let Socks5Outcome::Connected(mut s) =
        socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("socks5 connect refused");
    };
    assert_eq!(
        echo_round_trip(&mut s, b"twelve bytes").await.unwrap(),
        b"twelve bytes"
    );
    drop(s);
    // A target the token may not reach: refused before any stream opens.
    let refused = socks5_connect(w.hub.socks5(), "berlin", &w.token, "other.internal", 7)
        .await
        .unwrap();
    assert!(!matches!(refused, Socks5Outcome::Connected(_)));
    w.hub.wait_audit("session.end", 1).await;
    w.hub.wait_audit("session.refused", 1).await;

    let (status, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200, "{text}");
    let expect = [
        ("portcullis_hub_sessions_started_total{entry=\"socks5\"}", 1.0),
        (
            "portcullis_hub_sessions_ended_total{entry=\"socks5\",cause=\"client_closed\",fault=\"none\"}",
            1.0,
        ),
        ("portcullis_hub_session_bytes_total{direction=\"to_backend\"}", 12.0),
        ("portcullis_hub_session_bytes_total{direction=\"to_client\"}", 12.0),
        ("portcullis_hub_tunnels_connected", 1.0),
        ("portcullis_hub_tunnel_connects_total", 1.0),
        ("portcullis_hub_sessions_live", 0.0),
        ("portcullis_hub_preauth_connections{listener=\"socks5\"}", 0.0),
        ("portcullis_hub_preauth_refused_total{listener=\"api\"}", 0.0),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
    let refused: f64 = text
        .lines()
        .filter(|l| l.starts_with("portcullis_hub_sessions_refused_total{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert_eq!(refused, 1.0, "{text}");
    let expiry = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "portcullis_hub_certificate_expiry_timestamp_seconds{certificate=\"server\"} ",
            )
        })
        .and_then(|v| v.parse::<f64>().ok())
        .expect("the server certificate's expiry");
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    assert!(expiry > now + 86_400.0, "{expiry} vs {now}");
    assert!(
        text.contains("portcullis_hub_build_info{version=\""),
        "{text}"
    );
    assert!(
        sample(&text, "portcullis_hub_audit_commit_duration_seconds_count").unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert_eq!(promtool_check(&text).await, "", "{text}");
    // Prometheus asks for OpenMetrics and gets it: the same samples, `# EOF` last.
    let accept = "Accept: application/openmetrics-text; version=1.0.0";
    let (status, om) = get_with(&format!("{base}/metrics"), &["-H", accept]).await;
    assert_eq!(status, 200);
    assert!(om.trim_end().ends_with("# EOF"), "{om}");
    assert!(
        om.contains("# TYPE portcullis_hub_sessions_started counter"),
        "{om}"
    );

    // A stop has begun (what `RunningHub::stop` does first): no longer ready.
    w.hub.state().tasks.close();
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 503, "{body}");
}

/// The connector's `/metrics` on its admin listener: for a user with the monitoring permit
/// only; the tunnel, the audit log, certificates and the access entries' last checks read at
/// the scrape; promtool accepts it. `/healthz` and `/readyz` need no credentials, and
/// `/readyz` turns 503 when the hub goes away.
#[tokio::test]
async fn the_connector_serves_metrics_to_monitoring_users_and_readiness_to_probes() {
    use super::connector_ui::{api, first_logon, ready_user, world, NEW_PASSWORD};
    let mut w = world().await;
    let c = w.client();
    assert_eq!(c.get("/healthz").await.status, 200);
    let ready = c.get("/readyz").await;
    assert_eq!((ready.status, ready.body.trim()), (200, "ready"));
    assert_eq!(c.get("/metrics").await.status, 401, "credentials first");
    first_logon(&c, "Administrator", &w.initial_password()).await;
    let r = api(
        &c,
        "Administrator",
        NEW_PASSWORD,
        "POST",
        "/api/v1/access/check",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = api(&c, "Administrator", NEW_PASSWORD, "GET", "/metrics", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let text = r.body;
    for (series, value) in [
        ("portcullis_connector_tunnel_up", 1.0),
        ("portcullis_connector_tunnel_connects_total", 1.0),
        ("portcullis_connector_audit_writable", 1.0),
        ("portcullis_connector_sessions_live", 0.0),
        ("portcullis_connector_entry_reachable{entry=\"echo\"}", 1.0),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
    for cert in ["client", "ui"] {
        let series = format!(
            "portcullis_connector_certificate_expiry_timestamp_seconds{{certificate=\"{cert}\"}}"
        );
        let at = sample(&text, &series).unwrap_or_else(|| panic!("{series} in\n{text}"));
        assert!(at > time::OffsetDateTime::now_utc().unix_timestamp() as f64);
    }
    assert!(
        text.contains("portcullis_connector_build_info{version=\""),
        "{text}"
    );
    assert_eq!(promtool_check(&text).await, "", "{text}");

    // A Monitoring user may scrape.
    ready_user(&w, "scraper", "Monitoring").await;
    let r = api(&c, "scraper", NEW_PASSWORD, "GET", "/metrics", None).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The hub goes away: the connector is no longer ready, and says why.
    w.hub.stop().await;
    w.conn
        .wait_status("the tunnel is down", |s| {
            s.state != portcullis_connector::State::Connected
        })
        .await;
    let r = c.get("/readyz").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("tunnel"), "{}", r.body);
}
