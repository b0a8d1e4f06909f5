//! `POST /oauth/revoke` (RFC 7009, as Auth0 serves it): the client authenticates as at the
//! token endpoint (a secret, or `private_key_jwt`), and a refresh token it names ends with
//! its grant (every token issued under that login). An unknown or already revoked token is
//! answered 200 too, as the RFC asks, so the answer tells nothing about a token.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::token::authenticate;
use super::{OAuthError, Params, Shared};
use crate::memory::hash;

/// `POST /oauth/revoke`.
#[tracing::instrument(name = "dev_tenant.revoke", skip_all)]
pub(super) async fn revoke(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let token = match checked(&tenant, &headers, &params) {
        Ok(token) => token,
        Err(error) => return error.into_response(),
    };
    let mut memory = tenant.memory();
    if let Some(grant) = memory.refresh_tokens.get(&hash(token)).map(|r| r.grant) {
        memory.revoke_grant(grant);
        tracing::info!("a refresh token was revoked, with its grant");
    }
    StatusCode::OK.into_response()
}

/// The client authenticated, and the token it names.
fn checked<'a>(
    tenant: &crate::server::Tenant,
    headers: &HeaderMap,
    params: &'a Params,
) -> Result<&'a str, OAuthError> {
    authenticate(tenant, headers, params)?;
    match params.get("token")? {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(OAuthError::invalid_request("token is required")),
    }
}
