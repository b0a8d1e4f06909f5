//! `auth0-server sessions list|revoke`, run as an operator would run it, against the Redis
//! and PostgreSQL the app uses (REDIS_URL and DATABASE_URL must be set: `scripts/redis.sh
//! start`, `scripts/postgres.sh start`; a missing service fails the test).

use std::process::{Command, Stdio};
use std::sync::Arc;

use auth0_server::stores::{PostgresBackend, RedisBackend};
use auth0_server_core::Secrets;
use auth0_server_core::model::{StateData, UserClaims};
use auth0_server_core::seal::random_bytes;
use auth0_server_core::store::{
    ServerSideStateStore, SessionBackend, SessionMetadata, StateStore, StoreContext,
};

const SECRET: &str = "cli-sessions-secret-that-is-long-enough-0123";
const DOMAIN: &str = "tenant.cli.example";
const IDENTIFIER: &str = "_a0_session";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn auth0_server(args: &[&str], store: &str, url_var: &str, url: &str) -> Run {
    auth0_server_with(SECRET, args, store, url_var, url)
}

fn auth0_server_with(secret: &str, args: &[&str], store: &str, url_var: &str, url: &str) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_auth0-server"))
        .args(args)
        .env_clear()
        .env("AUTH0_SECRET", secret)
        .env("AUTH0_DOMAIN", DOMAIN)
        .env("AUTH0_SESSION_STORE", store)
        .env(url_var, url)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn unique(prefix: &str) -> String {
    let bytes: [u8; 6] = random_bytes();
    format!(
        "{prefix}|{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Logs `sub` in once; returns the session cookie (name, value).
async fn login(store: &dyn StateStore, name: &str, sub: &str, agent: &str) -> (String, String) {
    let mut state = StateData {
        user: Some(UserClaims {
            sub: sub.to_owned(),
            ..UserClaims::default()
        }),
        domain: Some(DOMAIN.to_owned()),
        ..StateData::default()
    };
    state.internal.sid = unique("sid");
    state.internal.created_at =
        auth0_server_core::clock::unix_seconds(std::time::SystemTime::now());
    SessionMetadata::new()
        .with("user_agent", agent)
        .store_in(&mut state.internal);
    let cx = StoreContext::new();
    store
        .set(IDENTIFIER, &state, true, &cx)
        .await
        .expect("login");
    (name.to_owned(), cx.cookie(name).expect("a session cookie"))
}

async fn is_live(store: &dyn StateStore, cookie: &(String, String)) -> bool {
    let cx = StoreContext::from_cookies([(cookie.0.clone(), cookie.1.clone())]);
    store.get(IDENTIFIER, &cx).await.expect("read").is_some()
}

async fn list_and_revoke<B: SessionBackend>(
    backend: B,
    store_name: &str,
    url_var: &str,
    url: &str,
) {
    let secrets = Secrets::parse(SECRET).expect("secret");
    let server_side = ServerSideStateStore::new(backend, &secrets);
    let name = server_side.id_cookie_name(IDENTIFIER);
    let store: Arc<dyn StateStore> = Arc::new(server_side);
    let (ada, bob) = (unique("auth0"), unique("auth0"));
    let ada1 = login(&*store, &name, &ada, "Firefox/140").await;
    let ada2 = login(&*store, &name, &ada, "Safari/18").await;
    let bob1 = login(&*store, &name, &bob, "Chrome/130").await;
    let run = |args: &[&str]| auth0_server(args, store_name, url_var, url);

    let listed = run(&["sessions", "list", "--sub", &ada, "--json"]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).expect("JSON");
    assert_eq!(rows.len(), 2, "{}", listed.stdout);
    assert!(listed.stdout.contains("Firefox/140") && listed.stdout.contains("Safari/18"));
    for secret in [&ada1.1, &ada2.1] {
        assert!(
            !listed.stdout.contains(&secret[..12]),
            "a session id is printed"
        );
    }
    let bobs = run(&["sessions", "list", "--sub", &bob, "--json"]);
    let bob_rows: Vec<serde_json::Value> = serde_json::from_str(&bobs.stdout).expect("JSON");
    let bob_handle = bob_rows[0]["handle"].as_str().expect("handle").to_owned();

    // Attacks: another user's handle, a forged one, an enormous one. A handle is base64url, so
    // one in 64 begins with `-`: it must still be read as the handle, not as a flag.
    let enormous = "A".repeat(100_000);
    for (handle, says) in [
        (bob_handle.as_str(), "no session of"),
        ("AAAAAAAAAAAAAAAAAAAAAA", "no session of"),
        ("-AAAAAAAAAAAAAAAAAAAAA", "no session of"),
        (enormous.as_str(), "not a session handle"),
    ] {
        let refused = run(&["sessions", "revoke", "--sub", &ada, "--id", handle]);
        assert_eq!(refused.code, Some(1), "{}", refused.stderr);
        assert!(refused.stderr.contains(says), "{}", refused.stderr);
    }
    assert!(
        is_live(&*store, &bob1).await,
        "bob's session was ended by ada's revoke"
    );

    let first = rows[0]["handle"].as_str().expect("handle");
    let one = run(&["sessions", "revoke", "--sub", &ada, "--id", first]);
    assert_eq!(
        (one.code, one.stdout.trim()),
        (Some(0), format!("revoked 1 session(s) of {ada}").as_str())
    );
    let live = [is_live(&*store, &ada1).await, is_live(&*store, &ada2).await];
    assert_eq!(
        live.iter().filter(|l| **l).count(),
        1,
        "exactly one of ada's sessions ends"
    );

    refused_without_all_and_with_a_wrong_secret(
        &*store,
        [&ada1, &ada2],
        &ada,
        store_name,
        url_var,
        url,
    )
    .await;

    let all = run(&["sessions", "revoke", "--sub", &ada, "--all"]);
    assert_eq!(all.code, Some(0), "{}", all.stderr);
    assert!(!is_live(&*store, &ada1).await && !is_live(&*store, &ada2).await);
    assert!(is_live(&*store, &bob1).await, "bob's session must survive");
}

/// `revoke` without `--id` nor `--all` refuses; with a wrong `AUTH0_SECRET` it revokes nothing
/// (the sessions do not open) and says how many it could not read.
async fn refused_without_all_and_with_a_wrong_secret(
    store: &dyn StateStore,
    [ada1, ada2]: [&(String, String); 2],
    ada: &str,
    store_name: &str,
    url_var: &str,
    url: &str,
) {
    let no_all = auth0_server(
        &["sessions", "revoke", "--sub", ada],
        store_name,
        url_var,
        url,
    );
    assert_ne!(
        no_all.code,
        Some(0),
        "revoke without --id nor --all must refuse"
    );
    assert!(no_all.stderr.contains("or --all"), "{}", no_all.stderr);
    assert!(is_live(store, ada1).await || is_live(store, ada2).await);

    let wrong = "a-wrong-secret-that-is-also-long-enough-0123";
    let foreign = auth0_server_with(
        wrong,
        &["sessions", "revoke", "--sub", ada, "--all"],
        store_name,
        url_var,
        url,
    );
    assert_eq!(foreign.code, Some(0), "{}", foreign.stderr);
    assert!(
        foreign.stdout.contains("revoked 0 session(s)"),
        "{}",
        foreign.stdout
    );
    assert!(
        foreign
            .stderr
            .contains("1 sessions could not be read with this secret/identifier"),
        "{}",
        foreign.stderr
    );
    assert!(
        is_live(store, ada1).await || is_live(store, ada2).await,
        "a wrong AUTH0_SECRET revoked sessions it cannot read"
    );
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: start the service (scripts/)"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_revoked_in_redis() {
    let url = required("REDIS_URL");
    let backend = RedisBackend::from_url(&url).await.expect("redis");
    list_and_revoke(backend, "redis", "REDIS_URL", &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_revoked_in_postgres() {
    let url = required("DATABASE_URL");
    let backend = PostgresBackend::connect(&url).await.expect("postgres");
    list_and_revoke(backend, "postgres", "DATABASE_URL", &url).await;
}

#[test]
fn the_cookie_store_says_why_it_cannot_list_sessions() {
    let run = auth0_server(&["sessions", "list", "--sub", "auth0|1"], "cookie", "X", "");
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains("the cookie store does not support listing a user's sessions"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("lives sealed in its own browser"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_memory_store_is_out_of_reach() {
    let run = auth0_server(
        &["sessions", "revoke", "--sub", "auth0|1", "--all"],
        "memory",
        "X",
        "",
    );
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("inside the app's own process"),
        "{}",
        run.stderr
    );
}
