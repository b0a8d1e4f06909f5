//! A simulated browser cookie jar: what a browser keeps and sends back, and nothing more.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use auth0_store_core::clock::Clock;
use auth0_store_core::store::StoreContext;

/// The largest cookie (name and value) a browser keeps; larger ones are dropped, as
/// browsers do (RFC 6265 §6.1 asks for at least 4096 bytes, and browsers stop there).
pub const MAX_COOKIE_BYTES: usize = 4096;

/// One cookie as the jar holds it, with the attributes it was set with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JarCookie {
    /// Its value.
    pub value: String,
    /// When it expires (from `Max-Age`), or `None` for a browser-session cookie.
    pub expires_at: Option<SystemTime>,
    /// The attribute part of the `Set-Cookie` header it came from (after the first `;`).
    pub attributes: String,
}

/// A browser's cookie jar for one site.
///
/// [`context`](Self::context) makes the [`StoreContext`] of a new request (with the live
/// cookies), and [`apply`](Self::apply) takes the response's `Set-Cookie` headers in, parsed
/// from their text as a browser would: expired cookies go, `Max-Age=0` removes, cookies over
/// [`MAX_COOKIE_BYTES`] are dropped, and a cookie named `__Host-…` is refused unless it is
/// `Secure`, has `Path=/` and no `Domain` (so the jar cannot be given one a sibling subdomain
/// could not set in a real browser).
///
/// ```
/// use auth0_store_core::clock::SystemClock;
/// use auth0_store_core::store::{CookieOptions, SetCookie};
/// use auth0_store_conformance::BrowserJar;
/// use std::sync::Arc;
///
/// let jar = BrowserJar::new(Arc::new(SystemClock));
/// let cx = jar.context();
/// cx.set_cookie(SetCookie::new("a", "1", None, &CookieOptions::default()));
/// jar.apply(&cx);
/// assert_eq!(jar.get("a").as_deref(), Some("1"));
/// ```
#[derive(Clone, Debug)]
pub struct BrowserJar {
    cookies: Arc<Mutex<BTreeMap<String, JarCookie>>>,
    clock: Arc<dyn Clock>,
}

impl BrowserJar {
    /// An empty jar reading the time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            cookies: Arc::default(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, JarCookie>> {
        self.cookies.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn purge_expired(&self) {
        let now = self.clock.now();
        self.lock()
            .retain(|_, c| c.expires_at.is_none_or(|at| at > now));
    }

    /// The context of a new request from this browser.
    pub fn context(&self) -> StoreContext {
        self.purge_expired();
        let cookies: Vec<(String, String)> = self
            .lock()
            .iter()
            .map(|(n, c)| (n.clone(), c.value.clone()))
            .collect();
        StoreContext::from_cookies(cookies)
    }

    /// Takes the `Set-Cookie` changes of a response in; returns the header values applied.
    pub fn apply(&self, cx: &StoreContext) -> Vec<String> {
        let headers: Vec<String> = cx
            .take_changes()
            .iter()
            .map(|c| c.to_header_value())
            .collect();
        for header in &headers {
            self.apply_header(header);
        }
        headers
    }

    /// Takes one `Set-Cookie` header value in, as a browser does.
    pub fn apply_header(&self, header: &str) {
        let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        if name.is_empty() || !host_prefix_rules_hold(&name, attributes) {
            return;
        }
        let max_age = attributes.split(';').find_map(|a| {
            let (k, v) = a.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| v.trim().parse::<i64>().ok())?
        });
        let mut cookies = self.lock();
        if max_age.is_some_and(|s| s <= 0) || name.len() + value.len() > MAX_COOKIE_BYTES {
            cookies.remove(&name);
            return;
        }
        let expires_at = max_age.map(|s| self.clock.now() + Duration::from_secs(s.unsigned_abs()));
        cookies.insert(
            name,
            JarCookie {
                value,
                expires_at,
                attributes: attributes.trim().to_owned(),
            },
        );
    }

    /// Takes in a `Set-Cookie` from a sibling subdomain (`evil.example.com` when the app is
    /// `app.example.com`): it carries `Domain` for the parent domain, as it must to reach this
    /// host, so a browser refuses it for a `__Host-` name. Returns whether the jar kept it.
    ///
    /// ```
    /// use auth0_store_core::clock::SystemClock;
    /// use auth0_store_conformance::BrowserJar;
    /// use std::sync::Arc;
    ///
    /// let jar = BrowserJar::new(Arc::new(SystemClock));
    /// assert!(jar.plant_from_sibling("_a0_session", "attacker"));
    /// assert!(!jar.plant_from_sibling("__Host-_a0_session", "attacker"));
    /// assert_eq!(jar.get("__Host-_a0_session"), None);
    /// ```
    pub fn plant_from_sibling(&self, name: &str, value: &str) -> bool {
        self.apply_header(&format!(
            "{name}={value}; Path=/; Domain=example.com; Secure; SameSite=Lax"
        ));
        self.get(name).as_deref() == Some(value)
    }

    /// The live value of a cookie.
    pub fn get(&self, name: &str) -> Option<String> {
        self.purge_expired();
        self.lock().get(name).map(|c| c.value.clone())
    }

    /// The live cookie with its attributes.
    pub fn cookie(&self, name: &str) -> Option<JarCookie> {
        self.purge_expired();
        self.lock().get(name).cloned()
    }

    /// The names of all live cookies.
    pub fn names(&self) -> Vec<String> {
        self.purge_expired();
        self.lock().keys().cloned().collect()
    }

    /// Puts a cookie in by hand (as an attacker or a test would), keeping its attributes if
    /// it existed.
    pub fn set(&self, name: &str, value: &str) {
        let mut cookies = self.lock();
        let entry = cookies.entry(name.to_owned()).or_insert(JarCookie {
            value: String::new(),
            expires_at: None,
            attributes: String::new(),
        });
        entry.value = value.to_owned();
    }

    /// Removes a cookie by hand.
    pub fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    /// A copy of every live cookie, for saving and restoring.
    pub fn snapshot(&self) -> BTreeMap<String, JarCookie> {
        self.purge_expired();
        self.lock().clone()
    }

    /// Replaces every cookie with a snapshot.
    pub fn restore(&self, snapshot: BTreeMap<String, JarCookie>) {
        *self.lock() = snapshot;
    }
}

/// Whether a cookie of this name may be set with these attributes: a `__Host-` name
/// (compared without case, as browsers do) needs `Secure`, `Path=/` and no `Domain`
/// (RFC 6265bis §4.1.3.2); a `__Secure-` name needs `Secure`.
fn host_prefix_rules_hold(name: &str, attributes: &str) -> bool {
    let attrs: Vec<(String, String)> = attributes
        .split(';')
        .map(|a| {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let has = |key: &str| attrs.iter().any(|(k, _)| k == key);
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("__host-") {
        has("secure") && !has("domain") && attrs.iter().any(|(k, v)| k == "path" && v == "/")
    } else if lower.starts_with("__secure-") {
        has("secure")
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth0_store_core::clock::SystemClock;
    use auth0_store_core::store::{CookieOptions, SetCookie};

    #[test]
    fn host_prefixed_cookies_need_secure_root_path_and_no_domain() {
        let jar = BrowserJar::new(Arc::new(SystemClock));
        for refused in [
            "__Host-a=1; Path=/; HttpOnly; SameSite=Lax",
            "__Host-a=1; Path=/app; Secure",
            "__Host-a=1; Path=/; Domain=example.com; Secure",
            "__host-a=1; Secure",
            "__Secure-a=1; Path=/",
        ] {
            jar.apply_header(refused);
            assert!(jar.names().is_empty(), "{refused} was kept");
        }
        jar.apply_header("__Host-a=1; Path=/; HttpOnly; Secure; SameSite=Lax");
        assert_eq!(jar.get("__Host-a").as_deref(), Some("1"));
        let cx = jar.context();
        let options = CookieOptions::default();
        cx.set_cookie(SetCookie::new(
            options.cookie_name("b"),
            "2",
            None,
            &options,
        ));
        jar.apply(&cx);
        assert_eq!(
            jar.get("__Host-b").as_deref(),
            Some("2"),
            "what the SDK writes is kept"
        );
    }
}
