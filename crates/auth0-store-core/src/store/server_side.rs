//! [`ServerSideStateStore`]: a [`StateStore`] over any [`SessionBackend`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;

use super::read_cache::DEFAULT_READ_CACHE_CAPACITY;
use super::settings::StoreSettings;
mod sessions;

use super::{
    CachedSession, CookieOptions, HandleKey, LogoutFilter, ReadCache, ReadCacheStats, ReadVersion,
    RevokeSessions, RevokedSessions, SessionBackend, SessionId, SessionLifetime, SessionOwner,
    SessionRecord, SessionSummary, SetCookie, StateStore, StoreContext, StoreError, StoreMeters,
    StoreOperation, TokenUse, UpdateOutcome, validate_identifier,
};
use crate::clock::{self, Clock};
use crate::model::{LogoutTokenClaims, StateData, normalize_domain};
use crate::seal::RecordSealer;
use crate::secret::Secrets;

/// Largest sealed record accepted by default: 1 MiB. A session is a few kilobytes; this only
/// stops a runaway one from filling the backend.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 1024 * 1024;
/// How many fresh ids are tried when a new id collides with an existing one (which, with 256
/// random bits, only a broken random source makes happen).
const CREATE_ATTEMPTS: usize = 3;
/// The expiry given to a backend when the lifetime's end does not fit in a `SystemTime`:
/// 9999-12-31T23:59:59Z (unix seconds), later than any backend tells apart.
const FAR_FUTURE_SECONDS: u64 = 253_402_300_799;

/// A [`StateStore`] keeping sessions in a [`SessionBackend`], with only a random session id
/// in the browser's cookie.
///
/// It owns everything backends share:
///
/// - the session-id cookie (HttpOnly, Secure, SameSite=Lax by default), named
///   `__Host-{identifier}` whenever its attributes allow ([`CookieOptions::cookie_name`]),
///   so a sibling subdomain cannot plant one; a plain `{identifier}` cookie is then ignored;
/// - sealing: records are XChaCha20-Poly1305 boxes bound to the identifier and session id,
///   so refresh tokens are never stored in clear; only sid, sub, domain and expiry are;
/// - rotation at login: a new id, the new record created before the old one is deleted;
/// - compare-and-set: a write uses the version read earlier in the same request, so two
///   requests that both read version 3 cannot both write; the second gets
///   [`StoreError::Conflict`], and a write to a session deleted meanwhile gets
///   [`StoreError::SessionEnded`] instead of bringing it back;
/// - the lifetime ([`SessionLifetime`]) that sets both the record's expiry and the
///   cookie's `Max-Age`;
/// - a [`ReadCache`] of opened records: every read still loads the record from the
///   backend (so a session ended on another instance is ended here too), but when its
///   version is one this store opened or wrote before, the decryption and JSON parsing are
///   skipped ([`with_read_cache`](Self::with_read_cache) sizes or disables it).
///
/// ```
/// # use auth0_store_core::store::*;
/// # use auth0_store_core::Secrets;
/// # async fn demo(backend: impl SessionBackend) -> Result<(), Box<dyn std::error::Error>> {
/// let store = ServerSideStateStore::new(backend, &Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?)
///     .with_cookie_options(CookieOptions { secure: false, ..CookieOptions::default() });
/// # Ok(()) }
/// ```
pub struct ServerSideStateStore<B> {
    backend: Arc<B>,
    sealer: RecordSealer,
    cookie: CookieOptions,
    lifetime: SessionLifetime,
    clock: Arc<dyn Clock>,
    max_record_size: usize,
    /// Opened records by `identifier:session id:version`.
    read_cache: ReadCache<String>,
    /// Derives the handles a user's sessions are listed under.
    handles: HandleKey,
    /// Latency and read-cache metrics, labelled with the backend's name.
    meters: StoreMeters,
}

impl<B> Clone for ServerSideStateStore<B> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            sealer: self.sealer.clone(),
            cookie: self.cookie.clone(),
            lifetime: self.lifetime,
            clock: self.clock.clone(),
            max_record_size: self.max_record_size,
            read_cache: self.read_cache.clone(),
            handles: self.handles.clone(),
            meters: self.meters.clone(),
        }
    }
}

impl<B: SessionBackend> fmt::Debug for ServerSideStateStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSideStateStore")
            .field("backend", &self.backend.name())
            .field("cookie", &self.cookie)
            .field("lifetime", &self.lifetime)
            .field("max_record_size", &self.max_record_size)
            .field("read_cache", &self.read_cache.capacity())
            .finish_non_exhaustive()
    }
}

impl<B: SessionBackend> ServerSideStateStore<B> {
    /// A store over `backend`, sealing records with `secrets` (newest first).
    pub fn new(backend: B, secrets: &Secrets) -> Self {
        Self::from_shared(Arc::new(backend), secrets)
    }

    /// A store over `backend` with a client's settings: its secrets, cookie attributes,
    /// session lifetime and clock. This is how a client sets up the backend an app gives it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use auth0_store_core::Secrets;
    /// use auth0_store_core::store::{ServerSideStateStore, SessionBackend, StoreSettings};
    ///
    /// fn session_store<B: SessionBackend>(backend: B) -> ServerSideStateStore<B> {
    ///     let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap();
    ///     let redirect = url::Url::parse("https://app.example.com/callback").unwrap();
    ///     let settings = StoreSettings::for_redirect_uri(secrets, &redirect);
    ///     ServerSideStateStore::from_settings(Arc::new(backend), &settings)
    /// }
    /// ```
    pub fn from_settings(backend: Arc<B>, settings: &StoreSettings) -> Self {
        Self::from_shared(backend, &settings.secrets)
            .with_cookie_options(settings.cookie_options.clone())
            .with_lifetime(settings.lifetime)
            .with_clock(settings.clock.clone())
    }

    /// Like [`new`](Self::new), for a backend that is shared with other code.
    pub fn from_shared(backend: Arc<B>, secrets: &Secrets) -> Self {
        let meters = StoreMeters::new(backend.name());
        Self {
            backend,
            sealer: RecordSealer::new(secrets),
            cookie: CookieOptions::default(),
            lifetime: SessionLifetime::default(),
            clock: clock::system(),
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            read_cache: ReadCache::new(DEFAULT_READ_CACHE_CAPACITY),
            handles: HandleKey::new(secrets),
            meters,
        }
    }

    /// Sets the session-id cookie's attributes.
    pub fn with_cookie_options(mut self, options: CookieOptions) -> Self {
        self.cookie = options;
        self
    }

    /// Sets the session lifetime policy.
    pub fn with_lifetime(mut self, lifetime: SessionLifetime) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets the clock the lifetime is computed with (the backend keeps its own).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the largest sealed record accepted, in bytes.
    pub fn with_max_record_size(mut self, bytes: usize) -> Self {
        self.max_record_size = bytes;
        self
    }

    /// Sets how many opened records are kept in memory
    /// ([`DEFAULT_READ_CACHE_CAPACITY`](super::DEFAULT_READ_CACHE_CAPACITY)); 0 turns the
    /// cache off, so that every read decrypts and parses its record.
    ///
    /// ```
    /// # use auth0_store_core::store::*;
    /// # use auth0_store_core::Secrets;
    /// # fn demo(backend: impl SessionBackend, secrets: &Secrets) {
    /// let store = ServerSideStateStore::new(backend, secrets).with_read_cache(0);
    /// assert_eq!(store.read_cache_stats().entries, 0);
    /// # }
    /// ```
    pub fn with_read_cache(mut self, capacity: usize) -> Self {
        self.read_cache = ReadCache::new(capacity);
        self
    }

    /// How the read cache has done: hits, misses, entries held.
    pub fn read_cache_stats(&self) -> ReadCacheStats {
        self.read_cache.stats()
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The read cache's key for one version of one record: the cookie name is part of it
    /// because it is part of what the record is sealed to.
    fn cache_key(identifier: &str, id: &SessionId, version: u64) -> String {
        format!("{identifier}:{}:{version}", id.as_str())
    }

    /// Remembers what the record version named by `key` (see [`Self::cache_key`]) opens
    /// to: after opening it, or after writing it.
    fn remember(&self, key: String, state: &StateData) {
        self.read_cache.insert(
            key,
            CachedSession {
                state: Arc::new(state.clone()),
                expires_at: None,
            },
        );
    }

    /// The associated data a record is sealed with: the cookie name and the session id.
    fn aad(identifier: &str, id: &SessionId) -> Vec<u8> {
        format!("{identifier}:{}", id.as_str()).into_bytes()
    }

    fn record(
        &self,
        identifier: &str,
        id: &SessionId,
        json: &[u8],
        state: &StateData,
        expires_at: u64,
    ) -> Result<SessionRecord, StoreError> {
        let data = self.sealer.seal(&Self::aad(identifier, id), json)?;
        if data.len() > self.max_record_size {
            return Err(StoreError::TooLarge {
                size: data.len(),
                limit: self.max_record_size,
            });
        }
        Ok(SessionRecord {
            data,
            sid: Some(state.internal.sid.clone()).filter(|s| !s.is_empty()),
            sub: state
                .user
                .as_ref()
                .map(|u| u.sub.clone())
                .filter(|s| !s.is_empty()),
            domain: state.domain.as_deref().map(normalize_domain),
            // Saturating: a lifetime configured past what `SystemTime` holds is "never".
            expires_at: UNIX_EPOCH
                .checked_add(Duration::from_secs(expires_at))
                .unwrap_or(UNIX_EPOCH + Duration::from_secs(FAR_FUTURE_SECONDS)),
        })
    }

    /// The session-id cookie's name in the browser: `__Host-{identifier}` unless the cookie
    /// options rule the prefix out ([`CookieOptions::cookie_name`]). Only that name is read,
    /// never the plain one a sibling subdomain could plant; the record stays sealed to the
    /// plain `identifier`.
    ///
    /// ```
    /// # use auth0_store_core::store::*;
    /// # use auth0_store_core::Secrets;
    /// # fn demo(backend: impl SessionBackend, secrets: &Secrets) {
    /// let store = ServerSideStateStore::new(backend, secrets);
    /// assert_eq!(store.id_cookie_name("_a0_session"), "__Host-_a0_session");
    /// # }
    /// ```
    pub fn id_cookie_name(&self, identifier: &str) -> String {
        self.cookie.cookie_name(identifier)
    }

    /// The session id the browser's cookie names, if it parses as one.
    fn id_cookie(&self, cx: &StoreContext, identifier: &str) -> Option<String> {
        cx.cookie(&self.id_cookie_name(identifier))
    }

    fn set_id_cookie(&self, cx: &StoreContext, identifier: &str, id: &SessionId, ttl: u64) {
        cx.set_cookie(SetCookie::new(
            self.id_cookie_name(identifier),
            id.as_str(),
            Some(Duration::from_secs(ttl)),
            &self.cookie,
        ));
    }

    /// Whether `state` is past its lifetime's ceiling; if so its record is deleted (a
    /// failure to delete is logged: the session reads as none either way) and the cookie
    /// removed.
    async fn past_ceiling(
        &self,
        state: &StateData,
        id: &SessionId,
        identifier: &str,
        cx: &StoreContext,
    ) -> bool {
        if !self.lifetime.is_over(state, self.clock.unix_seconds()) {
            return false;
        }
        tracing::debug!(
            session = id.short(),
            "session past its lifetime's ceiling; no session"
        );
        if let Err(e) = self.backend.delete(id).await {
            tracing::warn!(session = id.short(), error = %e, "could not delete a session past its ceiling");
        }
        self.forget(cx, identifier);
        true
    }

    fn forget(&self, cx: &StoreContext, identifier: &str) {
        cx.remove_cookie(&self.id_cookie_name(identifier), &self.cookie);
        cx.clear_read_version(identifier);
    }

    /// Writes `write` over the session `id` if it is still the version this request read
    /// (or, not read here, the version it has now): a concurrent write makes it
    /// `Conflict`, a session ended meanwhile `SessionEnded` (and its cookie goes).
    async fn update_in_place(
        &self,
        identifier: &str,
        id: &SessionId,
        write: &Write<'_>,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let expected = match cx.read_version(identifier) {
            Some(read) if read.session_id == id.as_str() => read.version,
            // Not read in this request: take the version now.
            _ => match self.backend.load(id).await? {
                Some(loaded) => loaded.version,
                None => {
                    self.forget(cx, identifier);
                    return Err(StoreError::SessionEnded);
                }
            },
        };
        let record = self.record(identifier, id, write.json, write.state, write.expires_at)?;
        match self.backend.update(id, &record, expected).await? {
            UpdateOutcome::Updated => {
                self.set_id_cookie(cx, identifier, id, write.ttl);
                self.read_cache
                    .remove(&Self::cache_key(identifier, id, expected));
                self.remember(Self::cache_key(identifier, id, expected + 1), write.state);
                let version = ReadVersion {
                    session_id: id.as_str().to_owned(),
                    version: expected + 1,
                };
                cx.set_read_version(identifier, version);
                Ok(())
            }
            UpdateOutcome::Missing => {
                self.forget(cx, identifier);
                Err(StoreError::SessionEnded)
            }
            UpdateOutcome::Conflict => {
                cx.clear_read_version(identifier);
                Err(StoreError::Conflict)
            }
        }
    }

    /// Creates the session under a fresh id, then deletes the previous one (if any).
    async fn create_fresh(
        &self,
        identifier: &str,
        write: &Write<'_>,
        previous: Option<SessionId>,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let Write {
            json,
            state,
            expires_at,
            ttl,
        } = *write;
        let mut attempts = 0;
        let (id, record) = loop {
            attempts += 1;
            let id = SessionId::generate();
            let record = self.record(identifier, &id, json, state, expires_at)?;
            match self.backend.create(&id, &record).await {
                Ok(()) => break (id, record),
                Err(StoreError::Conflict) if attempts < CREATE_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        };
        drop(record);
        if let Some(previous) = previous.filter(|p| *p != id)
            && let Err(e) = self.backend.delete(&previous).await
        {
            // The old id must not outlive the login (session fixation): undo and fail.
            let _ = self.backend.delete(&id).await;
            return Err(e);
        }
        self.set_id_cookie(cx, identifier, &id, ttl);
        self.remember(Self::cache_key(identifier, &id, 1), state);
        cx.set_read_version(
            identifier,
            ReadVersion {
                session_id: id.as_str().to_owned(),
                version: 1,
            },
        );
        tracing::debug!(session = id.short(), "session created");
        Ok(())
    }
}

/// What one write stores: the session, its JSON, and when it ends.
#[derive(Clone, Copy)]
struct Write<'a> {
    json: &'a [u8],
    state: &'a StateData,
    /// Unix seconds.
    expires_at: u64,
    /// Seconds from now.
    ttl: u64,
}

#[async_trait]
impl<B: SessionBackend> StateStore for ServerSideStateStore<B> {
    #[tracing::instrument(name = "store.set", skip_all, fields(backend = self.backend.name(), rotate = rotate))]
    async fn set(
        &self,
        identifier: &str,
        state: &StateData,
        rotate: bool,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::Set);
        validate_identifier(identifier)?;
        let now = self.clock.unix_seconds();
        let expires_at = self.lifetime.expires_at(state, now);
        let current = self
            .id_cookie(cx, identifier)
            .and_then(|v| SessionId::parse(&v));
        if expires_at <= now {
            // The session's lifetime is already over: end it rather than store it.
            if let Some(id) = current {
                self.backend.delete(&id).await?;
            }
            self.forget(cx, identifier);
            return Err(StoreError::SessionExpired);
        }
        let ttl = expires_at - now;
        // The record carries when it was written, for the user's list of sessions; a read
        // strips it again, so a session reads back as it was stored.
        let json = serde_json::to_vec(&sessions::stamped(state, now))?;

        let write = Write {
            json: &json,
            state,
            expires_at,
            ttl,
        };
        let Some(id) = current.clone().filter(|_| !rotate) else {
            return self.create_fresh(identifier, &write, current, cx).await;
        };
        self.update_in_place(identifier, &id, &write, cx).await
    }

    #[tracing::instrument(name = "store.get", skip_all, fields(backend = self.backend.name()))]
    async fn get(
        &self,
        identifier: &str,
        cx: &StoreContext,
    ) -> Result<Option<StateData>, StoreError> {
        let _timer = self.meters.time(StoreOperation::Get);
        validate_identifier(identifier)?;
        let Some(raw) = self.id_cookie(cx, identifier) else {
            return Ok(None);
        };
        let Some(id) = SessionId::parse(&raw) else {
            tracing::debug!("session cookie is not a session id; ignored");
            self.forget(cx, identifier);
            return Ok(None);
        };
        let Some(loaded) = self.backend.load(&id).await? else {
            self.forget(cx, identifier);
            return Ok(None);
        };
        // `load` never returns an expired record, by the backend's own clock (PostgreSQL's
        // now(), Redis' expiry). The session's ceiling is checked too, once opened: a record
        // written under a longer lifetime, or by another SDK, ends at it all the same.
        let read_version = ReadVersion {
            session_id: id.as_str().to_owned(),
            version: loaded.version,
        };
        let key = Self::cache_key(identifier, &id, loaded.version);
        let cached = self.read_cache.get(&key);
        self.meters.read_cache(cached.is_some());
        if let Some(cached) = cached {
            if self.past_ceiling(&cached.state, &id, identifier, cx).await {
                self.read_cache.remove(&key);
                return Ok(None);
            }
            cx.set_read_version(identifier, read_version);
            return Ok(Some(StateData::clone(&cached.state)));
        }
        let json = match self
            .sealer
            .open(&Self::aad(identifier, &id), &loaded.record.data)
        {
            Ok(json) => json,
            Err(e) => {
                // Left in place: an instance with the right secret may still read it.
                tracing::warn!(session = id.short(), error = %e, "session record does not open; treated as no session");
                return Ok(None);
            }
        };
        let state = match serde_json::from_slice::<StateData>(&json) {
            Ok(state) => sessions::unstamped(state),
            Err(e) => {
                tracing::warn!(session = id.short(), error = %e, "session record is not a session; treated as no session");
                return Ok(None);
            }
        };
        if self.past_ceiling(&state, &id, identifier, cx).await {
            return Ok(None);
        }
        self.remember(key, &state);
        cx.set_read_version(identifier, read_version);
        Ok(Some(state))
    }

    #[tracing::instrument(name = "store.delete", skip_all, fields(backend = self.backend.name()))]
    async fn delete(&self, identifier: &str, cx: &StoreContext) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::Delete);
        validate_identifier(identifier)?;
        if let Some(id) = self
            .id_cookie(cx, identifier)
            .and_then(|v| SessionId::parse(&v))
        {
            self.backend.delete(&id).await?;
            if let Some(read) = cx
                .read_version(identifier)
                .filter(|r| r.session_id == id.as_str())
            {
                self.read_cache
                    .remove(&Self::cache_key(identifier, &id, read.version));
            }
        }
        self.forget(cx, identifier);
        Ok(())
    }

    #[tracing::instrument(name = "store.delete_by_logout_token", skip_all, fields(backend = self.backend.name()))]
    async fn delete_by_logout_token(
        &self,
        claims: &LogoutTokenClaims,
        _cx: &StoreContext,
    ) -> Result<u64, StoreError> {
        let _timer = self.meters.time(StoreOperation::DeleteByLogoutToken);
        let filter = LogoutFilter {
            sid: claims.sid.clone().filter(|s| !s.is_empty()),
            sub: claims.sub.clone().filter(|s| !s.is_empty()),
            domain: claims.domain(),
        };
        if filter.sid.is_none() && filter.sub.is_none() {
            return Ok(0);
        }
        let ended = self.backend.delete_by_logout(&filter).await?;
        tracing::info!(ended, "back-channel logout");
        Ok(ended)
    }

    #[tracing::instrument(name = "store.record_logout_token", skip_all, fields(backend = self.backend.name()))]
    async fn record_logout_token(
        &self,
        key: &str,
        expires_at: std::time::SystemTime,
        _cx: &StoreContext,
    ) -> Result<TokenUse, StoreError> {
        let _timer = self.meters.time(StoreOperation::RecordLogoutToken);
        self.backend.record_logout_token(key, expires_at).await
    }

    #[tracing::instrument(name = "store.forget_logout_token", skip_all, fields(backend = self.backend.name()))]
    async fn forget_logout_token(&self, key: &str, _cx: &StoreContext) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::ForgetLogoutToken);
        self.backend.forget_logout_token(key).await
    }

    fn lists_sessions(&self) -> bool {
        true
    }

    #[tracing::instrument(name = "store.list_sessions", skip_all, fields(backend = self.backend.name()))]
    async fn list_sessions(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        cx: &StoreContext,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let _timer = self.meters.time(StoreOperation::ListSessions);
        self.list_owned(identifier, owner, cx).await
    }

    #[tracing::instrument(name = "store.revoke_sessions", skip_all, fields(backend = self.backend.name()))]
    async fn revoke_sessions(
        &self,
        identifier: &str,
        owner: &SessionOwner,
        which: &RevokeSessions,
        cx: &StoreContext,
    ) -> Result<RevokedSessions, StoreError> {
        let _timer = self.meters.time(StoreOperation::RevokeSessions);
        self.revoke_owned(identifier, owner, which, cx).await
    }
}
