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
//! The login flow is [`ServerClient`]. Built with no store, it keeps sessions and logins in
//! progress in encrypted cookies (the `cookie` feature). A server-side store is given only its
//! connection — `.session_backend(RedisBackend::from_url(url).await?)` — and the client
//! hands it its secrets, cookie policy (derived from the redirect URI) and session lifetime
//! at `build()`. [`stores::StoreChoice`] picks a store from the environment.
//!
//! ```
//! # #[cfg(feature = "cookie")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth0_server::ServerClient;
//!
//! // In an app: ServerClient::from_env() reads AUTH0_DOMAIN, AUTH0_CLIENT_ID, ...
//! let client = ServerClient::builder()
//!     .domain("my-tenant.eu.auth0.com")
//!     .client_id("my-client-id")
//!     .client_secret("my-client-secret")
//!     .secret("a-secret-of-at-least-thirty-two-bytes")
//!     .redirect_uri("http://localhost:5000/callback")
//!     .build()?;
//! // Plain http on this machine: the cookies cannot be Secure, and are not.
//! assert!(!client.config().cookie_options().secure);
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
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use auth0_axum as axum;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

mod choice;

/// The session stores enabled by this build's features, and [`StoreChoice`](stores::StoreChoice):
/// the one the configuration names.
pub mod stores {
    pub use crate::choice::{StoreChoice, StoreChoiceError, TransactionChoice};
    #[cfg(feature = "cookie")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cookie")))]
    pub use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
    #[cfg(feature = "memory")]
    #[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
    pub use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend, MemoryTransactionStore};
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub use auth0_store_postgres::{
        CleanupTask, PostgresBackend, PostgresTransactionBackend, PostgresTransactionStore,
        ReadConnections, sqlx,
    };
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub use auth0_store_redis::{
        RedisBackend, RedisTransactionBackend, RedisTransactionStore, redis,
    };
}
