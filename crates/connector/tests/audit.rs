//! The audit log's hash chain: resumption, and tampering detected where it happened.

mod common;

use common::TempDir;
use portcullis_connector::audit::{
    read_records, set_aside_matches, verify_file, verify_report, AuditAction, AuditError,
    AuditEvent, AuditLog, GENESIS_HASH,
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

    // A torn last line is told from an edit; opening the log sets it aside (see below).
    std::fs::write(&path, format!("{original}{{\"seq\":4,\"at\"")).expect("w");
    assert!(
        matches!(
            verify_file(&path),
            Err(AuditError::TornTail {
                line: 5,
                bytes: 13,
                records: 4,
                ..
            })
        ),
        "{:?}",
        verify_file(&path)
    );
    // An edited record before a torn tail is still an edit.
    std::fs::write(
        &path,
        format!(
            "{}{{\"seq\":4,\"at\"",
            original.replacen("engineer@vendor", "someone@else", 1)
        ),
    )
    .expect("w");
    assert!(matches!(
        verify_file(&path),
        Err(AuditError::ChainBroken { line: 1, .. })
    ));

    // The original verifies.
    std::fs::write(&path, &original).expect("w");
    assert_eq!(verify_file(&path).expect("verifies"), 4);
}

fn four_records(dir: &TempDir) -> (std::path::PathBuf, String) {
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path).expect("open");
    for n in 0..4 {
        log.record(event(n)).expect("write");
    }
    drop(log);
    let text = std::fs::read_to_string(&path).expect("read");
    (path, text)
}

/// The files `audit.log.torn-*` beside the log.
fn set_aside(dir: &TempDir) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains("audit.log.torn-"))
        .collect()
}

#[test]
fn a_torn_tail_is_set_aside_at_open_and_the_chain_goes_on() {
    let dir = TempDir::new("audit-torn");
    let (path, original) = four_records(&dir);
    let half = "{\"seq\":4,\"at\":\"2026-12-07T";
    std::fs::write(&path, format!("{original}{half}")).expect("w");

    let log = AuditLog::open(&path).expect("a torn tail does not stop the log");
    let next = log.record(event(5)).expect("write");
    drop(log);
    assert_eq!(next.seq, 5, "seq 4 is the repair record");
    let v = verify_report(&path).expect("the repaired log verifies");
    assert_eq!(v.records, 6);
    assert_eq!(v.repairs.len(), 1);
    let rep = &v.repairs[0];
    assert_eq!(
        (rep.seq, rep.action.as_str(), rep.outcome.as_str()),
        (4, "audit.repaired", "repaired")
    );
    assert_eq!(rep.detail["bytes"], half.len());
    assert_eq!(rep.detail["offset"], original.len());
    // The bytes are kept, in a file of their own that only the owner reads.
    let aside = set_aside(&dir);
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read_to_string(&aside[0]).expect("read"), half);
    assert_eq!(
        rep.detail["file"],
        aside[0].file_name().unwrap().to_string_lossy().as_ref()
    );
    assert_eq!(set_aside_matches(&path, rep), Some(true));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&aside[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The records before it are untouched.
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.starts_with(&original));
}

#[test]
fn a_whole_last_line_that_does_not_verify_is_set_aside_but_damage_further_up_is_not() {
    let dir = TempDir::new("audit-bad-last");
    let (path, original) = four_records(&dir);
    let lines: Vec<&str> = original.lines().collect();
    // The last line complete but wrong (its hash does not match): everything before it
    // verifies, so it is a torn record, set aside.
    let mut bad_last = lines.clone();
    let forged = lines[3].replace("engineer@vendor", "someone@else");
    bad_last[3] = &forged;
    std::fs::write(&path, bad_last.join("\n") + "\n").expect("w");
    assert!(matches!(
        verify_file(&path),
        Err(AuditError::ChainBroken { line: 4, .. })
    ));
    drop(AuditLog::open(&path).expect("open"));
    let v = verify_report(&path).expect("verifies after the repair");
    assert_eq!((v.records, v.repairs.len()), (4, 1));
    assert_eq!(v.repairs[0].seq, 3);
    assert_eq!(
        std::fs::read_to_string(&set_aside(&dir)[0]).expect("read"),
        format!("{forged}\n")
    );

    // A torn tail behind an edit in the middle is not repaired: the log refuses to go on,
    // nothing is moved.
    let dir = TempDir::new("audit-bad-middle");
    let (path, original) = four_records(&dir);
    let edited = original.replacen("\"n\":1", "\"n\":7", 1);
    std::fs::write(&path, format!("{edited}{{\"seq\":4")).expect("w");
    assert!(matches!(
        AuditLog::open(&path),
        Err(AuditError::ChainBroken { line: 2, .. })
    ));
    assert!(set_aside(&dir).is_empty());
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        format!("{edited}{{\"seq\":4")
    );
}
