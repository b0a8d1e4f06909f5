//! The stores a flow's end-to-end tests run on: each test body takes a [`Store`], and
//! [`on_each_store!`] makes it three tests (`<body>::in_memory`, `::in_redis`,
//! `::in_postgres`), so one body covers the memory store and both server stores, sessions and
//! login transactions alike. Redis and PostgreSQL come from `auth0_test_support::services`
//! (`REDIS_URL` / `DATABASE_URL`, else the compose services): without them a test stops with
//! a loud message, and fails under CI.
#![allow(dead_code)]

use auth0_dev_tenant::DevTenantBuilder;
use auth0_server_core::client::ServerClientBuilder;
use auth0_store_postgres::PostgresBackend;
use auth0_store_redis::RedisBackend;
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

impl Store {
    /// [`Setup::start`] with the app's stores here; `None` when the store's server is absent
    /// (after a loud message; a failure under CI).
    pub async fn setup(self) -> Option<Setup> {
        self.setup_with(|t| t, |c| c.audience(API)).await
    }

    /// [`Setup::start_with`] with the app's stores here (see [`Store::setup`]).
    pub async fn setup_with(
        self,
        tenant: impl FnOnce(DevTenantBuilder) -> DevTenantBuilder,
        client: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
    ) -> Option<Setup> {
        let keep = self.keep().await?;
        Some(Setup::start_with(tenant, |c| keep(client(c))).await)
    }

    async fn keep(self) -> Option<Keep> {
        Some(match self {
            Store::Memory => Box::new(|c| c),
            Store::Redis => {
                let server = services::find(&REDIS).await?;
                let sessions = RedisBackend::from_url(server.url()).await.unwrap();
                let transactions = sessions.transaction_backend();
                Box::new(move |c| {
                    c.session_backend(sessions)
                        .transaction_backend(transactions)
                })
            }
            Store::Postgres => {
                let server = services::find(&POSTGRES).await?;
                let sessions = PostgresBackend::connect(server.url()).await.unwrap();
                let transactions = sessions.transaction_backend();
                Box::new(move |c| {
                    c.session_backend(sessions)
                        .transaction_backend(transactions)
                })
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
