//! Server-side Auth0 / OpenID Connect for Rust web apps, with session storage you choose.
//!
//! This is the crate applications depend on. Its features pick the stores:
//!
//! | feature | store | for |
//! |---|---|---|
//! | `memory` | [`stores::MemoryBackend`] in this process | development, tests, one instance |
//!
//! (The cookie, Redis and PostgreSQL stores, the login flow and the axum integration join
//! as their crates land; see the project's README.)
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth0_server::{Secrets, model::StateData, stores::MemoryBackend};
//! use auth0_server::store::{ServerSideStateStore, StateStore, StoreContext};
//!
//! let secrets = Secrets::parse(&std::env::var("AUTH0_SECRET").unwrap_or_else(|_| "x".repeat(32)))?;
//! let sessions = ServerSideStateStore::new(MemoryBackend::new(), &secrets);
//!
//! // One StoreContext per request: cookies in, Set-Cookie out.
//! let cx = StoreContext::from_cookie_header("");
//! sessions.set("_a0_session", &StateData::default(), true, &cx).await?;
//! for cookie in cx.take_changes() {
//!     println!("Set-Cookie: {}", cookie.to_header_value());
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "memory"))] fn main() {}
//! ```
#![forbid(unsafe_code)]
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use auth0_server_core::{
    MIN_SECRET_LEN, Secret, SecretError, Secrets, clock, model, seal, store,
};

/// The session stores enabled by this build's features.
pub mod stores {
    #[cfg(feature = "memory")]
    pub use auth0_store_memory::{MemoryBackend, MemoryTransactionStore};
}
