//! The memory backend's `load` and `update` at concurrency 1, 16 and 64, and
//! `ServerSideStateStore::get` over it on the realistic 4,206-byte session sealed
//! as the store seals it.
//!
//! Why: it is the reference backend and the floor for the others: what a session read costs
//! with no network at all, so the Redis and PostgreSQL figures can be read as "this plus the
//! round trip". There is no raw tool to compare it with; its memory per session is measured
//! by the `bytes_per_session` bench of this crate (kept apart: its counting allocator would
//! slow these down).
//!
//! Each sample spreads criterion's `iters` operations over `c` Tokio tasks on a multi-thread
//! runtime (`auth0_test_support::load`), so the time criterion reports is wall time ÷
//! operations: the inverse of throughput at that concurrency, not one operation's latency.
//! Group `memory_backend`, ids `load/c1` … `update/c64`, `store_get/c1` … `store_get/c64`.
//!
//! `cargo bench -p auth0-store-memory --bench backend`

use auth0_store_conformance::TEST_SECRET;
use auth0_store_core::Secrets;
use auth0_store_core::store::ServerSideStateStore;
use auth0_store_memory::MemoryBackend;
use auth0_test_support::load::{self, CONCURRENCY, Op, Workload};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = load::runtime();
    let secrets = Secrets::parse(TEST_SECRET).expect("the test secret is valid");
    let store = ServerSideStateStore::new(MemoryBackend::new(), &secrets);
    let work = rt
        .block_on(Workload::prepare(store))
        .expect("the memory backend stores the bench sessions");

    let mut group = c.benchmark_group("memory_backend");
    for op in Op::ALL {
        for concurrency in CONCURRENCY {
            group.bench_function(
                BenchmarkId::new(op.name(), format!("c{concurrency}")),
                |b| b.iter_custom(|iters| rt.block_on(work.run(op, iters, concurrency))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
