//! [`Auth0Layer`]: the integration's two middlewares as one named tower layer.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use auth0_server_core::store::StoreContext;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::Response;
use tower_layer::Layer;
use tower_service::Service;

use crate::extract;
use crate::{Auth0, RequestAuth};

/// What an [`Auth0Layer`] does to the requests it wraps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Cookies in, `Set-Cookie` out, error pages rendered with the configured paths.
    Bridge,
    /// Anonymous visitors go to the login route.
    RequireAuth,
}

/// A tower [`Layer`] of the integration: [`Auth0::layer`] (the bridge between requests and
/// the stores) or [`Auth0::require_auth`] (protected routes). Cheap to clone.
///
/// ```no_run
/// use auth0_axum::{Auth0, Auth0Layer};
/// # fn build(auth0: Auth0) {
/// let bridge: Auth0Layer = auth0.layer();
/// let protect: Auth0Layer = auth0.require_auth();
/// # let _ = (bridge, protect);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Auth0Layer {
    auth0: Auth0,
    role: Role,
}

impl Auth0Layer {
    pub(crate) fn bridge(auth0: Auth0) -> Self {
        Self {
            auth0,
            role: Role::Bridge,
        }
    }

    pub(crate) fn require_auth(auth0: Auth0) -> Self {
        Self {
            auth0,
            role: Role::RequireAuth,
        }
    }
}

impl<S> Layer<S> for Auth0Layer {
    type Service = Auth0Service<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth0Service {
            inner,
            auth0: self.auth0.clone(),
            role: self.role,
        }
    }
}

/// The service an [`Auth0Layer`] wraps around a route or a router.
#[derive(Clone, Debug)]
pub struct Auth0Service<S> {
    inner: S,
    auth0: Auth0,
    role: Role,
}

/// The future of an [`Auth0Service`].
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request> for Auth0Service<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service that was polled ready handles this request; a fresh clone stays behind.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let auth0 = self.auth0.clone();
        match self.role {
            Role::Bridge => Box::pin(async move { Ok(bridge(auth0, request, inner).await) }),
            Role::RequireAuth => {
                Box::pin(async move { Ok(extract::require_auth(auth0, request, inner).await) })
            }
        }
    }
}

/// Runs `inner` with this request's cookies in its extensions (and this integration as the
/// one an [`AuthError`](crate::AuthError) renders with), then writes the stores' cookie
/// changes onto the response.
async fn bridge<S>(auth0: Auth0, mut request: Request, mut inner: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    // Only this SDK's cookies are materialised, each pair read on its own: a header of
    // foreign or malformed cookies costs one pass over its bytes.
    let cx = StoreContext::from_headers_owned(request.headers(), &auth0.inner.owned_cookies);
    // The Host header is in `cx` already; an absolute URI (HTTP/2's `:authority`) goes in
    // too, for a domain resolver (multiple custom domains).
    let cx = match absolute_url(request.uri()) {
        Some(url) => cx.with_url(url),
        None => cx,
    };
    request.extensions_mut().insert(RequestAuth {
        auth0: auth0.clone(),
        cx: cx.clone(),
    });
    let Ok(mut response) = extract::CURRENT.scope(auth0, inner.call(request)).await;
    for cookie in cx.take_changes() {
        match HeaderValue::from_str(&cookie.to_header_value()) {
            Ok(value) => {
                response.headers_mut().append(SET_COOKIE, value);
            }
            Err(e) => {
                tracing::error!(cookie = %cookie.name, error = %e, "a cookie could not be written")
            }
        }
    }
    response
}

/// The request's URI as a URL when it names its scheme and authority (HTTP/2, or an
/// absolute-form HTTP/1 request); `None` for the usual origin-form `/path`.
fn absolute_url(uri: &axum::http::Uri) -> Option<url::Url> {
    uri.scheme()?;
    uri.authority()?;
    url::Url::parse(&uri.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::absolute_url;

    #[test]
    fn only_an_absolute_uri_becomes_the_requests_url() {
        let h2: axum::http::Uri = "https://shop-a.example.com/login".parse().unwrap();
        let url = absolute_url(&h2).unwrap();
        assert_eq!(url.host_str(), Some("shop-a.example.com"));
        let h1: axum::http::Uri = "/login?x=1".parse().unwrap();
        assert_eq!(absolute_url(&h1), None);
    }
}
