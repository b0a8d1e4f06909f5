//! The quickstart's pages that show Auth0 features beyond its login, one module each; a
//! newcomer reads them one at a time, when they need that feature. They are a crate of their
//! own so that the quickstart itself (`examples/quickstart/src`) stays a login app one reads in
//! one sitting; the quickstart mounts them with [`routes`], and its `tests/features.rs` drives
//! them over HTTP. On the dev tenant some pages say where the tenant "sent" a code (it sends
//! nothing); on a real tenant they never do.

mod legacy_login;
mod linking;
mod metrics;
mod passwordless;
pub mod sessions;
mod step_up;
mod step_up_enrolment;
mod token_vault;

use std::sync::{Arc, LazyLock};

use auth0_dev_tenant::{DevTenant, DevTenantBuilder};
use auth0_pages::Pages;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Serialize;

use auth0_dev_tenant::RunningDevTenant;

static PAGES: LazyLock<Pages> = LazyLock::new(|| {
    Pages::new(&[
        (
            "layout.html",
            include_str!("../../quickstart/templates/layout.html"),
        ),
        (
            "token_vault.html",
            include_str!("../templates/token_vault.html"),
        ),
        (
            "passwordless.html",
            include_str!("../templates/passwordless.html"),
        ),
        (
            "legacy_login.html",
            include_str!("../templates/legacy_login.html"),
        ),
        ("step_up.html", include_str!("../templates/step_up.html")),
    ])
});

/// The answer when a page cannot be rendered (the template's error is logged).
const RENDER_FAILED: &str = "This page could not be rendered.";

/// What the pages show beside the user: the store, the API, the dev tenant.
///
/// ```
/// let app = quickstart_features::App {
///     store_name: "memory",
///     audience: Some("https://api.example.com".to_owned()),
///     dev_tenant: None,
/// };
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct App {
    /// The session store's name, for the footer.
    pub store_name: &'static str,
    /// The audience `/api-call` asks a token for.
    pub audience: Option<String>,
    /// The dev tenant's issuer, when the app runs one.
    pub dev_tenant: Option<String>,
}

/// What `layout.html` shows around a page's own values (every page of the quickstart).
#[derive(Serialize)]
struct Layout<'a, T> {
    title: &'static str,
    /// Whether a user is logged in (the navigation, and `Cache-Control: no-store`).
    logged_in: bool,
    store: &'static str,
    dev_tenant: Option<&'a str>,
    #[serde(flatten)]
    page: T,
}

/// The dev tenant, for the pages that show what it "sent": `None` on a real tenant.
#[derive(Clone)]
pub(crate) struct Dev(pub(crate) Option<DevTenant>);

/// The feature pages' routes; they need the app's state (`App`) and the auth0-axum layer.
/// `dev_tenant` is the local dev tenant when the app runs one.
///
/// ```
/// let pages: axum::Router<std::sync::Arc<quickstart_features::App>> =
///     quickstart_features::routes(None);
/// # let _ = pages;
/// ```
pub fn routes(dev_tenant: Option<&RunningDevTenant>) -> Router<Arc<App>> {
    let dev = Dev(dev_tenant.map(|t| t.tenant().clone()));
    Router::new()
        .route("/token-vault", get(token_vault::page))
        .route(
            "/passwordless",
            get(passwordless::start_form).post(passwordless::start),
        )
        .route(
            "/passwordless/verify",
            axum::routing::post(passwordless::verify),
        )
        .route("/step-up", get(step_up::start))
        .route("/step-up/enroll", axum::routing::post(step_up::enroll))
        .route("/step-up/verify", axum::routing::post(step_up::verify))
        .route(
            "/legacy-login",
            get(legacy_login::form).post(legacy_login::login),
        )
        .route(
            "/legacy-login/issue",
            axum::routing::post(legacy_login::issue),
        )
        .route("/link", axum::routing::post(linking::start))
        .route("/link/callback", get(linking::complete))
        .merge(sessions::routes())
        .merge(metrics::routes())
        .layer(Extension(dev))
}

/// What the feature pages need of the local dev tenant beyond the login of an app whose
/// callback is `redirect_uri`: an API that requires MFA, a custom token exchange profile and
/// the account link's callback (Token Vault's `dev-connection` and passwordless are served
/// to every app).
///
/// ```
/// let tenant = auth0_dev_tenant::DevTenant::builder();
/// let tenant = quickstart_features::dev_tenant_extras(tenant, "http://localhost:3000/callback");
/// # let _ = tenant;
/// ```
pub fn dev_tenant_extras(builder: DevTenantBuilder, redirect_uri: &str) -> DevTenantBuilder {
    let builder = builder
        .audience(step_up::STEP_UP_AUDIENCE)
        .require_mfa_for_audience(step_up::STEP_UP_AUDIENCE)
        .custom_token_type(legacy_login::LEGACY_TOKEN_TYPE);
    match linking::callback_for(redirect_uri) {
        Some(callback) => builder.redirect_uri(callback),
        None => builder,
    }
}

/// The first 8 hex digits of a token's SHA-256: enough to see whether two pages show the
/// same token, nothing to use it with.
fn fingerprint(token: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The feature page `name` in the quickstart's layout, or a 500 that says why not.
fn render<T: Serialize>(
    app: &App,
    name: &str,
    title: &'static str,
    logged_in: bool,
    page: T,
) -> Response {
    render_in(&PAGES, app, name, title, logged_in, page)
}

/// The page `name` of `pages` (titled `title`) with its own values `page` in the layout
/// every quickstart page shares, or a 500 that says why not (the error is logged). A page
/// for a logged-in user says `Cache-Control: no-store` ([`page_response`]).
///
/// ```
/// use auth0_pages::Pages;
/// use quickstart_features::{App, render_in};
///
/// let pages = Pages::new(&[("hello.html", "<p>{{ title }}</p>")]);
/// let app = App { store_name: "memory", audience: None, dev_tenant: None };
/// let page = render_in(&pages, &app, "hello.html", "Hello", false, ());
/// assert_eq!(page.status(), 200);
/// ```
pub fn render_in<T: Serialize>(
    pages: &Pages,
    app: &App,
    name: &str,
    title: &'static str,
    logged_in: bool,
    page: T,
) -> Response {
    let layout = Layout {
        title,
        logged_in,
        store: app.store_name,
        dev_tenant: app.dev_tenant.as_deref(),
        page,
    };
    match pages.render(name, &layout) {
        Ok(html) => page_response(html, logged_in),
        Err(e) => {
            tracing::error!(error = %e, page = name, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, RENDER_FAILED).into_response()
        }
    }
}

/// A rendered page; one shown to a logged-in user (their claims, a key, a code, a token's
/// facts) says `Cache-Control: no-store`, so no browser or proxy cache keeps it for the back
/// button or the next user of the machine.
///
/// ```
/// let page = quickstart_features::page_response("<p>Hello</p>".to_owned(), true);
/// assert_eq!(page.headers()["cache-control"], "no-store");
/// ```
pub fn page_response(html: String, logged_in: bool) -> Response {
    let response = Html(html).into_response();
    if logged_in {
        no_store(response)
    } else {
        response
    }
}

/// `response`, saying `Cache-Control: no-store`: for every page showing something that must
/// not outlive the moment (a user's data, a one-time code, a dev tenant's link or token).
pub(crate) fn no_store(mut response: Response) -> Response {
    let no_store = HeaderValue::from_static("no-store");
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, no_store);
    response
}

/// The environment variable `name`, or `default` when it is unset or blank: a page's
/// setting (the connection, the audience it asks for).
pub(crate) fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}
