//! What the session-backend benches share (`benches/backend.rs` of the memory, Redis and
//! PostgreSQL store crates): a load driver, the realistic session stored the way
//! [`ServerSideStateStore`] stores it, and the result files under `target/bench/results/`.
//!
//! # Time per operation
//!
//! The driver runs a fixed number of operations spread over `c` concurrent tasks on a
//! multi-thread runtime and reports the wall time they took; every bench divides it by the
//! number of operations. So "time per operation" is the inverse of throughput at that
//! concurrency, not the latency one operation sees (with `c` in flight that is about `c`
//! times longer). `redis-benchmark` and `pgbench` report the same thing as operations per
//! second, so `1e6 / ops_per_second` µs compares with it directly.
//!
//! A bench builds a [`Workload`] on its store and hands [`Workload::run`] to criterion's
//! `iter_custom`, one id per operation and concurrency level:
//!
//! ```
//! use auth0_store_core::Secrets;
//! use auth0_store_core::store::ServerSideStateStore;
//! use auth0_store_conformance::TEST_SECRET;
//! use auth0_test_support::load::{self, CONCURRENCY, Op, Workload};
//! use auth0_store_memory::MemoryBackend;
//!
//! let rt = load::runtime();
//! let secrets = Secrets::parse(TEST_SECRET).unwrap();
//! let store = ServerSideStateStore::new(MemoryBackend::new(), &secrets);
//! let work = rt.block_on(Workload::prepare(store)).unwrap();
//! for op in Op::ALL {
//!     for c in CONCURRENCY {
//!         // In a bench: group.bench_function(BenchmarkId::new(op.name(), format!("c{c}")),
//!         //     |b| b.iter_custom(|iters| rt.block_on(work.run(op, iters, c))));
//!         let elapsed = rt.block_on(work.run(op, 200, c));
//!         println!("{}/c{c}: {:.2} µs per op", op.name(), load::micros_per_op(elapsed, 200));
//!     }
//! }
//! ```

use std::fs;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth0_store_core::model::StateData;
use auth0_store_core::store::{
    ServerSideStateStore, SessionBackend, SessionId, SessionRecord, StateStore, StoreContext,
    StoreError, UpdateOutcome,
};
use serde_json::{Value, json};

use auth0_store_conformance::sample::realistic_session;

/// The concurrency levels every backend bench runs at: 1, 16 and 64 tasks.
pub const CONCURRENCY: [usize; 3] = [1, 16, 64];
/// The cookie name the benches store sessions under (the SDK's default).
pub const SESSION_COOKIE: &str = "_a0_session";
/// Rounds of a paired comparison: in each, our operation runs for [`PAIRED_ROUND`], then the
/// raw tool for as long (or as many operations); each side's [`median`] over the rounds is
/// compared, so a burst of load from elsewhere on the machine hits one round of both sides
/// rather than one side.
pub const PAIRED_ROUNDS: usize = 5;
/// How long each side runs in one round of a paired comparison (whole seconds: `pgbench -T`).
pub const PAIRED_ROUND: Duration = Duration::from_secs(1);
/// Operations per task that [`Workload::warm_up`] runs.
const WARM_UP_OPS_PER_TASK: u64 = 8;
/// The shortest calibration run [`timed_run`] trusts to size the real one.
const CALIBRATION: Duration = Duration::from_millis(200);

/// A multi-thread Tokio runtime with a worker per core, I/O and timers enabled.
///
/// # Panics
///
/// If the operating system refuses the threads.
pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start a Tokio runtime: {e}"),
    }
}

/// How `ops` operations are shared among `concurrency` tasks: as evenly as possible, the
/// first tasks taking one more when it does not divide.
///
/// ```
/// let shares: Vec<u64> = auth0_test_support::load::shares(10, 4).collect();
/// assert_eq!(shares, [3, 3, 2, 2]);
/// ```
pub fn shares(ops: u64, concurrency: usize) -> impl Iterator<Item = u64> {
    let c = concurrency.max(1) as u64;
    (0..c).map(move |i| ops / c + u64::from(i < ops % c))
}

/// Runs `ops` operations over `concurrency` spawned tasks and returns the wall time from the
/// first spawn to the last task's end.
///
/// `task(i, n)` is task `i`'s whole job: `n` operations in a row (tasks with nothing to do
/// are not spawned). Give each task what it owns (a session id, a version counter) by its
/// index. Divide the result by `ops` for the time per operation (see the [module
/// docs](self)). Must be called inside a multi-thread runtime ([`runtime`]).
///
/// # Panics
///
/// When a task panics (with that task's panic), or is cancelled.
pub async fn spread<F, Fut>(ops: u64, concurrency: usize, task: F) -> Duration
where
    F: Fn(usize, u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    let handles: Vec<_> = shares(ops, concurrency)
        .enumerate()
        .filter(|&(_, n)| n > 0)
        .map(|(i, n)| tokio::spawn(task(i, n)))
        .collect();
    for handle in handles {
        if let Err(e) = handle.await {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("a load task did not finish: {e}"),
            }
        }
    }
    started.elapsed()
}

/// A measurement sized to last about `target`: `run(ops)` measures `ops` operations and
/// returns their wall time (e.g. through [`spread`] or [`Workload::run`]). A calibration run
/// first (doubling the operations until one takes [`CALIBRATION`]), then the measured one;
/// returns its operations and wall time.
///
/// For the paired comparisons: it sizes the runs of each round (see [`PAIRED_ROUNDS`]).
pub async fn timed_run<F, Fut>(target: Duration, run: F) -> (u64, Duration)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut ops = 64;
    let per_op = loop {
        let elapsed = run(ops).await;
        if elapsed >= CALIBRATION {
            break elapsed.as_secs_f64() / ops as f64;
        }
        ops *= 2;
    };
    let ops = ((target.as_secs_f64() / per_op) as u64).max(64);
    (ops, run(ops).await)
}

/// The median of `values` (the mean of the middle two for an even count; NaN for none).
///
/// ```
/// use auth0_test_support::load::median;
/// assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Microseconds per operation: `elapsed / ops`.
pub fn micros_per_op(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_secs_f64() * 1e6 / ops.max(1) as f64
}

/// Whether criterion is measuring (`cargo bench`), rather than running each bench once
/// (`cargo test --benches`, `cargo bench -- --test`) or listing them: the same rule
/// criterion applies to its arguments. The raw-tool comparisons and the memory figures run
/// only when it is.
pub fn benchmark_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

/// Whether [`Workload::run`] reports CPU time instead of wall time: `AUTH0_BENCH_CLOCK=cpu`.
///
/// CPU time is what this process's threads spent (the store layer, the client library,
/// the driver), not what the server or the loopback took, nor the waits between them. Two
/// builds compared on it differ only by the work our side does per operation, which wall
/// time on a loaded two-core machine hides under ±30 % of noise.
///
/// ```
/// // Unset (or anything but `cpu`): wall time.
/// assert!(!auth0_test_support::load::cpu_clock() || std::env::var("AUTH0_BENCH_CLOCK").as_deref() == Ok("cpu"));
/// ```
pub fn cpu_clock() -> bool {
    static CPU: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CPU.get_or_init(|| std::env::var("AUTH0_BENCH_CLOCK").as_deref() == Ok("cpu"))
}

/// The CPU time this process has used so far, all threads together.
fn process_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// The URL in the environment variable `var`.
///
/// # Panics
///
/// When it is not set or empty, with `how_to_start` in the message: a bench of a real
/// service never measures nothing quietly.
pub fn service_url(var: &str, how_to_start: &str) -> String {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{var} is not set: this bench measures a real service and has nothing to measure \
             without it. Start one first: {how_to_start}"
        ),
    }
}

/// The realistic session ([`realistic_session`]) of user number `n` (0 to 99,999): its own
/// `sub` and `sid`, of the same lengths, so the JSON keeps its 4,206 bytes and the
/// back-channel logout indexes get one entry per user, as with real users.
pub fn session_of_user(n: u32) -> StateData {
    let mut state = realistic_session();
    let n = n % 100_000;
    if let Some(user) = state.user.as_mut() {
        // "auth0|64f1c0ffee": 16 characters.
        user.sub = format!("auth0|user{n:06}");
    }
    // "sid-bench": 9 characters.
    state.internal.sid = format!("sid-{n:05}");
    state
}

/// Stores `state` as a new session through `store` (so the record is sealed, and its lookup
/// fields and expiry set, exactly as in an application) and returns its id.
///
/// # Errors
///
/// The store's error when it cannot write the session ([`StoreError::SessionExpired`] for a
/// state whose lifetime is already over); [`StoreError::SessionEnded`] when it set no
/// session cookie.
pub async fn store_session<B: SessionBackend>(
    store: &ServerSideStateStore<B>,
    state: &StateData,
) -> Result<SessionId, StoreError> {
    let cx = StoreContext::new();
    store.set(SESSION_COOKIE, state, true, &cx).await?;
    cx.cookie(&store.id_cookie_name(SESSION_COOKIE))
        .and_then(|value| SessionId::parse(&value))
        .ok_or(StoreError::SessionEnded)
}

/// An operation the backend benches measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// [`SessionBackend::load`] of one stored realistic session, by every task.
    Load,
    /// [`SessionBackend::update`] (compare-and-set) of the same record, each task on a
    /// session of its own, so no write conflicts.
    Update,
    /// [`ServerSideStateStore::get`] of the session [`Op::Load`] loads, with the store's
    /// defaults: the backend `load`, then the opened session from the store's read cache
    /// (the same record version was opened before), else opening the sealed record and
    /// parsing the JSON into a `StateData`. In a loop on one session every read after the
    /// first is a cache hit, as for a user's requests between two writes.
    StoreGet,
}

impl Op {
    /// Every operation, in the order the benches run them.
    pub const ALL: [Op; 3] = [Op::Load, Op::Update, Op::StoreGet];

    /// The name in criterion's ids (`load/c16`, `update/c64`, `store_get/c1`).
    pub fn name(self) -> &'static str {
        match self {
            Op::Load => "load",
            Op::Update => "update",
            Op::StoreGet => "store_get",
        }
    }
}

/// A session to update and the version it has now.
struct UpdateSlot {
    id: SessionId,
    record: SessionRecord,
    version: AtomicU64,
}

/// The sessions a backend bench works on, stored through a [`ServerSideStateStore`]: the
/// realistic session for [`Op::Load`] and [`Op::StoreGet`], and one session per task (of as
/// many users) for [`Op::Update`], up to the highest level of [`CONCURRENCY`].
///
/// Clones share the sessions and the update versions.
pub struct Workload<B> {
    store: ServerSideStateStore<B>,
    load_id: SessionId,
    sealed_bytes: usize,
    updates: Arc<[UpdateSlot]>,
}

impl<B> Clone for Workload<B> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            load_id: self.load_id.clone(),
            sealed_bytes: self.sealed_bytes,
            updates: self.updates.clone(),
        }
    }
}

impl<B: SessionBackend> Workload<B> {
    /// Stores the sessions through `store`.
    ///
    /// # Errors
    ///
    /// The store's or backend's error when a session cannot be written or read back.
    pub async fn prepare(store: ServerSideStateStore<B>) -> Result<Self, StoreError> {
        let load_id = store_session(&store, &realistic_session()).await?;
        let loaded = store
            .backend()
            .load(&load_id)
            .await?
            .ok_or(StoreError::SessionEnded)?;
        let tasks = CONCURRENCY.iter().copied().max().unwrap_or(1);
        let mut updates = Vec::with_capacity(tasks);
        for user in 0..tasks {
            let id = store_session(&store, &session_of_user(user as u32)).await?;
            let loaded = store
                .backend()
                .load(&id)
                .await?
                .ok_or(StoreError::SessionEnded)?;
            updates.push(UpdateSlot {
                id,
                record: loaded.record,
                version: AtomicU64::new(loaded.version),
            });
        }
        Ok(Self {
            store,
            load_id,
            sealed_bytes: loaded.record.data.len(),
            updates: updates.into(),
        })
    }

    /// The same sessions through another store on the same data (a backend with a pool of
    /// its own, say), sealing with the same secrets.
    pub fn with_store<B2: SessionBackend>(&self, store: ServerSideStateStore<B2>) -> Workload<B2> {
        Workload {
            store,
            load_id: self.load_id.clone(),
            sealed_bytes: self.sealed_bytes,
            updates: self.updates.clone(),
        }
    }

    /// The store.
    pub fn store(&self) -> &ServerSideStateStore<B> {
        &self.store
    }

    /// The id of the session [`Op::Load`] and [`Op::StoreGet`] read.
    pub fn load_id(&self) -> &SessionId {
        &self.load_id
    }

    /// The size of the realistic session's sealed record (what a backend stores as data).
    pub fn sealed_bytes(&self) -> usize {
        self.sealed_bytes
    }

    /// Runs `ops` operations of `op` over `concurrency` tasks ([`spread`]) and returns
    /// their wall time, or their CPU time under [`cpu_clock`]: what criterion's
    /// `iter_custom` wants.
    ///
    /// # Panics
    ///
    /// When an operation fails, or a load finds no session, or an update does not write:
    /// a bench that measured errors would mislead.
    pub async fn run(&self, op: Op, ops: u64, concurrency: usize) -> Duration {
        assert!(
            concurrency <= self.updates.len(),
            "at most {} tasks",
            self.updates.len()
        );
        let cpu_before = cpu_clock().then(process_cpu_time);
        let wall = spread(ops, concurrency, |task, n| {
            let work = self.clone();
            async move {
                for _ in 0..n {
                    work.once(op, task).await;
                }
            }
        })
        .await;
        match cpu_before {
            Some(before) => process_cpu_time().saturating_sub(before),
            None => wall,
        }
    }

    /// A few operations of `op` per task, unmeasured: a new pool opens its connections and
    /// prepares its statements before a measurement.
    pub async fn warm_up(&self, op: Op, concurrency: usize) {
        self.run(op, WARM_UP_OPS_PER_TASK * concurrency as u64, concurrency)
            .await;
    }

    async fn once(&self, op: Op, task: usize) {
        match op {
            Op::Load => match self.store.backend().load(&self.load_id).await {
                Ok(Some(loaded)) => {
                    std::hint::black_box(loaded);
                }
                Ok(None) => panic!("the bench session is gone"),
                Err(e) => panic!("load failed: {e}"),
            },
            Op::Update => {
                let slot = &self.updates[task];
                let version = slot.version.load(Ordering::Relaxed);
                match self
                    .store
                    .backend()
                    .update(&slot.id, &slot.record, version)
                    .await
                {
                    Ok(UpdateOutcome::Updated) => {
                        slot.version.store(version + 1, Ordering::Relaxed);
                    }
                    Ok(other) => panic!("update did not write: {other:?}"),
                    Err(e) => panic!("update failed: {e}"),
                }
            }
            Op::StoreGet => {
                let cx = StoreContext::from_cookies([(
                    self.store.id_cookie_name(SESSION_COOKIE),
                    self.load_id.as_str(),
                )]);
                match self.store.get(SESSION_COOKIE, &cx).await {
                    Ok(Some(state)) => {
                        std::hint::black_box(state);
                    }
                    Ok(None) => panic!("the bench session does not read back"),
                    Err(e) => panic!("get failed: {e}"),
                }
            }
        }
    }

    /// Deletes the sessions.
    ///
    /// # Errors
    ///
    /// The backend's error.
    pub async fn delete_sessions(&self) -> Result<(), StoreError> {
        let backend = self.store.backend();
        backend.delete(&self.load_id).await?;
        for slot in self.updates.iter() {
            backend.delete(&slot.id).await?;
        }
        Ok(())
    }
}

/// `target/bench/results/` of this workspace (made if missing).
///
/// # Errors
///
/// When the directory cannot be made.
pub fn results_dir() -> io::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/results");
    fs::create_dir_all(&dir)?;
    fs::canonicalize(dir)
}

/// One concurrency level of a comparison between our `load` and a raw round trip.
#[derive(Clone, Debug)]
pub struct ComparisonRow {
    /// Tasks (ours) and connections (the raw tool's clients) in flight.
    pub concurrency: usize,
    /// Our time per operation, µs.
    pub ours_us: f64,
    /// The raw tool's time per operation (`1e6 / ops per second`), µs.
    pub raw_us: f64,
    /// What "ours" measured.
    pub ours_what: String,
    /// What "raw" measured.
    pub raw_what: String,
    /// Other figures measured in the same pass, by name, in µs per operation (e.g.
    /// `store_get_us`: the same concurrency through `ServerSideStateStore::get`, which is the
    /// backend `load`, then opening the record and parsing the JSON).
    pub extra: Vec<(&'static str, f64)>,
}

/// Our `load` against a raw round trip of the same payload, at each concurrency level,
/// written to `target/bench/results/<file>.json` and printed as a table.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Its name in the file, e.g. `redis_load_vs_redis_benchmark`.
    pub comparison: String,
    /// The size of the value both sides fetch, bytes.
    pub value_bytes: usize,
    /// One row per concurrency level.
    pub rows: Vec<ComparisonRow>,
}

impl Comparison {
    /// The JSON written to the results file.
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = json!({
                    "concurrency": r.concurrency,
                    "ours_us": round3(r.ours_us),
                    "raw_us": round3(r.raw_us),
                    "ratio": round3(r.ours_us / r.raw_us),
                    "ours_what": r.ours_what,
                    "raw_what": r.raw_what,
                });
                if let Some(object) = row.as_object_mut() {
                    for (name, us) in &r.extra {
                        object.insert((*name).to_owned(), json!(round3(*us)));
                    }
                }
                row
            })
            .collect();
        json!({
            "comparison": self.comparison,
            "value_bytes": self.value_bytes,
            "rows": rows,
        })
    }

    /// The table printed after the criterion output: concurrency, ours, raw, ratio, then the
    /// extra figures of the first row's names.
    pub fn table(&self) -> String {
        let names: Vec<&str> = self
            .rows
            .first()
            .map(|r| r.extra.iter().map(|(name, _)| *name).collect())
            .unwrap_or_default();
        let mut out = format!(
            "\n{} ({} byte value; µs per operation = 1e6 / ops per second)\n\
             {:>11} {:>10} {:>10} {:>7}",
            self.comparison, self.value_bytes, "concurrency", "ours_us", "raw_us", "ratio"
        );
        for name in &names {
            out += &format!(" {name:>w$}", w = name.len().max(10));
        }
        out.push('\n');
        for r in &self.rows {
            out += &format!(
                "{:>11} {:>10.2} {:>10.2} {:>6.2}x",
                r.concurrency,
                r.ours_us,
                r.raw_us,
                r.ours_us / r.raw_us
            );
            for name in &names {
                let figure = r.extra.iter().find(|(n, _)| n == name).map(|(_, us)| *us);
                let text = figure.map_or_else(|| "-".to_owned(), |us| format!("{us:.2}"));
                out += &format!(" {text:>w$}", w = name.len().max(10));
            }
            out.push('\n');
        }
        out
    }

    /// Writes `target/bench/results/<file_stem>.json` and prints the table to stdout.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn write(&self, file_stem: &str) -> io::Result<PathBuf> {
        let path = results_dir()?.join(format!("{file_stem}.json"));
        fs::write(&path, pretty(&self.to_json())?)?;
        print!("{}", self.table());
        println!("written to {}", path.display());
        Ok(path)
    }
}

/// One store's memory cost of a session, for `target/bench/results/bytes_per_session.json`.
#[derive(Clone, Debug)]
pub struct BytesPerSession {
    /// `memory`, `redis`, `postgres`.
    pub store: &'static str,
    /// The figure.
    pub bytes_per_session: f64,
    /// The session's JSON (4,206 bytes for the realistic session).
    pub json_bytes: usize,
    /// The sealed record's size.
    pub sealed_bytes: usize,
    /// How it was measured.
    pub how: String,
    /// Other figures of the same measurement, by name.
    pub extra: Vec<(&'static str, f64)>,
}

/// Puts `row` into `target/bench/results/bytes_per_session.json`, replacing the row of the
/// same store (each store's bench writes its own row), and prints it.
///
/// # Errors
///
/// When the file cannot be read or written.
pub fn record_bytes_per_session(row: &BytesPerSession) -> io::Result<PathBuf> {
    let path = results_dir()?.join("bytes_per_session.json");
    let mut rows: Vec<Value> = fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|doc| doc.get("rows").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    rows.retain(|r| r.get("store").and_then(Value::as_str) != Some(row.store));
    let mut value = json!({
        "store": row.store,
        "bytes_per_session": row.bytes_per_session.round(),
        "json_bytes": row.json_bytes,
        "sealed_bytes": row.sealed_bytes,
        "how": row.how,
    });
    if let Some(object) = value.as_object_mut() {
        for (name, figure) in &row.extra {
            object.insert((*name).to_owned(), json!(figure.round()));
        }
    }
    rows.push(value);
    rows.sort_by_key(|r| match r.get("store").and_then(Value::as_str) {
        Some("memory") => 0,
        Some("redis") => 1,
        Some("postgres") => 2,
        _ => 3,
    });
    fs::write(&path, pretty(&json!({ "rows": rows }))?)?;
    println!(
        "\nbytes per session, {}: {:.0} ({} bytes of JSON, {} sealed; {})\nwritten to {}",
        row.store,
        row.bytes_per_session,
        row.json_bytes,
        row.sealed_bytes,
        row.how,
        path.display()
    );
    Ok(path)
}

fn pretty(value: &Value) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_differ_by_at_most_one() {
        for (ops, c) in [(0, 1), (1, 64), (100, 16), (1_000_003, 64)] {
            let s: Vec<u64> = shares(ops, c).collect();
            assert_eq!(s.len(), c);
            assert_eq!(s.iter().sum::<u64>(), ops);
            assert!(s.iter().max().unwrap() - s.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    fn every_user_session_keeps_the_realistic_size() {
        let size = |s: &StateData| serde_json::to_vec(s).unwrap().len();
        let base = size(&realistic_session());
        for n in [0, 7, 99_999] {
            assert_eq!(size(&session_of_user(n)), base);
        }
        assert_ne!(
            session_of_user(1).internal.sid,
            session_of_user(2).internal.sid
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spread_runs_every_operation_once() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let done = Arc::new(AtomicU64::new(0));
        spread(1_001, 16, |_, n| {
            let done = done.clone();
            async move {
                done.fetch_add(n, Ordering::Relaxed);
            }
        })
        .await;
        assert_eq!(done.load(Ordering::Relaxed), 1_001);
    }
}
