//! The login flow of auth0-server for Rust: [`ServerClient`](client::ServerClient) — login
//! with PKCE, the callback, sessions, access tokens with single-flight refresh, logout and
//! back-channel logout — with Auth0 or any OpenID Connect provider.
//!
//! It re-exports, at the same paths, what every store builds on (`auth0-store-core`): the
//! session data model, sealing, secrets and the store traits. Applications normally depend on
//! the `auth0-server` facade, which re-exports this crate; store authors depend on
//! `auth0-store-core` alone.
//!
//! ```
//! use auth0_server_core::{Secrets, seal::CookieSealer, model::StateData};
//!
//! // Seal a session into a cookie value that auth0-server-python can also read...
//! let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?;
//! let sealer = CookieSealer::new(secrets);
//! let mut state = StateData::default();
//! state.domain = Some("tenant.auth0.com".into());
//! let cookie = sealer.seal("_a0_session", &state, 4_102_444_800)?;
//! let back: StateData = sealer.open("_a0_session", &cookie)?;
//! assert_eq!(back, state);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Concepts
//!
//! - [`model`]: [`StateData`](model::StateData) (a session), [`TransactionData`](model::TransactionData)
//!   (a login in progress), with the JSON of `auth0-server-python`.
//! - [`seal`]: [`CookieSealer`](seal::CookieSealer) for cookies (JWE, both the Python and the
//!   rotating layout) and [`RecordSealer`](seal::RecordSealer) for server-side records.
//! - [`Secrets`]: the secrets, newest first, for rotation.
//! - [`client`]: [`ServerClient`](client::ServerClient), the login flow, access tokens and
//!   logout.
//! - [`store`]: [`StateStore`](store::StateStore), [`TransactionStore`](store::TransactionStore),
//!   [`SessionBackend`](store::SessionBackend), [`TransactionBackend`](store::TransactionBackend),
//!   [`StoreContext`](store::StoreContext), [`ServerSideStateStore`](store::ServerSideStateStore)
//!   and [`ServerSideTransactionStore`](store::ServerSideTransactionStore).
//! - [`clock`]: time, injectable for tests.
//!
//! # Limits
//!
//! The stores live in crates of their own (cookie, memory, Redis, PostgreSQL): server-side
//! sessions need a [`SessionBackend`](store::SessionBackend) and this crate ships none.
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

pub mod client;

pub use auth0_store_core::{
    MIN_SECRET_LEN, Secret, SecretError, Secrets, clock, generate_secret, model, seal, store, tls,
};

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): not public API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use client::fuzzing;
