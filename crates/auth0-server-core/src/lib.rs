//! The core of auth0-server for Rust: the session data model, sealing (encryption at rest),
//! secrets, and the store traits every session store implements.
//!
//! Applications normally depend on the `auth0-server` facade, which re-exports this crate;
//! store authors depend on this crate alone.
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
//!
//! // ...and open it again: any failure (tampered, wrong secret, other cookie name) is an
//! // error that means "no session", never a panic.
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
pub mod clock;
pub mod model;
pub mod seal;
mod secret;
pub mod store;
pub mod tls;

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): not public API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use client::fuzzing;

pub use secret::{MIN_SECRET_LEN, Secret, SecretError, Secrets, generate_secret};
