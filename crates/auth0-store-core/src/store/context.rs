//! The per-request view a store has of the browser: cookies in, `Set-Cookie` out.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http::HeaderMap;
use memchr::memmem;
use url::Url;

use super::StoreError;

/// The `SameSite` attribute of a cookie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites (the login redirect back from Auth0 is
    /// one), not on cross-site sub-requests. The default.
    #[default]
    Lax,
    /// Never sent cross-site; breaks the callback from Auth0 for the session cookie's first
    /// read, so use it only for cookies that do not need it.
    Strict,
    /// Always sent; requires `Secure`.
    None,
}

impl SameSite {
    /// The attribute's value as written in `Set-Cookie`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

/// The attributes of the cookies a store writes. `HttpOnly` is always set.
///
/// ```
/// use auth0_store_core::store::CookieOptions;
/// let options = CookieOptions::default();
/// assert!(options.secure);
/// assert_eq!(options.path, "/");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieOptions {
    /// Send only over HTTPS. On by default; turn it off only for `http://localhost` development.
    pub secure: bool,
    /// The `SameSite` attribute (Lax by default).
    pub same_site: SameSite,
    /// The `Path` attribute (`/` by default).
    pub path: String,
    /// The `Domain` attribute (none by default: the cookie stays on the exact host).
    pub domain: Option<String>,
    /// Whether cookie names get the `__Host-` prefix when the browser would accept it
    /// (`Secure`, `Path=/`, no `Domain`): on by default, so a sibling subdomain cannot plant
    /// a session or login cookie of its own ("cookie tossing"). Turn it off only to share
    /// cookies with a service that uses the plain names (`auth0-server-python`'s
    /// `_a0_session`). See [`cookie_name`](Self::cookie_name).
    pub host_prefix: bool,
}

impl CookieOptions {
    /// The defaults for an app whose callback is `redirect_uri`: `Secure` stays on unless
    /// the app itself runs on plain `http` on this machine (`localhost`, `127.0.0.1`, `::1`),
    /// where a browser would not send a `Secure` cookie back.
    ///
    /// ```
    /// use auth0_store_core::store::CookieOptions;
    /// let local = url::Url::parse("http://localhost:5000/callback").unwrap();
    /// assert!(!CookieOptions::for_redirect_uri(&local).secure);
    /// let public = url::Url::parse("http://app.example.com/callback").unwrap();
    /// assert!(CookieOptions::for_redirect_uri(&public).secure, "never off for a real host");
    /// ```
    pub fn for_redirect_uri(redirect_uri: &Url) -> Self {
        let local_http =
            redirect_uri.scheme() == "http" && redirect_uri.host().is_some_and(|h| is_loopback(&h));
        Self {
            secure: !local_http,
            ..Self::default()
        }
    }
}

/// The cookie-name prefix browsers accept only from the exact host, over HTTPS, with
/// `Path=/` and no `Domain`: a cookie of that name cannot be set by a sibling subdomain or
/// a plain-http page.
pub const HOST_PREFIX: &str = "__Host-";

impl CookieOptions {
    /// These attributes for a login's cookies (the transaction stores'): the same, but
    /// `SameSite=Lax` where the session cookies are `Strict`, because a login cookie must
    /// come back with the provider's cross-site redirect to the callback.
    ///
    /// ```
    /// use auth0_store_core::store::{CookieOptions, SameSite};
    /// let strict = CookieOptions { same_site: SameSite::Strict, ..CookieOptions::default() };
    /// assert_eq!(strict.for_logins().same_site, SameSite::Lax);
    /// ```
    pub fn for_logins(mut self) -> Self {
        if self.same_site == SameSite::Strict {
            self.same_site = SameSite::Lax;
        }
        self
    }

    /// Whether these attributes allow the `__Host-` prefix and it is wanted.
    pub fn uses_host_prefix(&self) -> bool {
        self.host_prefix && self.secure && self.path == "/" && self.domain.is_none()
    }

    /// The name a cookie of this SDK called `name` (`_a0_session`, `_a0_session.1`,
    /// `_a0_tx_{state}`) has in the browser: `__Host-{name}` when
    /// [`uses_host_prefix`](Self::uses_host_prefix), else `name` itself.
    ///
    /// ```
    /// use auth0_store_core::store::CookieOptions;
    /// let secure = CookieOptions::default();
    /// assert_eq!(secure.cookie_name("_a0_session"), "__Host-_a0_session");
    /// let plain = CookieOptions { secure: false, ..CookieOptions::default() };
    /// assert_eq!(plain.cookie_name("_a0_session"), "_a0_session", "no prefix without Secure");
    /// let python = CookieOptions { host_prefix: false, ..CookieOptions::default() };
    /// assert_eq!(python.cookie_name("_a0_session"), "_a0_session");
    /// ```
    pub fn cookie_name(&self, name: &str) -> String {
        if self.uses_host_prefix() {
            format!("{HOST_PREFIX}{name}")
        } else {
            name.to_owned()
        }
    }
}

impl Default for CookieOptions {
    fn default() -> Self {
        Self {
            secure: true,
            same_site: SameSite::Lax,
            path: "/".to_owned(),
            domain: None,
            host_prefix: true,
        }
    }
}

/// One `Set-Cookie` to send back to the browser.
#[derive(Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// The cookie's name.
    pub name: String,
    /// Its value (empty for a removal).
    pub value: String,
    /// `Max-Age`: `None` for a cookie that lasts the browser session, zero to remove it.
    pub max_age: Option<Duration>,
    /// The other attributes.
    pub options: CookieOptions,
}

impl fmt::Debug for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetCookie")
            .field("name", &self.name)
            .field("value", &format_args!("[{} bytes]", self.value.len()))
            .field("max_age", &self.max_age)
            .field("options", &self.options)
            .finish()
    }
}

impl SetCookie {
    /// A cookie to set.
    pub fn new(
        name: impl Into<String>,
        value: impl Into<String>,
        max_age: Option<Duration>,
        options: &CookieOptions,
    ) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            max_age,
            options: options.clone(),
        }
    }

    /// A cookie that removes `name` from the browser (empty value, `Max-Age=0`). It must carry
    /// the same `Path` and `Domain` as the cookie it removes.
    pub fn removal(name: impl Into<String>, options: &CookieOptions) -> Self {
        Self::new(name, "", Some(Duration::ZERO), options)
    }

    /// Whether this removes the cookie.
    pub fn is_removal(&self) -> bool {
        self.max_age == Some(Duration::ZERO)
    }

    /// The `Set-Cookie` header value, written by the `cookie` crate.
    ///
    /// ```
    /// use auth0_store_core::store::{CookieOptions, SetCookie};
    /// use std::time::Duration;
    /// let c = SetCookie::new("_a0_session", "abc", Some(Duration::from_secs(60)), &CookieOptions::default());
    /// assert_eq!(c.to_header_value(), "_a0_session=abc; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60");
    /// ```
    pub fn to_header_value(&self) -> String {
        let same_site = match self.options.same_site {
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::None => cookie::SameSite::None,
        };
        let mut builder = cookie::Cookie::build((self.name.as_str(), self.value.as_str()))
            .http_only(true)
            .same_site(same_site)
            .secure(self.options.secure)
            .path(self.options.path.as_str());
        if let Some(domain) = &self.options.domain {
            builder = builder.domain(domain.as_str());
        }
        if let Some(max_age) = self.max_age {
            let seconds = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            builder = builder.max_age(cookie::time::Duration::seconds(seconds));
        }
        builder.build().to_string()
    }
}

/// The version of a server-side session read in this request, for compare-and-set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadVersion {
    /// The session id that was read.
    pub session_id: String,
    /// Its version at that time.
    pub version: u64,
}

/// How many cookies of one owned name prefix a request brings in at most
/// ([`StoreContext::from_headers_owned`]): the first 32 pairs in the header are read (a
/// repeated or unparseable pair counts too), the rest are ignored. A session takes one cookie (server-side stores) or a few chunks (the cookie
/// store, four by default), a browser keeps five logins in progress, so 32 leaves room
/// while an attacker's header of 60,000 `__Host-_a0_tx_…` cookies costs at most 32 attempts
/// to open one.
pub const MAX_COOKIES_PER_PREFIX: usize = 32;

/// The cookie names this SDK owns in a request: the names starting with one of its prefixes
/// (a client's `state_identifier` and `transaction_identifier`, each with and without
/// [`HOST_PREFIX`]). [`StoreContext::from_headers_owned`] materialises only those: it looks
/// for the prefixes in the header's bytes (a vectorised substring search) and reads only the
/// pairs that start with one, so the rest of a Cookie header (the app's own cookies,
/// analytics, an attacker's thousands) is scanned and nothing more.
///
/// Build it once (an integration does so when it is created) and use it for every request.
///
/// ```
/// use auth0_store_core::store::OwnedCookies;
/// let owned = OwnedCookies::new().with_identifier("_a0_session").with_identifier("_a0_tx");
/// assert!(owned.owns("__Host-_a0_session.0"));
/// assert!(owned.owns("_a0_tx_abc"));
/// assert!(!owned.owns("pref"));
/// ```
#[derive(Clone, Default)]
pub struct OwnedCookies {
    /// Longest first, so a name counts against the most specific prefix it has.
    prefixes: Vec<String>,
    /// What is searched for in a header: one searcher per prefix, except that `__Host-{p}`
    /// is found by the searcher of `p` when `p` is owned too.
    searches: Vec<Search>,
}

/// One substring search of [`OwnedCookies`] and the prefixes it finds.
#[derive(Clone)]
struct Search {
    base: String,
    finder: memmem::Finder<'static>,
    /// Indexes into `prefixes`: `base` itself and/or `__Host-{base}`.
    covers: Vec<usize>,
}

impl fmt::Debug for OwnedCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedCookies")
            .field("prefixes", &self.prefixes)
            .finish()
    }
}

impl PartialEq for OwnedCookies {
    fn eq(&self, other: &Self) -> bool {
        self.prefixes == other.prefixes
    }
}

impl Eq for OwnedCookies {}

impl OwnedCookies {
    /// Owns no cookie yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also owns the cookies a store names from `identifier`: `identifier…` and
    /// `__Host-identifier…` (see [`CookieOptions::cookie_name`]).
    pub fn with_identifier(self, identifier: &str) -> Self {
        self.with_prefix(identifier)
            .with_prefix(&format!("{HOST_PREFIX}{identifier}"))
    }

    /// Also owns the cookies whose names start with `prefix` (exactly). A prefix that could
    /// not begin a cookie name of this SDK (empty, or with characters other than letters,
    /// digits, `_`, `-` and `.`) is ignored.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        let usable = !prefix.is_empty()
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if usable && !self.prefixes.iter().any(|p| p == prefix) {
            self.prefixes.push(prefix.to_owned());
            self.prefixes
                .sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            self.searches = Vec::new();
            for (i, prefix) in self.prefixes.iter().enumerate() {
                let base = prefix
                    .strip_prefix(HOST_PREFIX)
                    .filter(|plain| self.prefixes.iter().any(|p| p == plain))
                    .unwrap_or(prefix);
                match self.searches.iter_mut().find(|s| s.base == base) {
                    Some(search) => search.covers.push(i),
                    None => self.searches.push(Search {
                        base: base.to_owned(),
                        finder: memmem::Finder::new(base.as_bytes()).into_owned(),
                        covers: vec![i],
                    }),
                }
            }
        }
        self
    }

    /// The owned prefixes, longest first.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// Whether a cookie called `name` is owned.
    pub fn owns(&self, name: &str) -> bool {
        self.prefix_of(name.as_bytes()).is_some()
    }

    /// The index of the prefix `name` starts with, if any.
    fn prefix_of(&self, name: &[u8]) -> Option<usize> {
        self.prefixes
            .iter()
            .position(|p| name.starts_with(p.as_bytes()))
    }
}

/// What a store sees of one request and may change in its response.
///
/// It holds the cookies the browser sent and the `Set-Cookie` changes made so far, and
/// [`cookie`](Self::cookie) answers from both, so a session written earlier in a request is
/// what a later read in the same request sees. The web framework integration builds one per
/// request ([`from_headers_owned`](Self::from_headers_owned)) and writes
/// [`take_changes`](Self::take_changes) onto the response; tests use a simulated browser jar.
/// Clones share the same state, so one can be kept by the framework and another handed to the
/// application.
///
/// # How the Cookie header is read
///
/// The request's Cookie headers are treated as hostile:
///
/// - they are read as bytes and split on `;`; each pair is decoded as UTF-8 and parsed by the
///   [`cookie`] crate on its own, so a malformed pair or one with bytes that are not UTF-8
///   (`pref=José` sent raw) is skipped without dropping the others;
/// - the work is linear in the header's size, whatever it holds;
/// - [`from_headers_owned`](Self::from_headers_owned) keeps only the cookies of this SDK
///   ([`OwnedCookies`]), at most [`MAX_COOKIES_PER_PREFIX`] per prefix (the first ones win),
///   and looks only at the pairs that start with an owned prefix (found by a vectorised
///   substring search), so the rest of the header is scanned, never split or parsed;
/// - **duplicate names: the first one wins.** Browsers send the cookie with the most specific
///   path first, and a cookie set by a sibling subdomain for the parent domain cannot take
///   the place of the host's own (it is a different name when the host's cookies carry the
///   `__Host-` prefix, see [`CookieOptions::host_prefix`]);
/// - values lose one pair of surrounding double quotes (`"abc"` reads `abc`); nothing is
///   percent-decoded.
///
/// ```
/// use auth0_store_core::store::{CookieOptions, SetCookie, StoreContext};
///
/// let cx = StoreContext::from_cookie_header("a=1; _a0_session=abc");
/// assert_eq!(cx.cookie("_a0_session").as_deref(), Some("abc"));
/// cx.set_cookie(SetCookie::removal("_a0_session", &CookieOptions::default()));
/// assert_eq!(cx.cookie("_a0_session"), None);
/// assert_eq!(cx.take_changes().len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct StoreContext {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    request_cookies: RequestCookies,
    changes: Vec<SetCookie>,
    url: Option<Url>,
    headers: HeaderMap,
    versions: HashMap<String, ReadVersion>,
}

/// The cookies a request brought, each name once (the first one wins), in header order.
#[derive(Default)]
struct RequestCookies {
    pairs: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl RequestCookies {
    /// Adds a cookie unless one of that name came earlier; returns whether it was added.
    fn insert(&mut self, name: String, value: String) -> bool {
        if self.index.contains_key(&name) {
            return false;
        }
        self.index.insert(name.clone(), self.pairs.len());
        self.pairs.push((name, value));
        true
    }

    fn get(&self, name: &str) -> Option<&str> {
        let i = *self.index.get(name)?;
        self.pairs.get(i).map(|(_, v)| v.as_str())
    }

    fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Reads every cookie of one Cookie header's bytes: each `;`-separated pair on its own.
    fn read_header(&mut self, header: &[u8]) {
        for piece in header.split(|b| *b == b';') {
            self.read_pair(piece.trim_ascii_start());
        }
    }

    /// Reads the cookies `owned` names from one Cookie header's bytes, at most
    /// [`MAX_COOKIES_PER_PREFIX`] per prefix (`counts`, one per prefix, carries over from
    /// earlier headers of the request), the first ones in the header winning.
    ///
    /// Rather than splitting the whole header, it looks for the prefixes with a vectorised
    /// substring search (`_a0_tx` finds `__Host-_a0_tx` too) and reads only the pairs that
    /// start where one was found, in header order; the pairs are the same as
    /// [`read_header`](Self::read_header)'s. Each search finds a position at most once and
    /// each step does a bounded amount of work besides the pair it reads, so the time is
    /// linear in the header's size. A search stops once every prefix it finds is full.
    fn read_owned(&mut self, header: &[u8], owned: &OwnedCookies, counts: &mut [usize]) {
        let full =
            |counts: &[usize], i: usize| counts.get(i).is_none_or(|n| *n >= MAX_COOKIES_PER_PREFIX);
        let mut hits: Vec<_> = owned
            .searches
            .iter()
            .map(|search| search.finder.find_iter(header).peekable())
            .collect();
        loop {
            // The earliest hit of a search that may still take cookies.
            let mut next: Option<(usize, usize)> = None;
            for (k, (search, found)) in owned.searches.iter().zip(hits.iter_mut()).enumerate() {
                if search.covers.iter().all(|i| full(counts, *i)) {
                    continue;
                }
                if let Some(&at) = found.peek()
                    && next.is_none_or(|(best, _)| at < best)
                {
                    next = Some((at, k));
                }
            }
            let Some((at, k)) = next else {
                break;
            };
            let (Some(found), Some(search)) = (hits.get_mut(k), owned.searches.get(k)) else {
                break;
            };
            found.next();
            let host = at
                .checked_sub(HOST_PREFIX.len())
                .filter(|start| header.get(*start..at) == Some(HOST_PREFIX.as_bytes()));
            let start = host.unwrap_or(at);
            // A pair starts at the header's start or after `;` and blanks; elsewhere the
            // prefix is inside another cookie's name or value.
            let before = header.get(..start).unwrap_or_default().trim_ascii_end();
            if !(before.is_empty() || before.ends_with(b";")) {
                continue;
            }
            let rest = header.get(start..).unwrap_or_default();
            // The name counts against its longest owned prefix, if this search finds it.
            let Some(i) = owned
                .prefix_of(rest)
                .filter(|i| search.covers.contains(i) && !full(counts, *i))
            else {
                continue;
            };
            let piece = rest
                .get(..memchr::memchr(b';', rest).unwrap_or(rest.len()))
                .unwrap_or_default();
            // Every candidate counts, kept or not: repeated or unparseable pairs of an owned
            // name use up the prefix's allowance as new ones do.
            self.read_pair(piece);
            if let Some(n) = counts.get_mut(i) {
                *n += 1;
            }
        }
    }

    /// Parses one `name=value` pair; returns whether a new cookie was kept.
    fn read_pair(&mut self, piece: &[u8]) -> bool {
        let Ok(piece) = std::str::from_utf8(piece) else {
            return false;
        };
        // A pair of the Cookie header carries no attributes, so `;` never reaches here.
        match cookie::Cookie::parse(piece) {
            Ok(c) => self.insert(c.name().to_owned(), c.value_trimmed().to_owned()),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for StoreContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("StoreContext")
            .field(
                "request_cookies",
                &inner
                    .request_cookies
                    .pairs
                    .iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
            .field("changes", &inner.changes)
            .field("url", &inner.url.as_ref().map(Url::path))
            .finish_non_exhaustive()
    }
}

impl StoreContext {
    /// An empty context: no cookies, no URL, no headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context from the request's headers, keeping only the cookies `owned` names (at
    /// most [`MAX_COOKIES_PER_PREFIX`] per prefix, the first ones in the header): what a
    /// framework integration uses for every request. See [the type's docs](Self) for how the
    /// header is read.
    ///
    /// ```
    /// use auth0_store_core::store::{OwnedCookies, StoreContext};
    /// use http::{HeaderMap, HeaderValue, header::COOKIE};
    ///
    /// let mut headers = HeaderMap::new();
    /// let raw = b"pref=Jos\xc3\xa9; __Host-_a0_session=abc; theme=dark";
    /// headers.insert(COOKIE, HeaderValue::from_bytes(raw).unwrap());
    /// let owned = OwnedCookies::new().with_identifier("_a0_session");
    /// let cx = StoreContext::from_headers_owned(&headers, &owned);
    /// assert_eq!(cx.cookie("__Host-_a0_session").as_deref(), Some("abc"));
    /// assert_eq!(cx.cookie("theme"), None, "not ours: not kept");
    /// ```
    pub fn from_headers_owned(headers: &HeaderMap, owned: &OwnedCookies) -> Self {
        let cx = Self::new();
        {
            let mut inner = cx.lock();
            let mut counts = vec![0; owned.prefixes.len()];
            for value in headers.get_all(http::header::COOKIE) {
                inner
                    .request_cookies
                    .read_owned(value.as_bytes(), owned, &mut counts);
            }
            inner.headers = headers.clone();
        }
        cx
    }

    /// A context from the request's headers with every cookie of its `Cookie` headers (read
    /// as [described](Self), without an owner filter or a cap). Integrations use
    /// [`from_headers_owned`](Self::from_headers_owned).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let cx = Self::new();
        {
            let mut inner = cx.lock();
            for value in headers.get_all(http::header::COOKIE) {
                inner.request_cookies.read_header(value.as_bytes());
            }
            inner.headers = headers.clone();
        }
        cx
    }

    /// A context from one `Cookie` header value (every cookie in it; for tests and tools).
    pub fn from_cookie_header(header: &str) -> Self {
        let cx = Self::new();
        cx.lock().request_cookies.read_header(header.as_bytes());
        cx
    }

    /// A context from cookies given as name/value pairs (the first of a name wins).
    pub fn from_cookies<I, N, V>(cookies: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let cx = Self::new();
        {
            let mut inner = cx.lock();
            for (name, value) in cookies {
                inner.request_cookies.insert(name.into(), value.into());
            }
        }
        cx
    }

    /// The same context with the request's URL.
    pub fn with_url(self, url: Url) -> Self {
        self.lock().url = Some(url);
        self
    }

    /// The request's URL, if the integration gave one.
    pub fn url(&self) -> Option<Url> {
        self.lock().url.clone()
    }

    /// The request's headers (empty if the integration gave none).
    pub fn headers(&self) -> HeaderMap {
        self.lock().headers.clone()
    }

    /// The cookie's current value: as changed in this request, else as the browser sent it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let inner = self.lock();
        if let Some(change) = inner.changes.iter().rev().find(|c| c.name == name) {
            return (!change.is_removal()).then(|| change.value.clone());
        }
        inner.request_cookies.get(name).map(str::to_owned)
    }

    /// Every cookie as it currently stands (request cookies with this request's changes
    /// applied), in the order the browser sent them followed by new ones.
    pub fn cookies(&self) -> Vec<(String, String)> {
        let inner = self.lock();
        // `set_cookie` keeps one change per name.
        let changed: HashSet<&str> = inner.changes.iter().map(|c| c.name.as_str()).collect();
        inner
            .request_cookies
            .pairs
            .iter()
            .filter(|(name, _)| !changed.contains(name.as_str()))
            .cloned()
            .chain(
                inner
                    .changes
                    .iter()
                    .filter(|c| !c.is_removal())
                    .map(|c| (c.name.clone(), c.value.clone())),
            )
            .collect()
    }

    /// Adds a `Set-Cookie` to the response, replacing an earlier change of the same cookie.
    pub fn set_cookie(&self, cookie: SetCookie) {
        let mut inner = self.lock();
        inner.changes.retain(|c| c.name != cookie.name);
        inner.changes.push(cookie);
    }

    /// Removes the cookie from the browser, if it has it or this request set it.
    pub fn remove_cookie(&self, name: &str, options: &CookieOptions) {
        let sent = self.lock().request_cookies.contains(name);
        if sent {
            self.set_cookie(SetCookie::removal(name, options));
        } else {
            self.lock().changes.retain(|c| c.name != name);
        }
    }

    /// The `Set-Cookie` changes made so far, leaving them in place.
    pub fn changes(&self) -> Vec<SetCookie> {
        self.lock().changes.clone()
    }

    /// Takes the `Set-Cookie` changes to write onto the response.
    pub fn take_changes(&self) -> Vec<SetCookie> {
        std::mem::take(&mut self.lock().changes)
    }

    /// The version of the session read under `identifier` in this request, if any.
    pub fn read_version(&self, identifier: &str) -> Option<ReadVersion> {
        self.lock().versions.get(identifier).cloned()
    }

    /// Notes the version of the session read or written under `identifier`.
    pub fn set_read_version(&self, identifier: &str, version: ReadVersion) {
        self.lock().versions.insert(identifier.to_owned(), version);
    }

    /// Forgets the version noted under `identifier`.
    pub fn clear_read_version(&self, identifier: &str) {
        self.lock().versions.remove(identifier);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The lock is never held across an await or a call out, so it cannot be poisoned
        // by anything but a panic inside this module; recover the data if it ever is.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks that `identifier` can be a cookie name (letters, digits, `_`, `-`, `.`).
///
/// # Errors
///
/// [`StoreError::InvalidIdentifier`] otherwise.
pub fn validate_identifier(identifier: &str) -> Result<(), StoreError> {
    let ok = !identifier.is_empty()
        && identifier.len() <= 128
        && identifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidIdentifier {
            identifier: identifier.to_owned(),
        })
    }
}

/// Whether a URL's host is this machine (`localhost`, `127.0.0.0/8`, `::1`): the only hosts
/// where a provider may use `http://` and cookies may go without `Secure`.
///
/// ```
/// use auth0_store_core::store::is_loopback;
///
/// let loopback = |u: &str| is_loopback(&url::Url::parse(u).unwrap().host().unwrap());
/// assert!(loopback("http://localhost:5000/"));
/// assert!(loopback("http://127.0.0.1/"));
/// assert!(!loopback("https://app.example.com/"));
/// ```
pub fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => std::net::IpAddr::V4(*ip).is_loopback(),
        url::Host::Ipv6(ip) => std::net::IpAddr::V6(*ip).is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_parsing_handles_quotes_blanks_and_duplicates() {
        let cx = StoreContext::from_cookie_header(" a=1;b=\"two\" ; junk; a=3; c=;;  ; =x; d = 4 ");
        assert_eq!(
            cx.cookie("a").as_deref(),
            Some("1"),
            "the first of a name wins"
        );
        assert_eq!(
            cx.cookie("b").as_deref(),
            Some("two"),
            "one pair of quotes goes"
        );
        assert_eq!(cx.cookie("c").as_deref(), Some(""));
        assert_eq!(
            cx.cookie("d").as_deref(),
            Some("4"),
            "blanks around name and value"
        );
        assert_eq!(cx.cookie("junk"), None);
        assert_eq!(cx.cookie(""), None, "a pair without a name is skipped");
        assert_eq!(
            cx.cookies()
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
    }

    fn cookie_headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                http::header::COOKIE,
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        headers
    }

    fn owned() -> OwnedCookies {
        OwnedCookies::new()
            .with_identifier("_a0_session")
            .with_identifier("_a0_tx")
    }

    #[test]
    fn a_cookie_with_utf8_or_invalid_bytes_never_drops_the_others() {
        // `HeaderValue::to_str` refuses any byte >= 0x80: reading the header through it
        // dropped every cookie of the request (a foreign `pref=José` logged users out).
        let headers = cookie_headers(&[
            b"pref=Jos\xc3\xa9; _a0_session=abc; bad=\xff\xfe; \xff\xff=1; b=2",
            b"__Host-_a0_tx_s1=\xc3; __Host-_a0_tx_s2=t2",
        ]);
        let all = StoreContext::from_headers(&headers);
        assert_eq!(all.cookie("_a0_session").as_deref(), Some("abc"));
        assert_eq!(all.cookie("b").as_deref(), Some("2"));
        assert_eq!(
            all.cookie("pref").as_deref(),
            Some("Jos\u{e9}"),
            "UTF-8 is kept"
        );
        assert_eq!(all.cookie("bad"), None, "not UTF-8: skipped on its own");
        assert_eq!(all.cookie("__Host-_a0_tx_s1"), None);
        assert_eq!(all.cookie("__Host-_a0_tx_s2").as_deref(), Some("t2"));

        let ours = StoreContext::from_headers_owned(&headers, &owned());
        assert_eq!(ours.cookie("_a0_session").as_deref(), Some("abc"));
        assert_eq!(ours.cookie("__Host-_a0_tx_s2").as_deref(), Some("t2"));
        assert_eq!(ours.cookie("pref"), None, "not ours: not materialised");
        assert_eq!(ours.cookie("b"), None);
        assert_eq!(ours.cookies().len(), 2);
        assert_eq!(ours.headers().len(), 2, "the headers stay for the app");
    }

    #[test]
    fn owned_duplicates_keep_the_first_across_headers() {
        let headers = cookie_headers(&[
            b"_a0_session=first; _a0_session=second",
            b"_a0_session=third; __Host-_a0_session=host",
        ]);
        let cx = StoreContext::from_headers_owned(&headers, &owned());
        assert_eq!(cx.cookie("_a0_session").as_deref(), Some("first"));
        assert_eq!(cx.cookie("__Host-_a0_session").as_deref(), Some("host"));
    }

    #[test]
    fn repeated_or_unparseable_owned_pairs_use_up_the_allowance() {
        // 20,000 copies of one owned pair cost 32 reads, not 20,000: the pair after them is
        // past the allowance.
        let mut header = "__Host-_a0_tx_a=v; ".repeat(20_000);
        header.push_str("__Host-_a0_tx_late=v");
        let cx = StoreContext::from_headers_owned(&cookie_headers(&[header.as_bytes()]), &owned());
        assert_eq!(cx.cookie("__Host-_a0_tx_a").as_deref(), Some("v"));
        assert_eq!(cx.cookie("__Host-_a0_tx_late"), None);
    }

    #[test]
    fn owned_cookies_are_capped_per_prefix_and_the_first_win() {
        let mut header = String::new();
        // A sibling's plain-named cookies first: they fill their own prefix's quota only.
        for i in 0..100 {
            header.push_str(&format!("_a0_tx_p{i}=x; "));
        }
        for i in 0..100 {
            header.push_str(&format!("__Host-_a0_tx_h{i}=y; "));
        }
        // A duplicate and a pair that does not parse count against their prefix, but a
        // session's few cookies still fit.
        header.push_str("__Host-_a0_tx_h0=dup; __Host-_a0_session; ");
        header.push_str("__Host-_a0_session.0=s0; __Host-_a0_session.1=s1");
        let cx = StoreContext::from_headers_owned(&cookie_headers(&[header.as_bytes()]), &owned());
        let names: Vec<String> = cx.cookies().into_iter().map(|(n, _)| n).collect();
        let plain = names.iter().filter(|n| n.starts_with("_a0_tx_")).count();
        let host = names
            .iter()
            .filter(|n| n.starts_with("__Host-_a0_tx_"))
            .count();
        assert_eq!(
            (plain, host),
            (MAX_COOKIES_PER_PREFIX, MAX_COOKIES_PER_PREFIX)
        );
        assert_eq!(cx.cookie("__Host-_a0_tx_h0").as_deref(), Some("y"));
        assert!(
            cx.cookie(&format!("__Host-_a0_tx_h{}", MAX_COOKIES_PER_PREFIX - 1))
                .is_some()
        );
        assert!(
            cx.cookie(&format!("__Host-_a0_tx_h{MAX_COOKIES_PER_PREFIX}"))
                .is_none()
        );
        assert_eq!(cx.cookie("__Host-_a0_session.0").as_deref(), Some("s0"));
        assert_eq!(cx.cookie("__Host-_a0_session.1").as_deref(), Some("s1"));
    }

    #[test]
    fn a_huge_header_of_foreign_names_materialises_nothing() {
        let header: String = (0..60_000).map(|i| format!("c{i}=v;")).collect();
        let cx = StoreContext::from_headers_owned(&cookie_headers(&[header.as_bytes()]), &owned());
        assert!(cx.cookies().is_empty());
        let all = StoreContext::from_cookie_header(&header);
        assert_eq!(all.cookies().len(), 60_000, "every distinct name, once");
    }

    #[test]
    fn owned_names_count_against_the_longest_prefix() {
        let owned = OwnedCookies::new().with_prefix("_a0").with_prefix("_a0_tx");
        assert_eq!(owned.prefixes(), ["_a0_tx", "_a0"]);
        assert!(owned.owns("_a0_tx_1") && owned.owns("_a0x") && !owned.owns("a0"));
        assert_eq!(OwnedCookies::new().with_prefix("").prefixes().len(), 0);
        assert_eq!(OwnedCookies::new().with_prefix("a;b").prefixes().len(), 0);
    }

    #[test]
    fn an_owned_prefix_counts_only_where_a_pair_starts() {
        let header =
            b"x=_a0_session=evil; my_a0_session=1;\t _a0_session.0 = v0 ;_a0_tx_s=\"t\";_a0_tx";
        let cx = StoreContext::from_headers_owned(&cookie_headers(&[header]), &owned());
        assert_eq!(
            cx.cookies(),
            vec![
                ("_a0_session.0".to_owned(), "v0".to_owned()),
                ("_a0_tx_s".to_owned(), "t".to_owned()),
            ],
            "not in a value, not inside another name; blanks and quotes as in every pair"
        );
        let first = StoreContext::from_headers_owned(
            &cookie_headers(&[b"_a0_session=first;x=1", b"  _a0_session=second"]),
            &owned(),
        );
        assert_eq!(first.cookie("_a0_session").as_deref(), Some("first"));
    }

    proptest::proptest! {
        /// Whatever the header holds, the owned reading keeps exactly the cookies the full
        /// reading finds whose names are owned (below the caps).
        #[test]
        fn the_owned_reading_is_the_full_reading_filtered(
            pieces in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        &b"_a0_tx"[..], b"__Host-", b"_a0_session", b".0", b"=", b";", b" ",
                        b"\t", b"\"", b"a", b"_", b"\xff", b"\xc3\xa9",
                    ]),
                    0..6,
                ),
                0..12,
            )
        ) {
            let header: Vec<u8> = pieces.concat().concat();
            let Ok(value) = http::HeaderValue::from_bytes(&header) else {
                return Ok(());
            };
            let mut headers = HeaderMap::new();
            headers.insert(http::header::COOKIE, value);
            let owned = owned();
            let all: Vec<(String, String)> = StoreContext::from_headers(&headers)
                .cookies()
                .into_iter()
                .filter(|(name, _)| owned.owns(name))
                .collect();
            let ours = StoreContext::from_headers_owned(&headers, &owned).cookies();
            proptest::prop_assert_eq!(ours, all);
        }
    }

    #[test]
    fn changes_are_seen_by_later_reads_and_replace_each_other() {
        let cx = StoreContext::from_cookies([("x", "old")]);
        let o = CookieOptions::default();
        cx.set_cookie(SetCookie::new("x", "new", None, &o));
        cx.set_cookie(SetCookie::new("y", "1", None, &o));
        assert_eq!(cx.cookie("x").as_deref(), Some("new"));
        assert_eq!(
            cx.cookies(),
            vec![("x".into(), "new".into()), ("y".into(), "1".into())]
        );
        cx.remove_cookie("y", &o);
        assert_eq!(cx.cookie("y"), None);
        assert_eq!(
            cx.changes().len(),
            1,
            "removing a cookie the browser never had sends nothing"
        );
        cx.remove_cookie("x", &o);
        let changes = cx.take_changes();
        assert_eq!(changes.len(), 1);
        assert!(changes[0].is_removal());
        assert!(cx.take_changes().is_empty());
    }

    #[test]
    fn headers_give_cookies_and_removal_keeps_path_and_domain() {
        let mut headers = HeaderMap::new();
        headers.append(http::header::COOKIE, "a=1".parse().unwrap());
        headers.append(http::header::COOKIE, "b=2".parse().unwrap());
        let cx = StoreContext::from_headers(&headers);
        assert_eq!(cx.cookie("b").as_deref(), Some("2"));
        let o = CookieOptions {
            domain: Some("example.com".into()),
            path: "/app".into(),
            ..CookieOptions::default()
        };
        let header = SetCookie::removal("a", &o).to_header_value();
        assert_eq!(
            header,
            "a=; HttpOnly; SameSite=Lax; Secure; Path=/app; Domain=example.com; Max-Age=0"
        );
    }

    #[test]
    fn identifiers_must_be_cookie_names() {
        assert!(validate_identifier("_a0_session").is_ok());
        for bad in ["", "a b", "a;b", "a=b", "é", "a:b"] {
            assert!(validate_identifier(bad).is_err(), "{bad:?}");
        }
    }
}
