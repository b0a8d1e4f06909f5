//! Multiple custom domains: the Auth0 domain picked per request by a [`DomainResolver`],
//! each domain's discovery document and keys cached on their own (at most
//! [`MAX_CACHED_DOMAINS`]), and a session bound to the domain that created it.
//!
//! A request's `Host` header (and its URL's authority) is chosen by whoever sends it, so a
//! resolver must map it onto a fixed list of domains the app owns, never turn it into a
//! domain: [`AllowListResolver`] does exactly that, and a host it does not know is
//! [`Error::UnknownDomain`] before anything is sent anywhere.
//!
//! A resolver may also name the request's site ([`DomainResolver::site`]: logins then come
//! back to the configured redirect URI on that listed host) and list its domains
//! ([`DomainResolver::domains`]: back-channel logout then accepts a token of any of them,
//! verified with that domain's keys, whichever site's host it was posted to).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use url::Url;

use super::Error;
use super::config::issuer_url;
use super::http::Http;
use super::metadata::Provider;
use crate::model::normalize_domain;
use crate::store::StoreContext;

mod host;
use host::HostPort;

/// How many domains besides the configured one keep a cached discovery document and key
/// set; past that, the domain least likely to be asked again is dropped (and fetched again
/// when needed): a domain many requests come under outlives ones asked once, so a client
/// cycling through hosts cannot push the busy sites out. Bounds memory even with a resolver
/// that returns many domains.
pub const MAX_CACHED_DOMAINS: usize = 64;

/// What a [`DomainResolver`] is given: the request's URL (when the integration knows it) and
/// headers, as the Python SDK's `DomainResolverContext` (`request_url`, `request_headers`).
///
/// ```
/// use auth0_server_core::client::DomainResolverContext;
/// use auth0_server_core::store::StoreContext;
/// use http::{HeaderMap, HeaderValue, header::HOST};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(HOST, HeaderValue::from_static("Shop.Example.com:443"));
/// let context = DomainResolverContext::from_store_context(&StoreContext::from_headers(&headers));
/// assert_eq!(context.host().as_deref(), Some("shop.example.com:443"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct DomainResolverContext {
    request_url: Option<Url>,
    request_headers: HeaderMap,
}

impl DomainResolverContext {
    /// The request data `cx` carries (its URL and headers).
    pub fn from_store_context(cx: &StoreContext) -> Self {
        Self {
            request_url: cx.url(),
            request_headers: cx.headers(),
        }
    }

    /// The request's URL, if the integration gave one.
    pub fn request_url(&self) -> Option<&Url> {
        self.request_url.as_ref()
    }

    /// The request's headers (cookies included; do not log them).
    pub fn request_headers(&self) -> &HeaderMap {
        &self.request_headers
    }

    /// The host the request was sent to, lower case ASCII (IDNA) without a trailing dot,
    /// with its port if it had one: the URL's authority when the integration gave an absolute
    /// URL (HTTP/2), else the `Host` header. `None` when it has none, when it is not a host,
    /// or when it is ambiguous: several `Host` headers, or a `Host` that names another host
    /// than the URL's authority (the request is then refused with
    /// [`Error::UnknownDomain`] whatever the resolver says).
    /// Attacker-controlled: look it up in a list, never use it as a domain.
    pub fn host(&self) -> Option<String> {
        self.checked_host().ok().flatten().map(|h| h.to_string())
    }

    /// The request's host, or, when it is ambiguous, every host it names (for the error).
    fn checked_host(&self) -> Result<Option<HostPort>, String> {
        let mut values = self.request_headers.get_all(http::header::HOST).iter();
        let header = values.next();
        let seen = || {
            let url = self.request_url.iter().filter_map(|u| u.host_str());
            let headers = self.request_headers.get_all(http::header::HOST).iter();
            let headers = headers.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            url.map(str::to_owned)
                .chain(headers)
                .collect::<Vec<_>>()
                .join(", ")
        };
        if values.next().is_some() {
            return Err(seen());
        }
        let from_header = header.and_then(|v| HostPort::parse(v.to_str().ok()?));
        let Some(url) = &self.request_url else {
            return Ok(from_header);
        };
        let from_url = url.host_str().and_then(|host| {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            HostPort::parse(&format!("{host}{port}"))
        });
        match (&from_url, header) {
            (Some(authority), Some(_))
                if from_header.as_ref().map(HostPort::without_default_port)
                    != Some(authority.without_default_port()) =>
            {
                Err(seen())
            }
            _ => Ok(from_url.or(from_header)),
        }
    }
}

/// Picks the Auth0 domain for a request (the Python SDK's callable `domain`, the JS SDK's
/// domain resolver). `None` refuses the request with [`Error::UnknownDomain`].
///
/// The request is hostile: map what it carries onto domains the app owns (as
/// [`AllowListResolver`] does); a resolver that returned a domain taken from the request
/// would let anyone point the client's discovery fetch and login redirect at a server of
/// their choosing.
///
/// ```
/// use auth0_server_core::client::{DomainResolver, DomainResolverContext};
///
/// /// One custom domain per country site.
/// struct ByCountry;
///
/// #[async_trait::async_trait]
/// impl DomainResolver for ByCountry {
///     async fn resolve(&self, context: &DomainResolverContext) -> Option<String> {
///         match context.host()?.as_str() {
///             "shop.example.de" => Some("login.example.de".into()),
///             "shop.example.fr" => Some("login.example.fr".into()),
///             _ => None,
///         }
///     }
///
///     /// Each site's logins come back to its own callback.
///     async fn site(&self, context: &DomainResolverContext) -> Option<String> {
///         let host = context.host()?;
///         ["shop.example.de", "shop.example.fr"]
///             .contains(&host.as_str())
///             .then_some(host)
///     }
///
///     /// Back-channel logout tokens of both domains are accepted.
///     async fn domains(&self) -> Vec<String> {
///         vec!["login.example.de".into(), "login.example.fr".into()]
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait DomainResolver: Send + Sync + 'static {
    /// The Auth0 domain for this request (`login.example.com`; `https://` is accepted), or
    /// `None` when the request is not for a domain of this app.
    async fn resolve(&self, context: &DomainResolverContext) -> Option<String>;

    /// The app's own host this request is for, exactly as the app lists it
    /// (`shop.example.com`, or with a port), or `None`. When it names one, a login started by
    /// the request comes back to the configured redirect URI on that host (see
    /// [`ServerClient::redirect_uri_for`](super::ServerClient::redirect_uri_for)), and its
    /// callback must come to the same site. Return a host from your own list, never the
    /// request's `Host` as it came: it is read as a host and an optional port, and anything
    /// else (a user, a password, a path, a query, a fragment) is [`Error::Configuration`].
    /// It is asked only for a request whose domain [`resolve`](Self::resolve) found. The
    /// default, `None`, keeps the one configured redirect URI.
    async fn site(&self, _context: &DomainResolverContext) -> Option<String> {
        None
    }

    /// Every Auth0 domain this resolver may return. Back-channel logout accepts a logout
    /// token whose issuer is one of them (or the configured domain), verified with that
    /// domain's discovery document and keys, whichever site the provider posted it to. The
    /// default, none, accepts only tokens of the domain the request itself resolves to.
    async fn domains(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A [`DomainResolver`] from a fixed list: the request's host (with its port if it has one,
/// else without) to the Auth0 domain serving it. A host not in the list is refused.
///
/// ```
/// use auth0_server_core::client::{AllowListResolver, ServerClient};
///
/// let client = ServerClient::from_env()
///     .domain_resolver(
///         AllowListResolver::new()
///             .host("acme.example.com", "login.acme.example.com")
///             .host("globex.example.com", "login.globex.example.com"),
///     )
///     .build();
/// ```
#[derive(Clone, Debug, Default)]
pub struct AllowListResolver {
    /// By the listed host as browsers send it (a default port left out).
    hosts: HashMap<String, Listed>,
}

/// A listed site and its domain.
#[derive(Clone, Debug)]
struct Listed {
    /// The host as listed (normalised), with its port if listed with one.
    site: String,
    domain: String,
}

impl AllowListResolver {
    /// An empty list (every host refused).
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves requests for `app_host` (`acme.example.com`, or with a port) with the Auth0
    /// domain `auth0_domain`. The host is compared lower case, in ASCII (a Unicode name
    /// matches its punycode form) and without a trailing dot. A host listed with a default
    /// port (`:443`, `:80`) also matches the host without one (browsers leave it out of
    /// `Host`, URL parsers out of an HTTP/2 authority), and its logins come back to that
    /// port. An `app_host` that is not a host (or `host:port`) matches no request; it is
    /// logged as an error.
    pub fn host(mut self, app_host: impl AsRef<str>, auth0_domain: impl Into<String>) -> Self {
        let Some(listed) = HostPort::parse(app_host.as_ref()) else {
            tracing::error!(
                host = %app_host.as_ref().escape_debug(),
                "AllowListResolver: this entry is not a host or host:port; no request matches it"
            );
            return self;
        };
        let entry = Listed {
            site: listed.to_string(),
            domain: auth0_domain.into(),
        };
        self.hosts
            .insert(listed.without_default_port().to_string(), entry);
        self
    }

    /// The entry the request's host matches (itself, else without its port).
    fn entry(&self, context: &DomainResolverContext) -> Option<&Listed> {
        let host = context.checked_host().ok().flatten()?;
        let exact = host.without_default_port().to_string();
        self.hosts
            .get(&exact)
            .or_else(|| self.hosts.get(&host.without_port().to_string()))
    }
}

#[async_trait::async_trait]
impl DomainResolver for AllowListResolver {
    async fn resolve(&self, context: &DomainResolverContext) -> Option<String> {
        self.entry(context).map(|listed| listed.domain.clone())
    }

    /// The listed host the request matched, as listed (so a port the request added to a
    /// host listed without one is not taken, and a listed port is kept).
    async fn site(&self, context: &DomainResolverContext) -> Option<String> {
        self.entry(context).map(|listed| listed.site.clone())
    }

    async fn domains(&self) -> Vec<String> {
        self.hosts.values().map(|l| l.domain.clone()).collect()
    }
}

impl super::ServerClientBuilder {
    /// Picks the Auth0 domain per request with `resolver` (multiple custom domains). The
    /// fixed [`domain`](Self::domain) stays required: it is the domain of sessions and logins
    /// recorded before domains were, and of calls made without a request (it is also a
    /// domain the resolver may return). Each session is bound to the domain it was created
    /// under and is no session under another.
    ///
    /// ```no_run
    /// use auth0_server_core::client::{AllowListResolver, ServerClient};
    ///
    /// let client = ServerClient::from_env() // AUTH0_DOMAIN=login.acme.example.com …
    ///     .domain_resolver(
    ///         AllowListResolver::new()
    ///             .host("acme.example.com", "login.acme.example.com")
    ///             .host("globex.example.com", "login.globex.example.com"),
    ///     )
    ///     .build()?;
    /// # Ok::<(), auth0_server_core::client::Error>(())
    /// ```
    pub fn domain_resolver(mut self, resolver: impl DomainResolver) -> Self {
        self.domain_resolver = Some(Arc::new(resolver));
        self
    }
}

tokio::task_local! {
    /// The provider (domain) the current client call works under: set once at the public
    /// entry point, read by the code below it that talks to the provider.
    static CURRENT: Arc<Provider>;
}

/// Runs `call` with `provider` as the domain every provider request inside it goes to.
pub(crate) async fn within<F: Future>(provider: Arc<Provider>, call: F) -> F::Output {
    CURRENT.scope(provider, call).await
}

/// The provider set by [`within`], if any.
pub(crate) fn current() -> Option<Arc<Provider>> {
    CURRENT.try_with(Arc::clone).ok()
}

impl super::ServerClient {
    /// The provider of the domain the current call works under: the one set by the public
    /// entry point (see [`within`]), else the configured domain's.
    pub(crate) fn provider(&self) -> Arc<Provider> {
        current().unwrap_or_else(|| self.inner.domains.default_provider().clone())
    }

    /// Runs `call` under the domain this request resolves to ([`within`] the
    /// [`request_provider`](Self::request_provider)): what every public call that takes a
    /// request does first.
    pub(crate) async fn under_request_domain<T, F>(
        &self,
        cx: &StoreContext,
        call: F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let provider = self.request_provider(cx).await?;
        within(provider, call).await
    }

    /// The provider for the domain this request is under.
    pub(crate) async fn request_provider(&self, cx: &StoreContext) -> Result<Arc<Provider>, Error> {
        self.inner.domains.for_request(cx).await
    }

    /// Whether something recorded under `domain` (a session, a login; `None`: the
    /// configured domain) belongs to the domain the current call works under.
    /// Without a resolver every session counts as the configured domain's, as before
    /// domains were recorded.
    pub(crate) fn is_current_domain(&self, recorded: Option<&str>) -> bool {
        if !self.inner.domains.has_resolver() {
            return true;
        }
        let default = self.inner.domains.default_provider();
        let recorded = recorded.map_or_else(|| default.domain().to_owned(), normalize_domain);
        recorded == self.provider().domain()
    }

    /// Refuses a login's callback that came under another domain than the login started.
    pub(crate) fn check_transaction_domain(&self, recorded: Option<&str>) -> Result<(), Error> {
        if self.is_current_domain(recorded) {
            return Ok(());
        }
        let default = self.inner.domains.default_provider();
        Err(Error::DomainMismatch {
            started: recorded.map_or_else(|| default.domain().to_owned(), normalize_domain),
            current: self.provider().domain().to_owned(),
        })
    }
}

impl super::ServerClient {
    /// The callback URL a login started by this request comes back to: the configured
    /// redirect URI, or, when the domain resolver names the request's site
    /// ([`DomainResolver::site`]; [`AllowListResolver`] does), that URI on the site's listed
    /// host (and its port, when listed with one). `None` when the client has no redirect URI.
    /// Built only from configuration and the resolver's list, never from the `Host` header.
    ///
    /// ```no_run
    /// use auth0_server_core::client::{AllowListResolver, ServerClient};
    /// use auth0_server_core::store::StoreContext;
    /// use http::{HeaderMap, HeaderValue, header::HOST};
    ///
    /// # async fn demo() -> Result<(), auth0_server_core::client::Error> {
    /// let client = ServerClient::from_env() // AUTH0_REDIRECT_URI=https://acme.example.com/callback
    ///     .domain_resolver(
    ///         AllowListResolver::new()
    ///             .host("acme.example.com", "login.acme.example.com")
    ///             .host("globex.example.com", "login.globex.example.com"),
    ///     )
    ///     .build()?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(HOST, HeaderValue::from_static("globex.example.com"));
    /// let cx = StoreContext::from_headers(&headers);
    /// let callback = client.redirect_uri_for(&cx).await?;
    /// assert_eq!(callback.unwrap().as_str(), "https://globex.example.com/callback");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDomain`] when the domain resolver knows no domain for the request (or
    /// its host is ambiguous); [`Error::Configuration`] when the site the resolver named is
    /// not a host.
    pub async fn redirect_uri_for(&self, cx: &StoreContext) -> Result<Option<Url>, Error> {
        // The site is asked only for a request whose domain resolves (inside a client call
        // it did already), so a resolver's site never stands for a host it refuses.
        if self.inner.domains.has_resolver() && current().is_none() {
            self.request_provider(cx).await?;
        }
        match self.site_redirect_uri(cx).await? {
            Some(url) => Ok(Some(url)),
            None => Ok(self.inner.config.redirect_uri.clone()),
        }
    }

    /// The configured redirect URI on the request's site, when the resolver names one.
    async fn site_redirect_uri(&self, cx: &StoreContext) -> Result<Option<Url>, Error> {
        let Some(configured) = &self.inner.config.redirect_uri else {
            return Ok(None);
        };
        match self.inner.domains.site(cx).await {
            Some(site) => on_site(configured, &site).map(Some),
            None => Ok(None),
        }
    }

    /// Refuses a login's callback on another site than the one the login started on (two
    /// sites may share an Auth0 domain, so [`check_transaction_domain`] does not see it).
    ///
    /// [`check_transaction_domain`]: Self::check_transaction_domain
    pub(crate) async fn check_transaction_site(
        &self,
        recorded: Option<&str>,
        cx: &StoreContext,
    ) -> Result<(), Error> {
        let (Some(here), Some(started)) = (
            self.site_redirect_uri(cx).await?,
            recorded.and_then(|r| Url::parse(r).ok()),
        ) else {
            return Ok(());
        };
        if started.origin() == here.origin() {
            return Ok(());
        }
        Err(Error::DomainMismatch {
            started: started.origin().ascii_serialization(),
            current: here.origin().ascii_serialization(),
        })
    }

    /// The provider a back-channel logout token is verified with: that of the domain its
    /// (not yet verified) issuer names, when the resolver lists it
    /// ([`DomainResolver::domains`]) or it is the configured domain; else the token is refused
    /// before any request goes out. `request` is the provider of the request's own domain.
    pub(crate) async fn logout_token_provider(
        &self,
        token: &str,
        request: Arc<Provider>,
    ) -> Result<Arc<Provider>, Error> {
        let domains = &self.inner.domains;
        // Without a resolver, or with no readable issuer, the request's domain verifies it
        // (and says what is wrong with it).
        let Some(issuer) = unverified_issuer(token).filter(|_| domains.has_resolver()) else {
            return Ok(request);
        };
        let wanted = normalize_domain(&issuer);
        if wanted == request.domain() {
            return Ok(request);
        }
        match domains.for_issuer(&wanted).await {
            Some(provider) => {
                tracing::debug!(domain = %provider.domain(), "oidc.logout_token_domain");
                Ok(provider)
            }
            None => Err(Error::InvalidLogoutToken(
                "its issuer is not a domain of this app: list the domain in the domain \
                 resolver (DomainResolver::domains) to accept its logout tokens"
                    .to_owned(),
            )),
        }
    }
}

/// `configured` with its host (and port, when `site` has one) replaced by `site`'s. The site
/// is parsed as a host and an optional port, never as a URL: a `#`, `@`, `/` or `?` in it is
/// a configuration error, not a way to another host.
pub(crate) fn on_site(configured: &Url, site: &str) -> Result<Url, Error> {
    let bad = || {
        Error::Configuration(format!(
            "the domain resolver named the site {site:?}, which is not a host or host:port: \
             return a host from the app's own list (DomainResolver::site)"
        ))
    };
    let listed = HostPort::parse(site).ok_or_else(bad)?;
    let mut url = configured.clone();
    url.set_host(Some(listed.host())).map_err(|_| bad())?;
    if let Some(port) = listed.port() {
        url.set_port(Some(port)).map_err(|()| bad())?;
    }
    Ok(url)
}

/// `input` as a normalised `host[:port]` (see [`DomainResolverContext::host`]), or `None`.
#[cfg(feature = "fuzzing")]
pub(crate) fn normalised_host(input: &str) -> Option<String> {
    HostPort::parse(input).map(|h| h.to_string())
}

/// The `iss` claim of a JWT, read without verifying anything (to pick the keys it is then
/// verified with).
pub(crate) fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// The configured domain's provider, the resolver and the other domains' providers.
pub(crate) struct Domains {
    default: Arc<Provider>,
    resolver: Option<Arc<dyn DomainResolver>>,
    http: Http,
    ttl: Duration,
    /// The other domains' providers, by normalised domain.
    cache: quick_cache::sync::Cache<String, Arc<Provider>>,
}

impl Domains {
    pub(crate) fn new(
        default: Arc<Provider>,
        resolver: Option<Arc<dyn DomainResolver>>,
        http: Http,
        ttl: Duration,
    ) -> Self {
        Self {
            default,
            resolver,
            http,
            ttl,
            cache: quick_cache::sync::Cache::new(MAX_CACHED_DOMAINS),
        }
    }

    /// Whether the domain is picked per request.
    pub(crate) fn has_resolver(&self) -> bool {
        self.resolver.is_some()
    }

    /// The configured domain's provider.
    pub(crate) fn default_provider(&self) -> &Arc<Provider> {
        &self.default
    }

    /// The provider for the domain this request is under: the configured one without a
    /// resolver, else the resolver's answer.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDomain`] when the resolver knows no domain for the request, or
    /// [`Error::Configuration`] when its answer is not a domain.
    pub(crate) async fn for_request(&self, cx: &StoreContext) -> Result<Arc<Provider>, Error> {
        let Some(resolver) = &self.resolver else {
            return Ok(self.default.clone());
        };
        let context = DomainResolverContext::from_store_context(cx);
        if let Err(hosts) = context.checked_host() {
            tracing::debug!(hosts = %hosts.escape_debug(), "oidc.domain_ambiguous");
            return Err(Error::UnknownDomain { host: hosts });
        }
        match resolver.resolve(&context).await {
            Some(domain) => self.for_domain(&domain),
            None => {
                let host = context.host().unwrap_or_default();
                // Debug, not warn: anyone can send any Host, so the volume is theirs to choose;
                // the 421 the integration answers shows in access logs.
                tracing::debug!(host = %host.escape_debug(), "oidc.domain_unknown");
                Err(Error::UnknownDomain { host })
            }
        }
    }

    /// The site the resolver names for this request ([`DomainResolver::site`]).
    pub(crate) async fn site(&self, cx: &StoreContext) -> Option<String> {
        let resolver = self.resolver.as_ref()?;
        let site = resolver
            .site(&DomainResolverContext::from_store_context(cx))
            .await?;
        Some(site.trim().to_ascii_lowercase()).filter(|s| !s.is_empty())
    }

    /// The provider of `domain` (normalised) when it is the configured domain or one the
    /// resolver lists; `None` (and nothing fetched) otherwise.
    pub(crate) async fn for_issuer(&self, domain: &str) -> Option<Arc<Provider>> {
        if domain == self.default.domain() {
            return Some(self.default.clone());
        }
        let listed = self.resolver.as_ref()?.domains().await;
        let found = listed.iter().find(|d| {
            issuer_url(d).is_ok_and(|issuer| normalize_domain(issuer.as_str()) == domain)
        })?;
        self.for_domain(found).ok()
    }

    fn for_domain(&self, domain: &str) -> Result<Arc<Provider>, Error> {
        let issuer = issuer_url(domain)?;
        let key = normalize_domain(issuer.as_str());
        if key == self.default.domain() {
            return Ok(self.default.clone());
        }
        let made = self.cache.get_or_insert_with(&key, || {
            Ok::<_, Infallible>(Arc::new(Provider::new(
                self.http.clone(),
                &issuer,
                self.ttl,
            )))
        });
        Ok(made.unwrap_or_else(|never| match never {}))
    }

    /// How many domains besides the configured one have a provider cached.
    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http::header::HOST;

    use super::*;

    fn request_to(host: &str) -> StoreContext {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_str(host).unwrap());
        StoreContext::from_headers(&headers)
    }

    fn domains(resolver: AllowListResolver) -> Domains {
        let config = crate::client::ServerClient::builder()
            .domain("default.example.com")
            .client_id("id")
            .client_secret("secret")
            .secret("a-secret-of-at-least-thirty-two-bytes")
            .redirect_uri("http://localhost:5000/callback")
            .config()
            .unwrap();
        let http = Http::new(&config).unwrap();
        let default = Arc::new(Provider::new(
            http.clone(),
            &config.issuer,
            config.metadata_ttl,
        ));
        Domains::new(default, Some(Arc::new(resolver)), http, config.metadata_ttl)
    }

    #[tokio::test]
    async fn a_listed_host_gets_its_domain_with_or_without_port() {
        let list = AllowListResolver::new().host("A.example.com", "login.a.example.com");
        let d = domains(list);
        for host in ["a.example.com", "A.EXAMPLE.COM:8443"] {
            let provider = d.for_request(&request_to(host)).await.unwrap();
            assert_eq!(provider.domain(), "login.a.example.com", "{host}");
        }
    }

    /// The domain `list` gives a request sent to `host`.
    async fn lookup(list: &AllowListResolver, host: &str) -> Option<String> {
        let context = DomainResolverContext::from_store_context(&request_to(host));
        list.resolve(&context).await
    }

    #[tokio::test]
    async fn a_listed_default_port_matches_the_host_as_browsers_and_http2_send_it() {
        let list = AllowListResolver::new().host("shop.example.com:443", "login.shop.example.com");
        for host in [
            "shop.example.com",
            "shop.example.com:443",
            "SHOP.example.com",
        ] {
            assert_eq!(
                lookup(&list, host).await.as_deref(),
                Some("login.shop.example.com"),
                "{host}"
            );
        }
        let http2 = DomainResolverContext::from_store_context(
            &StoreContext::new()
                .with_url(Url::parse("https://shop.example.com:443/login").unwrap()),
        );
        assert_eq!(
            list.resolve(&http2).await.as_deref(),
            Some("login.shop.example.com")
        );
        assert_eq!(
            lookup(&list, "shop.example.com:8443").await,
            Some("login.shop.example.com".to_owned())
        );
        assert_eq!(lookup(&list, "shop.example.com.evil.net").await, None);
    }

    #[tokio::test]
    async fn an_unlisted_or_missing_host_is_unknown_domain() {
        let d = domains(AllowListResolver::new().host("a.example.com", "login.a.example.com"));
        for cx in [
            request_to("evil.example.net"),
            request_to("a.example.com:x"),
            StoreContext::new(),
        ] {
            let Err(err) = d.for_request(&cx).await else {
                panic!("a host not in the list was resolved");
            };
            assert_eq!(err.code(), "unknown_domain", "{err}");
        }
        assert_eq!(d.cached(), 0, "nothing set up for a refused host");
    }

    fn client_with(resolver: impl DomainResolver) -> crate::client::ServerClient {
        client_with_redirect(resolver, "http://127.0.0.1:5000/callback?x=1")
    }

    fn client_with_redirect(
        resolver: impl DomainResolver,
        redirect_uri: &str,
    ) -> crate::client::ServerClient {
        crate::client::ServerClient::builder()
            .domain("login.a.example.com")
            .client_id("id")
            .client_secret("secret")
            .secret("a-secret-of-at-least-thirty-two-bytes")
            .redirect_uri(redirect_uri)
            .session_backend(auth0_store_memory::MemoryBackend::new())
            .transaction_backend(auth0_store_memory::MemoryTransactionBackend::new())
            .domain_resolver(resolver)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn a_sites_redirect_uri_is_built_from_the_list_never_from_the_host_as_sent() {
        let list = AllowListResolver::new()
            .host("a.example.com", "login.a.example.com")
            .host("B.example.com:8443", "login.b.example.com");
        let client = client_with(list);
        for (host, callback) in [
            ("a.example.com", "http://a.example.com:5000/callback?x=1"),
            // A port the listed host does not have is not taken from the request.
            (
                "A.example.com:6666",
                "http://a.example.com:5000/callback?x=1",
            ),
            (
                "b.example.com:8443",
                "http://b.example.com:8443/callback?x=1",
            ),
        ] {
            let uri = client.redirect_uri_for(&request_to(host)).await.unwrap();
            assert_eq!(uri.unwrap().as_str(), callback, "{host}");
        }
        // Not a site of this app: no redirect URI at all.
        for host in ["evil.example.net", "a.example.com.evil.net"] {
            let uri = client.redirect_uri_for(&request_to(host)).await;
            assert!(
                matches!(&uri, Err(Error::UnknownDomain { .. })),
                "{host}: {uri:?}"
            );
        }
    }

    /// A resolver that maps every host to one domain and names no site.
    struct Everyone;

    #[async_trait::async_trait]
    impl DomainResolver for Everyone {
        async fn resolve(&self, _context: &DomainResolverContext) -> Option<String> {
            Some("login.a.example.com".to_owned())
        }
    }

    #[tokio::test]
    async fn a_resolver_that_names_no_site_keeps_the_configured_redirect_uri() {
        let client = client_with(Everyone);
        let uri = client
            .redirect_uri_for(&request_to("evil.example.net"))
            .await;
        assert_eq!(
            uri.unwrap().unwrap().as_str(),
            "http://127.0.0.1:5000/callback?x=1"
        );
        let domains = Everyone.domains().await;
        assert!(
            domains.is_empty(),
            "no other domain's logout tokens by default"
        );
    }

    #[test]
    fn a_listed_site_that_is_not_a_host_is_a_configuration_error() {
        let configured = Url::parse("https://app.example.com/callback").unwrap();
        for site in [
            "evil.example.net/path",
            "user@evil.example.net",
            "user:pw@evil.example.net",
            "evil.example#.app.example.com",
            "a b",
            "",
        ] {
            assert!(on_site(&configured, site).is_err(), "{site:?}");
        }
        let ok = on_site(&configured, "shop.example.com:8443").unwrap();
        assert_eq!(ok.as_str(), "https://shop.example.com:8443/callback");
    }

    #[tokio::test]
    async fn a_site_listed_with_a_default_port_keeps_it_in_its_callback() {
        let list = AllowListResolver::new().host("shop.example.com:443", "login.a.example.com");
        let client = client_with_redirect(list, "https://app.example.com:8443/callback");
        for host in ["shop.example.com", "shop.example.com:443"] {
            let uri = client.redirect_uri_for(&request_to(host)).await.unwrap();
            assert_eq!(
                uri.unwrap().as_str(),
                "https://shop.example.com/callback",
                "{host}"
            );
        }
    }

    /// A resolver that names `site` for every request.
    struct NamesSite(&'static str);

    #[async_trait::async_trait]
    impl DomainResolver for NamesSite {
        async fn resolve(&self, _context: &DomainResolverContext) -> Option<String> {
            Some("login.a.example.com".to_owned())
        }

        async fn site(&self, _context: &DomainResolverContext) -> Option<String> {
            Some(self.0.to_owned())
        }
    }

    #[tokio::test]
    async fn a_site_with_a_fragment_or_a_password_is_a_configuration_error() {
        for site in [
            "evil.example#.shop.example.com",
            "user:pw@shop.example.com",
            ":pw@shop.example.com",
            "evil.example?.shop.example.com",
        ] {
            let client = client_with(NamesSite(site));
            let uri = client
                .redirect_uri_for(&request_to("shop.example.com"))
                .await;
            assert!(
                matches!(&uri, Err(Error::Configuration(_))),
                "{site:?}: {uri:?}"
            );
        }
    }

    /// A request whose `Host` headers are `hosts` and whose URL (HTTP/2, absolute form) is
    /// `url`.
    fn request_with(hosts: &[&str], url: Option<&str>) -> StoreContext {
        let mut headers = HeaderMap::new();
        for host in hosts {
            headers.append(HOST, HeaderValue::from_str(host).unwrap());
        }
        let cx = StoreContext::from_headers(&headers);
        match url {
            Some(url) => cx.with_url(Url::parse(url).unwrap()),
            None => cx,
        }
    }

    #[tokio::test]
    async fn a_host_header_that_disagrees_with_the_authority_or_another_host_is_refused() {
        let d = domains(
            AllowListResolver::new()
                .host("a.example.com", "login.a.example.com")
                .host("b.example.com", "login.b.example.com"),
        );
        for cx in [
            request_with(&["a.example.com"], Some("https://b.example.com/login")),
            request_with(&["b.example.com"], Some("https://a.example.com/login")),
            request_with(&["a.example.com", "b.example.com"], None),
            request_with(&["a.example.com", "a.example.com"], None),
        ] {
            let context = DomainResolverContext::from_store_context(&cx);
            assert_eq!(context.host(), None);
            let Err(err) = d.for_request(&cx).await else {
                panic!("an ambiguous host was resolved");
            };
            assert_eq!(err.code(), "unknown_domain", "{err}");
        }
        // The same host both ways (a default port or not) is one host.
        for cx in [
            request_with(&["a.example.com"], Some("https://a.example.com/login")),
            request_with(&["A.example.com:443"], Some("https://a.example.com/login")),
            request_with(&[], Some("https://a.example.com/login")),
        ] {
            let provider = d.for_request(&cx).await.unwrap();
            assert_eq!(provider.domain(), "login.a.example.com");
        }
    }

    #[tokio::test]
    async fn listed_hosts_match_in_punycode_and_with_a_trailing_dot() {
        let list = AllowListResolver::new()
            .host("Bücher.example", "login.a.example.com")
            .host("shop.example.com.", "login.b.example.com");
        let d = domains(list);
        for (host, domain) in [
            ("xn--bcher-kva.example", "login.a.example.com"),
            ("XN--BCHER-KVA.example:8443", "login.a.example.com"),
            ("shop.example.com", "login.b.example.com"),
            ("shop.example.com.", "login.b.example.com"),
        ] {
            let provider = d.for_request(&request_to(host)).await.unwrap();
            assert_eq!(provider.domain(), domain, "{host}");
        }
    }

    #[test]
    fn the_unverified_issuer_is_read_from_the_payload_only() {
        use base64::Engine as _;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let token = |payload: &str| format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload));
        assert_eq!(
            unverified_issuer(&token(r#"{"iss":"https://login.b.example.com/"}"#)).as_deref(),
            Some("https://login.b.example.com/")
        );
        for bad in [
            token(r#"{"iss":7}"#),
            token("[]"),
            "a.%%%.c".to_owned(),
            "x".to_owned(),
        ] {
            assert_eq!(unverified_issuer(&bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn each_domain_has_one_provider_and_the_cache_is_bounded() {
        let hosts = 3 * MAX_CACHED_DOMAINS;
        let mut list = AllowListResolver::new();
        for i in 0..hosts {
            list = list.host(
                format!("app{i}.example.com"),
                format!("login{i}.example.com"),
            );
        }
        let d = domains(list);
        let busy = request_to("app0.example.com");
        let first = d.for_request(&busy).await.unwrap();
        let again = d.for_request(&busy).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again), "one cache per domain");
        // Hosts asked once each, the busy site asked between them: the busy site's provider
        // (its discovery and keys) is the one kept.
        for i in 1..hosts {
            d.for_request(&request_to(&format!("app{i}.example.com")))
                .await
                .unwrap();
            let busy_now = d.for_request(&busy).await.unwrap();
            assert!(
                Arc::ptr_eq(&first, &busy_now),
                "the busy site was dropped at {i}"
            );
        }
        assert!(d.cached() <= MAX_CACHED_DOMAINS, "{} cached", d.cached());
    }
}
