//! What the PostgreSQL tests share: the database from `DATABASE_URL`, a fresh schema per
//! test, and sample records.
//!
//! `DATABASE_URL` is read at run time (`eval "$(scripts/postgres.sh start)"` sets it). Without
//! it the tests skip with a loud message straight to stderr, or fail when `CI` is set. (No
//! testcontainers: there is no Docker engine on the machines this project is built on; with
//! Docker, `just services-up` and the URL in docker-compose.yml do the same.)
#![allow(dead_code)]

use std::io::Write as _;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth0_server_core::Secrets;
use auth0_server_core::store::SessionRecord;
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::postgres::{PgPool, PgPoolOptions};

/// The secret the tests seal with.
pub const SECRET: &str = "postgres-test-secret-that-is-long-enough-0123456789";
/// Test schemas are named `{SCHEMA_PREFIX}{unix seconds}_{pid}_{n}`.
const SCHEMA_PREFIX: &str = "auth0t_";
/// Test schemas older than this are dropped when a test run starts (a long-lived database,
/// such as the docker-compose one, does not fill up with them).
const STALE_SCHEMA_AGE: Duration = Duration::from_secs(60 * 60);

/// `DATABASE_URL`, or `None` after a loud message (a panic when `CI` is set).
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "DATABASE_URL is not set, and CI is, so the PostgreSQL tests cannot be skipped: run \
             ./scripts/test, or eval \"$(scripts/postgres.sh start)\" first"
        ),
        _ => {
            // Once per test binary, and straight to stderr: the harness captures `eprintln!`
            // of passing tests, which would make the skip silent.
            static SKIP_NOTICE: Once = Once::new();
            SKIP_NOTICE.call_once(|| {
                let _ = std::io::stderr().write_all(
                    b"\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                      !! SKIPPED: the PostgreSQL store is NOT tested.\n\
                      !! DATABASE_URL is not set. Run ./scripts/test, or\n\
                      !!   eval \"$(scripts/postgres.sh start)\"\n\
                      !! (and scripts/postgres.sh stop when done).\n\
                      !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
                );
            });
            None
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
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"))
}

/// A pool on `DATABASE_URL`, or `None` (see [`database_url`]).
pub async fn pool(max: u32) -> Option<PgPool> {
    let url = database_url()?;
    let pool = pool_on(&url, max).await;
    drop_stale_schemas(&pool).await;
    Some(pool)
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

/// A migrated backend in a fresh schema on a pool of `max` connections.
pub async fn backend_with(max: u32) -> Option<PostgresBackend> {
    let pool = pool(max).await?;
    let backend = PostgresBackend::new(pool)
        .with_schema(&fresh_schema())
        .unwrap();
    backend.migrate().await.unwrap();
    Some(backend)
}

/// A migrated backend in a fresh schema.
pub async fn backend() -> Option<PostgresBackend> {
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
