//! `GET /userinfo` (and `POST`): the user's claims for a Bearer access token this tenant
//! issued, as its scope allows.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{OAuthError, Shared, no_store};
use crate::memory::hash;
use crate::mint;

/// The challenge of a 401 without a token (RFC 6750 §3).
const BEARER_CHALLENGE: &str = "Bearer realm=\"dev-tenant\"";

/// `GET /userinfo`.
#[tracing::instrument(name = "dev_tenant.userinfo", skip_all)]
pub(super) async fn userinfo(State(tenant): State<Shared>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "send the access token as Authorization: Bearer …",
        )
        .with_challenge(BEARER_CHALLENGE)
        .into_response();
    };
    let now = tenant.now();
    let claims = {
        let memory = tenant.memory();
        memory
            .access_tokens
            .get(&hash(token))
            .filter(|a| a.expires_at > now)
            .map(|a| mint::profile_claims(&tenant, &a.user, &a.scope))
    };
    match claims {
        Some(claims) => {
            let mut response = Json(Value::Object(claims)).into_response();
            no_store(response.headers_mut());
            response
        }
        None => OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is unknown, expired or revoked",
        )
        .with_challenge(format!(
            "{BEARER_CHALLENGE}, error=\"invalid_token\", error_description=\"the access token \
             is unknown, expired or revoked\""
        ))
        .into_response(),
    }
}
