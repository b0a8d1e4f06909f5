//! Passwordless: log in with a one-time code, or a magic link, sent by e-mail.
//! `GET /passwordless` asks for the address, `POST /passwordless` sends the code
//! (`start_passwordless`) and asks for it, `POST /passwordless/verify` exchanges it for
//! tokens and starts the session (`verify_passwordless`). Both posts must come from this
//! app's own form (a login posted from another site would log the victim in as the
//! attacker). With `send=link` a magic link is sent instead: it comes back to the login's
//! `/callback`, which completes it only in the browser that asked for it (anywhere else it
//! logs nobody in and leaves the asking browser's login in progress as it was; but the link
//! works once at the tenant, so after another browser opened it the user asks for a new
//! one, as the tenant's refusal says). On the dev tenant, which
//! mails nothing, the page shows the code or link it "sent"; on a real tenant it never does.

use std::sync::Arc;

use auth0_axum::{Auth, AuthError, SameOriginPost};
use auth0_server::client::{
    Error, PasswordlessRecipient, PasswordlessSend, StartPasswordlessOptions,
    VerifyPasswordlessOptions,
};
use axum::extract::{Extension, Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::{Dev, render};
use crate::App;

/// The values of `passwordless.html`: which step, the address, a message, the dev code or
/// link.
#[derive(Serialize, Default)]
struct Step {
    email: Option<String>,
    error: Option<&'static str>,
    dev_code: Option<String>,
    /// A magic link was sent (not a code).
    link_sent: bool,
    dev_link: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct EmailForm {
    email: String,
    /// `link` for a magic link; a code otherwise.
    #[serde(default)]
    send: Option<String>,
}

/// Where the magic link's login lands once completed.
const AFTER_LINK: &str = "/profile";

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    email: String,
    code: String,
}

fn page(app: &App, step: Step) -> Response {
    // The dev tenant's code or magic link may be on the page.
    super::no_store(render(
        app,
        "passwordless.html",
        "Passwordless",
        false,
        step,
    ))
}

/// `GET /passwordless`: the e-mail form.
pub(crate) async fn start_form(State(app): State<Arc<App>>) -> Response {
    page(&app, Step::default())
}

/// `POST /passwordless`: sends the code and asks for it.
pub(crate) async fn start(
    State(app): State<Arc<App>>,
    Extension(Dev(dev)): Extension<Dev>,
    _: SameOriginPost,
    auth: Auth,
    Form(form): Form<EmailForm>,
) -> Result<Response, AuthError> {
    let email = form.email.trim().to_owned();
    let link = form.send.as_deref() == Some("link");
    let options = StartPasswordlessOptions {
        send: if link {
            PasswordlessSend::Link
        } else {
            PasswordlessSend::Code
        },
        app_state: link.then(|| serde_json::json!({ "returnTo": AFTER_LINK })),
        ..StartPasswordlessOptions::new(PasswordlessRecipient::Email(email.clone()))
    };
    let sent = auth
        .client()
        .start_passwordless(options, auth.context())
        .await;
    match sent {
        Ok(_) => Ok(page(&app, sent_step(dev, email, link))),
        Err(Error::PasswordlessStart { status: 400, .. }) => {
            let error = Some("That address was refused: check it and try again.");
            Ok(page(
                &app,
                Step {
                    error,
                    ..Step::default()
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The page after sending: the code form, or "open the link in this browser".
fn sent_step(dev: Option<auth0_dev_tenant::DevTenant>, email: String, link: bool) -> Step {
    let (dev_code, dev_link) = match dev {
        Some(tenant) if link => (None, tenant.passwordless_link(&email)),
        Some(tenant) => (tenant.passwordless_code(&email), None),
        None => (None, None),
    };
    Step {
        email: Some(email),
        dev_code,
        link_sent: link,
        dev_link,
        ..Step::default()
    }
}

/// `POST /passwordless/verify`: the code exchanged for tokens; the session starts and the
/// profile shows it. A wrong, expired or used code asks again.
pub(crate) async fn verify(
    State(app): State<Arc<App>>,
    _: SameOriginPost,
    auth: Auth,
    Form(form): Form<CodeForm>,
) -> Result<Response, AuthError> {
    let email = form.email.trim().to_owned();
    let to = PasswordlessRecipient::Email(email.clone());
    let options = VerifyPasswordlessOptions::new(to, form.code.trim());
    match auth
        .client()
        .verify_passwordless(options, auth.context())
        .await
    {
        Ok(_) => Ok(Redirect::to("/profile").into_response()),
        Err(Error::PasswordlessVerify { .. }) => Ok(ask_again(&app, email, WRONG_CODE)),
        // Only the browser that asked for the code may use it (a code posted from elsewhere
        // would log this browser in as whoever received it).
        Err(Error::MissingTransaction) => Ok(ask_again(&app, email, NOT_ASKED_HERE)),
        Err(e) => Err(e.into()),
    }
}

const WRONG_CODE: &str = "That code is wrong, expired or used: try again, or send a new one.";
const NOT_ASKED_HERE: &str = "No code was sent to that address from this browser: send a new one.";

/// The code form again, for `email`, with `error`.
fn ask_again(app: &App, email: String, error: &'static str) -> Response {
    let step = Step {
        email: Some(email),
        error: Some(error),
        ..Step::default()
    };
    page(app, step)
}
