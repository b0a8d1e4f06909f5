//! Cookie storage for [auth0-server]: the whole session, encrypted, in the browser's
//! cookies ([`CookieStateStore`]), and each login in progress in a cookie of its own
//! ([`CookieTransactionStore`]).
//!
//! The default store of the Auth0 server SDKs: nothing on the server, so any number of
//! instances serve any request. The session is sealed as a JWE (see
//! [`CookieSealer`](auth0_store_core::seal::CookieSealer)) and split into chunks named
//! `__Host-{identifier}.0`, `__Host-{identifier}.1`, … so that every `Set-Cookie` stays under
//! the 4 KB browsers accept. The `__Host-` prefix (on whenever the cookies are `Secure` with
//! `Path=/` and no `Domain`) keeps a sibling subdomain from planting a session of its own;
//! `CookieOptions { host_prefix: false, .. }` gives `auth0-server-python`'s plain names.
//!
//! ```
//! use auth0_store_core::{Secrets, model::StateData, store::{StateStore, StoreContext}};
//! use auth0_store_cookie::CookieStateStore;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = CookieStateStore::new(Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?);
//! let cx = StoreContext::new();
//! store.set("_a0_session", &StateData::default(), true, &cx).await?;
//! for cookie in cx.take_changes() {
//!     assert!(cookie.name.starts_with("__Host-_a0_session."));
//!     println!("Set-Cookie: {}", cookie.to_header_value());
//! }
//! # Ok(()) }
//! ```
//!
//! # Limits
//!
//! - **Size.** Every request carries the session. Past [`DEFAULT_MAX_SESSION_SIZE`] bytes
//!   (sealed; configurable) a write fails with `TooLarge`: keep fewer tokens, or use the
//!   Redis or PostgreSQL store.
//! - **No revocation.** A copied cookie works until it expires (the rotating layout carries
//!   `exp`, so at most until the session's end). Logging out clears this browser only.
//! - **No back-channel logout.** The provider's logout token cannot reach a browser's
//!   cookies: [`delete_by_logout_token`](auth0_store_core::store::StateStore::delete_by_logout_token)
//!   answers `Unsupported`. Use a server-side store for that.
//!
//! [auth0-server]: https://docs.rs/auth0-server
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

mod state;
mod transactions;

pub use state::{CookieStateStore, DEFAULT_CHUNK_SIZE, DEFAULT_MAX_SESSION_SIZE};
pub use transactions::{
    CookieTransactionStore, DEFAULT_MAX_TRANSACTIONS, DEFAULT_TRANSACTION_MAX_AGE,
};
