//! The read lane: `load` runs on connections of the backend's own (see
//! `PostgresBackend::with_read_connections`). They are reused, bounded, closed when a query
//! is cancelled half-way, and replaced without an error when the server killed them.

mod support;

use std::sync::Arc;
use std::time::Duration;

use auth0_store_core::store::{SessionBackend, SessionId, StoreError};
use auth0_store_postgres::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use auth0_store_postgres::sqlx::{self, Connection as _, PgConnection};
use auth0_store_postgres::{DEFAULT_OPERATION_TIMEOUT, PostgresBackend};

/// A migrated backend with a lane of `lane` connections and one stored session.
async fn backend_with_session(
    server: &support::TestDatabase,
    lane: usize,
) -> (PostgresBackend, SessionId) {
    let backend = support::backend_on(server, 4)
        .await
        .with_read_connections(lane);
    let id = store_session(&backend).await;
    (backend, id)
}

/// A backend on a pool of 2 connected with `options` (the server's, changed by `options`),
/// a lane of 2, `operation_timeout`, and a stored session, loaded twice at once so that both
/// read connections are open and idle.
async fn two_idle_read_connections(
    server: &support::TestDatabase,
    options: impl FnOnce(PgConnectOptions) -> PgConnectOptions,
    operation_timeout: Duration,
) -> (PostgresBackend, SessionId) {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options(server.url().parse().unwrap()))
        .await
        .unwrap();
    let backend = PostgresBackend::new(pool)
        .with_schema(&support::fresh_schema())
        .unwrap()
        .with_read_connections(2)
        .with_operation_timeout(operation_timeout);
    backend.migrate().await.unwrap();
    let id = store_session(&backend).await;
    // Loads at once need two connections, unless each is done before the next asks (a busy
    // machine): four at a time, again until two overlapped.
    for _ in 0..500 {
        let loads = tokio::join!(
            backend.load(&id),
            backend.load(&id),
            backend.load(&id),
            backend.load(&id)
        );
        for load in [loads.0, loads.1, loads.2, loads.3] {
            assert!(load.unwrap().is_some());
        }
        if backend.read_connections().idle == 2 {
            break;
        }
    }
    assert_eq!(backend.read_connections().idle, 2);
    (backend, id)
}

/// Whether the count `query` gives for `name` (its `$1`) falls to `want` within 5 seconds.
async fn sessions_drop_to(admin: &mut PgConnection, query: &str, name: &str, want: i64) -> bool {
    for _ in 0..250 {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_owned()))
            .bind(name)
            .fetch_one(&mut *admin)
            .await
            .unwrap();
        if count == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A connection holding a lock that makes every read of the backend's sessions table wait,
/// until [`unlock`].
async fn lock_sessions_table(
    server: &support::TestDatabase,
    backend: &PostgresBackend,
) -> PgConnection {
    let mut locker = PgConnection::connect(server.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    let lock = format!(
        "LOCK TABLE \"{}\".\"{}\" IN ACCESS EXCLUSIVE MODE",
        backend.schema(),
        backend.table()
    );
    sqlx::query(sqlx::AssertSqlSafe(lock))
        .execute(&mut locker)
        .await
        .unwrap();
    locker
}

async fn unlock(mut locker: PgConnection) {
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    locker.close().await.unwrap();
}

/// Stores Ada's session (`sid-1`) and returns its id.
async fn store_session(backend: &PostgresBackend) -> SessionId {
    let id = SessionId::generate();
    let record = support::record(
        "auth0|ada",
        "sid-1",
        "tenant.example",
        Duration::from_secs(600),
    );
    backend.create(&id, &record).await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_loads_reuse_one_connection() {
    let Some(server) = support::database().await else {
        return;
    };
    let (backend, id) = backend_with_session(&server, 4).await;
    assert_eq!(backend.read_connections().open, 0, "opened on demand");
    for _ in 0..20 {
        let loaded = backend.load(&id).await.unwrap().expect("the session");
        assert_eq!(loaded.record.sub.as_deref(), Some("auth0|ada"));
    }
    let now = backend.read_connections();
    assert_eq!((now.open, now.idle, now.max), (1, 1, 4), "{now:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_loads_stay_within_the_limit() {
    let Some(server) = support::database().await else {
        return;
    };
    let (backend, id) = backend_with_session(&server, 3).await;
    let backend = Arc::new(backend);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (backend, id) = (backend.clone(), id.clone());
            tokio::spawn(async move {
                let loaded = backend.load(&id).await;
                let open = backend.read_connections().open;
                (loaded, open)
            })
        })
        .collect();
    for task in tasks {
        let (loaded, open) = task.await.unwrap();
        assert!(loaded.unwrap().is_some());
        assert!(open <= 3, "{open} lane connections open, the limit is 3");
    }
    let now = backend.read_connections();
    assert!(now.open >= 1 && now.open <= 3, "{now:?}");
    assert_eq!(now.open, now.idle, "nothing is running: {now:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_cancelled_half_way_closes_its_connection_and_the_next_load_is_right() {
    let Some(server) = support::database().await else {
        return;
    };
    let name = format!("read-lane-cancel-{}", std::process::id());
    let (backend, id) = two_idle_read_connections(
        &server,
        |options| options.application_name(&name),
        Duration::from_millis(300),
    )
    .await;

    // A lock that makes every read of the table wait, held by a connection of the test's.
    let locker = lock_sessions_table(&server, &backend).await;

    // The load waits on the lock until its timeout drops it, query and connection both.
    let err = backend.load(&id).await.unwrap_err();
    assert!(matches!(err, StoreError::Timeout { .. }), "{err:?}");
    let now = backend.read_connections();
    assert_eq!(
        (now.open, now.idle),
        (1, 1),
        "the cancelled connection is closed, the other stays: {now:?}"
    );
    // The server ends the abandoned query by itself (statement_timeout: the operation's
    // timeout and a second), and with it the session, while the lock is still held.
    let mut admin = PgConnection::connect(server.url()).await.unwrap();
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                   AND wait_event_type = 'Lock'";
    assert!(
        sessions_drop_to(&mut admin, waiting, &name, 0).await,
        "the abandoned query still waits on the lock on the server"
    );
    admin.close().await.unwrap();

    unlock(locker).await;

    // A new connection, and the right row: nothing of the cancelled query's reply is read.
    let loaded = backend.load(&id).await.unwrap().expect("the session");
    assert_eq!(loaded.record.sid.as_deref(), Some("sid-1"));
    let missing = backend.load(&SessionId::generate()).await.unwrap();
    assert!(missing.is_none());
    assert_eq!(backend.read_connections().open, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_killed_is_replaced_without_an_error() {
    let Some(server) = support::database().await else {
        return;
    };
    // Connections named for this test, so that it kills only its own.
    let name = format!("read-lane-kill-{}", std::process::id());
    let (backend, id) = two_idle_read_connections(
        &server,
        |options| options.application_name(&name),
        DEFAULT_OPERATION_TIMEOUT,
    )
    .await;
    let before = backend.read_connections();
    assert!(before.idle >= 1, "{before:?}");

    // Kill every connection of this backend: the lane's idle ones and the pool's, as a
    // server restart would.
    let mut admin = PgConnection::connect(server.url()).await.unwrap();
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = $1",
    )
    .bind(&name)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(killed >= before.idle as i64, "killed {killed}");
    // pg_terminate_backend only signals: wait until they are gone.
    let all = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1";
    assert!(
        sessions_drop_to(&mut admin, all, &name, 0).await,
        "the killed sessions are still there"
    );
    admin.close().await.unwrap();

    // The first load after it succeeds: the dead connection fails, the lane forgets its
    // idle connections and runs the query again on a new one.
    let loaded = backend.load(&id).await.unwrap().expect("the session");
    assert_eq!(loaded.record.sub.as_deref(), Some("auth0|ada"));
    let now = backend.read_connections();
    assert_eq!(
        (now.open, now.idle),
        (1, 1),
        "only the new connection: {now:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_error_on_a_healthy_connection_is_returned_and_keeps_the_others() {
    let Some(server) = support::database().await else {
        return;
    };
    // Every statement of this backend's connections is cancelled by the server after 200 ms.
    let (backend, id) =
        two_idle_read_connections(&server, |options| options, DEFAULT_OPERATION_TIMEOUT).await;
    // The table goes: the next load fails with 42P01 on a connection that is fine.
    let mut admin = PgConnection::connect(server.url()).await.unwrap();
    let drop_table = format!(
        "DROP TABLE \"{}\".\"{}\"",
        backend.schema(),
        backend.table()
    );
    sqlx::query(sqlx::AssertSqlSafe(drop_table))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();

    // Not a connection error: returned as it is, not run again, and the other idle
    // connection stays.
    let err = backend.load(&id).await.unwrap_err();
    let source = std::error::Error::source(&err).expect("the sqlx error");
    let code = source
        .downcast_ref::<sqlx::Error>()
        .and_then(|e| e.as_database_error())
        .and_then(|db| db.code().map(|c| c.into_owned()));
    assert_eq!(code.as_deref(), Some("42P01"), "{err:?}");
    let now = backend.read_connections();
    assert_eq!((now.open, now.idle), (1, 1), "{now:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_the_read_connections_and_later_loads_fail_typed() {
    let Some(server) = support::database().await else {
        return;
    };
    let (backend, id) = backend_with_session(&server, 2).await;
    backend.load(&id).await.unwrap().unwrap();
    assert_eq!(backend.read_connections().open, 1);

    backend.close().await;
    assert_eq!(backend.read_connections().open, 0);
    assert!(backend.pool().is_closed());
    let err = backend.load(&id).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert_eq!(backend.read_connections().open, 0, "nothing reopened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_instance_lets_idle_read_connections_go_after_the_pools_idle_timeout() {
    let Some(server) = support::database().await else {
        return;
    };
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .idle_timeout(Duration::from_millis(300))
        .connect(server.url())
        .await
        .unwrap();
    let backend = PostgresBackend::new(pool)
        .with_schema(&support::fresh_schema())
        .unwrap();
    backend.migrate().await.unwrap();
    let id = store_session(&backend).await;
    backend.load(&id).await.unwrap().unwrap();
    assert_eq!(backend.read_connections().idle, 1);

    // No traffic: the reaper closes it without waiting for another load.
    let mut waited = Duration::ZERO;
    while backend.read_connections().open > 0 {
        assert!(
            waited < Duration::from_secs(5),
            "still open: {:?}",
            backend.read_connections()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert!(
        backend.load(&id).await.unwrap().is_some(),
        "and reads go on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_lane_load_goes_through_the_pool() {
    let Some(server) = support::database().await else {
        return;
    };
    let (backend, id) = backend_with_session(&server, 0).await;
    assert!(backend.load(&id).await.unwrap().is_some());
    assert_eq!(backend.read_connections().max, 0);
    assert_eq!(backend.read_connections().open, 0);
}

/// The most connections named `name` the server had at once, sampled until `stop` is set.
async fn most_sessions_named(
    admin: &mut PgConnection,
    name: &str,
    stop: &std::sync::atomic::AtomicBool,
) -> i64 {
    let mut most = 0;
    while !stop.load(std::sync::atomic::Ordering::Acquire) {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(name)
                .fetch_one(&mut *admin)
                .await
                .unwrap();
        most = most.max(count);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    most
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_at_once_never_open_more_connections_than_the_pools_maximum() {
    let Some(server) = support::database().await else {
        return;
    };
    const POOL_MAX: u32 = 3;
    let name = format!("read-lane-budget-{}", std::process::id());
    let options: PgConnectOptions = server.url().parse().unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(POOL_MAX)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.application_name(&name))
        .await
        .unwrap();
    // The default: a read lane as large as the pool.
    let backend = PostgresBackend::new(pool)
        .with_schema(&support::fresh_schema())
        .unwrap();
    backend.migrate().await.unwrap();
    assert_eq!(backend.read_connections().max, POOL_MAX as usize);
    let id = store_session(&backend).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = tokio::spawn({
        let (stop, name, url) = (stop.clone(), name.clone(), server.url().to_owned());
        async move {
            let mut admin = PgConnection::connect(&url).await.unwrap();
            let most = most_sessions_named(&mut admin, &name, &stop).await;
            admin.close().await.unwrap();
            most
        }
    });
    // Many more reads than connections, and writes beside them, all at once.
    let readers = (0..12).map(|_| {
        let (backend, id) = (backend.clone(), id.clone());
        tokio::spawn(async move {
            for _ in 0..100 {
                let loaded = backend.load(&id).await.expect("a load within the budget");
                assert!(loaded.is_some());
            }
        })
    });
    let writers = (0..4).map(|_| {
        let backend = backend.clone();
        tokio::spawn(async move {
            for _ in 0..25 {
                store_session(&backend).await;
            }
        })
    });
    let tasks: Vec<_> = readers.chain(writers).collect();
    for task in tasks {
        task.await.expect("every read and write succeeds");
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    let most = sampler.await.unwrap();
    assert!(most >= 1, "the sampler saw the backend's connections");
    assert!(
        most <= i64::from(POOL_MAX),
        "{most} connections open at once, the pool's maximum is {POOL_MAX}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_pool_itself_does_not_wait_for_idle_read_connections() {
    let Some(server) = support::database().await else {
        return;
    };
    let (backend, id) = backend_with_session(&server, 2).await;
    backend.load(&id).await.unwrap().unwrap();
    assert_eq!(backend.read_connections().idle, 1);
    // The pool waits for every connection checked out of it, the idle read one included:
    // the lane gives it back when the pool closes, not at the pool's idle timeout (10 min).
    tokio::time::timeout(Duration::from_secs(5), backend.pool().close())
        .await
        .expect("the pool closed without waiting for the read connections");
    assert_eq!(backend.read_connections().open, 0);
}
