//! The stores' read cache (`ReadCache`, on quick_cache) side by side with the map it
//! replaced (one `Mutex<HashMap>`, an arbitrary entry evicted when full), in the same run,
//! on 1, 2 and 8 threads of this machine:
//!
//! - `hit`: every read finds its session (64 sessions of a busy app, read over and over):
//!   what a request with a known session costs in the cache.
//! - `churn`: one read in four is of a session not held (a new record version, or a user
//!   not seen lately), which is then inserted, with the cache full: the eviction path.
//!
//! Keys are the server-side store's (`<cookie name>:<43-character id>:<version>`), values its
//! `CachedSession` (an `Arc` of the session). Times are wall time ÷ operations over all
//! threads (the inverse of throughput).
//!
//! Criterion: group `read_cache`, ids `hit/quick_cache/t1` … `churn/mutex_map/t8`.
//!
//! `cargo bench -p auth0-store-core --bench read_cache`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth0_store_core::model::StateData;
use auth0_store_core::store::{CachedSession, DEFAULT_READ_CACHE_CAPACITY, ReadCache};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Threads reading at once.
const THREADS: [usize; 3] = [1, 2, 8];
/// Sessions read over and over.
const HOT: usize = 64;
/// In `churn`, one read in this many is of a session not held.
const CHURN_EVERY: u64 = 4;

/// What both caches do for the bench; keys are `String`s, as the store's `ReadCache<String>`
/// takes them.
#[allow(clippy::ptr_arg)]
trait Cache: Sync {
    fn get(&self, key: &String) -> Option<CachedSession>;
    fn insert(&self, key: String, session: CachedSession);
}

impl Cache for ReadCache<String> {
    fn get(&self, key: &String) -> Option<CachedSession> {
        ReadCache::get(self, key)
    }
    fn insert(&self, key: String, session: CachedSession) {
        ReadCache::insert(self, key, session);
    }
}

/// The map the read cache replaced: one lock, an arbitrary entry evicted when full.
struct MutexMap {
    capacity: usize,
    entries: Mutex<HashMap<String, CachedSession>>,
}

impl Cache for MutexMap {
    fn get(&self, key: &String) -> Option<CachedSession> {
        self.entries.lock().unwrap().get(key).cloned()
    }
    fn insert(&self, key: String, session: CachedSession) {
        let mut entries = self.entries.lock().unwrap();
        if entries.len() >= self.capacity
            && !entries.contains_key(&key)
            && let Some(evicted) = entries.keys().next().cloned()
        {
            entries.remove(&evicted);
        }
        entries.insert(key, session);
    }
}

fn key(n: u64) -> String {
    format!("_a0_session:{:043}:{}", n, n % 7)
}

fn session() -> CachedSession {
    CachedSession {
        state: Arc::new(StateData::default()),
        expires_at: None,
    }
}

/// A full cache holding the hot sessions among others.
fn filled(cache: &impl Cache) {
    for n in 0..DEFAULT_READ_CACHE_CAPACITY as u64 {
        cache.insert(key(n), session());
    }
    for _ in 0..4 {
        for n in 0..HOT as u64 {
            cache.get(&key(n));
        }
    }
}

/// `ops` reads over `threads` threads; with `churn`, one in [`CHURN_EVERY`] misses and
/// inserts a key never used before.
fn run(cache: &impl Cache, hot: &[String], ops: u64, threads: usize, churn: bool) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                let mut fresh = 1_000_000 * (t as u64 + 1);
                for i in 0..ops.div_ceil(threads as u64) {
                    if churn && i % CHURN_EVERY == 0 {
                        fresh += 1;
                        let k = key(fresh);
                        if cache.get(&k).is_none() {
                            cache.insert(k, session());
                        }
                    } else {
                        black_box(cache.get(&hot[(i as usize + t) % HOT]));
                    }
                }
            });
        }
    });
    started.elapsed()
}

fn bench(c: &mut Criterion) {
    let hot: Vec<String> = (0..HOT as u64).map(key).collect();
    let quick = ReadCache::new(DEFAULT_READ_CACHE_CAPACITY);
    let map = MutexMap {
        capacity: DEFAULT_READ_CACHE_CAPACITY,
        entries: Mutex::new(HashMap::new()),
    };
    filled(&quick);
    filled(&map);
    let mut group = c.benchmark_group("read_cache");
    for (workload, churn) in [("hit", false), ("churn", true)] {
        for threads in THREADS {
            let id =
                |name: &str| BenchmarkId::new(format!("{workload}/{name}"), format!("t{threads}"));
            group.bench_function(id("quick_cache"), |b| {
                b.iter_custom(|iters| run(&quick, &hot, iters, threads, churn))
            });
            group.bench_function(id("mutex_map"), |b| {
                b.iter_custom(|iters| run(&map, &hot, iters, threads, churn))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
