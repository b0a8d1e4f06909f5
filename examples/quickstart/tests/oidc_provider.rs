//! The quickstart end to end against a real OpenID provider (panva's `oidc-provider`,
//! started by `scripts/oidc-provider.sh`; `./scripts/test` starts it and sets
//! `OIDC_PROVIDER_ISSUER`), with each session store: home, a protected page, the provider's
//! login and consent forms, the profile from the ID token, an API call with an access token,
//! and logout through the provider's `end_session_endpoint` and its confirmation form.
//!
//! Without `OIDC_PROVIDER_ISSUER` these tests skip with a loud message, or fail when `CI` is
//! set; so do the Redis and PostgreSQL ones without `REDIS_URL` or `DATABASE_URL`. Each test
//! registers its own client (dynamic client registration) for its app's loopback port. The
//! provider and the browser are shared with core's tests: `auth0_test_support::oidc`.

mod support;

use auth0_test_support::oidc;

use auth0_server::client::ServerClient;
use quickstart::{Settings, StoreChoice, app};
use support::{redirect_target, skip};
use url::Url;

use oidc::{Browser, LOGIN, LOGIN_NAME, Provider};

/// The API `/api-call` asks a token for (a resource indicator at the provider).
const AUDIENCE: &str = "https://api.example.com/quickstart";

async fn run_flow(store: StoreChoice) {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let base = started_with(&provider, &store).await;
    let discovery = provider.discovery().await;
    let browser = Browser::new(&provider);
    logs_in_through_the_provider(&browser, &base, &discovery, &store).await;
    calls_the_api(&browser, &base).await;
    logs_out_through_the_provider(&browser, &base, &discovery).await;
}

/// The quickstart with `store`, registered at `provider`, on a free port; its base URL.
async fn started_with(provider: &Provider, store: &StoreChoice) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let redirect_uri = base.join("callback").unwrap().to_string();
    let (client_id, client_secret) = provider
        .register(&base, &format!("quickstart, {} sessions", store.name()), "")
        .await;
    let secret = auth0_server::generate_secret();
    let builder = ServerClient::builder()
        .domain(provider.issuer.clone())
        .client_id(client_id)
        .client_secret(client_secret)
        .redirect_uri(redirect_uri.clone())
        .scope("openid profile email offline_access")
        .audience(AUDIENCE)
        // oidc-provider grants offline_access (a refresh token) only with prompt=consent.
        .authorization_param("prompt", "consent")
        .secret(secret.clone());
    let settings = Settings {
        builder,
        store: store.clone(),
        transactions: Default::default(),
        audience: Some(AUDIENCE.to_owned()),
        dev_tenant: None,
    };
    let router = app(&settings).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// Home, then a protected page through the provider's login and consent, and back to it.
async fn logs_in_through_the_provider(
    browser: &Browser,
    base: &Url,
    discovery: &serde_json::Value,
    store: &StoreChoice,
) {
    let page = |path: &str| base.join(path).unwrap();
    let home = browser.browse(base.clone()).await;
    assert_eq!(&home.left_at, base);
    assert!(home.html.contains("id=\"login-button\""), "{}", home.html);
    assert!(
        home.html.contains(store.name()),
        "the footer names the store"
    );

    // A protected page sends us through the provider's login and consent, and back to it.
    let profile = page("profile");
    let login = redirect_target(&profile, &browser.send(&profile, None).await);
    assert_eq!(login.origin(), base.origin());
    assert_eq!(login.path(), "/login", "{login}");
    let navigation = browser.browse(login).await;
    assert_eq!(navigation.forms, ["login", "consent"]);
    let authorize = discovery["authorization_endpoint"].as_str().unwrap();
    assert!(
        navigation
            .visited
            .iter()
            .any(|u| u.as_str().starts_with(authorize)),
        "the provider's authorization endpoint: {:?}",
        navigation.visited
    );
    assert!(
        navigation
            .visited
            .iter()
            .any(|u| u.as_str().starts_with(&format!("{base}callback?"))),
        "the app's callback: {:?}",
        navigation.visited
    );
    assert_eq!(navigation.left_at, profile, "back on the page asked for");
    assert!(
        navigation.html.contains(LOGIN_NAME) && navigation.html.contains(LOGIN),
        "the user from the ID token: {}",
        navigation.html
    );
    assert!(
        browser
            .cookie_names(base)
            .iter()
            .all(|n| !n.starts_with("_a0_tx_")),
        "the transaction cookies are gone after login: {:?}",
        browser.cookie_names(base)
    );
}

/// An API call with an access token for the audience.
async fn calls_the_api(browser: &Browser, base: &Url) {
    let page = |path: &str| base.join(path).unwrap();
    let api = browser.browse(page("api-call")).await;
    assert_eq!(api.left_at, page("api-call"));
    assert!(api.forms.is_empty(), "no new login: {:?}", api.forms);
    assert!(
        api.html.contains("Access token retrieved: <code>ey"),
        "a JWT's first characters: {}",
        api.html
    );
    // The page escapes `/` too (`&#x2f;`): read it as a browser does.
    let text = html_escape::decode_html_entities(&api.html);
    assert!(text.contains(AUDIENCE), "{}", api.html);
}

/// Logout: the provider's end_session_endpoint, its confirmation form, and back home.
async fn logs_out_through_the_provider(
    browser: &Browser,
    base: &Url,
    discovery: &serde_json::Value,
) {
    let page = |path: &str| base.join(path).unwrap();
    let profile = page("profile");
    // The app's own logout link, as a browser sends it (`Sec-Fetch-Site`): one step.
    let logout = page("logout");
    let from_app = [("sec-fetch-site", "same-origin")];
    let end_session = redirect_target(&logout, &browser.send_with(&logout, None, &from_app).await);
    let endpoint = discovery["end_session_endpoint"].as_str().unwrap();
    assert!(end_session.as_str().starts_with(endpoint), "{end_session}");
    let navigation = browser.browse(end_session).await;
    assert_eq!(navigation.forms, ["logout"]);
    assert_eq!(&navigation.left_at, base, "back on the app's home");
    assert!(
        navigation.html.contains("id=\"login-button\""),
        "logged out: {}",
        navigation.html
    );
    let login = redirect_target(&profile, &browser.send(&profile, None).await);
    assert_eq!(login.path(), "/login", "the profile is protected again");
}

#[tokio::test]
async fn quickstart_with_cookie_sessions_and_a_real_provider() {
    run_flow(StoreChoice::Cookie).await;
}

#[tokio::test]
async fn quickstart_with_memory_sessions_and_a_real_provider() {
    run_flow(StoreChoice::Memory).await;
}

#[tokio::test]
async fn quickstart_with_redis_sessions_and_a_real_provider() {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => run_flow(StoreChoice::Redis(url)).await,
        _ => skip("REDIS_URL"),
    }
}

#[tokio::test]
async fn quickstart_with_postgres_sessions_and_a_real_provider() {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => run_flow(StoreChoice::Postgres(url)).await,
        _ => skip("DATABASE_URL"),
    }
}
