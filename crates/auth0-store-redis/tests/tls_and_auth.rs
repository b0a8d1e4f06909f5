//! `rediss://` (TLS) and a password in the URL, against a redis-server of this test's own
//! with `--tls-port` and `--requirepass`, its certificate signed by a CA made in the test.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use auth0_store_core::Secrets;
use auth0_store_core::model::{StateData, UserClaims};
use auth0_store_core::store::{ServerSideStateStore, StateStore, StoreContext};
use auth0_store_redis::RedisBackend;

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        status.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct TlsRedis {
    dir: std::path::PathBuf,
    port: u16,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("redis.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_tls_redis() -> TlsRedis {
    let dir = std::env::temp_dir().join(format!(
        "auth0-redis-tls-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=auth0-test-ca",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext",
        ],
    );
    let port = free_port();
    let status = Command::new("redis-server")
        .current_dir(&dir)
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--tls-cert-file",
            "server.crt",
            "--tls-key-file",
            "server.key",
            "--tls-ca-cert-file",
            "ca.crt",
        ])
        .args([
            "--tls-auth-clients",
            "no",
            "--requirepass",
            "s3cret-pass",
            "--save",
            "",
        ])
        .args(["--daemonize", "yes", "--pidfile"])
        .arg(dir.join("redis.pid"))
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .status()
        .expect("redis-server runs");
    assert!(status.success());
    let server = TlsRedis { dir, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("redis-server with TLS did not come up");
}

#[tokio::test]
async fn rediss_urls_with_a_password_work_and_wrong_ones_fail_cleanly() {
    if support::redis_url().is_none() {
        return;
    }
    let server = start_tls_redis();
    let ca = std::fs::read(server.dir.join("ca.crt")).unwrap();
    let url = format!("rediss://:s3cret-pass@127.0.0.1:{}", server.port);

    let backend = RedisBackend::from_url_with_root_certificate(&url, &ca)
        .await
        .unwrap();
    let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap();
    let store = ServerSideStateStore::new(backend, &secrets);
    let state = StateData {
        user: Some(UserClaims {
            sub: "auth0|tls".into(),
            ..UserClaims::default()
        }),
        ..StateData::default()
    };
    let cx = StoreContext::new();
    store.set("_a0_session", &state, true, &cx).await.unwrap();
    assert_eq!(
        store
            .get("_a0_session", &StoreContext::from_cookies(cx.cookies()))
            .await
            .unwrap(),
        Some(state)
    );

    let wrong_password = format!("rediss://:nope@127.0.0.1:{}", server.port);
    let err = RedisBackend::from_url_with_root_certificate(&wrong_password, &ca)
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), "store_backend_error" | "store_timeout"),
        "{err:?}"
    );
    let untrusted = RedisBackend::from_url(&url).await.unwrap_err();
    assert!(
        matches!(untrusted.code(), "store_backend_error" | "store_timeout"),
        "a certificate no one trusts: {untrusted:?}"
    );
    let plain =
        RedisBackend::from_url(&format!("redis://:s3cret-pass@127.0.0.1:{}", server.port)).await;
    assert!(plain.is_err(), "plain text to a TLS port fails");
}
