//! PostgreSQL going away and coming back in the middle of use: typed errors within the
//! pool's acquire timeout while it is down, no panic, and the same pool (and the cleanup
//! task) working again once it is back.
//!
//! This test stops and starts a server, so it starts a private one with
//! `scripts/postgres.sh` rather than disturbing the one in `DATABASE_URL` (other test binaries
//! may use it at the same time). It runs when the tests' PostgreSQL was started by that script
//! (`AUTH0_TEST_PG_DIR` is set, so the PostgreSQL programs are on this machine); otherwise it
//! skips loudly, or fails when `CI` is set.

mod support;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth0_store_core::store::{LogoutFilter, SessionBackend, SessionId, StoreError};
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::postgres::PgPoolOptions;

/// How long the pool waits for a connection: the bound on every error while the server is down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// Slack on top of it for the test's own scheduling.
const SLACK: Duration = Duration::from_secs(2);
/// How long the server may take to be usable again after a start.
const RECOVERY: Duration = Duration::from_secs(20);

/// A PostgreSQL of this test's own, stopped and removed on drop.
struct PrivateServer {
    script: PathBuf,
    dir: String,
    url: String,
}

impl PrivateServer {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres.sh")
    }

    fn start() -> Self {
        let script = Self::script();
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .output()
            .expect("scripts/postgres.sh runs");
        assert!(
            out.status.success(),
            "scripts/postgres.sh start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let var = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("no {name} in the script's output:\n{stdout}"))
                .to_owned()
        };
        Self {
            dir: var("AUTH0_TEST_PG_DIR"),
            url: var("DATABASE_URL"),
            script,
        }
    }

    fn run(&self, command: &str) {
        let out = Command::new("bash")
            .arg(&self.script)
            .arg(command)
            .arg(&self.dir)
            .output()
            .expect("scripts/postgres.sh runs");
        assert!(
            out.status.success(),
            "scripts/postgres.sh {command} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

/// Whether this machine can run a private server (see the module docs).
fn can_run_a_private_server() -> bool {
    if support::database_url().is_none() {
        return false;
    }
    if std::env::var_os("AUTH0_TEST_PG_DIR").is_some() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "AUTH0_TEST_PG_DIR is not set, and CI is, so the outage test cannot be skipped: start \
             the tests' PostgreSQL with eval \"$(scripts/postgres.sh start)\""
        );
    }
    let _ = std::io::stderr().write_all(
        b"\n!! SKIPPED: the PostgreSQL outage test (it needs the PostgreSQL programs that\n\
          !! scripts/postgres.sh uses; AUTH0_TEST_PG_DIR is not set).\n\n",
    );
    false
}

fn assert_typed_outage_error(
    what: &str,
    result: Result<impl std::fmt::Debug, StoreError>,
    took: Duration,
) {
    let err = match result {
        Ok(v) => panic!("{what} succeeded while PostgreSQL was down: {v:?}"),
        Err(e) => e,
    };
    assert!(
        matches!(err, StoreError::Timeout { .. } | StoreError::Backend { .. }),
        "{what} while down gave {err:?}"
    );
    if let StoreError::Backend { .. } = &err {
        let source = std::error::Error::source(&err).expect("the sqlx error is kept");
        assert!(
            source
                .downcast_ref::<auth0_store_postgres::sqlx::Error>()
                .is_some()
        );
    }
    assert!(
        took <= ACQUIRE_TIMEOUT + SLACK,
        "{what} took {took:?} to fail, more than the acquire timeout {ACQUIRE_TIMEOUT:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_gives_typed_errors_while_down_then_the_same_pool_recovers() {
    if !can_run_a_private_server() {
        return;
    }
    let server = Arc::new(
        tokio::task::spawn_blocking(PrivateServer::start)
            .await
            .unwrap(),
    );
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(&server.url)
        .await
        .unwrap();
    let backend = PostgresBackend::new(pool)
        .with_schema(&support::fresh_schema())
        .unwrap()
        .with_operation_timeout(Duration::from_secs(10));
    backend.migrate().await.unwrap();
    let id = SessionId::generate();
    let record = support::record(
        "auth0|ada",
        "sid",
        "tenant.example",
        Duration::from_secs(600),
    );
    backend.create(&id, &record).await.unwrap();
    let cleanup = backend.spawn_cleanup(Duration::from_millis(200));

    tokio::task::spawn_blocking({
        let server = server.clone();
        move || server.run("down")
    })
    .await
    .unwrap();

    let started = Instant::now();
    let loaded = backend.load(&id).await;
    assert_typed_outage_error("load", loaded, started.elapsed());
    let started = Instant::now();
    let updated = backend.update(&id, &record, 1).await;
    assert_typed_outage_error("update", updated, started.elapsed());
    let started = Instant::now();
    let created = backend.create(&SessionId::generate(), &record).await;
    assert_typed_outage_error("create", created, started.elapsed());
    let started = Instant::now();
    let logout = backend
        .delete_by_logout(&LogoutFilter {
            sid: None,
            sub: Some("nobody".into()),
            domain: "tenant.example".into(),
        })
        .await;
    assert_typed_outage_error("logout", logout, started.elapsed());
    let started = Instant::now();
    let message = backend.load(&id).await.unwrap_err().to_string();
    assert!(message.contains("postgres"), "{message}");
    assert!(started.elapsed() <= ACQUIRE_TIMEOUT + SLACK);

    tokio::task::spawn_blocking({
        let server = server.clone();
        move || server.run("up")
    })
    .await
    .unwrap();

    // The same backend, the same pool: it reconnects by itself.
    let back = Instant::now();
    let loaded = loop {
        match backend.load(&id).await {
            Ok(loaded) => break loaded,
            Err(e) => {
                assert!(
                    back.elapsed() < RECOVERY,
                    "not recovered after {RECOVERY:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    eprintln!("recovered {:?} after the start", back.elapsed());
    let loaded = loaded.expect("the session survived the restart");
    assert_eq!(loaded.record, record);
    assert_eq!(
        backend.update(&id, &record, loaded.version).await.unwrap(),
        auth0_store_core::store::UpdateOutcome::Updated
    );

    // The cleanup task lived through it: it counted failed passes and runs again.
    let passes = cleanup.stats().passes;
    let waited = Instant::now();
    while cleanup.stats().passes <= passes {
        assert!(
            waited.elapsed() < RECOVERY,
            "the cleanup task did not recover: {:?}",
            cleanup.stats()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cleanup.stats().errors > 0, "{:?}", cleanup.stats());
    assert!(!cleanup.is_finished());
    cleanup.shutdown().await;
    backend.pool().close().await;
    drop(server);
}
