//! What a realistic session costs on disk, table and indexes included (the number in
//! docs/stores.md comes from here: `cargo test -p auth0-store-postgres --test sizing -- --nocapture`).

mod support;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use auth0_store_conformance::rules::sample_state;
use auth0_store_core::store::{ServerSideStateStore, StateStore, StoreContext};
use auth0_store_postgres::sqlx::{self, AssertSqlSafe};

/// Sessions written.
const SESSIONS: usize = 1000;
/// A generous bound: a realistic session (1.7 KB of JSON) must stay well under it.
const MAX_BYTES_PER_SESSION: i64 = 8 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realistic_session_takes_a_few_kilobytes_with_its_indexes() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let (pool, schema) = (backend.pool().clone(), backend.schema().to_owned());
    let store = ServerSideStateStore::new(backend.clone(), &support::secrets());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let json_len = serde_json::to_vec(&sample_state("auth0|user-0", "sid-0", now))
        .unwrap()
        .len();
    let started = Instant::now();
    for i in 0..SESSIONS {
        let state = sample_state(&format!("auth0|user-{i}"), &format!("sid-{i}"), now);
        store
            .set("_a0_session", &state, true, &StoreContext::new())
            .await
            .unwrap();
    }
    let writes = started.elapsed();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "VACUUM ANALYZE \"{schema}\".auth0_sessions"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let table = format!("\"{schema}\".auth0_sessions");
    let (total, heap, indexes): (i64, i64, i64) = sqlx::query_as(
        "SELECT pg_total_relation_size($1::regclass), pg_table_size($1::regclass), \
         pg_indexes_size($1::regclass)",
    )
    .bind(&table)
    .fetch_one(&pool)
    .await
    .unwrap();
    let per_session = total / SESSIONS as i64;
    eprintln!(
        "sizing: {SESSIONS} sessions of {json_len} bytes of JSON: {per_session} bytes each \
         ({} table with TOAST, {} indexes); {:?} per write",
        heap / SESSIONS as i64,
        indexes / SESSIONS as i64,
        writes / SESSIONS as u32
    );
    assert!(
        per_session < MAX_BYTES_PER_SESSION,
        "{per_session} bytes per session"
    );
}
