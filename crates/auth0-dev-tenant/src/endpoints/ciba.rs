//! Client-Initiated Backchannel Authentication (CIBA, poll mode) as Auth0 has it:
//! `POST /bc-authorize` with Auth0's `login_hint` JSON (`{"format":"iss_sub","iss":…,
//! "sub":…}`), then the `urn:openid:params:grant-type:ciba` grant at `/oauth/token`, which
//! answers `authorization_pending`, `slow_down` (polled sooner than the interval: the
//! interval grows by 5 seconds), `access_denied`, `expired_token` or the tokens.
//!
//! The user's "authentication device" is the app's code or test:
//! [`DevTenant::backchannel_requests`](crate::DevTenant::backchannel_requests) lists the
//! pending requests and [`DevTenant::answer_backchannel_request`](crate::DevTenant::answer_backchannel_request)
//! approves or denies one.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::token::{Issue, authenticate, issue_tokens};
use super::{OAuthError, Params, Shared, no_store};
use crate::config::BACKCHANNEL_REQUEST_LIFETIME;
use crate::memory::{
    BackchannelAnswer, BackchannelRequest, Grant, has_scope, hash, parse_scope, random_token,
    random_token_of,
};
use crate::server::Tenant;

/// The CIBA grant type.
pub(crate) const CIBA_GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";
/// Seconds added to a request's interval at each `slow_down` (CIBA Core §11).
const SLOW_DOWN_STEP: u64 = 5;

/// A CIBA request waiting for the user, as
/// [`DevTenant::backchannel_requests`](crate::DevTenant::backchannel_requests) lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingBackchannelRequest {
    /// What to pass to [`DevTenant::answer_backchannel_request`](crate::DevTenant::answer_backchannel_request).
    pub id: String,
    /// The user asked to approve.
    pub sub: String,
    /// The message the app shows the user, to match on the device.
    pub binding_message: Option<String>,
    /// The scopes asked for.
    pub scope: String,
    /// The API asked for, if any.
    pub audience: Option<String>,
}

/// `POST /bc-authorize`.
#[tracing::instrument(name = "dev_tenant.bc_authorize", skip_all)]
pub(super) async fn bc_authorize(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    match authenticate(&tenant, &headers, &params).and_then(|()| start(&tenant, &params)) {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => {
            tracing::info!(error = error.error(), "backchannel authentication refused");
            error.into_response()
        }
    }
}

fn bad(error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, error, description)
}

/// The `sub` of Auth0's `login_hint`, checked to be for this issuer.
fn login_hint_sub(tenant: &Tenant, hint: &str) -> Result<String, OAuthError> {
    let refused = || {
        OAuthError::invalid_request(
            "login_hint must be {\"format\":\"iss_sub\",\"iss\":\"<this issuer>\",\"sub\":\"<user id>\"}",
        )
    };
    let hint: Value = serde_json::from_str(hint).map_err(|_| refused())?;
    let iss = hint["iss"].as_str().map(|i| i.trim_end_matches('/'));
    if hint["format"] != "iss_sub" || iss != Some(tenant.issuer.trim_end_matches('/')) {
        return Err(refused());
    }
    hint["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(refused)
}

/// Auth0's rule for `binding_message`: 1 to 64 of letters, digits, space and `+-_.,:#`.
fn valid_binding_message(message: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || " +-_.,:#".contains(c);
    (1..=64).contains(&message.chars().count()) && message.chars().all(allowed)
}

/// Checks a backchannel authentication request and remembers it.
fn start(tenant: &Tenant, params: &Params) -> Result<Value, OAuthError> {
    let scope = parse_scope(params.get("scope")?.unwrap_or_default());
    if !has_scope(&scope, "openid") {
        return Err(bad("invalid_scope", "the scope must contain openid"));
    }
    let hint = params
        .get("login_hint")?
        .ok_or_else(|| OAuthError::invalid_request("login_hint is required"))?;
    let sub = login_hint_sub(tenant, hint)?;
    let binding_message = params.get("binding_message")?.map(str::to_owned);
    if binding_message
        .as_deref()
        .is_some_and(|m| !valid_binding_message(m))
    {
        return Err(bad(
            "invalid_binding_message",
            "binding_message: 1 to 64 of letters, digits, spaces and +-_.,:#",
        ));
    }
    let most = BACKCHANNEL_REQUEST_LIFETIME.as_secs();
    let expires_in = match params.get("requested_expiry")? {
        None => most,
        Some(asked) => asked
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=most).contains(s))
            .ok_or_else(|| {
                OAuthError::invalid_request(format!(
                    "requested_expiry must be whole seconds from 1 to {most}"
                ))
            })?,
    };
    let audience = params.get("audience")?.map(str::to_owned);
    if let Some(audience) = &audience
        && !tenant.config.audiences.iter().any(|a| a == audience)
    {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "access_denied",
            format!("Service not found: {audience}"),
        ));
    }
    let now = tenant.now();
    let mut memory = tenant.memory();
    let user = memory.user_by_sub(&sub).ok_or_else(|| {
        bad(
            "unknown_user_id",
            "no user with this sub has logged in here",
        )
    })?;
    let auth_req_id = random_token();
    let interval = tenant.config.backchannel_poll_interval.as_secs();
    let request = BackchannelRequest {
        id: random_token_of::<9>(),
        user,
        scope,
        audience,
        binding_message,
        answer: BackchannelAnswer::Pending,
        interval,
        last_poll: None,
        expires_at: now.saturating_add(expires_in),
        forget_at: now.saturating_add(expires_in.saturating_mul(2)),
    };
    memory.backchannel.insert(hash(&auth_req_id), request);
    Ok(json!({"auth_req_id": auth_req_id, "expires_in": expires_in, "interval": interval}))
}

/// The CIBA grant at the token endpoint (the client is already authenticated).
pub(super) fn grant(tenant: &Tenant, params: &Params) -> Result<Value, OAuthError> {
    let id = params
        .get("auth_req_id")?
        .ok_or_else(|| OAuthError::invalid_request("auth_req_id is required"))?;
    let now = tenant.now();
    let mut memory = tenant.memory();
    let key = hash(id);
    let Some(request) = memory.backchannel.get_mut(&key) else {
        return Err(OAuthError::invalid_grant(
            "the auth_req_id is unknown or used",
        ));
    };
    if now >= request.expires_at {
        memory.backchannel.remove(&key);
        return Err(bad("expired_token", "the backchannel request expired"));
    }
    match request.answer {
        BackchannelAnswer::Pending => {
            let too_soon = request
                .last_poll
                .is_some_and(|last| now < last.saturating_add(request.interval));
            request.last_poll = Some(now);
            if too_soon {
                request.interval = request.interval.saturating_add(SLOW_DOWN_STEP);
                return Err(bad("slow_down", "polled sooner than the interval"));
            }
            Err(bad(
                "authorization_pending",
                "the user has not answered yet",
            ))
        }
        BackchannelAnswer::Denied => {
            memory.backchannel.remove(&key);
            Err(OAuthError::new(
                StatusCode::FORBIDDEN,
                "access_denied",
                "the user denied the request",
            ))
        }
        BackchannelAnswer::Approved => {
            let Some(request) = memory.backchannel.remove(&key) else {
                return Err(OAuthError::invalid_grant(
                    "the auth_req_id is unknown or used",
                ));
            };
            let grant = Grant {
                user: request.user,
                sid: random_token(),
                auth_time: now,
                scope: request.scope.clone(),
                audience: request.audience.clone(),
                expires_at: now.saturating_add(tenant.config.refresh_token_lifetime.as_secs()),
                // A backchannel login asks for neither (the dev tenant's CIBA has no
                // organization or authorization_details parameters).
                organization: None,
                authorization_details: None,
            };
            let grant_id = memory.add_grant(grant.clone());
            let issue = Issue {
                grant_id,
                grant: &grant,
                scope: &request.scope,
                audience: request.audience.as_deref(),
                nonce: None,
                refresh_token: has_scope(&request.scope, "offline_access"),
            };
            issue_tokens(tenant, &mut memory, &issue)
        }
    }
}

/// The requests waiting for the user.
pub(crate) fn pending(tenant: &Tenant) -> Vec<PendingBackchannelRequest> {
    let now = tenant.now();
    let memory = tenant.memory();
    let mut pending: Vec<PendingBackchannelRequest> = memory
        .backchannel
        .values()
        .filter(|r| r.answer == BackchannelAnswer::Pending && r.expires_at > now)
        .map(|r| PendingBackchannelRequest {
            id: r.id.clone(),
            sub: r.user.sub.clone(),
            binding_message: r.binding_message.clone(),
            scope: r.scope.join(" "),
            audience: r.audience.clone(),
        })
        .collect();
    pending.sort_by(|a, b| a.id.cmp(&b.id));
    pending
}

/// The user's answer to the pending request `id`; whether there was one.
pub(crate) fn answer(tenant: &Tenant, id: &str, approve: bool) -> bool {
    let mut memory = tenant.memory();
    let Some(request) = memory
        .backchannel
        .values_mut()
        .find(|r| r.id == id && r.answer == BackchannelAnswer::Pending)
    else {
        return false;
    };
    request.answer = if approve {
        BackchannelAnswer::Approved
    } else {
        BackchannelAnswer::Denied
    };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_messages_follow_auth0s_rule() {
        assert!(valid_binding_message("Transfer 42: EUR 10,00 #a"));
        assert!(!valid_binding_message(""));
        assert!(!valid_binding_message(&"x".repeat(65)));
        assert!(!valid_binding_message("<script>"));
    }
}
