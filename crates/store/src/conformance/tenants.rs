//! Companies and API tokens.

use time::Duration;

use super::{assert_recent, ms, Run};
use portcullis_domain::authz::Authorizations;
use portcullis_domain::secret::Secret;

use crate::{NewApiToken, NewUser, Role, Store, StoreError, TokenScope};

pub(super) async fn companies(store: &dyn Store, run: &Run) {
    let name = run.name("acme");
    let acme = store.create_company(&name).await.unwrap();
    assert!(acme.id > 0);
    assert_eq!(acme.name, name);
    assert_recent(acme.created_at, "company.created_at");

    match store.create_company(&name).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("duplicate company name: expected Conflict, got {other:?}"),
    }

    assert_eq!(
        store.get_company(acme.id).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(store.get_company(i64::MAX).await.unwrap(), None);
    assert_eq!(
        store.find_company_by_name(&name).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        store
            .find_company_by_name(&name.to_uppercase())
            .await
            .unwrap(),
        Some(acme.clone()),
        "company names match without case, and come back as stored"
    );
    assert_eq!(
        store
            .find_company_by_name(&run.name("nobody"))
            .await
            .unwrap(),
        None
    );

    let globex = store.create_company(&run.name("globex")).await.unwrap();
    assert_ne!(globex.id, acme.id);
    let all = store.list_companies().await.unwrap();
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "list_companies is ordered by id"
    );
    let ours: Vec<_> = all
        .into_iter()
        .filter(|c| c.name.ends_with(&run.tag))
        .collect();
    assert_eq!(ours, vec![acme, globex]);
}

pub(super) async fn api_tokens(store: &dyn Store, run: &Run) {
    let a = store.create_company(&run.name("tokens-a")).await.unwrap();
    let b = store.create_company(&run.name("tokens-b")).await.unwrap();
    let expires = run.now + Duration::hours(1);
    let user = |company_id, name: &str, role| NewUser {
        company_id,
        name: run.name(name),
        display_name: name.into(),
        email: None,
        role,
        authorizations: Authorizations::none(),
    };
    let admin_a = store
        .create_user(user(Some(a.id), "admin-a", Role::CompanyAdmin))
        .await
        .unwrap();
    let vendor_user = store
        .create_user(user(None, "vendor", Role::VendorAdmin))
        .await
        .unwrap();
    let tech_b = store
        .create_user(user(Some(b.id), "tech-b", Role::Technical))
        .await
        .unwrap();

    let scoped = NewApiToken {
        user_id: admin_a.id,
        name: "deploy bot".into(),
        public_id: run.name("tok-a"),
        // Arbitrary bytes, including NUL and 0xff, must survive storage unchanged.
        secret_hash: Secret::new(vec![0, 1, 2, 0xfe, 0xff, 0]),
        expires_at: Some(expires),
        scope: TokenScope::default(),
    };
    let tok_a = store.create_api_token(scoped.clone()).await.unwrap();
    assert!(tok_a.id > 0);
    assert_eq!(
        (
            tok_a.user_id,
            tok_a.user_name.as_str(),
            tok_a.company_id,
            tok_a.role
        ),
        (
            admin_a.id,
            admin_a.name.as_str(),
            Some(a.id),
            Role::CompanyAdmin
        ),
        "a token carries its user's name, company and role"
    );
    assert_eq!(tok_a.user_disabled_at, None);
    assert_eq!(tok_a.name, "deploy bot");
    assert_eq!(tok_a.public_id, scoped.public_id);
    assert_eq!(tok_a.secret_hash, scoped.secret_hash);
    assert_eq!(tok_a.expires_at, Some(ms(expires)));
    assert_eq!(tok_a.revoked_at, None);
    assert_eq!(tok_a.scope, TokenScope::Api, "the default scope is api");
    assert_recent(tok_a.created_at, "api_token.created_at");

    let vendor = store
        .create_api_token(NewApiToken {
            user_id: vendor_user.id,
            name: "vendor".into(),
            public_id: run.name("tok-vendor"),
            secret_hash: Secret::new(vec![9; 32]),
            expires_at: None,
            scope: TokenScope::Api,
        })
        .await
        .unwrap();
    assert_eq!((vendor.company_id, vendor.expires_at), (None, None));
    assert_eq!(vendor.role, Role::VendorAdmin);
    let tech = store
        .create_api_token(NewApiToken {
            user_id: tech_b.id,
            name: "engineer".into(),
            public_id: run.name("tok-b"),
            secret_hash: Secret::new(vec![7; 32]),
            expires_at: None,
            scope: TokenScope::Api,
        })
        .await
        .unwrap();
    assert_eq!(tech.role, Role::Technical);
    assert_eq!(
        store.list_user_tokens(tech_b.id).await.unwrap(),
        vec![tech.clone()]
    );

    // A route password is a token of scope `route` of the same user: stored, found and listed
    // with its scope, beside the user's other tokens.
    let route_new = NewApiToken {
        user_id: admin_a.id,
        name: "route-password".into(),
        public_id: run.name("tok-route"),
        secret_hash: Secret::new(vec![5; 32]),
        expires_at: Some(run.now + Duration::minutes(60)),
        scope: TokenScope::Route,
    };
    let route = store.create_api_token(route_new.clone()).await.unwrap();
    assert_eq!(route.scope, TokenScope::Route);
    assert_eq!(
        (route.user_id, route.role, route.company_id),
        (admin_a.id, Role::CompanyAdmin, Some(a.id))
    );
    assert_eq!(route.expires_at, Some(ms(run.now + Duration::minutes(60))));
    assert_eq!(
        store.find_api_token(&route_new.public_id).await.unwrap(),
        Some(route.clone()),
        "the scope round-trips"
    );
    assert_eq!(
        store.list_user_tokens(admin_a.id).await.unwrap(),
        vec![tok_a.clone(), route.clone()],
        "a user's list holds both scopes"
    );

    // Uniqueness of the public id, across users and companies.
    let dup = NewApiToken {
        user_id: tech_b.id,
        ..scoped.clone()
    };
    match store.create_api_token(dup).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("duplicate public_id: expected Conflict, got {other:?}"),
    }
    let orphan = NewApiToken {
        user_id: i64::MAX,
        public_id: run.name("tok-orphan"),
        ..scoped.clone()
    };
    match store.create_api_token(orphan).await {
        Err(StoreError::NotFound("user")) => {}
        other => panic!("token for unknown user: expected NotFound, got {other:?}"),
    }

    assert_eq!(
        store.find_api_token(&scoped.public_id).await.unwrap(),
        Some(tok_a.clone())
    );
    assert_eq!(
        store.find_api_token(&run.name("tok-none")).await.unwrap(),
        None
    );
    assert_eq!(
        store.list_api_tokens(Some(a.id)).await.unwrap(),
        vec![tok_a.clone(), route.clone()]
    );
    assert_eq!(
        store.list_api_tokens(Some(b.id)).await.unwrap(),
        vec![tech.clone()]
    );
    let all = store.list_api_tokens(None).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
    let ours: Vec<_> = all
        .into_iter()
        .filter(|t| t.public_id.ends_with(&run.tag))
        .collect();
    assert_eq!(
        ours,
        vec![tok_a.clone(), vendor, tech.clone(), route.clone()],
        "None lists vendor users' tokens too"
    );

    // Revocation: first call wins and its time is kept; later calls and unknown ids say false.
    let revoked_at = run.now + Duration::minutes(5);
    assert!(store.revoke_api_token(tok_a.id, revoked_at).await.unwrap());
    assert!(!store
        .revoke_api_token(tok_a.id, revoked_at + Duration::hours(1))
        .await
        .unwrap());
    assert!(!store.revoke_api_token(i64::MAX, revoked_at).await.unwrap());
    let after = store
        .find_api_token(&scoped.public_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.revoked_at, Some(ms(revoked_at)));
    assert_eq!(
        after,
        crate::ApiToken {
            revoked_at: Some(ms(revoked_at)),
            ..tok_a
        },
        "revocation changes nothing else"
    );
    // Use is recorded (for idle timeouts) and changes nothing else.
    assert_eq!(route.last_used_at, None);
    let used = run.now + Duration::minutes(4);
    store.touch_api_token(route.id, used).await.unwrap();
    let route = crate::ApiToken {
        last_used_at: Some(ms(used)),
        ..route
    };
    assert_eq!(
        store.find_api_token(&route.public_id).await.unwrap(),
        Some(route.clone())
    );
    // A portal session's credential is a token like the others.
    let portal = store
        .create_api_token(NewApiToken {
            public_id: run.name("portal"),
            scope: TokenScope::Portal,
            ..route_new.clone()
        })
        .await
        .unwrap();
    assert_eq!(portal.scope, TokenScope::Portal);
    assert!(store.revoke_api_token(route.id, revoked_at).await.unwrap());
    assert_eq!(
        store.find_api_token(&route.public_id).await.unwrap(),
        Some(crate::ApiToken {
            revoked_at: Some(ms(revoked_at)),
            ..route
        }),
        "a route password is revoked like any token"
    );

    // Disabling the user shows on every token of the user.
    let off = run.now + Duration::minutes(6);
    assert!(store.disable_user(tech_b.id, off).await.unwrap());
    assert!(!store
        .disable_user(tech_b.id, off + Duration::hours(1))
        .await
        .unwrap());
    let t = store
        .find_api_token(&tech.public_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.user_disabled_at, Some(ms(off)));
}
