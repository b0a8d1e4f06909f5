//! The integration's routes, redirects and error pages, against the local dev tenant.

use std::collections::HashMap;
use std::sync::Arc;

use auth0_axum::{Auth0, MaybeUser, User};
use auth0_dev_tenant::{DevTenant, RunningDevTenant};
use auth0_server_core::Secrets;
use auth0_server_core::client::ServerClient;
use auth0_server_core::store::CookieOptions;
use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";

struct App {
    base: String,
    tenant: RunningDevTenant,
    http: reqwest::Client,
}

async fn profile(User(user): User) -> String {
    format!("profile of {}", user.sub)
}

async fn home(MaybeUser(user): MaybeUser) -> String {
    match user {
        Some(u) => format!("hello {}", u.sub),
        None => "anonymous".to_owned(),
    }
}

async fn start() -> App {
    auth0_server_core::tls::ensure_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let tenant = DevTenant::builder()
        .redirect_uri(format!("{base}/callback"))
        .logout_uri(format!("{base}/"))
        .start()
        .await
        .unwrap();
    let secrets = Secrets::parse(SECRET).unwrap();
    let cookies = CookieOptions {
        secure: false,
        ..CookieOptions::default()
    };
    let client = ServerClient::builder()
        .domain(tenant.issuer().to_string())
        .client_id(tenant.client_id())
        .client_secret(tenant.client_secret())
        .secret(SECRET)
        .redirect_uri(format!("{base}/callback"))
        .state_store(Arc::new(
            CookieStateStore::new(secrets.clone()).with_cookie_options(cookies.clone()),
        ))
        .transaction_store(Arc::new(
            CookieTransactionStore::new(secrets).with_cookie_options(cookies),
        ))
        .build()
        .unwrap();
    let auth0 = Auth0::new(client);
    let app = Router::new()
        .route("/", get(home))
        .route("/profile", get(profile).route_layer(auth0.require_auth()))
        .route("/open-profile", get(profile))
        .merge(auth0.routes())
        .layer(auth0.layer());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    App {
        base,
        tenant,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

fn cookies_of(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Cookie` header a browser would send back.
fn cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn a_protected_page_sends_anonymous_visitors_to_login_and_back() {
    let app = start().await;
    let response = app
        .http
        .get(format!("{}/profile?tab=1", app.base))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    assert_eq!(location(&response), "/login?returnTo=%2Fprofile%3Ftab%3D1");
    let response = app
        .http
        .get(format!("{}/open-profile", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_redirection(),
        "the User extractor redirects too"
    );
    let home = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(home.text().await.unwrap(), "anonymous");
}

#[tokio::test]
async fn login_redirects_to_the_provider_with_a_transaction_cookie() {
    let app = start().await;
    let response = app
        .http
        .get(format!(
            "{}/login?returnTo=/profile&screen_hint=signup",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    let to = reqwest::Url::parse(&location(&response)).unwrap();
    let q: HashMap<String, String> = to.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["screen_hint"], "signup");
    let set = cookies_of(&response);
    let tx = set
        .iter()
        .find(|c| c.starts_with(&format!("_a0_tx_{}=", q["state"])))
        .expect("a transaction cookie");
    assert!(
        tx.contains("HttpOnly") && tx.contains("SameSite=Lax"),
        "{tx}"
    );
}

#[tokio::test]
async fn a_callback_for_no_login_shows_a_page_that_says_what_to_do() {
    let app = start().await;
    let response = app
        .http
        .get(format!("{}/callback?code=x&state=unknown", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("started in another browser") && page.contains("Log in again"),
        "{page}"
    );
    assert!(page.contains("missing_transaction_error"));
}

/// A login started in this browser, whose callback comes back with the provider's `error`
/// and `description`: the error page's status and HTML.
async fn refused_login(app: &App, error: &str, description: &str) -> (StatusCode, String) {
    let login = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let cookies = cookie_header(&cookies_of(&login));
    let to = reqwest::Url::parse(&location(&login)).unwrap();
    let state = to
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let issuer = app.tenant.issuer().to_string();
    let callback = reqwest::Url::parse_with_params(
        &format!("{}/callback", app.base),
        [
            ("error", error),
            ("error_description", description),
            ("state", &state),
            ("iss", &issuer),
        ],
    )
    .unwrap();
    let response = app
        .http
        .get(callback)
        .header("cookie", cookies)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_cancelled_login_shows_the_providers_reason() {
    let app = start().await;
    let (status, page) = refused_login(&app, "access_denied", "<script>alert(1)</script>").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("cancelled"), "{page}");
    assert!(!page.contains("<script>"), "the description is escaped");
}

/// The provider's words are shown as text: markup and template syntax in an error
/// description are escaped, never read as HTML, never filled in.
#[tokio::test]
async fn an_error_description_with_markup_is_shown_as_text() {
    let app = start().await;
    for hostile in [
        "{{ login_path }}{{code}}",
        "{% raw %}",
        "<script>alert(1)</script>",
        "\"><img src=x onerror=1>",
    ] {
        let description = format!("redirect_uri is not allowed: {hostile}");
        let (status, page) = refused_login(&app, "invalid_request", &description).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            !page.contains("<script>") && !page.contains("<img"),
            "{page}"
        );
        let text = html_escape::decode_html_entities(&page).into_owned();
        assert!(
            text.contains(&format!("It said: <code>{description}</code>")),
            "{page}"
        );
        assert!(text.contains("Allowed Callback URLs"), "the fix: {page}");
        assert!(
            text.contains("<a href=\"/login\">Log in again</a>"),
            "{page}"
        );
    }
}

#[tokio::test]
async fn an_unsafe_return_to_is_replaced_by_the_home_page() {
    let app = start().await;
    for evil in ["https://evil.example/", "//evil.example", "/\\evil.example"] {
        let response = app
            .http
            .get(
                reqwest::Url::parse_with_params(
                    &format!("{}/login", app.base),
                    [("returnTo", evil)],
                )
                .unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{evil}");
        // The app state is sealed in the transaction cookie; that it holds "/" is checked
        // end to end in tests/login.rs. Here: the login still starts.
        assert!(location(&response).contains("/authorize"), "{evil}");
    }
}

#[tokio::test]
async fn a_garbage_logout_token_is_a_400() {
    let app = start().await;
    let response = app
        .http
        .post(format!("{}/backchannel-logout", app.base))
        .form(&[("logout_token", "not-a-jwt")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app
        .http
        .post(format!("{}/backchannel-logout", app.base))
        .body("nothing")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_handler_without_the_layer_gets_a_page_that_names_the_fix() {
    let app: Router = Router::new().route("/", get(home));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    auth0_server_core::tls::ensure_crypto_provider();
    let response = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.text().await.unwrap().contains("auth0.layer()"));
}

#[tokio::test]
async fn a_provider_that_fails_at_the_token_endpoint_is_a_502_page_and_no_session() {
    let app = start().await;
    let login = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let cookies = cookie_header(&cookies_of(&login));
    let to = reqwest::Url::parse(&location(&login)).unwrap();
    let state = to
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let issuer = app.tenant.issuer().to_string();
    // The provider goes away between the redirect and the callback.
    app.tenant.shutdown().await;
    let response = app
        .http
        .get(format!(
            "{}/callback?code=some-code&state={state}&iss={}",
            app.base,
            url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect::<String>()
        ))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let set = cookies_of(&response);
    assert!(
        set.iter()
            .all(|c| !c.starts_with("_a0_session") || c.contains("Max-Age=0")),
        "no session cookie for a failed login: {set:?}"
    );
    assert!(response.text().await.unwrap().contains("cannot be reached"));
}

#[tokio::test]
async fn the_callback_route_is_the_redirect_uris_path() {
    auth0_server_core::tls::ensure_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let secrets = Secrets::parse(SECRET).unwrap();
    let client = ServerClient::builder()
        .domain("tenant.example.com")
        .client_id("client")
        .client_secret("secret")
        .secret(SECRET)
        .redirect_uri(format!("{base}/auth/cb"))
        .state_store(Arc::new(CookieStateStore::new(secrets.clone())))
        .transaction_store(Arc::new(CookieTransactionStore::new(secrets)))
        .build()
        .unwrap();
    let auth0 = Auth0::new(client);
    assert_eq!(auth0.config().callback_path, "/auth/cb");
    let app = Router::new().merge(auth0.routes()).layer(auth0.layer());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let at = |path: &str| {
        http.get(format!("{base}{path}?code=x&state=unknown"))
            .send()
    };
    assert_eq!(
        at("/auth/cb").await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "the callback answers at the redirect URI's path"
    );
    assert_eq!(
        at("/callback").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
