//! Windows, standing grants and favourites: the remote-connection objects that change over
//! time, on the fixture of [`super::remote`].

use portcullis_domain::authz::Role;
use portcullis_domain::window::WindowState;
use time::Duration;

use super::remote::{fixture, user};
use super::{assert_recent, ms, Run};
use crate::{Id, NewServiceConnection, NewWindow, Store, StoreError};

pub(super) async fn windows(store: &dyn Store, run: &Run) {
    let f = fixture(store, run, "win").await;
    let sc = store
        .create_service_connection(NewServiceConnection {
            system_id: f.system,
            connection_type_id: f.ssh,
            connector_id: f.connector,
            virtual_host: "erp.internal".into(),
            virtual_port: 22,
            url: None,
            created_by: "user:alice".into(),
        })
        .await
        .unwrap();
    let now = run.now;
    let open = NewWindow {
        service_connection_id: sc.id,
        start_at: now,
        end_at: now + Duration::hours(8),
        contact: "Alice, +49 30 1234".into(),
        opened_by: "user:alice".into(),
        engineers: vec!["bob".into(), "carol".into()],
        independent: false,
    };
    let w = store.create_window(open.clone(), now).await.unwrap();
    assert_eq!(
        (w.company_id, w.service_connection_id, w.start_at, w.end_at),
        (f.company, sc.id, ms(now), ms(now + Duration::hours(8)))
    );
    assert_eq!(
        (&w.contact, &w.opened_by, &w.engineers),
        (&open.contact, &open.opened_by, &open.engineers)
    );
    assert_eq!((w.closed_at, &w.closed_by), (None, &None));
    assert_eq!(w.state(now), WindowState::Open);

    // Overlaps are refused; back to back is not an overlap.
    let overlapping = NewWindow {
        start_at: now + Duration::hours(7),
        end_at: now + Duration::hours(9),
        ..open.clone()
    };
    assert!(matches!(
        store.create_window(overlapping.clone(), now).await,
        Err(StoreError::Conflict(_))
    ));
    let next = store
        .create_window(
            NewWindow {
                start_at: now + Duration::hours(8),
                end_at: now + Duration::hours(10),
                engineers: vec![],
                ..open.clone()
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(next.state(now), WindowState::Reserved);
    assert_eq!(next.engineers, Vec::<String>::new());
    assert!(!next.independent);
    assert!(matches!(
        store
            .create_window(
                NewWindow {
                    service_connection_id: i64::MAX,
                    ..open.clone()
                },
                now
            )
            .await,
        Err(StoreError::NotFound("service connection"))
    ));
    assert!(
        matches!(
            store
                .create_window(
                    NewWindow {
                        end_at: now,
                        ..open.clone()
                    },
                    now
                )
                .await,
            Err(StoreError::Conflict(_))
        ),
        "an empty window is refused"
    );

    // Edit: the window itself does not count as an overlap; another one does.
    let ext = store
        .update_window(w.id, w.start_at, now + Duration::hours(6), "Dave", &[], now)
        .await
        .unwrap();
    assert_eq!(
        (ext.end_at, ext.contact.as_str()),
        (ms(now + Duration::hours(6)), "Dave")
    );
    assert!(ext.engineers.is_empty());
    assert!(matches!(
        store
            .update_window(w.id, w.start_at, now + Duration::hours(9), "Dave", &[], now)
            .await,
        Err(StoreError::Conflict(_))
    ));

    assert_eq!(
        store
            .list_windows(sc.id)
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![w.id, next.id]
    );
    let live: Vec<Id> = store
        .list_live_windows(Some(f.company), now)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(live, vec![w.id, next.id]);

    // Close: once; the first close is kept; a closed window frees its time and is not live.
    let at = now + Duration::minutes(30);
    let closed = store
        .close_window(w.id, at, "connector:berlin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (closed.closed_at, closed.closed_by.as_deref()),
        (Some(ms(at)), Some("connector:berlin"))
    );
    assert_eq!(closed.state(at), WindowState::Closed);
    assert!(matches!(
        store
            .close_window(w.id, at + Duration::minutes(1), "user:x")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.close_window(i64::MAX, at, "user:x").await.unwrap(),
        None
    );
    assert!(
        matches!(
            store
                .update_window(w.id, w.start_at, now + Duration::hours(7), "x", &[], at)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a closed window cannot be edited"
    );
    let live: Vec<Id> = store
        .list_live_windows(Some(f.company), at)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(live, vec![next.id]);
    store
        .create_window(
            NewWindow {
                start_at: at,
                end_at: now + Duration::hours(8),
                ..open.clone()
            },
            at,
        )
        .await
        .unwrap();
    // Windows that ended are not live either.
    assert!(store
        .list_live_windows(Some(f.company), now + Duration::hours(10))
        .await
        .unwrap()
        .is_empty());
    // An independent opening keeps its mark.
    let own = store
        .create_window(
            NewWindow {
                start_at: now + Duration::hours(20),
                end_at: now + Duration::hours(21),
                engineers: vec!["bob".into()],
                independent: true,
                ..open.clone()
            },
            now,
        )
        .await
        .unwrap();
    assert!(own.independent);
    assert!(store.get_window(own.id).await.unwrap().unwrap().independent);
    // Deleting the service connection takes its windows along.
    assert!(store.delete_service_connection(sc.id).await.unwrap());
    assert_eq!(store.get_window(next.id).await.unwrap(), None);
}

pub(super) async fn grants_and_favourites(store: &dyn Store, run: &Run) {
    let f = fixture(store, run, "grant").await;
    let sc = store
        .create_service_connection(NewServiceConnection {
            system_id: f.system,
            connection_type_id: f.ssh,
            connector_id: f.connector,
            virtual_host: "erp.internal".into(),
            virtual_port: 22,
            url: None,
            created_by: "user:alice".into(),
        })
        .await
        .unwrap();
    let app = store
        .create_user(user(run, Some(f.company), "cloud-app", Role::Technical))
        .await
        .unwrap();
    let g = store
        .create_grant(app.id, sc.id, "user:alice")
        .await
        .unwrap();
    assert_eq!(
        (g.company_id, g.user_id, g.service_connection_id),
        (f.company, app.id, sc.id)
    );
    assert_recent(g.created_at, "grant.created_at");
    assert!(
        matches!(
            store.create_grant(app.id, sc.id, "user:alice").await,
            Err(StoreError::Conflict(_))
        ),
        "one active grant per user and service connection"
    );
    assert_eq!(
        store.find_active_grant(app.id, sc.id).await.unwrap(),
        Some(g.clone())
    );
    assert_eq!(store.get_grant(g.id).await.unwrap(), Some(g.clone()));
    let outsider = store.create_company(&run.name("grant-x")).await.unwrap();
    let stranger = store
        .create_user(user(run, Some(outsider.id), "stranger", Role::Technical))
        .await
        .unwrap();
    assert!(
        matches!(
            store.create_grant(stranger.id, sc.id, "user:alice").await,
            Err(StoreError::Conflict(_))
        ),
        "no grant across companies"
    );
    assert!(matches!(
        store.create_grant(i64::MAX, sc.id, "x").await,
        Err(StoreError::NotFound("user"))
    ));
    assert!(matches!(
        store.create_grant(app.id, i64::MAX, "x").await,
        Err(StoreError::NotFound("service connection"))
    ));
    let at = run.now + Duration::minutes(2);
    assert!(store.revoke_grant(g.id, at).await.unwrap());
    assert!(!store.revoke_grant(g.id, at).await.unwrap());
    assert_eq!(store.find_active_grant(app.id, sc.id).await.unwrap(), None);
    let again = store
        .create_grant(app.id, sc.id, "user:alice")
        .await
        .unwrap();
    let listed = store.list_grants(f.company).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].revoked_at, Some(ms(at)));
    assert_eq!(listed[1], again);

    // Favourites: idempotent both ways.
    store.set_favourite(app.id, f.system, true).await.unwrap();
    store.set_favourite(app.id, f.system, true).await.unwrap();
    assert_eq!(store.list_favourites(app.id).await.unwrap(), vec![f.system]);
    store.set_favourite(app.id, f.system, false).await.unwrap();
    store.set_favourite(app.id, f.system, false).await.unwrap();
    assert!(store.list_favourites(app.id).await.unwrap().is_empty());
    assert!(store.set_favourite(app.id, i64::MAX, true).await.is_err());
}
