//! The one error type of every store.

use std::time::Duration;

use crate::seal::SealError;

/// A boxed error from a backend's client library, kept as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in a store. Each variant says what to do next; [`StoreError::code`] is a
/// stable string to match on.
///
/// A cookie or record that cannot be opened is not an error: stores report it as "no
/// session" (`Ok(None)`) and log why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend (Redis, PostgreSQL, …) failed; the source says how.
    #[error("the {backend} session store failed: {source}; check that it is running and reachable")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// The client library's error.
        #[source]
        source: BoxError,
    },
    /// The backend did not answer in time.
    #[error(
        "the {backend} session store did not answer within {after:?}; check that it is running and reachable"
    )]
    Timeout {
        /// Which backend.
        backend: &'static str,
        /// How long was waited.
        after: Duration,
    },
    /// Data could not be sealed.
    #[error("the session could not be sealed: {0}")]
    Seal(#[from] SealError),
    /// Data could not be turned into JSON or back.
    #[error("the session could not be encoded as JSON: {0}")]
    Codec(#[from] serde_json::Error),
    /// The session is larger than the store accepts.
    #[error(
        "the session is {size} bytes, over this store's limit of {limit}: keep fewer tokens in it, \
         or use a server-side store (Redis or PostgreSQL) for large sessions"
    )]
    TooLarge {
        /// The size that was refused, in bytes.
        size: usize,
        /// The store's limit, in bytes.
        limit: usize,
    },
    /// Another request wrote the session after this one read it. Read it again, re-apply the
    /// change and write again.
    #[error(
        "the session was changed by another request after this one read it; read it again and \
         re-apply the change"
    )]
    Conflict,
    /// The session was deleted or expired (for example by logout in another tab or by
    /// back-channel logout) after it was read; it is not written again.
    #[error("the session has ended (it was logged out or expired); the user must log in again")]
    SessionEnded,
    /// The session is past its absolute lifetime or the provider's `session_expiry`
    /// ceiling (see [`SessionLifetime::ceiling`](super::SessionLifetime::ceiling)): it was
    /// not stored (a login whose session would already be over fails with this), and the
    /// user is not logged in.
    #[error(
        "the session is past its absolute lifetime or the identity provider's session_expiry, \
         so it was not stored: the user must log in again (check the server's clock if this \
         happens at login)"
    )]
    SessionExpired,
    /// The store cannot do this.
    #[error("the {store} store does not support {operation}: {hint}")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
        /// Which store.
        store: &'static str,
        /// What to use instead.
        hint: &'static str,
    },
    /// The identifier cannot be a cookie name.
    #[error("{identifier:?} cannot be used as a cookie name: use letters, digits and `_-.` only")]
    InvalidIdentifier {
        /// The identifier given.
        identifier: String,
    },
}

impl StoreError {
    /// A stable, machine-readable code for this error.
    ///
    /// ```
    /// use auth0_store_core::store::StoreError;
    /// assert_eq!(StoreError::Conflict.code(), "store_conflict");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::Backend { .. } => "store_backend_error",
            Self::Timeout { .. } => "store_timeout",
            Self::Seal(_) => "store_seal_error",
            Self::Codec(_) => "store_codec_error",
            Self::TooLarge { .. } => "store_too_large",
            Self::Conflict => "store_conflict",
            Self::SessionEnded => "session_ended",
            Self::SessionExpired => "session_expired",
            Self::Unsupported { .. } => "store_unsupported",
            Self::InvalidIdentifier { .. } => "store_invalid_identifier",
        }
    }

    /// Wraps a backend client's error.
    ///
    /// ```
    /// use auth0_store_core::store::StoreError;
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    /// let err = StoreError::backend("redis", io);
    /// assert!(std::error::Error::source(&err).is_some());
    /// ```
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            backend,
            source: source.into(),
        }
    }
}
