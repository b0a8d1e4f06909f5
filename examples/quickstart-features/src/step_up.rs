//! MFA step-up: an API that asks for a second factor. `GET /step-up` asks an access token for
//! it; when the provider answers `mfa_required`, the page offers a button that enrolls an
//! authenticator app (`POST /step-up/enroll`, through the MFA API; a GET changes nothing) or,
//! for a user who has one, asks its code, and `POST /step-up/verify` verifies the code into
//! the session; the page then shows the token was obtained (its fingerprint,
//! never the token). The recovery code the tenant gives at enrolment is shown once, in the
//! enrolment's answer, and kept nowhere. The key never travels in a form: it waits in a
//! sealed cookie, bound to the session, the code form only refers to (`step_up_enrolment`). The API is `AUTH0_STEP_UP_AUDIENCE`, else the dev tenant's
//! [`STEP_UP_AUDIENCE`], which requires MFA. Only on the dev tenant does the page show the
//! current code (its codes are dev codes, not an authenticator app's).

use std::sync::Arc;

use auth0_axum::{Auth, AuthError, SameOriginPost, User};
use auth0_server::client::{AccessTokenOptions, Error, MfaEnrollment, MfaToken, MfaVerification};
use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::step_up_enrolment::{self as enrolment, Enrolment, Refused, with_cookie};
use super::{Dev, fingerprint, render};
use crate::App;

/// The dev tenant's API that requires MFA.
pub(crate) const STEP_UP_AUDIENCE: &str = "https://quickstart.local/payments";

fn audience() -> String {
    super::setting("AUTH0_STEP_UP_AUDIENCE", STEP_UP_AUDIENCE)
}

/// The values of `step_up.html`: the token's facts once obtained, else the code form.
#[derive(Serialize, Default)]
struct Step {
    audience: String,
    fingerprint: Option<String>,
    expires: Option<u64>,
    mfa_token: Option<String>,
    /// The enrolment in progress the code form refers to (never its key).
    enrolment: Option<String>,
    secret: Option<String>,
    barcode_uri: Option<String>,
    dev_code: Option<String>,
    /// Shown once, in the enrolment's answer (kept nowhere).
    recovery_code: Option<String>,
    error: Option<&'static str>,
    /// The user has no authenticator: the page offers the enroll button.
    enroll: bool,
}

/// `POST /step-up/verify`'s form: the sealed `mfa_token`, the code, and the reference of the
/// enrolment in progress, if any (its key stays in the enrolment's sealed cookie).
#[derive(Deserialize)]
pub(crate) struct CodeForm {
    mfa_token: String,
    code: String,
    #[serde(default)]
    enrolment: Option<String>,
}

fn page(app: &App, step: Step) -> Response {
    render(app, "step_up.html", "MFA step-up", true, step)
}

/// The code form for `mfa_token`, for `enrolment` when one is in progress (its key shown,
/// and the dev tenant's current code for it).
fn code_form(dev: &Dev, token: String, enrolment: Option<&Enrolment>) -> Step {
    let secret = enrolment.and_then(|e| e.secret.clone());
    let dev_code = dev.0.as_ref().zip(secret.as_deref());
    Step {
        audience: audience(),
        dev_code: dev_code.map(|(tenant, secret)| tenant.mfa_otp(secret)),
        mfa_token: Some(token),
        enrolment: enrolment.map(|e| e.reference.clone()),
        secret,
        ..Step::default()
    }
}

/// `GET /step-up` (logged in): the token for the API, or the MFA it needs first.
pub(crate) async fn start(
    State(app): State<Arc<App>>,
    Extension(dev): Extension<Dev>,
    User(_): User,
    auth: Auth,
) -> Result<Response, AuthError> {
    let options = AccessTokenOptions {
        audience: Some(audience()),
        ..AccessTokenOptions::default()
    };
    let token = match auth
        .client()
        .get_access_token(options, auth.context())
        .await
    {
        Ok(token) => token,
        Err(Error::MfaRequired {
            mfa_token: Some(mfa_token),
            mfa_requirements,
            ..
        }) => {
            let sealed = mfa_token.expose().to_owned();
            let step = if mfa_requirements.and_then(|r| r.enroll).is_some() {
                // Enrolling changes the user's account: the page's button does it (a POST).
                Step {
                    audience: audience(),
                    mfa_token: Some(sealed),
                    enroll: true,
                    ..Step::default()
                }
            } else {
                code_form(&dev, sealed, None)
            };
            return Ok(page(&app, step));
        }
        Err(e) => return Err(e.into()),
    };
    let step = Step {
        audience: token.audience.clone(),
        fingerprint: Some(fingerprint(&token.token)),
        expires: Some(token.expires_at),
        ..Step::default()
    };
    Ok(page(&app, step))
}

/// `POST /step-up/enroll`'s form: the sealed `mfa_token` of the page that offered it.
#[derive(Deserialize)]
pub(crate) struct EnrollForm {
    mfa_token: String,
}

/// `POST /step-up/enroll` (logged in, from this app's page): enrolls an authenticator app
/// and shows its key (and, on the dev tenant, its current code) with the code form, and the
/// recovery code the tenant gave, this once; the key waits in the enrolment's sealed cookie.
pub(crate) async fn enroll(
    State(app): State<Arc<App>>,
    Extension(dev): Extension<Dev>,
    _: SameOriginPost,
    User(_): User,
    auth: Auth,
    Form(form): Form<EnrollForm>,
) -> Result<Response, AuthError> {
    // The binding first: without one, nothing is enrolled at the tenant.
    let Some(session) = enrolment::session_binding(&auth).await? else {
        return Ok(not_this_sessions(&app, Refused::Unknown));
    };
    let token = MfaToken::from_sealed(form.mfa_token.clone());
    let enrolled = auth
        .client()
        .mfa()
        .enroll_authenticator(&token, MfaEnrollment::Otp, auth.context())
        .await?;
    let kept = Enrolment::new(session, enrolled.secret);
    let mut step = code_form(&dev, form.mfa_token, Some(&kept));
    step.barcode_uri = enrolled.barcode_uri;
    step.recovery_code = enrolled.recovery_codes.and_then(|c| c.into_iter().next());
    let cookie = kept.keep(auth.client());
    Ok(with_cookie(page(&app, step), cookie))
}

/// `POST /step-up/verify` (logged in, from this app's page): the code verified, the token
/// saved in the session, the enrolment's cookie cleared, back to `/step-up` to show it. A
/// wrong code asks again. A form referring to an enrolment this browser does not hold for
/// this session is refused unsent.
pub(crate) async fn verify(
    State(app): State<Arc<App>>,
    Extension(dev): Extension<Dev>,
    _: SameOriginPost,
    User(_): User,
    auth: Auth,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, AuthError> {
    let client = auth.client();
    let kept = match form.enrolment.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(reference) => {
            let session = enrolment::session_binding(&auth).await?.unwrap_or_default();
            match enrolment::in_progress(client, &headers, &session, reference) {
                Ok(kept) => Some(kept),
                Err(refused) => return Ok(not_this_sessions(&app, refused)),
            }
        }
    };
    let token = MfaToken::from_sealed(form.mfa_token.clone());
    let code = MfaVerification::Otp(form.code.trim().to_owned());
    match client
        .mfa()
        .verify_and_save(&token, code, auth.context())
        .await
    {
        Ok(_) => {
            // The OTP answer brings no new recovery code (only a recovery-code login does).
            let forget = kept.and_then(|_| enrolment::forget(client));
            Ok(with_cookie(
                Redirect::to("/step-up").into_response(),
                forget,
            ))
        }
        Err(Error::MfaCodeRejected { .. }) => {
            let mut step = code_form(&dev, form.mfa_token, kept.as_ref());
            step.error = Some("That code is wrong or used: type the current one.");
            Ok(page(&app, step))
        }
        Err(e) => Err(e.into()),
    }
}

/// The answer to a code form whose enrolment this browser's session does not hold (forged,
/// from another session's page, expired, or replaced by a later one in another tab): a 400
/// that says which and starts again.
fn not_this_sessions(app: &App, refused: Refused) -> Response {
    let error = match refused {
        Refused::Replaced => {
            "An enrolment was started in another tab after this one, which replaced it: use the \
             latest one (its tab), or start again from the step-up page."
        }
        Refused::Unknown => {
            "This enrolment is not this session's, or it expired: start again from the step-up \
             page."
        }
    };
    let step = Step {
        audience: audience(),
        error: Some(error),
        ..Step::default()
    };
    (StatusCode::BAD_REQUEST, page(app, step)).into_response()
}
