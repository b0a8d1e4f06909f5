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
//!
//! The order itself is the workspace's `tests/e2e/support/containers.rs`, shared with the
//! PostgreSQL tests; here is what it needs to know about Redis ([`REDIS`]).
#![allow(dead_code)]

#[path = "../../../../tests/e2e/support/containers.rs"]
mod containers;

use std::sync::atomic::{AtomicUsize, Ordering};

use auth0_store_redis::RedisBackend;

use containers::{Ready, Service};
pub use containers::{TestServer as TestRedis, WithServer};

/// The image started when `AUTH0_TEST_REDIS_IMAGE` is not set.
pub const DEFAULT_IMAGE: &str = "redis:7-alpine";
/// The port Redis listens on inside the container.
const REDIS_PORT: u16 = 6379;
/// What Redis prints on stdout once it accepts connections (the official image and
/// scripts/docker.sh's alike).
const READY_LINE: &str = "Ready to accept connections";

/// Redis, as [`containers::find`] looks for it.
const REDIS: Service = Service {
    name: "Redis",
    url_var: "REDIS_URL",
    image_var: "AUTH0_TEST_REDIS_IMAGE",
    default_image: DEFAULT_IMAGE,
    port: REDIS_PORT,
    ready: Ready::Stdout(READY_LINE),
    env: &[],
    url: container_url,
    ci_advice: "run ./scripts/test (it starts redis-server on loopback)",
    skip_notice: "\n!! SKIPPED: the Redis store is NOT tested: REDIS_URL is not set and no Docker\n\
                  !! engine answers. Run ./scripts/test, or: eval \"$(scripts/redis.sh start)\", or\n\
                  !! start Docker (the tests that can use a container then do; the cluster, fault\n\
                  !! and TLS tests always need REDIS_URL and redis-server).\n\n",
};

/// The URL of a container's Redis, published on `host:port`.
fn container_url(host: &str, port: u16) -> String {
    format!("redis://{host}:{port}")
}

/// This test's Redis (see the module docs), or `None` after a loud message.
///
/// # Panics
///
/// When the test cannot run and must not skip (`CI`, `AUTH0_TEST_REQUIRE_CONTAINERS`), or
/// when a Docker engine answers but the container does not start.
pub async fn redis() -> Option<TestRedis> {
    containers::find(&REDIS).await
}

/// `REDIS_URL`, or `None` after a loud message (a panic when `CI` is set). Only for the
/// tests that start their own servers and need a Redis installation; others use [`redis`].
pub fn redis_url() -> Option<String> {
    containers::env_url_or_skip(&REDIS)
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
    Some(WithServer::new(backend_on(&server).await, server))
}
