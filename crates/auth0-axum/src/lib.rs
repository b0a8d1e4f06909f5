//! [axum] integration for [auth0-server]: what Auth0's Flask quickstart gets from its
//! framework glue, for axum.
//!
//! - [`Auth0::routes`]: `GET /login` (with an optional `returnTo`), `GET /callback`,
//!   `GET /logout` and `POST /logout` (with an optional `returnTo`), and
//!   `POST /backchannel-logout` (paths configurable).
//! - [`Auth0::layer`]: the bridge between a request and the stores: cookies in, `Set-Cookie`
//!   out. Put it outermost.
//! - [`Auth0::require_auth`]: a layer for protected routes that sends anonymous visitors to
//!   `/login?returnTo=<the page>` (the quickstart's `@require_auth`).
//! - Extractors: [`User`] (the logged-in user, or the same redirect), [`MaybeUser`],
//!   [`Session`] and [`Auth`] (for access tokens and anything else of the client's).
//! - [`SameOriginPost`]: the guard for the app's own state-changing form posts.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use auth0_axum::{Auth0, User};
//! use auth0_server_core::client::ServerClient;
//!
//! async fn profile(User(user): User) -> String {
//!     format!("Hello, {}", user.name.unwrap_or(user.sub))
//! }
//!
//! # fn build(client: ServerClient) {
//! // `client`: ServerClient::from_env()…build(), made once at start-up.
//! let auth0 = Auth0::new(client);
//! let app: Router = Router::new()
//!     .route("/profile", get(profile).route_layer(auth0.require_auth()))
//!     .merge(auth0.routes())
//!     .layer(auth0.layer());
//! # }
//! ```
//!
//! `returnTo` goes only to a path of this app, or to an origin in the allow-list
//! ([`Auth0Config::allow_return_origin`]): never an open redirect.
//!
//! One app may serve several sites, each through its own Auth0 custom domain (the client's
//! `domain_resolver`, e.g. an `AllowListResolver`): then each site's `/login` comes back to
//! the callback on that site (`ServerClient::redirect_uri_for`), and "this app's origin" for
//! `returnTo`, logout and its cross-site check is the site's. Hosts the resolver does not
//! know, and ambiguous ones (several `Host` headers, or a `Host` that disagrees with an
//! absolute-form or HTTP/2 authority), get 421 on every route, `/logout` included.
//!
//! Logout ends the session here first, then sends the browser to the provider's logout
//! (or straight to `returnTo`, with a warning in the log, when the provider cannot be
//! reached). A link on this app, its site, or a typed URL logs out in one step; a request
//! another site started (`Sec-Fetch-Site: cross-site`, or without it an `Origin` or
//! `Referer` that is not this app's, or none of these headers at all) gets a page that asks
//! "Log out?" with a button, so no other site can log a user out.
//!
//! [axum]: https://docs.rs/axum
//! [auth0-server]: https://docs.rs/auth0-server
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

mod extract;
mod initiator;
pub mod layer;
mod pages;
mod return_to;
mod routes;
mod same_origin;

use std::sync::Arc;

use auth0_server_core::client::ServerClient;
use auth0_server_core::store::{OwnedCookies, StoreContext};
use axum::Router;

pub use extract::{Auth, AuthError, MaybeUser, Session, User};
pub use layer::{Auth0Layer, Auth0Service};
pub use return_to::safe_return_to;
pub use same_origin::SameOriginPost;

/// Paths and redirect rules of the integration.
#[derive(Clone, Debug)]
pub struct Auth0Config {
    /// The login route (`/login`).
    pub login_path: String,
    /// The callback route: always the path of the client's redirect URI
    /// ([`Auth0::with_config`] sets it from there, whatever it was).
    pub callback_path: String,
    /// The logout route (`/logout`), for `GET` (a link) and `POST` (its confirmation page).
    pub logout_path: String,
    /// The back-channel logout route (`/backchannel-logout`).
    pub backchannel_logout_path: String,
    /// Where users go after logging in or out when no `returnTo` was given (`/`).
    pub default_return_to: String,
    /// Other origins `returnTo` may point at (exactly `scheme://host[:port]`).
    pub allowed_return_origins: Vec<String>,
}

impl Default for Auth0Config {
    fn default() -> Self {
        Self {
            login_path: "/login".to_owned(),
            callback_path: "/callback".to_owned(),
            logout_path: "/logout".to_owned(),
            backchannel_logout_path: "/backchannel-logout".to_owned(),
            default_return_to: "/".to_owned(),
            allowed_return_origins: Vec::new(),
        }
    }
}

impl Auth0Config {
    /// Allows `returnTo` to point at another origin (e.g. `https://app.example.com`).
    pub fn allow_return_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_return_origins.push(origin.into());
        self
    }
}

/// The integration: a [`ServerClient`] and its routes and layers. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Auth0 {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) client: ServerClient,
    pub(crate) config: Auth0Config,
    /// The cookie names the client's stores use: all a request's context keeps.
    pub(crate) owned_cookies: OwnedCookies,
}

/// What the bridge layer puts in each request's extensions.
#[derive(Clone, Debug)]
pub(crate) struct RequestAuth {
    pub(crate) auth0: Auth0,
    pub(crate) cx: StoreContext,
}

impl Auth0 {
    /// The integration with the default paths.
    pub fn new(client: ServerClient) -> Self {
        Self::with_config(client, Auth0Config::default())
    }

    /// The integration with other paths or redirect rules. The callback route is the path
    /// of the client's redirect URI, so the two cannot disagree.
    pub fn with_config(client: ServerClient, mut config: Auth0Config) -> Self {
        match client.config().redirect_uri() {
            Some(uri) => config.callback_path = uri.path().to_owned(),
            None => tracing::warn!(
                "the client has no redirect URI: /login will answer an error until \
                 AUTH0_REDIRECT_URI is set"
            ),
        }
        let owned_cookies = client.config().owned_cookies();
        Self {
            inner: Arc::new(Inner {
                client,
                config,
                owned_cookies,
            }),
        }
    }

    /// The client.
    pub fn client(&self) -> &ServerClient {
        &self.inner.client
    }

    /// The configuration.
    pub fn config(&self) -> &Auth0Config {
        &self.inner.config
    }

    /// Whether `path` is one of the integration's own routes.
    pub(crate) fn is_own_route(&self, path: &str) -> bool {
        let config = self.config();
        [
            &config.login_path,
            &config.callback_path,
            &config.logout_path,
            &config.backchannel_logout_path,
        ]
        .iter()
        .any(|own| own.as_str() == path)
    }

    /// The login, callback, logout and back-channel logout routes.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        routes::routes(self)
    }

    /// The layer that gives handlers the request's cookies, writes the stores' cookie
    /// changes onto the response, and renders [`AuthError`]s with this integration's paths.
    /// Apply it to the whole app, outermost.
    pub fn layer(&self) -> Auth0Layer {
        Auth0Layer::bridge(self.clone())
    }

    /// The layer for protected routes (use it with `route_layer`): anonymous visitors are
    /// redirected to the login route with `returnTo` set to the page they asked for.
    pub fn require_auth(&self) -> Auth0Layer {
        Auth0Layer::require_auth(self.clone())
    }
}
