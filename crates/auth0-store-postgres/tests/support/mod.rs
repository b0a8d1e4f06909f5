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
#![allow(dead_code)]

use std::io::Write as _;
use std::ops::{Deref, DerefMut};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth0_server_core::Secrets;
use auth0_server_core::store::SessionRecord;
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::Connection as _;
use auth0_store_postgres::sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use testcontainers::core::{IntoContainerPort as _, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

/// The secret the tests seal with.
pub const SECRET: &str = "postgres-test-secret-that-is-long-enough-0123456789";
/// Test schemas are named `{SCHEMA_PREFIX}{unix seconds}_{pid}_{n}`.
const SCHEMA_PREFIX: &str = "auth0t_";
/// Test schemas older than this are dropped when a test run starts (a long-lived database,
/// such as the docker-compose one, does not fill up with them).
const STALE_SCHEMA_AGE: Duration = Duration::from_secs(60 * 60);

/// The image started when `AUTH0_TEST_POSTGRES_IMAGE` is not set.
pub const DEFAULT_IMAGE: &str = "postgres:16-alpine";
/// The variable naming the image to start (`name:tag`); scripts/docker.sh builds one.
const IMAGE_VAR: &str = "AUTH0_TEST_POSTGRES_IMAGE";
/// The host to reach container ports on, when testcontainers' guess is wrong.
const HOST_VAR: &str = "AUTH0_TEST_CONTAINER_HOST";
/// Set to `1`, every test must run on a container it started (see the module docs).
const REQUIRE_CONTAINERS_VAR: &str = "AUTH0_TEST_REQUIRE_CONTAINERS";
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
/// How long a container may take to print [`READY_LINE`], pulling its image aside.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the server may take to accept a connection after [`READY_LINE`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause between two connection attempts.
const CONNECT_RETRY: Duration = Duration::from_millis(100);
/// How long the Docker engine may take to answer a ping before it counts as absent.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The database one test runs against. When it is a container started for the test,
/// dropping this removes the container: keep it until the test ends.
pub struct TestDatabase {
    url: String,
    container: Option<ContainerAsync<GenericImage>>,
}

impl TestDatabase {
    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A value that needs the test's database, held together with it: it derefs to the value,
/// and drops the value before the server. A `let backend = backend.clone()…` that shadows
/// it keeps it alive too (shadowing does not drop).
pub struct WithServer<T> {
    value: T,
    server: TestDatabase,
}

impl<T> WithServer<T> {
    /// The database the value talks to.
    pub fn server(&self) -> &TestDatabase {
        &self.server
    }
}

impl<T> Deref for WithServer<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for WithServer<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

/// This test's database (see the module docs), or `None` after a loud message.
///
/// # Panics
///
/// When the test cannot run and must not skip (`CI`, `AUTH0_TEST_REQUIRE_CONTAINERS`), or
/// when a Docker engine answers but the container does not start.
pub async fn database() -> Option<TestDatabase> {
    let required = containers_required();
    if let Some(url) = env_url() {
        assert!(
            !required,
            "{REQUIRE_CONTAINERS_VAR} is set, and so is DATABASE_URL: unset DATABASE_URL so \
             that the tests start their own PostgreSQL containers"
        );
        return Some(TestDatabase {
            url,
            container: None,
        });
    }
    if docker_answers().await {
        return Some(start_container().await);
    }
    assert!(
        !required,
        "{REQUIRE_CONTAINERS_VAR} is set but no Docker engine answers (DOCKER_HOST={}): start \
         one, e.g. eval \"$(scripts/docker.sh start)\"",
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unset".into())
    );
    skip_or_fail();
    None
}

/// `DATABASE_URL`, or `None` after a loud message (a panic when `CI` is set). Only for the
/// outage test, which runs its own server; others use [`database`].
pub fn database_url() -> Option<String> {
    let url = env_url();
    if url.is_none() {
        skip_or_fail();
    }
    url
}

/// Says loudly, once per test binary, that the PostgreSQL tests are skipped, or panics when
/// `CI` is set.
fn skip_or_fail() {
    assert!(
        std::env::var_os("CI").is_none(),
        "DATABASE_URL is not set, and CI is, so the PostgreSQL tests cannot be skipped (and \
         the tests that can use a container found no Docker engine): run ./scripts/test, or \
         eval \"$(scripts/postgres.sh start)\" first"
    );
    // Straight to stderr: the harness captures `eprintln!` of passing tests, which would
    // make the skip silent.
    static SKIP_NOTICE: Once = Once::new();
    SKIP_NOTICE.call_once(|| {
        let _ = std::io::stderr().write_all(
            b"\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
              !! SKIPPED: the PostgreSQL store is NOT tested.\n\
              !! DATABASE_URL is not set and no Docker engine answers. Run\n\
              !! ./scripts/test, or\n\
              !!   eval \"$(scripts/postgres.sh start)\"\n\
              !! (and scripts/postgres.sh stop when done), or start Docker.\n\
              !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
        );
    });
}

/// `DATABASE_URL` when set and not empty.
fn env_url() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

fn containers_required() -> bool {
    std::env::var(REQUIRE_CONTAINERS_VAR).is_ok_and(|v| v == "1")
}

/// Whether the engine testcontainers would use (it reads `DOCKER_HOST` the same way) answers.
async fn docker_answers() -> bool {
    let Ok(docker) = testcontainers::core::client::docker_client_instance().await else {
        return false;
    };
    matches!(
        tokio::time::timeout(PING_TIMEOUT, docker.ping()).await,
        Ok(Ok(_))
    )
}

/// `name:tag` as testcontainers wants it: the tag follows the last `:` after the last `/`
/// (a registry's port is not a tag), `latest` when there is none.
fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// Where the container's published ports are reached: `AUTH0_TEST_CONTAINER_HOST` when set
/// (scripts/docker.sh's engine publishes on 127.0.0.1 only), else testcontainers' answer
/// (`localhost`, or the bridge's gateway when the tests themselves run in a container).
async fn container_host(container: &ContainerAsync<GenericImage>) -> String {
    if let Some(host) = std::env::var(HOST_VAR).ok().filter(|h| !h.is_empty()) {
        return host;
    }
    let host = container
        .get_host()
        .await
        .unwrap_or_else(|e| panic!("the container's host: {e}"))
        .to_string();
    // The ports asked for are the IPv4 ones: "localhost" could resolve to ::1 first.
    if host == "localhost" {
        "127.0.0.1".to_owned()
    } else {
        host
    }
}

async fn start_container() -> TestDatabase {
    let image = std::env::var(IMAGE_VAR)
        .ok()
        .filter(|image| !image.is_empty())
        .unwrap_or_else(|| DEFAULT_IMAGE.to_owned());
    let (name, tag) = split_image(&image);
    let container = GenericImage::new(name, tag)
        .with_exposed_port(POSTGRES_PORT.tcp())
        .with_wait_for(WaitFor::message_on_stderr(READY_LINE))
        .with_env_var("POSTGRES_USER", CONTAINER_USER)
        .with_env_var("POSTGRES_PASSWORD", CONTAINER_PASSWORD)
        .with_env_var("POSTGRES_DB", CONTAINER_DB)
        .with_startup_timeout(STARTUP_TIMEOUT)
        .start()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "a Docker engine answers, but a PostgreSQL container of {image} did not start: \
                 {e}. Set {IMAGE_VAR} to an image the engine has or can pull, or DATABASE_URL to \
                 a running PostgreSQL"
            )
        });
    let host = container_host(&container).await;
    let port = container
        .get_host_port_ipv4(POSTGRES_PORT)
        .await
        .unwrap_or_else(|e| panic!("the PostgreSQL container's port: {e}"));
    let url =
        format!("postgres://{CONTAINER_USER}:{CONTAINER_PASSWORD}@{host}:{port}/{CONTAINER_DB}");
    wait_until_accepting(&url).await;
    TestDatabase {
        url,
        container: Some(container),
    }
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
    Some(WithServer {
        value: pool,
        server,
    })
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
    Some(WithServer {
        value: backend_on(&server, max).await,
        server,
    })
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
