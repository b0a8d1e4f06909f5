//! `private_key_jwt` at the token endpoint (RFC 7523 §3, OpenID Connect Core §9): the client
//! assertion must verify with the application's registered public key, name the client as
//! `iss` and `sub`, be for this tenant (`aud`), be unexpired, and be used once (`jti`).

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use super::{OAuthError, Params};
use crate::memory::hash;
use crate::server::Tenant;

/// The `client_assertion_type` of a signed client assertion.
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest a client assertion may live (`exp` after now): the tenant remembers each
/// `jti` until its assertion expires, so that memory stays bounded.
pub const MAX_CLIENT_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
/// Clock skew tolerated on a client assertion's `exp`.
const CLOCK_SKEW: u64 = 5;

fn invalid_client(description: impl Into<String>) -> OAuthError {
    OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// Whether the request authenticates with a client assertion.
pub(super) fn is_used(params: &Params) -> Result<bool, OAuthError> {
    Ok(params.get("client_assertion")?.is_some() || params.get("client_assertion_type")?.is_some())
}

/// Authenticates the client by its assertion.
pub(super) fn authenticate(
    tenant: &Tenant,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), OAuthError> {
    let config = &tenant.config;
    if headers.contains_key(header::AUTHORIZATION) || params.get("client_secret")?.is_some() {
        return Err(OAuthError::invalid_request(
            "the client authenticated twice (a client assertion and a client secret): use one \
             method",
        ));
    }
    if params.get("client_assertion_type")? != Some(CLIENT_ASSERTION_TYPE) {
        return Err(OAuthError::invalid_request(format!(
            "client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
        )));
    }
    let assertion = params
        .get("client_assertion")?
        .ok_or_else(|| OAuthError::invalid_request("client_assertion is required"))?;
    let Some(key) = &config.client_key else {
        return Err(invalid_client(format!(
            "the client {} has no public key registered, so it cannot use private_key_jwt: \
             authenticate with its client secret, or register its public key \
             (DevTenantBuilder::client_public_key)",
            config.client_id
        )));
    };
    let claims = key.verify(assertion).map_err(invalid_client)?;
    check_claims(tenant, params, &claims)?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let mut memory = tenant.memory();
    if memory
        .used_assertions
        .insert(hash(jti), exp.saturating_add(CLOCK_SKEW))
        .is_some()
    {
        return Err(invalid_client(
            "this client assertion was already used (its jti was seen before): sign a fresh \
             one for each request",
        ));
    }
    Ok(())
}

/// `iss` and `sub` the client id, `aud` this tenant, `exp` in the near future, a `jti`.
fn check_claims(
    tenant: &Tenant,
    params: &Params,
    claims: &Map<String, Value>,
) -> Result<(), OAuthError> {
    let client_id = tenant.config.client_id.as_str();
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(invalid_client(format!(
            "the client assertion's iss and sub must both be the client id {client_id:?}"
        )));
    }
    if params.get("client_id")?.is_some_and(|id| id != client_id) {
        return Err(invalid_client(
            "the client_id in the form is not the one the client assertion names",
        ));
    }
    let token_endpoint = tenant.url("oauth/token");
    let accepted = |aud: &str| aud == tenant.issuer || aud == token_endpoint;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => accepted(aud),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(accepted),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid_client(format!(
            "the client assertion's aud must be the tenant's issuer {:?} (or its token \
             endpoint)",
            tenant.issuer
        )));
    }
    let now = tenant.now();
    let Some(exp) = claims.get("exp").and_then(Value::as_u64) else {
        return Err(invalid_client("the client assertion needs an exp"));
    };
    if exp.saturating_add(CLOCK_SKEW) <= now {
        return Err(invalid_client(
            "the client assertion expired: sign a fresh one for each request",
        ));
    }
    if exp > now.saturating_add(MAX_CLIENT_ASSERTION_LIFETIME.as_secs()) {
        return Err(invalid_client(format!(
            "the client assertion lives too long: its exp may be at most {} seconds from now",
            MAX_CLIENT_ASSERTION_LIFETIME.as_secs()
        )));
    }
    if text("jti").is_none_or(str::is_empty) {
        return Err(invalid_client("the client assertion needs a jti"));
    }
    Ok(())
}
