//! An app that moves the login and callback routes: the redirects of `require_auth` and the
//! extractors, and the error pages' links, all follow its paths (the default `/login` and
//! `/callback` appear nowhere). Also the setup of three statements: the client with its
//! default (cookie) stores, the integration, the router.

use auth0_axum::{Auth0, Auth0Config, AuthError, User};
use auth0_dev_tenant::{DevTenant, RunningDevTenant};
use auth0_server_core::client::{Error, ServerClient};
use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
const LOGIN: &str = "/auth/sign-in";
const CALLBACK: &str = "/auth/return";

async fn profile(User(user): User) -> String {
    format!("profile of {}", user.sub)
}

async fn session_gone() -> Result<String, AuthError> {
    Err(Error::MissingSession.into())
}

async fn session_gone_with_headers() -> impl axum::response::IntoResponse {
    let error: AuthError = Error::MissingSession.into();
    ([("x-request-id", "req-42")], error)
}

async fn callback_refused() -> Result<String, AuthError> {
    Err(Error::Authorization {
        error: "invalid_request".to_owned(),
        description: Some("the redirect_uri is not allowed".to_owned()),
    }
    .into())
}

struct App {
    base: String,
    http: reqwest::Client,
    _tenant: RunningDevTenant,
}

async fn start() -> App {
    auth0_server_core::tls::ensure_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let tenant = DevTenant::builder()
        .redirect_uri(format!("{base}{CALLBACK}"))
        .logout_uri(format!("{base}/"))
        .start()
        .await
        .unwrap();
    // No stores and no cookie options: the client's defaults.
    let client = ServerClient::builder()
        .domain(tenant.issuer().to_string())
        .client_id(tenant.client_id())
        .client_secret(tenant.client_secret())
        .secret(SECRET)
        .redirect_uri(format!("{base}{CALLBACK}"))
        .build()
        .unwrap();
    let config = Auth0Config {
        login_path: LOGIN.to_owned(),
        ..Auth0Config::default()
    };
    let auth0 = Auth0::with_config(client, config);
    let app = Router::new()
        .route("/profile", get(profile).route_layer(auth0.require_auth()))
        .route("/open-profile", get(profile))
        .route("/session-gone", get(session_gone))
        .route("/session-gone-with-headers", get(session_gone_with_headers))
        .route("/callback-refused", get(callback_refused))
        .merge(auth0.routes())
        .layer(auth0.layer());
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

fn location(response: &reqwest::Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

#[tokio::test]
async fn require_auth_and_the_user_extractor_send_visitors_to_the_configured_login() {
    let app = start().await;
    for page in ["/profile", "/open-profile"] {
        let response = app.get(page).await;
        assert!(response.status().is_redirection(), "{page}");
        let expected = format!("{LOGIN}?returnTo=%2F{}", &page[1..]);
        assert_eq!(location(&response), expected, "{page}");
    }
}

#[tokio::test]
async fn an_auth_error_from_a_handler_redirects_to_the_configured_login() {
    let app = start().await;
    let response = app.get("/session-gone").await;
    assert!(response.status().is_redirection());
    assert_eq!(location(&response), LOGIN);
}

#[tokio::test]
async fn headers_the_handler_put_around_an_auth_error_are_kept() {
    let app = start().await;
    let response = app.get("/session-gone-with-headers").await;
    assert!(response.status().is_redirection());
    assert_eq!(location(&response), LOGIN);
    assert_eq!(response.headers()["x-request-id"], "req-42");
}

#[tokio::test]
async fn error_pages_link_to_the_configured_login_and_name_the_configured_callback() {
    let app = start().await;
    let response = app.get(&format!("{CALLBACK}?code=x&state=y")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The pages escape `/` too (`&#x2f;`): read them as a browser does.
    let page = html_escape::decode_html_entities(&response.text().await.unwrap()).into_owned();
    assert!(page.contains(&format!("href=\"{LOGIN}\"")), "{page}");
    assert!(!page.contains("\"/login\""), "{page}");

    let page = app.get("/callback-refused").await.text().await.unwrap();
    let page = html_escape::decode_html_entities(&page).into_owned();
    assert!(page.contains(CALLBACK), "{page}");
    assert!(!page.contains("<code>/callback</code>"), "{page}");
}

#[tokio::test]
async fn the_configured_routes_answer_and_the_defaults_do_not() {
    let app = start().await;
    let login = app.get(LOGIN).await;
    assert!(login.status().is_redirection());
    assert!(
        location(&login).contains("/authorize"),
        "{}",
        location(&login)
    );
    for default in ["/login", "/callback?code=x&state=y"] {
        assert_eq!(
            app.get(default).await.status(),
            StatusCode::NOT_FOUND,
            "{default}"
        );
    }
}

#[tokio::test]
async fn default_cookie_stores_on_http_loopback_write_cookies_without_secure() {
    let app = start().await;
    let login = app.get(LOGIN).await;
    let cookies: Vec<_> = login.headers().get_all(SET_COOKIE).iter().collect();
    assert!(!cookies.is_empty(), "a login writes its transaction cookie");
    for cookie in cookies {
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "a browser drops Secure on http: {cookie}"
        );
    }
}
