//! Company names, SIDs and location IDs are unique without regard to case and found in any
//! case, coming back as stored (issue 13, class 8): a name typed `ACME` can only ever mean the
//! one tenant called `acme`, never another.

use super::remote::system;
use super::Run;
use crate::{Store, StoreError};

pub(super) async fn names_compare_without_case(store: &dyn Store, run: &Run) {
    // Companies: `Acme-…` is stored as entered; `ACME-…` and `acme-…` clash with it.
    let name = run.name("Initech");
    let acme = store.create_company(&name).await.unwrap();
    for other in [name.to_uppercase(), name.to_lowercase()] {
        match store.create_company(&other).await {
            Err(StoreError::Conflict(m)) => assert!(m.contains(&other), "{m}"),
            got => panic!("{other} beside {name}: expected Conflict, got {got:?}"),
        }
        let found = store.find_company_by_name(&other).await.unwrap();
        assert_eq!(found.as_ref(), Some(&acme), "{other} finds {name}");
        assert_eq!(found.unwrap().name, name, "stored as entered");
    }
    let globex = store.create_company(&run.name("Umbrella")).await.unwrap();

    // Location IDs, per company.
    let berlin = store.create_connector(acme.id, "Berlin").await.unwrap();
    match store.create_connector(acme.id, "BERLIN").await {
        Err(StoreError::Conflict(_)) => {}
        got => panic!("BERLIN beside Berlin: expected Conflict, got {got:?}"),
    }
    for asked in ["berlin", "BERLIN", "Berlin"] {
        let found = store.find_connector(acme.id, asked).await.unwrap().unwrap();
        assert_eq!((found.id, found.location.as_str()), (berlin.id, "Berlin"));
    }
    let other = store.create_connector(globex.id, "berlin").await.unwrap();
    assert_ne!(
        other.id, berlin.id,
        "another company may use the same location"
    );
    assert_eq!(
        store
            .find_connector(globex.id, "BERLIN")
            .await
            .unwrap()
            .map(|c| c.id),
        Some(other.id),
        "each company finds its own"
    );

    // SIDs, per company (the API accepts upper case only; the store holds the rule anyway).
    let prd = store.create_system(acme.id, &system("PRD")).await.unwrap();
    match store.create_system(acme.id, &system("prd")).await {
        Err(StoreError::Conflict(_)) => {}
        got => panic!("prd beside PRD: expected Conflict, got {got:?}"),
    }
    let found = store.find_system(acme.id, "prd").await.unwrap().unwrap();
    assert_eq!((found.id, found.data.sid.as_str()), (prd.id, "PRD"));
    let qas = store.create_system(acme.id, &system("QAS")).await.unwrap();
    match store.update_system(qas.id, &system("Prd")).await {
        Err(StoreError::Conflict(_)) => {}
        got => panic!("renaming QAS to Prd beside PRD: expected Conflict, got {got:?}"),
    }
    store
        .create_system(globex.id, &system("prd"))
        .await
        .unwrap();
}
