//! What the PostgreSQL tests share: the database, a fresh schema per test, and sample
//! records.
//!
//! The database a test runs against: `DATABASE_URL`, else docker-compose.yml's `postgres`
//! service, else a loud skip (a failure under `CI`); see `auth0_test_support::services`.
//!
//! The outage test runs a server of its own and only asks [`database_url`] whether to run.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth0_store_core::Secrets;
use auth0_store_core::store::SessionRecord;
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::Connection as _;
use auth0_store_postgres::sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use auth0_test_support::services::{self, POSTGRES};

pub use auth0_test_support::services::{TestServer as TestDatabase, WithServer};

/// The secret the tests seal with.
pub const SECRET: &str = "postgres-test-secret-that-is-long-enough-0123456789";
/// Test schemas are named `{SCHEMA_PREFIX}{unix seconds}_{pid}_{n}`.
const SCHEMA_PREFIX: &str = "auth0t_";
/// Test schemas older than this are dropped when a test run starts (a long-lived database,
/// such as the docker-compose one, does not fill up with them).
const STALE_SCHEMA_AGE: Duration = Duration::from_secs(60 * 60);

/// How long the compose service's server may take to accept a TCP connection once healthy:
/// the official image's entrypoint first runs a server on a Unix socket only (for its init
/// scripts), which its `pg_isready` healthcheck may already call ready.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause between two connection attempts.
const CONNECT_RETRY: Duration = Duration::from_millis(100);

/// This test's database (see the module docs), or `None` after a loud message.
///
/// # Panics
///
/// When the test cannot run and must not skip (`CI`, `AUTH0_TEST_REQUIRE_CONTAINERS`), or
/// when a Docker engine answers but the compose services do not start.
pub async fn database() -> Option<TestDatabase> {
    let database = services::find(&POSTGRES).await?;
    if database.is_container() {
        wait_until_accepting(database.url()).await;
    }
    Some(database)
}

/// `DATABASE_URL`, or `None` after a loud message (a panic when `CI` is set). Only for the
/// outage test, which runs its own server; others use [`database`].
pub fn database_url() -> Option<String> {
    services::env_url_or_skip(&POSTGRES)
}

/// Connects until a connection succeeds, for at most [`CONNECT_TIMEOUT`].
async fn wait_until_accepting(url: &str) {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        match PgConnection::connect(url).await {
            Ok(conn) => {
                let _ = conn.close().await;
                return;
            }
            Err(e) if Instant::now() >= deadline => panic!(
                "the compose file's PostgreSQL is up but {url} still refuses connections \
                 after {CONNECT_TIMEOUT:?}: {e}"
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
