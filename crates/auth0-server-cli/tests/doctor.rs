//! `auth0-server doctor`, the real binary, against the real OpenID provider
//! (`OIDC_PROVIDER_ISSUER`, scripts/oidc-provider.sh), the dev tenant (in-process), and the
//! real Redis and PostgreSQL (`REDIS_URL`, `DATABASE_URL`; scripts/redis.sh,
//! scripts/postgres.sh). A service that is absent fails the test. An HTTP stub stands in for
//! the tenant only where a real one cannot misbehave (a skewed clock, an unknown algorithm).
//!
//! Each environment starts empty (no variable of the test process, no `.env`), so that
//! only what a test sets is seen.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use auth0_dev_tenant::{DevTenant, RunningDevTenant};
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::{self, AssertSqlSafe};
use auth0_test_support::oidc::Provider;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use url::Url;

/// The app's callback in every configuration.
const CALLBACK: &str = "http://localhost:5000/callback";
/// A strong session secret.
const SECRET: &str = "0f8e3a1c9b7d65422e4f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d";
/// The dev tenant's API.
const API: &str = "https://api.example.com";

/// What the binary printed and how it ended.
struct Run {
    code: Option<i32>,
    json: Value,
    stderr: String,
}

impl Run {
    /// The finding of `check` (the last one, when a check appears twice).
    fn finding(&self, check: &str) -> &Value {
        self.json["findings"]
            .as_array()
            .and_then(|f| f.iter().rev().find(|f| f["check"] == check))
            .unwrap_or_else(|| panic!("no {check} finding in {:#}", self.json))
    }

    fn status(&self, check: &str) -> &str {
        self.finding(check)["status"].as_str().unwrap_or_default()
    }

    /// Asserts `check` is a problem with a fix, and the exit status 1.
    fn assert_problem(&self, check: &str, says: &str) {
        let finding = self.finding(check);
        assert_eq!(finding["status"], "problem", "{finding:#}");
        assert!(
            finding["what"].as_str().unwrap().contains(says),
            "{finding:#}"
        );
        assert!(!finding["fix"].as_str().unwrap().is_empty(), "{finding:#}");
        assert!(
            !finding["symptom"].as_str().unwrap().is_empty(),
            "{finding:#}"
        );
        assert_eq!(self.code, Some(1), "{:#}", self.json);
        assert_eq!(self.json["ok"], false);
        assert!(self.stderr.contains("doctor found"), "{}", self.stderr);
    }

    fn assert_passes(&self) {
        assert_eq!(self.code, Some(0), "{:#}\n{}", self.json, self.stderr);
        assert_eq!(self.json["ok"], true);
        assert_eq!(self.json["problems"], 0);
    }
}

/// Runs `auth0-server doctor --json` with only `vars` in its environment, in an empty
/// directory (no `.env`), off the async runtime.
async fn doctor(vars: BTreeMap<&'static str, String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let dir =
            std::env::temp_dir().join(format!("doctor-{}", auth0_server_core::generate_secret()));
        std::fs::create_dir_all(&dir).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_auth0-server"))
            .args(["doctor", "--json", "--timeout", "5"])
            .env_clear()
            .envs(vars)
            .current_dir(&dir)
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let stdout = String::from_utf8(output.stdout).unwrap();
        Run {
            code: output.status.code(),
            json: serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}

fn stub_vars(domain: String) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("AUTH0_DOMAIN", domain),
        ("AUTH0_CLIENT_ID", "cid".to_owned()),
        ("AUTH0_CLIENT_SECRET", "csecret".to_owned()),
        ("AUTH0_SECRET", SECRET.to_owned()),
        ("AUTH0_REDIRECT_URI", CALLBACK.to_owned()),
    ])
}

/// The real provider; the test fails without it.
fn provider() -> Provider {
    Provider::from_env().expect(
        "OIDC_PROVIDER_ISSUER is not set: start the provider with \
         export OIDC_PROVIDER_ISSUER=\"$(scripts/oidc-provider.sh start | tail -n 1)\"",
    )
}

fn service_url(variable: &str, script: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: start one with eval \"$(scripts/{script} start)\"")
    })
}

/// A good configuration for a client registered at the provider.
async fn provider_vars(provider: &Provider) -> BTreeMap<&'static str, String> {
    let app = Url::parse("http://localhost:5000/").unwrap();
    let (id, secret) = provider.register(&app, "doctor", "").await;
    BTreeMap::from([
        ("AUTH0_DOMAIN", provider.issuer.clone()),
        ("AUTH0_CLIENT_ID", id),
        ("AUTH0_CLIENT_SECRET", secret),
        ("AUTH0_SECRET", SECRET.to_owned()),
        ("AUTH0_REDIRECT_URI", CALLBACK.to_owned()),
    ])
}

/// A dev tenant that knows [`CALLBACK`] and [`API`], and a good configuration for it.
async fn dev_tenant() -> (RunningDevTenant, BTreeMap<&'static str, String>) {
    let tenant = DevTenant::builder()
        .port(0)
        .redirect_uri(CALLBACK)
        .audience(API)
        .start()
        .await
        .unwrap();
    let vars = BTreeMap::from([
        ("AUTH0_DOMAIN", tenant.domain().to_owned()),
        ("AUTH0_CLIENT_ID", tenant.client_id().to_owned()),
        ("AUTH0_CLIENT_SECRET", tenant.client_secret().to_owned()),
        ("AUTH0_SECRET", SECRET.to_owned()),
        ("AUTH0_REDIRECT_URI", CALLBACK.to_owned()),
        ("AUTH0_AUDIENCE", API.to_owned()),
        (
            "AUTH0_SCOPE",
            "openid profile email offline_access".to_owned(),
        ),
    ]);
    (tenant, vars)
}

#[tokio::test(flavor = "multi_thread")]
async fn good_configuration_passes_against_the_oidc_provider_with_a_migrated_postgres() {
    let provider = provider();
    let mut vars = provider_vars(&provider).await;
    let database = service_url("DATABASE_URL", "postgres.sh");
    PostgresBackend::connect(&database).await.unwrap(); // migrates
    vars.insert("AUTH0_SESSION_STORE", "postgres".to_owned());
    vars.insert("DATABASE_URL", database);
    let run = doctor(vars).await;
    run.assert_passes();
    for check in [
        "secret",
        "domain",
        "discovery",
        "clock_skew",
        "id_token_algorithm",
    ] {
        assert_eq!(run.status(check), "ok", "{check}: {:#}", run.json);
    }
    for check in [
        "redirect_uri",
        "client_credentials",
        "cookies",
        "session_store",
    ] {
        assert_eq!(run.status(check), "ok", "{check}: {:#}", run.json);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn good_configuration_passes_against_the_dev_tenant_with_redis() {
    let (tenant, mut vars) = dev_tenant().await;
    vars.insert("AUTH0_SESSION_STORE", "redis".to_owned());
    vars.insert("REDIS_URL", service_url("REDIS_URL", "redis.sh"));
    let run = doctor(vars).await;
    run.assert_passes();
    assert_eq!(run.status("access_tokens"), "ok", "{:#}", run.json);
    assert_eq!(run.status("session_store"), "ok", "{:#}", run.json);
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_client_secret_is_told_from_an_unknown_code() {
    let provider = provider();
    let mut vars = provider_vars(&provider).await;
    vars.insert("AUTH0_CLIENT_SECRET", "not-the-secret".to_owned());
    doctor(vars)
        .await
        .assert_problem("client_credentials", "invalid_client");

    let (tenant, mut vars) = dev_tenant().await;
    vars.insert("AUTH0_CLIENT_SECRET", "not-the-secret".to_owned());
    doctor(vars)
        .await
        .assert_problem("client_credentials", "invalid_client");
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unregistered_redirect_uri_is_reported() {
    let other = "http://localhost:5001/callback".to_owned();
    let provider = provider();
    let mut vars = provider_vars(&provider).await;
    vars.insert("AUTH0_REDIRECT_URI", other.clone());
    doctor(vars).await.assert_problem("redirect_uri", &other);

    let (tenant, mut vars) = dev_tenant().await;
    vars.insert("AUTH0_REDIRECT_URI", other.clone());
    doctor(vars).await.assert_problem("redirect_uri", &other);
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_audience_is_reported() {
    let (tenant, mut vars) = dev_tenant().await;
    vars.insert("AUTH0_AUDIENCE", "https://unknown.example.com".to_owned());
    doctor(vars)
        .await
        .assert_problem("authorization_request", "refuses the login");
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audience_without_offline_access_is_reported() {
    let (tenant, mut vars) = dev_tenant().await;
    vars.insert("AUTH0_SCOPE", "openid profile email".to_owned());
    doctor(vars)
        .await
        .assert_problem("access_tokens", "offline_access");
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn domain_with_a_scheme_or_a_path_is_reported() {
    let (tenant, mut vars) = dev_tenant().await;
    let host = tenant.domain().trim_start_matches("http://").to_owned();
    vars.insert("AUTH0_DOMAIN", format!("https://{host}"));
    doctor(vars.clone())
        .await
        .assert_problem("domain", "has a scheme");
    vars.insert(
        "AUTH0_DOMAIN",
        "my-tenant.eu.auth0.com/authorize".to_owned(),
    );
    let run = doctor(vars).await;
    run.assert_problem("domain", "has a path");
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_or_weak_secret_is_reported_and_the_other_checks_still_run() {
    let (tenant, mut vars) = dev_tenant().await;
    vars.remove("AUTH0_SECRET");
    let run = doctor(vars.clone()).await;
    run.assert_problem("secret", "not set");
    assert_eq!(run.status("client_credentials"), "ok", "{:#}", run.json);
    vars.insert("AUTH0_SECRET", "short".to_owned());
    doctor(vars.clone())
        .await
        .assert_problem("secret", "too short");
    vars.insert("AUTH0_SECRET", "a".repeat(40));
    doctor(vars.clone()).await.assert_problem("secret", "weak");
    let placeholder = "use [openssl rand -hex 32] to generate a 32 bytes value";
    vars.insert("AUTH0_SECRET", placeholder.to_owned());
    let run = doctor(vars).await;
    run.assert_problem("secret", "weak");
    let printed = run.json.to_string();
    assert!(
        !printed.contains("openssl rand"),
        "the secret is printed: {printed}"
    );
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn http_redirect_on_another_host_would_set_secure_cookies() {
    let (tenant, mut vars) = dev_tenant().await;
    vars.insert(
        "AUTH0_REDIRECT_URI",
        "http://app.example.com/callback".to_owned(),
    );
    doctor(vars).await.assert_problem("cookies", "Secure");
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn session_store_down_is_reported() {
    let (tenant, mut vars) = dev_tenant().await;
    vars.insert("AUTH0_SESSION_STORE", "redis".to_owned());
    vars.insert("REDIS_URL", "redis://127.0.0.1:1".to_owned());
    doctor(vars.clone())
        .await
        .assert_problem("session_store", "cannot be reached");
    vars.insert("AUTH0_SESSION_STORE", "postgres".to_owned());
    vars.insert(
        "DATABASE_URL",
        "postgres://auth0:hunter2@127.0.0.1:1/auth0".to_owned(),
    );
    let run = doctor(vars).await;
    run.assert_problem("session_store", "cannot be reached");
    assert!(
        !run.json.to_string().contains("hunter2"),
        "password printed"
    );
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_not_migrated_is_reported() {
    let database = service_url("DATABASE_URL", "postgres.sh");
    let pool = sqlx::PgPool::connect(&database).await.unwrap();
    let name = format!("doctor_{}", &auth0_server_core::generate_secret()[..12]);
    let create = sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")));
    create.execute(&pool).await.unwrap();
    let mut empty = Url::parse(&database).unwrap();
    empty.set_path(&name);

    let (tenant, mut vars) = dev_tenant().await;
    vars.insert("AUTH0_SESSION_STORE", "postgres".to_owned());
    vars.insert("DATABASE_URL", empty.to_string());
    doctor(vars)
        .await
        .assert_problem("session_store", "not migrated");
    tenant.shutdown().await;
    let drop = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE {name}")));
    drop.execute(&pool).await.unwrap();
}

/// A tenant stub that answers every request with its discovery document, a `Date` that is
/// `skew` behind, and ID tokens signed with `algorithms` only; its issuer is `issuer`, else
/// its own URL.
async fn stub_tenant(
    skew: Duration,
    algorithms: &'static [&'static str],
    issuer: Option<&'static str>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let document = discovery_document(&base, issuer, algorithms);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let date = httpdate::fmt_http_date(SystemTime::now() - skew);
            let response = format!(
                "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{document}",
                document.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    base
}

/// A discovery document of a tenant at `base`.
fn discovery_document(base: &str, issuer: Option<&str>, algorithms: &[&str]) -> String {
    serde_json::json!({
        "issuer": issuer.map_or_else(|| format!("{base}/"), str::to_owned),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": algorithms,
    })
    .to_string()
}

/// A tenant stub whose first discovery answer is good, and whose every later answer (the
/// doctor's own second read of discovery, the authorization request) is an endless chunked
/// body. Returns its URL and how many bytes it has written.
async fn endless_tenant() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let document = discovery_document(&base, None, &["RS256"]);
    let written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&written);
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.read(&mut [0u8; 4096]).await;
            if std::mem::take(&mut first) {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    document.len()
                );
                let _ = socket.write_all((head + &document).as_bytes()).await;
                continue;
            }
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let head = "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n";
                let chunk = format!("10000\r\n{}\r\n", "a".repeat(0x10000));
                let mut result = socket.write_all(head.as_bytes()).await;
                while result.is_ok() {
                    result = socket.write_all(chunk.as_bytes()).await;
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    (base, written)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_with_endless_answers_is_read_no_further_than_needed() {
    let (base, written) = endless_tenant().await;
    let run = doctor(stub_vars(base)).await;
    assert_eq!(run.status("discovery"), "ok", "{:#}", run.json);
    run.assert_problem("authorization_request", "HTTP 400");
    // The doctor reads a few KiB of an error page and at most 1 MiB of discovery; what the
    // stub wrote beyond that is what the sockets buffer. Read to the timeout (5 s) it is GBs.
    let written = written.load(Ordering::Relaxed);
    assert!(
        written < 64 << 20,
        "{written} bytes read from endless bodies"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn skewed_clock_and_an_algorithm_outside_the_allow_list_are_reported() {
    let base = stub_tenant(Duration::from_secs(3600), &["HS256"], None).await;
    let run = doctor(stub_vars(base)).await;
    run.assert_problem("clock_skew", "ahead of");
    run.assert_problem("id_token_algorithm", "HS256");

    let base = stub_tenant(Duration::ZERO, &["RS256"], None).await;
    let run = doctor(stub_vars(base)).await;
    assert_eq!(run.status("clock_skew"), "ok", "{:#}", run.json);
    assert_eq!(run.status("id_token_algorithm"), "ok", "{:#}", run.json);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_discovery_is_a_problem_and_the_checks_after_it_do_not_run() {
    let run = doctor(stub_vars("http://127.0.0.1:1".to_owned())).await;
    run.assert_problem("discovery", "cannot be had");
    assert_eq!(
        run.status("client_credentials"),
        "not_run",
        "{:#}",
        run.json
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_issuer_in_discovery_is_reported() {
    let other = "https://other-tenant.eu.auth0.com/";
    let base = stub_tenant(Duration::ZERO, &["RS256"], Some(other)).await;
    doctor(stub_vars(base))
        .await
        .assert_problem("issuer", "other-tenant.eu.auth0.com");
}

#[test]
fn text_report_names_each_problem_and_its_fix() {
    let dir = std::env::temp_dir().join(format!("doctor-{}", auth0_server_core::generate_secret()));
    std::fs::create_dir_all(&dir).unwrap();
    // A `.env` is read, as the quickstart reads it.
    std::fs::write(
        dir.join(".env"),
        "AUTH0_DOMAIN=https://tenant.eu.auth0.com\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_auth0-server"))
        .args(["doctor", "--timeout", "1"])
        .env_clear()
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("PROBLEM secret"), "{text}");
    assert!(
        text.contains("fix: set AUTH0_DOMAIN=tenant.eu.auth0.com"),
        "{text}"
    );
    assert!(text.contains("problems found."), "{text}");
}

/// An EC P-256 key pair: the private JWK (as `AUTH0_CLIENT_ASSERTION_SIGNING_KEY` takes it)
/// and the public one (as the provider registers it).
fn ec_key() -> (String, Value) {
    use josekit::jwk::KeyPair as _;
    let pair = josekit::jws::ES256.generate_key_pair().unwrap();
    let public = Value::Object(pair.to_jwk_public_key().as_ref().clone());
    (pair.to_jwk_private_key().to_string(), public)
}

#[tokio::test(flavor = "multi_thread")]
async fn private_key_jwt_credentials_are_checked_too() {
    let provider = provider();
    let (private, public) = ec_key();
    let app = Url::parse("http://localhost:5000/").unwrap();
    let id = provider
        .register_private_key_jwt(&app, "doctor-pkjwt", &public, "ES256")
        .await;
    let mut vars = BTreeMap::from([
        ("AUTH0_DOMAIN", provider.issuer.clone()),
        ("AUTH0_CLIENT_ID", id),
        ("AUTH0_CLIENT_ASSERTION_SIGNING_KEY", private),
        ("AUTH0_SECRET", SECRET.to_owned()),
        ("AUTH0_REDIRECT_URI", CALLBACK.to_owned()),
    ]);
    let d: Value = serde_json::from_str(&vars["AUTH0_CLIENT_ASSERTION_SIGNING_KEY"]).unwrap();
    let run = doctor(vars.clone()).await;
    run.assert_passes();
    let private_part = d["d"].as_str().unwrap();
    assert!(
        !run.json.to_string().contains(private_part),
        "the key is printed"
    );
    assert!(
        run.finding("client_credentials")["what"]
            .as_str()
            .unwrap()
            .contains("private_key_jwt"),
        "{:#}",
        run.json
    );
    let (other, _) = ec_key();
    vars.insert("AUTH0_CLIENT_ASSERTION_SIGNING_KEY", other);
    doctor(vars)
        .await
        .assert_problem("client_credentials", "invalid_client");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_that_never_answers_is_given_up_on_after_the_timeout() {
    // Connections are accepted and held, never answered.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = std::time::Instant::now();
    let run = doctor(stub_vars(base)).await;
    run.assert_problem("discovery", "cannot be had");
    // `--timeout 5`, not the client's default request timeout (15 s).
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
}

/// `doctor` in text and in JSON with only `vars`: both outputs (stdout and stderr) together.
fn both_outputs(vars: &BTreeMap<&'static str, String>) -> String {
    let mut all = String::new();
    for args in [
        &["doctor", "--timeout", "2"][..],
        &["doctor", "--json", "--timeout", "2"],
    ] {
        let dir =
            std::env::temp_dir().join(format!("doctor-{}", auth0_server_core::generate_secret()));
        std::fs::create_dir_all(&dir).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_auth0-server"))
            .args(args)
            .env_clear()
            .envs(vars.clone())
            .current_dir(&dir)
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        all.push_str(&String::from_utf8_lossy(&output.stdout));
        all.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn no_password_in_a_setting_is_printed() {
    let (tenant, mut vars) = dev_tenant().await;
    vars.insert("AUTH0_CLIENT_SECRET", "clientpw-4d1f".to_owned());
    vars.insert(
        "AUTH0_REDIRECT_URI",
        "http://user:redirectpw-9c2e@localhost:5000/callback".to_owned(),
    );
    vars.insert("AUTH0_SESSION_STORE", "redis".to_owned());
    vars.insert("REDIS_URL", "redis://:redispw-77ab@127.0.0.1:1".to_owned());
    let passwords = [
        "clientpw-4d1f",
        "redirectpw-9c2e",
        "redispw-77ab",
        "domainpw-e5a0",
    ];
    let printed = tokio::task::spawn_blocking({
        let vars = vars.clone();
        move || both_outputs(&vars)
    })
    .await
    .unwrap();
    for password in passwords {
        assert!(!printed.contains(password), "{password} printed: {printed}");
    }
    let host = tenant.domain().trim_start_matches("http://").to_owned();
    for domain in [
        format!("admin:domainpw-e5a0@{host}"),
        format!("http://admin:domainpw-e5a0@{host}"),
        "https://admin:domainpw-e5a0@my-tenant.eu.auth0.com/x y".to_owned(),
    ] {
        vars.insert("AUTH0_DOMAIN", domain);
        let printed = tokio::task::spawn_blocking({
            let vars = vars.clone();
            move || both_outputs(&vars)
        })
        .await
        .unwrap();
        for password in passwords {
            assert!(!printed.contains(password), "{password} printed: {printed}");
        }
        assert!(printed.contains("credentials"), "{printed}");
    }
    tenant.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_providers_control_characters_never_reach_the_terminal() {
    let issuer = "https://other-tenant.eu.auth0.com/\u{1b}[2J\r\nok      forged   all is well";
    let base = stub_tenant(Duration::ZERO, &["HS256\u{1b}]0;title\u{7}"], Some(issuer)).await;
    let vars = stub_vars(base);
    let printed = tokio::task::spawn_blocking(move || both_outputs(&vars))
        .await
        .unwrap();
    assert!(printed.contains("other-tenant.eu.auth0.com"), "{printed}");
    for control in ['\u{1b}', '\r', '\u{7}'] {
        assert!(
            !printed.contains(control),
            "{control:?} printed: {printed:?}"
        );
    }
    assert!(
        !printed.lines().any(|l| l.starts_with("ok      forged")),
        "a forged line: {printed}"
    );
}
