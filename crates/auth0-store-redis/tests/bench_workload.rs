//! The bench workload's `store_get` over Redis reads from the read cache after its first read:
//! the bench measures a cached read plus Redis' round trip, not a decrypt per read.

mod support;

use auth0_store_conformance::TEST_SECRET;
use auth0_store_core::Secrets;
use auth0_store_core::store::ServerSideStateStore;
use auth0_test_support::load::{Op, Workload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_get_in_the_bench_workload_hits_the_read_cache() {
    let Some(redis) = support::redis().await else {
        return;
    };
    let backend = support::backend_on(&redis).await;
    let secrets = Secrets::parse(TEST_SECRET).unwrap();
    let work = Workload::prepare(ServerSideStateStore::new(backend, &secrets))
        .await
        .unwrap();
    let before = work.store().read_cache_stats();
    for concurrency in [1, 16, 64] {
        work.run(Op::StoreGet, 3_000, concurrency).await;
    }
    let after = work.store().read_cache_stats();
    assert_eq!(after.hits - before.hits, 9_000, "{after:?}");
    assert!(after.misses - before.misses <= 1, "{after:?}");
    work.delete_sessions().await.unwrap();
}
