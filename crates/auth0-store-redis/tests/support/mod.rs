//! Finding the Redis a test runs against, in this order:
//!
//! 1. `REDIS_URL`, read at run time (`./scripts/test` sets it, as does
//!    `eval "$(scripts/redis.sh start)"`);
//! 2. else, when a Docker engine answers (`DOCKER_HOST`, else the default socket: the engine
//!    testcontainers would use), a container of `AUTH0_TEST_REDIS_IMAGE` (default
//!    [`DEFAULT_IMAGE`]) started through testcontainers for this one test, and removed when
//!    the test's [`TestRedis`] is dropped;
//! 3. else the test skips with a loud message, or fails when `CI` is set.
//!
//! `AUTH0_TEST_REQUIRE_CONTAINERS=1` allows only 2: a set `REDIS_URL`, or no engine, fails
//! the test. CI sets it in its container stage (`./scripts/test containers`), so the
//! container path cannot silently not run.
//!
//! The tests that start servers of their own (cluster, faults, TLS) only ask [`redis_url`]
//! whether to run.
#![allow(dead_code)]

use std::io::Write as _;
use std::ops::{Deref, DerefMut};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth0_store_redis::RedisBackend;
use testcontainers::core::{IntoContainerPort as _, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

/// The image started when `AUTH0_TEST_REDIS_IMAGE` is not set.
pub const DEFAULT_IMAGE: &str = "redis:7-alpine";
/// The variable naming the image to start (`name:tag`); scripts/docker.sh builds one.
const IMAGE_VAR: &str = "AUTH0_TEST_REDIS_IMAGE";
/// The host to reach container ports on, when testcontainers' guess is wrong.
const HOST_VAR: &str = "AUTH0_TEST_CONTAINER_HOST";
/// Set to `1`, every test must run on a container it started (see the module docs).
const REQUIRE_CONTAINERS_VAR: &str = "AUTH0_TEST_REQUIRE_CONTAINERS";
/// The port Redis listens on inside the container.
const REDIS_PORT: u16 = 6379;
/// What Redis prints on stdout once it accepts connections (the official image and
/// scripts/docker.sh's alike).
const READY_LINE: &str = "Ready to accept connections";
/// How long a container may take to be ready, pulling its image aside.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the Docker engine may take to answer a ping before it counts as absent.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The Redis one test runs against. When it is a container started for the test, dropping
/// this removes the container: keep it until the test ends.
pub struct TestRedis {
    url: String,
    container: Option<ContainerAsync<GenericImage>>,
}

impl TestRedis {
    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A value that needs the test's Redis, held together with it: it derefs to the value, and
/// drops the value before the server.
pub struct WithServer<T> {
    value: T,
    server: TestRedis,
}

impl<T> WithServer<T> {
    /// The Redis the value talks to.
    pub fn server(&self) -> &TestRedis {
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

/// This test's Redis (see the module docs), or `None` after a loud message.
///
/// # Panics
///
/// When the test cannot run and must not skip (`CI`, `AUTH0_TEST_REQUIRE_CONTAINERS`), or
/// when a Docker engine answers but the container does not start.
pub async fn redis() -> Option<TestRedis> {
    let required = containers_required();
    if let Some(url) = env_url() {
        assert!(
            !required,
            "{REQUIRE_CONTAINERS_VAR} is set, and so is REDIS_URL: unset REDIS_URL so that the \
             tests start their own Redis containers"
        );
        return Some(TestRedis {
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

/// `REDIS_URL`, or `None` after a loud message (a panic when `CI` is set). Only for the
/// tests that start their own servers and need a Redis installation; others use [`redis`].
pub fn redis_url() -> Option<String> {
    let url = env_url();
    if url.is_none() {
        skip_or_fail();
    }
    url
}

/// Says loudly, once per test binary, that the Redis tests are skipped, or panics when `CI`
/// is set.
fn skip_or_fail() {
    assert!(
        std::env::var_os("CI").is_none(),
        "REDIS_URL is not set and CI is, so the Redis tests cannot be skipped (and the tests \
         that can use a container found no Docker engine): run ./scripts/test (it starts \
         redis-server on loopback)"
    );
    // Straight to stderr: the harness captures `eprintln!` of passing tests, which would
    // make the skip silent.
    static SKIP_NOTICE: Once = Once::new();
    SKIP_NOTICE.call_once(|| {
        let _ = std::io::stderr().write_all(
            b"\n!! SKIPPED: the Redis store is NOT tested: REDIS_URL is not set and no Docker\n\
              !! engine answers. Run ./scripts/test, or: eval \"$(scripts/redis.sh start)\", or\n\
              !! start Docker (the tests that can use a container then do; the cluster, fault\n\
              !! and TLS tests always need REDIS_URL and redis-server).\n\n",
        );
    });
}

/// `REDIS_URL` when set and not empty.
fn env_url() -> Option<String> {
    std::env::var("REDIS_URL")
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

async fn start_container() -> TestRedis {
    let image = std::env::var(IMAGE_VAR)
        .ok()
        .filter(|image| !image.is_empty())
        .unwrap_or_else(|| DEFAULT_IMAGE.to_owned());
    let (name, tag) = split_image(&image);
    let container = GenericImage::new(name, tag)
        .with_exposed_port(REDIS_PORT.tcp())
        .with_wait_for(WaitFor::message_on_stdout(READY_LINE))
        .with_startup_timeout(STARTUP_TIMEOUT)
        .start()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "a Docker engine answers, but a Redis container of {image} did not start: {e}. \
                 Set {IMAGE_VAR} to an image the engine has or can pull, or REDIS_URL to a \
                 running Redis"
            )
        });
    let host = container_host(&container).await;
    let port = container
        .get_host_port_ipv4(REDIS_PORT)
        .await
        .unwrap_or_else(|e| panic!("the Redis container's port: {e}"));
    TestRedis {
        url: format!("redis://{host}:{port}"),
        container: Some(container),
    }
}

/// A prefix no other test uses.
pub fn unique_prefix() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "test:{}:{}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A backend on `redis` with a key prefix no other test uses.
pub async fn backend_on(redis: &TestRedis) -> RedisBackend {
    RedisBackend::from_url(redis.url())
        .await
        .unwrap_or_else(|e| panic!("Redis at {} does not answer: {e}", redis.url()))
        .with_prefix(unique_prefix())
}

/// A backend on this test's Redis (see [`redis`]), held with it.
pub async fn backend() -> Option<WithServer<RedisBackend>> {
    let server = redis().await?;
    Some(WithServer {
        value: backend_on(&server).await,
        server,
    })
}
