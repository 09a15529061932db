//! No 500 from input: schemathesis, a third-party schema-driven fuzzer, sends what the hub's
//! own OpenAPI document allows and what it does not (wrong types, huge numbers, odd unicode,
//! missing bodies, ids that do not exist …) to every operation, and checks that no answer is
//! a 5xx and that every answer is one the document describes (status, content type, schema).
//!
//! The fuzzer comes from `scripts/apifuzz-venv` (which `scripts/test` and so CI call); the
//! test downloads nothing itself. `PORTCULLIS_SCHEMATHESIS` names another schemathesis binary.
//! Bounded: few examples per operation, a time budget per run, a deterministic seed, requests
//! only to the hub on 127.0.0.1. `docs/testing.md` says how to run it alone.

use std::path::PathBuf;
use std::time::Duration;

use portcullis_client::requests::{NewServiceConnection, NewUser, OpenWindow};
use portcullis_domain::authz::Role;
use portcullis_test_support::TestHub;
use serde_json::{json, Value};

/// Seed for every run: the same requests each time, so a failure reproduces.
const SEED: &str = "20261207";

/// What every answer is checked for: no 5xx; status, content type, headers and body as the
/// document says; input the document forbids is refused (4xx); a missing required header or
/// an undocumented method is refused; an operation that needs a token refuses a request
/// without one. Not `positive_data_acceptance`: the document does not spell out every rule the
/// handlers apply (a name's characters, a contact's length …), so a valid-looking request may
/// rightly be refused with a 400.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,\
                      negative_data_rejection,missing_required_header,unsupported_method,\
                      ignored_auth";

/// The longest one schemathesis run may take before the test fails (it is killed).
const RUN_DEADLINE: Duration = Duration::from_secs(100);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schemathesis() -> PathBuf {
    if let Some(p) = std::env::var_os("PORTCULLIS_SCHEMATHESIS") {
        return PathBuf::from(p);
    }
    let bin = workspace().join("target/apifuzz-venv/bin/schemathesis");
    assert!(
        bin.exists(),
        "schemathesis is not installed: run ./scripts/apifuzz-venv (./scripts/test does) or \
         set PORTCULLIS_SCHEMATHESIS"
    );
    bin
}

/// Operations a fuzzer must not call with the admin's token while the same run goes on: a
/// random small id may be the admin's own user or token, and disabling or revoking it turns
/// every later request of the run into a 401 (which would pass, but test nothing). They are
/// fuzzed by [`destructive_operations_on_a_hub_of_their_own`].
const DESTRUCTIVE: &[&str] = &[
    "POST /api/v1/users/{id}/disable",
    "POST /api/v1/tokens/{id}/revoke",
    // May take the admin's role away.
    "PATCH /api/v1/users/{id}",
];

/// Runs `schemathesis run` against the hub's document with `token` (none: anonymous), at most
/// `examples` generated cases per operation and phase; `extra` adds options (which
/// operations, which phases). Returns whether it passed, and its report.
async fn fuzz(hub: &TestHub, token: Option<&str>, examples: u32, extra: &[&str]) -> (bool, String) {
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let doc = format!("{}/api/v1/openapi.json", hub.api_url);
    schemathesis_run(&doc, &hub.ca_pem, auth.as_deref(), CHECKS, examples, extra).await
}

/// Runs `schemathesis run` against the document at `doc`, trusting `ca_pem`, with the header
/// `auth` on every request (none: anonymous), the `checks`, at most `examples` generated
/// cases per operation and phase, and the `extra` options. Returns whether it passed, and
/// its report. Also the connector's API fuzz test's runner.
pub async fn schemathesis_run(
    doc: &str,
    ca_pem: &str,
    auth: Option<&str>,
    checks: &str,
    examples: u32,
    extra: &[&str],
) -> (bool, String) {
    let work = tempfile::tempdir().expect("temp dir");
    let ca = work.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).expect("write CA");
    let mut cmd = tokio::process::Command::new(schemathesis());
    cmd.current_dir(work.path())
        // Loopback only: no proxy may carry the fuzzer's requests elsewhere.
        .env("NO_PROXY", "*")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .arg("--config-file")
        .arg(workspace().join("tests/apifuzz/schemathesis.toml"))
        .arg("run")
        .arg(doc)
        .arg("--tls-verify")
        .arg(&ca)
        .args(["--checks", checks])
        .args(["--max-examples", &examples.to_string()])
        .args(["--seed", SEED, "--generation-database", "none"])
        // Each request may take 20 s (the hub's own deadline is 30 s; a loaded CI machine
        // is slow, which is not what this test is about). A network error is tried once
        // more: the hub may close an idle keep-alive connection just as the fuzzer reuses
        // it (schemathesis resends only on some of the errors that causes). A crashing
        // handler fails the retry too.
        .args(["--request-timeout", "20", "--request-retries", "1"])
        // One worker: schemathesis 4.32 on Python 3.11 fails with an internal error
        // ("AST constructor recursion depth mismatch") when two generate at once.
        .args(["--workers", "1", "--no-color", "--output-truncate", "false"])
        .args(extra)
        .kill_on_drop(true);
    if let Some(h) = auth {
        cmd.arg("--header").arg(h);
    }
    let out = tokio::time::timeout(RUN_DEADLINE, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis did not finish within {RUN_DEADLINE:?}"))
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// `--exclude-name` (or `--include-name`) for each of `ops`.
fn names(option: &str, ops: &[&str]) -> Vec<String> {
    ops.iter()
        .map(|op| format!("--{option}-name={op}"))
        .collect()
}

/// A little of everything, so paths with ids have something to hit: company `acme` (and its
/// systems, types, connections, windows, grants, tokens, users), a connector and a revoked
/// one. Returns a company admin's token.
async fn some_data(hub: &TestHub) -> String {
    hub.company("acme").await;
    hub.connector("acme", "berlin").await;
    let (revoked, _) = hub.connector("acme", "hamburg").await;
    let _: Value = hub
        .company_admin("acme")
        .await
        .post(&format!("/api/v1/connectors/{revoked}/revoke"), &json!({}))
        .await
        .unwrap();
    let system = hub.system("acme", "PRD").await;
    let sc = hub
        .service(
            &system,
            &NewServiceConnection::new("generic_tcp", "berlin", "erp.internal", 3200),
        )
        .await;
    hub.company_admin("acme")
        .await
        .open_window(sc.id, &OpenWindow::now("Bob"))
        .await
        .unwrap();
    hub.token("acme", "ci").await;
    let _: Value = hub
        .company_admin("acme")
        .await
        .post(
            "/api/v1/users",
            &json!({"company": "acme", "name": "bot", "role": "technical"}),
        )
        .await
        .unwrap();
    let _: Value = hub
        .company_admin("acme")
        .await
        .post(
            &format!("/api/v1/service-connections/{}/grants", sc.id),
            &json!({"user": "bot"}),
        )
        .await
        .unwrap();
    hub.user_with_token(NewUser::new("carol", Role::CompanyAdmin).in_company("acme"))
        .await
        .1
}

fn admin_token(hub: &TestHub) -> String {
    std::fs::read_to_string(hub.data_dir().join(portcullis_hub::ADMIN_TOKEN_FILE))
        .unwrap()
        .trim()
        .to_owned()
}

pub fn assert_clean(who: &str, (ok, report): (bool, String)) {
    println!("--- schemathesis as {who} ---\n{report}");
    assert!(ok, "schemathesis found failures as {who}:\n{report}");
}

/// Three callers, on the same data: the vendor admin, who may call everything (every
/// operation but the ones that would lock him out of the rest of the run); a company admin
/// (the authorization rules' other side: 403 and 404 where the vendor admin got 2xx); and
/// nobody, on the operations that need no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_input_makes_the_api_fail_or_answer_off_the_document() {
    // Schemathesis keeps a core busy per run and each run has a deadline.
    let _heavy = portcullis_test_support::serial::heavy().await;
    let hub = TestHub::start().await;
    let carol = some_data(&hub).await;
    let admin = admin_token(&hub);
    let without_destructive = names("exclude", DESTRUCTIVE);
    let with = |phases: &'static str| {
        let mut args: Vec<&str> = without_destructive.iter().map(String::as_str).collect();
        args.extend(["--phases", phases]);
        args
    };
    let all_phases = with("examples,coverage,fuzzing");
    // The coverage phase's cases do not depend on who asks: a few fuzzed cases only, to
    // keep time.
    let fuzzing = with("examples,fuzzing");
    let anonymous = ["--include-by", "/security == []"];
    // At once, to keep time: each run is one Python process on one core. What one run
    // changes (a system deleted) the others may see; no answer may be a 5xx either way.
    let (vendor, company, nobody) = tokio::join!(
        fuzz(&hub, Some(&admin), 8, &all_phases),
        fuzz(&hub, Some(&carol), 4, &fuzzing),
        fuzz(&hub, None, 8, &anonymous),
    );
    assert_clean("vendor admin", vendor);
    assert_clean("company admin", company);
    assert_clean("nobody", nobody);
}

/// The operations left out above, on a hub of their own, as the vendor admin: whatever they
/// disable or revoke (the admin himself included), they answer 2xx or a documented 4xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destructive_operations_on_a_hub_of_their_own() {
    // Schemathesis keeps a core busy per run and each run has a deadline.
    let _heavy = portcullis_test_support::serial::heavy().await;
    let hub = TestHub::start().await;
    some_data(&hub).await;
    let only = names("include", DESTRUCTIVE);
    let mut args: Vec<&str> = only.iter().map(String::as_str).collect();
    // Their coverage phase alone takes half a minute (every combination of authorizations):
    // fuzzing, which sends wrong and right input too, is enough here.
    args.extend(["--phases", "examples,fuzzing"]);
    assert_clean(
        "vendor admin (destructive operations)",
        fuzz(&hub, Some(&admin_token(&hub)), 8, &args).await,
    );
}
