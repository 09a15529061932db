//! Windows end to end: a support engineer reaches a customer's system by its service-connection
//! name only while a window is open; closing, expiry, revoking a grant and disabling a user cut
//! the live session on both sides (the client's and the back end's socket) within a second; the connector's own view of a window decides too (two keys).

use std::time::{Duration, Instant};

use portcullis_client::requests::{EditWindow, NewServiceConnection, OpenWindow, SystemData};
use portcullis_domain::window::WindowState;
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::{ended_within, EngineerWorld};
use portcullis_test_support::{watched_echo_server, WAIT};
use tokio::net::TcpStream;

const ENTRY: &str = EngineerWorld::ENTRY;

/// [`EngineerWorld`] with a back end that reports when each connection to it ended.
struct World {
    world: EngineerWorld,
    /// When each connection to the back end ended: the connector's side of a session.
    back_end_closes: tokio::sync::mpsc::UnboundedReceiver<Instant>,
}

impl std::ops::Deref for World {
    type Target = EngineerWorld;
    fn deref(&self) -> &EngineerWorld {
        &self.world
    }
}

impl std::ops::DerefMut for World {
    fn deref_mut(&mut self) -> &mut EngineerWorld {
        &mut self.world
    }
}

async fn world() -> World {
    let (echo, back_end_closes) = watched_echo_server().await;
    World {
        world: EngineerWorld::start(echo).await,
        back_end_closes,
    }
}

async fn connect(w: &World) -> Socks5Outcome {
    socks5_connect(w.hub.socks5(), "any", &w.engineer, ENTRY, 7)
        .await
        .unwrap()
}

/// Waits for the back end to see a connection end (the connector cut its side of the session)
/// and asserts that it happened less than `limit` after `since`.
/// Connections that ended before `since` (the connector's reachability probe, earlier
/// sessions) are passed over.
async fn back_end_cut_within(w: &mut World, since: Instant, limit: Duration) {
    let at = tokio::time::timeout(WAIT, async {
        loop {
            match w.back_end_closes.recv().await {
                Some(at) if at >= since => return at,
                Some(_) => continue,
                None => panic!("the back end stopped"),
            }
        }
    })
    .await
    .expect("the connector never closed its connection to the back end");
    let took = at - since;
    assert!(
        took < limit,
        "the connector cut its side {took:?} after the cause"
    );
}

#[tokio::test]
async fn an_engineer_gets_in_only_while_a_window_is_open_and_closing_cuts_him_off() {
    let mut w = world().await;
    // No window: refused by the hub, with the reason in its audit.
    assert!(matches!(connect(&w).await, Socks5Outcome::Refused(0x02)));
    let refused = w.hub.audit("session.refused").await;
    assert_eq!(refused.last().unwrap().detail["code"], "no_open_window");

    let win = w
        .open_window(&OpenWindow::now("Bob Admin, +49 30 1234"))
        .await;
    assert_eq!(win.state, WindowState::Open);
    let hours = (win.end_at - win.start_at).whole_hours();
    assert_eq!(hours, 8, "the default window is 8 hours");
    let Socks5Outcome::Connected(mut s) = connect(&w).await else {
        panic!("engineer refused under an open window");
    };
    assert_eq!(
        echo_round_trip(&mut s, b"hello PRD").await.unwrap(),
        b"hello PRD"
    );

    // Closing cuts the live session within a second, on the client's side and on the back
    // end's.
    let applied = w.conn.status().windows_applied;
    let closing = Instant::now();
    w.hub
        .company_admin("acme")
        .await
        .close_window(win.id)
        .await
        .unwrap();
    let took = ended_within(&mut s, Duration::from_secs(1)).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    back_end_cut_within(&mut w, closing, Duration::from_secs(1)).await;
    assert!(matches!(connect(&w).await, Socks5Outcome::Refused(0x02)));

    // Both sides recorded it.
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert_eq!(ends[0].detail["ended_by"], "window closed or expired");
    let starts = w.hub.audit("session.start").await;
    assert_eq!(starts[0].detail["permitted_by"]["window"], win.id);
    assert_eq!(starts[0].detail["service"], "acme/PRD/generic_tcp");
    let closed = w.hub.audit("window.closed").await;
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].detail["after"]["closed_by"], closed[0].actor);
    // The connector saw the close too and ended its side of the session (whichever side cut
    // first: the hub's cut may reach it as a reset stream before the window update does).
    w.conn
        .wait_status("the connector applied the close", |s| {
            s.windows_applied > applied
        })
        .await;
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("\"action\":\"window.closed\""), "{log}");
    assert!(log.contains("\"action\":\"session.end\""), "{log}");
}

#[tokio::test]
async fn expiry_cuts_the_live_session_within_a_second_on_both_sides() {
    let mut w = world().await;
    // The same moment on the monotonic clock, taken first so that it is not later than `end`,
    // less the 50 ms the hub may cut early (as asserted below).
    let end_instant = Instant::now() + Duration::from_millis(2500 - 50);
    let end = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(2500);
    let win = w
        .open_window(&OpenWindow {
            end: Some(end),
            ..OpenWindow::now("Bob")
        })
        .await;
    let Socks5Outcome::Connected(mut s) = connect(&w).await else {
        panic!("engineer refused under an open window");
    };
    assert_eq!(echo_round_trip(&mut s, b"x").await.unwrap(), b"x");
    ended_within(&mut s, Duration::from_secs(5)).await;
    let late = time::OffsetDateTime::now_utc() - end;
    assert!(
        late < time::Duration::seconds(1),
        "cut {late} after the window's end"
    );
    assert!(
        late > -time::Duration::milliseconds(50),
        "cut {late} before the end"
    );
    back_end_cut_within(&mut w, end_instant, Duration::from_secs(1)).await;
    assert!(matches!(connect(&w).await, Socks5Outcome::Refused(0x02)));
    let expired = w.hub.wait_audit("window.expired", 1).await;
    assert_eq!(expired[0].detail["window"]["id"], win.id);
}

#[tokio::test]
async fn a_reservation_opens_by_itself_at_its_start_and_closes_at_its_end() {
    let mut w = world().await;
    let now = time::OffsetDateTime::now_utc();
    let (start, end) = (
        now + time::Duration::milliseconds(1500),
        now + time::Duration::milliseconds(3500),
    );
    let end_instant = Instant::now() + Duration::from_millis(3500 - 50);
    let win = w
        .open_window(&OpenWindow {
            start: Some(start),
            end: Some(end),
            ..OpenWindow::now("Bob")
        })
        .await;
    assert_eq!(win.state, WindowState::Reserved);
    // Before its start: refused, as without a window.
    assert!(matches!(connect(&w).await, Socks5Outcome::Refused(0x02)));
    let refused = w.hub.audit("session.refused").await;
    assert_eq!(refused.last().unwrap().detail["code"], "no_open_window");

    // At its start the hub announces it, and from then on both keys let the engineer in (the
    // connector knew the reservation and decides by its own clock).
    let opened = w.hub.wait_audit("window.reservation_opened", 1).await;
    assert_eq!(opened[0].detail["window"]["id"], win.id);
    let at = opened[0].at;
    assert!(at >= start, "announced at {at}, before the start {start}");
    let Socks5Outcome::Connected(mut s) = connect(&w).await else {
        panic!("engineer refused once the reservation opened");
    };
    assert_eq!(echo_round_trip(&mut s, b"r").await.unwrap(), b"r");

    // At its end the live session is cut on both sides, and the window is closed.
    ended_within(&mut s, Duration::from_secs(5)).await;
    back_end_cut_within(&mut w, end_instant, Duration::from_secs(1)).await;
    let expired = w.hub.wait_audit("window.expired", 1).await;
    assert_eq!(expired[0].detail["window"]["id"], win.id);
    let now = w.hub.admin.get_window(win.id).await.unwrap();
    assert_eq!(now.state, WindowState::Closed);
    assert!(matches!(connect(&w).await, Socks5Outcome::Refused(0x02)));
}

#[tokio::test]
async fn the_twenty_day_limit_and_the_engineer_list_are_enforced() {
    let w = world().await;
    let now = time::OffsetDateTime::now_utc();
    let too_long = w
        .hub
        .company_admin("acme")
        .await
        .open_window(
            w.sc,
            &OpenWindow {
                end: Some(now + time::Duration::days(20) + time::Duration::minutes(1)),
                ..OpenWindow::now("Bob")
            },
        )
        .await
        .unwrap_err();
    assert!(
        too_long.to_string().contains("at most 20 days"),
        "{too_long}"
    );
    // Exactly 20 days, naming another engineer: alice is refused.
    let win = w
        .open_window(&OpenWindow {
            end: Some(now + time::Duration::days(20)),
            engineers: vec!["carol".into()],
            ..OpenWindow::now("Bob")
        })
        .await;
    assert_eq!(win.state, WindowState::Open);
    assert!(matches!(connect(&w).await, Socks5Outcome::Refused(0x02)));
    // Naming her lets her in.
    w.hub
        .company_admin("acme")
        .await
        .edit_window(
            win.id,
            &EditWindow {
                engineers: Some(vec!["carol".into(), "alice".into()]),
                ..EditWindow::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(connect(&w).await, Socks5Outcome::Connected(_)));
}

#[tokio::test]
async fn the_connectors_own_view_decides_too() {
    let w = world().await;
    // A window the hub allows (it is in the hub's database) but the connector was never told
    // of: stored behind the hub's back, so no push went out.
    let store = w.hub.state().store.clone();
    let now = time::OffsetDateTime::now_utc();
    let hidden = store
        .create_window(
            portcullis_store::NewWindow {
                service_connection_id: w.sc,
                start_at: now,
                end_at: now + time::Duration::hours(1),
                contact: "nobody".into(),
                opened_by: "test".into(),
                engineers: vec![],
                independent: false,
            },
            now,
        )
        .await
        .unwrap();
    assert!(matches!(connect(&w).await, Socks5Outcome::Refused(0x02)));
    let refused = w.hub.audit("session.refused").await;
    assert_eq!(
        refused.last().unwrap().detail["code"],
        "window_closed_at_connector",
        "the hub passed it; the connector refused"
    );
    let log = std::fs::read_to_string(w.conn.audit_log()).unwrap();
    assert!(log.contains("session.refused") && log.contains(&hidden.id.to_string()));
    store
        .close_window(hidden.id, time::OffsetDateTime::now_utc(), "test")
        .await
        .unwrap();

    // A window closed by the customer at the connector: the connector cuts, tells the hub,
    // and the hub closes it too.
    let win = w.open_window(&OpenWindow::now("Bob")).await;
    let Socks5Outcome::Connected(mut s) = connect(&w).await else {
        panic!("engineer refused under an open window");
    };
    assert_eq!(echo_round_trip(&mut s, b"y").await.unwrap(), b"y");
    portcullis::connector_admin::close_window(&portcullis::connector_admin::CloseWindowArgs {
        config: w.conn.config_path(),
        window: win.id.to_string(),
        by: Some("bob".into()),
        reason: Some("change freeze".into()),
        out: portcullis::output::OutputArgs { json: true },
    })
    .await
    .unwrap();
    ended_within(&mut s, Duration::from_secs(1)).await;
    let closed = w.hub.wait_audit("window.closed", 1).await;
    assert_eq!(closed[0].actor, "connector:berlin:bob");
    let now_state = w.hub.admin.get_window(win.id).await.unwrap();
    assert_eq!(now_state.state, WindowState::Closed);
    assert!(matches!(connect(&w).await, Socks5Outcome::Refused(0x02)));
}

#[tokio::test]
async fn revoking_a_grant_cuts_the_technical_users_session_and_refuses_the_next() {
    let mut w = world().await;
    let app = w.hub.token("acme", "cloud-app").await;
    w.hub.grant("acme", &app, "berlin", "echo.internal:7").await;
    let Socks5Outcome::Connected(mut s) =
        socks5_connect(w.hub.socks5(), "berlin", &app, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("granted user refused");
    };
    assert_eq!(echo_round_trip(&mut s, b"z").await.unwrap(), b"z");
    // A second connection right away is served from the hub's resolution cache; revoking
    // must still take effect at once.
    let Socks5Outcome::Connected(_second) =
        socks5_connect(w.hub.socks5(), "berlin", &app, "echo.internal", 7)
            .await
            .unwrap()
    else {
        panic!("granted user refused");
    };
    let grants = w
        .hub
        .company_admin("acme")
        .await
        .list_grants("acme")
        .await
        .unwrap();
    let id = grants.last().unwrap().id;
    let revoking = Instant::now();
    w.hub
        .company_admin("acme")
        .await
        .revoke_grant(id)
        .await
        .unwrap();
    ended_within(&mut s, Duration::from_secs(1)).await;
    back_end_cut_within(&mut w, revoking, Duration::from_secs(1)).await;
    assert!(matches!(
        socks5_connect(w.hub.socks5(), "berlin", &app, "echo.internal", 7)
            .await
            .unwrap(),
        Socks5Outcome::Refused(0x02)
    ));
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert!(
        ends.iter().any(|e| e.detail["ended_by"] == "grant revoked"),
        "{ends:?}"
    );
}

#[tokio::test]
async fn every_entry_point_takes_the_service_connection_name() {
    let w = world().await;
    w.open_window(&OpenWindow::now("Bob")).await;
    // HTTP CONNECT (the location is not needed with a service-connection name).
    let (status, _, _) = portcullis_test_support::clients::http_connect(
        w.hub.http_proxy(),
        "-",
        &w.engineer,
        &format!("{ENTRY}:7"),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    // `portcullis connect`, which lower-cases host names.
    let client =
        portcullis_client::ApiClient::new(&w.hub.api_url, &w.hub.ca_pem, Some(w.engineer.clone()))
            .unwrap();
    let (listener, addr) = portcullis::connect::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let fwd =
        portcullis::connect::Forward::from_args(&["GENERIC_TCP.PRD.acme.portcullis:7".into()])
            .unwrap();
    tokio::spawn(portcullis::connect::serve(
        client,
        fwd,
        listener,
        stop.clone(),
    ));
    let mut s = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        echo_round_trip(&mut s, b"by name").await.unwrap(),
        b"by name"
    );
    stop.cancel();
    // The wrong port is refused with the right one named.
    let (status, body, _) = portcullis_test_support::clients::http_connect(
        w.hub.http_proxy(),
        "-",
        &w.engineer,
        &format!("{ENTRY}:22"),
    )
    .await
    .unwrap();
    assert_eq!(status, 403);
    assert!(body.contains("port 7"), "{body}");
}

#[tokio::test]
async fn the_log_book_shows_everything_about_one_system_and_nothing_else() {
    let w = world().await;
    let sc = w.hub.admin.get_service_connection(w.sc).await.unwrap();
    let system = sc.system_id;
    // Another system of the same company, with its own window.
    let acme = w.hub.company_admin("acme").await;
    let other = acme
        .create_system(
            "acme",
            &SystemData {
                sid: "QAS".into(),
                system_number: "01".into(),
                eu_data_protection: false,
                description: "quality".into(),
                ..w.system.data.clone()
            },
        )
        .await
        .unwrap();
    let other_sc = acme
        .create_service_connection(
            other.id,
            &NewServiceConnection {
                virtual_port: None,
                ..NewServiceConnection::new("ssh", "berlin", "qas.internal", 0)
            },
        )
        .await
        .unwrap();
    acme.open_window(other_sc.id, &OpenWindow::now("Q"))
        .await
        .unwrap();

    let win = w.open_window(&OpenWindow::now("Bob")).await;
    let Socks5Outcome::Connected(mut s) = connect(&w).await else {
        panic!("engineer refused under an open window");
    };
    assert_eq!(echo_round_trip(&mut s, b"log").await.unwrap(), b"log");
    drop(s);
    w.hub.wait_audit("session.end", 1).await;
    w.hub
        .company_admin("acme")
        .await
        .close_window(win.id)
        .await
        .unwrap();

    let book = w.hub.admin.system_logbook(system).await.unwrap();
    let actions: Vec<&str> = book.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "system.created",
        "service_connection.created",
        "window.opened",
        "session.start",
        "session.end",
        "window.closed",
    ] {
        assert!(actions.contains(&a), "log book lacks {a}: {actions:?}");
    }
    assert!(
        book.iter().all(|e| {
            let e = serde_json::to_string(e).unwrap();
            !e.contains("qas.internal") && !e.contains("QAS")
        }),
        "another system's events leaked into the log book"
    );
    // The engineer may not read the customer's log book.
    let eng = w.hub.client(&w.engineer);
    let refused = eng.system_logbook(system).await.unwrap_err();
    assert!(
        refused.status().is_some_and(|s| s.is_client_error()),
        "{refused}"
    );
}

#[tokio::test]
async fn disabling_a_user_cuts_his_live_session_and_his_tokens() {
    let mut w = world().await;
    w.open_window(&OpenWindow::now("Bob")).await;
    let Socks5Outcome::Connected(mut s) = connect(&w).await else {
        panic!("engineer refused under an open window");
    };
    assert_eq!(echo_round_trip(&mut s, b"u").await.unwrap(), b"u");
    let users = w.hub.admin.list_users().await.unwrap();
    let alice = users.iter().find(|u| u.name == "alice").unwrap().id;
    assert_eq!(alice, w.engineer_id);
    let disabling = Instant::now();
    w.hub.admin.disable_user(alice).await.unwrap();
    let took = ended_within(&mut s, Duration::from_secs(1)).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    back_end_cut_within(&mut w, disabling, Duration::from_secs(1)).await;
    assert!(matches!(connect(&w).await, Socks5Outcome::AuthFailed(_)));
    let ends = w.hub.wait_audit("session.end", 1).await;
    assert_eq!(ends[0].detail["ended_by"], "user disabled");
    let disabled = w.hub.audit("user.disabled").await;
    assert!(
        disabled[0].detail["from"].as_str().is_some(),
        "{disabled:?}"
    );
    let created = w.hub.audit("company.created").await;
    assert!(
        created[0].detail["from"].as_str().is_some(),
        "admin actions carry the client's address: {created:?}"
    );
}
