//! In-memory storage for [auth0-server]: a [`SessionBackend`](auth0_store_core::store::SessionBackend)
//! and a [`TransactionBackend`](auth0_store_core::store::TransactionBackend) that keep
//! everything in this process.
//!
//! For development, tests and apps that run as a single instance. Sessions are lost when the
//! process stops and are not shared between instances: for several instances use the cookie,
//! Redis or PostgreSQL store. Expired entries are dropped as the store is used, so memory
//! does not grow without bound.
//!
//! An app gives the backend to its client, which wraps it in a `ServerSideStateStore` with
//! the client's secrets, cookie attributes and session lifetime:
//! `ServerClient::from_env().session_backend(MemoryBackend::new()).build()?`. By hand, for tests or
//! tools:
//!
//! ```
//! use auth0_store_core::{Secrets, store::{ServerSideStateStore, StateStore, StoreContext}};
//! use auth0_store_core::model::StateData;
//! use auth0_store_memory::MemoryBackend;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?;
//! let store = ServerSideStateStore::new(MemoryBackend::new(), &secrets);
//!
//! let cx = StoreContext::new();
//! store.set("_a0_session", &StateData::default(), true, &cx).await?;
//! assert!(store.get("_a0_session", &cx).await?.is_some());
//! # Ok(()) }
//! ```
//!
//! [auth0-server]: https://docs.rs/auth0-server
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

mod backend;
mod transactions;

pub use backend::MemoryBackend;
pub use transactions::{
    DEFAULT_MAX_TRANSACTIONS, MemoryTransactionBackend, MemoryTransactionStore,
};

/// Seconds between sweeps of expired entries.
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
