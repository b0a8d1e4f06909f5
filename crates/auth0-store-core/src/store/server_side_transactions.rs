//! [`ServerSideTransactionStore`]: logins in progress kept by a server-side backend, sealed
//! and bound to the browser that started them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};

use super::{
    CookieOptions, SetCookie, StoreContext, StoreError, StoreMeters, StoreOperation, StoreSettings,
    TransactionStore,
};
use crate::Secrets;
use crate::clock::{self, Clock};
use crate::model::TransactionData;
use crate::seal::{RecordSealer, random_bytes};

/// How long a login may take between the redirect to the provider and the callback: one
/// hour, as long as the cookie transaction store's (an interactive login with a sign-up,
/// an e-mail check or MFA enrolment can take minutes; an abandoned one should not linger).
pub const DEFAULT_TRANSACTION_TTL: Duration = Duration::from_secs(60 * 60);
/// How many logins in progress one browser keeps; past it the oldest is dropped (its
/// cookie and its record), as the cookie transaction store does.
pub const DEFAULT_MAX_TRANSACTIONS_PER_BROWSER: usize = 5;
/// The largest sealed transaction accepted: 64 KiB. A transaction is a few hundred bytes
/// plus the application's `app_state`.
pub const DEFAULT_MAX_TRANSACTION_SIZE: usize = 64 * 1024;
/// Random bytes in a login's browser binding: 256 bits.
const BINDING_BYTES: usize = 32;
/// Prefix of the associated data a transaction is sealed with, before its key, so a sealed
/// transaction never opens as anything else (and a session record never opens as one).
const AAD_PREFIX: &str = "auth0-server transaction:";

/// What a server-side backend (memory, Redis, PostgreSQL, yours) implements to keep logins
/// in progress: opaque sealed bytes under opaque keys, each living for a given time.
///
/// Keys are base64url text of at most 64 bytes, derived by [`ServerSideTransactionStore`]
/// from the login's `state` **and** a random value only the starting browser holds, so the
/// backend never sees anything a callback URL alone could address. Values are sealed and
/// at most the store's size limit. Backends do no sealing, no cookies and no checks of
/// their own.
///
/// ```
/// use std::time::Duration;
/// use auth0_store_core::store::{StoreError, TransactionBackend};
///
/// struct Nowhere;
///
/// #[async_trait::async_trait]
/// impl TransactionBackend for Nowhere {
///     fn name(&self) -> &'static str { "nowhere" }
///     async fn put(&self, _key: &str, _sealed: &[u8], _ttl: Duration) -> Result<(), StoreError> {
///         Ok(())
///     }
///     async fn get(&self, _key: &str) -> Result<Option<Vec<u8>>, StoreError> { Ok(None) }
///     async fn take(&self, _key: &str) -> Result<Option<Vec<u8>>, StoreError> { Ok(None) }
/// }
/// ```
#[async_trait]
pub trait TransactionBackend: Send + Sync + 'static {
    /// The backend's name, for errors and traces (`"redis"`).
    fn name(&self) -> &'static str;

    /// Stores `sealed` under `key` for `ttl`, replacing what was there.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn put(&self, key: &str, sealed: &[u8], ttl: Duration) -> Result<(), StoreError>;

    /// The bytes under `key`, if they have not expired; leaves them in place.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Removes `key` and returns what it held, if it had not expired, in one step: of two
    /// concurrent takes of one key, at most one gets the bytes.
    ///
    /// # Errors
    ///
    /// Backend failures.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

#[async_trait]
impl<T: TransactionBackend + ?Sized> TransactionBackend for Arc<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    async fn put(&self, key: &str, sealed: &[u8], ttl: Duration) -> Result<(), StoreError> {
        (**self).put(key, sealed, ttl).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key).await
    }
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).take(key).await
    }
}

/// Splits a transaction key `"{transaction_identifier}:{state}"`; `None` unless the state
/// is cookie-name safe (letters, digits, `-`, `_`; 1 to 128 bytes), as every state this SDK
/// makes is. A forged `state` in a callback URL fails here without touching a store.
///
/// ```
/// use auth0_store_core::store::split_transaction_key;
/// assert_eq!(split_transaction_key("_a0_tx:abc-1"), Some(("_a0_tx", "abc-1")));
/// assert_eq!(split_transaction_key("_a0_tx:a;b"), None);
/// ```
pub fn split_transaction_key(key: &str) -> Option<(&str, &str)> {
    let (prefix, state) = key.split_once(':')?;
    let safe = !state.is_empty()
        && state.len() <= 128
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    safe.then_some((prefix, state))
}

/// One login's cookie in this browser: `{transaction_identifier}_{state}` (with `__Host-`
/// when the cookie options allow, see [`CookieOptions::cookie_name`]). The cookie
/// transaction store keeps the sealed transaction in it; [`ServerSideTransactionStore`] the
/// random value the record's key is derived from.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginCookie {
    /// The cookie's name in the browser.
    pub name: String,
    /// The transaction key, `"{transaction_identifier}:{state}"`.
    pub key: String,
    /// The cookie's value.
    pub value: String,
}

impl fmt::Debug for LoginCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginCookie")
            .field("name", &self.name)
            .field("value", &format_args!("[{} bytes]", self.value.len()))
            .finish()
    }
}

impl LoginCookie {
    /// The browser's name of the cookie of the login `key`, with the key's parts.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidIdentifier`] when the key's state is not cookie-name safe (see
    /// [`split_transaction_key`]) or the name is not a cookie name.
    ///
    /// ```
    /// use auth0_store_core::store::{CookieOptions, LoginCookie};
    /// let (identifier, state, name) = LoginCookie::name_of("_a0_tx:s1", &CookieOptions::default())?;
    /// assert_eq!((identifier, state, name.as_str()), ("_a0_tx", "s1", "__Host-_a0_tx_s1"));
    /// # Ok::<(), auth0_store_core::store::StoreError>(())
    /// ```
    pub fn name_of<'k>(
        key: &'k str,
        options: &CookieOptions,
    ) -> Result<(&'k str, &'k str, String), StoreError> {
        let (identifier, state) =
            split_transaction_key(key).ok_or_else(|| StoreError::InvalidIdentifier {
                identifier: key.to_owned(),
            })?;
        let name = options.cookie_name(&format!("{identifier}_{state}"));
        super::validate_identifier(&name)?;
        Ok((identifier, state, name))
    }

    /// This browser's login cookies under `identifier` (as changed in this request), in the
    /// order the browser sent them. Only names with a cookie-name safe state count.
    pub fn all_in(identifier: &str, options: &CookieOptions, cx: &StoreContext) -> Vec<Self> {
        let prefix = options.cookie_name(&format!("{identifier}_"));
        cx.cookies()
            .into_iter()
            .filter_map(|(name, value)| {
                let key = format!("{identifier}:{}", name.strip_prefix(&prefix)?);
                split_transaction_key(&key)?;
                Some(Self { name, key, value })
            })
            .collect()
    }

    /// The login's `state`.
    pub fn state(&self) -> &str {
        self.key.split_once(':').map_or("", |(_, state)| state)
    }
}

/// A [`TransactionStore`] over any [`TransactionBackend`]: what the memory, Redis and
/// PostgreSQL transaction stores are.
///
/// It owns everything but the storage:
/// - **browser binding**: each login gets a random value in an HttpOnly cookie
///   (`{transaction_identifier}_{state}`, `__Host-` prefixed when the cookie options allow),
///   and the record's backend key is derived from the `state` *and* that value. A callback
///   opened in another browser — the login CSRF where an attacker sends a victim the
///   callback URL of the attacker's own login — finds nothing: no session, no code redeemed,
///   and the login it names stays where it was;
/// - **sealing**: records are XChaCha20-Poly1305 boxes bound to their key (they hold the
///   PKCE verifier and the nonce), so reading the backend is not enough to complete a login;
/// - **bounds**: a size limit, a lifetime ([`DEFAULT_TRANSACTION_TTL`]), and at most
///   [`DEFAULT_MAX_TRANSACTIONS_PER_BROWSER`] logins in progress per browser;
/// - **one use**: a transaction is taken atomically, and a successful login removes the
///   cookies of the browser's other logins in progress (their records, unreachable without
///   them, expire; the backend is never called once per cookie a request carries).
///
/// ```
/// # use std::time::Duration;
/// # use auth0_store_core::store::*;
/// # use auth0_store_core::Secrets;
/// # fn demo(backend: impl TransactionBackend) -> Result<(), Box<dyn std::error::Error>> {
/// let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?;
/// let transactions = ServerSideTransactionStore::new(backend, &secrets)
///     .with_ttl(Duration::from_secs(15 * 60))
///     .with_cookie_options(CookieOptions { secure: false, ..CookieOptions::default() });
/// # Ok(()) }
/// ```
pub struct ServerSideTransactionStore<B> {
    backend: Arc<B>,
    sealer: RecordSealer,
    cookie: CookieOptions,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    max_size: usize,
    max_per_browser: usize,
    /// Latency metrics, labelled with the backend's name.
    meters: StoreMeters,
}

impl<B> Clone for ServerSideTransactionStore<B> {
    fn clone(&self) -> Self {
        Self {
            backend: self.backend.clone(),
            sealer: self.sealer.clone(),
            cookie: self.cookie.clone(),
            clock: self.clock.clone(),
            ttl: self.ttl,
            max_size: self.max_size,
            max_per_browser: self.max_per_browser,
            meters: self.meters.clone(),
        }
    }
}

impl<B: TransactionBackend> fmt::Debug for ServerSideTransactionStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSideTransactionStore")
            .field("backend", &self.backend.name())
            .field("cookie", &self.cookie)
            .field("ttl", &self.ttl)
            .field("max_size", &self.max_size)
            .field("max_per_browser", &self.max_per_browser)
            .finish_non_exhaustive()
    }
}

/// When a binding value was issued (unix milliseconds, its first part), 0 when it is not
/// one of ours: such cookies are dropped first.
fn issued_at(binding: &str) -> u128 {
    binding
        .split_once('.')
        .and_then(|(millis, _)| millis.parse().ok())
        .unwrap_or(0)
}

impl<B: TransactionBackend> ServerSideTransactionStore<B> {
    /// A store over `backend`, sealing with `secrets` (newest first).
    pub fn new(backend: B, secrets: &Secrets) -> Self {
        Self::from_shared(Arc::new(backend), secrets)
    }

    /// A store over `backend` with a client's settings: its secrets, the login-cookie form
    /// of its cookie attributes ([`CookieOptions::for_logins`]) and its clock. This is how a
    /// client sets up the transaction backend an app gives it.
    pub fn from_settings(backend: Arc<B>, settings: &StoreSettings) -> Self {
        Self::from_shared(backend, &settings.secrets)
            .with_cookie_options(settings.cookie_options.clone())
            .with_clock(settings.clock.clone())
    }

    /// Like [`new`](Self::new), for a backend that is shared with other code.
    pub fn from_shared(backend: Arc<B>, secrets: &Secrets) -> Self {
        let meters = StoreMeters::new(backend.name());
        Self {
            backend,
            sealer: RecordSealer::new(secrets),
            cookie: CookieOptions::default(),
            clock: clock::system(),
            ttl: DEFAULT_TRANSACTION_TTL,
            max_size: DEFAULT_MAX_TRANSACTION_SIZE,
            max_per_browser: DEFAULT_MAX_TRANSACTIONS_PER_BROWSER,
            meters,
        }
    }

    /// Sets the binding cookies' attributes (use the session cookies' options; `Strict`
    /// becomes `Lax`, see [`CookieOptions::for_logins`]).
    pub fn with_cookie_options(mut self, options: CookieOptions) -> Self {
        self.cookie = options.for_logins();
        self
    }

    /// Sets how long a login may take (default [`DEFAULT_TRANSACTION_TTL`]); also the
    /// binding cookie's `Max-Age`. At least one second.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Sets the largest sealed transaction accepted, in bytes (default
    /// [`DEFAULT_MAX_TRANSACTION_SIZE`]).
    pub fn with_max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// Sets how many logins in progress one browser keeps (default
    /// [`DEFAULT_MAX_TRANSACTIONS_PER_BROWSER`], at least one).
    pub fn with_max_per_browser(mut self, max: usize) -> Self {
        self.max_per_browser = max.max(1);
        self
    }

    /// Sets the clock the binding cookies' issue times are read from (for tests; the
    /// backend keeps its own clock for expiry).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend key of the login `state` of `identifier` bound to `binding`: a hash, so
    /// neither the state nor the binding is stored in clear.
    fn backend_key(identifier: &str, state: &str, binding: &str) -> String {
        let mut hash = Sha256::new();
        for part in [identifier, state, binding] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        B64.encode(hash.finalize())
    }

    fn aad(backend_key: &str) -> Vec<u8> {
        format!("{AAD_PREFIX}{backend_key}").into_bytes()
    }

    /// Drops this browser's oldest logins so that one more fits under the bound: their
    /// cookies only. A record whose cookie is gone can never be reached again and expires
    /// with its lifetime; removing it here would let one request with many forged login
    /// cookies cost as many backend calls.
    fn make_room(&self, identifier: &str, cookie_name: &str, cx: &StoreContext) {
        let mut others: Vec<LoginCookie> = LoginCookie::all_in(identifier, &self.cookie, cx)
            .into_iter()
            .filter(|login| login.name != cookie_name)
            .collect();
        others.sort_by_key(|login| issued_at(&login.value));
        let excess = (others.len() + 1).saturating_sub(self.max_per_browser);
        for old in others.iter().take(excess) {
            cx.remove_cookie(&old.name, &self.cookie);
        }
    }

    fn open(&self, key: &str, sealed: &[u8]) -> Option<TransactionData> {
        let json = match self.sealer.open(&Self::aad(key), sealed) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(error = %e, "transaction does not open; treated as absent");
                return None;
            }
        };
        serde_json::from_slice(&json)
            .inspect_err(|e| {
                tracing::warn!(error = %e, "transaction is not a transaction; treated as absent")
            })
            .ok()
    }

    /// Reads this browser's login `key`; with `take`, removes it (record and cookie) too.
    async fn read(
        &self,
        key: &str,
        cx: &StoreContext,
        take: bool,
    ) -> Result<Option<TransactionData>, StoreError> {
        let Ok((identifier, state, cookie_name)) = LoginCookie::name_of(key, &self.cookie) else {
            return Ok(None);
        };
        let Some(binding) = cx.cookie(&cookie_name) else {
            return Ok(None);
        };
        let backend_key = Self::backend_key(identifier, state, &binding);
        let sealed = if take {
            let sealed = self.backend.take(&backend_key).await?;
            cx.remove_cookie(&cookie_name, &self.cookie);
            sealed
        } else {
            self.backend.get(&backend_key).await?
        };
        Ok(sealed.and_then(|s| self.open(&backend_key, &s)))
    }
}

#[async_trait]
impl<B: TransactionBackend> TransactionStore for ServerSideTransactionStore<B> {
    #[tracing::instrument(name = "store.transaction.set", skip_all, fields(backend = self.backend.name()))]
    async fn set(
        &self,
        key: &str,
        transaction: &TransactionData,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionSet);
        let (identifier, state, cookie_name) = LoginCookie::name_of(key, &self.cookie)?;
        let issued_at = self
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let binding = format!(
            "{issued_at}.{}",
            B64.encode(random_bytes::<BINDING_BYTES>())
        );
        let backend_key = Self::backend_key(identifier, state, &binding);
        let json = serde_json::to_vec(transaction)?;
        let sealed = self.sealer.seal(&Self::aad(&backend_key), &json)?;
        if sealed.len() > self.max_size {
            return Err(StoreError::TooLarge {
                size: sealed.len(),
                limit: self.max_size,
            });
        }
        self.backend.put(&backend_key, &sealed, self.ttl).await?;
        self.make_room(identifier, &cookie_name, cx);
        cx.set_cookie(SetCookie::new(
            cookie_name,
            binding,
            Some(self.ttl),
            &self.cookie,
        ));
        Ok(())
    }

    #[tracing::instrument(name = "store.transaction.get", skip_all, fields(backend = self.backend.name()))]
    async fn get(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionGet);
        self.read(key, cx, false).await
    }

    #[tracing::instrument(name = "store.transaction.take", skip_all, fields(backend = self.backend.name()))]
    async fn take(
        &self,
        key: &str,
        cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionTake);
        self.read(key, cx, true).await
    }

    #[tracing::instrument(name = "store.transaction.delete", skip_all, fields(backend = self.backend.name()))]
    async fn delete(&self, key: &str, cx: &StoreContext) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionDelete);
        self.read(key, cx, true).await.map(|_| ())
    }

    #[tracing::instrument(name = "store.transaction.clear", skip_all, fields(backend = self.backend.name()))]
    async fn clear(
        &self,
        transaction_identifier: &str,
        cx: &StoreContext,
    ) -> Result<(), StoreError> {
        let _timer = self.meters.time(StoreOperation::TransactionClear);
        // Cookies only (see make_room): the records cannot be reached without them.
        for login in LoginCookie::all_in(transaction_identifier, &self.cookie, cx) {
            cx.remove_cookie(&login.name, &self.cookie);
        }
        Ok(())
    }
}
