//! The connector's REST API against its own generated OpenAPI document: schemathesis (the
//! third-party schema-driven fuzzer of `api_fuzz`) reads `GET /api/v1/openapi.json` from a
//! real connector and sends what it allows and what it does not to every operation, as the
//! Administrator. Every answer must be one the document describes (status, content type,
//! schema), no answer a 5xx, and input the document forbids must be refused. So the document
//! the code generates is checked against what the code does.
//!
//! Left out of the run: what would end the run's own access (a new one-time password for the
//! Administrator makes every later call 403; a replaced UI certificate fails the fuzzer's TLS
//! check). The matrix test (`connector_ui_api_matrix`) checks who may call what.

use super::api_fuzz::{assert_clean, schemathesis_run};
use super::connector_ui::{first_logon, world, NEW_PASSWORD};

/// As the hub's run, but `ignored_auth`: the fuzzer's wrong credentials would slow the
/// Administrator's own logons down (the throttle) for the rest of the run.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,\
                      negative_data_rejection,missing_required_header,unsupported_method";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_api_answers_only_as_its_generated_document_says() {
    let _heavy = portcullis_test_support::serial::heavy().await;
    let mut w = world().await;
    let c = w.client();
    first_logon(&c, "Administrator", &w.initial_password()).await;
    // Something behind the paths with names: a window, an entry, a trust store file.
    w.open_window().await;
    let basic = base64_basic("Administrator", NEW_PASSWORD);
    let addr = w.conn.admin_addr().expect("the admin UI listens");
    let doc = format!("https://{addr}/api/v1/openapi.json");
    let auth = format!("Authorization: Basic {basic}");
    let args = [
        "--exclude-path=/api/v1/users/{name}/reset",
        "--exclude-path=/api/v1/ui-certificate",
        "--phases",
        "examples,coverage,fuzzing",
    ];
    let run = schemathesis_run(&doc, &w.ui_cert(), Some(&auth), CHECKS, 6, &args).await;
    assert_clean("connector Administrator", run);
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
