//! The integration composed with the rest of an axum app: nested routers, middleware and
//! handlers that wrap an `AuthError` in a response of their own, `require_auth` over the
//! whole router, and cookie options that would break login on plain http.

//! Reviewer's attacks on the Auth0Layer / PendingAuthError / cookie-policy changes.

use auth0_axum::{Auth0, AuthError, User};
use auth0_dev_tenant::{DevTenant, RunningDevTenant};
use auth0_server_core::client::{Error, ServerClient, ServerClientBuilder};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use reqwest::header::LOCATION;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

struct App {
    base: String,
    http: reqwest::Client,
    _tenant: RunningDevTenant,
}

/// A client for an app on `base` whose callback path is `callback`.
async fn tenant(base: &str, callback: &str) -> (ServerClientBuilder, RunningDevTenant) {
    auth0_server_core::tls::ensure_crypto_provider();
    let tenant = DevTenant::builder()
        .redirect_uri(format!("{base}{callback}"))
        .logout_uri(format!("{base}/"))
        .start()
        .await
        .unwrap();
    let builder = ServerClient::builder()
        .domain(tenant.issuer().to_string())
        .client_id(tenant.client_id())
        .client_secret(tenant.client_secret())
        .secret(SECRET)
        .redirect_uri(format!("{base}{callback}"));
    (builder, tenant)
}

async fn serve(
    callback: &str,
    configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
    router: impl FnOnce(Auth0) -> Router,
) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (builder, tenant) = tenant(&base, callback).await;
    let client = configure(builder).build().unwrap();
    let app = router(Auth0::new(client));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    App {
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _tenant: tenant,
    }
}

impl App {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }
}

async fn page(User(user): User) -> String {
    user.sub
}

// ---------------------------------------------------------------------------------------
// 1. Nested routers: returnTo loses the prefix.

#[tokio::test]
async fn require_auth_in_a_nested_router_sends_back_to_the_page_asked_for() {
    let app = serve(
        "/callback",
        |b| b,
        |auth0| {
            let admin = Router::new()
                .route("/settings", get(page))
                .route_layer(auth0.require_auth());
            Router::new()
                .nest("/admin", admin)
                .merge(auth0.routes())
                .layer(auth0.layer())
        },
    )
    .await;
    let response = app.get("/admin/settings?tab=2").await;
    assert!(response.status().is_redirection());
    assert_eq!(
        response.headers()[LOCATION],
        "/login?returnTo=%2Fadmin%2Fsettings%3Ftab%3D2",
        "after login the user must come back to /admin/settings, not /settings (a 404)"
    );
}

#[tokio::test]
async fn the_user_extractor_in_a_nested_router_sends_back_to_the_page_asked_for() {
    let app = serve(
        "/callback",
        |b| b,
        |auth0| {
            let admin = Router::new().route("/settings", get(page));
            Router::new()
                .nest("/admin", admin)
                .merge(auth0.routes())
                .layer(auth0.layer())
        },
    )
    .await;
    let response = app.get("/admin/settings").await;
    assert_eq!(
        response.headers()[LOCATION],
        "/login?returnTo=%2Fadmin%2Fsettings"
    );
}

// ---------------------------------------------------------------------------------------
// 2. The bridge's re-render throws away what the handler (or an inner middleware) made of
//    the AuthError response.

async fn api_with_status() -> impl IntoResponse {
    let error: AuthError = Error::MissingSession.into();
    (StatusCode::UNAUTHORIZED, error)
}

#[tokio::test]
async fn a_status_the_handler_puts_around_an_auth_error_is_kept() {
    let app = serve(
        "/callback",
        |b| b,
        |auth0| {
            Router::new()
                .route("/api/me", get(api_with_status))
                .merge(auth0.routes())
                .layer(auth0.layer())
        },
    )
    .await;
    let response = app.get("/api/me").await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the handler asked for 401; got {} to {:?}",
        response.status(),
        response.headers().get(LOCATION)
    );
}

/// A common SPA pattern: under /api, a login redirect becomes a 401 JSON body.
async fn redirects_become_401_json(mut response: Response) -> Response {
    if response.status().is_redirection() {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().remove(header::LOCATION);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        *response.body_mut() = Body::from(r#"{"error":"login_required"}"#);
    }
    response
}

async fn api_data() -> Result<String, AuthError> {
    Err(Error::MissingSession.into())
}

#[tokio::test]
async fn an_api_middleware_that_turns_login_redirects_into_401_json_is_not_undone() {
    let app = serve(
        "/callback",
        |b| b,
        |auth0| {
            let api = Router::new()
                .route("/data", get(api_data))
                .layer(axum::middleware::map_response(redirects_become_401_json));
            Router::new()
                .nest("/api", api)
                .merge(auth0.routes())
                .layer(auth0.layer())
        },
    )
    .await;
    let response = app.get("/api/data").await;
    let status = response.status();
    let location = response.headers().get(LOCATION).cloned();
    let body = response.text().await.unwrap();
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, r#"{"error":"login_required"}"#),
        "the bridge replaced the API's answer with a redirect to {location:?}"
    );
}

#[derive(Clone)]
struct RequestTiming;

async fn with_extension() -> impl IntoResponse {
    let error: AuthError = Error::MissingSession.into();
    (axum::Extension(RequestTiming), error)
}

async fn report_extension(response: Response) -> Response {
    let seen = response.extensions().get::<RequestTiming>().is_some();
    let mut response = response;
    response.headers_mut().insert(
        "x-seen",
        HeaderValue::from_static(if seen { "yes" } else { "no" }),
    );
    response
}

#[tokio::test]
async fn response_extensions_around_an_auth_error_are_kept() {
    let app = serve(
        "/callback",
        |b| b,
        |auth0| {
            Router::new()
                .route("/ext", get(with_extension))
                .merge(auth0.routes())
                .layer(auth0.layer())
                .layer(axum::middleware::map_response(report_extension))
        },
    )
    .await;
    let response = app.get("/ext").await;
    assert_eq!(response.headers()["x-seen"], "yes");
}

#[tokio::test]
async fn require_auth_over_the_login_route_does_not_loop() {
    let app = serve(
        "/callback",
        |b| b,
        |auth0| {
            Router::new()
                .route("/", get(page))
                .merge(auth0.routes())
                .layer(auth0.require_auth())
                .layer(auth0.layer())
        },
    )
    .await;
    let login = app.get("/login").await;
    let location = login.headers()[LOCATION].to_str().unwrap();
    assert!(
        !location.starts_with("/login"),
        "/login redirects to {location}: a loop"
    );
}
