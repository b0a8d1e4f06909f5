//! A user's sessions, listed and revoked: the types the stores and the client share.
//!
//! A server-side store finds a user's sessions by the `(domain, sub)` index it already keeps
//! for back-channel logout ([`SessionBackend::list_by_sub`](super::SessionBackend::list_by_sub)),
//! opens each record, and shows it as a [`SessionSummary`]. A session is named to the user by
//! a [`SessionHandle`], never by its id: the id is the cookie's value, a bearer secret.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use super::SessionId;
use crate::model::Internal;
use crate::secret::Secrets;

/// Most sessions of one user a listing returns (the most recently active first); revoking
/// "all" works through any number, page by page.
pub const MAX_LISTED_SESSIONS: usize = 100;
/// Bytes of keyed hash in a [`SessionHandle`]: 128 bits, too many to guess.
const HANDLE_BYTES: usize = 16;
/// Length of a handle's text (base64url of [`HANDLE_BYTES`], no padding).
pub const SESSION_HANDLE_LEN: usize = 22;
/// HKDF `info` of the key handles are derived with.
const HANDLE_KEY_INFO: &[u8] = b"auth0-server session handle v1";
/// Most entries a session's metadata keeps; more are dropped.
pub const MAX_METADATA_ENTRIES: usize = 8;
/// Longest metadata key, in characters; a longer key is dropped.
pub const MAX_METADATA_KEY_CHARS: usize = 64;
/// Longest metadata value, in characters; a longer value is cut there.
pub const MAX_METADATA_VALUE_CHARS: usize = 256;
/// Where [`Internal::extra`] keeps the time of the session's last write (unix seconds).
const LAST_ACTIVE_FIELD: &str = "last_active_at";
/// Where [`Internal::extra`] keeps the session's [`SessionMetadata`].
const METADATA_FIELD: &str = "session_metadata";

/// A name for one session that is safe to show and to put in a form: a keyed hash of the
/// session id (HKDF-SHA-256 under the newest secret), so it tells nothing of the id, and it
/// only ever names a session within one user's own sessions.
///
/// ```
/// use auth0_store_core::store::SessionHandle;
/// assert!(SessionHandle::parse("AAAAAAAAAAAAAAAAAAAAAA").is_some());
/// assert!(SessionHandle::parse("short").is_none());
/// assert!(SessionHandle::parse(&"A".repeat(100_000)).is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionHandle(String);

impl SessionHandle {
    /// Accepts only text of the form handles have (22 base64url characters); anything else,
    /// of any length, is `None` before it is looked at further.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == SESSION_HANDLE_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && B64.decode(text).is_ok();
        ok.then(|| Self(text.to_owned()))
    }

    /// The handle's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionHandle({})", self.0)
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key session handles are derived with, from the newest secret.
#[derive(Clone)]
pub(crate) struct HandleKey([u8; 32]);

impl HandleKey {
    pub(crate) fn new(secrets: &Secrets) -> Self {
        Self(crate::seal::derive_key(
            secrets.current().as_bytes(),
            None,
            HANDLE_KEY_INFO,
        ))
    }

    /// HKDF-SHA-256 of the id with this key as the salt (a keyed PRF built on HMAC), cut
    /// to [`HANDLE_BYTES`].
    pub(crate) fn handle(&self, id: &SessionId) -> SessionHandle {
        let full: [u8; 32] = crate::seal::derive_key(id.as_str().as_bytes(), Some(&self.0), b"");
        SessionHandle(B64.encode(&full[..HANDLE_BYTES]))
    }
}

/// Who the sessions belong to: the user's `sub` at one issuer domain (a `sub` is only unique
/// within its issuer).
///
/// ```
/// use auth0_store_core::store::SessionOwner;
/// let owner = SessionOwner::new("https://Tenant.auth0.com/", "auth0|42");
/// assert_eq!(owner.domain, "tenant.auth0.com");
/// assert!(!owner.includes_unrecorded_domain());
/// // The app's configured domain: sessions written before domains were recorded are its too.
/// let owner = owner.with_unrecorded_domain();
/// assert!(owner.includes_unrecorded_domain());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOwner {
    /// The issuer's domain, normalised.
    pub domain: String,
    /// The user's `sub`.
    pub sub: String,
    /// Whether sessions with no recorded domain count as this domain's.
    unrecorded_domain: bool,
}

impl SessionOwner {
    /// The owner `sub` at `domain` (normalised with
    /// [`normalize_domain`](crate::model::normalize_domain)).
    pub fn new(domain: &str, sub: impl Into<String>) -> Self {
        Self {
            domain: crate::model::normalize_domain(domain),
            sub: sub.into(),
            unrecorded_domain: false,
        }
    }

    /// Also the user's sessions with no recorded domain (written before sessions recorded
    /// their issuer): set it when `domain` is the app's configured (default) domain, the one
    /// those sessions were made under.
    #[must_use]
    pub fn with_unrecorded_domain(mut self) -> Self {
        self.unrecorded_domain = true;
        self
    }

    /// Whether sessions with no recorded domain count as this owner's
    /// ([`with_unrecorded_domain`](Self::with_unrecorded_domain)).
    pub fn includes_unrecorded_domain(&self) -> bool {
        self.unrecorded_domain
    }
}

/// Small facts an app attaches to a session at login (a user agent, a place), shown in the
/// user's list of sessions. Bounded: at most [`MAX_METADATA_ENTRIES`] entries, keys up to
/// [`MAX_METADATA_KEY_CHARS`] characters (longer ones are dropped), values cut at
/// [`MAX_METADATA_VALUE_CHARS`]. Kept sealed in the record, like the rest of the session.
///
/// ```
/// use auth0_store_core::store::SessionMetadata;
/// let meta = SessionMetadata::new().with("user_agent", "x".repeat(1000));
/// assert_eq!(meta.get("user_agent").map(str::len), Some(256));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionMetadata(BTreeMap<String, String>);

impl SessionMetadata {
    /// No metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `key` set to `value`, within the bounds above.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(key.into(), value.into());
        self
    }

    fn insert(&mut self, key: String, value: String) {
        let full = self.0.len() >= MAX_METADATA_ENTRIES && !self.0.contains_key(&key);
        if full || key.is_empty() || key.chars().count() > MAX_METADATA_KEY_CHARS {
            return;
        }
        let value = value.chars().take(MAX_METADATA_VALUE_CHARS).collect();
        self.0.insert(key, value);
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every entry, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The metadata a session keeps (what a record holds is hostile too: bounded again).
    pub(crate) fn of(internal: &Internal) -> Self {
        let mut meta = Self::new();
        if let Some(Value::Object(map)) = internal.extra.get(METADATA_FIELD) {
            for (key, value) in map {
                if let Value::String(value) = value {
                    meta.insert(key.clone(), value.clone());
                }
            }
        }
        meta
    }

    /// Stores this metadata in a session (replacing what it had).
    pub fn store_in(&self, internal: &mut Internal) {
        let map = self
            .0
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        internal
            .extra
            .insert(METADATA_FIELD.to_owned(), Value::Object(map));
    }
}

/// When the session was last written (unix seconds), if a store recorded it.
pub(crate) fn last_active_at(internal: &Internal) -> Option<u64> {
    internal
        .extra
        .get(LAST_ACTIVE_FIELD)
        .and_then(Value::as_u64)
}

/// Takes the write time out of a session read back.
pub(crate) fn remove_last_active_at(internal: &mut Internal) {
    internal.extra.remove(LAST_ACTIVE_FIELD);
}

/// Records that the session is written now.
pub(crate) fn set_last_active_at(internal: &mut Internal, now: u64) {
    internal
        .extra
        .insert(LAST_ACTIVE_FIELD.to_owned(), Value::from(now));
}

/// One of a user's sessions, as it can be shown to them.
///
/// ```
/// use auth0_store_core::store::SessionSummary;
///
/// fn row(s: &SessionSummary) -> String {
///     let agent = s.metadata.get("user_agent").unwrap_or("unknown browser");
///     let this = if s.current { " (this one)" } else { "" };
///     format!("{agent}{this}: last active {}, handle {}", s.last_active_at, s.handle)
/// }
/// # let _ = row;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionSummary {
    /// Its name in this list and in a revoke request.
    pub handle: SessionHandle,
    /// When the user logged in (unix seconds).
    pub created_at: u64,
    /// When the session was last written (unix seconds): at login, at each token refresh,
    /// at each change the app stores, at a rolling session's extension. Reads do not write,
    /// so a session only read since is older than that.
    pub last_active_at: u64,
    /// When it ends at the latest (unix seconds).
    pub expires_at: u64,
    /// Whether it is the session of the request that asked.
    pub current: bool,
    /// What the app attached at login.
    pub metadata: SessionMetadata,
}

/// Which of a user's sessions to end.
///
/// ```
/// use auth0_store_core::store::{RevokeSessions, SessionHandle};
///
/// let from_form = "AAAAAAAAAAAAAAAAAAAAAA";
/// let which = match SessionHandle::parse(from_form) {
///     Some(handle) => RevokeSessions::One(handle),
///     None => RevokeSessions::AllButCurrent,
/// };
/// assert!(matches!(which, RevokeSessions::One(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeSessions {
    /// The one with this handle, if it is the user's.
    One(SessionHandle),
    /// All but the request's own session ("log out my other sessions").
    AllButCurrent,
    /// All of them, the request's own included.
    All,
}

/// What [`StateStore::revoke_sessions`](super::StateStore::revoke_sessions) did.
///
/// Only sessions that open under the store's identifier and secrets are ended: a record of
/// the same user that does not open (another app sharing the store under another identifier
/// or secret, or a command run with the wrong `AUTH0_SECRET`) is left alone and counted in
/// [`unreadable`](Self::unreadable), so the caller can say so.
///
/// ```
/// use auth0_store_core::store::RevokedSessions;
///
/// let done = RevokedSessions { ended: 2, unreadable: 1 };
/// assert_eq!(done.ended, 2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevokedSessions {
    /// How many sessions ended.
    pub ended: u64,
    /// How many of the user's records were left because they do not open here.
    pub unreadable: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_not_derived_from_a_prefix_of_the_id() {
        let key = HandleKey::new(&Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap());
        let id = SessionId::generate();
        let handle = key.handle(&id);
        assert_eq!(handle.as_str().len(), SESSION_HANDLE_LEN);
        assert!(!id.as_str().contains(&handle.as_str()[..6]));
        assert_eq!(key.handle(&id), handle);
        let other = HandleKey::new(&Secrets::parse("another-secret-of-thirty-two-bytes!").unwrap());
        assert_ne!(other.handle(&id), handle);
    }

    #[test]
    fn metadata_is_bounded_when_read_back() {
        let mut internal = Internal::default();
        let mut map = serde_json::Map::new();
        for i in 0..50 {
            map.insert(format!("k{i}"), Value::String("v".repeat(10_000)));
        }
        internal
            .extra
            .insert(METADATA_FIELD.to_owned(), Value::Object(map));
        let meta = SessionMetadata::of(&internal);
        assert_eq!(meta.iter().count(), MAX_METADATA_ENTRIES);
        assert!(
            meta.iter()
                .all(|(_, v)| v.len() == MAX_METADATA_VALUE_CHARS)
        );
    }
}
