//! "Your sessions" on the profile page: the user's sessions on this app (device, when they
//! signed in, when last active), one logged out with its button, or all others at once.
//!
//! Needs a server-side store (`AUTH0_SESSION_STORE=memory|redis|postgres`); with cookies the
//! section says why it cannot list anything. Sessions are named by handles, never by their
//! ids; a handle only ever reaches the logged-in user's own sessions. A revoked session's
//! cookie finds no session on its next request, so that browser is logged out.

use auth0_axum::{Auth, SameOriginPost};
use auth0_server::client::Error;
use auth0_server::store::{SessionMetadata, StoreError};
use axum::Router;
use axum::extract::Form;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};

/// Where the profile page's forms post.
pub(crate) const REVOKE_PATH: &str = "/profile/sessions/revoke";
/// "Log out my other sessions".
pub(crate) const REVOKE_OTHERS_PATH: &str = "/profile/sessions/revoke-others";
/// The metadata key the user agent is kept under.
const USER_AGENT: &str = "user_agent";

/// The section's values for the profile page (`profile.html`'s `sessions`).
#[derive(Serialize, Default)]
pub struct Section {
    /// Why nothing is listed, when nothing can be.
    note: Option<String>,
    list: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    handle: String,
    device: String,
    created: String,
    last_active: String,
    expires: String,
    current: bool,
}

/// The routes of the section's two forms.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(REVOKE_PATH, post(revoke_one))
        .route(REVOKE_OTHERS_PATH, post(revoke_others))
}

/// The user's sessions, for the profile page. The first time a session is shown, the
/// browser's user agent is attached to it (one write per session), so it can be told apart.
///
/// ```no_run
/// async fn profile(auth: auth0_axum::Auth) {
///     let section = quickstart_features::sessions::section(&auth).await;
///     # let _ = section;
/// }
/// ```
pub async fn section(auth: &Auth) -> Section {
    let client = auth.client();
    let cx = auth.context();
    let mut list = match client.list_my_sessions(cx).await {
        Ok(list) => list,
        Err(e) => return note(&e),
    };
    let agent = cx
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let (Some(agent), Some(current)) = (agent, list.iter_mut().find(|s| s.current))
        && current.metadata.get(USER_AGENT).is_none()
    {
        let metadata = SessionMetadata::new().with(USER_AGENT, agent);
        if client.set_session_metadata(&metadata, cx).await.is_ok() {
            current.metadata = metadata;
        }
    }
    let now = auth0_server::clock::unix_seconds(std::time::SystemTime::now());
    let list = list
        .into_iter()
        .map(|s| Row {
            handle: s.handle.to_string(),
            device: s
                .metadata
                .get(USER_AGENT)
                .unwrap_or("an unknown browser")
                .to_owned(),
            created: ago(now, s.created_at),
            last_active: ago(now, s.last_active_at),
            expires: format!("in {}", span(s.expires_at.saturating_sub(now))),
            current: s.current,
        })
        .collect();
    Section { note: None, list }
}

fn note(error: &Error) -> Section {
    let note = match error {
        Error::Store(StoreError::Unsupported { .. }) => {
            "This app keeps sessions in encrypted cookies, each in its own browser, so it has no \
             list of your sessions: start it with AUTH0_SESSION_STORE=redis or postgres to see \
             and end them here."
        }
        _ => "Your sessions cannot be listed right now; try again in a moment.",
    };
    tracing::debug!(error = %error, "sessions not listed");
    Section {
        note: Some(note.to_owned()),
        list: Vec::new(),
    }
}

/// "3 min ago".
fn ago(now: u64, then: u64) -> String {
    match now.saturating_sub(then) {
        0..60 => "just now".to_owned(),
        seconds => format!("{} ago", span(seconds)),
    }
}

fn span(seconds: u64) -> String {
    match seconds {
        0..3600 => format!("{} min", seconds / 60),
        3600..86_400 => format!("{} h", seconds / 3600),
        86_400..172_800 => "1 day".to_owned(),
        _ => format!("{} days", seconds / 86_400),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    handle: String,
}

async fn revoke_one(_: SameOriginPost, auth: Auth, Form(form): Form<RevokeForm>) -> Response {
    match auth
        .client()
        .revoke_my_session(&form.handle, auth.context())
        .await
    {
        Ok(()) => Redirect::to("/profile").into_response(),
        Err(Error::SessionNotFound) => (
            StatusCode::NOT_FOUND,
            "None of your sessions has that handle.",
        )
            .into_response(),
        Err(Error::InvalidArgument(_)) => {
            (StatusCode::BAD_REQUEST, "That is not a session handle.").into_response()
        }
        Err(e) => auth0_axum::AuthError::from(e).into_response(),
    }
}

async fn revoke_others(_: SameOriginPost, auth: Auth) -> Response {
    match auth.client().revoke_my_other_sessions(auth.context()).await {
        Ok(_) => Redirect::to("/profile").into_response(),
        Err(e) => auth0_axum::AuthError::from(e).into_response(),
    }
}
