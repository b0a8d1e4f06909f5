//! Finding the Redis the tests run against: `REDIS_URL` at run time. Without it the tests
//! skip with a loud message, or fail when `CI` is set. (testcontainers is not used: no Docker
//! engine runs on the machines this project is built on; contributors with Docker can
//! `just services-up` and set `REDIS_URL`.)
#![allow(dead_code)]

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth0_store_redis::RedisBackend;

pub fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "REDIS_URL is not set and CI is: the Redis tests cannot be skipped; run ./scripts/test \
             (it starts redis-server on loopback)"
        ),
        _ => {
            let _ = std::io::stderr().write_all(
                b"\n!! SKIPPED: the Redis store is NOT tested: REDIS_URL is not set.\n\
                  !! Run ./scripts/test, or: eval \"$(scripts/redis.sh start)\"\n\n",
            );
            None
        }
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

pub async fn backend() -> Option<RedisBackend> {
    let url = redis_url()?;
    Some(
        RedisBackend::from_url(&url)
            .await
            .expect("REDIS_URL is set but Redis does not answer")
            .with_prefix(unique_prefix()),
    )
}
