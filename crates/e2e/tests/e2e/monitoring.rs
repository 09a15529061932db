//! The connector's monitoring end to end (CC-36..43): hardware samples at a short interval,
//! kept across a restart with a gap between the runs; usage kept across a restart, a reset
//! that empties it and is audited; back-end connections counted up while a session is open
//! and down after. Everything read through the admin socket, as `portcullis connector
//! monitor …` reads it.

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use portcullis_connector::local::{Request, Response};
use portcullis_connector::monitor::history::HardwareView;
use portcullis_connector::monitor::ResetWhat;
use portcullis_test_support::clients::{self, echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::Granted;
use portcullis_test_support::{echo_server, http_server, HubOptions, WAIT};

/// Technical user `app` granted an echo entry and an HTTP entry on connector `berlin`,
/// which samples every 100 ms (disk every 200 ms).
async fn world() -> Granted {
    let echo = echo_server().await;
    let web = http_server().await;
    Granted::start(
        HubOptions::default(),
        "app",
        |c| {
            c.with_toml("[monitoring]\nhardware_interval_ms = 100\ndisk_interval_ms = 200\n")
                .expose("echo", "echo.internal:7", echo)
                .expose_with(
                    "web",
                    "web.internal:80",
                    web,
                    "protocol = \"http\"\n[[access.resources]]\npath = \"/\"\n\
                     policy = \"path_and_sub_paths\"\n",
                )
        },
        &["echo.internal:7", "web.internal:80"],
    )
    .await
}

async fn ask(w: &Granted, req: &Request) -> Response {
    let data_dir = w.conn.dir.path().join("data");
    portcullis::connector_admin::request(&data_dir, req)
        .await
        .expect("the connector answers")
}

async fn hardware(w: &Granted) -> HardwareView {
    match ask(w, &Request::Hardware { span_secs: None }).await {
        Response::Hardware { view } => view,
        other => panic!("a hardware answer, not {other:?}"),
    }
}

/// Polls the hardware view until `done` holds, within [`WAIT`].
async fn hardware_until(
    w: &Granted,
    what: &str,
    done: impl Fn(&HardwareView) -> bool,
) -> HardwareView {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = hardware(w).await;
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {v:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Stops the connector and starts it again; returns when it was stopped (unix ms).
async fn restart(w: &mut Granted) -> i64 {
    w.conn.stop().await;
    let stopped_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    w.conn.start();
    w.conn.wait_connects(1).await;
    stopped_at
}

#[tokio::test]
async fn hardware_samples_survive_a_restart_with_a_gap_between_the_runs() {
    let mut w = world().await;
    let first = hardware_until(&w, "three samples and a disk sample", |v| {
        v.cpu_memory.len() >= 3 && !v.disk.is_empty()
    })
    .await;
    assert_eq!((first.interval_ms, first.disk_interval_ms), (100, 200));
    assert!(first.cpu_memory[0].gap_before, "a run starts after a gap");
    for p in &first.cpu_memory {
        assert!(p.cpu_permille <= 1000, "{p:?}");
        assert!(
            p.memory_total > 0 && p.memory_used <= p.memory_total,
            "{p:?}"
        );
    }
    let d = &first.disk[0];
    assert!(d.disk_total > 0 && d.disk_free <= d.disk_total, "{d:?}");

    let stopped_at = restart(&mut w).await;
    let history = w.conn.dir.path().join("data/hardware-history.json");
    let mode = std::fs::metadata(&history).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the history file is the connector's own"
    );

    let after = hardware_until(&w, "two samples of the second run", |v| {
        v.cpu_memory.iter().filter(|p| p.t_ms > stopped_at).count() >= 2
    })
    .await;
    assert!(
        first
            .cpu_memory
            .iter()
            .all(|p| after.cpu_memory.iter().any(|q| q == p)),
        "the first run's samples came back: {after:?}"
    );
    // The runs are apart by a gap: the first sample of the second run has one before it,
    // and nothing stands for the downtime.
    let second = after
        .cpu_memory
        .iter()
        .position(|p| p.t_ms > stopped_at)
        .unwrap();
    assert!(second > 0);
    assert!(after.cpu_memory[second].gap_before, "{after:?}");
    assert!(after.cpu_memory.iter().all(|p| p.memory_total > 0));

    // What `portcullis connector monitor hardware --svg DIR` draws: the gap breaks the line.
    let charts = portcullis::connector_monitor::charts(&after);
    let cpu = &charts.iter().find(|(n, _)| *n == "cpu.svg").unwrap().1;
    let runs = cpu.matches("<polyline").count() + cpu.matches("<circle").count();
    assert!(runs >= 2, "{cpu}");
    assert!(
        cpu.contains("role=\"img\"") && !cpu.contains("style"),
        "{cpu}"
    );
    let text = portcullis::connector_monitor::hardware_text(&after);
    assert!(text.contains("CPU ") && text.contains("gaps."), "{text}");
}

#[tokio::test]
async fn usage_survives_a_restart_and_a_reset_empties_it_with_an_audit_record() {
    let mut w = world().await;
    let proxy = format!("socks5h://berlin:{}@{}", w.token, w.hub.socks5());
    for _ in 0..2 {
        let r = clients::curl(vec![
            "-sS".into(),
            "-i".into(),
            "--max-time".into(),
            "20".into(),
            "--proxy".into(),
            proxy.clone(),
            "http://web.internal/".into(),
        ])
        .await;
        assert_eq!(clients::last_status(&r), 200, "{r}");
    }
    let usage = |r: Response| match r {
        Response::Usage { usage } => usage,
        other => panic!("a usage answer, not {other:?}"),
    };
    let before = usage(ask(&w, &Request::Usage).await);
    let web = before
        .iter()
        .find(|u| u.virtual_host == "web.internal:80")
        .unwrap_or_else(|| panic!("usage of web.internal:80: {before:?}"));
    assert_eq!(web.calls, 2, "{web:?}");
    assert!(web.bytes_sent > 0, "{web:?}");

    restart(&mut w).await;
    let after = usage(ask(&w, &Request::Usage).await);
    assert_eq!(after, before, "usage came back after the restart");

    let req = Request::MonitorReset {
        what: ResetWhat::Usage,
        by: "alice".into(),
    };
    match ask(&w, &req).await {
        Response::Reset { what } => assert_eq!(what, ResetWhat::Usage),
        other => panic!("a reset answer, not {other:?}"),
    }
    assert!(usage(ask(&w, &Request::Usage).await).is_empty());
    // Saved at once, not only at the next minute or stop: a crash does not bring it back.
    let saved = std::fs::read_to_string(w.conn.dir.path().join("data/usage.json")).unwrap();
    assert!(saved.contains("\"usage\":[]"), "{saved}");
    let audit = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    let reset: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &serde_json::Value| e["action"] == "monitoring.reset")
        .collect();
    assert_eq!(reset.len(), 1, "{audit}");
    assert_eq!(reset[0]["detail"]["what"], "usage");
    assert_eq!(reset[0]["detail"]["by"], "alice");

    // A blank name is refused, and nothing is reset or audited.
    let blank = Request::MonitorReset {
        what: ResetWhat::Performance,
        by: " ".into(),
    };
    let data_dir = w.conn.dir.path().join("data");
    let refused = portcullis::connector_admin::request(&data_dir, &blank).await;
    assert!(refused.is_err(), "{refused:?}");

    restart(&mut w).await;
    assert!(
        usage(ask(&w, &Request::Usage).await).is_empty(),
        "the reset was saved: the old figures do not come back"
    );
}

#[tokio::test]
async fn backend_connections_count_up_while_a_session_is_open_and_down_after() {
    let w = world().await;
    let echo = |r: Response| match r {
        Response::Connections { connections } => connections
            .into_iter()
            .find(|c| c.virtual_host == "echo.internal:7"),
        other => panic!("a connections answer, not {other:?}"),
    };
    let mut stream = match socks5_connect(w.hub.socks5(), "berlin", &w.token, "echo.internal", 7)
        .await
        .unwrap()
    {
        Socks5Outcome::Connected(s) => s,
        other => panic!("not connected: {other:?}"),
    };
    assert_eq!(
        echo_round_trip(&mut stream, b"ping").await.unwrap(),
        b"ping"
    );
    let open = echo(ask(&w, &Request::Connections).await).expect("echo.internal:7 counted");
    assert_eq!((open.open, open.peak, open.opened), (1, 1, 1), "{open:?}");

    drop(stream);
    let deadline = Instant::now() + WAIT;
    let closed = loop {
        let c = echo(ask(&w, &Request::Connections).await).expect("still listed");
        if c.open == 0 {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the connection is still counted: {c:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!((closed.peak, closed.opened), (1, 1));

    let req = Request::MonitorReset {
        what: ResetWhat::Connections,
        by: "alice".into(),
    };
    assert!(matches!(ask(&w, &req).await, Response::Reset { .. }));
    assert_eq!(
        echo(ask(&w, &Request::Connections).await),
        None,
        "peaks reset"
    );
}
