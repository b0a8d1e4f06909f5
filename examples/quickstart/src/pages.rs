//! The pages: templates in `templates/` around the SDK's base layout (every value escaped),
//! and the stylesheet.

use std::sync::{Arc, LazyLock};

use auth0_axum::{Auth, MaybeUser, User};
use auth0_pages::Pages;
use auth0_server::client::AccessTokenOptions;
use auth0_server::model::Organization;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use quickstart_features::App;

static PAGES: LazyLock<Pages> = LazyLock::new(|| {
    Pages::new(&[
        ("layout.html", include_str!("../templates/layout.html")),
        ("home.html", include_str!("../templates/home.html")),
        ("profile.html", include_str!("../templates/profile.html")),
        ("api.html", include_str!("../templates/api.html")),
    ])
});
const STYLE: &str = include_str!("../static/style.css");

/// The page `name` (titled `title`) with its own values `page`, or a 500 that says why not.
fn render<T: Serialize>(
    app: &App,
    name: &str,
    title: &'static str,
    logged_in: bool,
    page: T,
) -> Response {
    quickstart_features::render_in(&PAGES, app, name, title, logged_in, page)
}

#[derive(Serialize)]
struct Person<'a> {
    name: &'a str,
    email: &'a str,
    picture: Option<&'a str>,
    claims: String,
    organization: Option<Organization>,
    sessions: quickstart_features::sessions::Section,
}

pub(crate) async fn home(State(app): State<Arc<App>>, MaybeUser(user): MaybeUser) -> Response {
    let name = user.as_ref().map(|u| u.name.as_deref().unwrap_or(&u.sub));
    let page = serde_json::json!({ "name": name });
    render(&app, "home.html", "Home", user.is_some(), page)
}

pub(crate) async fn profile(State(app): State<Arc<App>>, User(user): User, auth: Auth) -> Response {
    // The claims the provider gave: the model's absent ones (null) are left out.
    let mut claims = serde_json::to_value(&user).unwrap_or_default();
    if let Value::Object(map) = &mut claims {
        map.retain(|_, v| !v.is_null());
    }
    let person = Person {
        name: user.name.as_deref().unwrap_or(&user.sub),
        email: user.email.as_deref().unwrap_or(""),
        picture: user.picture.as_deref(),
        claims: serde_json::to_string_pretty(&claims).unwrap_or_default(),
        organization: user.organization(),
        sessions: quickstart_features::sessions::section(&auth).await,
    };
    render(&app, "profile.html", "Profile", true, person)
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
) -> Result<Response, auth0_axum::AuthError> {
    #[derive(Serialize)]
    struct Call<'a> {
        prefix: String,
        audience: &'a str,
        expires: u64,
        scope: &'a str,
        claims: String,
    }
    let token = auth
        .access_token(AccessTokenOptions {
            audience: app.audience.clone(),
            ..AccessTokenOptions::default()
        })
        .await?;
    let claims = jwt_claims(&token.token)
        .map(|c| serde_json::to_string_pretty(&c).unwrap_or_default())
        .unwrap_or_else(|| "(an opaque token: only the API can read it)".to_owned());
    let call = Call {
        prefix: token.token.chars().take(20).collect(),
        audience: &token.audience,
        expires: token.expires_at,
        scope: token.scope.as_deref().unwrap_or(""),
        claims,
    };
    Ok(render(&app, "api.html", "API call", true, call))
}

pub(crate) async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}
