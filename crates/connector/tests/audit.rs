//! The audit log's hash chain: resumption, and tampering detected where it happened.

mod common;

use common::TempDir;
use portcullis_connector::audit::{
    read_records, verify_file, AuditAction, AuditError, AuditEvent, AuditLog, GENESIS_HASH,
};
use serde_json::json;

fn event(n: u64) -> AuditEvent {
    let mut e = AuditEvent::new(
        AuditAction::SessionRefused,
        "refused",
        json!({ "n": n, "why": "test \"quoted\" ünïcode" }),
    );
    e.session_id = Some(format!("s-{n}"));
    e.principal = Some("engineer@vendor".into());
    e.target = Some("db.internal:5432".into());
    e
}

#[test]
fn chain_resumes_across_reopen_and_verifies() {
    let dir = TempDir::new("audit");
    let path = dir.path().join("sub").join("audit.log");
    {
        let log = AuditLog::open(&path).expect("open");
        let first = log.record(event(0)).expect("write");
        assert_eq!(first.seq, 0);
        assert_eq!(first.prev_hash, GENESIS_HASH);
        assert_eq!(first.hash, first.compute_hash());
        log.record(event(1)).expect("write");
    }
    {
        let log = AuditLog::open(&path).expect("reopen");
        let third = log.record(event(2)).expect("write");
        assert_eq!(third.seq, 2, "the sequence continues");
    }
    assert_eq!(verify_file(&path).expect("verifies"), 3);
    let recs = read_records(&path).expect("records");
    assert_eq!(recs[2].prev_hash, recs[1].hash);
    assert_eq!(recs[0].action, "session.refused");
    assert_eq!(recs[0].detail["why"], "test \"quoted\" ünïcode");
    // Every line is one JSON object with the documented fields, hash last.
    let text = std::fs::read_to_string(&path).expect("read");
    let line = text.lines().next().expect("a line");
    assert!(line.starts_with("{\"seq\":0,\"at\":\""), "{line}");
    assert!(
        line.contains("\"prev_hash\":\"") && line.ends_with("\"}"),
        "{line}"
    );
}

#[test]
fn edits_deletions_and_torn_lines_are_detected() {
    let dir = TempDir::new("audit-tamper");
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path).expect("open");
    for n in 0..4 {
        log.record(event(n)).expect("write");
    }
    drop(log);
    let original = std::fs::read_to_string(&path).expect("read");

    // An edited field.
    std::fs::write(
        &path,
        original.replacen("engineer@vendor", "someone@else", 1),
    )
    .expect("w");
    assert!(
        matches!(
            verify_file(&path),
            Err(AuditError::ChainBroken { line: 1, .. })
        ),
        "{:?}",
        verify_file(&path)
    );

    // A removed line.
    let without_second: Vec<&str> = original
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&path, without_second.join("\n") + "\n").expect("w");
    assert!(
        matches!(
            verify_file(&path),
            Err(AuditError::ChainBroken { line: 2, .. })
        ),
        "{:?}",
        verify_file(&path)
    );

    // A torn last line: verification fails, and the log refuses to continue the chain.
    std::fs::write(&path, format!("{original}{{\"seq\":4,\"at\"")).expect("w");
    assert!(matches!(
        verify_file(&path),
        Err(AuditError::Corrupt { line: 5, .. })
    ));
    assert!(matches!(
        AuditLog::open(&path),
        Err(AuditError::Corrupt { .. })
    ));

    // The original verifies.
    std::fs::write(&path, &original).expect("w");
    assert_eq!(verify_file(&path).expect("verifies"), 4);
}
