//! Connectors, their certificates, and enrollment tokens.

use time::{Duration, OffsetDateTime};

use super::{assert_recent, ms, Run};
use portcullis_domain::secret::Secret;

use crate::{Connector, EnrollmentToken, Id, NewEnrollmentToken, Store, StoreError};

/// A fingerprint-shaped string unique to this run and `n`, in upper case so that the
/// store's lower-casing is exercised.
fn fingerprint(run: &Run, n: u8) -> String {
    format!("{:02X}{}", n, run.tag.to_uppercase()).repeat(2)
}

pub(super) async fn connectors(store: &dyn Store, run: &Run) {
    let c = store.create_company(&run.name("conn-co")).await.unwrap();
    let other = store.create_company(&run.name("conn-other")).await.unwrap();

    let berlin = store.create_connector(c.id, "berlin").await.unwrap();
    assert!(berlin.id > 0);
    assert_eq!(
        (berlin.company_id, berlin.location.as_str()),
        (c.id, "berlin")
    );
    assert_eq!(berlin.cert_fingerprint, None);
    assert_eq!(berlin.cert_not_after, None);
    assert_eq!(berlin.enrolled_at, None);
    assert_eq!(berlin.revoked_at, None);
    assert_eq!(berlin.last_version, None);
    assert_eq!(berlin.last_seen, None);
    assert_recent(berlin.created_at, "connector.created_at");

    match store.create_connector(c.id, "berlin").await {
        Err(StoreError::Conflict(_)) => {}
        res => panic!("duplicate location: expected Conflict, got {res:?}"),
    }
    match store.create_connector(i64::MAX, "berlin").await {
        Err(StoreError::NotFound("company")) => {}
        res => panic!("unknown company: expected NotFound(company), got {res:?}"),
    }
    // Locations are unique per company only.
    let other_berlin = store.create_connector(other.id, "berlin").await.unwrap();
    let munich = store.create_connector(c.id, "munich").await.unwrap();

    assert_eq!(
        store.get_connector(berlin.id).await.unwrap(),
        Some(berlin.clone())
    );
    assert_eq!(store.get_connector(i64::MAX).await.unwrap(), None);
    assert_eq!(
        store.find_connector(c.id, "berlin").await.unwrap(),
        Some(berlin.clone())
    );
    assert_eq!(
        store.find_connector(other.id, "berlin").await.unwrap(),
        Some(other_berlin.clone())
    );
    assert_eq!(store.find_connector(c.id, "nowhere").await.unwrap(), None);
    assert_eq!(
        store.list_connectors(Some(c.id)).await.unwrap(),
        vec![berlin.clone(), munich.clone()]
    );
    let all = store.list_connectors(None).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
    let ours: Vec<_> = all
        .into_iter()
        .filter(|x| x.company_id == c.id || x.company_id == other.id)
        .collect();
    assert_eq!(ours, vec![berlin.clone(), other_berlin, munich.clone()]);

    // touch_connector records version and time and nothing else.
    let seen = run.now + Duration::seconds(3);
    store
        .touch_connector(berlin.id, "1.2.3", seen)
        .await
        .unwrap();
    let touched = store.get_connector(berlin.id).await.unwrap().unwrap();
    assert_eq!(
        touched,
        Connector {
            last_version: Some("1.2.3".into()),
            last_seen: Some(ms(seen)),
            ..berlin.clone()
        }
    );
    match store.touch_connector(i64::MAX, "1.2.3", seen).await {
        Err(StoreError::NotFound("connector")) => {}
        res => panic!("touch unknown: expected NotFound(connector), got {res:?}"),
    }

    // Revocation.
    let at = run.now + Duration::minutes(1);
    assert!(store.revoke_connector(munich.id, at).await.unwrap());
    assert!(!store
        .revoke_connector(munich.id, at + Duration::hours(1))
        .await
        .unwrap());
    assert!(!store.revoke_connector(i64::MAX, at).await.unwrap());
    let revoked = store.get_connector(munich.id).await.unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(ms(at)),
        "first revocation time kept"
    );
}

pub(super) async fn certificates(store: &dyn Store, run: &Run) {
    let c = store.create_company(&run.name("cert-co")).await.unwrap();
    let one = store.create_connector(c.id, "one").await.unwrap();
    let two = store.create_connector(c.id, "two").await.unwrap();
    let fp1 = fingerprint(run, 1);
    let not_after = run.now + Duration::days(30);

    assert_eq!(
        store.find_connector_by_fingerprint(&fp1).await.unwrap(),
        None
    );
    store
        .set_connector_certificate(one.id, &fp1, not_after)
        .await
        .unwrap();
    let enrolled = store.get_connector(one.id).await.unwrap().unwrap();
    assert_eq!(enrolled.cert_fingerprint, Some(fp1.to_lowercase()));
    assert_eq!(enrolled.cert_not_after, Some(ms(not_after)));
    let enrolled_at = enrolled
        .enrolled_at
        .expect("first certificate sets enrolled_at");
    assert_recent(enrolled_at, "connector.enrolled_at");
    for probe in [fp1.clone(), fp1.to_lowercase()] {
        assert_eq!(
            store.find_connector_by_fingerprint(&probe).await.unwrap(),
            Some(enrolled.clone()),
            "fingerprint lookup is case-insensitive"
        );
    }

    // Another connector cannot take the same certificate.
    match store
        .set_connector_certificate(two.id, &fp1.to_lowercase(), not_after)
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        res => panic!("shared fingerprint: expected Conflict, got {res:?}"),
    }
    match store
        .set_connector_certificate(i64::MAX, &fingerprint(run, 9), not_after)
        .await
    {
        Err(StoreError::NotFound("connector")) => {}
        res => panic!("certificate for unknown connector: expected NotFound, got {res:?}"),
    }

    // Renewal replaces the fingerprint and keeps the first enrollment time.
    let fp2 = fingerprint(run, 2);
    let later = not_after + Duration::days(30);
    store
        .set_connector_certificate(one.id, &fp2, later)
        .await
        .unwrap();
    let renewed = store.get_connector(one.id).await.unwrap().unwrap();
    assert_eq!(renewed.cert_fingerprint, Some(fp2.to_lowercase()));
    assert_eq!(renewed.cert_not_after, Some(ms(later)));
    assert_eq!(renewed.enrolled_at, Some(enrolled_at));
    assert_eq!(
        store.find_connector_by_fingerprint(&fp1).await.unwrap(),
        None
    );
    // The freed fingerprint may now go to the other connector.
    store
        .set_connector_certificate(two.id, &fp1, not_after)
        .await
        .unwrap();

    // A revoked connector is still found by its certificate (so the hub can log who was
    // refused) but cannot get a new one.
    assert!(store.revoke_connector(one.id, run.now).await.unwrap());
    let found = store
        .find_connector_by_fingerprint(&fp2)
        .await
        .unwrap()
        .expect("revoked connector still found");
    assert_eq!(found.revoked_at, Some(ms(run.now)));
    match store
        .set_connector_certificate(one.id, &fingerprint(run, 3), later)
        .await
    {
        Err(StoreError::Revoked("connector")) => {}
        res => panic!("certificate for revoked connector: expected Revoked, got {res:?}"),
    }
    let unchanged = store.get_connector(one.id).await.unwrap().unwrap();
    assert_eq!(unchanged.cert_fingerprint, Some(fp2.to_lowercase()));
}

fn new_token(
    run: &Run,
    connector_id: Id,
    n: &str,
    expires_at: OffsetDateTime,
) -> NewEnrollmentToken {
    NewEnrollmentToken {
        connector_id,
        public_id: run.name(&format!("enroll-{n}")),
        secret_hash: Secret::new(vec![0xab; 32]),
        expires_at,
    }
}

#[track_caller]
fn expect_err(res: Result<EnrollmentToken, StoreError>, want: &str) {
    let got = match &res {
        Err(StoreError::NotFound("enrollment token")) => "NotFound",
        Err(StoreError::Expired) => "Expired",
        Err(StoreError::AlreadyUsed) => "AlreadyUsed",
        Err(StoreError::Revoked("connector")) => "Revoked",
        _ => "",
    };
    assert_eq!(got, want, "consume_enrollment_token returned {res:?}");
}

pub(super) async fn enrollment(store: &dyn Store, run: &Run) {
    let c = store.create_company(&run.name("enroll-co")).await.unwrap();
    let conn = store.create_connector(c.id, "plant").await.unwrap();
    let now = run.now;
    let expires = now + Duration::minutes(10);

    let new = new_token(run, conn.id, "main", expires);
    let tok = store.create_enrollment_token(new.clone()).await.unwrap();
    assert!(tok.id > 0);
    assert_eq!(tok.connector_id, conn.id);
    assert_eq!(tok.public_id, new.public_id);
    assert_eq!(tok.secret_hash, new.secret_hash);
    assert_eq!(tok.expires_at, ms(expires));
    assert_eq!(tok.used_at, None);
    assert_recent(tok.created_at, "enrollment_token.created_at");

    match store.create_enrollment_token(new.clone()).await {
        Err(StoreError::Conflict(_)) => {}
        res => panic!("duplicate enrollment public_id: expected Conflict, got {res:?}"),
    }
    match store
        .create_enrollment_token(new_token(run, i64::MAX, "orphan", expires))
        .await
    {
        Err(StoreError::NotFound("connector")) => {}
        res => panic!("token for unknown connector: expected NotFound, got {res:?}"),
    }

    expect_err(
        store
            .consume_enrollment_token(&run.name("enroll-none"), now)
            .await,
        "NotFound",
    );
    assert_eq!(
        store
            .find_enrollment_token(&run.name("enroll-none"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.find_enrollment_token(&tok.public_id).await.unwrap(),
        Some(tok.clone()),
        "find_enrollment_token returns the unused token"
    );
    // Expiry is exclusive: at `expires_at` the token is already dead. A failed attempt
    // leaves the token usable.
    expect_err(
        store
            .consume_enrollment_token(&tok.public_id, expires)
            .await,
        "Expired",
    );
    expect_err(
        store
            .consume_enrollment_token(&tok.public_id, expires + Duration::days(1))
            .await,
        "Expired",
    );
    let used = store
        .consume_enrollment_token(&tok.public_id, now)
        .await
        .unwrap();
    assert_eq!(
        used,
        EnrollmentToken {
            used_at: Some(ms(now)),
            ..tok.clone()
        }
    );
    expect_err(
        store.consume_enrollment_token(&tok.public_id, now).await,
        "AlreadyUsed",
    );
    assert_eq!(
        store
            .find_enrollment_token(&tok.public_id)
            .await
            .unwrap()
            .and_then(|t| t.used_at),
        Some(ms(now)),
        "find_enrollment_token shows the token as used"
    );
    // "Used" wins over "expired": a replay after expiry is still reported as a replay.
    expect_err(
        store
            .consume_enrollment_token(&tok.public_id, expires + Duration::days(1))
            .await,
        "AlreadyUsed",
    );

    // Revoking the connector kills its tokens and blocks new ones.
    let doomed = store
        .create_enrollment_token(new_token(run, conn.id, "doomed", expires))
        .await
        .unwrap();
    assert!(store.revoke_connector(conn.id, now).await.unwrap());
    expect_err(
        store.consume_enrollment_token(&doomed.public_id, now).await,
        "Revoked",
    );
    match store
        .create_enrollment_token(new_token(run, conn.id, "late", expires))
        .await
    {
        Err(StoreError::Revoked("connector")) => {}
        res => panic!("token for revoked connector: expected Revoked, got {res:?}"),
    }
}

/// Two consumers racing for one token: exactly one wins.
pub(super) async fn concurrent_consume(store: &dyn Store, run: &Run) {
    let c = store.create_company(&run.name("race-co")).await.unwrap();
    let conn = store.create_connector(c.id, "race").await.unwrap();
    for round in 0..8 {
        let tok = store
            .create_enrollment_token(new_token(
                run,
                conn.id,
                &format!("race-{round}"),
                run.now + Duration::minutes(5),
            ))
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            store.consume_enrollment_token(&tok.public_id, run.now),
            store.consume_enrollment_token(&tok.public_id, run.now),
        );
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        let replays = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(StoreError::AlreadyUsed)))
            .count();
        assert_eq!((wins, replays), (1, 1), "round {round}: {a:?} / {b:?}");
    }
}
