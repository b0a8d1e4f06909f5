//! The Redis or PostgreSQL a store's tests run against. [`find`] answers, in this order:
//!
//! 1. the service's URL variable ([`Service::url_var`]: `REDIS_URL`, `DATABASE_URL`), read at
//!    run time: `./scripts/test` sets them to throwaway servers on loopback
//!    (`scripts/redis.sh`, `scripts/postgres.sh`);
//! 2. else, when a Docker engine answers (`DOCKER_HOST`, else the default socket), the
//!    workspace's `docker-compose.yml` services: `docker compose up -d --wait` through
//!    testcontainers, once per test binary, as the project `just services-up` starts (so
//!    after `just services-up` the tests find them running). They stay up after the tests,
//!    like after `just services-up`; `just services-down` stops them;
//! 3. else the test skips with a loud message straight to stderr, or fails when `CI` is set.
//!
//! `AUTH0_TEST_REQUIRE_CONTAINERS=1` allows only 2: a set URL variable, or no engine, fails
//! the test. CI sets it in its compose stage (`./scripts/test containers`), so the compose
//! path cannot silently not run.
//!
//! ```no_run
//! # async fn example() {
//! use auth0_test_support::services::{self, REDIS};
//!
//! // `None` after a loud message when the test may skip.
//! if let Some(redis) = services::find(&REDIS).await {
//!     println!("testing against {}", redis.url());
//! }
//! # }
//! ```

use std::collections::BTreeSet;
use std::io::Write as _;
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::Duration;

use testcontainers::compose::DockerCompose;
use tokio::sync::OnceCell;

/// The workspace's compose file: the services contributors start with `just services-up`.
pub const COMPOSE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docker-compose.yml");
/// The compose project, as the compose file names it (`name:`), so that the tests and
/// `just services-up` / `just services-down` act on the same containers.
const COMPOSE_PROJECT: &str = "auth0-server";
/// Where the compose file publishes its services' ports (`127.0.0.1:…` in `ports:`).
const COMPOSE_HOST: &str = "127.0.0.1";
/// Set to `1`, every test must run on the compose services (see the module docs).
const REQUIRE_CONTAINERS_VAR: &str = "AUTH0_TEST_REQUIRE_CONTAINERS";
/// How long the Docker engine may take to answer a ping before it counts as absent.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// A server the tests need, as [`find`] looks for it.
pub struct Service {
    /// What messages call it: `Redis`, `PostgreSQL`.
    pub name: &'static str,
    /// The variable with the URL of a running server: `REDIS_URL`, `DATABASE_URL`.
    pub url_var: &'static str,
    /// Its service in [`COMPOSE_FILE`].
    pub compose_service: &'static str,
    /// The port the server listens on inside its container.
    pub port: u16,
    /// The URL of the container's server, from the host and port its port is published on.
    pub url: fn(host: &str, port: u16) -> String,
    /// How to start a throwaway server on loopback and set the URL variable.
    pub start_hint: &'static str,
}

/// Redis: `REDIS_URL`, else the compose file's `redis` service (no password).
pub static REDIS: Service = Service {
    name: "Redis",
    url_var: "REDIS_URL",
    compose_service: "redis",
    port: 6379,
    url: |host, port| format!("redis://{host}:{port}"),
    start_hint: "eval \"$(scripts/redis.sh start)\"",
};

/// PostgreSQL: `DATABASE_URL`, else the compose file's `postgres` service (user, password
/// and database `auth0`, as its `POSTGRES_*` variables say).
pub static POSTGRES: Service = Service {
    name: "PostgreSQL",
    url_var: "DATABASE_URL",
    compose_service: "postgres",
    port: 5432,
    url: |host, port| format!("postgres://auth0:auth0@{host}:{port}/auth0"),
    start_hint: "pg_env=\"$(scripts/postgres.sh start)\"; eval \"$pg_env\"",
};

/// Every service of [`COMPOSE_FILE`] the tests use.
const COMPOSE_SERVICES: [&Service; 2] = [&REDIS, &POSTGRES];

/// The server one test runs against.
pub struct TestServer {
    url: String,
    compose: bool,
}

impl TestServer {
    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this is a compose service (not the URL variable's server).
    pub fn is_container(&self) -> bool {
        self.compose
    }
}

/// A value that needs the test's server, held together with it: it derefs to the value.
pub struct WithServer<T> {
    value: T,
    server: TestServer,
}

impl<T> WithServer<T> {
    /// `value`, held with the `server` it talks to.
    pub fn new(value: T, server: TestServer) -> Self {
        Self { value, server }
    }

    /// The server the value talks to.
    pub fn server(&self) -> &TestServer {
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

/// This test's `service` (see the module docs), or `None` after a loud message.
///
/// # Panics
///
/// When the test cannot run and must not skip (`CI`, `AUTH0_TEST_REQUIRE_CONTAINERS`), or
/// when a Docker engine answers but `docker compose up` fails.
pub async fn find(service: &Service) -> Option<TestServer> {
    let required = containers_required();
    if let Some(url) = env_url(service) {
        assert!(
            !required,
            "{REQUIRE_CONTAINERS_VAR} is set, and so is {var}: unset {var} so that the tests \
             use the compose file's {name}",
            var = service.url_var,
            name = service.name,
        );
        return Some(TestServer {
            url,
            compose: false,
        });
    }
    if docker_answers().await {
        let compose = compose_up().await;
        return Some(TestServer {
            url: compose.url(service),
            compose: true,
        });
    }
    assert!(
        !required,
        "{REQUIRE_CONTAINERS_VAR} is set but no Docker engine answers (DOCKER_HOST={}): start \
         one, e.g. eval \"$(scripts/docker.sh start)\"",
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unset".into())
    );
    skip_or_fail(service);
    None
}

/// The service's URL variable, or `None` after a loud message (a panic when `CI` is set).
/// Only for the tests that start servers of their own; others use [`find`].
pub fn env_url_or_skip(service: &Service) -> Option<String> {
    let url = env_url(service);
    if url.is_none() {
        skip_or_fail(service);
    }
    url
}

/// Says loudly, once per test binary and service, that the service's tests are skipped, or
/// panics when `CI` is set.
fn skip_or_fail(service: &Service) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is not set and CI is, so the {} tests cannot be skipped (and no Docker engine \
         answers for the compose file's services): run ./scripts/test, or {}",
        service.url_var,
        service.name,
        service.start_hint,
    );
    // Straight to stderr: the harness captures `eprintln!` of passing tests, which would
    // make the skip silent.
    static NOTIFIED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let first = NOTIFIED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(service.name);
    if first {
        let notice = format!(
            "\n!! SKIPPED: the {name} store is NOT tested: {var} is not set and no Docker engine\n\
             !! answers. Run ./scripts/test, or {hint}, or start Docker (the tests\n\
             !! then run docker-compose.yml's services; those that start servers of their own\n\
             !! always need {var}).\n\n",
            name = service.name,
            var = service.url_var,
            hint = service.start_hint,
        );
        let _ = std::io::stderr().write_all(notice.as_bytes());
    }
}

/// The service's URL variable when set and not empty.
fn env_url(service: &Service) -> Option<String> {
    std::env::var(service.url_var)
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

/// The host port of each compose service.
struct ComposeServices {
    ports: Vec<(&'static str, u16)>,
}

impl ComposeServices {
    fn url(&self, service: &Service) -> String {
        let port = self
            .ports
            .iter()
            .find(|(name, _)| *name == service.compose_service)
            .map(|&(_, port)| port)
            .unwrap_or_else(|| panic!("{} is not a service of {COMPOSE_FILE}", service.name));
        (service.url)(COMPOSE_HOST, port)
    }
}

/// The compose file's services, brought up once per test binary (a no-op when they run).
async fn compose_up() -> &'static ComposeServices {
    static UP: OnceCell<ComposeServices> = OnceCell::const_new();
    UP.get_or_init(|| async {
        let mut compose =
            DockerCompose::with_local_client(&[COMPOSE_FILE]).with_project_name(COMPOSE_PROJECT);
        compose.up().await.unwrap_or_else(|e| {
            panic!(
                "a Docker engine answers, but `docker compose up` of {COMPOSE_FILE} failed: {e}. \
                 `docker compose` (v2) must work (scripts/docker.sh installs it), the images \
                 must be there or pullable, and 127.0.0.1:6379 and :5432 free; or set \
                 REDIS_URL and DATABASE_URL"
            )
        });
        let mut ports = Vec::new();
        for service in COMPOSE_SERVICES {
            let container = compose.service(service.compose_service).unwrap_or_else(|| {
                panic!("{COMPOSE_FILE} has no service {}", service.compose_service)
            });
            let port = container
                .get_host_port_ipv4(service.port)
                .await
                .unwrap_or_else(|e| panic!("the {} service's published port: {e}", service.name));
            ports.push((service.compose_service, port));
        }
        // Dropping it would take the services down at the end of the first test; they are
        // the project's, as after `just services-up`, and stay up.
        std::mem::forget(compose);
        ComposeServices { ports }
    })
    .await
}
