//! Session storage: the traits, the per-request context, and the server-side state store.
//!
//! - [`StateStore`] keeps sessions; [`TransactionStore`] keeps logins in progress.
//! - [`StoreContext`] is one request's cookies in and `Set-Cookie` changes out.
//! - [`SessionBackend`] is what a server-side store (Redis, PostgreSQL, memory, yours)
//!   implements; [`ServerSideStateStore`] turns any backend into a [`StateStore`], owning
//!   the session-id cookie, the sealing of records, rotation and compare-and-set.
//! - [`TransactionBackend`] is what a server-side store implements for logins in progress;
//!   [`ServerSideTransactionStore`] turns it into a [`TransactionStore`], owning sealing,
//!   the binding of each login to its browser, size, lifetime and per-browser bounds.
//! - [`StoreSettings`] is what a client hands every store it sets up (secrets, cookie
//!   attributes, lifetime, clock), so that its stores cannot disagree.
//! - [`SessionLifetime`] decides when a session ends, once for every store.
//! - [`ReadCache`] keeps opened sessions, so a store need not open the same bytes twice.
//! - [`StoreMeters`] records each operation's latency and the read cache's hits and misses
//!   through the `metrics` facade (nothing when the application installs no recorder).
//! - [`SessionSummary`], [`SessionHandle`], [`RevokeSessions`]: a user's sessions, listed
//!   and revoked ([`StateStore::list_sessions`], [`StateStore::revoke_sessions`]).

mod backend;
mod context;
mod error;
mod lifetime;
mod meters;
mod read_cache;
mod server_side;
mod server_side_transactions;
mod settings;
mod traits;
mod user_sessions;

pub use backend::{
    LoadedRecord, LogoutFilter, SessionBackend, SessionId, SessionRecord, TokenUse, UpdateOutcome,
};
pub use context::{
    CookieOptions, HOST_PREFIX, MAX_COOKIES_PER_PREFIX, OwnedCookies, ReadVersion, SameSite,
    SetCookie, StoreContext, is_loopback, validate_identifier,
};
pub use error::{BoxError, StoreError};
pub use lifetime::{DEFAULT_ABSOLUTE, DEFAULT_INACTIVITY, SessionLifetime};
pub use meters::{
    OperationTimer, READ_CACHE_HITS, READ_CACHE_MISSES, STORE_OPERATION_SECONDS, StoreMeters,
    StoreOperation,
};
pub use read_cache::{
    CachedSession, DEFAULT_READ_CACHE_CAPACITY, ReadCache, ReadCacheStats, SealedToken,
};
pub use server_side::{DEFAULT_MAX_RECORD_SIZE, ServerSideStateStore};
pub use server_side_transactions::{
    DEFAULT_MAX_TRANSACTION_SIZE, DEFAULT_MAX_TRANSACTIONS_PER_BROWSER, DEFAULT_TRANSACTION_TTL,
    LoginCookie, ServerSideTransactionStore, TransactionBackend, split_transaction_key,
};
pub use settings::StoreSettings;
pub use traits::{StateStore, TransactionStore};
pub(crate) use user_sessions::{
    HandleKey, last_active_at, remove_last_active_at, set_last_active_at,
};
pub use user_sessions::{
    MAX_LISTED_SESSIONS, MAX_METADATA_ENTRIES, MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUE_CHARS,
    RevokeSessions, RevokedSessions, SESSION_HANDLE_LEN, SessionHandle, SessionMetadata,
    SessionOwner, SessionSummary,
};
