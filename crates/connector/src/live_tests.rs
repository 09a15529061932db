//! Unit tests of the live registry: admission under one lock with the re-check, cuts on a
//! new list, window closes and expiry.

use super::*;

use portcullis_proto::WindowInfo;

use crate::config::test_acl as acl;
use crate::windows::CloseCause;

const NOW: i64 = 1_800_000_000_000;

fn snapshot(text: &str) -> (watch::Sender<AclSnapshot>, watch::Receiver<AclSnapshot>) {
    watch::channel(AclSnapshot {
        generation: 0,
        acl: Arc::new(acl(text)),
    })
}

/// A stream under a standing grant (the ACL alone decides).
fn open(host: &str, port: u16) -> StreamOpen {
    StreamOpen {
        session_id: format!("s-{host}-{port}"),
        host: host.into(),
        port,
        principal: "engineer@vendor".into(),
        entry: "test".into(),
        client_addr: None,
        window: None,
        grant: Some("g1".into()),
    }
}

fn in_window(host: &str, port: u16, window: &str) -> StreamOpen {
    StreamOpen {
        window: Some(window.into()),
        grant: None,
        session_id: format!("s-{window}-{host}-{port}"),
        ..open(host, port)
    }
}

fn window(id: &str, host: &str, port: u16, end_ms: i64) -> WindowInfo {
    WindowInfo {
        id: id.into(),
        service: format!("acme/PRD/{id}"),
        virtual_host: host.into(),
        virtual_port: port,
        start_ms: NOW - 1_000,
        end_ms,
        closed: false,
    }
}

const A: &str = "[[access]]\nname = \"a\"\nvirtual = \"a:1-2\"\ninternal = \"10.0.0.1:1\"\n";
const B: &str = "[[access]]\nname = \"b\"\nvirtual = \"b:1\"\ninternal = \"10.0.0.2:1\"\n";

#[test]
fn admission_checks_and_registers_until_dropped() {
    let live = Arc::new(LiveSessions::default());
    let (_tx, rx) = snapshot(A);
    let parent = CancellationToken::new();
    assert!(live.admit(&rx, &open("b", 1), &parent, NOW).is_err());
    assert_eq!(live.len(), 0, "a refused stream is not registered");
    let (permit, admission) = live
        .admit(&rx, &open("A", 2), &parent, NOW)
        .expect("allowed");
    assert_eq!(
        (permit.internal_host(), permit.internal_port()),
        ("10.0.0.1", 2)
    );
    assert_eq!(live.len(), 1);
    parent.cancel();
    assert!(
        admission.cut().is_cancelled(),
        "the tunnel's cut reaches it"
    );
    assert_eq!(
        admission.cut_by_policy(),
        None,
        "but that is not a policy cut"
    );
    drop(admission);
    assert_eq!(live.len(), 0);
}

#[test]
fn recheck_cuts_removed_and_remapped_sessions_and_keeps_the_rest() {
    let live = Arc::new(LiveSessions::default());
    let (_tx, rx) = snapshot(&format!("{A}{B}"));
    let parent = CancellationToken::new();
    let (_, a) = live.admit(&rx, &open("a", 1), &parent, NOW).expect("a");
    let (_, b) = live.admit(&rx, &open("b", 1), &parent, NOW).expect("b");

    // Same list with B remapped: B is cut, A keeps flowing.
    let remapped = B.replace("10.0.0.2:1", "10.0.0.9:1");
    let cut = live.recheck(&acl(&format!("{A}{remapped}")));
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert_eq!(cut[0].session_id, "s-b-1");
    assert_eq!(cut[0].principal, "engineer@vendor");
    assert_eq!(cut[0].ended_by, "access removed");
    assert_eq!(cut[0].cause, EndCause::AccessRemoved);
    assert!(cut[0].reason.contains("10.0.0.9:1"), "{}", cut[0].reason);
    assert!(b.cut().is_cancelled());
    assert!(b.cut_by_policy().is_some());
    assert!(!a.cut().is_cancelled());
    assert!(!parent.is_cancelled(), "other sessions are untouched");

    // A removed: A is cut; B, cut already, is not reported twice.
    let cut = live.recheck(&acl(B));
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert_eq!(cut[0].target, "a:1");
    assert!(a.cut().is_cancelled());
    let why = a.cut_by_policy().expect("policy cut");
    assert!(why.reason.contains("a:1"), "{why:?}");
    assert_eq!(why.code, RefuseCode::NotAllowed);
}

#[test]
fn the_window_rule_comes_before_the_list_and_a_stream_needs_a_basis() {
    let live = Arc::new(LiveSessions::default());
    let (_tx, rx) = snapshot(A);
    let parent = CancellationToken::new();
    live.apply_windows(NOW, |t| {
        t.apply_set(NOW, vec![window("w1", "a", 1, NOW + 10)])
    });

    let neither = StreamOpen {
        grant: None,
        ..open("a", 1)
    };
    let r = live.admit(&rx, &neither, &parent, NOW).unwrap_err();
    assert_eq!(r.code(), RefuseCode::NotAllowed);
    assert_eq!(r.to_string(), "the stream carries no window or grant");

    let r = live
        .admit(&rx, &in_window("a", 1, "w2"), &parent, NOW)
        .unwrap_err();
    assert_eq!(
        (r.code(), r.reason()),
        (RefuseCode::WindowClosed, "unknown_window")
    );
    let r = live
        .admit(&rx, &in_window("a", 2, "w1"), &parent, NOW)
        .unwrap_err();
    assert_eq!(r.reason(), "window_for_other_target");
    let r = live
        .admit(&rx, &in_window("a", 1, "w1"), &parent, NOW + 10)
        .unwrap_err();
    assert_eq!(r.reason(), "window_ended");
    assert_eq!(live.len(), 0);

    let ok = live.admit(&rx, &in_window("a", 1, "w1"), &parent, NOW);
    assert!(ok.is_ok());
    // A window does not bypass the customer's list.
    live.apply_windows(NOW, |t| t.apply_update(NOW, window("w3", "b", 1, NOW + 10)));
    let r = live
        .admit(&rx, &in_window("b", 1, "w3"), &parent, NOW)
        .unwrap_err();
    assert_eq!(
        (r.code(), r.reason()),
        (RefuseCode::NotAllowed, "no_access_entry")
    );
}

#[test]
fn window_changes_cut_only_the_sessions_of_that_window() {
    let live = Arc::new(LiveSessions::default());
    let (_tx, rx) = snapshot(&format!("{A}{B}"));
    let parent = CancellationToken::new();
    live.apply_windows(NOW, |t| {
        t.apply_set(
            NOW,
            vec![
                window("w1", "a", 1, NOW + 100),
                window("w2", "b", 1, NOW + 200),
            ],
        )
    });
    let (_, s1) = live
        .admit(&rx, &in_window("a", 1, "w1"), &parent, NOW)
        .expect("w1");
    let (_, s2) = live
        .admit(&rx, &in_window("b", 1, "w2"), &parent, NOW)
        .expect("w2");
    let (_, granted) = live.admit(&rx, &open("a", 1), &parent, NOW).expect("grant");

    // Closed locally: only w1's session ends, and it says who closed it.
    let (closed, cut) = live.apply_windows(NOW, |t| t.close_local("w1", "alice", None));
    assert!(matches!(
        closed.map(|c| c.cause),
        Ok(CloseCause::Local { .. })
    ));
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert_eq!(cut[0].window.as_deref(), Some("w1"));
    assert_eq!(cut[0].ended_by, "window closed at connector by alice");
    assert_eq!(cut[0].cause, EndCause::WindowClosed);
    assert!(s1.cut().is_cancelled());
    assert_eq!(
        s1.cut_by_policy().map(|p| p.code),
        Some(RefuseCode::WindowClosed)
    );
    assert!(!s2.cut().is_cancelled() && !granted.cut().is_cancelled());

    // Expiry: nothing before w2's end, then w2's session; the timer has nothing left.
    assert_eq!(live.expire(NOW + 199), (vec![], Some(NOW + 200)));
    let (cut, next) = live.expire(NOW + 200);
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0].ended_by, "window expired");
    assert_eq!(cut[0].cause, EndCause::WindowExpired);
    assert!(s2.cut().is_cancelled());
    assert_eq!(next, None);
    assert!(
        !granted.cut().is_cancelled(),
        "a grant has no window to end"
    );
}

#[test]
fn a_new_window_set_cuts_the_sessions_of_windows_it_leaves_out() {
    let live = Arc::new(LiveSessions::default());
    let (_tx, rx) = snapshot(A);
    let parent = CancellationToken::new();
    live.apply_windows(NOW, |t| {
        t.apply_set(NOW, vec![window("w1", "a", 1, NOW + 100)])
    });
    let (_, s) = live
        .admit(&rx, &in_window("a", 1, "w1"), &parent, NOW)
        .expect("w1");
    let (closed, cut) = live.apply_windows(NOW, |t| t.apply_set(NOW, vec![]));
    assert_eq!(closed.len(), 1);
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0].ended_by, "window closed by hub");
    assert!(s.cut().is_cancelled());
}
