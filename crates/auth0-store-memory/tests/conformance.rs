//! The memory store against the whole conformance suite, on a manual clock.

use auth0_store_conformance::{ServerSideFixture, conformance_tests};
use auth0_store_core::clock::ManualClock;
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use std::sync::Arc;

async fn fixture() -> ServerSideFixture {
    let clock = ManualClock::starting_now();
    ServerSideFixture::manual_time(
        MemoryBackend::new().with_clock(Arc::new(clock.clone())),
        MemoryTransactionBackend::new()
            .with_clock(Arc::new(clock.clone()))
            .transaction_store()
            .with_clock(Arc::new(clock.clone())),
        clock,
    )
}

conformance_tests!(fixture());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_all_passes_every_rule() {
    let report = auth0_store_conformance::run_all(fixture).await;
    assert_eq!(report.results.len(), auth0_store_conformance::RULES.len());
    report.assert_all_passed();
}
