//! `PostgresBackend::connect`: a ready backend from a URL alone (pool, migrations, a
//! cleanup task that lives as long as the backend).

mod support;

use std::time::Duration;

use auth0_store_core::store::{SessionBackend, SessionId};
use auth0_store_postgres::sqlx::{self, Connection as _, PgConnection};
use auth0_store_postgres::{DEFAULT_MAX_CONNECTIONS, PostgresBackend};

/// `url` with `application_name` set to `name`, so that the test finds its own connections.
fn named(url: &str, name: &str) -> String {
    let join = if url.contains('?') { '&' } else { '?' };
    format!("{url}{join}application_name={name}")
}

/// How many connections named `name` the server has, polled until it is `want` (5 s at most).
async fn sessions_become(url: &str, name: &str, want: i64) -> i64 {
    let mut admin = PgConnection::connect(url).await.unwrap();
    let mut count = -1;
    for _ in 0..250 {
        count =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(name)
                .fetch_one(&mut admin)
                .await
                .unwrap();
        if count == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    admin.close().await.unwrap();
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_gives_a_migrated_backend_whose_cleanup_runs() {
    let Some(server) = support::database().await else {
        return;
    };
    let backend = PostgresBackend::connect(server.url()).await.unwrap();
    assert_eq!(
        backend.pool().options().get_max_connections(),
        DEFAULT_MAX_CONNECTIONS
    );
    // Migrated: a session goes in and comes back.
    let id = SessionId::generate();
    let record = support::record(
        "auth0|ada",
        "sid-1",
        "tenant.example",
        Duration::from_secs(60),
    );
    backend.create(&id, &record).await.unwrap();
    assert!(backend.load(&id).await.unwrap().is_some());
    // The cleanup task made its first pass (it runs one at once).
    let mut passes = 0;
    for _ in 0..250 {
        passes = backend
            .cleanup_stats()
            .expect("connect keeps a cleanup task")
            .passes;
        if passes > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(passes > 0, "no cleanup pass: {:?}", backend.cleanup_stats());
    backend.delete(&id).await.unwrap();
    backend.close().await;
    assert_eq!(
        backend.cleanup_stats(),
        None,
        "close stops the cleanup task"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_clone_stops_the_cleanup_task_and_its_connections() {
    let Some(server) = support::database().await else {
        return;
    };
    let name = format!("connect-drop-{}", std::process::id());
    let backend = PostgresBackend::connect(&named(server.url(), &name))
        .await
        .unwrap();
    let clone = backend.clone();
    assert!(
        backend
            .load(&SessionId::generate())
            .await
            .unwrap()
            .is_none()
    );
    assert!(sessions_become(server.url(), &name, 1).await >= 1);

    drop(backend);
    // A clone keeps the task, and so the pool, alive.
    assert!(clone.cleanup_stats().is_some());
    drop(clone);
    // The task held a backend of its own: once stopped, the pool goes and its connections
    // with it.
    assert_eq!(
        sessions_become(server.url(), &name, 0).await,
        0,
        "connections of a dropped backend are still open: its cleanup task still runs"
    );
}

#[tokio::test]
async fn connect_to_what_is_not_postgresql_fails_typed() {
    let err = PostgresBackend::connect("mysql://app@127.0.0.1/app")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_backend_error", "{err:?}");
    // Nothing listens on port 1: refused until the acquire timeout, then an error.
    let err = PostgresBackend::connect("postgres://app@127.0.0.1:1/app")
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), "store_backend_error" | "store_timeout"),
        "{err:?}"
    );
}
