//! PostgreSQL storage for [auth0-server]: a [`SessionBackend`] ([`PostgresBackend`]) and a
//! [`TransactionStore`] ([`PostgresTransactionStore`]) on one [`sqlx::PgPool`].
//!
//! For apps that run several instances, need back-channel logout or sessions larger than
//! cookies allow, and already have PostgreSQL as their system of record. The browser holds
//! only a random session id; the session, sealed, is a row.
//!
//! An app gives the backend to its client, which wraps it in a `ServerSideStateStore` with
//! the client's secrets, cookie attributes and session lifetime:
//! `ServerClient::from_env().session_backend(PostgresBackend::connect(url).await?).build()?`. By hand, for tests or
//! tools:
//!
//! ```no_run
//! use std::time::Duration;
//! use auth0_store_core::{Secrets, model::StateData};
//! use auth0_store_core::store::{ServerSideStateStore, StateStore, StoreContext};
//! use auth0_store_postgres::{PostgresBackend, sqlx::postgres::PgPoolOptions};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = PgPoolOptions::new()
//!     .acquire_timeout(Duration::from_secs(3))
//!     .connect(&std::env::var("DATABASE_URL")?)
//!     .await?;
//! let backend = PostgresBackend::new(pool);
//! backend.migrate().await?; // every instance may: they take turns under an advisory lock
//! let cleanup = backend.spawn_cleanup(Duration::from_secs(300));
//!
//! let secrets = Secrets::parse(&std::env::var("AUTH0_SECRET")?)?;
//! let transactions = backend.transaction_store(&secrets);
//! let sessions = ServerSideStateStore::new(backend, &secrets);
//!
//! let cx = StoreContext::new();
//! sessions.set("_a0_session", &StateData::default(), true, &cx).await?;
//! assert!(sessions.get("_a0_session", &cx).await?.is_some());
//! # let _ = transactions;
//! cleanup.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Concepts
//!
//! - **The table.** One row per session: `id` (the session id, primary key), `data` (the
//!   sealed session, `bytea`), the lookup fields `sid`, `sub`, `domain` in clear, `version`
//!   (`bigint`, for compare-and-set) and `expires_at` (`timestamptz`), with indexes on
//!   `expires_at`, `(domain, sid)` and `(domain, sub)`. Transactions (logins in progress)
//!   have a table of their own.
//! - **Migrations** are embedded and versioned; [`PostgresBackend::migrate`] runs the
//!   missing ones in one transaction under `pg_advisory_xact_lock`, so every instance can
//!   call it at start-up.
//! - **One clock.** Whether a row is live is always decided by the database's `now()`.
//! - **Compare-and-set.** `update` is `UPDATE … WHERE id = $1 AND version = $2 AND
//!   expires_at > now()`; a deleted or expired session is never written again.
//! - **Back-channel logout** is one `DELETE` through the `(domain, sid)` or `(domain, sub)`
//!   index.
//! - **Reads** run on connections of the backend's own, without the round trips sqlx's pool
//!   adds to every query ([`PostgresBackend::with_read_connections`]).
//! - **Cleanup.** Expired rows are invisible at once; [`PostgresBackend::spawn_cleanup`]
//!   deletes them in batches in the background.
//!
//! # Limits
//!
//! - PostgreSQL 12 or newer (tested with 15). The lookup fields are `text`, which cannot
//!   hold a NUL character: a session whose `sid`, `sub` or issuer has one is refused with a
//!   typed error.
//! - `expires_at` is kept to the microsecond, between 1970 and the end of year 9999.
//! - While PostgreSQL is unreachable every operation fails with [`StoreError::Timeout`] or
//!   [`StoreError::Backend`] (an error, never stale data or a silent logout); the pool
//!   reconnects by itself when it is back.
//!
//! [auth0-server]: https://docs.rs/auth0-server
//! [`SessionBackend`]: auth0_store_core::store::SessionBackend
//! [`TransactionStore`]: auth0_store_core::store::TransactionStore
//! [`StoreError::Timeout`]: auth0_store_core::store::StoreError::Timeout
//! [`StoreError::Backend`]: auth0_store_core::store::StoreError::Backend
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

mod backend;
mod cleanup;
mod config;
mod error;
mod lane;
mod migrate;
mod sql;
mod transactions;

pub use backend::{
    DEFAULT_CLEANUP_BATCH, DEFAULT_OPERATION_TIMEOUT, MAX_EXPIRES_AT_SECONDS, PostgresBackend,
};
pub use cleanup::{CleanupStats, CleanupTask};
pub use config::{
    ConfigError, DEFAULT_SCHEMA, DEFAULT_TABLE, DEFAULT_TRANSACTIONS_TABLE, Index,
    MAX_IDENTIFIER_LEN,
};
pub use error::DataError;
pub use lane::ReadConnections;
pub use sql::Statement;
pub use transactions::{
    MAX_TRANSACTION_KEY_LEN, PostgresTransactionBackend, PostgresTransactionStore,
};

/// The sqlx this crate is built with, to make the [`sqlx::PgPool`] it takes without a
/// version mismatch.
pub use sqlx;
