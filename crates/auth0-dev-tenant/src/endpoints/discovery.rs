//! `GET /.well-known/openid-configuration`, `GET /.well-known/jwks.json`, and the avatars
//! the `picture` claim points to.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;
use crate::client_key::CLIENT_ASSERTION_ALGORITHMS;
use crate::keys::SIGNING_ALGORITHM;

/// The scopes the tenant knows (any other scope is granted as asked, for APIs).
const SCOPES_SUPPORTED: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The claims the tenant's ID tokens and `/userinfo` may carry.
const CLAIMS_SUPPORTED: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "name",
    "nickname",
    "picture",
    "email",
    "email_verified",
    "org_id",
    "org_name",
    "identities",
];

/// The OpenID Provider metadata.
#[tracing::instrument(name = "dev_tenant.discovery", skip_all)]
pub(super) async fn openid_configuration(State(tenant): State<Shared>) -> Json<Value> {
    Json(json!({
        "issuer": tenant.issuer,
        "authorization_endpoint": tenant.url("authorize"),
        "token_endpoint": tenant.url("oauth/token"),
        "jwks_uri": tenant.url(".well-known/jwks.json"),
        "userinfo_endpoint": tenant.url("userinfo"),
        "end_session_endpoint": tenant.url("oidc/logout"),
        "revocation_endpoint": tenant.url("oauth/revoke"),
        "pushed_authorization_request_endpoint": tenant.url("oauth/par"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            super::ciba::CIBA_GRANT_TYPE,
            super::exchange::FEDERATED_GRANT_TYPE,
            super::exchange::TOKEN_EXCHANGE_GRANT_TYPE,
            super::mfa_grants::MFA_OTP,
            super::mfa_grants::MFA_OOB,
            super::mfa_grants::MFA_RECOVERY_CODE,
            super::passwordless::OTP_GRANT_TYPE,
        ],
        "backchannel_authentication_endpoint": tenant.url("bc-authorize"),
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_user_code_parameter_supported": false,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES_SUPPORTED,
        "claims_supported": CLAIMS_SUPPORTED,
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_details_types_supported": tenant.config.extras.authorization_details_types,
    }))
}

/// The public signing key.
#[tracing::instrument(name = "dev_tenant.jwks", skip_all)]
pub(super) async fn jwks(State(tenant): State<Shared>) -> Json<Value> {
    Json(tenant.key.jwks())
}

/// `GET /avatar/{letter}.svg`: a circle with the letter.
pub(super) async fn avatar(Path(file): Path<String>) -> Response {
    let mut chars = file.strip_suffix(".svg").unwrap_or_default().chars();
    let (Some(letter), None) = (chars.next(), chars.next()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !letter.is_ascii_alphanumeric() {
        return StatusCode::NOT_FOUND.into_response();
    }
    // The hue follows the letter, so users look different from each other.
    let hue = (u32::from(letter) * 37) % 360;
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"96\" height=\"96\" viewBox=\"0 0 96 96\">\
         <circle cx=\"48\" cy=\"48\" r=\"48\" fill=\"hsl({hue},55%,45%)\"/>\
         <text x=\"48\" y=\"62\" font-family=\"sans-serif\" font-size=\"44\" fill=\"#fff\" \
         text-anchor=\"middle\">{letter}</text></svg>"
    );
    let mut response = svg.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}
