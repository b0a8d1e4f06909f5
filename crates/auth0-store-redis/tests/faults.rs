//! Redis going away and coming back: typed errors within the timeout, no panic, recovery
//! without rebuilding the backend, and nothing written before the outage lost (with
//! persistence on). This test runs its own redis-server, so it can stop and start it.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use auth0_store_core::Secrets;
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::store::{ServerSideStateStore, StateStore, StoreContext};
use auth0_store_redis::RedisBackend;

struct Server {
    port: u16,
}

impl Server {
    fn start_in(dir: &Path, port: u16) -> Self {
        let status = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
            ])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir)
            .arg("--pidfile")
            .arg(dir.join("redis.pid"))
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .status()
            .expect("redis-server runs (scripts/redis.sh installs it)");
        assert!(status.success());
        let server = Self { port };
        for _ in 0..100 {
            if server.ping() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not come up on port {port}");
    }

    fn ping(&self) -> bool {
        Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "ping"])
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"PONG"))
    }

    fn stop(&self) {
        let _ = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "shutdown"])
            .output();
        for _ in 0..100 {
            if !self.ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not stop");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.ping() {
            self.stop();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn state(sub: &str) -> StateData {
    StateData {
        user: Some(UserClaims {
            sub: sub.into(),
            ..UserClaims::default()
        }),
        ..StateData::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_gives_typed_errors_and_redis_coming_back_needs_no_rebuild() {
    // Same gate as the other Redis tests: REDIS_URL says Redis tests are wanted here.
    if support::redis_url().is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "auth0-redis-fault-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let server = Server::start_in(&dir, port);

    let timeout = Duration::from_millis(500);
    let backend = RedisBackend::from_url(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap()
        .with_timeout(timeout);
    let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap();
    let store = ServerSideStateStore::new(backend, &secrets);
    let cx = StoreContext::new();
    store
        .set("_a0_session", &state("before"), true, &cx)
        .await
        .unwrap();
    let cookies = cx.cookies();

    server.stop();
    let started = Instant::now();
    let err = store
        .get("_a0_session", &StoreContext::from_cookies(cookies.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), "store_backend_error" | "store_timeout"),
        "a typed error, got {err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no hang: {:?}",
        started.elapsed()
    );
    let err = store
        .set("_a0_session", &state("during"), true, &StoreContext::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), "store_backend_error" | "store_timeout"),
        "{err:?}"
    );

    let _server = Server::start_in(&dir, port);
    // The connection manager reconnects by itself; give it a few attempts.
    let mut read = None;
    for _ in 0..50 {
        match store
            .get("_a0_session", &StoreContext::from_cookies(cookies.clone()))
            .await
        {
            Ok(found) => {
                read = found;
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert_eq!(
        read,
        Some(state("before")),
        "the session written before the outage is intact"
    );
    store
        .set("_a0_session", &state("after"), true, &StoreContext::new())
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
