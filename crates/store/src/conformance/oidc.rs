//! A company's OpenID Connect settings: stored whole, replaced whole, removed, and gone with
//! their company's transaction when it rolls back.

use super::{ms, Run};
use crate::{OidcConfig, Store, StoreError};

pub(super) async fn company_oidc(store: &dyn Store, run: &Run) {
    let a = store.create_company(&run.name("oidc-a")).await.unwrap();
    let b = store.create_company(&run.name("oidc-b")).await.unwrap();
    assert_eq!(store.company_oidc(a.id).await.unwrap(), None);

    let first = OidcConfig {
        company_id: a.id,
        issuer: "https://idp.example.test/realms/a".into(),
        client_id: "portcullis".into(),
        client_secret_sealed: vec![1, 2, 3, 0, 255].into(),
        user_claim: "preferred_username".into(),
        extra_ca_pem: None,
        enabled: true,
        updated_at: run.now,
    };
    let mut tx = store.begin().await.unwrap();
    tx.put_company_oidc(&first).await.unwrap();
    tx.commit().await.unwrap();
    let stored = store.company_oidc(a.id).await.unwrap().expect("stored");
    assert_eq!(
        stored,
        OidcConfig {
            updated_at: ms(run.now),
            ..first.clone()
        }
    );
    assert_eq!(
        store.company_oidc(b.id).await.unwrap(),
        None,
        "one company's settings are not another's"
    );

    // A second put replaces every field, the absent CA included.
    let second = OidcConfig {
        issuer: "https://login.example.test".into(),
        client_id: "hub-2".into(),
        client_secret_sealed: vec![9; 40].into(),
        user_claim: "email".into(),
        extra_ca_pem: Some("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".into()),
        enabled: false,
        updated_at: run.now + time::Duration::seconds(5),
        ..first.clone()
    };
    let mut tx = store.begin().await.unwrap();
    tx.put_company_oidc(&second).await.unwrap();
    tx.commit().await.unwrap();
    let stored = store.company_oidc(a.id).await.unwrap().unwrap();
    assert_eq!(stored.updated_at, ms(second.updated_at));
    assert_eq!(
        stored,
        OidcConfig {
            updated_at: stored.updated_at,
            ..second.clone()
        }
    );
    let mut tx = store.begin().await.unwrap();
    tx.put_company_oidc(&OidcConfig {
        extra_ca_pem: None,
        ..second.clone()
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store
            .company_oidc(a.id)
            .await
            .unwrap()
            .unwrap()
            .extra_ca_pem,
        None
    );

    // A rolled-back put leaves the settings as they were.
    let mut tx = store.begin().await.unwrap();
    tx.put_company_oidc(&first).await.unwrap();
    drop(tx);
    assert_eq!(
        store.company_oidc(a.id).await.unwrap().unwrap().client_id,
        "hub-2"
    );

    // An unknown company.
    let mut tx = store.begin().await.unwrap();
    match tx
        .put_company_oidc(&OidcConfig {
            company_id: i64::MAX,
            ..first.clone()
        })
        .await
    {
        Err(StoreError::NotFound("company")) => {}
        other => panic!("settings of an unknown company: expected NotFound, got {other:?}"),
    }
    drop(tx);

    // Removal, once.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_company_oidc(a.id).await.unwrap());
    assert!(!tx.delete_company_oidc(a.id).await.unwrap());
    assert!(!tx.delete_company_oidc(b.id).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.company_oidc(a.id).await.unwrap(), None);
}
