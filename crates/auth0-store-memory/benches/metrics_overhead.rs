//! What the store's metrics cost when the application installs no recorder: a session read
//! through `ServerSideStateStore::get` over the memory backend, answered by the read cache
//! (the hot path of every request with a session: the fastest store operation there is, so
//! the one where a fixed cost shows most), next to the instrumentation it carries on its own
//! (one `StoreMeters::time` guard and one read-cache count, exactly what `get` does).
//!
//! Why two ids rather than a build without metrics: the instrumentation cannot be switched
//! off (that is the point: nothing to configure), so its cost is measured by itself, in the
//! same run and the same binary, and read as a share of the read it rides on.
//!
//! For scale, the same read with a recorder: metrics-exporter-prometheus' (what the
//! quickstart's `/metrics` renders), set as this thread's recorder for the run.
//!
//! One thread (a current-thread runtime; `iters` reads in one `block_on`), the realistic
//! 4,206-byte session. Group `metrics_overhead`, ids `store_get/no_recorder`,
//! `instrumentation/no_recorder` and `store_get/prometheus_recorder`.
//!
//! `cargo bench -p auth0-store-memory --bench metrics_overhead`

use std::hint::black_box;
use std::time::Instant;

use auth0_store_conformance::TEST_SECRET;
use auth0_store_core::Secrets;
use auth0_store_core::store::{
    ServerSideStateStore, StateStore, StoreContext, StoreMeters, StoreOperation,
};
use auth0_store_memory::MemoryBackend;
use auth0_test_support::load::{SESSION_COOKIE, session_of_user};
use criterion::{Criterion, criterion_group, criterion_main};
use metrics_exporter_prometheus::PrometheusBuilder;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let secrets = Secrets::parse(TEST_SECRET).expect("the test secret is valid");
    let store = ServerSideStateStore::new(MemoryBackend::new(), &secrets);
    let written = StoreContext::new();
    rt.block_on(store.set(SESSION_COOKIE, &session_of_user(0), true, &written))
        .expect("the memory backend stores the bench session");
    let cookies = written.cookies();

    let mut group = c.benchmark_group("metrics_overhead");
    let reads = |iters: u64| {
        rt.block_on(async {
            let started = Instant::now();
            for _ in 0..iters {
                let cx = StoreContext::from_cookies(cookies.clone());
                let read = store.get(SESSION_COOKIE, &cx).await;
                assert!(matches!(black_box(read), Ok(Some(_))));
            }
            started.elapsed()
        })
    };
    group.bench_function("store_get/no_recorder", |b| b.iter_custom(reads));
    let meters = StoreMeters::new("memory");
    group.bench_function("instrumentation/no_recorder", |b| {
        b.iter(|| {
            let _timer = black_box(&meters).time(StoreOperation::Get);
            meters.read_cache(black_box(true));
        });
    });
    let prometheus = PrometheusBuilder::new().build_recorder();
    group.bench_function("store_get/prometheus_recorder", |b| {
        b.iter_custom(|iters| metrics::with_local_recorder(&prometheus, || reads(iters)));
    });
    group.finish();
    assert!(
        store.read_cache_stats().hits > 0,
        "the reads were answered by the read cache"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
