//! The per-request view a store has of the browser: cookies in, `Set-Cookie` out.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http::HeaderMap;
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
/// use auth0_server_core::store::CookieOptions;
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
    /// use auth0_server_core::store::CookieOptions;
    /// let local = url::Url::parse("http://localhost:5000/callback").unwrap();
    /// assert!(!CookieOptions::for_redirect_uri(&local).secure);
    /// let public = url::Url::parse("http://app.example.com/callback").unwrap();
    /// assert!(CookieOptions::for_redirect_uri(&public).secure, "never off for a real host");
    /// ```
    pub fn for_redirect_uri(redirect_uri: &Url) -> Self {
        let local_http = redirect_uri.scheme() == "http"
            && redirect_uri
                .host()
                .is_some_and(|h| crate::client::is_loopback(&h));
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
    /// Whether these attributes allow the `__Host-` prefix and it is wanted.
    pub fn uses_host_prefix(&self) -> bool {
        self.host_prefix && self.secure && self.path == "/" && self.domain.is_none()
    }

    /// The name a cookie of this SDK called `name` (`_a0_session`, `_a0_session.1`,
    /// `_a0_tx_{state}`) has in the browser: `__Host-{name}` when
    /// [`uses_host_prefix`](Self::uses_host_prefix), else `name` itself.
    ///
    /// ```
    /// use auth0_server_core::store::CookieOptions;
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

    /// The `Set-Cookie` header value.
    ///
    /// ```
    /// use auth0_server_core::store::{CookieOptions, SetCookie};
    /// use std::time::Duration;
    /// let c = SetCookie::new("_a0_session", "abc", Some(Duration::from_secs(60)), &CookieOptions::default());
    /// assert_eq!(c.to_header_value(), "_a0_session=abc; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax");
    /// ```
    pub fn to_header_value(&self) -> String {
        let mut out = format!("{}={}", self.name, self.value);
        if let Some(max_age) = self.max_age {
            out.push_str(&format!("; Max-Age={}", max_age.as_secs()));
        }
        out.push_str(&format!("; Path={}", self.options.path));
        if let Some(domain) = &self.options.domain {
            out.push_str(&format!("; Domain={domain}"));
        }
        out.push_str("; HttpOnly");
        if self.options.secure {
            out.push_str("; Secure");
        }
        out.push_str(&format!("; SameSite={}", self.options.same_site.as_str()));
        out
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

/// What a store sees of one request and may change in its response.
///
/// It holds the cookies the browser sent and the `Set-Cookie` changes made so far, and
/// [`cookie`](Self::cookie) answers from both, so a session written earlier in a request is
/// what a later read in the same request sees. The web framework integration builds one per
/// request and writes [`take_changes`](Self::take_changes) onto the response; tests use a
/// simulated browser jar. Clones share the same state, so one can be kept by the framework
/// and another handed to the application.
///
/// ```
/// use auth0_server_core::store::{CookieOptions, SetCookie, StoreContext};
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
    request_cookies: Vec<(String, String)>,
    changes: Vec<SetCookie>,
    url: Option<Url>,
    headers: HeaderMap,
    versions: HashMap<String, ReadVersion>,
}

impl fmt::Debug for StoreContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("StoreContext")
            .field(
                "request_cookies",
                &inner
                    .request_cookies
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

    /// A context from the request's headers: the cookies come from its `Cookie` headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let cx = Self::new();
        {
            let mut inner = cx.lock();
            for value in headers.get_all(http::header::COOKIE) {
                if let Ok(value) = value.to_str() {
                    parse_cookie_header(value, &mut inner.request_cookies);
                }
            }
            inner.headers = headers.clone();
        }
        cx
    }

    /// A context from one `Cookie` header value.
    pub fn from_cookie_header(header: &str) -> Self {
        let cx = Self::new();
        parse_cookie_header(header, &mut cx.lock().request_cookies);
        cx
    }

    /// A context from cookies given as name/value pairs.
    pub fn from_cookies<I, N, V>(cookies: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let cx = Self::new();
        cx.lock().request_cookies = cookies
            .into_iter()
            .map(|(n, v)| (n.into(), v.into()))
            .collect();
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
        inner
            .request_cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Every cookie as it currently stands (request cookies with this request's changes
    /// applied), in the order the browser sent them followed by new ones.
    pub fn cookies(&self) -> Vec<(String, String)> {
        let inner = self.lock();
        let mut out: Vec<(String, String)> = Vec::new();
        for (name, value) in &inner.request_cookies {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.clone(), value.clone()));
            }
        }
        for change in &inner.changes {
            out.retain(|(n, _)| *n != change.name);
            if !change.is_removal() {
                out.push((change.name.clone(), change.value.clone()));
            }
        }
        out
    }

    /// Adds a `Set-Cookie` to the response, replacing an earlier change of the same cookie.
    pub fn set_cookie(&self, cookie: SetCookie) {
        let mut inner = self.lock();
        inner.changes.retain(|c| c.name != cookie.name);
        inner.changes.push(cookie);
    }

    /// Removes the cookie from the browser, if it has it or this request set it.
    pub fn remove_cookie(&self, name: &str, options: &CookieOptions) {
        let sent = self.lock().request_cookies.iter().any(|(n, _)| n == name);
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

/// Parses `a=1; b=2` into pairs; the first of several cookies with one name wins, as
/// browsers send the most specific first.
fn parse_cookie_header(header: &str, out: &mut Vec<(String, String)>) {
    for pair in header.split(';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || out.iter().any(|(n, _)| n == name) {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        out.push((name.to_owned(), value.to_owned()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_parsing_handles_quotes_blanks_and_duplicates() {
        let cx = StoreContext::from_cookie_header(" a=1;b=\"two\" ; junk; a=3; c=");
        assert_eq!(cx.cookie("a").as_deref(), Some("1"));
        assert_eq!(cx.cookie("b").as_deref(), Some("two"));
        assert_eq!(cx.cookie("c").as_deref(), Some(""));
        assert_eq!(cx.cookie("junk"), None);
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
            "a=; Max-Age=0; Path=/app; Domain=example.com; HttpOnly; Secure; SameSite=Lax"
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
