//! The PostgreSQL stores record each operation's latency and their read cache's hits under
//! `store="postgres"`, on `DATABASE_URL` or else a PostgreSQL container of its own (see
//! `support`).

mod support;

use std::cell::Cell;

use auth0_store_core::store::ServerSideStateStore;
use auth0_test_support::metrics::{assert_round_trip_recorded, recorded, store_round_trip};

#[test]
fn store_operations_record_their_latency_on_postgres() {
    let ran = Cell::new(false);
    let recorded = recorded(|| async {
        let Some(database) = support::database().await else {
            return;
        };
        let backend = support::backend_on(&database, 2).await;
        let secrets = support::secrets();
        let transactions = backend.transaction_store(&secrets);
        let sessions = ServerSideStateStore::new(backend, &secrets);
        store_round_trip(&sessions, &transactions).await;
        ran.set(true);
    });
    if ran.get() {
        assert_round_trip_recorded(&recorded, "postgres");
    }
}
