//! Redis storage for [auth0-server]: a [`SessionBackend`](auth0_store_core::store::SessionBackend)
//! for core's [`ServerSideStateStore`](auth0_store_core::store::ServerSideStateStore), and a
//! [`TransactionBackend`](auth0_store_core::store::TransactionBackend) on the same connection.
//!
//! Sessions are shared by every instance of the app, survive restarts (with Redis
//! persistence), can be ended by back-channel logout, and may be large.
//!
//! An app gives the backend to its client, which wraps it in a `ServerSideStateStore` with
//! the client's secrets, cookie attributes and session lifetime:
//! `ServerClient::from_env().session_backend(RedisBackend::from_url(url).await?).build()?`. By hand, for tests or
//! tools:
//!
//! ```no_run
//! use std::sync::Arc;
//! use auth0_store_core::{Secrets, store::ServerSideStateStore};
//! use auth0_store_redis::RedisBackend;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let secrets = Secrets::parse(&std::env::var("AUTH0_SECRET")?)?;
//! let backend = RedisBackend::from_url("redis://127.0.0.1:6379").await?.with_prefix("myapp:");
//! let transactions = backend.transaction_store(&secrets);
//! let sessions = ServerSideStateStore::new(backend, &secrets);
//! # Ok(()) }
//! ```
//!
//! # Keys
//!
//! With the default prefix `auth0:`:
//!
//! - `auth0:s:{ID}` — a hash per session: the sealed record (`data`), `version`, `expires`
//!   (unix ms), and in clear `sid`, `sub`, `domain`; it expires at the session's end
//!   (`PEXPIREAT`, the same instant as `expires`);
//! - `auth0:sid:{H}` and `auth0:sub:{H}` — sets of session ids per provider session and per
//!   user, `H` a hash of (domain, value), so no user id appears in a key name; each expires
//!   with its last session;
//! - `auth0:tx:{K}` — a sealed login transaction, `K` a hash of its state and of the random
//!   value in the browser that started it; it expires with the login (an hour by default).
//!
//! Every command touches one key (the braces are Redis Cluster hash tags), so the backend
//! works on a cluster connection too ([`RedisBackend::with_connection`]).
//!
//! [auth0-server]: https://docs.rs/auth0-server
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

mod backend;
mod transactions;

pub use backend::{DEFAULT_OPERATION_TIMEOUT, DEFAULT_PREFIX, RedisBackend};
pub use redis;
pub use transactions::{RedisTransactionBackend, RedisTransactionStore};
