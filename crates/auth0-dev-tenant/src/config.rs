//! The dev tenant's settings: one application (client), the URLs it may use, the APIs it may
//! ask tokens for, token lifetimes, and where to listen. Validated by
//! [`DevTenantBuilder::build`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use auth0_server_core::clock::{self, Clock};
use url::Url;

use crate::client_key::ClientKey;
use crate::error::Error;
use crate::{DevTenant, RunningDevTenant};

/// The client id of the dev tenant's one application, unless another is set.
pub const DEFAULT_CLIENT_ID: &str = "dev-client";
/// Where the dev tenant listens unless told otherwise: any free port on 127.0.0.1.
pub const DEFAULT_BIND_ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
/// How long access tokens live (Auth0's default for an API: 24 hours).
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(86_400);
/// How long ID tokens live (Auth0's default: 10 hours).
pub const DEFAULT_ID_TOKEN_LIFETIME: Duration = Duration::from_secs(36_000);
/// How long a grant's refresh tokens work after the login, however often they rotate
/// (Auth0's default absolute lifetime: 30 days).
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 86_400);
/// How long the provider session (the single sign-on cookie) lasts (Auth0's default
/// inactivity timeout: 3 days).
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(3 * 86_400);
/// How long an authorization code may be exchanged after it was issued.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long the login form may be submitted after it was shown.
pub const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(600);
/// How long a back-channel logout request may take before it is given up.
pub const BACKCHANNEL_LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a logout token is valid after it is issued.
pub const LOGOUT_TOKEN_LIFETIME: Duration = Duration::from_secs(120);
/// The longest lifetime any setting accepts (so that times never overflow).
pub const MAX_LIFETIME: Duration = Duration::from_secs(366 * 86_400);
/// The CIBA poll `interval` the backchannel authentication endpoint names by default
/// (Auth0's: 5 seconds).
pub const DEFAULT_BACKCHANNEL_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How long a CIBA request waits for the user when it names no `requested_expiry`, and the
/// longest it may ask for (Auth0's: 300 seconds).
pub const BACKCHANNEL_REQUEST_LIFETIME: Duration = Duration::from_secs(300);
/// Bytes of randomness in a generated client secret.
const GENERATED_SECRET_BYTES: usize = 32;

/// Which URLs the browser may be sent back to (after a login, or after a logout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedUris {
    /// Any `http://` or `https://` URL on this machine (`localhost`, `127.0.0.0/8`, `[::1]`):
    /// convenient for development, where the app's port changes. The default.
    AnyLoopback,
    /// Exactly these URLs (compared after parsing, so `http://LOCALHOST:5000/cb` and
    /// `http://localhost:5000/cb` are one URL).
    Only(Vec<Url>),
}

impl AllowedUris {
    /// Whether `uri` may be used.
    ///
    /// ```
    /// use auth0_dev_tenant::AllowedUris;
    /// assert!(AllowedUris::AnyLoopback.allows("http://localhost:5000/callback"));
    /// assert!(!AllowedUris::AnyLoopback.allows("https://evil.example/callback"));
    /// ```
    pub fn allows(&self, uri: &str) -> bool {
        let Ok(url) = Url::parse(uri) else {
            return false;
        };
        match self {
            Self::AnyLoopback => browser_url(&url).is_ok() && is_loopback(&url),
            Self::Only(list) => list.contains(&url),
        }
    }
}

/// The client secret; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClientSecret(pub(crate) String);

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The validated settings of a dev tenant. Made by [`DevTenantBuilder::build`];
/// [`DevTenantConfig::default`] is the builder's defaults.
///
/// ```
/// use auth0_dev_tenant::{DevTenantConfig, AllowedUris, DEFAULT_CLIENT_ID};
/// let config = DevTenantConfig::default();
/// assert_eq!(config.client_id(), DEFAULT_CLIENT_ID);
/// assert_eq!(config.redirect_uris(), &AllowedUris::AnyLoopback);
/// assert!(config.bind_address().ip().is_loopback());
/// ```
#[derive(Clone)]
pub struct DevTenantConfig {
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    /// The application's public key: set, it authenticates with `private_key_jwt` only.
    pub(crate) client_key: Option<Arc<ClientKey>>,
    pub(crate) redirect_uris: AllowedUris,
    pub(crate) logout_uris: AllowedUris,
    pub(crate) audiences: Vec<String>,
    pub(crate) backchannel_logout_uris: Vec<Url>,
    pub(crate) access_token_lifetime: Duration,
    pub(crate) id_token_lifetime: Duration,
    pub(crate) refresh_token_lifetime: Duration,
    pub(crate) session_lifetime: Duration,
    pub(crate) bind_address: SocketAddr,
    pub(crate) clock: Arc<dyn Clock>,
    /// Organizations, Rich Authorization Requests and MFA step-up (`crate::extras`).
    pub(crate) extras: crate::extras::Extras,
    pub(crate) backchannel_poll_interval: Duration,
    /// Federated connections and custom token exchange profiles (`crate::vault`).
    pub(crate) vault: crate::vault::Vault,
}

impl fmt::Debug for DevTenantConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevTenantConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("client_key", &self.client_key)
            .field("redirect_uris", &self.redirect_uris)
            .field("logout_uris", &self.logout_uris)
            .field("audiences", &self.audiences)
            .field("backchannel_logout_uris", &self.backchannel_logout_uris)
            .field("bind_address", &self.bind_address)
            .finish_non_exhaustive()
    }
}

impl Default for DevTenantConfig {
    fn default() -> Self {
        Self {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: ClientSecret(crate::memory::random_token_of::<GENERATED_SECRET_BYTES>()),
            client_key: None,
            redirect_uris: AllowedUris::AnyLoopback,
            logout_uris: AllowedUris::AnyLoopback,
            audiences: Vec::new(),
            backchannel_logout_uris: Vec::new(),
            access_token_lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
            id_token_lifetime: DEFAULT_ID_TOKEN_LIFETIME,
            refresh_token_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            bind_address: DEFAULT_BIND_ADDRESS,
            clock: clock::system(),
            extras: crate::extras::Extras::default(),
            backchannel_poll_interval: DEFAULT_BACKCHANNEL_POLL_INTERVAL,
            vault: crate::vault::Vault::default(),
        }
    }
}

impl DevTenantConfig {
    /// The application's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// The application's client secret (given, or generated at random).
    pub fn client_secret(&self) -> &str {
        &self.client_secret.0
    }
    /// How the application authenticates at the token endpoint: `private_key_jwt` when a
    /// [public key](DevTenantBuilder::client_public_key) is registered, else
    /// `client_secret_basic` or `client_secret_post`.
    ///
    /// ```
    /// use auth0_dev_tenant::DevTenantConfig;
    /// assert_eq!(DevTenantConfig::default().client_authentication_method(), "client_secret_basic");
    /// ```
    pub fn client_authentication_method(&self) -> &'static str {
        match self.client_key {
            Some(_) => "private_key_jwt",
            None => "client_secret_basic",
        }
    }
    /// Where the browser may be sent after a login.
    pub fn redirect_uris(&self) -> &AllowedUris {
        &self.redirect_uris
    }
    /// Where the browser may be sent after a logout.
    pub fn logout_uris(&self) -> &AllowedUris {
        &self.logout_uris
    }
    /// The APIs access tokens may be asked for (`audience`).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
    /// Where back-channel logout tokens are POSTed.
    pub fn backchannel_logout_uris(&self) -> &[Url] {
        &self.backchannel_logout_uris
    }
    /// Where [`DevTenant::start`] listens.
    pub fn bind_address(&self) -> SocketAddr {
        self.bind_address
    }
    /// How long access tokens live.
    pub fn access_token_lifetime(&self) -> Duration {
        self.access_token_lifetime
    }
    /// How long ID tokens live.
    pub fn id_token_lifetime(&self) -> Duration {
        self.id_token_lifetime
    }
    /// How long refresh tokens work after the login.
    pub fn refresh_token_lifetime(&self) -> Duration {
        self.refresh_token_lifetime
    }
    /// How long the provider session lasts.
    pub fn session_lifetime(&self) -> Duration {
        self.session_lifetime
    }
}

/// Builds a [`DevTenantConfig`]; every problem is found by [`build`](Self::build).
///
/// ```
/// use auth0_dev_tenant::DevTenant;
///
/// let config = DevTenant::builder()
///     .client_id("my-app")
///     .client_secret("my-app-secret")
///     .redirect_uri("http://localhost:5000/callback")
///     .logout_uri("http://localhost:5000/")
///     .audience("https://api.example.com")
///     .backchannel_logout_uri("http://localhost:5000/backchannel-logout")
///     .port(4000)
///     .build()?;
/// assert_eq!(config.bind_address().to_string(), "127.0.0.1:4000");
/// # Ok::<(), auth0_dev_tenant::Error>(())
/// ```
#[derive(Default)]
pub struct DevTenantBuilder {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_public_key: Option<String>,
    redirect_uris: Option<Vec<String>>,
    logout_uris: Option<Vec<String>>,
    audiences: Vec<String>,
    backchannel_logout_uris: Vec<String>,
    access_token_lifetime: Option<Duration>,
    id_token_lifetime: Option<Duration>,
    refresh_token_lifetime: Option<Duration>,
    session_lifetime: Option<Duration>,
    bind_address: Option<SocketAddr>,
    clock: Option<Arc<dyn Clock>>,
    pub(crate) extras: crate::extras::Extras,
    backchannel_poll_interval: Option<Duration>,
    pub(crate) vault: crate::vault::Vault,
}

impl fmt::Debug for DevTenantBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevTenantBuilder")
            .field("client_id", &self.client_id)
            .field("redirect_uris", &self.redirect_uris)
            .field("bind_address", &self.bind_address)
            .finish_non_exhaustive()
    }
}

impl DevTenantBuilder {
    /// A builder with the defaults: client [`DEFAULT_CLIENT_ID`] with a random secret, any
    /// loopback redirect and logout URL, no API, no back-channel logout, any free port on
    /// 127.0.0.1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The application's client id ([`DEFAULT_CLIENT_ID`] if unset).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The application's client secret (random if unset; read it from
    /// [`RunningDevTenant::client_secret`]).
    pub fn client_secret(mut self, client_secret: impl Into<String>) -> Self {
        self.client_secret = Some(client_secret.into());
        self
    }

    /// Registers the application's public key (a PEM public key or certificate, or a public
    /// JWK; RSA of 2048 bits or more, or EC P-256): the application then authenticates at
    /// the token endpoint with `private_key_jwt`, a client assertion signed with the private
    /// key (RS256 or PS256 for RSA, ES256 for EC), as an Auth0 application set to Private
    /// Key JWT; its client secret is refused.
    ///
    /// ```
    /// use auth0_dev_tenant::DevTenant;
    ///
    /// let err = DevTenant::builder().client_public_key("not a key").build().unwrap_err();
    /// assert!(err.to_string().contains("client public key"));
    /// ```
    pub fn client_public_key(mut self, pem_or_jwk: impl Into<String>) -> Self {
        self.client_public_key = Some(pem_or_jwk.into());
        self
    }

    /// Allows this callback URL. Once one is given, only the ones given are allowed;
    /// without any, every loopback URL is ([`AllowedUris::AnyLoopback`]).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris
            .get_or_insert_with(Vec::new)
            .push(uri.into());
        self
    }

    /// Allows every loopback callback URL again (the default), forgetting those given.
    pub fn any_loopback_redirect_uri(mut self) -> Self {
        self.redirect_uris = None;
        self
    }

    /// Allows this URL after logout (`returnTo`, `post_logout_redirect_uri`). Once one is
    /// given, only the ones given are allowed; without any, every loopback URL is.
    pub fn logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.logout_uris
            .get_or_insert_with(Vec::new)
            .push(uri.into());
        self
    }

    /// Allows every loopback URL after logout again (the default), forgetting those given.
    pub fn any_loopback_logout_uri(mut self) -> Self {
        self.logout_uris = None;
        self
    }

    /// Registers an API: logins and refreshes may ask for an access token with this
    /// `audience` (a JWT signed by the tenant's key). An unknown audience is refused, as
    /// Auth0 refuses an API it does not know.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Where a logout token is POSTed when a provider session ends (OIDC Back-Channel
    /// Logout 1.0). It must be a loopback URL.
    pub fn backchannel_logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.backchannel_logout_uris.push(uri.into());
        self
    }

    /// How long access tokens live ([`DEFAULT_ACCESS_TOKEN_LIFETIME`]).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = Some(lifetime);
        self
    }

    /// How long ID tokens live ([`DEFAULT_ID_TOKEN_LIFETIME`]).
    pub fn id_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.id_token_lifetime = Some(lifetime);
        self
    }

    /// How long refresh tokens work after the login ([`DEFAULT_REFRESH_TOKEN_LIFETIME`]).
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.refresh_token_lifetime = Some(lifetime);
        self
    }

    /// The CIBA poll `interval` the backchannel authentication endpoint names
    /// ([`DEFAULT_BACKCHANNEL_POLL_INTERVAL`]); a client polling sooner gets `slow_down`.
    pub fn backchannel_poll_interval(mut self, interval: Duration) -> Self {
        self.backchannel_poll_interval = Some(interval);
        self
    }

    /// How long the provider session lasts ([`DEFAULT_SESSION_LIFETIME`]).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = Some(lifetime);
        self
    }

    /// Where to listen ([`DEFAULT_BIND_ADDRESS`]); it must be a loopback address.
    pub fn bind_address(mut self, address: SocketAddr) -> Self {
        self.bind_address = Some(address);
        self
    }

    /// Listens on this port of 127.0.0.1 (0: any free port). A fixed port keeps the issuer
    /// the same across restarts.
    pub fn port(self, port: u16) -> Self {
        self.bind_address(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
    }

    /// The clock tokens and codes are dated with (for tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validates the settings.
    ///
    /// # Errors
    ///
    /// [`Error::NonLoopbackAddress`] for an address off this machine, and
    /// [`Error::InvalidSetting`] naming the setting and what to give instead.
    pub fn build(self) -> Result<DevTenantConfig, Error> {
        let defaults = DevTenantConfig::default();
        let client_id = match self.client_id {
            Some(id) => {
                if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()) {
                    return Err(Error::setting(
                        "client id",
                        &id,
                        "give 1 to 128 visible ASCII characters, e.g. dev-client",
                    ));
                }
                id
            }
            None => defaults.client_id,
        };
        let client_secret = match self.client_secret {
            Some(secret) => {
                if secret.is_empty() || secret.chars().any(char::is_control) {
                    return Err(Error::InvalidSetting {
                        setting: "client secret",
                        value: "[redacted]".to_owned(),
                        reason: "give a non-empty secret without control characters, or none \
                                 for a random one"
                            .to_owned(),
                    });
                }
                ClientSecret(secret)
            }
            None => defaults.client_secret,
        };
        let client_key = match &self.client_public_key {
            Some(text) => Some(Arc::new(ClientKey::parse(text).map_err(|reason| {
                Error::InvalidSetting {
                    setting: "client public key",
                    value: "(the key given)".to_owned(),
                    reason,
                }
            })?)),
            None => None,
        };
        let redirect_uris = allowed("redirect URI", self.redirect_uris)?;
        let logout_uris = allowed("logout URI", self.logout_uris)?;
        for audience in &self.audiences {
            if audience.trim().is_empty() {
                return Err(Error::setting(
                    "audience",
                    audience,
                    "give the API's identifier, e.g. https://api.example.com",
                ));
            }
        }
        let mut backchannel_logout_uris = Vec::new();
        for uri in &self.backchannel_logout_uris {
            let url = parse_browser_url("back-channel logout URI", uri)?;
            if !is_loopback(&url) {
                return Err(Error::setting(
                    "back-channel logout URI",
                    uri,
                    "the dev tenant only POSTs to this machine: give a URL on localhost, \
                     127.0.0.1 or [::1]",
                ));
            }
            backchannel_logout_uris.push(url);
        }
        let lifetime = |name: &'static str, value: Option<Duration>, default: Duration| {
            let value = value.unwrap_or(default);
            if value < Duration::from_secs(1) || value > MAX_LIFETIME {
                return Err(Error::setting(
                    name,
                    &format!("{value:?}"),
                    "give between one second and a year",
                ));
            }
            Ok(value)
        };
        let bind_address = self.bind_address.unwrap_or(DEFAULT_BIND_ADDRESS);
        if !bind_address.ip().is_loopback() {
            return Err(Error::NonLoopbackAddress {
                address: bind_address,
            });
        }
        Ok(DevTenantConfig {
            client_id,
            client_secret,
            client_key,
            redirect_uris,
            logout_uris,
            audiences: self.audiences,
            backchannel_logout_uris,
            access_token_lifetime: lifetime(
                "access token lifetime",
                self.access_token_lifetime,
                DEFAULT_ACCESS_TOKEN_LIFETIME,
            )?,
            id_token_lifetime: lifetime(
                "ID token lifetime",
                self.id_token_lifetime,
                DEFAULT_ID_TOKEN_LIFETIME,
            )?,
            refresh_token_lifetime: lifetime(
                "refresh token lifetime",
                self.refresh_token_lifetime,
                DEFAULT_REFRESH_TOKEN_LIFETIME,
            )?,
            session_lifetime: lifetime(
                "session lifetime",
                self.session_lifetime,
                DEFAULT_SESSION_LIFETIME,
            )?,
            bind_address,
            clock: self.clock.unwrap_or(defaults.clock),
            extras: self.extras.checked()?,
            backchannel_poll_interval: lifetime(
                "backchannel poll interval",
                self.backchannel_poll_interval,
                DEFAULT_BACKCHANNEL_POLL_INTERVAL,
            )?,
            vault: self.vault.checked()?,
        })
    }

    /// Builds the configuration and starts the tenant ([`DevTenant::start`]).
    ///
    /// # Errors
    ///
    /// Those of [`build`](Self::build) and [`DevTenant::start`].
    pub async fn start(self) -> Result<RunningDevTenant, Error> {
        DevTenant::start(self.build()?).await
    }
}

fn allowed(setting: &'static str, uris: Option<Vec<String>>) -> Result<AllowedUris, Error> {
    match uris {
        None => Ok(AllowedUris::AnyLoopback),
        Some(list) => list
            .iter()
            .map(|uri| parse_browser_url(setting, uri))
            .collect::<Result<Vec<_>, _>>()
            .map(AllowedUris::Only),
    }
}

fn parse_browser_url(setting: &'static str, uri: &str) -> Result<Url, Error> {
    let url = Url::parse(uri).map_err(|_| {
        Error::setting(
            setting,
            uri,
            "give an absolute URL, e.g. http://localhost:5000/callback",
        )
    })?;
    browser_url(&url).map_err(|reason| Error::setting(setting, uri, reason))?;
    Ok(url)
}

/// Whether a URL may receive the browser: http(s), a host, no credentials, no fragment.
fn browser_url(url: &Url) -> Result<(), &'static str> {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("give an http:// or https:// URL with a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL with credentials in it is not allowed");
    }
    if url.fragment().is_some() {
        return Err("a URL with a #fragment is not allowed (RFC 6749 §3.1.2)");
    }
    Ok(())
}

/// Whether a URL's host is this machine (`localhost`, `127.0.0.0/8`, `[::1]`).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_build_with_a_random_secret() {
        let a = DevTenantBuilder::new().build().unwrap();
        let b = DevTenantBuilder::new().build().unwrap();
        assert_eq!(a.client_id(), DEFAULT_CLIENT_ID);
        assert!(a.client_secret().len() >= 43);
        assert_ne!(a.client_secret(), b.client_secret());
        assert!(
            !format!("{a:?}").contains(a.client_secret()),
            "secret in Debug"
        );
    }

    #[test]
    fn non_loopback_bind_address_is_refused() {
        for address in ["0.0.0.0:4000", "192.168.1.2:0", "[::]:4000"] {
            let err = DevTenantBuilder::new()
                .bind_address(address.parse().unwrap())
                .build()
                .unwrap_err();
            assert_eq!(err.code(), "non_loopback_address", "{address}");
        }
        assert!(
            DevTenantBuilder::new()
                .bind_address("[::1]:0".parse().unwrap())
                .build()
                .is_ok()
        );
    }

    #[test]
    fn any_loopback_allows_only_this_machine() {
        let any = AllowedUris::AnyLoopback;
        for ok in [
            "http://localhost:5000/callback",
            "http://127.0.0.1:3000/cb?x=1",
            "http://[::1]/cb",
            "https://localhost/cb",
        ] {
            assert!(any.allows(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.0.0.1.nip.io/cb",
            "http://user:pw@localhost/cb",
            "http://localhost/cb#frag",
            "javascript:alert(1)",
            "/relative",
        ] {
            assert!(!any.allows(bad), "{bad}");
        }
    }

    #[test]
    fn listed_uris_are_the_only_ones_allowed() {
        let config = DevTenantBuilder::new()
            .redirect_uri("http://localhost:5000/callback")
            .build()
            .unwrap();
        assert!(
            config
                .redirect_uris()
                .allows("http://localhost:5000/callback")
        );
        assert!(!config.redirect_uris().allows("http://localhost:5000/other"));
        assert_eq!(config.logout_uris(), &AllowedUris::AnyLoopback);
    }

    #[test]
    fn backchannel_logout_uris_must_be_loopback() {
        let err = DevTenantBuilder::new()
            .backchannel_logout_uri("https://app.example/backchannel")
            .build()
            .unwrap_err();
        assert_eq!(err.code(), "invalid_setting");
        assert!(err.to_string().contains("this machine"), "{err}");
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let err = DevTenantBuilder::new()
            .client_id("has space")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("client id"), "{err}");
        let err = DevTenantBuilder::new()
            .redirect_uri("/callback")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("redirect URI"), "{err}");
        let err = DevTenantBuilder::new()
            .access_token_lifetime(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("access token lifetime"), "{err}");
        let err = DevTenantBuilder::new()
            .client_secret("")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("[redacted]"), "{err}");
    }
}
