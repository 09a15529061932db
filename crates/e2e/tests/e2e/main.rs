//! The end-to-end scenarios, one module per subject, linked as one test binary: thirty
//! binaries each linking the hub, the connector and the CLI cost minutes of link time on a
//! two-core machine, one costs seconds.
//!
//! Run one subject with `cargo test -p portcullis-e2e --test e2e access::`, one test with its
//! full path (`access::echo_through_socks5_is_audited_with_bytes`).
//!
//! All tests share this process. What that asks of them:
//! - No test changes process-global state (environment variables, the current directory,
//!   rustls' process-wide crypto provider); each hub, connector and back end is its own on
//!   port 0 with its own temporary directory.
//! - The heavy ones (the pre-auth flood, the schemathesis runs) hold
//!   [`portcullis_test_support::serial::heavy`] so that no two of them load the machine at
//!   once; the rest run beside them, as they run beside other builds.

mod access;
mod access_edit;
mod alerts;
mod api;
mod api_fuzz;
mod audit;
mod authz_matrix;
mod backend_tls;
mod backup;
mod connector_audit_full;
mod connector_ui;
mod connector_ui_access;
mod connector_ui_access_browser;
mod connector_ui_access_reach;
mod connector_ui_api_fuzz;
mod connector_ui_api_matrix;
mod connector_ui_audit;
mod connector_ui_backup;
mod connector_ui_browser;
mod connector_ui_certificate;
mod connector_ui_certs;
mod connector_ui_ldap;
mod connector_ui_limits;
mod connector_ui_monitoring;
mod connector_ui_monitoring_api;
mod connector_ui_monitoring_browser;
mod connector_ui_trust;
mod connector_ui_trust_browser;
mod connector_ui_trust_roles;
mod connector_ui_users_api;
mod credentials;
mod enroll;
mod examples;
mod health_report;
mod http_access;
mod http_path;
mod hub_backup;
mod independent_opening;
mod ldap;
mod lifecycle;
mod limits;
mod metrics;
mod monitoring;
mod names;
mod network_status;
mod ni_entry;
mod operator_cert;
mod portal;
mod portal_admin;
mod portal_admin_browser;
mod portal_audit;
mod portal_audit_browser;
mod portal_browser;
mod portal_companies;
mod portal_list;
mod portal_list_browser;
mod portal_live;
mod portal_oidc;
mod portal_oidc_browser;
mod portal_system_admin;
mod portal_timeout_browser;
mod portal_tokens;
mod portal_totp;
mod portal_vendor;
mod portal_windows;
mod preauth_flood;
mod quickstart;
mod reachability;
mod renewal;
mod revocation;
mod robustness;
mod route_password;
mod router_pysap;
mod shutdown;
mod web_entry;
mod windows;
