//! Paging, line form and the intact-prefix search (`ops::audit`), against an in-memory store.

use super::*;
use crate::ops::audit::intact_prefix;
use portcullis_store::{NewAuditEvent, SqliteStore, GENESIS_HASH};
use time::OffsetDateTime;

async fn store_with(n: usize) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let events = (0..n)
        .map(|i| NewAuditEvent {
            at: OffsetDateTime::now_utc(),
            company_id: Some(1 + (i % 2) as i64),
            actor: "test".into(),
            action: if i % 3 == 0 { "a.x" } else { "b.y" }.into(),
            target: format!("t{i}"),
            outcome: "ok".into(),
            detail: serde_json::json!({"i": i, "z": {"b": 1, "a": [1, "é\n"]}}),
        })
        .collect();
    store.append_audit_batch(events).await.unwrap();
    store
}

fn pages(store: Arc<dyn Store>, filter: AuditFilter, to_seq: Option<i64>) -> Pages {
    Pages {
        store,
        filter,
        to_seq,
        header: None,
        events: 0,
        last: None,
        done: false,
    }
}

async fn collect(mut p: Pages) -> (Vec<ExportedEvent>, ExportEnd, usize) {
    let mut text = Vec::new();
    let mut chunks = 0;
    while let Some(c) = p.next_chunk().await {
        text.extend_from_slice(&c.unwrap());
        chunks += 1;
    }
    let text = String::from_utf8(text).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let end: ExportEnd = serde_json::from_str(lines.pop().unwrap()).unwrap();
    let events = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (events, end, chunks)
}

#[tokio::test]
async fn pages_through_the_whole_log_and_every_line_verifies() {
    let n = MAX_AUDIT_LIMIT as usize * 2 + 5;
    let store = store_with(n).await;
    let f = AuditFilter {
        after_seq: Some(0),
        limit: MAX_AUDIT_LIMIT,
        ..AuditFilter::default()
    };
    let (events, end, chunks) = collect(pages(store, f, None)).await;
    assert_eq!(chunks, 3, "one chunk per store page");
    assert_eq!(events.len(), n);
    assert_eq!(end.events, n as u64);
    assert_eq!(end.last_seq, Some(n as i64));
    assert_eq!(events[0].prev_hash, GENESIS_HASH);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1);
        assert!(e.hash_is_valid(), "line of seq {}", e.seq);
        if i > 0 {
            assert_eq!(e.prev_hash, events[i - 1].hash);
        }
    }
    assert_eq!(end.last_hash.as_deref(), Some(events[n - 1].hash.as_str()));
}

#[tokio::test]
async fn company_filter_and_seq_bounds_are_kept() {
    let store = store_with(40).await;
    let f = AuditFilter {
        company_id: Some(2),
        after_seq: Some(9),
        limit: MAX_AUDIT_LIMIT,
        ..AuditFilter::default()
    };
    let (events, end, _) = collect(pages(store, f, Some(30))).await;
    assert!(events.iter().all(|e| e.company_id == Some(2)));
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (10..=30).filter(|s| s % 2 == 0).collect::<Vec<_>>());
    assert!(events.iter().all(ExportedEvent::hash_is_valid));
    assert_eq!(end.events, seqs.len() as u64);
}

#[tokio::test]
async fn event_lines_hold_exactly_the_hashed_fields_in_order() {
    let store = store_with(1).await;
    let f = AuditFilter {
        after_seq: Some(0),
        ..AuditFilter::default()
    };
    let mut p = pages(store, f, None);
    let text = String::from_utf8(p.next_chunk().await.unwrap().unwrap().to_vec()).unwrap();
    let line = text.lines().next().unwrap();
    assert!(
        line.starts_with(r#"{"seq":1,"at_ms":"#),
        "hashed order: {line}"
    );
    assert!(
        line.contains(r#""detail":{"i":0,"z":{"a":[1,"é\n"],"b":1}},"prev_hash":"0000"#),
        "canonical detail, raw UTF-8: {line}"
    );
    let back: ExportedEvent = serde_json::from_str(line).unwrap();
    assert!(back.hash_is_valid());
    assert_eq!(
        back.to_line(),
        line,
        "a read line is written back byte for byte"
    );
}

#[tokio::test]
async fn the_intact_prefix_is_found_below_the_break() {
    let store = store_with(50).await;
    // Nothing is broken here; every row below the "break" exists.
    assert_eq!(intact_prefix(store.as_ref(), 20).await.unwrap(), 19);
    assert_eq!(intact_prefix(store.as_ref(), 1).await.unwrap(), 0);
    assert_eq!(intact_prefix(store.as_ref(), 0).await.unwrap(), 0);
    // A break beyond the end: rows 1..=50 exist, 51..=99 do not.
    assert_eq!(intact_prefix(store.as_ref(), 100).await.unwrap(), 50);
}
