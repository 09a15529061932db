//! Live reload of the access control list while streams flow.

mod common;

use common::*;
use portcullis_connector::audit::{read_records, verify_file};
use portcullis_connector::State;
use portcullis_proto::{OpenResult, RefuseCode};

#[tokio::test]
async fn reload_swaps_the_acl_without_dropping_live_streams() {
    let hub = FakeHub::start().await;
    let echo_a = echo_server().await;
    let echo_b = echo_server().await;
    let env = Env::new(&hub, &[("a", "a.internal:7001", echo_a)]);
    let (mut c, shutdown) = env.start();
    let mut t = hub.accept(1000).await;
    let first = t.next_inventory().await;
    assert_eq!(first.targets.len(), 1);
    assert_eq!(first.targets[0].name, "a");
    let st = wait_status(&mut c.status, "connected", |s| s.state == State::Connected).await;
    assert_eq!(st.acl_generation, 0);

    let mut old_a = t.open("a.internal", 7001).await.expect("A is listed");
    assert_echo(&mut old_a, b"before the reload").await;

    // Remove A, add B.
    write_file_atomically(
        &env.config_path,
        &config_text(&[("b", "b.internal:7002-7003", echo_b)]),
    );
    let st = wait_status(&mut c.status, "the new ACL", |s| s.acl_generation >= 1).await;
    assert_eq!(st.acl_generation, 1);
    assert_eq!(st.connects, 1, "a reload does not reconnect");
    // The new inventory was sent before the generation was published.
    let inv = t.next_inventory().await;
    assert_eq!(inv.targets.len(), 1);
    assert_eq!(inv.targets[0].name, "b");
    assert_eq!(
        (inv.targets[0].port_start, inv.targets[0].port_end),
        (7002, 7003)
    );

    let mut b = t.open("b.internal", 7002).await.expect("B is listed now");
    assert_echo(&mut b, b"hello B").await;
    match t.open("a.internal", 7001).await {
        Err(OpenResult::Refused { code, .. }) => assert_eq!(code, RefuseCode::NotAllowed),
        other => panic!("a new stream to A must be refused, got {other:?}"),
    }
    assert_echo(&mut old_a, b"the old stream to A keeps flowing").await;

    // A broken file never replaces the running list (the unit tests of the reloader check
    // the decision itself; here the agent must simply keep serving B) …
    write_file_atomically(
        &env.config_path,
        "[[access]]\nname = \"x\"\nvirtual = \"nope\"\n",
    );
    // … and a valid rewrite with the same list does not bump the generation.
    let same = config_text(&[("b", "b.internal:7002-7003", echo_b)]) + "\n# comment\n";
    write_file_atomically(&env.config_path, &same);
    let mut b2 = t.open("b.internal", 7002).await.expect("B still listed");
    assert_echo(&mut b2, b"B, second stream").await;
    assert_eq!(c.status.borrow().acl_generation, 1);

    shutdown.cancel();
    drop((old_a, b, b2));
    c.join.await.expect("join").expect("clean stop");
    verify_file(&env.audit_path()).expect("chain verifies");
    let recs = read_records(&env.audit_path()).expect("records");
    let reloads: Vec<_> = recs.iter().filter(|r| r.action == "acl.reloaded").collect();
    assert_eq!(reloads.len(), 1, "{recs:?}");
    assert_eq!(reloads[0].detail["generation"], 1);
    assert_eq!(reloads[0].detail["added"], serde_json::json!(["b"]));
    assert_eq!(reloads[0].detail["removed"], serde_json::json!(["a"]));
}

#[tokio::test]
async fn reload_while_disconnected_publishes_the_generation_at_once() {
    let hub = FakeHub::start().await;
    let echo = echo_server().await;
    let env = Env::new(&hub, &[("a", "a.internal:7001", echo)]);
    // Never accepted: the connector keeps trying.
    let (mut c, shutdown) = env.start();
    write_file_atomically(
        &env.config_path,
        &config_text(&[("b", "b.internal:7002", echo)]),
    );
    let st = wait_status(&mut c.status, "the new ACL", |s| s.acl_generation == 1).await;
    assert_ne!(st.state, State::Connected);
    // When the tunnel comes up, the hub gets the new list.
    let mut t = hub.accept(1000).await;
    let inv = t.next_inventory().await;
    assert_eq!(inv.targets[0].name, "b");
    shutdown.cancel();
    c.join.await.expect("join").expect("clean stop");
}
