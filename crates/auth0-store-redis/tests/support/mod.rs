//! The Redis a test runs against: `REDIS_URL`, else docker-compose.yml's `redis` service, else
//! a loud skip (a failure under `CI`); see `auth0_test_support::services`.
//!
//! The tests that start servers of their own (cluster, faults, TLS) only ask [`redis_url`]
//! whether to run.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use auth0_store_redis::RedisBackend;
use auth0_test_support::services::{self, REDIS};

pub use auth0_test_support::services::{TestServer as TestRedis, WithServer};

/// This test's Redis, or `None` after a loud message.
///
/// # Panics
///
/// When the test cannot run and must not skip (`CI`, `AUTH0_TEST_REQUIRE_CONTAINERS`), or
/// when a Docker engine answers but the compose services do not start.
pub async fn redis() -> Option<TestRedis> {
    services::find(&REDIS).await
}

/// `REDIS_URL`, or `None` after a loud message (a panic when `CI` is set). Only for the
/// tests that start their own servers and need a Redis installation; others use [`redis`].
pub fn redis_url() -> Option<String> {
    services::env_url_or_skip(&REDIS)
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
