//! The HTTP endpoints, and what they share: parameter parsing, OAuth error answers, cookies,
//! redirects.

mod authorize;
pub(crate) mod ciba;
mod client_assertion;
mod discovery;
mod exchange;
mod logout;
pub(crate) mod mfa;
mod mfa_grants;
mod par;
pub(crate) mod passwordless;
mod revoke;
mod token;
mod userinfo;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use auth0_server_core::store::{CookieOptions, OwnedCookies, SetCookie, StoreContext};

use crate::pages;
use crate::server::Tenant;

pub use client_assertion::MAX_CLIENT_ASSERTION_LIFETIME;

/// The state handlers receive.
pub(crate) type Shared = Arc<Tenant>;

/// Every endpoint, at its path under the issuer.
pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/", get(home))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route("/avatar/{file}", get(discovery::avatar))
        .route("/authorize", get(authorize::authorize))
        .route(LOGIN_FORM_PATH, post(authorize::submit_login))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/par", post(par::par))
        .route("/bc-authorize", post(ciba::bc_authorize))
        .route("/passwordless/start", post(passwordless::start))
        .route(
            "/passwordless/verify_redirect",
            get(passwordless::verify_redirect),
        )
        .route("/mfa/authenticators", get(mfa::list))
        .route(
            "/mfa/authenticators/{id}",
            axum::routing::delete(mfa::delete),
        )
        .route("/mfa/associate", post(mfa::associate))
        .route("/mfa/challenge", post(mfa::challenge))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/v2/logout", get(logout::v2_logout))
        .route(
            "/oidc/logout",
            get(logout::end_session).post(logout::end_session_form),
        )
        .fallback(not_found)
        // Outermost, so it runs before any endpoint and covers the fallback too.
        .layer(axum::middleware::from_fn(loopback_peers_only))
}

/// Answers requests from this machine only, whichever way the router is served: the peer
/// address (axum's `ConnectInfo<SocketAddr>`) must be loopback. Without it (an app served
/// without `into_make_service_with_connect_info`) nothing is answered: the tenant logs in
/// anyone, so it never guesses.
async fn loopback_peers_only(request: Request, next: Next) -> Response {
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) if peer.ip().to_canonical().is_loopback() => {
            next.run(request).await
        }
        Some(ConnectInfo(peer)) => {
            tracing::warn!(%peer, "dev tenant: request from another machine refused");
            pages::respond(
                StatusCode::FORBIDDEN,
                pages::error(
                    "Not from this machine",
                    "The dev tenant logs in anyone who types an e-mail address, so it answers \
                     only requests from this machine.",
                    "Open it on the machine it runs on (127.0.0.1 or localhost); for a real \
                     tenant, use Auth0.",
                ),
            )
        }
        None => {
            tracing::warn!("dev tenant: the peer address is unknown; request refused");
            pages::respond(
                StatusCode::FORBIDDEN,
                pages::error(
                    "Peer address unknown",
                    "The dev tenant answers only requests from this machine, and this server \
                     does not say where requests come from.",
                    "Serve the app with \
                     router.into_make_service_with_connect_info::<SocketAddr>().",
                ),
            )
        }
    }
}

/// Where the login form is posted.
pub const LOGIN_FORM_PATH: &str = "/u/login";

async fn home(axum::extract::State(tenant): axum::extract::State<Shared>) -> Response {
    pages::respond(
        StatusCode::OK,
        pages::home(&tenant.issuer, &tenant.config.client_id),
    )
}

async fn not_found() -> Response {
    pages::respond(
        StatusCode::NOT_FOUND,
        pages::error(
            "Not found",
            "The dev tenant has no such page.",
            "Its endpoints are listed in /.well-known/openid-configuration.",
        ),
    )
}

/// A parameter was sent more than once (RFC 6749 §3.1: "MUST NOT be included more than once").
#[derive(Debug)]
pub(crate) struct Repeated(pub(crate) &'static str);

/// Query or form parameters, as sent.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(input: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(input).into_owned().collect())
    }

    /// A parameter's value: `None` when absent or empty (RFC 6749 §3.1: sent without a
    /// value is as if omitted), an error when repeated.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<&str>, Repeated> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty());
        let first = values.next();
        if values.next().is_some() {
            return Err(Repeated(name));
        }
        Ok(first)
    }

    /// Every parameter but those named in `left_out`, form-encoded again.
    pub(crate) fn encoded_without(&self, left_out: &[&str]) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in self
            .0
            .iter()
            .filter(|(k, _)| !left_out.contains(&k.as_str()))
        {
            form.append_pair(name, value);
        }
        form.finish()
    }
}

/// An OAuth error answer of the token and userinfo endpoints (RFC 6749 §5.2).
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// The `WWW-Authenticate` challenge, for 401s.
    challenge: Option<String>,
    /// A whole JSON body to answer instead of `error` and `error_description` alone
    /// (Auth0's `mfa_required` carries more).
    body: Option<Box<serde_json::Value>>,
}

impl OAuthError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            challenge: None,
            body: None,
        }
    }

    /// This error answered with `body` (which carries `error` itself).
    pub(crate) fn with_body(mut self, body: serde_json::Value) -> Self {
        self.body = Some(Box::new(body));
        self
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub(crate) fn server_error(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }

    pub(crate) fn with_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.challenge = Some(challenge.into());
        self
    }

    pub(crate) fn error(&self) -> &'static str {
        self.error
    }
}

impl From<Repeated> for OAuthError {
    fn from(Repeated(name): Repeated) -> Self {
        Self::invalid_request(format!("the parameter {name} was sent more than once"))
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = self
            .body
            .map(|b| *b)
            .unwrap_or_else(|| json!({"error": self.error, "error_description": self.description}));
        let mut response = (self.status, axum::Json(body)).into_response();
        no_store(response.headers_mut());
        if let Some(challenge) = self.challenge
            && let Ok(value) = HeaderValue::try_from(challenge)
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A cookie's value from the request, read as the SDK reads its own (the `cookie` crate,
/// pair by pair: a foreign cookie with non-UTF-8 bytes on the same host does not hide it).
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let owned = OwnedCookies::new().with_prefix(name);
    StoreContext::from_headers_owned(headers, &owned)
        .cookie(name)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` for the tenant's own session cookie (HttpOnly, SameSite=Lax, `Path=/`, not
/// `Secure`: the tenant serves plain http on loopback); `None` as `max_age` removes it.
pub(crate) fn session_cookie(
    name: &str,
    value: &str,
    max_age: Option<Duration>,
) -> Option<HeaderValue> {
    let options = CookieOptions {
        secure: false,
        host_prefix: false,
        ..CookieOptions::default()
    };
    let set = match max_age {
        Some(max_age) => SetCookie::new(name, value, Some(max_age), &options),
        None => SetCookie::removal(name, &options),
    };
    HeaderValue::try_from(set.to_header_value()).ok()
}

/// A redirect to `url` (`303 See Other` after a form, else `302 Found`).
pub(crate) fn redirect(status: StatusCode, url: &str) -> Response {
    match HeaderValue::try_from(url) {
        Ok(location) => {
            let mut response = status.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            no_store(response.headers_mut());
            response
        }
        Err(_) => pages::respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::error(
                "Redirect failed",
                "The address to go to cannot be put in a redirect.",
                "Start again from the application.",
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_absent_and_repeats_are_refused() {
        let p = Params::parse(b"a=1&b=&c=x&c=y&d=%20");
        assert_eq!(p.get("a").unwrap(), Some("1"));
        assert_eq!(p.get("b").unwrap(), None);
        assert!(p.get("c").is_err());
        assert_eq!(p.get("d").unwrap(), Some(" "));
        assert_eq!(p.get("zzz").unwrap(), None);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; dev=xyz"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "dev").as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "de"), None);
        // A neighbour with bytes that are not ASCII does not hide the tenant's cookie.
        h.append(
            header::COOKIE,
            HeaderValue::from_bytes(b"pref=Jos\xc3\xa9; bad=\xff; dev2=abc").unwrap(),
        );
        assert_eq!(cookie(&h, "dev2").as_deref(), Some("abc"));
    }
}
