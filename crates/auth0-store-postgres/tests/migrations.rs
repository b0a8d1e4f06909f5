//! `migrate()`: many instances starting at once, running it again, and what it creates.

mod support;

use auth0_store_postgres::sqlx::{self, Row};
use auth0_store_postgres::{Index, PostgresBackend};

/// How many instances start at once.
const INSTANCES: usize = 8;

/// The tables of `schema`, sorted.
async fn tables(pool: &sqlx::PgPool, schema: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The indexes of `schema`, sorted.
async fn indexes(pool: &sqlx::PgPool, schema: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_migrations_on_an_empty_schema_all_succeed() {
    let Some(database) = support::database().await else {
        return;
    };
    let url = database.url();
    let schema = support::fresh_schema();
    // Eight instances: each its own pool, as separate processes would have.
    let mut instances = Vec::new();
    for _ in 0..INSTANCES {
        let pool = support::pool_on(url, 1).await;
        instances.push(PostgresBackend::new(pool).with_schema(&schema).unwrap());
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(INSTANCES));
    let tasks: Vec<_> = instances
        .iter()
        .cloned()
        .map(|backend| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                backend.migrate().await
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let result = task.await.expect("a migration panicked");
        assert!(result.is_ok(), "instance {i} failed to migrate: {result:?}");
    }

    let pool = instances[0].pool();
    assert_eq!(
        tables(pool, &schema).await,
        [
            "auth0_sessions",
            "auth0_sessions_logout_tokens",
            "auth0_sessions_migrations",
            "auth0_transactions"
        ]
    );
    let ledger: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM \"{schema}\".auth0_sessions_migrations ORDER BY version"
    )))
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(ledger, [1, 2], "each migration is recorded exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_create_the_indexes_the_queries_need() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let mut expected = vec![
        backend.index_name(Index::SessionsExpiresAt),
        backend.index_name(Index::SessionsDomainSid),
        backend.index_name(Index::SessionsDomainSub),
        backend.index_name(Index::TransactionsExpiresAt),
        backend.index_name(Index::LogoutTokensExpiresAt),
        "auth0_sessions_logout_tokens_pkey".to_owned(),
        "auth0_sessions_migrations_pkey".to_owned(),
        "auth0_sessions_pkey".to_owned(),
        "auth0_transactions_pkey".to_owned(),
    ];
    expected.sort();
    assert_eq!(indexes(backend.pool(), backend.schema()).await, expected);

    let columns: Vec<(String, String, String)> = sqlx::query(
        "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name = 'auth0_sessions' ORDER BY ordinal_position",
    )
    .bind(backend.schema())
    .fetch_all(backend.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    let columns: Vec<(&str, &str, &str)> = columns
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "text", "NO"),
            ("data", "bytea", "NO"),
            ("sid", "text", "YES"),
            ("sub", "text", "YES"),
            ("domain", "text", "YES"),
            ("version", "bigint", "NO"),
            ("expires_at", "timestamp with time zone", "NO"),
            ("created_at", "timestamp with time zone", "NO"),
            ("updated_at", "timestamp with time zone", "NO"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_again_changes_nothing() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let before = indexes(backend.pool(), backend.schema()).await;
    backend.migrate().await.unwrap();
    backend.migrate().await.unwrap();
    assert_eq!(indexes(backend.pool(), backend.schema()).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tables_in_one_new_schema_migrate_at_once() {
    let Some(database) = support::database().await else {
        return;
    };
    let url = database.url();
    let schema = support::fresh_schema();
    let a = PostgresBackend::new(support::pool_on(url, 1).await)
        .with_schema(&schema)
        .unwrap()
        .with_table("sessions_a")
        .unwrap()
        .with_transactions_table("transactions_a")
        .unwrap();
    let b = PostgresBackend::new(support::pool_on(url, 1).await)
        .with_schema(&schema)
        .unwrap()
        .with_table("sessions_b")
        .unwrap()
        .with_transactions_table("transactions_b")
        .unwrap();
    // Different tables take different locks, so both may try to create the schema.
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap();
    rb.unwrap();
    assert_eq!(
        tables(a.pool(), &schema).await,
        [
            "sessions_a",
            "sessions_a_logout_tokens",
            "sessions_a_migrations",
            "sessions_b",
            "sessions_b_logout_tokens",
            "sessions_b_migrations",
            "transactions_a",
            "transactions_b"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_made_by_something_else_is_an_error_not_adopted() {
    let Some(pool) = support::pool(1).await else {
        return;
    };
    let schema = support::fresh_schema();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA \"{schema}\"; CREATE TABLE \"{schema}\".auth0_sessions (id int)"
    )))
    .execute(&*pool)
    .await
    .unwrap();
    let backend = PostgresBackend::new(pool.clone())
        .with_schema(&schema)
        .unwrap();
    let err = backend.migrate().await.unwrap_err();
    assert_eq!(err.code(), "store_backend_error");
    assert!(
        std::error::Error::source(&err)
            .unwrap()
            .to_string()
            .contains("already exists"),
        "{err}"
    );
    // Rolled back as a whole: no ledger row claims the migration ran.
    let ledger: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename = 'auth0_sessions_migrations'"
    )))
    .fetch_one(backend.pool())
    .await
    .unwrap();
    assert_eq!(ledger, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_migrations_are_all_before_migrate_and_none_after_and_reading_creates_nothing() {
    let Some(database) = support::database().await else {
        return;
    };
    let schema = support::fresh_schema();
    let pool = support::pool_on(database.url(), 1).await;
    let backend = PostgresBackend::new(pool).with_schema(&schema).unwrap();
    let pending = backend.pending_migrations().await.unwrap();
    assert!(!pending.is_empty() && pending[0] == 1, "{pending:?}");
    assert!(
        pending.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {pending:?}"
    );
    assert!(
        tables(backend.pool(), &schema).await.is_empty(),
        "asking created a table"
    );
    backend.migrate().await.unwrap();
    assert_eq!(
        backend.pending_migrations().await.unwrap(),
        Vec::<i64>::new()
    );
}
