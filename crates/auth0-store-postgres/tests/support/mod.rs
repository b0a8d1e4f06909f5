//! What the PostgreSQL tests share: the database, a fresh schema per test, and sample
//! records.
//!
//! The database a test runs against, in this order:
//!
//! 1. `DATABASE_URL`, read at run time (`./scripts/test` sets it, as does
//!    `eval "$(scripts/postgres.sh start)"`);
//! 2. else, when a Docker engine answers (`DOCKER_HOST`, else the default socket: the engine
//!    testcontainers would use), a container of `AUTH0_TEST_POSTGRES_IMAGE` (default
//!    [`DEFAULT_IMAGE`]) started through testcontainers for this one test, and removed when
//!    the test's [`TestDatabase`] (or the [`WithServer`] holding it) is dropped;
//! 3. else the test skips with a loud message straight to stderr, or fails when `CI` is set.
//!
//! `AUTH0_TEST_REQUIRE_CONTAINERS=1` allows only 2: a set `DATABASE_URL`, or no engine, fails
//! the test. CI sets it in its container stage (`./scripts/test containers`), so the
//! container path cannot silently not run.
//!
//! The outage test runs a server of its own and only asks [`database_url`] whether to run.
//!
//! The order itself is the workspace's `tests/e2e/support/containers.rs`, shared with the
//! Redis tests; here is what it needs to know about PostgreSQL ([`POSTGRES`]), and the wait
//! until a container's server accepts connections.
#![allow(dead_code)]

#[path = "../../../../tests/e2e/support/containers.rs"]
mod containers;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth0_store_core::Secrets;
use auth0_store_core::store::SessionRecord;
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::Connection as _;
use auth0_store_postgres::sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};

use containers::{Ready, Service};
pub use containers::{TestServer as TestDatabase, WithServer};

/// The secret the tests seal with.
pub const SECRET: &str = "postgres-test-secret-that-is-long-enough-0123456789";
/// Test schemas are named `{SCHEMA_PREFIX}{unix seconds}_{pid}_{n}`.
const SCHEMA_PREFIX: &str = "auth0t_";
/// Test schemas older than this are dropped when a test run starts (a long-lived database,
/// such as the docker-compose one, does not fill up with them).
const STALE_SCHEMA_AGE: Duration = Duration::from_secs(60 * 60);

/// The image started when `AUTH0_TEST_POSTGRES_IMAGE` is not set.
pub const DEFAULT_IMAGE: &str = "postgres:16-alpine";
/// The user, password and database a container gets (the official image's `POSTGRES_*`
/// variables; scripts/docker.sh's image has them built in, with trust authentication).
const CONTAINER_USER: &str = "auth0";
const CONTAINER_PASSWORD: &str = "auth0";
const CONTAINER_DB: &str = "auth0";
/// The port PostgreSQL listens on inside the container.
const POSTGRES_PORT: u16 = 5432;
/// What PostgreSQL prints on stderr once it accepts connections. The official image prints
/// it twice: first for the server its entrypoint runs to initialise the database (on a Unix
/// socket only), then for the real one; so the wait for this line is followed by connection
/// attempts until one succeeds.
const READY_LINE: &str = "database system is ready to accept connections";
/// How long the server may take to accept a connection after [`READY_LINE`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause between two connection attempts.
const CONNECT_RETRY: Duration = Duration::from_millis(100);

/// PostgreSQL, as [`containers::find`] looks for it.
const POSTGRES: Service = Service {
    name: "PostgreSQL",
    url_var: "DATABASE_URL",
    image_var: "AUTH0_TEST_POSTGRES_IMAGE",
    default_image: DEFAULT_IMAGE,
    port: POSTGRES_PORT,
    ready: Ready::Stderr(READY_LINE),
    env: &[
        ("POSTGRES_USER", CONTAINER_USER),
        ("POSTGRES_PASSWORD", CONTAINER_PASSWORD),
        ("POSTGRES_DB", CONTAINER_DB),
    ],
    url: container_url,
    ci_advice: "run ./scripts/test, or eval \"$(scripts/postgres.sh start)\" first",
    skip_notice: "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                  !! SKIPPED: the PostgreSQL store is NOT tested.\n\
                  !! DATABASE_URL is not set and no Docker engine answers. Run\n\
                  !! ./scripts/test, or\n\
                  !!   eval \"$(scripts/postgres.sh start)\"\n\
                  !! (and scripts/postgres.sh stop when done), or start Docker.\n\
                  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
};

/// The URL of a container's database, published on `host:port`.
fn container_url(host: &str, port: u16) -> String {
    format!("postgres://{CONTAINER_USER}:{CONTAINER_PASSWORD}@{host}:{port}/{CONTAINER_DB}")
}

/// This test's database (see the module docs), or `None` after a loud message.
///
/// # Panics
///
/// When the test cannot run and must not skip (`CI`, `AUTH0_TEST_REQUIRE_CONTAINERS`), or
/// when a Docker engine answers but the container does not start.
pub async fn database() -> Option<TestDatabase> {
    let database = containers::find(&POSTGRES).await?;
    if database.is_container() {
        wait_until_accepting(database.url()).await;
    }
    Some(database)
}

/// `DATABASE_URL`, or `None` after a loud message (a panic when `CI` is set). Only for the
/// outage test, which runs its own server; others use [`database`].
pub fn database_url() -> Option<String> {
    containers::env_url_or_skip(&POSTGRES)
}

/// Connects until a connection succeeds (see [`READY_LINE`]), for at most [`CONNECT_TIMEOUT`].
async fn wait_until_accepting(url: &str) {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        match PgConnection::connect(url).await {
            Ok(conn) => {
                let _ = conn.close().await;
                return;
            }
            Err(e) if Instant::now() >= deadline => panic!(
                "the PostgreSQL container logged \"{READY_LINE}\" but {url} still refuses \
                 connections after {CONNECT_TIMEOUT:?}: {e}"
            ),
            Err(_) => tokio::time::sleep(CONNECT_RETRY).await,
        }
    }
}

/// A pool of at most `max` connections on `url`, failing fast when the server is away.
pub async fn pool_on(url: &str, max: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// A pool on this test's database (see [`database`]), held with it.
pub async fn pool(max: u32) -> Option<WithServer<PgPool>> {
    let server = database().await?;
    let pool = pool_on(server.url(), max).await;
    drop_stale_schemas(&pool).await;
    Some(WithServer::new(pool, server))
}

/// A schema name no other test, in this process or another, uses.
pub fn fresh_schema() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "{SCHEMA_PREFIX}{secs}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A migrated backend in a fresh schema on `server`, on a pool of `max` connections.
pub async fn backend_on(server: &TestDatabase, max: u32) -> PostgresBackend {
    let pool = pool_on(server.url(), max).await;
    drop_stale_schemas(&pool).await;
    let backend = PostgresBackend::new(pool)
        .with_schema(&fresh_schema())
        .unwrap();
    backend.migrate().await.unwrap();
    backend
}

/// A migrated backend in a fresh schema on a pool of `max` connections, held with this
/// test's database (see [`database`]).
pub async fn backend_with(max: u32) -> Option<WithServer<PostgresBackend>> {
    let server = database().await?;
    Some(WithServer::new(backend_on(&server, max).await, server))
}

/// A migrated backend in a fresh schema, held with this test's database.
pub async fn backend() -> Option<WithServer<PostgresBackend>> {
    backend_with(5).await
}

/// The secrets the tests seal with.
pub fn secrets() -> Secrets {
    Secrets::parse(SECRET).unwrap()
}

/// A record of `sub` with `sid` at `domain`, living `ttl` from now.
pub fn record(sub: &str, sid: &str, domain: &str, ttl: Duration) -> SessionRecord {
    SessionRecord {
        data: format!("sealed:{sub}:{sid}").into_bytes(),
        sid: Some(sid.to_owned()),
        sub: Some(sub.to_owned()),
        domain: Some(domain.to_owned()),
        expires_at: whole_seconds(SystemTime::now() + ttl),
    }
}

/// `t` without its fraction of a second, as the layer above computes expiries (PostgreSQL
/// keeps microseconds; `SystemTime` has nanoseconds).
pub fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Drops test schemas left over by runs more than [`STALE_SCHEMA_AGE`] ago (once per binary).
async fn drop_stale_schemas(pool: &PgPool) {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let names: Vec<String> = auth0_store_postgres::sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, 'auth0t_')",
        )
        .fetch_all(pool)
        .await
        .unwrap_or_default();
        for name in names {
            let made = name
                .strip_prefix(SCHEMA_PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|secs| secs.parse::<u64>().ok());
            if made.is_some_and(|made| made + STALE_SCHEMA_AGE.as_secs() < now) {
                // Validated shape: the prefix, then digits and `_` only.
                if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    let _ = auth0_store_postgres::sqlx::raw_sql(
                        auth0_store_postgres::sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                        )),
                    )
                    .execute(pool)
                    .await;
                }
            }
        }
    })
    .await;
}
