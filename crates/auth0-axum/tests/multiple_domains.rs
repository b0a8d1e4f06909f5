//! Multiple custom domains seen from the browser: one app, one client, two dev tenants picked
//! by the `Host` the request was sent to. A host the app does not serve gets the 421
//! `unknown_domain` page before any provider is asked; a callback under the other site gets
//! the 400 `domain_mismatch` page; the attacker's `Host` is never echoed unescaped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth0_axum::Auth0;
use auth0_dev_tenant::{DevTenant, RunningDevTenant};
use auth0_server_core::client::{AllowListResolver, DEFAULT_STATE_IDENTIFIER, ServerClient};
use auth0_test_support::dev_tenant::Browser;
use axum::Router;
use reqwest::header::{COOKIE, HOST, LOCATION, SET_COOKIE};
use reqwest::{StatusCode, Url};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
/// The site served by tenant A.
const HOST_A: &str = "shop-a.example.test";
/// The site served by tenant B.
const HOST_B: &str = "shop-b.example.test:8443";
/// Hosts the app does not serve; the last one is a script.
const EVIL_HOSTS: [&str; 2] = [
    "attacker.example.net",
    "<script>alert(1)</script>.example.net",
];

/// The app on loopback, with a client whose resolver maps `hosts` to domains.
async fn serve(default_domain: &str, id: &str, secret: &str, hosts: &[(&str, &str)]) -> String {
    auth0_server_core::tls::ensure_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let mut resolver = AllowListResolver::new();
    for (host, domain) in hosts {
        resolver = resolver.host(host, *domain);
    }
    let client = ServerClient::builder()
        .domain(default_domain)
        .client_id(id)
        .client_secret(secret)
        .secret(SECRET)
        .redirect_uri(format!("{base}/callback"))
        .domain_resolver(resolver)
        .build()
        .unwrap();
    let auth0 = Auth0::new(client);
    let app = Router::new().merge(auth0.routes()).layer(auth0.layer());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A GET of `path` on the app at `base`, sent to `host` with `cookies`.
async fn get(base: &str, path: &str, host: &str, cookies: &str) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = http.get(format!("{base}{path}")).header(HOST, host);
    if !cookies.is_empty() {
        request = request.header(COOKIE, cookies);
    }
    request.send().await.unwrap()
}

/// The `name=value` pairs a response sets, as a `Cookie` header.
fn cookies(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A page's text as a browser shows it, after checking that it carries no markup from `host`.
async fn page(response: reqwest::Response, host: &str) -> String {
    let html = response.text().await.unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains(host) || !host.contains('<'), "{html}");
    html_escape::decode_html_entities(&html).into_owned()
}

/// A loopback server standing for a provider: it counts every request and answers none.
async fn counting_provider() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { StatusCode::NOT_FOUND }
    });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (issuer, hits)
}

#[tokio::test]
async fn an_unknown_host_gets_the_421_page_and_no_provider_is_asked() {
    let (issuer, hits) = counting_provider().await;
    let base = serve(&issuer, "id", "secret", &[(HOST_A, issuer.as_str())]).await;
    for host in EVIL_HOSTS {
        for path in ["/login", "/callback?code=c&state=s"] {
            let response = get(&base, path, host, "").await;
            assert_eq!(
                response.status(),
                StatusCode::MISDIRECTED_REQUEST,
                "{host} {path}"
            );
            let text = page(response, host).await;
            assert!(text.contains("This site is not served here"), "{text}");
            assert!(text.contains("unknown_domain"), "{text}");
        }
        // A cross-site GET /logout asks the user first (it reaches no client call yet); the
        // question does not carry the attacker's host either.
        let confirm = get(&base, "/logout", host, "").await;
        assert_eq!(confirm.status(), StatusCode::OK, "{host}");
        page(confirm, host).await;
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no provider was asked");
}

#[tokio::test]
async fn a_backchannel_logout_under_an_unknown_host_is_misdirected_not_retried() {
    let (issuer, hits) = counting_provider().await;
    let base = serve(&issuer, "id", "secret", &[(HOST_A, issuer.as_str())]).await;
    let http = reqwest::Client::new();
    for host in EVIL_HOSTS {
        let response = http
            .post(format!("{base}/backchannel-logout"))
            .header(HOST, host)
            .form(&[("logout_token", "a.b.c")])
            .send()
            .await
            .unwrap();
        // Not a 5xx: that would tell the provider to send the token again and again.
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        let text = page(response, host).await;
        assert!(text.contains("This site is not served here"), "{text}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no provider was asked");
}

/// Two dev tenants sharing one application's client id and secret, and the app.
async fn two_sites() -> (RunningDevTenant, RunningDevTenant, String) {
    let tenant_a = DevTenant::builder()
        .any_loopback_redirect_uri()
        .start()
        .await
        .unwrap();
    let tenant_b = DevTenant::builder()
        .client_id(tenant_a.client_id())
        .client_secret(tenant_a.client_secret())
        .any_loopback_redirect_uri()
        .start()
        .await
        .unwrap();
    let hosts = [(HOST_A, tenant_a.domain()), (HOST_B, tenant_b.domain())];
    let base = serve(
        tenant_a.domain(),
        tenant_a.client_id(),
        tenant_a.client_secret(),
        &hosts,
    )
    .await;
    (tenant_a, tenant_b, base)
}

#[tokio::test]
async fn a_callback_under_the_other_site_gets_the_domain_mismatch_page() {
    let (tenant_a, _tenant_b, base) = two_sites().await;
    let login = get(&base, "/login", HOST_A, "").await;
    assert!(login.status().is_redirection(), "{}", login.status());
    let transaction = cookies(&login);
    let authorize = Url::parse(login.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(
        authorize.as_str().starts_with(tenant_a.issuer()),
        "{authorize}"
    );
    let (callback, _) = Browser::new(&tenant_a).authorize(authorize).await;
    let path = format!("{}?{}", callback.path(), callback.query().unwrap());

    let response = get(&base, &path, HOST_B, &transaction).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers().get_all(SET_COOKIE).iter().all(|c| {
            let c = c.to_str().unwrap();
            !c.contains(DEFAULT_STATE_IDENTIFIER) || c.contains("Max-Age=0")
        }),
        "no session cookie"
    );
    let text = page(response, HOST_B).await;
    assert!(
        text.contains("This login belongs to another site"),
        "{text}"
    );
    assert!(text.contains("domain_mismatch"), "{text}");

    // The same callback under an unknown host is refused before the login is looked at.
    for host in EVIL_HOSTS {
        let response = get(&base, &path, host, &transaction).await;
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        page(response, host).await;
    }
}
