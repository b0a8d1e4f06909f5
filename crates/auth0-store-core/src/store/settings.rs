//! [`StoreSettings`]: what a client hands every store it sets up.

use std::fmt;
use std::sync::Arc;

use url::Url;

use super::{CookieOptions, SessionLifetime};
use crate::Secrets;
use crate::clock::{self, Clock};

/// The settings every store of one client must agree on: the secrets records and cookies are
/// sealed with, the cookies' attributes, the session lifetime and the clock.
///
/// A client builds one from its configuration and hands it to each store it sets up (see
/// `ServerClientBuilder::session_backend` in `auth0-server-core`), so an app gives a store
/// only what is its own — a connection or a URL — and never two stores different secrets or
/// a `Secure` flag that disagrees with the redirect URI.
///
/// ```
/// use auth0_store_core::Secrets;
/// use auth0_store_core::store::StoreSettings;
///
/// let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap();
/// let redirect = url::Url::parse("http://localhost:5000/callback").unwrap();
/// let settings = StoreSettings::for_redirect_uri(secrets, &redirect);
/// // Plain http on this machine: a browser would drop a Secure cookie, so it is off.
/// assert!(!settings.cookie_options.secure);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct StoreSettings {
    /// The secrets, newest first.
    pub secrets: Secrets,
    /// The session cookies' attributes (login cookies use
    /// [`for_logins`](CookieOptions::for_logins) of these).
    pub cookie_options: CookieOptions,
    /// When a session ends.
    pub lifetime: SessionLifetime,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("secrets", &self.secrets)
            .field("cookie_options", &self.cookie_options)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl StoreSettings {
    /// The settings for an app whose callback is `redirect_uri`: cookie attributes from
    /// [`CookieOptions::for_redirect_uri`], the default lifetime and the system clock.
    pub fn for_redirect_uri(secrets: Secrets, redirect_uri: &Url) -> Self {
        Self {
            secrets,
            cookie_options: CookieOptions::for_redirect_uri(redirect_uri),
            lifetime: SessionLifetime::default(),
            clock: clock::system(),
        }
    }

    /// These settings with other cookie attributes.
    pub fn with_cookie_options(mut self, options: CookieOptions) -> Self {
        self.cookie_options = options;
        self
    }

    /// These settings with another session lifetime.
    pub fn with_lifetime(mut self, lifetime: SessionLifetime) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// These settings with another clock (for tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}
