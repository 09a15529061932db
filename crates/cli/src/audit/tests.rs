//! The offline verifier against exports built here with the store's own hash rule.

use super::*;
use portcullis_hub::api::audit::{ExportEnd, ExportedEvent};
use portcullis_store::{audit_hash, GENESIS_HASH};
use serde_json::json;

/// `n` chained events; odd seqs belong to company 1, even ones to company 2.
fn chain(n: i64) -> Vec<ExportedEvent> {
    let mut prev = GENESIS_HASH.to_string();
    (1..=n)
        .map(|seq| {
            let mut e = ExportedEvent {
                seq,
                at_ms: 1_700_000_000_000 + seq,
                company_id: Some(if seq % 2 == 1 { 1 } else { 2 }),
                actor: format!("token:bot#{seq}"),
                action: if seq % 3 == 0 {
                    "session.end"
                } else {
                    "token.created"
                }
                .into(),
                target: "t".into(),
                outcome: "ok".into(),
                detail: json!({"seq": seq, "note": "ü\n"}),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = rehash(&e);
            prev = e.hash.clone();
            e
        })
        .collect()
}

fn rehash(e: &ExportedEvent) -> String {
    audit_hash(&e.prev_hash, &e.hash_input())
}

fn header(company_id: Option<i64>) -> String {
    serde_json::to_string(&json!({
        "portcullis_audit_export": 1,
        "hub": "hub.example",
        "hub_ca_fingerprint": "ab",
        "hub_version": "0.1.0",
        "exported_at": "2026-01-01T00:00:00Z",
        "exported_by": "token:admin#1",
        "filter": {"company_id": company_id, "from_seq": 1},
    }))
    .unwrap()
}

fn end(events: &[ExportedEvent]) -> String {
    serde_json::to_string(&ExportEnd {
        portcullis_audit_export_end: 1,
        events: events.len() as u64,
        last_seq: events.last().map(|e| e.seq),
        last_hash: events.last().map(|e| e.hash.clone()),
    })
    .unwrap()
}

/// Header, event lines, end line.
fn export_of(company_id: Option<i64>, events: &[ExportedEvent]) -> Vec<String> {
    let mut lines = vec![header(company_id)];
    lines.extend(events.iter().map(ExportedEvent::to_line));
    lines.push(end(events));
    lines
}

fn check(lines: &[String]) -> Result<ExportSummary, BadLine> {
    verify_export(std::io::Cursor::new(lines.join("\n") + "\n"))
}

fn problem_at(lines: &[String]) -> (u64, Option<i64>, Problem) {
    let b = check(lines).expect_err("verification fails");
    (b.line, b.seq, b.problem)
}

#[test]
fn an_untouched_export_verifies_every_hash_and_link() {
    let s = check(&export_of(None, &chain(10))).unwrap();
    assert_eq!(s.events, 10);
    assert_eq!((s.first_seq, s.last_seq), (Some(1), Some(10)));
    assert_eq!(s.links_checked, 10, "seq 1 against genesis, then 9 links");
    assert_eq!(s.gaps, 0);
    assert!(s.complete);
}

#[test]
fn an_edited_event_is_named_with_its_line_and_seq() {
    let mut events = chain(10);
    events[4].actor = "token:someone-else#5".into();
    let (line, seq, p) = problem_at(&export_of(None, &events));
    assert_eq!((line, seq, p), (6, Some(5), Problem::HashMismatch));
}

#[test]
fn an_edited_and_rehashed_event_breaks_the_next_link() {
    let mut events = chain(10);
    events[4].detail = json!({"forged": true});
    events[4].hash = rehash(&events[4]);
    let (line, seq, p) = problem_at(&export_of(None, &events));
    assert_eq!(
        (line, seq, p),
        (7, Some(6), Problem::BrokenLink { previous: 5 })
    );
}

#[test]
fn a_deleted_line_of_an_unfiltered_export_is_missing_events() {
    let mut events = chain(10);
    events.remove(3);
    let (line, seq, p) = problem_at(&export_of(None, &events));
    assert_eq!(
        (line, seq, p),
        (5, Some(5), Problem::MissingEvents { from: 4, to: 4 })
    );
    // Without a header nothing says the export was whole: the gap is only unverifiable.
    let bare: Vec<String> = events.iter().map(ExportedEvent::to_line).collect();
    let s = check(&bare).unwrap();
    assert_eq!((s.events, s.gaps, s.complete), (9, 1, false));
}

#[test]
fn reordered_or_repeated_lines_are_out_of_order() {
    // In a whole export, seq 3 right after seq 1 already shows seq 2 missing there.
    let mut lines = export_of(None, &chain(5));
    lines.swap(2, 3);
    assert_eq!(
        problem_at(&lines),
        (3, Some(3), Problem::MissingEvents { from: 2, to: 2 })
    );
    // Bare lines allow gaps, not a step back.
    let mut bare: Vec<String> = chain(5).iter().map(ExportedEvent::to_line).collect();
    bare.swap(1, 2);
    assert_eq!(
        problem_at(&bare),
        (3, Some(2), Problem::SeqOutOfOrder { previous: 3 })
    );
    let mut lines = export_of(None, &chain(5));
    lines.insert(3, lines[2].clone());
    assert_eq!(
        problem_at(&lines),
        (4, Some(2), Problem::SeqOutOfOrder { previous: 2 })
    );
}

#[test]
fn garbage_unknown_fields_and_reformatting_are_refused() {
    let mut lines = export_of(None, &chain(3));
    lines[2] = "{not json".into();
    assert!(matches!(problem_at(&lines), (3, None, Problem::NotJson(_))));

    let mut lines = export_of(None, &chain(3));
    lines[2] = lines[2].replacen('{', r#"{"extra":1,"#, 1);
    assert!(matches!(
        problem_at(&lines),
        (3, Some(2), Problem::NotAnEvent(_))
    ));

    let mut lines = export_of(None, &chain(3));
    lines[2] = lines[2].replacen(r#""outcome":"ok""#, r#""outcome":"ok","outcome":"ok""#, 1);
    assert!(matches!(
        problem_at(&lines),
        (3, Some(2), Problem::NotAnEvent(_))
    ));

    let mut lines = export_of(None, &chain(3));
    lines[2] = lines[2].replacen(r#""seq":2,"#, r#""seq": 2,"#, 1);
    assert_eq!(problem_at(&lines), (3, Some(2), Problem::NotCanonical));

    let mut lines = export_of(None, &chain(3));
    lines[2] = lines[2].replace('ü', r"\u00fc");
    assert_eq!(problem_at(&lines), (3, Some(2), Problem::NotCanonical));
}

#[test]
fn a_cut_short_export_is_incomplete() {
    let mut lines = export_of(None, &chain(5));
    lines.pop();
    lines.pop();
    assert_eq!(problem_at(&lines), (6, None, Problem::Truncated));

    // An end line that does not agree with the events.
    let mut lines = export_of(None, &chain(5));
    lines.remove(5);
    assert!(matches!(problem_at(&lines), (6, None, Problem::BadEnd(_))));

    let mut lines = export_of(None, &chain(2));
    lines.push(chain(3)[2].to_line());
    assert_eq!(problem_at(&lines), (5, None, Problem::AfterEnd));
}

#[test]
fn seq_one_must_start_from_genesis() {
    let mut events = chain(2);
    events[0].prev_hash = "1".repeat(64);
    events[0].hash = rehash(&events[0]);
    let (line, seq, p) = problem_at(&export_of(None, &events[..1]));
    assert_eq!((line, seq, p), (2, Some(1), Problem::NotGenesis));
}

#[test]
fn a_company_export_checks_hashes_and_the_links_it_can() {
    let all = chain(9);
    let mine: Vec<ExportedEvent> = all
        .iter()
        .filter(|e| e.company_id == Some(2))
        .cloned()
        .collect();
    let s = check(&export_of(Some(2), &mine)).unwrap();
    assert_eq!(s.events, 4);
    assert_eq!((s.links_checked, s.gaps), (0, 3));
    // Another company's event inside it is refused.
    let mut mixed = mine.clone();
    mixed.insert(1, all[2].clone());
    let (line, seq, p) = problem_at(&export_of(Some(2), &mixed));
    assert_eq!((line, seq), (3, Some(3)));
    assert!(matches!(p, Problem::OutsideFilter(_)), "{p}");
    // An edited event is still caught by its own hash.
    let mut edited = mine;
    edited[2].outcome = "denied".into();
    assert_eq!(
        problem_at(&export_of(Some(2), &edited)),
        (4, Some(6), Problem::HashMismatch)
    );
}

#[test]
fn messages_name_line_seq_and_reason() {
    let b = BadLine {
        line: 7,
        seq: Some(6),
        problem: Problem::HashMismatch,
    };
    assert!(
        b.to_string().starts_with("line 7 (seq 6): hash mismatch"),
        "{b}"
    );
    assert_eq!(b.problem.code(), "hash_mismatch");
}

#[test]
fn list_queries_escape_their_values() {
    assert_eq!(
        list_query(Some("a b"), Some("session."), Some(5), 10).to_query(),
        "?company=a%20b&action=session.&after=5&limit=10"
    );
}
