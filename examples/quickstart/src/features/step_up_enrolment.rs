//! An authenticator enrolment in progress on the step-up page, kept out of its forms. The
//! key the tenant gave (the TOTP seed) and the user's recovery code are sealed with the app's
//! secrets (`AUTH0_SECRET`) into a short-lived cookie of their own, bound to the session's
//! user and to a random reference; the code form carries only the reference. A form whose
//! reference is not the one this browser's cookie holds for this user (forged, or from
//! another session's page) is refused, and nothing is sent to the tenant. Once the code is
//! verified the cookie keeps only the recovery code, which `GET /step-up` shows once.
//!
//! The reference guards what the cookie holds, not the MFA itself: the sealed `mfa_token` is
//! bound to the session by the SDK (`Error::MfaTokenMismatch`).

use auth0_server::ServerClient;
use auth0_server::seal::{CookieSealer, random_bytes};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

/// The cookie's name.
const COOKIE_NAME: &str = "quickstart_step_up";
/// Where the cookie is sent: the step-up pages only.
const COOKIE_PATH: &str = "/step-up";
/// How long an enrolment may wait for its code (and its recovery code to be shown).
const TTL_SECS: u64 = 10 * 60;
/// Random bytes in a reference.
const REFERENCE_BYTES: usize = 16;

/// What the cookie holds. Never in `Debug` or the logs.
#[derive(Serialize, Deserialize)]
pub(crate) struct Enrolment {
    /// What the code form carries instead of the key.
    pub(crate) reference: String,
    /// The session user's `sub`.
    sub: String,
    /// The authenticator's key, until the code is verified.
    pub(crate) secret: Option<String>,
    /// The recovery code the tenant gave, to show once after the code is verified.
    pub(crate) recovery_code: Option<String>,
    /// The code was verified: only the recovery code is left to show.
    verified: bool,
}

impl Enrolment {
    /// A new enrolment of `sub`'s authenticator with `secret`, under a fresh reference.
    pub(crate) fn new(sub: &str, secret: Option<String>, recovery_code: Option<String>) -> Self {
        Self {
            reference: B64.encode(random_bytes::<REFERENCE_BYTES>()),
            sub: sub.to_owned(),
            secret,
            recovery_code,
            verified: false,
        }
    }

    /// The enrolment once its code was verified: the key dropped, `recovery_code` (the
    /// verification's own, else the enrolment's) kept to show.
    pub(crate) fn verified(self, recovery_code: Option<String>) -> Self {
        Self {
            secret: None,
            recovery_code: recovery_code.or(self.recovery_code),
            verified: true,
            ..self
        }
    }

    /// The `Set-Cookie` value that keeps it (`None` when it cannot be sealed).
    pub(crate) fn keep(&self, client: &ServerClient) -> Option<HeaderValue> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        let sealed = sealer(client)
            .seal(COOKIE_NAME, self, now + TTL_SECS)
            .inspect_err(|e| tracing::error!(error = %e, "the enrolment could not be sealed"))
            .ok()?;
        let max_age = cookie::time::Duration::seconds(TTL_SECS as i64);
        set_cookie(
            client,
            Cookie::build((COOKIE_NAME, sealed)).max_age(max_age),
        )
    }
}

/// The `Set-Cookie` value that ends the enrolment.
pub(crate) fn forget(client: &ServerClient) -> Option<HeaderValue> {
    set_cookie(
        client,
        Cookie::build((COOKIE_NAME, "")).max_age(cookie::time::Duration::ZERO),
    )
}

fn set_cookie(client: &ServerClient, cookie: cookie::CookieBuilder<'_>) -> Option<HeaderValue> {
    let secure = client.config().cookie_options().secure;
    let cookie = cookie
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

fn sealer(client: &ServerClient) -> CookieSealer {
    CookieSealer::new(client.config().secrets().clone())
}

/// The enrolment this browser's cookie holds for `sub`: `None` for none, an unreadable,
/// altered or expired one, or another user's.
fn held(client: &ServerClient, headers: &HeaderMap, sub: &str) -> Option<Enrolment> {
    let sealer = sealer(client);
    let header = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok());
    header
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == COOKIE_NAME)
        .filter_map(|c| sealer.open::<Enrolment>(COOKIE_NAME, c.value()).ok())
        .find(|e| e.sub == sub)
}

/// The enrolment in progress the code form's `reference` refers to: this browser's, for
/// `sub`, not yet verified, under exactly that reference.
pub(crate) fn in_progress(
    client: &ServerClient,
    headers: &HeaderMap,
    sub: &str,
    reference: &str,
) -> Option<Enrolment> {
    held(client, headers, sub).filter(|e| !e.verified && e.reference == reference)
}

/// The recovery code left to show once for `sub`, after a verified enrolment.
pub(crate) fn recovery_code_to_show(
    client: &ServerClient,
    headers: &HeaderMap,
    sub: &str,
) -> Option<String> {
    held(client, headers, sub)
        .filter(|e| e.verified)
        .and_then(|e| e.recovery_code)
}

/// `response` with `cookie` set, when there is one.
pub(crate) fn with_cookie(
    mut response: axum::response::Response,
    cookie: Option<HeaderValue>,
) -> axum::response::Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}
