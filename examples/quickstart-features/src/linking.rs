//! Account linking: the profile's "link" button (`POST /link`, from this app's page only)
//! sends the user to the provider to link their account at a connection
//! (`start_link_user`), whose answer comes back to this page's own callback
//! (`GET /link/callback`, `complete_link_user`); the profile then lists the session user's
//! `identities`. The connection is `AUTH0_LINK_CONNECTION`, else the dev tenant's
//! `dev-connection`; the link's callback, `/link/callback` at the app's origin, must be an
//! allowed callback URL of the application.

use auth0_axum::{Auth, AuthError, SameOriginPost, User};
use auth0_server::client::{LinkUserOptions, ServerClient};
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

/// The link's callback, beside the login's: `/link/callback` at the redirect URI's origin.
pub(crate) fn callback_for(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    Some(url.join("/link/callback").ok()?.to_string())
}

fn connection() -> String {
    super::setting("AUTH0_LINK_CONNECTION", auth0_dev_tenant::DEV_CONNECTION)
}

fn callback(client: &ServerClient) -> Option<String> {
    client
        .config()
        .redirect_uri()
        .and_then(|u| callback_for(u.as_str()))
}

fn no_callback() -> Response {
    let message = "The app has no redirect URI, so no link callback: set AUTH0_REDIRECT_URI.";
    (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
}

/// `POST /link` (logged in, from this app's page): off to the provider to link the account.
pub(crate) async fn start(
    _: SameOriginPost,
    User(_): User,
    auth: Auth,
) -> Result<Response, AuthError> {
    let Some(redirect_uri) = callback(auth.client()) else {
        return Ok(no_callback());
    };
    let options = LinkUserOptions {
        redirect_uri: Some(redirect_uri),
        ..LinkUserOptions::new(connection())
    };
    let url = auth
        .client()
        .start_link_user(options, auth.context())
        .await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// `GET /link/callback?code=…&state=…`: the link completed; the profile shows it.
pub(crate) async fn complete(
    User(_): User,
    auth: Auth,
    RawQuery(query): RawQuery,
) -> Result<Response, AuthError> {
    let Some(callback) = callback(auth.client()) else {
        return Ok(no_callback());
    };
    let url = format!("{callback}?{}", query.unwrap_or_default());
    auth.client()
        .complete_link_user(&url, auth.context())
        .await?;
    Ok(Redirect::to("/profile").into_response())
}
