//! Unit tests of the window table and the window rule: boundaries by the clock, stale
//! updates, sets that leave windows out, local closes, caps.

use super::*;

const T0: i64 = 1_800_000_000_000;

fn w(id: &str, start_ms: i64, end_ms: i64) -> WindowInfo {
    WindowInfo {
        id: id.into(),
        service: format!("acme/PRD/{id}"),
        virtual_host: "erp.internal".into(),
        virtual_port: 3200,
        start_ms,
        end_ms,
        closed: false,
    }
}

fn closed(mut info: WindowInfo) -> WindowInfo {
    info.closed = true;
    info
}

fn table(windows: Vec<WindowInfo>) -> WindowTable {
    let mut t = WindowTable::new();
    t.apply_set(T0, windows);
    t
}

#[test]
fn open_exactly_from_start_until_just_before_end() {
    let t = table(vec![w("w1", T0, T0 + 1_000)]);
    let at = |now| check(now, &t, "w1", "erp.internal", 3200);
    assert!(matches!(
        at(T0 - 1),
        Err(Refusal::NotYetOpen { start_ms: T0, .. })
    ));
    assert_eq!(at(T0), Ok(()), "the start is inside");
    assert_eq!(at(T0 + 999), Ok(()));
    assert!(
        matches!(at(T0 + 1_000), Err(Refusal::Ended { end_ms, .. }) if end_ms == T0 + 1_000),
        "the end is outside"
    );
    let msg = at(T0 + 1_000).unwrap_err().to_string();
    assert!(
        msg.contains("w1") && msg.contains("ended at") && msg.contains("connector clock"),
        "{msg}"
    );
}

#[test]
fn target_must_match_with_the_host_case_insensitive() {
    let t = table(vec![w("w1", T0, T0 + 1_000)]);
    assert_eq!(check(T0, &t, "w1", "ERP.Internal", 3200), Ok(()));
    let other_port = check(T0, &t, "w1", "erp.internal", 3201).unwrap_err();
    assert_eq!(
        other_port.to_string(),
        "window w1 opens erp.internal:3200, not erp.internal:3201"
    );
    assert_eq!(other_port.reason(), "window_for_other_target");
    assert!(matches!(
        check(T0, &t, "w1", "db.internal", 3200),
        Err(Refusal::OtherTarget { .. })
    ));
}

#[test]
fn unknown_windows_are_refused() {
    let t = table(vec![w("w1", T0, T0 + 1_000)]);
    let r = check(T0, &t, "w2", "erp.internal", 3200).unwrap_err();
    assert_eq!(r, Refusal::Unknown { id: "w2".into() });
    assert_eq!(r.to_string(), "window w2 is not known to the connector");
}

#[test]
fn a_closed_window_never_reopens_from_a_stale_update_or_set() {
    let mut t = table(vec![w("w1", T0, T0 + 10_000)]);
    match t.apply_update(T0, closed(w("w1", T0, T0 + 10_000))) {
        Applied::Closed(c) => assert_eq!(c.cause, CloseCause::Hub),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        t.apply_update(T0, w("w1", T0, T0 + 20_000)),
        Applied::StaleIgnored
    );
    assert!(t.apply_set(T0, vec![w("w1", T0, T0 + 20_000)]).is_empty());
    let r = check(T0 + 1, &t, "w1", "erp.internal", 3200).unwrap_err();
    assert_eq!(r.to_string(), "window w1 was closed by the hub");
    assert_eq!(r.ended_by(), "window closed by hub");
    assert_eq!(r.end_cause(), EndCause::WindowClosed);
}

#[test]
fn a_new_set_closes_what_it_leaves_out_and_keeps_the_rest() {
    let mut t = table(vec![w("w1", T0, T0 + 10_000), w("w2", T0, T0 + 10_000)]);
    let closed = t.apply_set(
        T0 + 5,
        vec![w("w2", T0, T0 + 10_000), w("w3", T0, T0 + 10_000)],
    );
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].info.id, "w1");
    assert_eq!(closed[0].cause, CloseCause::Withdrawn);
    assert!(matches!(
        check(T0 + 5, &t, "w1", "erp.internal", 3200),
        Err(Refusal::Closed {
            cause: CloseCause::Withdrawn,
            ..
        })
    ));
    assert_eq!(check(T0 + 5, &t, "w2", "erp.internal", 3200), Ok(()));
    assert_eq!(check(T0 + 5, &t, "w3", "erp.internal", 3200), Ok(()));
}

#[test]
fn the_hub_closing_an_unknown_window_is_remembered() {
    let mut t = WindowTable::new();
    assert_eq!(
        t.apply_update(T0, closed(w("w9", T0, T0 + 1_000))),
        Applied::ClosedUnknown
    );
    assert_eq!(
        t.apply_update(T0, w("w9", T0, T0 + 1_000)),
        Applied::StaleIgnored
    );
    assert!(matches!(
        check(T0, &t, "w9", "erp.internal", 3200),
        Err(Refusal::Closed { .. })
    ));
}

#[test]
fn an_expired_window_comes_back_when_the_hub_extends_it() {
    let mut t = table(vec![w("w1", T0, T0 + 1_000)]);
    assert!(matches!(
        check(T0 + 1_500, &t, "w1", "erp.internal", 3200),
        Err(Refusal::Ended { .. })
    ));
    assert_eq!(
        t.apply_update(T0 + 1_500, w("w1", T0, T0 + 5_000)),
        Applied::Changed
    );
    assert_eq!(check(T0 + 1_500, &t, "w1", "erp.internal", 3200), Ok(()));
    assert_eq!(
        t.apply_update(T0 + 1_500, w("w1", T0, T0 + 5_000)),
        Applied::Unchanged
    );
}

#[test]
fn local_close_names_who_and_refuses_unknown_or_closed_windows() {
    let mut t = table(vec![w("w1", T0, T0 + 1_000)]);
    let c = t
        .close_local("w1", "alice", Some("done".into()))
        .expect("closes");
    assert_eq!(c.cause.ended_by(), "window closed at connector by alice");
    assert_eq!(
        check(T0, &t, "w1", "erp.internal", 3200)
            .unwrap_err()
            .to_string(),
        "window w1 was closed at the connector by alice"
    );
    assert!(matches!(
        t.close_local("w1", "bob", None),
        Err(CloseError::AlreadyClosed { .. })
    ));
    assert_eq!(
        t.close_local("nope", "bob", None),
        Err(CloseError::Unknown("nope".into()))
    );
    // The hub confirming the close does not overwrite who closed it.
    t.apply_update(T0, closed(w("w1", T0, T0 + 1_000)));
    let v = t.views(T0);
    assert_eq!(v[0].closed_by.as_deref(), Some("connector"));
    assert_eq!(v[0].closed_by_name.as_deref(), Some("alice"));
    assert_eq!(v[0].close_reason.as_deref(), Some("done"));
}

#[test]
fn a_restored_local_close_holds_against_a_set_that_lists_the_window_open() {
    let mut t = WindowTable::new();
    let c = t.restore_local(w("w1", T0, T0 + 1_000), "alice", Some("done".into()));
    assert_eq!(c.cause.side(), "connector");
    assert!(t.apply_set(T0, vec![w("w1", T0, T0 + 1_000)]).is_empty());
    assert_eq!(
        t.apply_update(T0, w("w1", T0, T0 + 2_000)),
        Applied::StaleIgnored
    );
    assert_eq!(
        check(T0, &t, "w1", "erp.internal", 3200)
            .unwrap_err()
            .to_string(),
        "window w1 was closed at the connector by alice"
    );
    assert!(matches!(
        t.close_local("w1", "bob", None),
        Err(CloseError::AlreadyClosed { .. })
    ));
    let v = t.views(T0);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].closed_by_name.as_deref(), Some("alice"));
    assert_eq!(v[0].close_reason.as_deref(), Some("done"));
}

#[test]
fn next_end_is_the_earliest_end_ahead() {
    let t = table(vec![
        w("a", T0, T0 + 3_000),
        w("b", T0, T0 + 1_000),
        w("c", T0 + 500, T0 + 2_000),
    ]);
    assert_eq!(t.next_end(T0), Some(T0 + 1_000));
    assert_eq!(t.next_end(T0 + 1_000), Some(T0 + 2_000), "b's end is past");
    assert_eq!(t.next_end(T0 + 3_000), None);
    assert_eq!(WindowTable::new().next_end(T0), None);
}

#[test]
fn views_show_the_state_by_the_clock() {
    let mut t = table(vec![
        w("open", T0 - 10, T0 + 10),
        w("later", T0 + 10, T0 + 20),
        w("over", T0 - 20, T0 - 10),
        w("shut", T0 - 30, T0 + 30),
    ]);
    t.apply_update(T0, closed(w("shut", T0 - 30, T0 + 30)));
    let states: Vec<(String, WindowState)> =
        t.views(T0).into_iter().map(|v| (v.id, v.state)).collect();
    assert_eq!(
        states,
        [
            ("shut".to_owned(), WindowState::Closed),
            ("over".to_owned(), WindowState::Expired),
            ("open".to_owned(), WindowState::Open),
            ("later".to_owned(), WindowState::Reserved),
        ]
    );
    let v = &t.views(T0)[0];
    assert_eq!(v.closed_by.as_deref(), Some("hub"));
    assert_eq!(v.target, "erp.internal:3200");
    assert!(v.start.ends_with('Z'), "{}", v.start);
}

#[test]
fn windows_long_over_are_forgotten() {
    let mut t = table(vec![w("old", T0, T0 + 1_000), w("new", T0, T0 + 10_000)]);
    t.apply_update(T0, closed(w("gone", T0, T0 + 1_000)));
    t.apply_update(T0 + 1_000 + RETENTION_MS, w("new", T0, T0 + 10_000));
    assert_eq!(t.len(), 3, "inside the retention");
    t.apply_update(T0 + 1_001 + RETENTION_MS, w("new", T0, T0 + 10_000));
    assert_eq!(t.len(), 1);
    assert!(t.get("new").is_some());
    assert!(matches!(
        check(T0, &t, "old", "erp.internal", 3200),
        Err(Refusal::Unknown { .. })
    ));
}

#[test]
fn caps_forget_the_windows_ending_first() {
    let mut t = WindowTable::new();
    let many: Vec<WindowInfo> = (0..MAX_OPEN as i64 + 3)
        .map(|i| w(&format!("w{i}"), T0, T0 + 1_000 + i))
        .collect();
    t.apply_set(T0, many);
    assert_eq!(t.len(), MAX_OPEN);
    assert!(t.get("w0").is_none() && t.get("w2").is_none());
    assert!(t.get("w3").is_some());
}
