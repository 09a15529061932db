//! The audit log: chaining, batches, filters, concurrent appends.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::json;
use time::Duration;

use super::{ms, Run};
use crate::{AuditEvent, AuditFilter, Id, NewAuditEvent, Store, GENESIS_HASH};

fn event(run: &Run, company_id: Option<Id>, i: i64, action: &str) -> NewAuditEvent {
    NewAuditEvent {
        at: run.now + Duration::milliseconds(i) + Duration::nanoseconds(777),
        company_id,
        actor: format!("token:{}", run.tag),
        action: action.to_owned(),
        target: format!("connector:{i}"),
        outcome: if i % 3 == 0 { "denied" } else { "ok" }.to_owned(),
        // Keys out of order and nested, non-ASCII and control characters: the canonical
        // form must make all of this hash the same way after a round trip.
        detail: json!({
            "z": i,
            "a": {"nested": [1, "two", null, true], "B": "Grüße\n\t\"quoted\""},
            "empty": {},
        }),
    }
}

/// All events of `company_id`, paging with `after_seq` through small pages.
async fn all_of(store: &dyn Store, company_id: Id) -> Vec<AuditEvent> {
    let mut out: Vec<AuditEvent> = Vec::new();
    loop {
        let page = store
            .list_audit(&AuditFilter {
                company_id: Some(company_id),
                after_seq: out.last().map(|e| e.seq),
                limit: 7,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert!(page.len() <= 7, "limit respected");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Checks that `events` (ordered, consecutive) link up and hash correctly.
#[track_caller]
fn assert_linked(events: &[AuditEvent]) {
    for e in events {
        assert!(e.hash_is_valid(), "seq {} does not hash to its hash", e.seq);
        assert_eq!(e.hash.len(), 64);
        assert!(e
            .hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        if e.seq == 1 {
            assert_eq!(e.prev_hash, GENESIS_HASH);
        }
    }
    for w in events.windows(2) {
        assert_eq!(w[1].seq, w[0].seq + 1, "consecutive seqs");
        assert_eq!(
            w[1].prev_hash, w[0].hash,
            "seq {} links to its predecessor",
            w[1].seq
        );
    }
}

pub(super) async fn chain(store: &dyn Store, run: &Run) {
    let c = store.create_company(&run.name("audit-co")).await.unwrap();
    let mut appended = Vec::new();
    for i in 0..25 {
        let new = event(run, Some(c.id), i, "connector.enroll");
        let got = store.append_audit(new.clone()).await.unwrap();
        assert_eq!(got.at, ms(new.at));
        assert_eq!(got.company_id, Some(c.id));
        assert_eq!(
            (&got.actor, &got.action, &got.target, &got.outcome),
            (&new.actor, &new.action, &new.target, &new.outcome)
        );
        assert_eq!(got.detail, new.detail);
        appended.push(got);
    }
    assert_linked(&appended);

    // An event without a company joins the same chain.
    let system = store
        .append_audit(NewAuditEvent {
            company_id: None,
            detail: json!(null),
            ..event(run, None, 99, "hub.start")
        })
        .await
        .unwrap();
    assert_eq!(system.seq, appended.last().unwrap().seq + 1);
    assert_eq!(system.prev_hash, appended.last().unwrap().hash);
    assert!(system.hash_is_valid());

    // What is listed is exactly what was appended, hashes included.
    assert_eq!(all_of(store, c.id).await, appended);

    let count = store.verify_audit_chain().await.unwrap();
    assert_eq!(
        count, system.seq as u64,
        "verify counts every event from seq 1"
    );
}

/// A batch is stored in order, linked to what came before and to what comes after; an
/// empty batch stores nothing.
pub(super) async fn batches(store: &dyn Store, run: &Run) {
    let c = store.create_company(&run.name("batch-co")).await.unwrap();
    let before = store
        .append_audit(event(run, Some(c.id), 0, "batch.single"))
        .await
        .unwrap();
    assert!(store
        .append_audit_batch(Vec::new())
        .await
        .unwrap()
        .is_empty());
    let news: Vec<NewAuditEvent> = (1..=6)
        .map(|i| event(run, Some(c.id), i, "batch.many"))
        .collect();
    let batch = store.append_audit_batch(news.clone()).await.unwrap();
    assert_eq!(batch.len(), news.len());
    for (got, new) in batch.iter().zip(&news) {
        assert_eq!(
            (&got.target, &got.detail),
            (&new.target, &new.detail),
            "order kept"
        );
    }
    let after = store
        .append_audit(event(run, Some(c.id), 7, "batch.single"))
        .await
        .unwrap();
    let mut all = vec![before];
    all.extend(batch);
    all.push(after);
    assert_linked(&all);
    assert_eq!(all_of(store, c.id).await, all, "listed exactly as returned");
    assert_eq!(
        store.verify_audit_chain().await.unwrap(),
        all.last().unwrap().seq as u64
    );
}

pub(super) async fn filters(store: &dyn Store, run: &Run) {
    let c = store.create_company(&run.name("filter-co")).await.unwrap();
    let other = store
        .create_company(&run.name("filter-other"))
        .await
        .unwrap();
    let actions = [
        "conn.enroll",
        "conn.revoke",
        "token.create",
        "Conn.upper",
        "conn%x",
        "connX",
    ];
    let mut mine = Vec::new();
    for (i, action) in (0i64..).zip(actions) {
        mine.push(
            store
                .append_audit(event(run, Some(c.id), i, action))
                .await
                .unwrap(),
        );
        store
            .append_audit(event(run, Some(other.id), i, action))
            .await
            .unwrap();
    }

    let list = |prefix: &str| {
        let f = AuditFilter {
            company_id: Some(c.id),
            action_prefix: Some(prefix.to_owned()),
            ..AuditFilter::default()
        };
        async move {
            store
                .list_audit(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.action)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("conn.").await, ["conn.enroll", "conn.revoke"]);
    assert_eq!(
        list("conn").await,
        ["conn.enroll", "conn.revoke", "conn%x", "connX"],
        "prefix match is case-sensitive"
    );
    assert_eq!(list("conn%").await, ["conn%x"], "% is not a wildcard");
    assert_eq!(
        list("conn_").await,
        Vec::<String>::new(),
        "_ is not a wildcard"
    );
    assert_eq!(list("").await.len(), actions.len());

    let by_company = store
        .list_audit(&AuditFilter {
            company_id: Some(c.id),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_company, mine, "company filter, ordered by seq");

    let after = store
        .list_audit(&AuditFilter {
            company_id: Some(c.id),
            after_seq: Some(mine[3].seq),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        after,
        vec![mine[4].clone()],
        "after_seq is exclusive, limit applies"
    );

    let none = store
        .list_audit(&AuditFilter {
            limit: 0,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty(), "limit 0 returns nothing");

    let unfiltered = store
        .list_audit(&AuditFilter {
            after_seq: Some(mine[0].seq - 1),
            limit: 4,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let seqs: Vec<i64> = unfiltered.iter().map(|e| e.seq).collect();
    let first = mine[0].seq;
    assert_eq!(seqs, [first, first + 1, first + 2, first + 3]);
    assert_linked(&unfiltered);

    let mine_where = |f: AuditFilter| async move {
        store
            .list_audit(&AuditFilter {
                company_id: Some(c.id),
                ..f
            })
            .await
            .unwrap()
    };
    assert_eq!(
        mine_where(AuditFilter {
            newest_first: true,
            before_seq: Some(mine[4].seq),
            limit: 2,
            ..AuditFilter::default()
        })
        .await,
        vec![mine[3].clone(), mine[2].clone()],
        "newest first; before_seq is exclusive, limit applies"
    );
    assert_eq!(
        mine_where(AuditFilter {
            since: Some(mine[1].at),
            until: Some(mine[3].at),
            ..AuditFilter::default()
        })
        .await,
        vec![mine[1].clone(), mine[2].clone()],
        "since is inclusive, until exclusive"
    );
    assert_eq!(
        mine_where(AuditFilter {
            actor: Some(mine[0].actor.clone()),
            ..AuditFilter::default()
        })
        .await,
        mine,
        "actor matches exactly"
    );
    assert!(mine_where(AuditFilter {
        actor: Some(format!("{}x", mine[0].actor)),
        ..AuditFilter::default()
    })
    .await
    .is_empty());
}

/// Checks the events of `company_id` after `n` concurrent appends: all present, consecutive,
/// linked, and the whole chain verifies.
async fn check_concurrent(store: &dyn Store, company_id: Id, n: usize, returned: &[AuditEvent]) {
    let mut listed = all_of(store, company_id).await;
    assert_eq!(listed.len(), n);
    assert_linked(&listed);
    let mut returned = returned.to_vec();
    returned.sort_by_key(|e| e.seq);
    assert_eq!(listed, returned, "each caller got back the stored event");
    let last = listed.pop().unwrap();
    assert_eq!(store.verify_audit_chain().await.unwrap(), last.seq as u64);
}

/// `n` appends started together on one task: the backend sees them overlap on its
/// connection pool.
pub(super) async fn concurrent_joined(store: &dyn Store, run: &Run, n: usize) {
    let c = store
        .create_company(&run.name("concurrent-co"))
        .await
        .unwrap();
    let appends = (0..n as i64).map(|i| store.append_audit(event(run, Some(c.id), i, "race.join")));
    let returned: Vec<AuditEvent> = join_all(appends)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    check_concurrent(store, c.id, n, &returned).await;
}

/// `tasks` tokio tasks append `per_task` events each, in parallel; afterwards the chain must
/// be linear and verify. Needs an owned store because spawned tasks outlive the borrow.
pub async fn concurrent_audit_appends(store: Arc<dyn Store>, tasks: usize, per_task: usize) {
    let run = Run::new();
    let c = store.create_company(&run.name("tasks-co")).await.unwrap();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store = Arc::clone(&store);
        let batch: Vec<NewAuditEvent> = (0..per_task)
            .map(|i| event(&run, Some(c.id), (t * per_task + i) as i64, "race.task"))
            .collect();
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for e in batch {
                out.push(store.append_audit(e).await.unwrap());
            }
            out
        }));
    }
    let mut returned = Vec::new();
    for h in handles {
        returned.extend(h.await.expect("append task panicked"));
    }
    check_concurrent(store.as_ref(), c.id, tasks * per_task, &returned).await;
}

/// A transaction's changes and its audit events commit together, or neither does: committed,
/// both are there (the events linked after everything before); dropped without a commit, or
/// failed on a later statement, neither is.
pub(super) async fn transactions(store: &dyn Store, run: &Run) {
    let before = store.list_audit(&AuditFilter::default()).await.unwrap();
    let head = before.last().map(|e| e.seq).unwrap_or(0);

    let name = run.name("tx-committed");
    let mut tx = store.begin().await.unwrap();
    let c = tx.create_company(&name).await.unwrap();
    tx.audit(event(run, Some(c.id), 1, "company.created"))
        .await
        .unwrap();
    tx.audit(event(run, Some(c.id), 2, "company.noted"))
        .await
        .unwrap();
    let stored = tx.commit().await.unwrap();
    assert_eq!(
        stored.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["company.created", "company.noted"]
    );
    assert!(stored[0].seq > head, "appended after the head");
    assert_eq!(stored[1].prev_hash, stored[0].hash, "linked to each other");
    assert!(store.find_company_by_name(&name).await.unwrap().is_some());
    assert_eq!(all_of(store, c.id).await, stored, "the events are readable");

    let dropped = run.name("tx-dropped");
    let mut tx = store.begin().await.unwrap();
    let d = tx.create_company(&dropped).await.unwrap();
    tx.audit(event(run, Some(d.id), 3, "company.created"))
        .await
        .unwrap();
    drop(tx);
    assert!(store
        .find_company_by_name(&dropped)
        .await
        .unwrap()
        .is_none());
    assert!(
        all_of(store, d.id).await.is_empty(),
        "no event without its change"
    );

    // The second write fails (the name is taken): the caller drops the transaction and the
    // first write goes with it.
    let first = run.name("tx-failed");
    let mut tx = store.begin().await.unwrap();
    let f = tx.create_company(&first).await.unwrap();
    tx.audit(event(run, Some(f.id), 4, "company.created"))
        .await
        .unwrap();
    assert!(matches!(
        tx.create_company(&name).await,
        Err(crate::StoreError::Conflict(_))
    ));
    drop(tx);
    assert!(store.find_company_by_name(&first).await.unwrap().is_none());
    assert!(all_of(store, f.id).await.is_empty());

    // The writes of `Store` itself (each in a transaction of its own) still work afterwards,
    // and the chain is intact.
    store.create_company(&run.name("tx-after")).await.unwrap();
    store.verify_audit_chain().await.unwrap();
}
