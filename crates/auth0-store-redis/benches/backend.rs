//! The Redis backend's `load` and `update` at concurrency 1, 16 and 64, and
//! `ServerSideStateStore::get` over it on the realistic 4,206-byte session sealed
//! as the store seals it; then, in the same run, `load` against `redis-benchmark` fetching
//! the same payload, and Redis' memory per session.
//!
//! Why: the target is `load` at concurrency 1 and 64 within 1.3× of the raw round trip
//! of the same payload. The raw reference is `redis-benchmark` sending `GET` for a string
//! holding the sealed record's bytes (4,247 for the realistic session): the Redis-side work
//! of our `load` minus what it adds. Our record is a hash (fields `data`, `version`, `sid`,
//! `sub`, `domain`, `expires`), and `load` is one `HMGET` of the six fields. (`redis-benchmark -t get -d N` is not used as such: `-d` only sizes the
//! values its `SET` test writes, so `-t get` alone reads a missing key and no payload. The
//! command form `redis-benchmark … GET <key>` reads our key, holding the same bytes.)
//!
//! The two sides alternate, five rounds of about a second each per concurrency level (ours
//! with the same driver as the criterion groups, measured again; then `redis-benchmark` with
//! as many requests), and each side's median is compared, so the ratio holds on a noisy
//! machine. Ours runs `c` tasks on the backend's
//! one multiplexed connection (`ConnectionManager`, as in an application); `redis-benchmark`
//! opens `c` connections.
//!
//! Times are wall time ÷ operations with `c` in flight: the inverse of throughput, not one
//! operation's latency; `redis-benchmark`'s requests per second are converted the same way
//! (1e6 / rps µs).
//!
//! Needs `REDIS_URL` (`eval "$(scripts/redis.sh start)"`) and `redis-benchmark` on `PATH` (or
//! `REDIS_BENCHMARK` naming it); panics without them. Keys live under `bench:<pid>:` and are
//! deleted at the end (they also expire within a day).
//!
//! Criterion: group `redis_backend`, ids `load/c1` … `load/c64`, `update/c1` … `update/c64`,
//! `store_get/c1` … `store_get/c64`. Files: `target/bench/results/redis_load_vs_raw.json`,
//! the `redis` row of `target/bench/results/bytes_per_session.json`.
//!
//! `cargo bench -p auth0-store-redis --bench backend`

use std::process::Command;
use std::time::Duration;

use auth0_store_conformance::TEST_SECRET;
use auth0_store_conformance::sample::realistic_session;
use auth0_store_core::Secrets;
use auth0_store_core::store::{ServerSideStateStore, SessionBackend};
use auth0_store_redis::RedisBackend;
use auth0_store_redis::redis::{self, aio::MultiplexedConnection};
use auth0_test_support::load::{
    self, BytesPerSession, CONCURRENCY, Comparison, ComparisonRow, Op, PAIRED_ROUND, PAIRED_ROUNDS,
    Workload,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// How long the raw key lives if the bench dies before deleting it: a day, as the sessions.
const RAW_KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Sessions of distinct users stored to read Redis' `used_memory` growth per session.
const MEMORY_SESSIONS: u32 = 1_000;
/// Users 0..64 are the workload's; the memory figures use others.
const MEMORY_FIRST_USER: u32 = 10_000;

type Work = Workload<RedisBackend>;

fn bench(c: &mut Criterion) {
    let url = load::service_url("REDIS_URL", "eval \"$(scripts/redis.sh start)\"");
    let rt = load::runtime();
    let prefix = format!("bench:{}:", std::process::id());
    let secrets = Secrets::parse(TEST_SECRET).expect("the test secret is valid");
    let backend = rt
        .block_on(RedisBackend::from_url(&url))
        .expect("REDIS_URL is set but Redis does not answer")
        .with_prefix(prefix.clone());
    let work = rt
        .block_on(Workload::prepare(ServerSideStateStore::new(
            backend, &secrets,
        )))
        .expect("Redis stores the bench sessions");
    let mut conn = rt
        .block_on(async {
            redis::Client::open(url.as_str())?
                .get_multiplexed_async_connection()
                .await
        })
        .expect("a plain connection to REDIS_URL");

    let mut group = c.benchmark_group("redis_backend");
    for op in Op::ALL {
        for concurrency in CONCURRENCY {
            group.bench_function(
                BenchmarkId::new(op.name(), format!("c{concurrency}")),
                |b| b.iter_custom(|iters| rt.block_on(work.run(op, iters, concurrency))),
            );
        }
    }
    group.finish();

    if load::benchmark_mode() {
        compare_with_redis_benchmark(&rt, &work, &mut conn, &url, &prefix);
        bytes_per_session(&rt, &work, &mut conn);
    }
    rt.block_on(clean_up(&work, &mut conn, &prefix));
}

/// `redis-benchmark`, from `REDIS_BENCHMARK` or `PATH`.
fn redis_benchmark() -> String {
    std::env::var("REDIS_BENCHMARK").unwrap_or_else(|_| "redis-benchmark".to_owned())
}

/// Our `load` and `redis-benchmark` `GET` of the same bytes, back to back at each level.
fn compare_with_redis_benchmark(
    rt: &tokio::runtime::Runtime,
    work: &Work,
    conn: &mut MultiplexedConnection,
    url: &str,
    prefix: &str,
) {
    let data = rt
        .block_on(work.store().backend().load(work.load_id()))
        .expect("loads")
        .expect("the bench session is there")
        .record
        .data;
    let raw_key = format!("{prefix}raw");
    rt.block_on(
        redis::cmd("SET")
            .arg(&raw_key)
            .arg(&data[..])
            .arg("PX")
            .arg(RAW_KEY_TTL.as_millis() as u64)
            .query_async::<()>(conn),
    )
    .expect("SET of the raw key");

    let mut rows = Vec::new();
    for concurrency in CONCURRENCY {
        // Sized once (and warmed), then alternated round by round.
        let (ops, _) = rt.block_on(load::timed_run(PAIRED_ROUND, |ops| {
            work.run(Op::Load, ops, concurrency)
        }));
        let (get_ops, _) = rt.block_on(load::timed_run(PAIRED_ROUND, |ops| {
            work.run(Op::StoreGet, ops, concurrency)
        }));
        let (mut ours, mut raw, mut get) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..PAIRED_ROUNDS {
            let elapsed = rt.block_on(work.run(Op::StoreGet, get_ops, concurrency));
            get.push(load::micros_per_op(elapsed, get_ops));
            let elapsed = rt.block_on(work.run(Op::Load, ops, concurrency));
            ours.push(load::micros_per_op(elapsed, ops));
            raw.push(run_redis_benchmark(url, &raw_key, concurrency, ops));
        }
        rows.push(ComparisonRow {
            concurrency,
            ours_us: load::median(&ours),
            raw_us: load::median(&raw),
            ours_what: format!(
                "RedisBackend::load: one HMGET of the session hash's 6 fields (data = {} \
                 bytes, version, sid, sub, domain, expires); \
                 {concurrency} tasks on one multiplexed connection; median of {PAIRED_ROUNDS} \
                 rounds of {ops} ops, each right before redis-benchmark's",
                data.len(),
            ),
            raw_what: format!(
                "redis-benchmark -c {concurrency} -n {ops} GET <key of a {}-byte string>: \
                 {concurrency} connections; 1e6 / requests per second, median of \
                 {PAIRED_ROUNDS} rounds",
                data.len()
            ),
            extra: vec![("store_get_us", load::median(&get))],
        });
    }
    Comparison {
        comparison: "redis_load_vs_redis_benchmark".to_owned(),
        value_bytes: data.len(),
        rows,
    }
    .write("redis_load_vs_raw")
    .expect("the results file is written");
}

/// µs per request of `redis-benchmark -c C -n N --csv GET key`.
fn run_redis_benchmark(url: &str, key: &str, concurrency: usize, requests: u64) -> f64 {
    let tool = redis_benchmark();
    let output = Command::new(&tool)
        .args(["-u", url, "-c", &concurrency.to_string()])
        .args(["-n", &requests.to_string(), "--csv", "GET", key])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {tool}: {e}. It comes with redis-server (Debian: redis-tools); set \
                 REDIS_BENCHMARK to its path if it is not on PATH"
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{tool} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    // "test","rps","avg_latency_ms",…  then  "GET bench:…:raw","37735.85",…
    let rps: f64 = stdout
        .lines()
        .filter(|line| line.starts_with("\"GET "))
        .find_map(|line| line.split(',').nth(1)?.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no GET result in {tool}'s output:\n{stdout}"));
    1e6 / rps
}

/// Redis' memory for one session: `MEMORY USAGE` of its hash and of the `sid` and `sub`
/// index sets it is the only member of (a user with one session), plus the growth of
/// `used_memory` over many sessions of distinct users.
fn bytes_per_session(rt: &tokio::runtime::Runtime, work: &Work, conn: &mut MultiplexedConnection) {
    let store = work.store();
    let backend = store.backend();
    rt.block_on(async {
        let id = load::store_session(store, &load::session_of_user(MEMORY_FIRST_USER - 1))
            .await
            .expect("stored");
        let record = backend
            .load(&id)
            .await
            .expect("loads")
            .expect("is there")
            .record;
        let domain = record.domain.clone().unwrap_or_default();
        let keys = [
            backend.session_key(&id),
            backend.index_key("sid", &domain, record.sid.as_deref().unwrap_or_default()),
            backend.index_key("sub", &domain, record.sub.as_deref().unwrap_or_default()),
        ];
        let mut usage = Vec::new();
        for key in &keys {
            let bytes: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .arg("SAMPLES")
                .arg(0)
                .query_async(conn)
                .await
                .expect("MEMORY USAGE");
            usage.push(bytes.unwrap_or_else(|| panic!("{key} is missing")) as f64);
        }
        backend.delete(&id).await.expect("deleted");

        let before = used_memory(conn).await;
        let mut ids = Vec::new();
        for user in MEMORY_FIRST_USER..MEMORY_FIRST_USER + MEMORY_SESSIONS {
            ids.push(
                load::store_session(store, &load::session_of_user(user))
                    .await
                    .expect("stored"),
            );
        }
        let grown = used_memory(conn).await - before;
        for id in &ids {
            backend.delete(id).await.expect("deleted");
        }

        let json_bytes = serde_json::to_vec(&realistic_session())
            .expect("serialises")
            .len();
        load::record_bytes_per_session(&BytesPerSession {
            store: "redis",
            bytes_per_session: usage.iter().sum(),
            json_bytes,
            sealed_bytes: record.data.len(),
            how: format!(
                "MEMORY USAGE … SAMPLES 0 of the session hash ({:.0}) + its sid index set \
                 ({:.0}) + its sub index set ({:.0}), one session of its user; \
                 used_memory_delta_per_session: INFO used_memory growth over {MEMORY_SESSIONS} \
                 sessions of distinct users, divided",
                usage[0], usage[1], usage[2]
            ),
            extra: vec![
                ("hash_bytes", usage[0]),
                (
                    "used_memory_delta_per_session",
                    grown / f64::from(MEMORY_SESSIONS),
                ),
            ],
        })
        .expect("the results file is written");
    });
}

async fn used_memory(conn: &mut MultiplexedConnection) -> f64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(conn)
        .await
        .expect("INFO memory");
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("INFO memory has used_memory")
}

/// Deletes the bench's sessions, the raw key and anything else under the prefix.
async fn clean_up(work: &Work, conn: &mut MultiplexedConnection, prefix: &str) {
    work.delete_sessions()
        .await
        .expect("the bench sessions are deleted");
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .expect("SCAN");
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(conn)
                .await
                .expect("DEL");
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
