//! What every auth0-server store builds on: the session data model, sealing (encryption at
//! rest), secrets, the store traits and the server-side stores.
//!
//! A store crate (cookie, memory, Redis, PostgreSQL, yours) depends on this crate alone; the
//! login flow ([`ServerClient`](https://docs.rs/auth0-server-core)) lives in
//! `auth0-server-core`, which re-exports everything here at the same paths. Applications
//! depend on the `auth0-server` facade.
//!
//! ```
//! use auth0_store_core::{Secrets, seal::CookieSealer, model::StateData};
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
//! - [`store`]: [`StateStore`](store::StateStore), [`TransactionStore`](store::TransactionStore),
//!   [`SessionBackend`](store::SessionBackend), [`TransactionBackend`](store::TransactionBackend),
//!   [`StoreContext`](store::StoreContext), [`ServerSideStateStore`](store::ServerSideStateStore),
//!   [`ServerSideTransactionStore`](store::ServerSideTransactionStore), and
//!   [`StoreSettings`](store::StoreSettings): what the client hands every store it sets up.
//! - [`clock`]: time, injectable for tests.
//! - [`tls`]: the TLS roots store connections trust.
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

pub mod clock;
pub mod model;
pub mod seal;
mod secret;
pub mod store;
pub mod tls;

pub use secret::{MIN_SECRET_LEN, Secret, SecretError, Secrets, generate_secret};
