//! The Redis stores record each operation's latency and their read cache's hits under
//! `store="redis"`, on `REDIS_URL` or else a Redis container of its own (see `support`).

mod support;

use std::cell::Cell;

use auth0_store_conformance::TEST_SECRET;
use auth0_store_core::Secrets;
use auth0_store_core::store::ServerSideStateStore;
use auth0_test_support::metrics::{assert_round_trip_recorded, recorded, store_round_trip};

#[test]
fn store_operations_record_their_latency_on_redis() {
    let ran = Cell::new(false);
    let recorded = recorded(|| async {
        let Some(redis) = support::redis().await else {
            return;
        };
        let backend = support::backend_on(&redis).await;
        let secrets = Secrets::parse(TEST_SECRET).unwrap();
        let transactions = backend.transaction_store(&secrets);
        let sessions = ServerSideStateStore::new(backend, &secrets);
        store_round_trip(&sessions, &transactions).await;
        ran.set(true);
    });
    if ran.get() {
        assert_round_trip_recorded(&recorded, "redis");
    }
}
