//! Configuration parsing: the example, and every mistake named where it is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis_connector::config::{inventory_frame_len, HostPort};
use portcullis_connector::{example, ConfigError, ConnectorConfig, ConnectorError};
use portcullis_domain::access::{AccessControlList, AccessEntry, Protocol};
use portcullis_proto::{frame, Inventory, InventoryTarget, Message, TargetProtocol, MAX_FRAME_LEN};

fn parse(text: &str) -> Result<ConnectorConfig, ConfigError> {
    ConnectorConfig::from_toml_str(text, Path::new("/etc/portcullis"))
}

fn err(text: &str) -> String {
    parse(text).expect_err("must be refused").to_string()
}

const ENTRY: &str = r#"
[[access]]
name = "erp"
virtual = "erp.internal:3200-3299"
internal = "10.0.0.5:3200"
"#;

#[test]
fn the_example_parses_and_says_what_it_means() {
    let c = parse(example()).expect("the example parses");
    assert_eq!(
        c.data_dir,
        PathBuf::from("/etc/portcullis/./connector-data")
    );
    assert_eq!(c.access.entries().len(), 2);
    let p = c.access.check("erp.internal", 3250).expect("range maps");
    assert_eq!((p.internal_host(), p.internal_port()), ("10.0.0.5", 3250));
    assert_eq!(c.reconnect.initial, Duration::from_millis(100));
    assert_eq!(c.reconnect.max, Duration::from_secs(30));
    assert_eq!(c.reconnect.stable_after, Duration::from_secs(60));
    assert!(c.proxy.is_none() && c.hub_tunnel.is_none());
    // Every non-empty line of the example is either TOML or a comment explaining it.
    assert!(example().lines().filter(|l| l.starts_with('#')).count() > 10);
}

#[test]
fn a_full_configuration_parses() {
    let text = format!(
        r#"
data_dir = "/var/lib/portcullis"
hub_tunnel = "Hub.Vendor.example:8444"
[proxy]
address = "proxy.corp:3128"
username = "svc"
password = "s3cret"
[reconnect]
initial_ms = 50
max_ms = 1000
stable_after_secs = 5
{ENTRY}
[[access]]
name = "v6"
virtual = "[fd00::1]:22"
internal = "[fd00::2]:2222"
protocol = "tcp"
"#
    );
    let c = parse(&text).expect("parses");
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/portcullis"));
    assert_eq!(
        c.hub_tunnel,
        Some(HostPort {
            host: "hub.vendor.example".into(),
            port: 8444
        })
    );
    let proxy = c.proxy.as_ref().expect("proxy");
    assert_eq!(proxy.addr, "proxy.corp:3128");
    assert_eq!(proxy.username.as_deref(), Some("svc"));
    assert!(
        !format!("{c:?}").contains("s3cret"),
        "the password is masked"
    );
    assert_eq!(c.reconnect.initial, Duration::from_millis(50));
    assert_eq!(
        c.access.check("fd00::1", 22).expect("v6").internal_port(),
        2222
    );
}

#[test]
fn password_from_the_environment() {
    // A variable name no other test uses; set once, before it is read.
    std::env::set_var("PORTCULLIS_TEST_PROXY_PW_1", "from-env");
    let c = parse(
        "[proxy]\naddress = \"p:1\"\nusername = \"u\"\npassword_env = \"PORTCULLIS_TEST_PROXY_PW_1\"",
    )
    .expect("parses");
    assert_eq!(
        c.proxy
            .and_then(|p| p.password)
            .map(|s| s.expose().to_owned()),
        Some("from-env".into())
    );
    let e = err("[proxy]\naddress = \"p:1\"\nusername = \"u\"\npassword_env = \"PORTCULLIS_TEST_UNSET_VAR_XYZ\"");
    assert!(
        e.contains("password_env") && e.contains("PORTCULLIS_TEST_UNSET_VAR_XYZ"),
        "{e}"
    );
    let e =
        err("[proxy]\naddress = \"p:1\"\nusername = \"u\"\npassword = \"a\"\npassword_env = \"B\"");
    assert!(e.contains("not both"), "{e}");
    let e = err("[proxy]\naddress = \"p:1\"\npassword = \"a\"");
    assert!(e.contains("username"), "{e}");
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let e = err("data_dir = \"d\"\nhub_tunel = \"x:1\"\n");
    assert!(e.contains("hub_tunel"), "{e}");
    let e = err(&format!("{ENTRY}colour = \"red\"\n"));
    assert!(e.contains("colour"), "{e}");
    let e = err("[proxy]\naddress = \"p:1\"\npasword = \"x\"\n");
    assert!(e.contains("pasword"), "{e}");
    let e = err("[reconnect]\ninitial = 5\n");
    assert!(e.contains("initial"), "{e}");
}

#[test]
fn bad_targets_are_refused_naming_the_entry() {
    for (virt, internal) in [
        ("erp.internal", "10.0.0.5:3200"),
        ("erp.internal:0", "10.0.0.5:3200"),
        ("erp.internal:99999", "10.0.0.5:3200"),
        ("erp.internal:3299-3200", "10.0.0.5:3200"),
        ("erp internal:3200", "10.0.0.5:3200"),
        ("erp.internal:3200", "10.0.0.5"),
        ("erp.internal:3200-3209", "10.0.0.5:3200-3201"),
        ("erp.internal:3200-3209", "10.0.0.5:65530"),
    ] {
        let text = format!(
            "[[access]]\nname = \"broken-one\"\nvirtual = \"{virt}\"\ninternal = \"{internal}\"\n"
        );
        let e = err(&text);
        assert!(e.contains("\"broken-one\""), "{virt} → {internal}: {e}");
    }
    let e = err("[[access]]\nname = \"udp-thing\"\nvirtual = \"a:1\"\ninternal = \"b:1\"\nprotocol = \"udp\"\n");
    assert!(e.contains("udp-thing") && e.contains("udp"), "{e}");
    let e = err("[[access]]\nname = \"\"\nvirtual = \"a:1\"\ninternal = \"b:1\"\n");
    assert!(e.contains("#1") && e.contains("name"), "{e}");
    let e = err("[[access]]\nname = \"no-internal\"\nvirtual = \"a:1\"\n");
    assert!(e.contains("internal"), "{e}");
}

#[test]
fn overlapping_and_duplicate_entries_are_refused() {
    let e = err(&format!(
        "{ENTRY}\n[[access]]\nname = \"erp-one\"\nvirtual = \"ERP.internal:3250\"\ninternal = \"10.0.0.9:1\"\n"
    ));
    assert!(
        e.contains("overlap") && e.contains("erp") && e.contains("erp-one"),
        "{e}"
    );
    let e = err(&format!("{ENTRY}{ENTRY}"));
    assert!(e.contains("\"erp\""), "{e}");
    // Same ports on another host are fine.
    parse(&format!(
        "{ENTRY}\n[[access]]\nname = \"crm\"\nvirtual = \"crm.internal:3200\"\ninternal = \"10.0.0.7:3200\"\n"
    ))
    .expect("different hosts do not overlap");
}

#[test]
fn other_fields_are_checked() {
    assert!(err("hub_tunnel = \"hub\"").contains("hub_tunnel"));
    assert!(err("hub_tunnel = \"hub:1-2\"").contains("hub_tunnel"));
    assert!(err("[proxy]\naddress = \"proxy\"").contains("proxy.address"));
    assert!(err("[proxy]\naddress = \"p:1\"\nusername = \"a:b\"").contains("proxy.username"));
    assert!(err("[reconnect]\ninitial_ms = 0").contains("reconnect"));
    assert!(err("[reconnect]\ninitial_ms = 500\nmax_ms = 100").contains("reconnect"));
    assert!(err("data_dir = \"\"").contains("data_dir"));
    assert!(err("data_dir = 5").contains("data_dir"));
}

#[test]
fn load_resolves_against_the_file_and_reports_missing_files() {
    let dir = std::env::temp_dir().join(format!(
        "portcullis-connector-config-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("connector.toml");
    std::fs::write(&path, "data_dir = \"data\"\n").expect("write");
    let c = ConnectorConfig::load(&path).expect("loads");
    assert_eq!(c.data_dir, dir.join("data"));
    let e = ConnectorConfig::load(&dir.join("missing.toml")).expect_err("missing");
    assert!(e.to_string().contains("missing.toml"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_commands_find_the_data_dir_where_the_whole_file_would_not_load() {
    let dir = std::env::temp_dir().join(format!(
        "portcullis-connector-datadir-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("connector.toml");
    // The proxy password's variable is not set for the admin running the command.
    let text = "data_dir = \"data\"\n[proxy]\naddress = \"proxy:3128\"\nusername = \"u\"\n\
                password_env = \"PORTCULLIS_TEST_SURELY_UNSET_VARIABLE\"\n";
    std::fs::write(&path, text).expect("write");
    assert!(ConnectorConfig::load(&path).is_err());
    let data = portcullis_connector::config::data_dir_of(&path).expect("data_dir alone");
    assert_eq!(data, dir.join("data"));
    std::fs::write(&path, "[reconnect]\ninitial_ms = 100\n").expect("write");
    assert_eq!(
        portcullis_connector::config::data_dir_of(&path).expect("default"),
        dir.join(portcullis_connector::config::DEFAULT_DATA_DIR)
    );
    assert!(portcullis_connector::config::data_dir_of(&dir.join("missing.toml")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Configuration text with one entry per name; virtual hosts differ, so entries never overlap.
fn entries_text(names: &[String]) -> String {
    let mut s = String::new();
    for (i, n) in names.iter().enumerate() {
        s.push_str(&format!(
            "[[access]]\nname = \"{n}\"\nvirtual = \"h{i}.internal:7001\"\ninternal = \"10.0.0.1:7001\"\n"
        ));
    }
    s
}

#[test]
fn an_access_list_whose_inventory_does_not_fit_one_frame_is_refused() {
    // 10 000 entries (the inventory's count limit) with 128-byte names (the name limit):
    // every entry is valid on its own, but the inventory would be about 2 MiB.
    let names: Vec<String> = (0..10_000).map(|i| format!("{i:0>128}")).collect();
    match parse(&entries_text(&names)) {
        Err(ConfigError::InventoryTooLarge { len, max }) => {
            assert_eq!(max, MAX_FRAME_LEN);
            assert!(len > MAX_FRAME_LEN as usize, "{len}");
            let shown = ConfigError::InventoryTooLarge { len, max }.to_string();
            assert!(
                shown.contains(&len.to_string()) && shown.contains(&max.to_string()),
                "{shown}"
            );
        }
        other => panic!("expected InventoryTooLarge, got {other:?}"),
    }
}

#[test]
fn an_inventory_of_exactly_the_frame_limit_is_accepted_and_one_byte_more_is_not() {
    const N: usize = 6_000;
    let named = |i: usize, len: usize| format!("{:x<len$}", format!("e{i:05}-"));
    let mut lens = vec![64; N];
    let names = |lens: &[usize]| -> Vec<String> {
        lens.iter().enumerate().map(|(i, l)| named(i, *l)).collect()
    };
    let base = parse(&entries_text(&names(&lens))).expect("well under the limit");
    let base_len = inventory_frame_len(&base.access);
    let limit = MAX_FRAME_LEN as usize;
    assert!(base_len < limit && base_len + 64 * N > limit, "{base_len}");
    // Lengthen names (up to the 128-byte limit) until the frame is exactly at the limit.
    let mut missing = limit - base_len;
    for l in lens.iter_mut() {
        let add = missing.min(128 - *l);
        *l += add;
        missing -= add;
    }
    assert_eq!(missing, 0);
    let at_limit = parse(&entries_text(&names(&lens))).expect("a frame at the limit fits");
    assert_eq!(inventory_frame_len(&at_limit.access), limit);
    // It is exactly what goes on the wire.
    let inv = Inventory {
        targets: at_limit
            .access
            .entries()
            .iter()
            .map(|e| InventoryTarget {
                name: e.name.clone(),
                virtual_host: e.virtual_target.host.clone(),
                port_start: e.virtual_target.first,
                port_end: e.virtual_target.last,
                protocol: TargetProtocol::Tcp,
            })
            .collect(),
    };
    assert_eq!(
        frame::encode_to_vec(&Message::Inventory(inv)).len(),
        4 + limit
    );

    let last = lens.iter().rposition(|l| *l < 128).expect("room left");
    lens[last] += 1;
    match parse(&entries_text(&names(&lens))) {
        Err(ConfigError::InventoryTooLarge { len, .. }) => assert_eq!(len, limit + 1),
        other => panic!("one byte over must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn run_refuses_an_access_list_built_in_code_whose_inventory_does_not_fit() {
    let entries = (0..10_000)
        .map(|i| {
            AccessEntry::new(
                &format!("{i:0>128}"),
                &format!("h{i}.internal:7001"),
                "10.0.0.1:7001",
                Protocol::Tcp,
            )
            .expect("valid entry")
        })
        .collect();
    let mut config = ConnectorConfig::new(std::env::temp_dir().join("portcullis-never-used"));
    config.access = AccessControlList::new(entries).expect("valid list");
    let c = portcullis_connector::spawn(config, None, tokio_util::sync::CancellationToken::new());
    let res = tokio::time::timeout(Duration::from_secs(10), c.join)
        .await
        .expect("stops at once")
        .expect("no panic");
    assert!(
        matches!(
            res,
            Err(ConnectorError::Config(
                ConfigError::InventoryTooLarge { .. }
            ))
        ),
        "{res:?}"
    );
}

#[test]
fn monitoring_intervals_are_configurable_within_bounds() {
    let d = parse(ENTRY).unwrap().monitoring;
    assert_eq!(d.interval, std::time::Duration::from_secs(15));
    assert_eq!(d.disk_interval, std::time::Duration::from_secs(60));
    let c = parse(&format!(
        "[monitoring]\nhardware_interval_ms = 250\ndisk_interval_ms = 1000\n{ENTRY}"
    ))
    .unwrap()
    .monitoring;
    assert_eq!(c.interval, std::time::Duration::from_millis(250));
    assert_eq!(c.disk_interval, std::time::Duration::from_secs(1));
    let e = err(&format!("[monitoring]\ndisk_interval_ms = 10\n{ENTRY}"));
    assert!(
        e.contains("monitoring.disk_interval_ms") && e.contains("100..=3600000"),
        "{e}"
    );
    let e = err(&format!("[monitoring]\nhardware_interval = 15\n{ENTRY}"));
    assert!(
        e.contains("hardware_interval"),
        "misspelt keys are refused: {e}"
    );
}

#[test]
fn the_stream_window_is_configurable_within_bounds() {
    assert_eq!(parse(ENTRY).unwrap().mux.stream_window, 1 << 20);
    let c = parse(&format!("stream_window_kib = 256\n{ENTRY}")).unwrap();
    assert_eq!(c.mux.stream_window, 256 * 1024);
    let e = err(&format!("stream_window_kib = 99999\n{ENTRY}"));
    assert!(
        e.contains("stream_window_kib") && e.contains("64..=16384"),
        "{e}"
    );
}

#[test]
fn access_entries_carry_every_field_and_refuse_what_does_not_fit() {
    let ok = ConnectorConfig::from_toml_str(
        "[[access]]\nname = \"erp\"\nvirtual = \"erp.internal:3200-3201\"\n\
         internal = \"10.0.0.5:3200\"\nprotocol = \"ni\"\nbackend_type = \"abapSys\"\n\
         system_id = \"PRD\"\ndescription = \"SAP GUI\"\n",
        Path::new("/"),
    )
    .unwrap();
    let e = &ok.access.entries()[0];
    assert_eq!(e.protocol, portcullis_domain::access::Protocol::Ni);
    assert_eq!(
        e.options.backend_type,
        portcullis_domain::access::BackendType::AbapSys
    );
    assert_eq!(e.options.system_id.as_deref(), Some("PRD"));
    assert_eq!(e.options.description, "SAP GUI");

    let cases: &[(&str, &str)] = &[
        (
            "protocol = \"ni\"\n",
            "ni is not offered for back-end type nonSAPsys",
        ),
        (
            "protocol = \"ldap\"\nbackend_type = \"hana\"\n",
            "ldap is not offered for back-end type hana",
        ),
        (
            "backend_type = \"mainframe\"\n",
            "`backend_type`: \"mainframe\" is not a back-end type",
        ),
        (
            "host_in_header = \"internal\"\n",
            "`host_in_header`: only HTTP and HTTPS",
        ),
        ("system_id = \"P R D\"\n", "`system_id`"),
        (
            "system_certificate = true\n",
            "`system_certificate`: the system certificate is a TLS client certificate",
        ),
    ];
    for (extra, want) in cases {
        let text = format!(
            "[[access]]\nname = \"x\"\nvirtual = \"x.internal:1\"\ninternal = \"10.0.0.1:1\"\n{extra}"
        );
        let err = ConnectorConfig::from_toml_str(&text, Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{extra:?}: {err}");
        assert!(err.contains("[[access]] entry \"x\""), "{err}");
    }
}

#[test]
fn http_resources_are_parsed_and_checked() {
    let entry = |extra: &str| {
        format!(
            "[[access]]\nname = \"web\"\nvirtual = \"web.internal:80\"\n\
             internal = \"10.0.0.9:8080\"\n{extra}"
        )
    };
    let err = |text: String| {
        ConnectorConfig::from_toml_str(&text, Path::new("/"))
            .unwrap_err()
            .to_string()
    };
    let on_tcp = err(entry("[[access.resources]]\npath = \"/a\"\n"));
    assert!(
        on_tcp.contains("resources are URL paths of HTTP and HTTPS entries"),
        "{on_tcp}"
    );
    let policy = err(entry(
        "protocol = \"http\"\n[[access.resources]]\npath = \"/a\"\npolicy = \"prefix\"\n",
    ));
    assert!(
        policy.contains("\"path_only\" or \"path_and_sub_paths\""),
        "{policy}"
    );
    let path = err(entry(
        "protocol = \"http\"\n[[access.resources]]\npath = \"a\"\n",
    ));
    assert!(path.contains("must start with '/'"), "{path}");
    let twice = err(entry(
        "protocol = \"http\"\n[[access.resources]]\npath = \"/a\"\n[[access.resources]]\npath = \"/a\"\n",
    ));
    assert!(twice.contains("/a is listed twice"), "{twice}");
    // A valid HTTP entry.
    let valid = ConnectorConfig::from_toml_str(
        &entry(
            "protocol = \"http\"\nhost_in_header = \"internal\"\n[[access.resources]]\n\
             path = \"/sap/bc\"\npolicy = \"path_and_sub_paths\"\nwebsocket_upgrade = true\n",
        ),
        Path::new("/"),
    )
    .unwrap();
    let resources = &valid.access.entries()[0].options.resources;
    assert_eq!(resources.len(), 1);
    assert!(resources[0].websocket_upgrade && resources[0].active);
}

#[test]
fn backend_tls_paths_resolve_and_need_a_key_with_the_certificate() {
    let c = ConnectorConfig::from_toml_str(
        "[backend_tls]\ntrust_store = [\"ca.pem\"]\nsystem_certificate = \"sys.pem\"\n\
         system_certificate_key = \"sys.key\"\n",
        Path::new("/etc/pc"),
    )
    .unwrap();
    assert_eq!(
        c.backend_tls.trust_store,
        vec![PathBuf::from("/etc/pc/ca.pem")]
    );
    assert_eq!(
        c.backend_tls.system_certificate,
        Some((
            PathBuf::from("/etc/pc/sys.pem"),
            PathBuf::from("/etc/pc/sys.key")
        ))
    );
    assert!(!c.backend_tls.trust_all);
    let err = ConnectorConfig::from_toml_str(
        "[backend_tls]\nsystem_certificate = \"sys.pem\"\n",
        Path::new("/"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("system_certificate_key"), "{err}");
}

#[test]
fn domain_mappings_are_checked() {
    let c = ConnectorConfig::from_toml_str(
        "[[domain_mapping]]\nvirtual = \"Portal.Example\"\ninternal = \".corp.example\"\n",
        Path::new("/"),
    )
    .unwrap();
    assert_eq!(c.domain_mappings[0].virtual_domain, "portal.example");
    assert_eq!(c.domain_mappings[0].internal_domain, "corp.example");
    for bad in [
        "[[domain_mapping]]\nvirtual = \"a b\"\ninternal = \"c\"\n",
        "[[domain_mapping]]\nvirtual = \"a\"\ninternal = \"c\"\n[[domain_mapping]]\nvirtual = \"b\"\ninternal = \"c\"\n",
    ] {
        let err = ConnectorConfig::from_toml_str(bad, Path::new("/")).unwrap_err().to_string();
        assert!(err.contains("domain_mapping"), "{err}");
    }
}

#[test]
fn the_admin_ui_listens_on_the_loopback_default_and_can_be_turned_off() {
    let default = parse("data_dir = \"d\"\n").unwrap();
    assert_eq!(
        default.admin.listen,
        Some("127.0.0.1:8443".parse().unwrap()),
        "a file without [admin] gets the default"
    );
    let off = parse("data_dir = \"d\"\n[admin]\nlisten = \"\"\n").unwrap();
    assert_eq!(off.admin.listen, None);
    let other = parse("data_dir = \"d\"\n[admin]\nlisten = \"[::1]:9443\"\n").unwrap();
    assert_eq!(other.admin.listen, Some("[::1]:9443".parse().unwrap()));
    let e = err("data_dir = \"d\"\n[admin]\nlisten = \"localhost\"\n");
    assert!(
        e.contains("admin.listen") && e.contains("turns the admin UI off"),
        "{e}"
    );
    assert!(err("data_dir = \"d\"\n[admin]\nport = 1\n").contains("port"));
    assert_eq!(
        ConnectorConfig::new("d").admin.listen,
        None,
        "off when built in code"
    );
}

#[test]
fn the_admin_ui_limits_and_timeouts_have_defaults_and_bounds() {
    use std::time::Duration;
    let d = parse("data_dir = \"d\"\n").unwrap().admin;
    assert_eq!(d.preauth_timeout, Duration::from_secs(10));
    assert_eq!((d.max_preauth, d.max_preauth_per_source), (64, 16));
    assert_eq!(d.idle_timeout, Duration::from_secs(30 * 60));
    assert_eq!(d.absolute_timeout, Duration::from_secs(12 * 3600));
    let set = parse(
        "data_dir = \"d\"\n[admin]\npreauth_timeout_secs = 3\nmax_preauth = 8\n\
         max_preauth_per_source = 2\nidle_timeout_minutes = 5\nabsolute_timeout_hours = 1\n",
    )
    .unwrap()
    .admin;
    assert_eq!(set.preauth_timeout, Duration::from_secs(3));
    assert_eq!((set.max_preauth, set.max_preauth_per_source), (8, 2));
    assert_eq!(set.idle_timeout, Duration::from_secs(300));
    assert_eq!(set.absolute_timeout, Duration::from_secs(3600));
    // A small global cap lowers the per-source default with it.
    let small = parse("data_dir = \"d\"\n[admin]\nmax_preauth = 4\n")
        .unwrap()
        .admin;
    assert_eq!(small.max_preauth_per_source, 4);
    for (toml, name) in [
        ("preauth_timeout_secs = 0", "admin.preauth_timeout_secs"),
        ("max_preauth = 0", "admin.max_preauth"),
        (
            "max_preauth = 4\nmax_preauth_per_source = 5",
            "admin.max_preauth_per_source",
        ),
        ("idle_timeout_minutes = 1441", "admin.idle_timeout_minutes"),
        ("absolute_timeout_hours = 0", "admin.absolute_timeout_hours"),
    ] {
        let e = err(&format!("data_dir = \"d\"\n[admin]\n{toml}\n"));
        assert!(e.contains(name) && e.contains("outside"), "{toml}: {e}");
    }
}

#[test]
fn an_ldap_user_store_is_checked_with_sap_s_group_names_by_default() {
    let base = "data_dir = \"d\"\n[admin]\n[admin.ldap]\ngroup_base = \"ou=groups,dc=x\"\n";
    let c = parse(&format!(
        "{base}url = \"ldaps://dir:636\"\nuser_dn = \"uid={{user}},ou=people,dc=x\"\nca_file = \"ca.pem\"\n"
    ))
    .unwrap()
    .admin
    .ldap
    .expect("[admin.ldap] is read");
    assert_eq!(c.roles.administrator, ["sccadmin", "admin"]);
    assert_eq!(c.roles.display, ["sccdisplay"]);
    assert_eq!(c.roles.monitoring, ["sccmonitoring"]);
    assert_eq!(c.roles.support, ["sccsupport"]);
    assert_eq!(c.group_filter, "(|(member={dn})(uniqueMember={dn}))");
    assert!(
        c.ca_file.unwrap().is_absolute() || cfg!(not(unix)),
        "resolved"
    );
    assert!(!c.keep_file_users, "the directory decides unless told");
    let custom = parse(&format!(
        "{base}url = \"ldap://dir\"\nstarttls = true\nuser_search_base = \"dc=x\"\n\
         user_search_filter = \"(sAMAccountName={{user}})\"\nbind_dn = \"cn=svc\"\n\
         bind_password_file = \"svc.pw\"\n[admin.ldap.roles]\nDisplay = [\"auditors\"]\n"
    ))
    .unwrap()
    .admin
    .ldap
    .unwrap();
    assert_eq!(custom.roles.display, ["auditors"]);
    assert_eq!(custom.roles.administrator, ["sccadmin", "admin"]);
    for (toml, field) in [
        ("url = \"http://dir\"\nuser_dn = \"uid={user}\"", "admin.ldap.url"),
        ("url = \"ldaps://dir\"\nstarttls = true\nuser_dn = \"uid={user}\"", "admin.ldap.starttls"),
        ("url = \"ldap://dir\"\nuser_dn = \"uid=anna\"", "admin.ldap.user_dn"),
        ("url = \"ldap://dir\"", "admin.ldap.user_dn"),
        (
            "url = \"ldap://dir\"\nuser_search_base = \"dc=x\"\nuser_search_filter = \"(uid={user})\"",
            "admin.ldap.bind_dn",
        ),
        (
            "url = \"ldap://dir\"\nuser_dn = \"uid={user}\"\ngroup_filter = \"(cn=x)\"",
            "admin.ldap.group_filter",
        ),
        ("url = \"ldap://dir\"\nuser_dn = \"uid={user}\"\ntimeout_secs = 0", "admin.ldap.timeout_secs"),
    ] {
        let e = err(&format!("{base}{toml}\n"));
        assert!(e.contains(field), "{toml}: {e}");
    }
}

#[test]
fn entry_names_the_admin_ui_uses_for_its_own_pages_are_reserved() {
    for name in ["new", "export", "import", "check"] {
        let e = err(&format!(
            "data_dir = \"d\"\n[[access]]\nname = \"{name}\"\nvirtual = \"a.internal:1\"\ninternal = \"10.0.0.1:1\"\n"
        ));
        assert!(e.contains("reserved") && e.contains(name), "{name}: {e}");
    }
    assert!(parse(
        "data_dir = \"d\"\n[[access]]\nname = \"checkout\"\nvirtual = \"a.internal:1\"\ninternal = \"10.0.0.1:1\"\n"
    )
    .is_ok());
}
