//! Custom token exchange: log in with a token of another system (here a "legacy" login),
//! which a Custom Token Exchange Profile's Action checks. Dev-only: the local dev tenant plays
//! the legacy system too. `GET /legacy-login` shows the form; `POST /legacy-login/issue` has
//! the dev tenant issue a legacy token for an address (`DevTenant::issue_subject_token`) and
//! puts it in the form; `POST /legacy-login` exchanges it
//! (`login_with_custom_token_exchange`) and starts the session. Both posts must come from
//! this app's own page (a login posted from another site would log the victim in as the
//! attacker).

use std::sync::Arc;

use auth0_axum::{Auth, AuthError, SameOriginPost};
use auth0_server::client::{CustomTokenExchangeOptions, Error};
use axum::extract::{Extension, Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{Dev, render};
use crate::App;

/// The subject token type the dev tenant's profile accepts.
pub(crate) const LEGACY_TOKEN_TYPE: &str = "urn:quickstart:legacy-token";

/// The values of `legacy_login.html`.
#[derive(Serialize, Default)]
struct Step {
    token_type: &'static str,
    subject_token: Option<String>,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
pub(crate) struct IssueForm {
    email: String,
}

#[derive(Deserialize)]
pub(crate) struct TokenForm {
    subject_token: String,
}

fn page(app: &App, subject_token: Option<String>, error: Option<&'static str>) -> Response {
    let token_type = LEGACY_TOKEN_TYPE;
    let step = Step {
        token_type,
        subject_token,
        error,
    };
    // The dev tenant's one-time subject token is on the page.
    super::no_store(render(
        app,
        "legacy_login.html",
        "Legacy login",
        false,
        step,
    ))
}

/// The answer when the app does not run the dev tenant: this page is dev-only.
fn not_here() -> Response {
    let message = "The legacy login is a demo of the local dev tenant: start the quickstart \
                   without AUTH0_DOMAIN to try it.";
    (StatusCode::NOT_FOUND, message).into_response()
}

/// `GET /legacy-login`: the form (dev tenant only).
pub(crate) async fn form(
    State(app): State<Arc<App>>,
    Extension(Dev(dev)): Extension<Dev>,
) -> Response {
    match dev {
        Some(_) => page(&app, None, None),
        None => not_here(),
    }
}

/// `POST /legacy-login/issue`: the dev tenant, as the legacy system, issues a token.
pub(crate) async fn issue(
    State(app): State<Arc<App>>,
    Extension(Dev(dev)): Extension<Dev>,
    _: SameOriginPost,
    Form(form): Form<IssueForm>,
) -> Response {
    let Some(tenant) = dev else {
        return not_here();
    };
    match tenant.issue_subject_token(LEGACY_TOKEN_TYPE, form.email.trim()) {
        Some(token) => page(&app, Some(token), None),
        None => page(
            &app,
            None,
            Some("The dev tenant issued no token for that address."),
        ),
    }
}

/// `POST /legacy-login`: the legacy token exchanged; the session starts, the profile shows it.
pub(crate) async fn login(
    State(app): State<Arc<App>>,
    Extension(Dev(dev)): Extension<Dev>,
    _: SameOriginPost,
    auth: Auth,
    Form(form): Form<TokenForm>,
) -> Result<Response, AuthError> {
    if dev.is_none() {
        return Ok(not_here());
    }
    let options = CustomTokenExchangeOptions::new(form.subject_token.trim(), LEGACY_TOKEN_TYPE);
    let exchanged = auth
        .client()
        .login_with_custom_token_exchange(options, auth.context())
        .await;
    match exchanged {
        Ok(_) => Ok(Redirect::to("/profile").into_response()),
        Err(Error::CustomTokenExchange { .. } | Error::InvalidArgument(_)) => {
            let error = "That legacy token was refused (unknown, expired or already used).";
            Ok(page(&app, None, Some(error)))
        }
        Err(e) => Err(e.into()),
    }
}
