//! Independent opening (RC-13, SAP's semi-automatic opening): a support engineer opens a window
//! for himself alone, without a customer admin, but only on a system whose company allows it.
//! The customer sees it in the system's log book and may close it; the engineer may close only
//! his own.

use portcullis_client::requests::{EditWindow, OpenWindow, SystemData};
use portcullis_client::views::{Id, System, Window};
use portcullis_client::StatusCode;
use portcullis_domain::window::WindowState;
use portcullis_test_support::clients::{echo_round_trip, socks5_connect, Socks5Outcome};
use portcullis_test_support::world::EngineerWorld;
use portcullis_test_support::{echo_server, TestConnector, TestHub};
use tokio::io::AsyncReadExt;

const ENTRY: &str = EngineerWorld::ENTRY;

struct World {
    hub: TestHub,
    _conn: TestConnector,
    system: System,
    sc: i64,
    alice: String,
    bob: String,
}

async fn world() -> World {
    let w = EngineerWorld::start(echo_server().await).await;
    let bob = w.hub.engineer("bob").await;
    World {
        alice: w.engineer,
        bob,
        hub: w.hub,
        _conn: w.conn,
        system: w.system,
        sc: w.sc,
    }
}

/// Sets the system's `allow_independent_opening` flag as its customer would.
async fn allow(w: &World, on: bool) {
    let data = SystemData {
        allow_independent_opening: on,
        ..w.system.data.clone()
    };
    w.hub
        .company_admin("acme")
        .await
        .update_system(w.system.id, &data)
        .await
        .unwrap();
}

/// Opens a window on the service connection as the holder of `token`; the window or the
/// hub's refusal text.
async fn open_as(w: &World, token: &str, body: &OpenWindow) -> Result<Window, String> {
    w.hub
        .client(token)
        .open_window(w.sc, body)
        .await
        .map_err(|e| e.to_string())
}

/// Closes `window` as the holder of `token`; the window or the hub's refusal text.
async fn close_as(w: &World, token: &str, window: Id) -> Result<Window, String> {
    w.hub
        .client(token)
        .close_window(window)
        .await
        .map_err(|e| e.to_string())
}

async fn connect(w: &World, token: &str) -> Socks5Outcome {
    socks5_connect(w.hub.socks5(), "any", token, ENTRY, 7)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_engineer_opens_for_himself_only_where_the_customer_allows_it() {
    let w = world().await;

    // Not allowed (the default): refused, with what to do instead.
    let e = open_as(&w, &w.alice, &OpenWindow::default())
        .await
        .unwrap_err();
    assert!(
        e.contains("403")
            && e.contains("independent_opening_not_allowed")
            && e.contains("system PRD does not allow independent opening"),
        "{e}"
    );
    assert!(matches!(
        connect(&w, &w.alice).await,
        Socks5Outcome::Refused(0x02)
    ));

    // The customer allows it: alice opens for one hour, for herself.
    allow(&w, true).await;
    let win = open_as(
        &w,
        &w.alice,
        &OpenWindow {
            hours: Some(1),
            ..OpenWindow::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(win.state, WindowState::Open);
    assert!(win.independent);
    assert_eq!(win.engineers, ["alice"]);
    assert_eq!(win.contact, "alice (independent opening)");
    let span = win.end_at - win.start_at;
    assert_eq!(span.whole_minutes(), 60);

    // Both keys let alice in; bob is not admitted by her window.
    let Socks5Outcome::Connected(mut s) = connect(&w, &w.alice).await else {
        panic!("alice refused under her own window");
    };
    assert_eq!(echo_round_trip(&mut s, b"own").await.unwrap(), b"own");
    assert!(matches!(
        connect(&w, &w.bob).await,
        Socks5Outcome::Refused(0x02)
    ));

    // The limits of an independent opening.
    let e = open_as(
        &w,
        &w.bob,
        &OpenWindow {
            engineers: vec!["alice".into()],
            ..OpenWindow::default()
        },
    )
    .await
    .unwrap_err();
    assert!(e.contains("admits only the engineer who opens it"), "{e}");
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let e = open_as(
        &w,
        &w.bob,
        &OpenWindow {
            start: Some(tomorrow),
            ..OpenWindow::default()
        },
    )
    .await
    .unwrap_err();
    assert!(e.contains("reserving a window is the customer's"), "{e}");
    let e = open_as(&w, &w.bob, &OpenWindow::default())
        .await
        .unwrap_err();
    assert!(e.contains("window_rule"), "one window at a time: {e}");

    // The customer reads it in the system's log book: who, and that it was independent.
    let book = w.hub.admin.system_logbook(w.system.id).await.unwrap();
    let opened = book
        .iter()
        .find(|e| e.action == "window.opened")
        .expect("window.opened in the log book");
    assert_eq!(opened.detail["independent"], true);
    assert!(opened.actor.starts_with("token:laptop#"), "{opened:?}");

    // Bob may not close alice's window; alice may, and her session ends.
    let e = close_as(&w, &w.bob, win.id).await.unwrap_err();
    assert!(e.contains("not_own_window"), "{e}");
    let closed = close_as(&w, &w.alice, win.id).await.unwrap();
    assert_eq!(closed.state, WindowState::Closed);
    let mut b = [0u8; 1];
    let r = tokio::time::timeout(std::time::Duration::from_secs(1), s.read(&mut b)).await;
    assert!(
        matches!(r, Ok(Ok(0)) | Ok(Err(_))),
        "session not cut: {r:?}"
    );
}

#[tokio::test]
async fn an_engineer_closes_only_his_own_independent_windows() {
    let w = world().await;
    allow(&w, true).await;
    // A window the customer opened, even one that names the engineer, stays the customer's.
    let acme = w.hub.company_admin("acme").await;
    let win = acme
        .open_window(
            w.sc,
            &OpenWindow {
                engineers: vec!["alice".into()],
                ..OpenWindow::now("Carol Admin")
            },
        )
        .await
        .unwrap();
    assert!(!win.independent);
    let e = close_as(&w, &w.alice, win.id).await.unwrap_err();
    assert!(e.contains("not_own_window"), "{e}");
    // And an engineer still cannot change a window.
    let e = w
        .hub
        .client(&w.alice)
        .edit_window(
            win.id,
            &EditWindow {
                contact: Some("me".into()),
                ..EditWindow::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::FORBIDDEN), "{e}");

    // Once the customer withdraws the permission, no new independent opening.
    acme.close_window(win.id).await.unwrap();
    allow(&w, false).await;
    let e = open_as(&w, &w.alice, &OpenWindow::default())
        .await
        .unwrap_err();
    assert!(e.contains("independent_opening_not_allowed"), "{e}");
}
