//! Heap bytes per session in the memory backend (docs/benchmarks.md reports them):
//! 10,000 realistic sessions (4,206 bytes of JSON
//! each, every one of another user, so the `sid` and `sub` indexes hold one entry per
//! session as in real life) stored through `ServerSideStateStore`, the heap still in use
//! afterwards counted by a counting global allocator (`stats_alloc`) and divided by 10,000.
//!
//! Why: it is the number that sizes a single-instance deployment on the memory store. It
//! counts the bytes asked of the allocator (record, id, lookup fields, index entries, the
//! maps' share of spare capacity), not the allocator's own rounding and headers, so the
//! resident size is somewhat higher. The store's read cache is off here: it is bounded
//! (1,024 opened sessions in all, some 5 MB at this size), not a cost per session.
//!
//! The row goes into `target/bench/results/bytes_per_session.json` (the Redis and PostgreSQL
//! benches add theirs). No criterion: one measurement, printed. Only under `cargo bench`.
//!
//! `cargo bench -p auth0-store-memory --bench bytes_per_session`

use std::alloc::System;

use auth0_store_conformance::TEST_SECRET;
use auth0_store_conformance::sample::realistic_session;
use auth0_store_core::Secrets;
use auth0_store_core::store::{ServerSideStateStore, SessionBackend};
use auth0_store_memory::MemoryBackend;
use auth0_test_support::load::{self, BytesPerSession};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Sessions stored; the heap they hold is divided by this.
const SESSIONS: u32 = 10_000;

fn main() {
    if !load::benchmark_mode() {
        println!("bytes_per_session: measured under `cargo bench` only");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let secrets = Secrets::parse(TEST_SECRET).expect("the test secret is valid");
    // Without the store's read cache: it holds at most 1,024 opened sessions whatever the
    // number of sessions, so it is not a cost per session.
    let store = ServerSideStateStore::new(MemoryBackend::new(), &secrets).with_read_cache(0);
    // One session first, outside the count: lazily made statics (the system clock, …).
    let first = rt
        .block_on(load::store_session(&store, &realistic_session()))
        .expect("stored");
    let sealed_bytes = rt
        .block_on(store.backend().load(&first))
        .expect("loads")
        .expect("is there")
        .record
        .data
        .len();
    rt.block_on(store.backend().delete(&first))
        .expect("deleted");

    let region = Region::new(GLOBAL);
    for user in 0..SESSIONS {
        rt.block_on(load::store_session(&store, &load::session_of_user(user)))
            .expect("stored");
    }
    let change = region.change();
    assert_eq!(store.backend().len(), SESSIONS as usize);
    let live_bytes = change.bytes_allocated as f64 - change.bytes_deallocated as f64;
    let live_allocations = change.allocations as f64 - change.deallocations as f64;
    let json_bytes = serde_json::to_vec(&realistic_session())
        .expect("serialises")
        .len();
    load::record_bytes_per_session(&BytesPerSession {
        store: "memory",
        bytes_per_session: live_bytes / f64::from(SESSIONS),
        json_bytes,
        sealed_bytes,
        how: format!(
            "heap bytes requested and still live after storing {SESSIONS} sessions of distinct \
             users through ServerSideStateStore (read cache off: it is bounded, not per \
             session) (stats_alloc), divided by {SESSIONS}; allocator overhead not included"
        ),
        extra: vec![(
            "live_allocations_per_session",
            live_allocations / f64::from(SESSIONS),
        )],
    })
    .expect("the results file is written");
}
