//! An authenticator enrolment in progress on the step-up page, kept out of its forms. The
//! key the tenant gave (the TOTP seed) is sealed with the app's secrets (`AUTH0_SECRET`) into
//! a short-lived cookie of its own, bound to the session (its user and its login's ID token:
//! another login, even the same user's after a logout, has another) and to a random reference;
//! the code form carries only the reference. A form whose reference is not the one this
//! browser's cookie holds for this session (forged, another session's page, or a tab whose
//! enrolment a later one replaced) is refused, and nothing is sent to the tenant. The cookie
//! is cleared once the code is verified. The recovery code the tenant gives at enrolment is
//! never kept: the enrolment's own answer shows it, once.
//!
//! The reference guards what the cookie holds, not the MFA itself: the sealed `mfa_token` is
//! bound to the session by the SDK (`Error::MfaTokenMismatch`).

use auth0_axum::{Auth, AuthError};
use auth0_server::ServerClient;
use auth0_server::seal::{CookieSealer, random_bytes};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

/// The cookie's name.
const COOKIE_NAME: &str = "quickstart_step_up";
/// Where the cookie is sent: the step-up pages only.
const COOKIE_PATH: &str = "/step-up";
/// How long an enrolment may wait for its code.
const TTL_SECS: u64 = 10 * 60;
/// Random bytes in a reference.
const REFERENCE_BYTES: usize = 16;

/// What the cookie holds. Never in `Debug` or the logs.
#[derive(Serialize, Deserialize)]
pub(crate) struct Enrolment {
    /// What the code form carries instead of the key.
    pub(crate) reference: String,
    /// The session it belongs to ([`session_binding`]).
    session: String,
    /// The authenticator's key.
    pub(crate) secret: Option<String>,
}

/// Why a code form's enrolment is refused.
pub(crate) enum Refused {
    /// This session's cookie holds a later enrolment (started in another tab).
    Replaced,
    /// None for this session: forged, another session's, or expired.
    Unknown,
}

/// The binding of the request's session: a digest of its user and its login's ID token
/// (the SDK keeps the session's own id to itself), so that another login, even of the same
/// user after a logout, has another. A refresh that brings a new ID token (the verification
/// itself does) changes it too: an enrolment then left unverified is refused, and the page
/// says to start again. `None` without a session, or with one that has no ID token (no
/// binding then: the enrolment is refused rather than shared by all such sessions).
///
/// # Errors
///
/// The session store's failure, for the app's error page (not "not this session's").
pub(crate) async fn session_binding(auth: &Auth) -> Result<Option<String>, AuthError> {
    use sha2::{Digest as _, Sha256};
    let Some(state) = auth.session().await? else {
        return Ok(None);
    };
    let (Some(user), Some(id_token)) = (state.user.as_ref(), state.id_token.as_deref()) else {
        return Ok(None);
    };
    let digest = Sha256::new()
        .chain_update(user.sub.as_bytes())
        .chain_update([0])
        .chain_update(id_token.as_bytes())
        .finalize();
    Ok(Some(B64.encode(digest)))
}

impl Enrolment {
    /// A new enrolment, for the session bound by `session`, of an authenticator with
    /// `secret`, under a fresh reference.
    pub(crate) fn new(session: String, secret: Option<String>) -> Self {
        Self {
            reference: B64.encode(random_bytes::<REFERENCE_BYTES>()),
            session,
            secret,
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

/// The enrolment this browser's cookie holds for the session bound by `session`: `None` for
/// none, an unreadable, altered or expired one, or another session's.
fn held(client: &ServerClient, headers: &HeaderMap, session: &str) -> Option<Enrolment> {
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
        .find(|e| bool::from(e.session.as_bytes().ct_eq(session.as_bytes())))
}

/// The enrolment in progress the code form's `reference` refers to: this browser's, for the
/// session bound by `session`, under exactly that reference (compared in constant time).
///
/// # Errors
///
/// [`Refused::Replaced`] when this session's cookie holds another (later) enrolment,
/// [`Refused::Unknown`] when it holds none.
pub(crate) fn in_progress(
    client: &ServerClient,
    headers: &HeaderMap,
    session: &str,
    reference: &str,
) -> Result<Enrolment, Refused> {
    let held = held(client, headers, session).ok_or(Refused::Unknown)?;
    if bool::from(held.reference.as_bytes().ct_eq(reference.as_bytes())) {
        Ok(held)
    } else {
        Err(Refused::Replaced)
    }
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
