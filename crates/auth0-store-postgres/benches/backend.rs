//! The PostgreSQL backend's `load` and `update` at concurrency 1, 16 and 64, and
//! `ServerSideStateStore::get` over it on the realistic 4,206-byte session sealed
//! as the store seals it; then, in the same run, `load` against `pgbench` running the same
//! prepared SELECT by primary key, and the table's bytes per session.
//!
//! Why: the target is `load` at concurrency 1 and 64 within 1.3× of the raw round trip
//! of the same payload. The raw reference is `pgbench -M prepared` with a script holding
//! exactly the statement `load` runs (`PostgresBackend::sql(Statement::Load)`, `$1` as
//! `:id`) for the same row of the same table: what PostgreSQL and the wire cost, minus what
//! sqlx and the backend add. Two differences remain and are stated: pgbench asks for text
//! results, so the 4,247-byte `bytea` travels as 8.5 KB of hex (sqlx asks for binary), and
//! it does not decode the row.
//!
//! Every measurement of ours, criterion's and the paired ones, runs `c` tasks on a backend
//! whose pool has exactly `c` connections (as pgbench has `c` clients), otherwise with
//! sqlx's defaults as in the crate's examples; `load` then runs on the backend's read
//! connections (as many as the pool's). The paired pass also measures `load` through sqlx's
//! pool instead (`with_read_connections(0)`: sqlx pings an idle connection before handing it
//! out, `test_before_acquire`, and every connection as it goes back; `ours_through_pool_us`),
//! and the same SELECT through sqlx on one connection per task, no pool and no row decoding
//! (`sqlx_without_pool_us`).
//!
//! The two sides alternate, five rounds of about a second each per concurrency level (ours
//! with the same driver as the criterion groups, measured again on a fresh, warmed pool that
//! is closed before pgbench opens its connections; then `pgbench -T 1`), and each side's
//! median is compared, so the ratio holds on a noisy machine.
//!
//! Times are wall time ÷ operations with `c` in flight: the inverse of throughput, not one
//! operation's latency; pgbench's transactions per second are converted the same way
//! (1e6 / tps µs).
//!
//! Needs `DATABASE_URL` (`pg_env="$(scripts/postgres.sh start)"; eval "$pg_env"`) and
//! `pgbench` (on `PATH`, under `/usr/lib/postgresql/*/bin`, or named by `PGBENCH`); panics
//! without them. Works in the schemas `auth0bench_<time>_<pid>` and `…_size`, dropped at
//! the end (and, when a run died, by a run more than an hour later).
//!
//! Criterion: group `postgres_backend`, ids `load/c1` … `load/c64`, `update/c1` …
//! `update/c64`, `store_get/c1` … `store_get/c64`. Files:
//! `target/bench/results/postgres_load_vs_raw.json`, the `postgres` row of
//! `target/bench/results/bytes_per_session.json`.
//!
//! `cargo bench -p auth0-store-postgres --bench backend`

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth0_store_conformance::TEST_SECRET;
use auth0_store_conformance::sample::realistic_session;
use auth0_store_core::Secrets;
use auth0_store_core::store::{ServerSideStateStore, SessionBackend};
use auth0_store_postgres::sqlx::postgres::{PgPool, PgPoolOptions};
use auth0_store_postgres::sqlx::{self, AssertSqlSafe, Connection, PgConnection};
use auth0_store_postgres::{PostgresBackend, Statement};
use auth0_test_support::load::{
    self, BytesPerSession, CONCURRENCY, Comparison, ComparisonRow, Op, PAIRED_ROUND, PAIRED_ROUNDS,
    Workload,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// The bench's schemas are named `{SCHEMA_PREFIX}{unix seconds}_{pid}` (and `…_size`).
const SCHEMA_PREFIX: &str = "auth0bench_";
/// A bench schema older than this was left by a run that died: dropped.
const STALE_SCHEMA_AGE: Duration = Duration::from_secs(60 * 60);
/// Connections of the pool that makes the schema, the sessions and the sizing table.
const SETUP_CONNECTIONS: usize = 2;
/// Sessions of distinct users stored to measure the table's bytes per session.
const SIZING_SESSIONS: u32 = 1_000;

type Work = Workload<PostgresBackend>;

fn bench(c: &mut Criterion) {
    let url = load::service_url(
        "DATABASE_URL",
        "pg_env=\"$(scripts/postgres.sh start)\"; eval \"$pg_env\"",
    );
    let rt = load::runtime();
    let secrets = Secrets::parse(TEST_SECRET).expect("the test secret is valid");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let schema = format!("{SCHEMA_PREFIX}{now}_{}", std::process::id());
    let (setup, work) = rt.block_on(async {
        let setup = pool(&url, SETUP_CONNECTIONS).await;
        drop_stale_schemas(&setup, now).await;
        let backend = backend_in(setup.clone(), &schema);
        backend.migrate().await.expect("migrations run");
        let work = Workload::prepare(ServerSideStateStore::new(backend, &secrets))
            .await
            .expect("PostgreSQL stores the bench sessions");
        (setup, work)
    });

    let mut group = c.benchmark_group("postgres_backend");
    for concurrency in CONCURRENCY {
        let work = rt.block_on(on_pool(
            &work,
            &url,
            &secrets,
            concurrency,
            Reads::OwnConnections,
        ));
        for op in Op::ALL {
            group.bench_function(
                BenchmarkId::new(op.name(), format!("c{concurrency}")),
                |b| b.iter_custom(|iters| rt.block_on(work.run(op, iters, concurrency))),
            );
        }
        rt.block_on(work.store().backend().pool().close());
    }
    group.finish();

    if load::benchmark_mode() {
        compare_with_pgbench(&rt, &work, &url, &secrets);
        rt.block_on(bytes_per_session(&setup, &schema, &secrets));
    }
    rt.block_on(async {
        for name in [format!("{schema}_size"), schema] {
            drop_schema(&setup, &name).await;
        }
        setup.close().await;
    });
}

/// Where `load` runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// The backend's read connections, as many as the pool's (the default).
    OwnConnections,
    /// sqlx's pool (`with_read_connections(0)`), with sqlx's defaults: a ping before an idle
    /// connection is handed out (`test_before_acquire`) and one when it goes back.
    ThroughPool,
}

/// A pool of at most `max` connections, with sqlx's defaults.
async fn pool(url: &str, max: usize) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max as u32)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"))
}

/// The workload's sessions through a backend of its own on a pool of `concurrency`
/// connections, as many as the tasks (and as pgbench's clients).
async fn on_pool(
    work: &Work,
    url: &str,
    secrets: &Secrets,
    concurrency: usize,
    reads: Reads,
) -> Work {
    let mut backend = backend_in(
        pool(url, concurrency).await,
        work.store().backend().schema(),
    );
    if reads == Reads::ThroughPool {
        backend = backend.with_read_connections(0);
    }
    work.with_store(ServerSideStateStore::new(backend, secrets))
}

fn backend_in(pool: PgPool, schema: &str) -> PostgresBackend {
    PostgresBackend::new(pool)
        .with_schema(schema)
        .expect("a valid schema name")
}

/// `pgbench`: `PGBENCH`, else on `PATH`, else the newest under `/usr/lib/postgresql`.
fn pgbench() -> PathBuf {
    if let Some(path) = std::env::var_os("PGBENCH") {
        return path.into();
    }
    let on_path = Command::new("pgbench").arg("--version").output();
    if on_path.is_ok_and(|out| out.status.success()) {
        return "pgbench".into();
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|version| version.path().join("bin/pgbench"))
        .filter(|path| path.exists())
        .collect();
    found.sort_by_key(|path| {
        let version = path.iter().rev().nth(2).and_then(|v| v.to_str());
        version.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "pgbench not found (PGBENCH, PATH, /usr/lib/postgresql/*/bin): it comes with the \
             PostgreSQL server packages (Debian: postgresql-contrib or postgresql-15)"
        )
    })
}

/// Our `load` and pgbench's prepared SELECT of the same row, back to back at each level.
fn compare_with_pgbench(rt: &tokio::runtime::Runtime, work: &Work, url: &str, secrets: &Secrets) {
    let select = work.store().backend().sql(Statement::Load).to_owned();
    assert!(select.contains("$1") && !select.contains("$2"), "{select}");
    let script = std::env::temp_dir().join(format!("auth0-bench-load-{}.sql", std::process::id()));
    std::fs::write(&script, format!("{};\n", select.replace("$1", ":id")))
        .expect("the pgbench script is written");

    let mut rows = Vec::new();
    for concurrency in CONCURRENCY {
        let id = work.load_id().as_str();
        // Sized once, then alternated round by round; our pools are open only while ours
        // run (a server with max_connections = 100 holds c = 64 of each side, not both).
        let (ops, np_ops, get_ops, bare_ops) = rt.block_on(async {
            let bare = Bare::connect(url, concurrency, &select, id).await;
            let (bare_ops, _) =
                load::timed_run(PAIRED_ROUND, |ops| bare.run(ops, concurrency)).await;
            bare.close().await;
            let via_pool = on_pool(work, url, secrets, concurrency, Reads::ThroughPool).await;
            let (np_ops, _) =
                load::timed_run(PAIRED_ROUND, |ops| via_pool.run(Op::Load, ops, concurrency)).await;
            via_pool.store().backend().close().await;
            let work = on_pool(work, url, secrets, concurrency, Reads::OwnConnections).await;
            let (ops, _) =
                load::timed_run(PAIRED_ROUND, |ops| work.run(Op::Load, ops, concurrency)).await;
            let (get_ops, _) =
                load::timed_run(PAIRED_ROUND, |ops| work.run(Op::StoreGet, ops, concurrency)).await;
            work.store().backend().close().await;
            (ops, np_ops, get_ops, bare_ops)
        });
        let (mut ours, mut raw, mut via_pool_us, mut get) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut bare_us, mut transactions) = (Vec::new(), Vec::new());
        for _ in 0..PAIRED_ROUNDS {
            rt.block_on(async {
                let bare = Bare::connect(url, concurrency, &select, id).await;
                let elapsed = bare.run(bare_ops, concurrency).await;
                bare_us.push(load::micros_per_op(elapsed, bare_ops));
                bare.close().await;
                let via_pool = on_pool(work, url, secrets, concurrency, Reads::ThroughPool).await;
                via_pool.warm_up(Op::Load, concurrency).await;
                let elapsed = via_pool.run(Op::Load, np_ops, concurrency).await;
                via_pool_us.push(load::micros_per_op(elapsed, np_ops));
                via_pool.store().backend().close().await;
                let work = on_pool(work, url, secrets, concurrency, Reads::OwnConnections).await;
                work.warm_up(Op::StoreGet, concurrency).await;
                let elapsed = work.run(Op::StoreGet, get_ops, concurrency).await;
                get.push(load::micros_per_op(elapsed, get_ops));
                let elapsed = work.run(Op::Load, ops, concurrency).await;
                ours.push(load::micros_per_op(elapsed, ops));
                work.store().backend().close().await;
            });
            let (us, done) = run_pgbench(url, &script, id, concurrency);
            raw.push(us);
            transactions.push(done);
        }
        rows.push(ComparisonRow {
            concurrency,
            ours_us: load::median(&ours),
            raw_us: load::median(&raw),
            ours_what: format!(
                "PostgresBackend::load: the prepared SELECT of the row by primary key (sqlx, \
                 binary results, row decoded) on the backend's read connections; \
                 {concurrency} tasks, a pool of {concurrency} connections and as many read \
                 connections; median of {PAIRED_ROUNDS} rounds of {ops} ops, each right before \
                 pgbench's. ours_through_pool_us: the same through sqlx's pool \
                 (with_read_connections(0); sqlx's default test_before_acquire, and its ping of \
                 each connection on release). sqlx_without_pool_us: the same SELECT through \
                 sqlx on a connection of each task's own, no pool, row not decoded",
            ),
            raw_what: format!(
                "pgbench -M prepared -c {concurrency} -j {} -T {}: the same SELECT on the same \
                 row (text results: the bytea as hex); 1e6 / tps (without initial connection \
                 time), median of {PAIRED_ROUNDS} rounds of {:?} transactions",
                concurrency.min(2),
                PAIRED_ROUND.as_secs(),
                transactions
            ),
            extra: vec![
                ("ours_through_pool_us", load::median(&via_pool_us)),
                ("sqlx_without_pool_us", load::median(&bare_us)),
                ("store_get_us", load::median(&get)),
            ],
        });
    }
    let _ = std::fs::remove_file(&script);
    Comparison {
        comparison: "postgres_load_vs_pgbench_prepared_select".to_owned(),
        value_bytes: work.sealed_bytes(),
        rows,
    }
    .write("postgres_load_vs_raw")
    .expect("the results file is written");
}

/// The backend's SELECT through sqlx on a connection per task, no pool: what `load` would
/// cost without the pool's pings (sqlx pings a connection when it goes back to the pool, and
/// by default again when it is taken out).
#[derive(Clone)]
struct Bare {
    connections: Arc<Vec<tokio::sync::Mutex<PgConnection>>>,
    select: Arc<str>,
    id: Arc<str>,
}

impl Bare {
    async fn connect(url: &str, concurrency: usize, select: &str, id: &str) -> Self {
        let mut connections = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            let connection = PgConnection::connect(url)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
            connections.push(tokio::sync::Mutex::new(connection));
        }
        let bare = Self {
            connections: Arc::new(connections),
            select: select.into(),
            id: id.into(),
        };
        // Prepares the statement on every connection.
        bare.run(concurrency as u64 * 4, concurrency).await;
        bare
    }

    async fn run(&self, ops: u64, concurrency: usize) -> Duration {
        load::spread(ops, concurrency, |task, n| {
            let bare = self.clone();
            async move {
                let mut connection = bare.connections[task].lock().await;
                for _ in 0..n {
                    let row = sqlx::query(AssertSqlSafe(bare.select.clone()))
                        .bind(&*bare.id)
                        .fetch_optional(&mut *connection)
                        .await
                        .unwrap_or_else(|e| panic!("the SELECT failed: {e}"));
                    std::hint::black_box(row.expect("the bench session's row"));
                }
            }
        })
        .await
    }

    async fn close(self) {
        let connections =
            Arc::try_unwrap(self.connections).unwrap_or_else(|_| panic!("the load tasks are done"));
        for connection in connections {
            let _ = connection.into_inner().close().await;
        }
    }
}

/// µs per transaction of pgbench running `script` with `:id` set to `id`, and the
/// transactions it ran.
fn run_pgbench(url: &str, script: &std::path::Path, id: &str, concurrency: usize) -> (f64, u64) {
    let tool = pgbench();
    let output = Command::new(&tool)
        .args(["-n", "-M", "prepared", "-f"])
        .arg(script)
        .args([
            "-c",
            &concurrency.to_string(),
            "-j",
            &concurrency.min(2).to_string(),
        ])
        .args(["-T", &PAIRED_ROUND.as_secs().to_string()])
        .args(["-D", &format!("id={id}"), url])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tool.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed:\n{stdout}\n{stderr}",
        tool.display()
    );
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    let field_or_panic = |prefix: &str| {
        field(prefix).unwrap_or_else(|| panic!("no `{prefix}` in pgbench's output:\n{stdout}"))
    };
    // PostgreSQL 15's pgbench counts failed transactions; they must be none.
    let failed = field("number of failed transactions: ").unwrap_or(0.0);
    assert!(
        failed == 0.0,
        "pgbench had failed transactions:\n{stdout}\n{stderr}"
    );
    let tps = field_or_panic("tps = ");
    let transactions = field_or_panic("number of transactions actually processed: ");
    (1e6 / tps, transactions as u64)
}

/// The table's bytes per session: sessions of distinct users in a schema of their own,
/// then `pg_total_relation_size` (heap, TOAST and indexes) divided.
async fn bytes_per_session(pool: &PgPool, schema: &str, secrets: &Secrets) {
    let schema = format!("{schema}_size");
    let backend = backend_in(pool.clone(), &schema);
    backend.migrate().await.expect("migrations run");
    let store = ServerSideStateStore::new(backend, secrets);
    let mut sealed_bytes = 0;
    for user in 0..SIZING_SESSIONS {
        let id = load::store_session(&store, &load::session_of_user(user))
            .await
            .expect("stored");
        if user == 0 {
            let loaded = store.backend().load(&id).await.expect("loads");
            sealed_bytes = loaded.expect("is there").record.data.len();
        }
    }
    let table = format!("\"{schema}\".{}", store.backend().table());
    sqlx::raw_sql(AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
        .execute(pool)
        .await
        .expect("VACUUM");
    let (total, heap, indexes, data): (i64, i64, i64, f64) =
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT pg_total_relation_size($1::regclass), pg_table_size($1::regclass), \
         pg_indexes_size($1::regclass), (SELECT avg(pg_column_size(data))::float8 FROM {table})"
        )))
        .bind(&table)
        .fetch_one(pool)
        .await
        .expect("the sizes");
    let n = f64::from(SIZING_SESSIONS);
    let json_bytes = serde_json::to_vec(&realistic_session())
        .expect("serialises")
        .len();
    load::record_bytes_per_session(&BytesPerSession {
        store: "postgres",
        bytes_per_session: total as f64 / n,
        json_bytes,
        sealed_bytes,
        how: format!(
            "pg_total_relation_size (heap with TOAST, and the indexes) of a table holding \
             {SIZING_SESSIONS} sessions of distinct users, after VACUUM ANALYZE, divided"
        ),
        extra: vec![
            ("table_with_toast_bytes_per_session", heap as f64 / n),
            ("indexes_bytes_per_session", indexes as f64 / n),
            ("data_column_bytes", data),
        ],
    })
    .expect("the results file is written");
}

async fn drop_schema(pool: &PgPool, name: &str) {
    // Names this bench made: the prefix, digits and `_` only.
    assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
    )))
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("cannot drop the schema {name}: {e}"));
}

/// Drops bench schemas made more than [`STALE_SCHEMA_AGE`] before `now` (by runs that died).
async fn drop_stale_schemas(pool: &PgPool, now: u64) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, 'auth0bench_')",
    )
    .fetch_all(pool)
    .await
    .expect("the schemas");
    for name in names {
        let made = name
            .strip_prefix(SCHEMA_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if made.is_some_and(|made| made + STALE_SCHEMA_AGE.as_secs() < now) {
            drop_schema(pool, &name).await;
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
