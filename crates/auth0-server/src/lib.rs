//! Server-side Auth0 / OpenID Connect for Rust web apps, with session storage you choose.
//!
//! This is the crate applications depend on. Its features pick the stores:
//!
//! | feature | store | for |
//! |---|---|---|
//! | `cookie` (default) | `stores::CookieStateStore`: the session in encrypted cookies | one or many instances, no server state |
//! | `memory` | `stores::MemoryBackend` in this process | development, tests, one instance |
//! | `redis` | `stores::RedisBackend` (with `ServerSideStateStore`) | many instances, back-channel logout, big sessions |
//! | `postgres` | `stores::PostgresBackend` (with `ServerSideStateStore`) | the same, where PostgreSQL is already the system of record |
//!
//! | `axum` | `auth0_server::axum`: routes, extractors, require-auth layer | axum apps |
//!
//! The login flow is [`ServerClient`]. Logins in progress (between `/login` and
//! `/callback`) belong in `stores::CookieTransactionStore` whatever the session store, as in
//! the Python SDK: an anonymous `/login` then writes nothing on the server. The memory, Redis
//! and PostgreSQL stores also offer a transaction store, bound to the browser the same way
//! (see `docs/stores.md`).
//!
//! ```
//! # #[cfg(feature = "cookie")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth0_server::{Secrets, ServerClient};
//! use auth0_server::stores::{CookieStateStore, CookieTransactionStore};
//!
//! // In an app: ServerClient::from_env() reads AUTH0_DOMAIN, AUTH0_CLIENT_ID, ...
//! let secret = "a-secret-of-at-least-thirty-two-bytes";
//! let secrets = Secrets::parse(secret)?;
//! let client = ServerClient::builder()
//!     .domain("my-tenant.eu.auth0.com")
//!     .client_id("my-client-id")
//!     .client_secret("my-client-secret")
//!     .secret(secret)
//!     .redirect_uri("http://localhost:5000/callback")
//!     .state_store(Arc::new(CookieStateStore::new(secrets.clone())))
//!     .transaction_store(Arc::new(CookieTransactionStore::new(secrets)))
//!     .build()?;
//! assert_eq!(client.config().issuer().as_str(), "https://my-tenant.eu.auth0.com/");
//! # Ok(()) }
//! # #[cfg(not(feature = "cookie"))] fn main() {}
//! ```
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use auth0_server_core::client::{self, Error, ServerClient};
pub use auth0_server_core::{
    MIN_SECRET_LEN, Secret, SecretError, Secrets, clock, generate_secret, model, seal, store, tls,
};

/// The axum integration (feature `axum`): routes, extractors and the require-auth layer.
#[cfg(feature = "axum")]
pub use auth0_axum as axum;

mod choice;

/// The session stores enabled by this build's features, and [`StoreChoice`](stores::StoreChoice):
/// the one the configuration names.
pub mod stores {
    pub use crate::choice::{StoreChoice, StoreChoiceError, TransactionChoice};
    #[cfg(feature = "cookie")]
    pub use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
    #[cfg(feature = "memory")]
    pub use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend, MemoryTransactionStore};
    #[cfg(feature = "postgres")]
    pub use auth0_store_postgres::{
        CleanupTask, PostgresBackend, PostgresTransactionBackend, PostgresTransactionStore,
        ReadConnections, sqlx,
    };
    #[cfg(feature = "redis")]
    pub use auth0_store_redis::{
        RedisBackend, RedisTransactionBackend, RedisTransactionStore, redis,
    };
}
