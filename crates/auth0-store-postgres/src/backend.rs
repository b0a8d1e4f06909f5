//! [`PostgresBackend`]: a [`SessionBackend`] on a PostgreSQL table.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth0_store_core::Secrets;
use auth0_store_core::store::{
    LoadedRecord, LogoutFilter, ServerSideTransactionStore, SessionBackend, SessionId,
    SessionRecord, StoreError, TokenUse, UpdateOutcome,
};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, PgPool, Row};

use crate::cleanup::{CleanupStats, CleanupTask, Table};
use crate::config::{ConfigError, Index, Names, validate_identifier};
use crate::error::{BACKEND, DataError, Db, data_error, text_field};
use crate::lane::{ReadConnections, ReadLane};
use crate::sql::{Statement, Statements};
use crate::transactions::{PostgresTransactionBackend, PostgresTransactionStore};

/// How long one operation (load, update, …) may take in all, waiting for a connection
/// included, before it fails with [`StoreError::Timeout`]: 10 seconds.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// How many expired rows one cleanup statement deletes: 1000. Small batches keep each
/// statement's locks and WAL short while requests go on.
pub const DEFAULT_CLEANUP_BATCH: u32 = 1000;
/// How long an operation of a backend made by [`PostgresBackend::connect`] waits for a pool
/// connection while PostgreSQL is unreachable or every connection is busy: 3 seconds (sqlx's
/// default, 30 s, is longer than a web request should hang).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// The most connections a backend made by [`PostgresBackend::connect`] opens: 10 (sqlx's
/// default pool size).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// How often the cleanup task of a backend made by [`PostgresBackend::connect`] deletes
/// expired rows: every 5 minutes.
pub const DEFAULT_CLEANUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The latest expiry stored: 9999-12-31T23:59:59Z, in seconds since the Unix epoch. A later
/// `expires_at` is stored as this.
pub const MAX_EXPIRES_AT_SECONDS: i64 = 253_402_300_799;

/// A [`SessionBackend`] keeping sessions in a PostgreSQL table through a [`sqlx::PgPool`].
///
/// Put it inside core's [`ServerSideStateStore`](auth0_store_core::store::ServerSideStateStore),
/// which owns the session-id cookie, sealing, rotation and compare-and-set; this type stores
/// the sealed record (`bytea`) with its lookup fields (`sid`, `sub`, `domain`), a `version`
/// and `expires_at`, in one table with indexes on `expires_at`, `(domain, sid)` and
/// `(domain, sub)`.
///
/// - **One clock:** every expiry check is against the database's `now()`.
/// - **Migrations** are embedded; run [`migrate`](Self::migrate) at start-up (every instance
///   may: an advisory lock makes them take turns).
/// - **Expired rows** are invisible at once and deleted by [`delete_expired`](SessionBackend::delete_expired)
///   or, in batches, by the task [`spawn_cleanup`](Self::spawn_cleanup) starts.
/// - **Reads** (`load`, which every request with a session runs) use connections of the
///   backend's own, opened like the pool's, rather than the pool, whose pings on the way out
///   and in cost more round trips than the query (see
///   [`with_read_connections`](Self::with_read_connections)); everything else uses the pool.
/// - **Failures** are typed: [`StoreError::Backend`] with the sqlx error as its source (a
///   server that refuses connections for the whole `acquire_timeout` gives its last error),
///   or [`StoreError::Timeout`] when no connection could be had in time or an operation
///   takes longer than its timeout. The pool and the read connections reconnect by
///   themselves.
///
/// Clones share the pool.
///
/// [`connect`](Self::connect) makes a ready one from a URL alone; with a pool of your own:
///
/// ```no_run
/// use std::time::Duration;
/// use auth0_store_core::{Secrets, store::ServerSideStateStore};
/// use auth0_store_postgres::{PostgresBackend, sqlx::postgres::PgPoolOptions};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = PgPoolOptions::new()
///     .max_connections(20)
///     .acquire_timeout(Duration::from_secs(3))
///     .connect(&std::env::var("DATABASE_URL")?)
///     .await?;
/// let backend = PostgresBackend::new(pool)
///     .with_schema("auth")?
///     .with_table("sessions")?;
/// backend.migrate().await?;
/// let _cleanup = backend.spawn_cleanup(Duration::from_secs(300));
///
/// let secrets = Secrets::parse(&std::env::var("AUTH0_SECRET")?)?;
/// let transactions = backend.transaction_store(&secrets);
/// let sessions = ServerSideStateStore::new(backend, &secrets);
/// # let _ = (transactions, sessions);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresBackend {
    pub(crate) db: Db,
    pub(crate) sql: Arc<Statements>,
    pub(crate) cleanup_batch: u32,
    /// The cleanup task [`connect`](Self::connect) started, stopped when the last clone goes.
    cleanup: Option<Arc<KeptCleanup>>,
}

/// A cleanup task that lives as long as the backends holding it: dropping the last one
/// drops the task's handle, which stops it.
#[derive(Debug)]
struct KeptCleanup(std::sync::Mutex<Option<CleanupTask>>);

impl KeptCleanup {
    /// The task, taken out (for a shutdown that waits for it).
    fn take(&self) -> Option<CleanupTask> {
        // Only ever a whole take or read: a poisoned lock is usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    fn stats(&self) -> Option<CleanupStats> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(CleanupTask::stats)
    }
}

impl fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the pool: its connect options hold the password.
        f.debug_struct("PostgresBackend")
            .field("schema", &self.sql.names.schema)
            .field("table", &self.sql.names.table)
            .field("transactions_table", &self.sql.names.transactions_table)
            .field("timeout", &self.db.timeout)
            .field("cleanup_batch", &self.cleanup_batch)
            .field(
                "read_connections",
                &self.db.lane.as_ref().map_or(0, |l| l.max()),
            )
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// A backend on `pool`, with the table [`DEFAULT_TABLE`](crate::DEFAULT_TABLE) and the
    /// transactions table [`DEFAULT_TRANSACTIONS_TABLE`](crate::DEFAULT_TRANSACTIONS_TABLE) in
    /// the schema [`DEFAULT_SCHEMA`](crate::DEFAULT_SCHEMA).
    ///
    /// The pool's `acquire_timeout` bounds how long an operation waits while PostgreSQL is
    /// unreachable (sqlx's default is 30 s; a few seconds suits a web request better).
    ///
    /// ```
    /// use auth0_store_postgres::{PostgresBackend, sqlx::PgPool};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// // connect_lazy opens no connection until the first query.
    /// let pool = PgPool::connect_lazy("postgres://app@127.0.0.1/app").unwrap();
    /// let backend = PostgresBackend::new(pool);
    /// assert!(format!("{backend:?}").contains("auth0_sessions"));
    /// # }
    /// ```
    pub fn new(pool: PgPool) -> Self {
        let read_connections = pool.options().get_max_connections() as usize;
        Self {
            db: Db {
                pool,
                timeout: DEFAULT_OPERATION_TIMEOUT,
                lane: None,
            },
            sql: Arc::new(Statements::new(Names::default())),
            cleanup_batch: DEFAULT_CLEANUP_BATCH,
            cleanup: None,
        }
        .with_read_connections(read_connections)
    }

    /// A ready backend on the PostgreSQL at `url`, for an app that gives only a URL: a pool
    /// of at most [`DEFAULT_MAX_CONNECTIONS`] (reads included, see
    /// [`with_read_connections`](Self::with_read_connections)) that waits at most
    /// [`DEFAULT_ACQUIRE_TIMEOUT`] for a connection, the default schema and tables
    /// [`migrate`](Self::migrate)d, and a cleanup task deleting expired rows every
    /// [`DEFAULT_CLEANUP_INTERVAL`] for as long as the backend (or a clone of it) lives:
    /// dropping the last clone stops it, and so does [`close`](Self::close).
    ///
    /// For another pool size, schema or cleanup interval, build the pool yourself and use
    /// [`new`](Self::new), [`migrate`](Self::migrate) and [`spawn_cleanup`](Self::spawn_cleanup).
    ///
    /// ```no_run
    /// use auth0_store_core::{Secrets, store::ServerSideStateStore};
    /// use auth0_store_postgres::PostgresBackend;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let backend = PostgresBackend::connect(&std::env::var("DATABASE_URL")?).await?;
    /// let secrets = Secrets::parse(&std::env::var("AUTH0_SECRET")?)?;
    /// let transactions = backend.transaction_store(&secrets);
    /// let sessions = ServerSideStateStore::new(backend, &secrets);
    /// # let _ = (transactions, sessions);
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the cleanup task is spawned on it).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] with the sqlx error as its source when `url` is not a
    /// PostgreSQL URL, PostgreSQL refuses the connection or its credentials, or a migration
    /// fails (see [`migrate`](Self::migrate)); [`StoreError::Timeout`] when PostgreSQL did
    /// not answer within [`DEFAULT_ACQUIRE_TIMEOUT`].
    #[tracing::instrument(name = "store.connect", skip_all, fields(backend = BACKEND))]
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        // sqlx reads any scheme as PostgreSQL's: say so at once rather than time out dialling.
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        if !matches!(scheme, Some("postgres" | "postgresql")) {
            return Err(StoreError::backend(
                BACKEND,
                "the URL is not a PostgreSQL URL: use postgres://user:password@host:5432/database",
            ));
        }
        let pool = PgPoolOptions::new()
            .max_connections(DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(DEFAULT_ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| match e {
                sqlx::Error::PoolTimedOut => StoreError::Timeout {
                    backend: BACKEND,
                    after: DEFAULT_ACQUIRE_TIMEOUT,
                },
                other => StoreError::backend(BACKEND, other),
            })?;
        let mut backend = Self::new(pool);
        backend.migrate().await?;
        // The task's own clone does not hold the handle, or it would never be dropped.
        let task = backend.spawn_cleanup(DEFAULT_CLEANUP_INTERVAL);
        backend.cleanup = Some(Arc::new(KeptCleanup(std::sync::Mutex::new(Some(task)))));
        Ok(backend)
    }

    /// What the cleanup task [`connect`](Self::connect) started has done so far; `None` for
    /// a backend made by [`new`](Self::new) (whose tasks [`spawn_cleanup`](Self::spawn_cleanup)
    /// returns) or after [`close`](Self::close).
    ///
    /// ```no_run
    /// # async fn demo(backend: auth0_store_postgres::PostgresBackend) {
    /// if let Some(stats) = backend.cleanup_stats() {
    ///     tracing::info!(deleted = stats.sessions_deleted, "expired sessions");
    /// }
    /// # }
    /// ```
    pub fn cleanup_stats(&self) -> Option<CleanupStats> {
        self.cleanup.as_ref().and_then(|kept| kept.stats())
    }

    fn with_names(mut self, names: Names) -> Result<Self, ConfigError> {
        if names.table == names.transactions_table {
            return Err(ConfigError::SameTable { name: names.table });
        }
        self.sql = Arc::new(Statements::new(names));
        Ok(self)
    }

    /// Uses the schema `schema` (created by [`migrate`](Self::migrate) if missing).
    ///
    /// ```
    /// # use auth0_store_postgres::{PostgresBackend, sqlx::PgPool};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let pool = PgPool::connect_lazy("postgres://app@127.0.0.1/app").unwrap();
    /// assert!(PostgresBackend::new(pool.clone()).with_schema("auth").is_ok());
    /// assert!(PostgresBackend::new(pool).with_schema("auth; DROP TABLE x").is_err());
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`] unless the name is ASCII letters, digits and `_`, not
    /// starting with a digit, at most 63 bytes.
    pub fn with_schema(self, schema: &str) -> Result<Self, ConfigError> {
        validate_identifier("schema", schema)?;
        let names = Names {
            schema: schema.to_owned(),
            ..self.sql.names.clone()
        };
        self.with_names(names)
    }

    /// Uses the table `table` for sessions. Its indexes are named `{table}_expires_at_idx`,
    /// `{table}_domain_sid_idx` and `{table}_domain_sub_idx`, and the migrations that ran are
    /// recorded in `{table}_migrations` (a long name is shortened with a hash to fit in 63
    /// bytes; [`index_name`](Self::index_name) gives the result).
    ///
    /// ```
    /// # use auth0_store_postgres::{Index, PostgresBackend, sqlx::PgPool};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = PgPool::connect_lazy("postgres://app@127.0.0.1/app")?;
    /// let backend = PostgresBackend::new(pool)
    ///     .with_table("web_sessions")?
    ///     .with_transactions_table("web_logins")?;
    /// assert_eq!(backend.index_name(Index::SessionsExpiresAt), "web_sessions_expires_at_idx");
    /// assert!(backend.clone().with_table("web_logins").is_err(), "one name for two tables");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`] as for [`with_schema`](Self::with_schema);
    /// [`ConfigError::SameTable`] if it is the transactions table's name.
    pub fn with_table(self, table: &str) -> Result<Self, ConfigError> {
        validate_identifier("table", table)?;
        let names = Names {
            table: table.to_owned(),
            ..self.sql.names.clone()
        };
        self.with_names(names)
    }

    /// Uses the table `table` for the transactions of the [`transaction_store`](Self::transaction_store).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidName`] as for [`with_schema`](Self::with_schema);
    /// [`ConfigError::SameTable`] if it is the sessions table's name.
    pub fn with_transactions_table(self, table: &str) -> Result<Self, ConfigError> {
        validate_identifier("transactions table", table)?;
        let names = Names {
            transactions_table: table.to_owned(),
            ..self.sql.names.clone()
        };
        self.with_names(names)
    }

    /// Sets how long one operation may take in all, waiting for a connection included
    /// (default [`DEFAULT_OPERATION_TIMEOUT`]); past it the operation fails with
    /// [`StoreError::Timeout`]. [`migrate`](Self::migrate) has no such limit (it may wait
    /// for another instance's migration).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use auth0_store_postgres::{PostgresBackend, sqlx::PgPool};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let pool = PgPool::connect_lazy("postgres://app@127.0.0.1/app").unwrap();
    /// // A web request should rather fail fast than hang on a database that is away.
    /// let backend = PostgresBackend::new(pool)
    ///     .with_operation_timeout(Duration::from_secs(2))
    ///     .with_cleanup_batch_size(500);
    /// # let _ = backend;
    /// # }
    /// ```
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.db.timeout = timeout;
        self
    }

    /// Sets how many of the pool's connections the backend may keep aside for `load`
    /// (default, and at most: the pool's `max_connections`); `0` sends `load` through the
    /// pool like everything else.
    ///
    /// `load` runs on every request that has a session. Through sqlx's pool it would cost a
    /// ping when the connection goes back to the pool and, unless the pool was built with
    /// `test_before_acquire(false)`, another before it is handed out: more server work than
    /// the `SELECT` itself. Connections kept aside skip both and stay safe without them: one
    /// whose query was cancelled half-way is closed rather than reused (and has the
    /// operation timeout plus a second as its `statement_timeout` while kept aside, so the
    /// server ends what the client gave up on), and a query that fails with a connection
    /// error on a reused connection (a server restart) runs once more on a fresh one. They
    /// are taken from the pool on demand, within its `acquire_timeout`; one held past the
    /// pool's `max_lifetime` or idle past its `idle_timeout` is closed, by a background task
    /// as the pool's own are (started at the first `load`), or when it would next be taken
    /// or put back.
    ///
    /// They stay the pool's connections and count in its `max_connections`: the backend
    /// never has more open than the pool allows. When another operation of the backend's
    /// (a write, the transaction store, cleanup) finds the pool full, they go back to the
    /// pool until it has its connection. Queries the app runs on the same pool cannot ask
    /// for that: they get idle read connections back after the pool's `idle_timeout`, so
    /// such an app should size this below the pool's maximum, or give the backend a pool of
    /// its own ([`connect`](Self::connect) makes one).
    ///
    /// ```
    /// # use auth0_store_postgres::{PostgresBackend, sqlx::postgres::PgPoolOptions};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let pool = PgPoolOptions::new()
    ///     .max_connections(10)
    ///     .connect_lazy("postgres://app@127.0.0.1/app")
    ///     .unwrap();
    /// let backend = PostgresBackend::new(pool.clone());
    /// assert_eq!(backend.read_connections().max, 10);
    /// let backend = PostgresBackend::new(pool.clone()).with_read_connections(4);
    /// assert_eq!(backend.read_connections().max, 4);
    /// assert_eq!(backend.read_connections().open, 0, "taken on demand");
    /// let backend = PostgresBackend::new(pool).with_read_connections(50);
    /// assert_eq!(backend.read_connections().max, 10, "never more than the pool's maximum");
    /// # }
    /// ```
    pub fn with_read_connections(mut self, max: usize) -> Self {
        self.db.lane = (max > 0).then(|| Arc::new(ReadLane::new(self.db.pool.clone(), max)));
        self
    }

    /// Closes the pool and the read connections, waiting for the pool's connections to be
    /// handed back (as [`PgPool::close`] does): for a clean shutdown. Idle read connections
    /// close at once, one running a query when its query ends, and none opens afterwards.
    /// Afterwards every operation fails with [`StoreError::Backend`]; clones share the pool
    /// and the read connections, so they are closed too.
    ///
    /// ```no_run
    /// # async fn demo(backend: auth0_store_postgres::PostgresBackend) {
    /// // ... at shutdown, after the server stopped taking requests:
    /// backend.close().await;
    /// # }
    /// ```
    pub async fn close(&self) {
        if let Some(task) = self.cleanup.as_ref().and_then(|kept| kept.take()) {
            task.shutdown().await;
        }
        // The read connections first: closing the pool waits for its connections to come
        // back, and a `load` meanwhile would find the pool closed and cut them off.
        if let Some(lane) = &self.db.lane {
            lane.close_idle().await;
        }
        self.db.pool.close().await;
    }

    /// How many of the pool's connections the backend keeps aside for `load` now, and its limit
    /// (see [`with_read_connections`](Self::with_read_connections)).
    ///
    /// ```no_run
    /// # async fn demo(backend: auth0_store_postgres::PostgresBackend) {
    /// let now = backend.read_connections();
    /// tracing::info!(open = now.open, idle = now.idle, max = now.max, "session reads");
    /// # }
    /// ```
    pub fn read_connections(&self) -> ReadConnections {
        self.db
            .lane
            .as_ref()
            .map_or_else(ReadConnections::default, |lane| lane.stats())
    }

    /// Sets how many expired rows one cleanup statement deletes (default
    /// [`DEFAULT_CLEANUP_BATCH`]; at least 1).
    pub fn with_cleanup_batch_size(mut self, rows: u32) -> Self {
        self.cleanup_batch = rows.max(1);
        self
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// The schema.
    pub fn schema(&self) -> &str {
        &self.sql.names.schema
    }

    /// The sessions table.
    pub fn table(&self) -> &str {
        &self.sql.names.table
    }

    /// The transactions table.
    pub fn transactions_table(&self) -> &str {
        &self.sql.names.transactions_table
    }

    /// The name of one of the indexes the migrations create (unqualified, unquoted).
    ///
    /// ```
    /// # use auth0_store_postgres::{Index, PostgresBackend, sqlx::PgPool};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let pool = PgPool::connect_lazy("postgres://app@127.0.0.1/app").unwrap();
    /// let backend = PostgresBackend::new(pool);
    /// assert_eq!(backend.index_name(Index::SessionsDomainSid), "auth0_sessions_domain_sid_idx");
    /// # }
    /// ```
    pub fn index_name(&self, index: Index) -> String {
        self.sql.names.index(index)
    }

    /// The text of a statement this backend runs (names quoted, values as `$n` parameters),
    /// to review it or to `EXPLAIN` it.
    ///
    /// ```
    /// # use auth0_store_postgres::{PostgresBackend, Statement, sqlx::PgPool};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let pool = PgPool::connect_lazy("postgres://app@127.0.0.1/app").unwrap();
    /// let backend = PostgresBackend::new(pool);
    /// assert!(backend.sql(Statement::Load).contains("expires_at > now()"));
    /// # }
    /// ```
    pub fn sql(&self, statement: Statement) -> &str {
        self.sql.get(statement)
    }

    /// A transaction store on the same pool, in the transactions table, sealing every
    /// transaction with `secrets` (see [`PostgresTransactionStore`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use auth0_store_core::Secrets;
    /// # use auth0_store_postgres::{PostgresBackend, sqlx::PgPool};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pool = PgPool::connect_lazy("postgres://app@127.0.0.1/app")?;
    /// let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?;
    /// let transactions = PostgresBackend::new(pool)
    ///     .transaction_store(&secrets)
    ///     .with_ttl(Duration::from_secs(15 * 60));
    /// # let _ = transactions;
    /// # Ok(()) }
    /// ```
    pub fn transaction_store(&self, secrets: &Secrets) -> PostgresTransactionStore {
        ServerSideTransactionStore::new(self.transaction_backend(), secrets)
    }

    /// The transaction backend on the same pool, in the transactions table (what
    /// [`transaction_store`](Self::transaction_store) wraps).
    pub fn transaction_backend(&self) -> PostgresTransactionBackend {
        PostgresTransactionBackend::new(self.db.clone(), self.sql.clone())
    }

    /// Starts a task on the current Tokio runtime that deletes expired sessions and
    /// transactions now and then every `every`, in batches (see [`CleanupTask`]). Stop it
    /// with [`CleanupTask::shutdown`], or by dropping the handle.
    ///
    /// Every instance may run one: batches skip rows another instance is deleting.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, as `tokio::spawn` does.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # async fn demo(backend: auth0_store_postgres::PostgresBackend) {
    /// let cleanup = backend.spawn_cleanup(Duration::from_secs(300));
    /// // ... at shutdown:
    /// cleanup.shutdown().await;
    /// # }
    /// ```
    pub fn spawn_cleanup(&self, every: Duration) -> CleanupTask {
        CleanupTask::spawn(self.clone(), every)
    }

    /// Deletes expired transactions in batches; returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] or [`StoreError::Timeout`] when PostgreSQL fails.
    #[tracing::instrument(name = "store.delete_expired_transactions", skip_all, fields(backend = BACKEND))]
    pub async fn delete_expired_transactions(&self) -> Result<u64, StoreError> {
        self.delete_expired_in(Table::Transactions).await
    }

    /// Deletes every expired row of `table`, batch after batch.
    async fn delete_expired_in(&self, table: Table) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted = self.delete_expired_batch(table).await?;
            total += deleted;
            if deleted < u64::from(self.cleanup_batch) {
                return Ok(total);
            }
        }
    }

    /// One batch: at most [`with_cleanup_batch_size`](Self::with_cleanup_batch_size) expired
    /// rows of `table`, skipping rows another transaction holds.
    pub(crate) async fn delete_expired_batch(&self, table: Table) -> Result<u64, StoreError> {
        let sql = match table {
            Table::Sessions => &self.sql.delete_expired_sessions,
            Table::Transactions => &self.sql.delete_expired_transactions,
            Table::LogoutTokens => &self.sql.delete_expired_logout_tokens,
        };
        self.db
            .run(async {
                sqlx::query(AssertSqlSafe(sql.clone()))
                    .bind(i64::from(self.cleanup_batch))
                    .execute(&self.db.pool)
                    .await
                    .map(|done| done.rows_affected())
                    .map_err(|e| self.db.error(e))
            })
            .await
    }
}

/// `t` as whole seconds and microseconds since the Unix epoch, clamped to what is stored:
/// before the epoch is the epoch (long expired either way), after
/// [`MAX_EXPIRES_AT_SECONDS`] is that.
pub(crate) fn epoch_parts(t: SystemTime) -> (i64, i32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => match i64::try_from(d.as_secs()) {
            Ok(secs) if secs <= MAX_EXPIRES_AT_SECONDS => {
                (secs, i32::try_from(d.subsec_micros()).unwrap_or(0))
            }
            _ => (MAX_EXPIRES_AT_SECONDS, 0),
        },
        Err(_) => (0, 0),
    }
}

/// The instant `micros` microseconds after the Unix epoch (the epoch for anything before it).
fn from_epoch_micros(micros: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

fn version_of(version: i64) -> Result<u64, StoreError> {
    u64::try_from(version).map_err(|_| data_error(DataError::BadVersion { version }))
}

fn loaded_record(row: &PgRow) -> Result<LoadedRecord, StoreError> {
    let get = |e: sqlx::Error| StoreError::backend(BACKEND, e);
    Ok(LoadedRecord {
        record: SessionRecord {
            data: row.try_get("data").map_err(get)?,
            sid: row.try_get("sid").map_err(get)?,
            sub: row.try_get("sub").map_err(get)?,
            domain: row.try_get("domain").map_err(get)?,
            expires_at: from_epoch_micros(row.try_get("expires_us").map_err(get)?),
        },
        version: version_of(row.try_get("version").map_err(get)?)?,
    })
}

/// The lookup fields of a record, checked to fit in `text`.
struct Lookup<'a> {
    sid: Option<&'a str>,
    sub: Option<&'a str>,
    domain: Option<&'a str>,
}

impl<'a> Lookup<'a> {
    fn of(record: &'a SessionRecord) -> Result<Self, StoreError> {
        Ok(Self {
            sid: text_field("sid", record.sid.as_deref())?,
            sub: text_field("sub", record.sub.as_deref())?,
            domain: text_field("domain", record.domain.as_deref())?,
        })
    }
}

impl PostgresBackend {
    /// The version of the live row `id`, if there is one.
    async fn live_version(&self, id: &SessionId) -> Result<Option<i64>, StoreError> {
        sqlx::query(AssertSqlSafe(self.sql.live_version.clone()))
            .bind(id.as_str())
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| self.db.error(e))?
            .map(|row| row.try_get::<i64, _>(0))
            .transpose()
            .map_err(|e| self.db.error(e))
    }
}

#[async_trait]
impl SessionBackend for PostgresBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    #[tracing::instrument(name = "store.create", skip_all, fields(backend = BACKEND, session = id.short()))]
    async fn create(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError> {
        let lookup = Lookup::of(record)?;
        let (secs, micros) = epoch_parts(record.expires_at);
        self.db
            .run(async {
                let done = sqlx::query(AssertSqlSafe(self.sql.create.clone()))
                    .bind(id.as_str())
                    .bind(record.data.as_slice())
                    .bind(lookup.sid)
                    .bind(lookup.sub)
                    .bind(lookup.domain)
                    .bind(secs)
                    .bind(micros)
                    .execute(&self.db.pool)
                    .await
                    .map_err(|e| self.db.error(e))?;
                if done.rows_affected() == 0 {
                    Err(StoreError::Conflict)
                } else {
                    Ok(())
                }
            })
            .await
    }

    #[tracing::instrument(name = "store.load", skip_all, fields(backend = BACKEND, session = id.short()))]
    async fn load(&self, id: &SessionId) -> Result<Option<LoadedRecord>, StoreError> {
        self.db
            .with_deadline(async {
                let row = match &self.db.lane {
                    Some(lane) => {
                        lane.fetch_optional(&self.sql.load, id.as_str(), self.db.timeout)
                            .await
                    }
                    None => {
                        sqlx::query(AssertSqlSafe(self.sql.load.clone()))
                            .bind(id.as_str())
                            .fetch_optional(&self.db.pool)
                            .await
                    }
                };
                row.map_err(|e| self.db.error(e))?
                    .as_ref()
                    .map(loaded_record)
                    .transpose()
            })
            .await
    }

    #[tracing::instrument(name = "store.update", skip_all, fields(backend = BACKEND, session = id.short(), expected_version = expected_version))]
    async fn update(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StoreError> {
        let lookup = Lookup::of(record)?;
        let (secs, micros) = epoch_parts(record.expires_at);
        self.db
            .run(async {
                // A version past i64 cannot be in the table: only the check below applies.
                if let Ok(expected) = i64::try_from(expected_version) {
                    let done = sqlx::query(AssertSqlSafe(self.sql.update.clone()))
                        .bind(id.as_str())
                        .bind(record.data.as_slice())
                        .bind(lookup.sid)
                        .bind(lookup.sub)
                        .bind(lookup.domain)
                        .bind(secs)
                        .bind(micros)
                        .bind(expected)
                        .execute(&self.db.pool)
                        .await
                        .map_err(|e| self.db.error(e))?;
                    if done.rows_affected() > 0 {
                        return Ok(UpdateOutcome::Updated);
                    }
                }
                // Nothing written: a live row means someone else wrote first.
                Ok(match self.live_version(id).await? {
                    Some(_) => UpdateOutcome::Conflict,
                    None => UpdateOutcome::Missing,
                })
            })
            .await
    }

    #[tracing::instrument(name = "store.delete", skip_all, fields(backend = BACKEND, session = id.short()))]
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.db
            .run(async {
                sqlx::query(AssertSqlSafe(self.sql.delete.clone()))
                    .bind(id.as_str())
                    .execute(&self.db.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.db.error(e))
            })
            .await
    }

    #[tracing::instrument(name = "store.delete_by_logout", skip_all, fields(backend = BACKEND, by_sid = filter.sid.is_some()))]
    async fn delete_by_logout(&self, filter: &LogoutFilter) -> Result<u64, StoreError> {
        // Nothing stored can hold a NUL character, so such a filter matches nothing.
        let has_nul = |v: &Option<String>| v.as_deref().is_some_and(|s| s.contains('\0'));
        if has_nul(&filter.sid) || has_nul(&filter.sub) || filter.domain.contains('\0') {
            return Ok(0);
        }
        let query = match (&filter.sid, &filter.sub) {
            (Some(sid), sub) => sqlx::query(AssertSqlSafe(self.sql.delete_by_sid.clone()))
                .bind(filter.domain.as_str())
                .bind(sid.as_str())
                .bind(sub.as_deref()),
            (None, Some(sub)) => sqlx::query(AssertSqlSafe(self.sql.delete_by_sub.clone()))
                .bind(filter.domain.as_str())
                .bind(sub.as_str()),
            (None, None) => return Ok(0),
        };
        let ended = self
            .db
            .run(async {
                let row = query
                    .fetch_one(&self.db.pool)
                    .await
                    .map_err(|e| self.db.error(e))?;
                row.try_get::<i64, _>(0).map_err(|e| self.db.error(e))
            })
            .await?;
        Ok(u64::try_from(ended).unwrap_or(0))
    }

    #[tracing::instrument(name = "store.list_by_sub", skip_all, fields(backend = BACKEND))]
    async fn list_by_sub(
        &self,
        domain: &str,
        sub: &str,
        limit: usize,
    ) -> Result<Vec<(SessionId, LoadedRecord)>, StoreError> {
        // Nothing stored can hold a NUL character, so such an owner has no sessions.
        if domain.contains('\0') || sub.contains('\0') {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .db
            .with_deadline(async {
                sqlx::query(AssertSqlSafe(self.sql.list_by_sub.clone()))
                    .bind(domain)
                    .bind(sub)
                    .bind(limit)
                    .fetch_all(&self.db.pool)
                    .await
                    .map_err(|e| self.db.error(e))
            })
            .await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id").map_err(|e| self.db.error(e))?;
            // A row whose id is not one this store makes cannot be a session's.
            if let Some(id) = SessionId::parse(&id) {
                found.push((id, loaded_record(row)?));
            }
        }
        Ok(found)
    }

    #[tracing::instrument(name = "store.delete_expired", skip_all, fields(backend = BACKEND))]
    async fn delete_expired(&self) -> Result<u64, StoreError> {
        let sessions = self.delete_expired_in(Table::Sessions).await?;
        // Expired logout-token ids go too (they are not sessions, so not counted).
        self.delete_expired_in(Table::LogoutTokens).await?;
        Ok(sessions)
    }

    /// One insert on the primary key: of two instances given the same token at once, exactly
    /// one gets the row back. An expired record of the same id is replaced.
    #[tracing::instrument(name = "store.record_logout_token", skip_all, fields(backend = BACKEND))]
    async fn record_logout_token(
        &self,
        key: &str,
        expires_at: SystemTime,
    ) -> Result<TokenUse, StoreError> {
        let (secs, micros) = epoch_parts(expires_at);
        self.db
            .run(async {
                let row = sqlx::query(AssertSqlSafe(self.sql.logout_token_record.clone()))
                    .bind(key)
                    .bind(secs)
                    .bind(micros)
                    .fetch_optional(&self.db.pool)
                    .await
                    .map_err(|e| self.db.error(e))?;
                Ok(if row.is_some() {
                    TokenUse::First
                } else {
                    TokenUse::Replayed
                })
            })
            .await
    }

    #[tracing::instrument(name = "store.forget_logout_token", skip_all, fields(backend = BACKEND))]
    async fn forget_logout_token(&self, key: &str) -> Result<(), StoreError> {
        self.db
            .run(async {
                sqlx::query(AssertSqlSafe(self.sql.logout_token_forget.clone()))
                    .bind(key)
                    .execute(&self.db.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.db.error(e))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_split_into_seconds_and_microseconds() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(epoch_parts(t), (1_700_000_000, 123_456));
        assert_eq!(
            from_epoch_micros(1_700_000_000_123_456),
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000)
        );
    }

    #[test]
    fn expiry_out_of_range_is_clamped() {
        assert_eq!(epoch_parts(UNIX_EPOCH - Duration::from_secs(5)), (0, 0));
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        assert_eq!(epoch_parts(far), (MAX_EXPIRES_AT_SECONDS, 0));
        assert_eq!(from_epoch_micros(-1), UNIX_EPOCH);
    }

    #[test]
    fn a_negative_version_is_a_data_error() {
        let err = version_of(-1).unwrap_err();
        assert_eq!(err.code(), "store_backend_error");
        assert_eq!(version_of(3).unwrap(), 3);
    }
}
