//! The trait server-side backends implement, and the records they keep.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use super::StoreError;
use crate::model::normalize_domain;
use crate::seal::random_bytes;

/// Random bytes in a session id: 256 bits, far past the 128 that make guessing hopeless.
const SESSION_ID_BYTES: usize = 32;
/// Length of a session id's text form (base64url of [`SESSION_ID_BYTES`], no padding).
const SESSION_ID_LEN: usize = 43;

/// A server-side session's id: 256 random bits from the operating system, as base64url text.
///
/// Its `Debug` and [`SessionId::short`] show only a prefix, for logs.
///
/// ```
/// use auth0_store_core::store::SessionId;
/// let id = SessionId::generate();
/// assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
/// assert_eq!(SessionId::parse("not-an-id"), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(B64.encode(random_bytes::<SESSION_ID_BYTES>()))
    }

    /// Accepts only text of the form [`generate`](Self::generate) makes.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == SESSION_ID_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && B64.decode(text).is_ok();
        ok.then(|| Self(text.to_owned()))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first characters, enough to tell sessions apart in a log, too few to use.
    pub fn short(&self) -> &str {
        &self.0[..8]
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", self.short())
    }
}

/// What a backend keeps for one session: the sealed state plus the fields it looks sessions
/// up by, in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The sealed [`StateData`](crate::model::StateData) (see [`RecordSealer`](crate::seal::RecordSealer)).
    pub data: Vec<u8>,
    /// The provider's session id, for back-channel logout by `sid`.
    pub sid: Option<String>,
    /// The user, for back-channel logout by `sub`.
    pub sub: Option<String>,
    /// The issuer's domain, normalised with [`normalize_domain`] (as
    /// [`ServerSideStateStore`](super::ServerSideStateStore) does before it calls a backend), so a
    /// backend can compare it with [`LogoutFilter::domain`] as an exact string.
    pub domain: Option<String>,
    /// When the record stops existing.
    pub expires_at: SystemTime,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("data", &format_args!("[{} sealed bytes]", self.data.len()))
            .field("sid", &self.sid)
            .field("sub", &self.sub)
            .field("domain", &self.domain)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A record as loaded, with its version for compare-and-set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadedRecord {
    /// The record.
    pub record: SessionRecord,
    /// Its version: 1 when created, one more after every successful update.
    pub version: u64,
}

/// The result of [`SessionBackend::update`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Written; the version is now `expected_version + 1`.
    Updated,
    /// No live record has this id (deleted or expired); nothing was written.
    Missing,
    /// The record exists with another version; nothing was written.
    Conflict,
}

/// Which sessions a back-channel logout ends (OIDC Back-Channel Logout 1.0).
///
/// ```
/// use auth0_store_core::store::LogoutFilter;
/// let f = LogoutFilter { sid: Some("s1".into()), sub: None, domain: "tenant.auth0.com".into() };
/// assert!(f.matches(Some("s1"), Some("anyone"), Some("tenant.auth0.com")));
/// assert!(!f.matches(Some("s2"), Some("anyone"), Some("tenant.auth0.com")));
/// assert!(!f.matches(Some("s1"), Some("anyone"), Some("other.auth0.com")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutFilter {
    /// With a `sid`: only sessions carrying it end (and only if `sub` matches too, when given).
    pub sid: Option<String>,
    /// With only a `sub`: every session of that user ends.
    pub sub: Option<String>,
    /// Only sessions of this issuer domain (normalised) end.
    pub domain: String,
}

impl LogoutFilter {
    /// The reference semantics every backend must follow, for one record's lookup fields.
    pub fn matches(&self, sid: Option<&str>, sub: Option<&str>, domain: Option<&str>) -> bool {
        let same_domain = domain.is_some_and(|d| normalize_domain(d) == self.domain);
        if !same_domain {
            return false;
        }
        match (&self.sid, &self.sub) {
            (Some(want_sid), want_sub) => {
                sid == Some(want_sid.as_str())
                    && want_sub.as_deref().is_none_or(|want| sub == Some(want))
            }
            (None, Some(want_sub)) => sub == Some(want_sub.as_str()),
            (None, None) => false,
        }
    }
}

/// What [`SessionBackend::record_logout_token`] (or [`StateStore::record_logout_token`])
/// found.
///
/// [`StateStore::record_logout_token`]: super::StateStore::record_logout_token
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenUse {
    /// Not seen before: now recorded until the token expires.
    First,
    /// Recorded before, and that record has not expired: a replay.
    Replayed,
    /// This store keeps no token ids; the client remembers them in its own process.
    NotKept,
}

/// Storage for server-side sessions: what Redis, PostgreSQL and the memory store implement.
///
/// A backend stores opaque sealed records under session ids; [`ServerSideStateStore`]
/// (which owns the cookie, the sealing and rotation) sits on top. Implementations must be
/// safe under concurrent use from many tasks and many processes, and must pass the
/// `auth0-store-conformance` suite.
///
/// [`ServerSideStateStore`]: super::ServerSideStateStore
#[async_trait]
pub trait SessionBackend: Send + Sync + 'static {
    /// A short name for errors and logs (`"redis"`, `"postgres"`, `"memory"`).
    fn name(&self) -> &'static str;

    /// Stores a new record with version 1.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if a live record already has this id; backend failures.
    async fn create(&self, id: &SessionId, record: &SessionRecord) -> Result<(), StoreError>;

    /// Loads a live record; never one whose `expires_at` has passed.
    ///
    /// # Errors
    ///
    /// Backend failures only; an absent or expired record is `Ok(None)`.
    async fn load(&self, id: &SessionId) -> Result<Option<LoadedRecord>, StoreError>;

    /// Replaces the record if its version is still `expected_version`.
    ///
    /// Never brings back a deleted or expired record: that is [`UpdateOutcome::Missing`].
    ///
    /// # Errors
    ///
    /// Backend failures only; the outcome says whether it was written.
    async fn update(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StoreError>;

    /// Deletes the record; deleting an absent one is not an error.
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError>;

    /// Deletes the sessions the filter selects (see [`LogoutFilter::matches`]), using indexes
    /// rather than scanning every session, and returns how many live sessions ended (expired
    /// records that match may be deleted too, but are not counted).
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn delete_by_logout(&self, filter: &LogoutFilter) -> Result<u64, StoreError>;

    /// Records a back-channel logout token's id until `expires_at`, and says whether it was
    /// new: [`TokenUse::First`] the first time, [`TokenUse::Replayed`] while a record of it
    /// lives. Must be atomic across every instance sharing the backend (Redis `SET NX`, a
    /// PostgreSQL insert on a primary key), so that a token replayed to another instance is
    /// refused too.
    ///
    /// `key` is a digest of the token's issuer and `jti` (43 base64url characters), never the
    /// token. The default keeps nothing ([`TokenUse::NotKept`]): the
    /// `ServerClient` (auth0-server-core) then remembers ids in its own process,
    /// which refuses replays to that instance only.
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn record_logout_token(
        &self,
        key: &str,
        expires_at: SystemTime,
    ) -> Result<TokenUse, StoreError> {
        let _ = (key, expires_at);
        Ok(TokenUse::NotKept)
    }

    /// Forgets a token id recorded by [`record_logout_token`](Self::record_logout_token),
    /// when ending the sessions it names failed, so that the provider may send it again.
    /// Forgetting an absent id is not an error.
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn forget_logout_token(&self, key: &str) -> Result<(), StoreError> {
        let _ = key;
        Ok(())
    }

    /// The live records of the user `sub` at the issuer `domain` (normalised), at most
    /// `limit` of them, found by the same `(domain, sub)` index as
    /// [`delete_by_logout`](Self::delete_by_logout). Each record's own `sub` and `domain`
    /// must be that owner's ([`ServerSideStateStore`](super::ServerSideStateStore) checks
    /// again and skips any other). Used to list and revoke a user's sessions. The domain ""
    /// asks for the records with no recorded domain (written before sessions recorded it).
    ///
    /// The default answers [`StoreError::Unsupported`], so a backend written before this
    /// method existed still compiles and says why listing fails.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] when the backend does not implement it; backend failures.
    async fn list_by_sub(
        &self,
        domain: &str,
        sub: &str,
        limit: usize,
    ) -> Result<Vec<(SessionId, LoadedRecord)>, StoreError> {
        let _ = (domain, sub, limit);
        Err(StoreError::Unsupported {
            operation: "listing a user's sessions",
            store: self.name(),
            hint: "this backend does not implement SessionBackend::list_by_sub; implement it \
                   with the (domain, sub) index it keeps for back-channel logout",
        })
    }

    /// Deletes expired records, for backends without native expiry; returns how many.
    ///
    /// # Errors
    ///
    /// Backend failures only.
    async fn delete_expired(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}
