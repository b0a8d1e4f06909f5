//! The pages: templates filled by hand (every value escaped), and the stylesheet.

use std::sync::Arc;

use auth0_axum::{Auth, MaybeUser, User};
use auth0_server::client::AccessTokenOptions;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use crate::App;

const BASE: &str = include_str!("../templates/base.html");
const HOME: &str = include_str!("../templates/home.html");
const PROFILE: &str = include_str!("../templates/profile.html");
const API: &str = include_str!("../templates/api.html");
const STYLE: &str = include_str!("../static/style.css");

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Fills `{{name}}` placeholders; values are HTML already (escape text before).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

fn layout(app: &App, title: &str, logged_in: bool, content: &str) -> Html<String> {
    let nav = if logged_in {
        r#"<a href="/">Home</a><a href="/profile">Profile</a><a href="/api-call">API call</a><a id="logout" href="/logout">Log out</a>"#
    } else {
        r#"<a href="/">Home</a><a id="login" href="/login">Log in</a>"#
    };
    let tenant = app
        .dev_tenant
        .as_deref()
        .map(|t| format!(" · local dev tenant at <code>{}</code>", escape(t)))
        .unwrap_or_default();
    Html(fill(
        BASE,
        &[
            ("title", &escape(title)),
            ("nav", nav),
            ("content", content),
            ("store", app.store_name),
            ("tenant", &tenant),
        ],
    ))
}

pub(crate) async fn home(State(app): State<Arc<App>>, MaybeUser(user): MaybeUser) -> Html<String> {
    let content = match &user {
        Some(user) => fill(
            HOME,
            &[
                (
                    "greeting",
                    &format!(
                        "Welcome, {}!",
                        escape(user.name.as_deref().unwrap_or(&user.sub))
                    ),
                ),
                (
                    "lead",
                    "You are logged in. See your profile, or call the API with an access token.",
                ),
                (
                    "action",
                    r#"<a class="button" href="/profile">See profile</a>"#,
                ),
            ],
        ),
        None => fill(
            HOME,
            &[
                ("greeting", "Auth0 Rust quickstart"),
                (
                    "lead",
                    "Log in to see your profile and call a protected API.",
                ),
                (
                    "action",
                    r#"<a class="button" id="login-button" href="/login">Log in</a>"#,
                ),
            ],
        ),
    };
    layout(&app, "Home", user.is_some(), &content)
}

pub(crate) async fn profile(State(app): State<Arc<App>>, User(user): User) -> Html<String> {
    // The claims the provider gave: the model's absent ones (null) are left out.
    let mut claims = serde_json::to_value(&user).unwrap_or_default();
    if let Value::Object(map) = &mut claims {
        map.retain(|_, v| !v.is_null());
    }
    let claims = serde_json::to_string_pretty(&claims).unwrap_or_default();
    let picture = user
        .picture
        .as_deref()
        .map(|p| format!(r#"<img src="{}" alt="">"#, escape(p)))
        .unwrap_or_default();
    let content = fill(
        PROFILE,
        &[
            ("picture", &picture),
            ("name", &escape(user.name.as_deref().unwrap_or(&user.sub))),
            ("email", &escape(user.email.as_deref().unwrap_or(""))),
            ("claims", &escape(&claims)),
        ],
    );
    layout(&app, "Profile", true, &content)
}

/// The claims of a JWT, read without verifying (the API it is for verifies it).
fn jwt_claims(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(crate) async fn api_call(
    State(app): State<Arc<App>>,
    auth: Auth,
) -> Result<Html<String>, auth0_axum::AuthError> {
    let token = auth
        .access_token(AccessTokenOptions {
            audience: app.audience.clone(),
            ..AccessTokenOptions::default()
        })
        .await?;
    let claims = jwt_claims(&token.token)
        .map(|c| serde_json::to_string_pretty(&c).unwrap_or_default())
        .unwrap_or_else(|| "(an opaque token: only the API can read it)".to_owned());
    let content = fill(
        API,
        &[
            (
                "prefix",
                &escape(&token.token.chars().take(20).collect::<String>()),
            ),
            ("audience", &escape(&token.audience)),
            ("expires", &token.expires_at.to_string()),
            ("scope", &escape(token.scope.as_deref().unwrap_or(""))),
            ("claims", &escape(&claims)),
        ],
    );
    Ok(layout(&app, "API call", true, &content))
}

pub(crate) async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}
