use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth0_store_core::Secrets;
use auth0_store_core::clock::{self, Clock};
use auth0_store_core::model::{LogoutTokenClaims, StateData};
use auth0_store_core::seal::{CookieFormat, CookieSealer};
use auth0_store_core::store::{
    CachedSession, CookieOptions, DEFAULT_READ_CACHE_CAPACITY, MAX_COOKIES_PER_PREFIX, ReadCache,
    ReadCacheStats, RevokeSessions, RevokedSessions, SealedToken, SessionLifetime, SessionOwner,
    SessionSummary, SetCookie, StateStore, StoreContext, StoreError, StoreMeters, StoreOperation,
    StoreSettings, validate_identifier,
};

/// Characters per chunk: with its name and attributes a `Set-Cookie` stays under 4096 bytes.
pub const DEFAULT_CHUNK_SIZE: usize = 3072;
/// The largest sealed session accepted by default: four chunks. Every request carries it,
/// and some proxies refuse request headers over 8 KB: lower it behind such a proxy.
pub const DEFAULT_MAX_SESSION_SIZE: usize = 4 * DEFAULT_CHUNK_SIZE;
/// The smallest chunk size accepted.
const MIN_CHUNK_SIZE: usize = 256;

/// A [`StateStore`] that keeps the whole session, sealed, in the browser's cookies.
///
/// Chunks are named `__Host-{identifier}.{n}` (or `{identifier}.{n}` when the cookie options
/// rule the prefix out, see [`CookieOptions::cookie_name`], or set `host_prefix: false` to
/// share cookies with `auth0-server-python`); reading joins exactly the cookies matching
/// `^(__Host-)?{identifier}\.\d+$` for the one name in use, in order, and refuses a gap; the
/// token is sealed to the plain `{identifier}` either way; every write removes chunks left over
/// from a larger session. Cookies are HttpOnly, Secure (unless configured off for
/// `http://localhost` development), SameSite=Lax and Path=/ by default, and last as long as
/// the session: [`SessionLifetime`] sets both their `Max-Age` and the token's `exp`.
///
/// A browser sends the same cookies with every request until the session changes, so the
/// store keeps the sessions it opened (or sealed) in a bounded [`ReadCache`], keyed by the
/// cookie name and the whole token: a request bringing a token seen before skips the HMAC,
/// the decryption and the JSON parsing, while expiry (the token's `exp` and the session's
/// ceiling, [`SessionLifetime::is_over`]) is still checked on every read.
/// [`with_read_cache`](Self::with_read_cache) sizes it or turns it off.
#[derive(Clone, Debug)]
pub struct CookieStateStore {
    sealer: CookieSealer,
    cookie: CookieOptions,
    lifetime: SessionLifetime,
    clock: Arc<dyn Clock>,
    chunk_size: usize,
    max_size: usize,
    /// Opened sessions by (cookie name, token).
    read_cache: ReadCache<(String, SealedToken)>,
    /// Latency and read-cache metrics (`store="cookie"`).
    meters: StoreMeters,
}

impl CookieStateStore {
    /// A store sealing with `secrets` (newest first) in the rotating layout.
    pub fn new(secrets: Secrets) -> Self {
        Self {
            sealer: CookieSealer::new(secrets),
            cookie: CookieOptions::default(),
            lifetime: SessionLifetime::default(),
            clock: clock::system(),
            chunk_size: DEFAULT_CHUNK_SIZE,
            max_size: DEFAULT_MAX_SESSION_SIZE,
            read_cache: ReadCache::new(DEFAULT_READ_CACHE_CAPACITY),
            meters: StoreMeters::new("cookie"),
        }
    }

    /// A store with a client's settings: its secrets, cookie attributes, session lifetime
    /// and clock. This is the store a client sets up when it is given none.
    ///
    /// ```
    /// use auth0_store_core::Secrets;
    /// use auth0_store_core::store::StoreSettings;
    /// use auth0_store_cookie::CookieStateStore;
    ///
    /// let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap();
    /// let redirect = url::Url::parse("https://app.example.com/callback").unwrap();
    /// let store = CookieStateStore::from_settings(&StoreSettings::for_redirect_uri(secrets, &redirect));
    /// # let _ = store;
    /// ```
    pub fn from_settings(settings: &StoreSettings) -> Self {
        Self::new(settings.secrets.clone())
            .with_cookie_options(settings.cookie_options.clone())
            .with_lifetime(settings.lifetime)
            .with_clock(settings.clock.clone())
    }

    /// Sets how many opened sessions are kept in memory
    /// ([`DEFAULT_READ_CACHE_CAPACITY`]); 0 turns the cache off, so that every read
    /// verifies, decrypts and parses its cookies.
    ///
    /// ```
    /// use auth0_store_core::Secrets;
    /// use auth0_store_cookie::CookieStateStore;
    ///
    /// let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap();
    /// let store = CookieStateStore::new(secrets).with_read_cache(0);
    /// assert_eq!(store.read_cache_stats().entries, 0);
    /// ```
    pub fn with_read_cache(mut self, capacity: usize) -> Self {
        self.read_cache = ReadCache::new(capacity);
        self
    }

    /// How the read cache has done: hits, misses, entries held.
    pub fn read_cache_stats(&self) -> ReadCacheStats {
        self.read_cache.stats()
    }

    /// Writes the layout `auth0-server-python` reads ([`CookieFormat::Python`]), for a
    /// Python service behind the same domain. That layout has no `exp` inside: only the
    /// cookie's `Max-Age` ends it.
    pub fn with_format(mut self, format: CookieFormat) -> Self {
        self.sealer = self.sealer.with_format(format);
        self
    }

    /// Sets the cookies' attributes.
    pub fn with_cookie_options(mut self, options: CookieOptions) -> Self {
        self.cookie = options;
        self
    }

    /// Sets the session lifetime policy.
    pub fn with_lifetime(mut self, lifetime: SessionLifetime) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets the clock (for tests); the sealer's `exp` check uses it too.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.sealer = self.sealer.with_clock(clock.clone());
        self.clock = clock;
        self
    }

    /// Sets the characters per chunk (at least 256).
    pub fn with_chunk_size(mut self, chars: usize) -> Self {
        self.chunk_size = chars.max(MIN_CHUNK_SIZE);
        self
    }

    /// Sets the largest sealed session accepted, in bytes.
    pub fn with_max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// The largest sealed session accepted, in bytes.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The name the chunks of `identifier` start with in the browser: `__Host-{identifier}`
    /// unless the cookie options rule the prefix out ([`CookieOptions::cookie_name`]).
    fn chunk_prefix(&self, identifier: &str) -> String {
        self.cookie.cookie_name(identifier)
    }

    /// The chunk cookies of `identifier` in this request, sorted by index: `(index, name, value)`.
    /// Only the names of [`chunk_prefix`](Self::chunk_prefix) count: with the `__Host-`
    /// prefix, plain `{identifier}.{n}` cookies (which a sibling subdomain can set) are not
    /// read.
    fn chunks(&self, identifier: &str, cx: &StoreContext) -> Vec<(usize, String, String)> {
        let prefix = self.chunk_prefix(identifier);
        let mut chunks: Vec<(usize, String, String)> = cx
            .cookies()
            .into_iter()
            .filter_map(|(name, value)| {
                let index = name.strip_prefix(prefix.as_str())?.strip_prefix('.')?;
                if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) || index.len() > 4
                {
                    return None;
                }
                Some((index.parse().ok()?, name, value))
            })
            .collect();
        chunks.sort_by_key(|(i, _, _)| *i);
        chunks
    }

    fn remove_chunks_from(&self, identifier: &str, first: usize, cx: &StoreContext) {
        for (index, name, _) in self.chunks(identifier, cx) {
            if index >= first {
                cx.remove_cookie(&name, &self.cookie);
            }
        }
    }
}

#[async_trait]
impl StateStore for CookieStateStore {
    #[tracing::instrument(name = "store.set", skip_all, fields(backend = "cookie"))]
    async fn set(
        &self,
        identifier: &str,
        state: &StateData,
        _rotate: bool,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::Set);
        validate_identifier(identifier)?;
        let now = self.clock.unix_seconds();
        let expires_at = self.lifetime.expires_at(state, now);
        if expires_at <= now {
            self.remove_chunks_from(identifier, 0, cx);
            return Err(StoreError::SessionExpired);
        }
        // Every write seals afresh (a new IV), so a login always changes the cookie value.
        let token = self.sealer.seal(identifier, state, expires_at)?;
        // The web layer reads at most MAX_COOKIES_PER_PREFIX cookies of one name: a session
        // in more chunks than that would read as none on the next request.
        let limit = self
            .max_size
            .min(self.chunk_size.saturating_mul(MAX_COOKIES_PER_PREFIX));
        if token.len() > limit {
            return Err(StoreError::TooLarge {
                size: token.len(),
                limit,
            });
        }
        let max_age = Some(Duration::from_secs(expires_at - now));
        if self.read_cache.capacity() > 0 {
            self.read_cache.insert(
                (identifier.to_owned(), SealedToken::new(token.clone())),
                CachedSession {
                    state: Arc::new(state.clone()),
                    expires_at: (self.sealer.format() == CookieFormat::Rotating)
                        .then_some(expires_at),
                },
            );
        }
        let pieces: Vec<&str> = token
            .as_bytes()
            .chunks(self.chunk_size)
            // The token is base64url and dots: ASCII, so byte chunks are char chunks.
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        let prefix = self.chunk_prefix(identifier);
        for (index, piece) in pieces.iter().enumerate() {
            cx.set_cookie(SetCookie::new(
                format!("{prefix}.{index}"),
                *piece,
                max_age,
                &self.cookie,
            ));
        }
        self.remove_chunks_from(identifier, pieces.len(), cx);
        Ok(())
    }

    #[tracing::instrument(name = "store.get", skip_all, fields(backend = "cookie"))]
    async fn get(
        &self,
        identifier: &str,
        cx: &StoreContext,
    ) -> Result<Option<StateData>, StoreError> {
        let _timer = self.meters.time(StoreOperation::Get);
        validate_identifier(identifier)?;
        let chunks = self.chunks(identifier, cx);
        if chunks.is_empty() {
            return Ok(None);
        }
        if chunks
            .iter()
            .enumerate()
            .any(|(expected, (index, _, _))| *index != expected)
        {
            tracing::debug!("session chunks have a gap; no session");
            return Ok(None);
        }
        let token: String = chunks.iter().map(|(_, _, v)| v.as_str()).collect();
        if token.len() > self.max_size.saturating_mul(2) {
            return Ok(None);
        }
        let key = (identifier.to_owned(), SealedToken::new(token));
        let now = self.clock.unix_seconds();
        let cached = self.read_cache.get(&key);
        self.meters.read_cache(cached.is_some());
        if let Some(cached) = cached {
            if cached.expires_at.is_some_and(|exp| exp <= now)
                || self.lifetime.is_over(&cached.state, now)
            {
                self.read_cache.remove(&key);
                return Ok(None);
            }
            return Ok(Some(StateData::clone(&cached.state)));
        }
        match self
            .sealer
            .open_detailed::<StateData>(identifier, key.1.as_str())
        {
            Ok(opened) => {
                // The rotating layout carries its own `exp`; the Python layout none, so the
                // session's ceiling (absolute lifetime, provider's session_expiry) is what
                // ends a copied cookie replayed after its Max-Age.
                if opened.expires_at.is_some_and(|exp| exp <= now)
                    || self.lifetime.is_over(&opened.value, now)
                {
                    return Ok(None);
                }
                self.read_cache.insert(
                    key,
                    CachedSession {
                        state: Arc::new(opened.value.clone()),
                        expires_at: opened.expires_at,
                    },
                );
                Ok(Some(opened.value))
            }
            Err(e) => {
                tracing::debug!(error = %e, "session cookie does not open; no session");
                Ok(None)
            }
        }
    }

    #[tracing::instrument(name = "store.delete", skip_all, fields(backend = "cookie"))]
    async fn delete(&self, identifier: &str, cx: &StoreContext) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::Delete);
        validate_identifier(identifier)?;
        self.remove_chunks_from(identifier, 0, cx);
        Ok(())
    }

    async fn delete_by_logout_token(
        &self,
        _claims: &LogoutTokenClaims,
        _cx: &StoreContext,
    ) -> Result<u64, StoreError> {
        Err(StoreError::Unsupported {
            operation: "back-channel logout",
            store: "cookie",
            hint: "the session lives in the browser's cookies, which the provider's logout \
                   request cannot reach; use the Redis or PostgreSQL store (or memory for one \
                   instance) for back-channel logout",
        })
    }

    async fn list_sessions(
        &self,
        _identifier: &str,
        _owner: &SessionOwner,
        _cx: &StoreContext,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        Err(user_sessions_unsupported("listing a user's sessions"))
    }

    async fn revoke_sessions(
        &self,
        _identifier: &str,
        _owner: &SessionOwner,
        _which: &RevokeSessions,
        _cx: &StoreContext,
    ) -> Result<RevokedSessions, StoreError> {
        Err(user_sessions_unsupported("revoking a user's sessions"))
    }
}

/// Why the cookie store cannot list or revoke a user's sessions.
fn user_sessions_unsupported(operation: &'static str) -> StoreError {
    StoreError::Unsupported {
        operation,
        store: "cookie",
        hint: "each session lives sealed in its own browser's cookies, so the server keeps no \
               list of a user's sessions and cannot end one in another browser; use the Redis \
               or PostgreSQL store (or memory for one instance) to list and revoke sessions",
    }
}
