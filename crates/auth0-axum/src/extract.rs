//! Extractors and the require-auth middleware.

use auth0_server_core::client::{AccessToken, AccessTokenOptions, Error, ServerClient};
use auth0_server_core::model::{StateData, UserClaims};
use auth0_server_core::store::{StoreContext, StoreError};
use std::convert::Infallible;

use axum::extract::{FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use tower_service::Service;

use crate::{Auth0, Auth0Config, RequestAuth, pages};

/// The logged-in user, found by [`Auth0::require_auth`] for this request.
#[derive(Clone, Debug)]
struct AuthenticatedUser(UserClaims);

/// The client and this request's store context, for anything the other extractors do not
/// cover: access tokens, the raw session, logout.
///
/// ```no_run
/// use auth0_axum::Auth;
/// use auth0_server_core::client::AccessTokenOptions;
///
/// async fn api_call(auth: Auth) -> Result<String, auth0_axum::AuthError> {
///     let token = auth.access_token(AccessTokenOptions::default()).await?;
///     Ok(format!("got a token for {}", token.audience))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Auth {
    pub(crate) auth0: Auth0,
    pub(crate) cx: StoreContext,
}

impl Auth {
    /// The client.
    pub fn client(&self) -> &ServerClient {
        self.auth0.client()
    }

    /// This request's store context.
    pub fn context(&self) -> &StoreContext {
        &self.cx
    }

    /// The logged-in user, or `None`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn user(&self) -> Result<Option<UserClaims>, AuthError> {
        Ok(self.client().get_user(&self.cx).await?)
    }

    /// The session (without the SDK's internal fields), or `None`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn session(&self) -> Result<Option<StateData>, AuthError> {
        Ok(self.client().get_session(&self.cx).await?)
    }

    /// An access token (refreshed when needed; the refreshed session is saved in this
    /// response's cookies or in the store).
    ///
    /// # Errors
    ///
    /// As [`ServerClient::get_access_token`]; as a response, a missing session or refresh
    /// token sends the user to log in, the rest is an error page.
    pub async fn access_token(
        &self,
        options: AccessTokenOptions,
    ) -> Result<AccessToken, AuthError> {
        Ok(self.client().get_access_token(options, &self.cx).await?)
    }
}

/// An SDK error as a response: a page that says what happened and what to do, with the right
/// status (login again for a missing session). The page and the redirect use the paths of the
/// integration whose [`Auth0::layer`] the request went through; outside it (without the
/// layer, or in a task the handler spawned) the default `/login` and `/callback`.
#[derive(Debug)]
pub struct AuthError {
    error: Error,
}

impl From<Error> for AuthError {
    fn from(error: Error) -> Self {
        Self { error }
    }
}

tokio::task_local! {
    /// The integration the request being handled went through: set by the bridge layer for
    /// the inner service's future, so an [`AuthError`] renders with its paths.
    pub(crate) static CURRENT: Auth0;
}

/// The response for `error` with `config`'s login and callback paths: back to the login for
/// a missing or ended session, else a page that says what to do.
pub(crate) fn render_auth_error(error: &Error, config: &Auth0Config) -> Response {
    match error {
        Error::MissingSession
        | Error::MissingRefreshToken
        | Error::Store(StoreError::SessionEnded) => {
            Redirect::to(&config.login_path).into_response()
        }
        _ => pages::error_page(error, &config.login_path, &config.callback_path),
    }
}

impl AuthError {
    /// The SDK error.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        CURRENT
            .try_with(|auth0| render_auth_error(&self.error, auth0.config()))
            .unwrap_or_else(|_| render_auth_error(&self.error, &Auth0Config::default()))
    }
}

#[allow(clippy::result_large_err)] // the rejection is the response itself, built once
fn request_auth(parts: &Parts) -> Result<RequestAuth, Response> {
    parts
        .extensions
        .get::<RequestAuth>()
        .cloned()
        .ok_or_else(pages::missing_layer)
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let RequestAuth { auth0, cx } = request_auth(parts)?;
        Ok(Self { auth0, cx })
    }
}

/// The logged-in user; anonymous visitors are redirected to log in and come back here.
#[derive(Clone, Debug)]
pub struct User(pub UserClaims);

/// The logged-in user, or `None` for an anonymous visitor.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<UserClaims>);

/// The session (without the SDK's internal fields), or `None`.
#[derive(Clone, Debug)]
pub struct Session(pub Option<StateData>);

/// The login URL that brings the visitor back to this request's page (its whole path, also
/// inside a nested router, which sees its path without the prefix).
fn login_redirect(auth0: &Auth0, parts: &Parts) -> Response {
    let uri = match parts.extensions.get::<OriginalUri>() {
        Some(OriginalUri(original)) => original,
        None => &parts.uri,
    };
    let back = uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("returnTo", back)
        .finish();
    Redirect::to(&format!("{}?{query}", auth0.config().login_path)).into_response()
}

async fn find_user(parts: &Parts) -> Result<(RequestAuth, Option<UserClaims>), Response> {
    let auth = request_auth(parts)?;
    if let Some(AuthenticatedUser(user)) = parts.extensions.get::<AuthenticatedUser>() {
        return Ok((auth, Some(user.clone())));
    }
    let user = auth
        .auth0
        .client()
        .get_user(&auth.cx)
        .await
        .map_err(|e| AuthError::from(e).into_response())?;
    Ok((auth, user))
}

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match find_user(parts).await? {
            (_, Some(user)) => Ok(Self(user)),
            (auth, None) => Err(login_redirect(&auth.auth0, parts)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(find_user(parts).await?.1))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let auth = request_auth(parts)?;
        let session = auth
            .auth0
            .client()
            .get_session(&auth.cx)
            .await
            .map_err(|e| AuthError::from(e).into_response())?;
        Ok(Self(session))
    }
}

/// Runs `inner` for a logged-in user (remembered for the extractors); anonymous visitors
/// go to the login route and come back here. The integration's own routes (login, callback,
/// logout, back-channel logout) pass through, so the layer may also wrap them.
pub(crate) async fn require_auth<S>(auth0: Auth0, request: Request, mut inner: S) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    if auth0.is_own_route(request.uri().path()) {
        let Ok(response) = inner.call(request).await;
        return response;
    }
    let (mut parts, body) = request.into_parts();
    match find_user(&parts).await {
        Ok((_, Some(user))) => {
            parts.extensions.insert(AuthenticatedUser(user));
            let Ok(response) = inner.call(Request::from_parts(parts, body)).await;
            response
        }
        Ok((_, None)) => login_redirect(&auth0, &parts),
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn respond(error: Error) -> Response {
        AuthError::from(error).into_response()
    }

    #[test]
    fn a_missing_or_ended_session_sends_to_the_login_and_other_errors_get_a_page() {
        for error in [
            Error::MissingSession,
            Error::MissingRefreshToken,
            Error::Store(StoreError::SessionEnded),
        ] {
            let response = respond(error);
            assert!(response.status().is_redirection());
            assert_eq!(response.headers()["location"], "/login");
        }
        let response = respond(Error::Store(StoreError::Conflict));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
