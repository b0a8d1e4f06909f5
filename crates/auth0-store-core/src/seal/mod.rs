//! Sealing: encryption at rest for cookies ([`CookieSealer`]) and server-side records
//! ([`RecordSealer`]).
//!
//! Cookies are JWE compact tokens (`alg=dir`, `enc=A256CBC-HS512`) that
//! `auth0-server-python` and `@auth0/auth0-server-js` can read; records kept by Redis,
//! PostgreSQL or memory are XChaCha20-Poly1305 boxes bound to their session.

mod jwe;
mod record;

pub use jwe::{
    CookieFormat, CookieSealer, EXP_TOLERANCE, Opened, PYTHON_KEY_INFO, ROTATING_KEY_INFO,
};
pub use record::{RECORD_KEY_INFO, RECORD_VERSION, RecordSealer};

use hkdf::Hkdf;
use sha2::Sha256;

/// Why a value could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The value did not serialize to JSON.
    #[error("the value could not be serialized to JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The rotating layout adds `exp` to the payload, so the payload must be a JSON object.
    #[error("only a JSON object can be sealed in the rotating layout (it adds an `exp` claim)")]
    NotAnObject,
    /// The cipher failed (this does not happen with valid keys).
    #[error("the cipher failed: {0}")]
    Crypto(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a sealed value could not be opened. Every case means "no session"; the variants say
/// why, for logs and for the `auth0-server session decode` command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a token of the expected shape (truncated, not base64url, wrong lengths).
    #[error(
        "the value is not a sealed token ({0}); it may be truncated or from another application"
    )]
    Malformed(&'static str),
    /// The header asks for something this crate does not accept (`zip`, `crit`, another
    /// `alg` or `enc`, `alg: none`).
    #[error("the token's header is not accepted ({0}): only alg=dir with enc=A256CBC-HS512 is")]
    UnsupportedHeader(String),
    /// No configured secret opens it: the secret or the identifier (cookie name) is wrong, or
    /// the token was altered.
    #[error(
        "no configured secret opens this token: the secret or the identifier (cookie name) is \
         wrong, or the token was altered"
    )]
    Undecryptable,
    /// A rotating-layout token whose `exp` is past (beyond the tolerance).
    #[error("the token expired at {exp} (unix seconds); it is now {now}: log in again")]
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The time it was read.
        now: u64,
    },
    /// A rotating-layout token without a numeric `exp`.
    #[error("the token has a key id but no `exp` claim, so it is not accepted")]
    MissingExpiry,
    /// It opened, but the content is not the JSON expected.
    #[error("the token opened but its content is not the expected JSON: {0}")]
    Payload(#[source] serde_json::Error),
    /// A cipher failure after the tag matched (for example bad padding).
    #[error("the cipher failed after the tag matched: {0}")]
    Crypto(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// HKDF-SHA-256 with the given salt and info, expanded to `N` bytes.
pub(crate) fn derive_key<const N: usize>(
    secret: &[u8],
    salt: Option<&[u8]>,
    info: &[u8],
) -> [u8; N] {
    let mut okm = [0u8; N];
    // N is at most 64 here, far below HKDF-SHA-256's limit of 8160 bytes.
    let expanded = Hkdf::<Sha256>::new(salt, secret).expand(info, &mut okm);
    debug_assert!(expanded.is_ok());
    okm
}

/// `N` bytes from the operating system's random number generator (PKCE verifiers, `state`,
/// `nonce`, session ids and login bindings all come from here).
///
/// ```
/// let a: [u8; 32] = auth0_store_core::seal::random_bytes();
/// let b: [u8; 32] = auth0_store_core::seal::random_bytes();
/// assert_ne!(a, b);
/// ```
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if let Err(e) = getrandom::fill(&mut bytes) {
        // Without an OS random source nothing secure can be done; this never happens on the
        // platforms Rust's standard library supports.
        panic!("the operating system's random number generator failed: {e}");
    }
    bytes
}
