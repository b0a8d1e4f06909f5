//! Auth0's embedded passwordless: `POST /passwordless/start` (a JSON body with the client's
//! credentials, `connection` `email` or `sms`, `email` or `phone_number`, `send` `code` or
//! `link`, `authParams`) and the passwordless OTP grant at `/oauth/token` (`realm`,
//! `username`, `otp`, `scope`, `audience`).
//!
//! Nothing is sent: the "message" waits in the tenant, where the app's code or test reads it
//! ([`DevTenant::passwordless_code`](crate::DevTenant::passwordless_code)). A code is six
//! digits, lives [`PASSWORDLESS_CODE_LIFETIME`], is used once, and dies after
//! [`MAX_OTP_ATTEMPTS`] wrong guesses; a new start replaces the recipient's earlier code.
//! Passwordless users are `email|…` and `sms|…`, apart from the form's `auth0|…` users, as
//! at Auth0.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::token::{Issue, authenticate, issue_tokens};
use super::{OAuthError, Params, Shared, no_store, redirect};
use crate::memory::{
    AuthRequest, Grant, Memory, PendingCode, User, has_scope, hash, parse_scope, random_token,
    random_token_of,
};
use crate::pages;
use crate::server::Tenant;

/// The passwordless OTP grant type.
pub(crate) const OTP_GRANT_TYPE: &str = "http://auth0.com/oauth/grant-type/passwordless/otp";
/// How long a passwordless code is valid.
pub const PASSWORDLESS_CODE_LIFETIME: Duration = Duration::from_secs(300);
/// Wrong codes tried before the code is dropped (the user must start again).
pub const MAX_OTP_ATTEMPTS: u32 = 3;
/// The longest e-mail address accepted.
const MAX_EMAIL_LEN: usize = 254;

/// A code waiting for its user, by (connection, recipient).
#[derive(Clone, Debug)]
pub(crate) struct PendingPasswordless {
    pub(crate) user: User,
    /// The code as "sent" (the dev tenant's outbox: tests read it).
    pub(crate) code: String,
    pub(crate) attempts_left: u32,
    pub(crate) expires_at: u64,
    /// For a magic link: the login its click completes.
    pub(crate) link: Option<MagicLink>,
}

/// The login a magic link completes: the `authParams` of its start, checked.
#[derive(Clone, Debug)]
pub(crate) struct MagicLink {
    redirect_uri: String,
    state: String,
    scope: Vec<String>,
    audience: Option<String>,
}

fn bad(error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, error, description)
}

/// `POST /passwordless/start`.
#[tracing::instrument(name = "dev_tenant.passwordless_start", skip_all)]
pub(super) async fn start(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle_start(&tenant, &headers, &body) {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => {
            tracing::info!(error = error.error(), "passwordless start refused");
            error.into_response()
        }
    }
}

fn handle_start(tenant: &Tenant, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let object = serde_json::from_slice::<Map<String, Value>>(body)
        .ok()
        .filter(|_| json_body)
        .ok_or_else(|| OAuthError::invalid_request("send a JSON object (application/json)"))?;
    let strings: Vec<(String, String)> = object
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
        .collect();
    authenticate(tenant, headers, &Params(strings))?;
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::trim);
    let (connection, recipient) = match text("connection") {
        Some("email") => ("email", check_email(text("email"))?),
        Some("sms") => ("sms", check_phone(text("phone_number"))?),
        _ => return Err(bad("bad.connection", "Connection does not exist")),
    };
    let link = match (connection, text("send")) {
        ("email", Some("code")) | ("sms", None | Some("code")) => None,
        // Auth0 sends a link when `send` is absent.
        ("email", None | Some("link")) => Some(magic_link(tenant, object.get("authParams"))?),
        _ => return Err(bad("bad.send", "send must be code or link")),
    };
    let code = six_digits();
    let user = passwordless_user(connection, &recipient);
    let pending = PendingPasswordless {
        user,
        code,
        attempts_left: MAX_OTP_ATTEMPTS,
        expires_at: tenant
            .now()
            .saturating_add(PASSWORDLESS_CODE_LIFETIME.as_secs()),
        link,
    };
    tenant
        .memory()
        .passwordless
        .insert((connection.to_owned(), recipient.clone()), pending);
    tracing::info!(connection, "passwordless code issued");
    let verified = if connection == "email" {
        "email_verified"
    } else {
        "phone_verified"
    };
    let member = if connection == "email" {
        "email"
    } else {
        "phone_number"
    };
    Ok(json!({"_id": random_token_of::<12>(), member: recipient, verified: false}))
}

/// A magic link's `authParams`: `redirect_uri` (allowed for the application),
/// `response_type=code`, `state`, a scope with `openid`, a known `audience`.
fn magic_link(tenant: &Tenant, params: Option<&Value>) -> Result<MagicLink, OAuthError> {
    let refused = |what: &str| bad("bad.authParams", format!("authParams: {what}"));
    let params = params
        .and_then(Value::as_object)
        .ok_or_else(|| refused("required for a link"))?;
    let text = |name: &str| {
        params
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let redirect_uri = text("redirect_uri")
        .filter(|uri| tenant.config.redirect_uris.allows(uri))
        .ok_or_else(|| refused("redirect_uri must be an allowed callback URL"))?;
    if text("response_type") != Some("code") {
        return Err(refused("response_type must be code"));
    }
    let state = text("state").ok_or_else(|| refused("state is required by this dev tenant"))?;
    let scope = parse_scope(text("scope").unwrap_or("openid"));
    if !has_scope(&scope, "openid") {
        return Err(refused("the scope must include openid"));
    }
    let audience = text("audience").map(str::to_owned);
    if audience
        .as_ref()
        .is_some_and(|a| !tenant.config.audiences.contains(a))
    {
        return Err(refused("audience is not an API of this dev tenant"));
    }
    Ok(MagicLink {
        redirect_uri: redirect_uri.to_owned(),
        state: state.to_owned(),
        scope,
        audience,
    })
}

/// An e-mail address: one `@` between a local part and a domain, no spaces; lower-cased.
fn check_email(email: Option<&str>) -> Result<String, OAuthError> {
    let email = email.unwrap_or_default().to_ascii_lowercase();
    let ok = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'));
    ok.then_some(email)
        .ok_or_else(|| bad("bad.email", "email is not a valid e-mail address"))
}

/// A phone number in E.164 form.
fn check_phone(phone: Option<&str>) -> Result<String, OAuthError> {
    let phone = phone.unwrap_or_default();
    let ok = phone.strip_prefix('+').is_some_and(|d| {
        (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    });
    ok.then(|| phone.to_owned()).ok_or_else(|| {
        bad(
            "bad.phone_number",
            "phone_number must be in E.164 form (+14155550100)",
        )
    })
}

/// Six random digits.
fn six_digits() -> String {
    let mut bytes = [0u8; 4];
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the operating system's random number generator failed: {e}");
    }
    format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000)
}

/// The user of a passwordless connection: `email|…` or `sms|…`, the same for the same
/// address.
fn passwordless_user(connection: &str, recipient: &str) -> User {
    let digest = hex::encode(Sha256::digest(recipient.as_bytes()));
    let nickname = recipient.split('@').next().unwrap_or(recipient).to_owned();
    User {
        sub: format!("{connection}|{}", &digest[..24]),
        email: if connection == "email" {
            recipient.to_owned()
        } else {
            String::new()
        },
        name: recipient.to_owned(),
        nickname,
    }
}

/// The passwordless OTP grant at the token endpoint (the client is already authenticated).
pub(super) fn grant(tenant: &Tenant, params: &Params) -> Result<Value, OAuthError> {
    let required = |name: &'static str| {
        params
            .get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    };
    let realm = required("realm")?;
    let username = required("username")?;
    let otp = required("otp")?;
    let recipient = match realm {
        "email" => check_email(Some(username)).map_err(|_| wrong(realm))?,
        "sms" => check_phone(Some(username)).map_err(|_| wrong(realm))?,
        _ => return Err(bad("invalid_request", "realm must be email or sms")),
    };
    let scope = parse_scope(params.get("scope")?.unwrap_or("openid"));
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
    let key = (realm.to_owned(), recipient);
    let user = take_code(&mut memory, &key, otp, now)?.user;
    let grant = Grant {
        user,
        sid: random_token(),
        auth_time: now,
        scope: scope.clone(),
        audience: audience.clone(),
        expires_at: now.saturating_add(tenant.config.refresh_token_lifetime.as_secs()),
        organization: None,
        authorization_details: None,
    };
    let grant_id = memory.add_grant(grant.clone());
    let issue = Issue {
        grant_id,
        grant: &grant,
        scope: &scope,
        audience: audience.as_deref(),
        nonce: None,
        refresh_token: has_scope(&scope, "offline_access"),
    };
    issue_tokens(tenant, &mut memory, &issue)
}

/// The pending code of `key` if `otp` is it (then used up); a wrong one counts an attempt,
/// and the last attempt ends the code.
fn take_code(
    memory: &mut Memory,
    key: &(String, String),
    otp: &str,
    now: u64,
) -> Result<PendingPasswordless, OAuthError> {
    let realm = key.0.as_str();
    match memory.passwordless.get_mut(key) {
        None => Err(wrong(realm)),
        Some(pending) if pending.expires_at <= now => {
            memory.passwordless.remove(key);
            Err(OAuthError::invalid_grant(
                "The verification code has expired",
            ))
        }
        Some(pending) if !bool::from(pending.code.as_bytes().ct_eq(otp.as_bytes())) => {
            pending.attempts_left = pending.attempts_left.saturating_sub(1);
            if pending.attempts_left > 0 {
                return Err(wrong(realm));
            }
            memory.passwordless.remove(key);
            Err(OAuthError::invalid_grant(
                "You've reached the maximum number of attempts. Please try to login again.",
            ))
        }
        Some(_) => memory.passwordless.remove(key).ok_or_else(|| wrong(realm)),
    }
}

/// `GET /passwordless/verify_redirect`: the magic link clicked. A right, unexpired, unused
/// code sends the browser to the link's callback with an authorization code (without PKCE:
/// the e-mail carried the secret) and its `state`; anything else shows a page.
#[tracing::instrument(name = "dev_tenant.passwordless_link", skip_all)]
pub(super) async fn verify_redirect(
    State(tenant): State<Shared>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let got = |name| params.get(name).ok().flatten();
    let (Some(email), Some(otp)) = (got("email"), got("verification_code")) else {
        return link_refused("The link is incomplete.");
    };
    let Ok(email) = check_email(Some(email)) else {
        return link_refused("The link is incomplete.");
    };
    let now = tenant.now();
    let mut memory = tenant.memory();
    let pending = match take_code(&mut memory, &("email".to_owned(), email), otp, now) {
        Ok(pending) => pending,
        Err(e) => {
            tracing::info!(error = e.error(), "magic link refused");
            return link_refused("The link is wrong, expired or already used.");
        }
    };
    let Some(link) = pending.link else {
        return link_refused("This code was sent to be typed, not clicked.");
    };
    let code = random_token();
    let request = AuthRequest {
        redirect_uri: link.redirect_uri.clone(),
        state: link.state.clone(),
        nonce: String::new(),
        code_challenge: String::new(),
        scope: link.scope,
        audience: link.audience,
        login_hint: None,
        organization: None,
        authorization_details: None,
    };
    let expires_at = now.saturating_add(crate::config::CODE_LIFETIME.as_secs());
    let sid = random_token();
    let pending_code = PendingCode {
        request,
        user: pending.user,
        sid,
        auth_time: now,
        expires_at,
    };
    memory.codes.insert(hash(&code), pending_code);
    drop(memory);
    let mut url = match url::Url::parse(&link.redirect_uri) {
        Ok(url) => url,
        Err(_) => return link_refused("The link's callback is not a URL."),
    };
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &link.state)
        .append_pair("iss", &tenant.issuer);
    redirect(StatusCode::FOUND, url.as_str())
}

fn link_refused(what: &str) -> Response {
    pages::respond(
        StatusCode::BAD_REQUEST,
        pages::error(
            "Link not valid",
            what,
            "Go back to the application and ask for a new link.",
        ),
    )
}

/// Whether `code` is a magic link's authorization code (issued without PKCE).
pub(crate) fn is_magic_link_code(tenant: &Tenant, code: &str) -> bool {
    tenant
        .memory()
        .codes
        .get(&hash(code))
        .is_some_and(|p| p.request.code_challenge.is_empty())
}

/// The magic link waiting for `email`, if any.
pub(crate) fn link_for(tenant: &Tenant, email: &str) -> Option<String> {
    let email = email.trim().to_ascii_lowercase();
    let now = tenant.now();
    let code = {
        let memory = tenant.memory();
        let pending = memory
            .passwordless
            .get(&("email".to_owned(), email.clone()))?;
        (pending.expires_at > now && pending.link.is_some()).then(|| pending.code.clone())?
    };
    let mut url = url::Url::parse(&tenant.url("passwordless/verify_redirect")).ok()?;
    url.query_pairs_mut()
        .append_pair("connection", "email")
        .append_pair("client_id", &tenant.config.client_id)
        .append_pair("email", &email)
        .append_pair("verification_code", &code);
    Some(url.to_string())
}

/// Auth0's answer to a wrong (or unknown, or used) code.
fn wrong(realm: &str) -> OAuthError {
    let what = if realm == "sms" {
        "phone number"
    } else {
        "email"
    };
    OAuthError::invalid_grant(format!("Wrong {what} or verification code."))
}

/// The code waiting for `recipient` (an e-mail address or a phone number), if any.
pub(crate) fn code_for(tenant: &Tenant, recipient: &str) -> Option<String> {
    let recipient = recipient.trim();
    let now = tenant.now();
    let memory = tenant.memory();
    ["email", "sms"].into_iter().find_map(|connection| {
        let key = (connection.to_owned(), recipient.to_ascii_lowercase());
        let key = if connection == "sms" {
            (key.0, recipient.to_owned())
        } else {
            key
        };
        memory
            .passwordless
            .get(&key)
            .filter(|p| p.expires_at > now)
            .map(|p| p.code.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_users_are_per_connection() {
        let code = six_digits();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let a = passwordless_user("email", "ada@example.com");
        assert!(a.sub.starts_with("email|"), "{}", a.sub);
        assert_eq!(a.sub, passwordless_user("email", "ada@example.com").sub);
        let s = passwordless_user("sms", "+14155550100");
        assert!(s.sub.starts_with("sms|") && s.email.is_empty());
    }

    #[test]
    fn phone_numbers_must_be_e164() {
        assert!(check_phone(Some("+14155550100")).is_ok());
        for bad in ["14155550100", "+0123", "+1 415", "+", "+1234567890123456"] {
            assert!(check_phone(Some(bad)).is_err(), "{bad}");
        }
    }
}
