//! The login, callback, logout and back-channel logout routes.

use std::collections::BTreeMap;

use auth0_server_core::client::{Error, LogoutOptions, StartLoginOptions};
use auth0_server_core::store::StoreError;
use axum::Router;
use axum::extract::{Form, Query};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::extract::Auth;
use crate::initiator::{Initiator, initiator};
use crate::{Auth0, pages, safe_return_to};

/// Authorization parameters `/login` passes on from its query string.
const PASSED_PARAMS: &[&str] = &[
    "screen_hint",
    "prompt",
    "login_hint",
    "organization",
    "invitation",
    "ui_locales",
];

pub(crate) fn routes<S: Clone + Send + Sync + 'static>(auth0: &Auth0) -> Router<S> {
    let c = auth0.config();
    Router::new()
        .route(&c.login_path, get(login))
        .route(&c.callback_path, get(callback))
        .route(&c.logout_path, get(logout).post(logout_form))
        .route(&c.backchannel_logout_path, post(backchannel_logout))
}

/// This request's site's origin: that of the redirect URI its logins come back to (per site
/// under a domain resolver that names sites, see `ServerClient::redirect_uri_for`; never
/// taken from the `Host` header as it came). Computed once per request and passed on.
///
/// A host the domain resolver does not serve is the 421 page here, before anything else (a
/// logout under it neither asks nor checks `returnTo` against another site's origin).
pub(crate) async fn app_origin(auth: &Auth) -> Result<String, Response> {
    // A client without a redirect URI (CIBA only) has no origin: no absolute returnTo is
    // accepted then, and a logout always asks first.
    match auth.client().redirect_uri_for(auth.context()).await {
        Ok(uri) => Ok(uri
            .map(|uri| uri.origin().ascii_serialization())
            .unwrap_or_default()),
        Err(error) => {
            let config = auth.auth0.config();
            Err(pages::error_page(
                &error,
                &config.login_path,
                &config.callback_path,
            ))
        }
    }
}

fn checked_return_to(auth: &Auth, origin: &str, target: Option<&str>) -> Option<String> {
    safe_return_to(target?, origin, &auth.auth0.config().allowed_return_origins)
}

async fn login(auth: Auth, Query(query): Query<BTreeMap<String, String>>) -> Response {
    let config = auth.auth0.config();
    let origin = match app_origin(&auth).await {
        Ok(origin) => origin,
        Err(page) => return page,
    };
    let return_to = checked_return_to(&auth, &origin, query.get("returnTo").map(String::as_str))
        .unwrap_or_else(|| config.default_return_to.clone());
    let options = StartLoginOptions {
        app_state: Some(json!({ "returnTo": return_to })),
        authorization_params: query
            .iter()
            .filter(|(k, _)| PASSED_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.as_str().into()))
            .collect(),
        ..StartLoginOptions::default()
    };
    match auth
        .client()
        .start_interactive_login(options, auth.context())
        .await
    {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(e) => pages::error_page(&e, &config.login_path, &config.callback_path),
    }
}

async fn callback(auth: Auth, uri: Uri) -> Response {
    let config = auth.auth0.config();
    let callback = uri.path_and_query().map_or("", |p| p.as_str());
    match auth
        .client()
        .complete_interactive_login(callback, auth.context())
        .await
    {
        Ok(done) => {
            let target = done
                .app_state
                .as_ref()
                .and_then(|s| s.get("returnTo"))
                .and_then(Value::as_str);
            let to = match app_origin(&auth).await {
                Ok(origin) => checked_return_to(&auth, &origin, target),
                Err(page) => return page,
            };
            let to = to.unwrap_or_else(|| config.default_return_to.clone());
            Redirect::to(&to).into_response()
        }
        // A second tab's callback after the first tab logged in: its transaction went with
        // the first login (all are cleared then). Nothing to do but go on, logged in.
        Err(Error::MissingTransaction) if matches!(auth.user().await, Ok(Some(_))) => {
            Redirect::to(&config.default_return_to).into_response()
        }
        Err(e) => pages::error_page(&e, &config.login_path, &config.callback_path),
    }
}

/// `GET /logout`: logs out in one step when the request comes from this app, its site or
/// the user; otherwise answers the page that asks (see [`crate::initiator`]).
async fn logout(
    auth: Auth,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    logout_request(&auth, &headers, StatusCode::OK, query.get("returnTo")).await
}

/// `POST /logout` (the confirmation page's form): the same check, and a request from another
/// site is refused (403) with the page that asks.
async fn logout_form(
    auth: Auth,
    headers: HeaderMap,
    form: Result<Form<BTreeMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    logout_request(&auth, &headers, StatusCode::FORBIDDEN, form.get("returnTo")).await
}

async fn logout_request(
    auth: &Auth,
    headers: &HeaderMap,
    ask_status: StatusCode,
    return_to: Option<&String>,
) -> Response {
    let config = auth.auth0.config();
    let origin = match app_origin(auth).await {
        Ok(origin) => origin,
        Err(page) => return page,
    };
    let return_to = checked_return_to(auth, &origin, return_to.map(String::as_str));
    match initiator(headers, &origin) {
        Initiator::Trusted(evidence) => {
            tracing::debug!(evidence, "logout");
            end_session(auth, &origin, return_to).await
        }
        Initiator::Untrusted(why) => {
            tracing::info!(
                why,
                "a logout request that may come from another site: the user is asked first"
            );
            pages::logout_confirmation(
                ask_status,
                &config.logout_path,
                return_to.as_deref(),
                &config.default_return_to,
            )
        }
    }
}

/// Ends the session, then sends the browser to the provider's logout, which brings it back to
/// `return_to` (or the default); straight to that page when the provider cannot be reached.
async fn end_session(auth: &Auth, origin: &str, return_to: Option<String>) -> Response {
    let config = auth.auth0.config();
    let local = return_to.unwrap_or_else(|| config.default_return_to.clone());
    let absolute = if local.starts_with('/') {
        format!("{origin}{local}")
    } else {
        local.clone()
    };
    let options = LogoutOptions {
        return_to: Some(absolute),
    };
    match auth.client().logout(options, auth.context()).await {
        // ProviderUnavailable: the session ended here, and core logged why.
        Ok(redirect) => match redirect.provider_url() {
            Some(url) => Redirect::to(url.as_str()).into_response(),
            None => Redirect::to(&local).into_response(),
        },
        Err(e) => pages::error_page(&e, &config.login_path, &config.callback_path),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    logout_token: String,
}

async fn backchannel_logout(
    auth: Auth,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "a logout_token form field is required",
        );
    };
    match auth
        .client()
        .handle_backchannel_logout(&form.logout_token, auth.context())
        .await
    {
        Ok(ended) => {
            tracing::info!(ended, "back-channel logout");
            StatusCode::OK.into_response()
        }
        Err(Error::InvalidLogoutToken(reason)) => {
            pages::message(StatusCode::BAD_REQUEST, "Invalid logout token", &reason)
        }
        // A host the app does not serve: 421, as for every other route. A 5xx here would ask
        // the provider to send the token again, and would print the attacker's host.
        Err(e @ Error::UnknownDomain { .. }) => {
            let (status, title, advice) = pages::describe(&e);
            pages::message(status, title, &advice)
        }
        Err(Error::Store(StoreError::Unsupported { hint, .. })) => pages::message(
            StatusCode::NOT_IMPLEMENTED,
            "Back-channel logout is not supported",
            hint,
        ),
        Err(e) => pages::message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Logout failed",
            &e.to_string(),
        ),
    }
}
