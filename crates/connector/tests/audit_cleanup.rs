//! Retention cleanup of the audit log: records older than the cutoff are removed, the log
//! starts with an `audit.cleaned` record and still verifies (and goes on verifying as the
//! writer appends, across a reopen and a second cleanup); an edited cleaned log does not.

mod common;

use common::TempDir;
use portcullis_connector::audit::{
    read_records, verify_file, verify_report, AuditAction, AuditError, AuditEvent, AuditLog,
    AuditRecord, GENESIS_HASH,
};
use serde_json::json;
use time::OffsetDateTime;

fn event(n: u64) -> AuditEvent {
    let mut e = AuditEvent::new(AuditAction::SessionRefused, "refused", json!({ "n": n }));
    e.principal = Some("engineer@vendor".into());
    e
}

/// Writes `n` records, then back-dates the first `old` of them to 2020 (the chain recomputed,
/// as if they had been written then).
fn log_with_old_records(path: &std::path::Path, n: u64, old: usize) {
    {
        let log = AuditLog::open(path).expect("open");
        for i in 0..n {
            log.record(event(i)).expect("write");
        }
    }
    let mut recs = read_records(path).expect("records");
    let mut prev = GENESIS_HASH.to_owned();
    let mut text = String::new();
    for (i, r) in recs.iter_mut().enumerate() {
        if i < old {
            r.at = format!(
                "2020-01-01T{:02}:{:02}:{:02}Z",
                i / 3600,
                i / 60 % 60,
                i % 60
            );
        }
        r.prev_hash = prev.clone();
        r.hash = r.compute_hash();
        prev = r.hash.clone();
        text.push_str(&serde_json::to_string(r).unwrap());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
    assert_eq!(verify_file(path).expect("the back-dated log verifies"), n);
}

fn cutoff() -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::days(30)
}

#[test]
fn a_cleaned_log_starts_with_its_record_and_verifies_and_goes_on() {
    let dir = TempDir::new("audit-cleanup");
    let path = dir.path().join("audit.log");
    log_with_old_records(&path, 6, 4);
    let before = read_records(&path).unwrap();
    let log = AuditLog::open(&path).expect("open");

    let c = log.cleanup(cutoff(), "alice", "ui").expect("cleanup");
    assert_eq!(c.removed, 4);
    assert_eq!(c.from.as_deref(), Some("2020-01-01T00:00:00Z"));
    assert_eq!(c.to.as_deref(), Some("2020-01-01T00:00:03Z"));
    assert_eq!(c.continues_from.as_deref(), Some(before[3].hash.as_str()));
    let after = read_records(&path).unwrap();
    assert_eq!(after.len(), 3, "the header and the two kept records");
    let head: &AuditRecord = &after[0];
    assert_eq!(head.action, "audit.cleaned");
    assert_eq!(head.detail["removed"], 4);
    assert_eq!(head.detail["by"], "alice");
    assert_eq!(head.detail["continues_from"], before[3].hash.as_str());
    assert_eq!(after[1], before[4], "kept records are kept as they were");
    let v = verify_report(&path).expect("a cleaned log verifies");
    assert_eq!(v.records, 3);
    assert!(v.cleaned.is_some());

    // The writer goes on in the new file, and so does a reopened log.
    log.record(event(6)).expect("write after the cleanup");
    drop(log);
    let log = AuditLog::open(&path).expect("reopen");
    let r = log.record(event(7)).expect("write after a reopen");
    assert_eq!(r.seq, 7);
    assert_eq!(verify_file(&path).expect("still verifies"), 5);

    // Nothing older: nothing changes.
    let same = std::fs::read(&path).unwrap();
    assert_eq!(log.cleanup(cutoff(), "alice", "ui").unwrap().removed, 0);
    assert_eq!(std::fs::read(&path).unwrap(), same);

    // Everything older: the log is its header alone, and the chain still goes on.
    let all = log
        .cleanup(
            OffsetDateTime::now_utc() + time::Duration::days(1),
            "bob",
            "api",
        )
        .expect("cleanup of all");
    assert_eq!(all.removed, 4, "the old header is replaced, not counted");
    let recs = read_records(&path).unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].detail["removed_before"], 4);
    drop(log);
    let log = AuditLog::open(&path).expect("reopen a header-only log");
    assert_eq!(log.record(event(8)).unwrap().seq, 8);
    assert_eq!(verify_file(&path).expect("verifies"), 2);
}

#[test]
fn an_edited_cleaned_log_does_not_verify() {
    let dir = TempDir::new("audit-cleanup-edit");
    let path = dir.path().join("audit.log");
    log_with_old_records(&path, 5, 2);
    let log = AuditLog::open(&path).expect("open");
    assert_eq!(log.cleanup(cutoff(), "alice", "ui").unwrap().removed, 2);
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = |t: &str| {
        matches!(
            verify_file_text(&dir, t),
            Err(AuditError::ChainBroken { .. })
        )
    };

    // The header's count changed.
    assert!(broken(&text.replacen("\"removed\":2", "\"removed\":1", 1)));
    // A kept record changed.
    assert!(broken(&text.replacen("\"n\":3", "\"n\":9", 1)));
    // A kept record removed after the header.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    assert!(broken(&(lines.join("\n") + "\n")));
    // A header in the middle of a log is no header.
    let lines: Vec<&str> = text.lines().collect();
    let moved = format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2]);
    assert!(verify_file_text(&dir, &moved).is_err());
}

fn verify_file_text(dir: &TempDir, text: &str) -> Result<u64, AuditError> {
    let p = dir.path().join("edited.log");
    std::fs::write(&p, text).unwrap();
    verify_file(&p)
}

#[test]
fn records_written_while_the_cleanup_runs_are_kept_and_chained() {
    let dir = TempDir::new("audit-cleanup-race");
    let path = dir.path().join("audit.log");
    // Large enough that the copy takes a while: the writer keeps writing meanwhile.
    log_with_old_records(&path, 20_000, 10_000);
    let log = std::sync::Arc::new(AuditLog::open(&path).expect("open"));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (log, done) = (log.clone(), done.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || n < 10 {
                log.record(event(100_000 + n))
                    .expect("write during the cleanup");
                n += 1;
            }
            n
        })
    };
    let c = log.cleanup(cutoff(), "alice", "ui").expect("cleanup");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert_eq!(c.removed, 10_000);
    // The header, the 10 000 kept records and every record written meanwhile, in one chain.
    let total = verify_file(&path).expect("verifies");
    assert_eq!(total, 1 + 10_000 + written);
    let ns: Vec<u64> = read_records(&path)
        .unwrap()
        .iter()
        .filter_map(|r| r.detail["n"].as_u64())
        .filter(|n| *n >= 100_000)
        .collect();
    assert_eq!(ns, (100_000..100_000 + written).collect::<Vec<_>>());
}
