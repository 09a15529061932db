//! Filters, grouping and the table of `portcullis system list`.

use super::*;

fn row(id: i64, sid: &str, status: &str) -> SystemView {
    serde_json::from_value(json!({
        "id": id, "company_id": 1, "sid": sid, "system_number": "00",
        "system_type": "abap", "product": "S/4", "product_version": "",
        "installation_number": "0123456789", "status": status,
        "eu_data_protection": false, "advanced_secure_support": true,
        "allow_independent_opening": false, "description": "",
        "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
        "service_connections": 0, "open_connections": 0, "network": "not_set_up",
        "favourite": false,
    }))
    .unwrap()
}

#[test]
fn groups_are_in_name_order_and_keep_the_hubs_order_inside() {
    let rows = [
        row(1, "AAA", "inactive"),
        row(2, "BBB", "active"),
        row(3, "CCC", "inactive"),
    ];
    let g = groups(&rows, GroupBy::Status);
    assert_eq!(
        g,
        vec![("active".into(), vec![1]), ("inactive".into(), vec![0, 2])]
    );
}

#[test]
fn update_keeps_what_is_not_given() {
    let mut d = row(1, "PRD", "active").system.data;
    SystemFields {
        status: Some("inactive".into()),
        eu_data_protection: Some(true),
        ..Default::default()
    }
    .apply(&mut d)
    .unwrap();
    assert_eq!((d.sid.as_str(), d.status.as_str()), ("PRD", "inactive"));
    assert!(d.eu_data_protection && d.advanced_secure_support);
}

#[test]
fn create_names_the_missing_flag() {
    let e = SystemFields {
        sid: Some("PRD".into()),
        ..Default::default()
    }
    .create()
    .unwrap_err();
    assert!(e.to_string().contains("--product"), "{e}");
}
