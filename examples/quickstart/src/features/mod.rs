//! The pages that show Auth0 features beyond the quickstart's login, one module each; a
//! newcomer reads them one at a time, when they need that feature. `tests/features.rs` drives
//! them over HTTP. On the dev tenant some pages say where the tenant "sent" a code (it sends
//! nothing); on a real tenant they never do.

mod token_vault;

use std::sync::{Arc, LazyLock};

use auth0_dev_tenant::DevTenantBuilder;
use auth0_pages::Pages;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::pages::{Layout, RENDER_FAILED};
use crate::{App, Settings};

static PAGES: LazyLock<Pages> = LazyLock::new(|| {
    Pages::new(&[
        ("layout.html", include_str!("../../templates/layout.html")),
        (
            "token_vault.html",
            include_str!("../../templates/features/token_vault.html"),
        ),
    ])
});

/// The feature pages' routes; they need the app's state and the integration's layer.
pub(crate) fn routes(_settings: &Settings) -> Router<Arc<App>> {
    Router::new().route("/token-vault", get(token_vault::page))
}

/// What the feature pages need of the local dev tenant beyond the login (nothing yet: it
/// serves the Token Vault connection `dev-connection` to every user).
pub(crate) fn dev_tenant_extras(builder: DevTenantBuilder) -> DevTenantBuilder {
    builder
}

/// The feature page `name` in the quickstart's layout, or a 500 that says why not.
fn render<T: Serialize>(app: &App, name: &str, title: &'static str, page: T) -> Response {
    let layout = Layout {
        title,
        logged_in: true,
        store: app.store_name,
        dev_tenant: app.dev_tenant.as_deref(),
        page,
    };
    match PAGES.render(name, &layout) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a feature page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, RENDER_FAILED).into_response()
        }
    }
}
