//! The statements that must not scan the table use the indexes: `EXPLAIN` of the real
//! statements (from `PostgresBackend::sql`) on a table of realistic size and shape.

mod support;

use auth0_store_postgres::sqlx::{self, AssertSqlSafe, PgConnection};
use auth0_store_postgres::{Index, PostgresBackend, Statement};

/// Rows in the table: enough that a scan costs more than an index lookup, as in production.
const ROWS: usize = 10_000;

/// Fills the tables: `ROWS` sessions over five tenants and 2000 users, one in a hundred
/// expired, and as many transactions, one in a hundred expired; then `ANALYZE`.
async fn fill(backend: &PostgresBackend) {
    let schema = backend.schema();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "INSERT INTO \"{schema}\".auth0_sessions (id, data, sid, sub, domain, version, expires_at) \
         SELECT 'id-' || g, '\\x00'::bytea, 'sid-' || g, 'user-' || (g % 2000), \
                'tenant-' || (g % 5) || '.example', 1, \
                now() + CASE WHEN g % 100 = 0 THEN INTERVAL '-1 hour' ELSE INTERVAL '1 day' END \
         FROM generate_series(1, {ROWS}) g; \
         INSERT INTO \"{schema}\".auth0_transactions (key, data, expires_at) \
         SELECT '_a0_tx:' || g, '\\x00'::bytea, \
                now() + CASE WHEN g % 100 = 0 THEN INTERVAL '-1 hour' ELSE INTERVAL '1 hour' END \
         FROM generate_series(1, {ROWS}) g; \
         ANALYZE \"{schema}\".auth0_sessions; ANALYZE \"{schema}\".auth0_transactions;"
    )))
    .execute(backend.pool())
    .await
    .unwrap();
}

/// The plan of `statement` with `bind` applied to `EXPLAIN {statement}`.
async fn plan<'q>(
    conn: &mut PgConnection,
    backend: &PostgresBackend,
    statement: Statement,
    bind: impl FnOnce(
        sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> String {
    let query = sqlx::query(AssertSqlSafe(format!("EXPLAIN {}", backend.sql(statement))));
    let lines: Vec<String> = bind(query)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|row| sqlx::Row::get(row, 0))
        .collect();
    lines.join("\n")
}

fn assert_uses(plan: &str, index: &str, what: &str) {
    assert!(
        plan.contains(index),
        "{what} does not use the index {index}; its plan:\n{plan}"
    );
    assert!(
        !plan.contains("Seq Scan"),
        "{what} scans the table; its plan:\n{plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_update_logout_and_cleanup_use_the_indexes() {
    let Some(backend) = support::backend().await else {
        return;
    };
    fill(&backend).await;
    let mut conn = backend.pool().acquire().await.unwrap();

    let load = plan(&mut conn, &backend, Statement::Load, |q| q.bind("id-42")).await;
    assert_uses(&load, "auth0_sessions_pkey", "load");

    let update = plan(&mut conn, &backend, Statement::Update, |q| {
        q.bind("id-42")
            .bind(&b"x"[..])
            .bind("sid-42")
            .bind("user-42")
            .bind("tenant-2.example")
            .bind(2_000_000_000_i64)
            .bind(0_i32)
            .bind(1_i64)
    })
    .await;
    assert_uses(&update, "auth0_sessions_pkey", "update");

    let by_sid = plan(&mut conn, &backend, Statement::DeleteBySid, |q| {
        q.bind("tenant-2.example")
            .bind("sid-42")
            .bind(Some("user-42"))
    })
    .await;
    // With both, either index narrows it to a handful of rows; the planner may take either.
    let (sid_index, sub_index) = (
        backend.index_name(Index::SessionsDomainSid),
        backend.index_name(Index::SessionsDomainSub),
    );
    assert!(
        by_sid.contains(&sid_index) || by_sid.contains(&sub_index),
        "logout by sid and sub uses neither index; its plan:\n{by_sid}"
    );
    assert!(
        !by_sid.contains("Seq Scan"),
        "logout by sid and sub scans:\n{by_sid}"
    );

    let by_sid_alone = plan(&mut conn, &backend, Statement::DeleteBySid, |q| {
        q.bind("tenant-2.example").bind("sid-42").bind(None::<&str>)
    })
    .await;
    assert_uses(
        &by_sid_alone,
        &backend.index_name(Index::SessionsDomainSid),
        "logout by sid without sub",
    );

    let by_sub = plan(&mut conn, &backend, Statement::DeleteBySub, |q| {
        q.bind("tenant-2.example").bind("user-42")
    })
    .await;
    assert_uses(
        &by_sub,
        &backend.index_name(Index::SessionsDomainSub),
        "logout by sub",
    );

    let cleanup = plan(&mut conn, &backend, Statement::DeleteExpiredSessions, |q| {
        q.bind(1000_i64)
    })
    .await;
    assert_uses(
        &cleanup,
        &backend.index_name(Index::SessionsExpiresAt),
        "the cleanup of sessions",
    );

    let tx_cleanup = plan(
        &mut conn,
        &backend,
        Statement::DeleteExpiredTransactions,
        |q| q.bind(1000_i64),
    )
    .await;
    assert_uses(
        &tx_cleanup,
        &backend.index_name(Index::TransactionsExpiresAt),
        "the cleanup of transactions",
    );

    let tx_get = plan(&mut conn, &backend, Statement::TransactionGet, |q| {
        q.bind("_a0_tx:42")
    })
    .await;
    assert_uses(&tx_get, "auth0_transactions_pkey", "reading a transaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_small_table_the_indexes_are_still_usable() {
    // A table of a few rows is scanned because that is cheaper; with scans priced out, the
    // plan shows that the index can serve the statement (the right columns, in order).
    let Some(backend) = support::backend().await else {
        return;
    };
    let mut conn = backend.pool().acquire().await.unwrap();
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let by_sid = plan(&mut conn, &backend, Statement::DeleteBySid, |q| {
        q.bind("tenant.example").bind("sid").bind(None::<&str>)
    })
    .await;
    assert!(
        by_sid.contains(&backend.index_name(Index::SessionsDomainSid)),
        "{by_sid}"
    );
    let by_sub = plan(&mut conn, &backend, Statement::DeleteBySub, |q| {
        q.bind("tenant.example").bind("user")
    })
    .await;
    assert!(
        by_sub.contains(&backend.index_name(Index::SessionsDomainSub)),
        "{by_sub}"
    );
    let list = plan(&mut conn, &backend, Statement::ListBySub, |q| {
        q.bind("tenant.example").bind("user").bind(100_i64)
    })
    .await;
    assert!(
        list.contains(&backend.index_name(Index::SessionsDomainSub)),
        "{list}"
    );
    let cleanup = plan(&mut conn, &backend, Statement::DeleteExpiredSessions, |q| {
        q.bind(1000_i64)
    })
    .await;
    assert!(
        cleanup.contains(&backend.index_name(Index::SessionsExpiresAt)),
        "{cleanup}"
    );
    // The pooled connection goes back with the setting undone.
    sqlx::query("RESET enable_seqscan")
        .execute(&mut *conn)
        .await
        .unwrap();
}
