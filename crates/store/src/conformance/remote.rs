//! Users, systems, connection types, service connections, windows, grants, favourites.

use portcullis_domain::authz::{Authorization, Authorizations, Role};
use portcullis_domain::conntype::{catalogue, ConnProtocol, ConnTypeDef};
use portcullis_domain::system::{SystemData, SystemStatus, SystemType};
use time::Duration;

use super::{assert_recent, ms, Run};
use crate::{Id, NewServiceConnection, NewUser, Store, StoreError};

pub(super) fn system(sid: &str) -> SystemData {
    SystemData {
        sid: sid.into(),
        system_number: "00".into(),
        system_type: SystemType::Abap,
        product: "SAP S/4HANA".into(),
        product_version: "2023".into(),
        installation_number: "0020123456".into(),
        status: SystemStatus::Active,
        eu_data_protection: true,
        advanced_secure_support: false,
        allow_independent_opening: true,
        description: "ERP – production ✓".into(),
    }
}

pub(super) fn user(run: &Run, company_id: Option<Id>, name: &str, role: Role) -> NewUser {
    NewUser {
        company_id,
        name: run.name(name),
        display_name: name.into(),
        email: Some(format!("{name}@example.invalid")),
        role,
        authorizations: Authorizations::none(),
    }
}

/// Passwords (stored as a hash record per user) and the idle-time bookkeeping of tokens.
pub(super) async fn passwords(store: &dyn Store, run: &Run) {
    let a = store.create_company(&run.name("pw")).await.unwrap();
    let u = store
        .create_user(user(run, Some(a.id), "signer", Role::CompanyUser))
        .await
        .unwrap();
    assert_eq!(
        store.user_password(u.id).await.unwrap(),
        None,
        "none at first"
    );
    let rec = crate::PasswordRecord {
        hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
            .to_string()
            .into(),
        must_change: true,
    };
    let mut tx = store.begin().await.unwrap();
    tx.set_user_password(u.id, Some(&rec)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.user_password(u.id).await.unwrap(), Some(rec.clone()));
    let changed = crate::PasswordRecord {
        must_change: false,
        ..rec
    };
    let mut tx = store.begin().await.unwrap();
    tx.set_user_password(u.id, Some(&changed)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.user_password(u.id).await.unwrap(), Some(changed));
    // A rolled-back change leaves the record as it was.
    let mut tx = store.begin().await.unwrap();
    tx.set_user_password(u.id, None).await.unwrap();
    drop(tx);
    assert!(store.user_password(u.id).await.unwrap().is_some());
    let mut tx = store.begin().await.unwrap();
    match tx.set_user_password(i64::MAX, None).await {
        Err(StoreError::NotFound("user")) => {}
        other => panic!("password of an unknown user: expected NotFound, got {other:?}"),
    }
    drop(tx);
    assert_eq!(store.user_password(i64::MAX).await.unwrap(), None);

    // The second factor: a sealed secret, each step claimed once, forgotten with the secret.
    assert_eq!(store.user_totp(u.id).await.unwrap(), None);
    assert!(
        !store.claim_totp_step(u.id, 5).await.unwrap(),
        "no secret, no claim"
    );
    let mut tx = store.begin().await.unwrap();
    tx.set_user_totp(u.id, Some(&[9, 8, 7])).await.unwrap();
    tx.commit().await.unwrap();
    let rec = store.user_totp(u.id).await.unwrap().unwrap();
    assert_eq!(
        (rec.sealed.expose().as_slice(), rec.last_step),
        (&[9u8, 8, 7][..], None)
    );
    assert!(store.claim_totp_step(u.id, 100).await.unwrap());
    assert!(
        !store.claim_totp_step(u.id, 100).await.unwrap(),
        "the same step twice"
    );
    assert!(
        !store.claim_totp_step(u.id, 99).await.unwrap(),
        "an earlier step"
    );
    assert!(store.claim_totp_step(u.id, 101).await.unwrap());
    assert_eq!(
        store.user_totp(u.id).await.unwrap().unwrap().last_step,
        Some(101)
    );
    let mut tx = store.begin().await.unwrap();
    tx.set_user_totp(u.id, None).await.unwrap();
    let c = tx.set_company_require_totp(a.id, true).await.unwrap();
    tx.commit().await.unwrap();
    assert!(c.require_totp);
    assert!(store.get_company(a.id).await.unwrap().unwrap().require_totp);
    assert_eq!(store.user_totp(u.id).await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    match tx.set_company_require_totp(i64::MAX, true).await {
        Err(StoreError::NotFound("company")) => {}
        other => panic!("unknown company: expected NotFound, got {other:?}"),
    }
}

pub(super) async fn users(store: &dyn Store, run: &Run) {
    let a = store.create_company(&run.name("users-a")).await.unwrap();
    let mut new = user(run, Some(a.id), "opener", Role::CompanyUser);
    new.authorizations = [Authorization::OpenServiceConnections]
        .into_iter()
        .collect();
    let u = store.create_user(new.clone()).await.unwrap();
    assert_eq!(
        (u.company_id, &u.name, u.role, &u.authorizations, &u.email),
        (
            Some(a.id),
            &new.name,
            Role::CompanyUser,
            &new.authorizations,
            &new.email
        )
    );
    assert_recent(u.created_at, "user.created_at");
    assert_eq!(u.disabled_at, None);
    assert_eq!(store.get_user(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(
        store.find_user_by_name(&new.name).await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(
        store
            .find_user_by_name(&new.name.to_uppercase())
            .await
            .unwrap(),
        None
    );
    match store.create_user(new.clone()).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("duplicate user name: expected Conflict, got {other:?}"),
    }
    match store
        .create_user(user(run, Some(i64::MAX), "orphan", Role::CompanyUser))
        .await
    {
        Err(StoreError::NotFound("company")) => {}
        other => panic!("user of unknown company: expected NotFound, got {other:?}"),
    }
    let eng = store
        .create_user(user(run, None, "engineer", Role::SupportEngineer))
        .await
        .unwrap();
    assert_eq!(store.list_users(Some(a.id)).await.unwrap(), vec![u.clone()]);
    let vendor = store.list_users(None).await.unwrap();
    assert!(
        vendor.contains(&eng) && !vendor.contains(&u),
        "None lists vendor users only"
    );

    let all = Authorizations::all();
    let changed = store.set_user_authorizations(u.id, &all).await.unwrap();
    assert_eq!(changed.authorizations, all);
    assert!(matches!(
        store.set_user_authorizations(i64::MAX, &all).await,
        Err(StoreError::NotFound("user"))
    ));
    let at = run.now + Duration::minutes(1);
    assert!(store.disable_user(u.id, at).await.unwrap());
    assert!(!store
        .disable_user(u.id, at + Duration::hours(1))
        .await
        .unwrap());
    assert_eq!(
        store.get_user(u.id).await.unwrap().unwrap().disabled_at,
        Some(ms(at))
    );
}

pub(super) async fn systems(store: &dyn Store, run: &Run) {
    let a = store.create_company(&run.name("sys-a")).await.unwrap();
    let b = store.create_company(&run.name("sys-b")).await.unwrap();
    let prd = store.create_system(a.id, &system("PRD")).await.unwrap();
    assert_eq!((prd.company_id, &prd.data), (a.id, &system("PRD")));
    assert_recent(prd.created_at, "system.created_at");
    assert_eq!(prd.created_at, prd.updated_at);
    // The same SID in another company is another system.
    let other = store.create_system(b.id, &system("PRD")).await.unwrap();
    match store.create_system(a.id, &system("PRD")).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("PRD"), "{m}"),
        other => panic!("duplicate SID: expected Conflict, got {other:?}"),
    }
    assert!(matches!(
        store.create_system(i64::MAX, &system("QAS")).await,
        Err(StoreError::NotFound("company"))
    ));
    assert_eq!(
        store.find_system(a.id, "PRD").await.unwrap(),
        Some(prd.clone())
    );
    assert_eq!(
        store.find_system(b.id, "PRD").await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(store.find_system(a.id, "QAS").await.unwrap(), None);
    let qas = store.create_system(a.id, &system("QAS")).await.unwrap();
    assert_eq!(
        store.list_systems(Some(a.id)).await.unwrap(),
        vec![prd.clone(), qas.clone()]
    );
    let all = store.list_systems(None).await.unwrap();
    assert!(all.contains(&other) && all.contains(&prd));

    let mut data = system("PRD");
    data.status = SystemStatus::Inactive;
    data.system_type = SystemType::DualStack;
    data.allow_independent_opening = false;
    let upd = store.update_system(prd.id, &data).await.unwrap();
    assert_eq!(
        (upd.id, &upd.data, upd.created_at),
        (prd.id, &data, prd.created_at)
    );
    assert!(upd.updated_at >= prd.updated_at);
    assert!(matches!(
        store.update_system(prd.id, &system("QAS")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.update_system(i64::MAX, &data).await,
        Err(StoreError::NotFound("system"))
    ));
    assert!(store.delete_system(qas.id).await.unwrap());
    assert!(!store.delete_system(qas.id).await.unwrap());
    assert_eq!(store.get_system(qas.id).await.unwrap(), None);
}

pub(super) async fn connection_types(store: &dyn Store, run: &Run) {
    let cat = catalogue();
    store.ensure_catalogue(&cat).await.unwrap();
    assert_eq!(store.ensure_catalogue(&cat).await.unwrap(), 0, "idempotent");
    let a = store.create_company(&run.name("types-a")).await.unwrap();
    let b = store.create_company(&run.name("types-b")).await.unwrap();
    let listed = store.list_connection_types(None).await.unwrap();
    for def in &cat {
        assert!(
            listed
                .iter()
                .any(|t| t.company_id.is_none() && &t.def == def),
            "catalogue type {} stored as given",
            def.key
        );
    }
    let own = ConnTypeDef {
        key: "hana_studio".into(),
        name: "HANA Studio".into(),
        protocol: ConnProtocol::Tcp,
        default_port: Some(30015),
        needs_url: false,
        description: "".into(),
    };
    let t = store.create_connection_type(a.id, &own).await.unwrap();
    assert_eq!((t.company_id, &t.def), (Some(a.id), &own));
    assert!(matches!(
        store.create_connection_type(a.id, &own).await,
        Err(StoreError::Conflict(_))
    ));
    let mut clash = own.clone();
    clash.key = "ssh".into();
    assert!(
        matches!(
            store.create_connection_type(a.id, &clash).await,
            Err(StoreError::Conflict(_))
        ),
        "a company cannot shadow a catalogue type"
    );
    // Company B may have its own type with the same key.
    store.create_connection_type(b.id, &own).await.unwrap();

    assert_eq!(
        store
            .find_connection_type(a.id, "hana_studio")
            .await
            .unwrap(),
        Some(t.clone())
    );
    let ssh = store
        .find_connection_type(a.id, "ssh")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ssh.company_id, ssh.def.default_port), (None, Some(22)));
    let for_a = store.list_connection_types(Some(a.id)).await.unwrap();
    assert_eq!(
        for_a.last(),
        Some(&t),
        "the company's own types come after the catalogue"
    );
    assert!(for_a
        .iter()
        .all(|x| x.company_id.is_none() || x.company_id == Some(a.id)));
    assert!(store
        .list_connection_types(None)
        .await
        .unwrap()
        .iter()
        .all(|x| x.company_id.is_none()));

    assert!(
        matches!(
            store.delete_connection_type(ssh.id).await,
            Err(StoreError::Conflict(_))
        ),
        "catalogue types stay"
    );
    assert!(store.delete_connection_type(t.id).await.unwrap());
    assert!(!store.delete_connection_type(t.id).await.unwrap());
}

/// Everything a service connection needs, in company A, plus company B's connector.
pub(super) struct Fixture {
    pub(super) company: Id,
    pub(super) system: Id,
    pub(super) ssh: Id,
    pub(super) connector: Id,
    pub(super) foreign_connector: Id,
}

pub(super) async fn fixture(store: &dyn Store, run: &Run, tag: &str) -> Fixture {
    store.ensure_catalogue(&catalogue()).await.unwrap();
    let a = store
        .create_company(&run.name(&format!("{tag}-a")))
        .await
        .unwrap();
    let b = store
        .create_company(&run.name(&format!("{tag}-b")))
        .await
        .unwrap();
    Fixture {
        company: a.id,
        system: store.create_system(a.id, &system("ERP")).await.unwrap().id,
        ssh: store
            .find_connection_type(a.id, "ssh")
            .await
            .unwrap()
            .unwrap()
            .id,
        connector: store.create_connector(a.id, "berlin").await.unwrap().id,
        foreign_connector: store.create_connector(b.id, "paris").await.unwrap().id,
    }
}

pub(super) async fn service_connections(store: &dyn Store, run: &Run) {
    let f = fixture(store, run, "sc").await;
    let new = NewServiceConnection {
        system_id: f.system,
        connection_type_id: f.ssh,
        connector_id: f.connector,
        virtual_host: "erp.internal".into(),
        virtual_port: 22,
        url: None,
        created_by: "user:alice".into(),
    };
    let sc = store.create_service_connection(new.clone()).await.unwrap();
    assert_eq!(
        (
            sc.company_id,
            sc.system_id,
            sc.connection_type_id,
            sc.connector_id
        ),
        (f.company, f.system, f.ssh, f.connector)
    );
    assert_eq!(
        (sc.virtual_host.as_str(), sc.virtual_port, &sc.url),
        ("erp.internal", 22, &None)
    );
    assert_recent(sc.created_at, "service_connection.created_at");
    assert!(
        matches!(
            store.create_service_connection(new.clone()).await,
            Err(StoreError::Conflict(_))
        ),
        "one service connection per system and type"
    );
    let cases = [
        (
            NewServiceConnection {
                system_id: i64::MAX,
                ..new.clone()
            },
            "system",
        ),
        (
            NewServiceConnection {
                connection_type_id: i64::MAX,
                ..new.clone()
            },
            "connection type",
        ),
        (
            NewServiceConnection {
                connector_id: i64::MAX,
                ..new.clone()
            },
            "connector",
        ),
    ];
    for (n, what) in cases {
        match store.create_service_connection(n).await {
            Err(StoreError::NotFound(w)) => assert_eq!(w, what),
            other => panic!("unknown {what}: expected NotFound, got {other:?}"),
        }
    }
    let telnet = store
        .find_connection_type(f.company, "telnet")
        .await
        .unwrap()
        .unwrap()
        .id;
    match store
        .create_service_connection(NewServiceConnection {
            connection_type_id: telnet,
            connector_id: f.foreign_connector,
            ..new.clone()
        })
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(m.contains("another company"), "{m}"),
        other => panic!("another company's connector: expected Conflict, got {other:?}"),
    }
    assert_eq!(
        store.get_service_connection(sc.id).await.unwrap(),
        Some(sc.clone())
    );
    assert_eq!(
        store
            .list_service_connections(Some(f.company))
            .await
            .unwrap(),
        vec![sc.clone()]
    );
    assert_eq!(
        store
            .list_system_service_connections(f.system)
            .await
            .unwrap(),
        vec![sc.clone()]
    );
    assert_eq!(
        store
            .list_system_service_connections(f.system + 1000)
            .await
            .unwrap(),
        vec![]
    );
    assert!(matches!(
        store.delete_system(f.system).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.delete_service_connection(sc.id).await.unwrap());
    assert!(!store.delete_service_connection(sc.id).await.unwrap());
    assert!(store.delete_system(f.system).await.unwrap());
}
