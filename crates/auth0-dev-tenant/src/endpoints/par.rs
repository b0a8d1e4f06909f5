//! `POST /oauth/par` (RFC 9126, as Auth0 serves it): the client authenticates as at the
//! token endpoint (a secret, or `private_key_jwt`) and pushes its authorization parameters;
//! the answer's `request_uri` then stands for them at `/authorize`, once, for
//! [`PUSHED_REQUEST_LIFETIME`] seconds, with the same `client_id`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::token::authenticate;
use super::{OAuthError, Params, Shared, no_store};
use crate::memory::{PushedRequest, hash, random_token};
use crate::server::Tenant;

/// How long a pushed request waits for its `/authorize`, in seconds.
pub(crate) const PUSHED_REQUEST_LIFETIME: u64 = 60;
/// What a `request_uri` starts with (RFC 9126 §2.2).
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// The client's credentials: checked here, never kept with the request.
const CLIENT_AUTHENTICATION: [&str; 3] =
    ["client_secret", "client_assertion", "client_assertion_type"];

/// `POST /oauth/par`.
#[tracing::instrument(name = "dev_tenant.par", skip_all)]
pub(super) async fn par(State(tenant): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match push(&tenant, &headers, &body) {
        Ok(answer) => {
            let mut response = (StatusCode::CREATED, Json(answer)).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

fn push(tenant: &Tenant, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::parse(body);
    authenticate(tenant, headers, &params)?;
    if params.get("request_uri")?.is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri cannot be pushed: push the authorization parameters themselves",
        ));
    }
    let mut query = params.encoded_without(&CLIENT_AUTHENTICATION);
    if params.get("client_id")?.is_none() {
        // Authenticated by HTTP Basic: the request names its client all the same.
        query = format!("{query}&client_id={}", tenant.config.client_id);
    }
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", random_token());
    let expires_at = tenant.now().saturating_add(PUSHED_REQUEST_LIFETIME);
    let pushed = PushedRequest { query, expires_at };
    tenant.memory().pushed.insert(hash(&request_uri), pushed);
    Ok(json!({"request_uri": request_uri, "expires_in": PUSHED_REQUEST_LIFETIME}))
}

/// The authorization request that `params`' `request_uri` stands for, taken (a `request_uri`
/// works once) when it is live and `client_id` is this client's; `params` as they are
/// otherwise (without `request_uri`, or with one `/authorize` then refuses as unknown).
pub(super) fn resolve(tenant: &Tenant, params: Params) -> Params {
    let Ok(Some(request_uri)) = params.get("request_uri") else {
        return params;
    };
    let ours = params.get("client_id").ok().flatten() == Some(tenant.config.client_id.as_str());
    let now = tenant.now();
    let pushed = tenant.memory().pushed.remove(&hash(request_uri));
    match pushed {
        Some(pushed) if ours && pushed.expires_at > now => Params::parse(pushed.query.as_bytes()),
        _ => params,
    }
}
