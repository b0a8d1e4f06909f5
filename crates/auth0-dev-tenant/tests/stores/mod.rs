//! The stores a flow's end-to-end tests run on: each test body takes a [`Store`], and
//! [`on_each_store!`] makes it three tests (`<body>::in_memory`, `::in_redis`,
//! `::in_postgres`), so one body covers the memory store and both server stores, sessions and
//! login transactions alike. Redis and PostgreSQL come from `auth0_test_support::services`
//! (`REDIS_URL` / `DATABASE_URL`, else the compose services): without them a test stops with
//! a loud message, and fails under CI. Each setup gets a namespace of its own (a Redis key
//! prefix, a PostgreSQL schema) and a [`Probe`] that counts what the store itself holds, so a
//! test can see that the flow really used that store.
#![allow(dead_code)]

use auth0_dev_tenant::DevTenantBuilder;
use auth0_server_core::client::ServerClientBuilder;
use auth0_server_core::seal::random_bytes;
use auth0_server_core::store::{SessionBackend, TransactionBackend};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::{self, AssertSqlSafe, postgres::PgPoolOptions};
use auth0_store_redis::{RedisBackend, redis};
use auth0_test_support::dev_tenant::{API, Setup};
use auth0_test_support::services::{self, POSTGRES, REDIS};

/// Where the app keeps its sessions and its logins in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// The memory stores `Setup` uses by default.
    Memory,
    /// `auth0-store-redis`, for sessions and transactions.
    Redis,
    /// `auth0-store-postgres`, for sessions and transactions.
    Postgres,
}

/// A change to the app's client builder.
type Keep = Box<dyn FnOnce(ServerClientBuilder) -> ServerClientBuilder + Send>;

/// Reads, in the store itself, how many sessions and logins in progress a setup's namespace
/// holds.
pub enum Probe {
    /// The memory backends the client was given.
    Memory(MemoryBackend, MemoryTransactionBackend),
    /// The Redis server and the setup's key prefix.
    Redis(Box<redis::Client>, String),
    /// The setup's PostgreSQL backend (its own schema).
    Postgres(Box<PostgresBackend>),
}

impl Probe {
    /// How many sessions the store holds.
    pub async fn sessions(&self) -> usize {
        match self {
            Probe::Memory(sessions, _) => sessions.len(),
            Probe::Redis(client, prefix) => redis_keys(client, &format!("{prefix}s:*")).await,
            Probe::Postgres(db) => postgres_rows(db, db.table()).await,
        }
    }

    /// How many logins in progress (transactions) the store holds.
    pub async fn transactions(&self) -> usize {
        match self {
            Probe::Memory(_, transactions) => transactions.len(),
            Probe::Redis(client, prefix) => redis_keys(client, &format!("{prefix}tx:*")).await,
            Probe::Postgres(db) => postgres_rows(db, db.transactions_table()).await,
        }
    }
}

async fn redis_keys(client: &redis::Client, pattern: &str) -> usize {
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.len()
}

async fn postgres_rows(db: &PostgresBackend, table: &str) -> usize {
    let sql = format!("SELECT count(*) FROM \"{}\".\"{table}\"", db.schema());
    let count: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await
        .unwrap();
    usize::try_from(count).unwrap()
}

/// A name no other setup uses: `a0dt_` and 16 hex digits.
fn namespace() -> String {
    let hex: String = random_bytes::<8>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("a0dt_{hex}")
}

/// The change that gives the client `sessions` and `transactions`.
fn keep_in(sessions: impl SessionBackend, transactions: impl TransactionBackend) -> Keep {
    Box::new(move |c| {
        c.session_backend(sessions)
            .transaction_backend(transactions)
    })
}

impl Store {
    /// [`Setup::start`] with the app's stores here; `None` when the store's server is absent
    /// (after a loud message; a failure under CI).
    pub async fn setup(self) -> Option<Setup> {
        self.setup_with(|t| t, |c| c.audience(API)).await
    }

    /// [`Store::setup`], and the [`Probe`] of its store.
    pub async fn setup_probed(self) -> Option<(Setup, Probe)> {
        let (keep, probe) = self.keep().await?;
        let setup = Setup::start_with(|t| t, |c| keep(c.audience(API))).await;
        Some((setup, probe))
    }

    /// [`Setup::start_with`] with the app's stores here (see [`Store::setup`]).
    pub async fn setup_with(
        self,
        tenant: impl FnOnce(DevTenantBuilder) -> DevTenantBuilder,
        client: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
    ) -> Option<Setup> {
        let (keep, _) = self.keep().await?;
        Some(Setup::start_with(tenant, |c| keep(client(c))).await)
    }

    /// The client's stores, each in a namespace of its own, and their probe.
    async fn keep(self) -> Option<(Keep, Probe)> {
        Some(match self {
            Store::Memory => {
                let (sessions, transactions) =
                    (MemoryBackend::new(), MemoryTransactionBackend::new());
                let probe = Probe::Memory(sessions.clone(), transactions.clone());
                (keep_in(sessions, transactions), probe)
            }
            Store::Redis => {
                let server = services::find(&REDIS).await?;
                let prefix = format!("{}:", namespace());
                let sessions = RedisBackend::from_url(server.url()).await.unwrap();
                let sessions = sessions.with_prefix(prefix.clone());
                let probe =
                    Probe::Redis(Box::new(redis::Client::open(server.url()).unwrap()), prefix);
                let transactions = sessions.transaction_backend();
                (keep_in(sessions, transactions), probe)
            }
            Store::Postgres => {
                let server = services::find(&POSTGRES).await?;
                let pool = PgPoolOptions::new().max_connections(4);
                let pool = pool.connect(server.url()).await.unwrap();
                let sessions = PostgresBackend::new(pool)
                    .with_schema(&namespace())
                    .unwrap();
                sessions.migrate().await.unwrap();
                let transactions = sessions.transaction_backend();
                let probe = Probe::Postgres(Box::new(sessions.clone()));
                (keep_in(sessions, transactions), probe)
            }
        })
    }
}

/// For each `async fn body(store: Store)` named, a module of that name with three tests that
/// run it on the memory store, Redis and PostgreSQL.
macro_rules! on_each_store {
    ($($body:ident),+ $(,)?) => {$(
        mod $body {
            use super::stores::Store;

            #[tokio::test]
            async fn in_memory() {
                super::$body(Store::Memory).await;
            }

            #[tokio::test]
            async fn in_redis() {
                super::$body(Store::Redis).await;
            }

            #[tokio::test]
            async fn in_postgres() {
                super::$body(Store::Postgres).await;
            }
        }
    )+};
}
