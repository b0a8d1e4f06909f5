//! Multiple custom domains seen from the browser: one app, one client, two dev tenants picked
//! by the `Host` the request was sent to. Each site logs in through its own callback and logs
//! out back to itself; a logout token of either domain, posted to the application's one
//! back-channel URI, ends that domain's session. A host the app does not serve gets the 421
//! `unknown_domain` page before any provider is asked; a port added to a listed host does not
//! reach the redirect URI; a callback under the other site gets the 400 `domain_mismatch`
//! page; the attacker's `Host` is never echoed unescaped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth0_axum::{Auth0, MaybeUser};
use auth0_dev_tenant::RunningDevTenant;
use auth0_server_core::client::{
    AllowListResolver, BACKCHANNEL_LOGOUT_EVENT, DEFAULT_STATE_IDENTIFIER, DomainResolver,
    DomainResolverContext, ServerClient, ServerClientBuilder,
};
use auth0_test_support::dev_tenant::Browser;
use auth0_test_support::domains::{self, callback_on, counting_provider, redirect_uri_of};
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

/// A loopback listener for the app, and its base URL.
async fn bind() -> (tokio::net::TcpListener, String) {
    auth0_server_core::tls::ensure_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    (listener, base)
}

/// `GET /me`: the user's `sub`, or `anonymous`.
async fn me(MaybeUser(user): MaybeUser) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.sub)
}

/// The app on loopback, with a client whose resolver maps `hosts` to domains.
async fn serve(default_domain: &str, id: &str, secret: &str, hosts: &[(&str, &str)]) -> String {
    let (listener, base) = bind().await;
    let builder = ServerClient::builder()
        .domain(default_domain)
        .client_id(id)
        .client_secret(secret);
    serve_on(listener, builder, hosts).await;
    base
}

/// Serves the app on `listener` with the client `builder` makes, its resolver mapping
/// `hosts` to domains.
async fn serve_on(
    listener: tokio::net::TcpListener,
    builder: ServerClientBuilder,
    hosts: &[(&str, &str)],
) {
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut resolver = AllowListResolver::new();
    for (host, domain) in hosts {
        resolver = resolver.host(host, *domain);
    }
    let client = builder
        .secret(SECRET)
        .redirect_uri(format!("{base}/callback"))
        .domain_resolver(resolver)
        .build()
        .unwrap();
    let auth0 = Auth0::new(client);
    let app = Router::new()
        .route("/me", axum::routing::get(me))
        .merge(auth0.routes())
        .layer(auth0.layer());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
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
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no provider was asked");
}

/// A client that follows no redirect.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_logout_under_an_unknown_host_is_misdirected_not_asked() {
    let (issuer, hits) = counting_provider().await;
    let base = serve(&issuer, "id", "secret", &[(HOST_A, issuer.as_str())]).await;
    let http = no_redirects();
    for host in EVIL_HOSTS {
        let get = get(&base, "/logout?returnTo=/x", host, "").await;
        let post = http
            .post(format!("{base}/logout"))
            .header(HOST, host)
            .header("sec-fetch-site", "same-origin")
            .form(&[("returnTo", "/x")])
            .send()
            .await
            .unwrap();
        for response in [get, post] {
            assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
            let text = page(response, host).await;
            assert!(text.contains("This site is not served here"), "{text}");
            assert!(!text.contains("Log out?"), "{text}");
        }
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no provider was asked");
}

#[tokio::test]
async fn a_request_with_two_host_headers_is_misdirected() {
    let (issuer, hits) = counting_provider().await;
    let base = serve(&issuer, "id", "secret", &[(HOST_A, issuer.as_str())]).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.append(HOST, HOST_A.parse().unwrap());
    headers.append(HOST, EVIL_HOSTS[0].parse().unwrap());
    let response = no_redirects()
        .get(format!("{base}/login"))
        .headers(headers)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST);
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

/// A dev tenant for the app at `base` whose site `host` logs in through it (that site's
/// callback allowed), with the client id and secret of `like` when given, and `base`'s
/// back-channel logout endpoint when `backchannel`.
async fn tenant_for(
    base: &str,
    host: &str,
    like: Option<&RunningDevTenant>,
    backchannel: bool,
) -> RunningDevTenant {
    let uri = format!("{base}/backchannel-logout");
    let uri = backchannel.then_some(uri.as_str());
    domains::tenant_for(&callback_on(base, host), like, uri).await
}

/// A client builder for `tenant`'s application, with the tenant's domain as the configured one.
fn client_of(tenant: &RunningDevTenant) -> ServerClientBuilder {
    ServerClient::builder()
        .domain(tenant.domain())
        .client_id(tenant.client_id())
        .client_secret(tenant.client_secret())
}

/// Two dev tenants sharing one application's client id and secret, and the app.
async fn two_sites() -> (RunningDevTenant, RunningDevTenant, String) {
    let (listener, base) = bind().await;
    let tenant_a = tenant_for(&base, HOST_A, None, false).await;
    let tenant_b = tenant_for(&base, HOST_B, Some(&tenant_a), false).await;
    let hosts = [(HOST_A, tenant_a.domain()), (HOST_B, tenant_b.domain())];
    serve_on(listener, client_of(&tenant_a), &hosts).await;
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

/// Logs in through the app under `host` at `tenant`; returns the session's cookies.
async fn login_on(base: &str, host: &str, browser: &Browser) -> String {
    let login = get(base, "/login", host, "").await;
    assert!(login.status().is_redirection(), "{}", login.status());
    let authorize = Url::parse(login.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(
        redirect_uri_of(&authorize),
        callback_on(base, host),
        "{host}"
    );
    let (callback, _) = browser.authorize(authorize).await;
    assert!(
        callback.as_str().starts_with(&callback_on(base, host)),
        "{callback}"
    );
    let path = format!("{}?{}", callback.path(), callback.query().unwrap());
    let done = get(base, &path, host, &cookies(&login)).await;
    assert!(done.status().is_redirection(), "{host}: {}", done.status());
    assert_eq!(done.headers()[LOCATION], "/", "{host}");
    cookies(&done)
}

/// Who `GET /me` says is logged in under `host` with `cookies`.
async fn me_under(base: &str, host: &str, cookies: &str) -> String {
    get(base, "/me", host, cookies).await.text().await.unwrap()
}

#[tokio::test]
async fn each_site_logs_in_through_its_own_callback_and_logs_out_back_to_itself() {
    let (tenant_a, tenant_b, base) = two_sites().await;
    for (host, tenant) in [(HOST_A, &tenant_a), (HOST_B, &tenant_b)] {
        let session = login_on(&base, host, &Browser::new(tenant)).await;
        assert_ne!(me_under(&base, host, &session).await, "anonymous", "{host}");
        // A link on the site: logout goes to the site's provider, which sends the browser
        // back to the site.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let logout = http
            .get(format!("{base}/logout"))
            .header(HOST, host)
            .header(COOKIE, &session)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        let to = Url::parse(logout.headers()[LOCATION].to_str().unwrap()).unwrap();
        assert!(to.as_str().starts_with(tenant.issuer()), "{to}");
        let return_to = to
            .query_pairs()
            .find(|(k, _)| k == "returnTo" || k == "post_logout_redirect_uri")
            .unwrap()
            .1;
        let site = callback_on(&base, host).replace("/callback", "/");
        assert_eq!(return_to, site, "{host}");
        // Without Fetch Metadata, the site's own Origin is this app: the confirmation form
        // posted from the site logs out (it is not refused as another site's).
        let form = http
            .post(format!("{base}/logout"))
            .header(HOST, host)
            .header("origin", site.trim_end_matches('/'))
            .form(&[("returnTo", "/")])
            .send()
            .await
            .unwrap();
        assert!(form.status().is_redirection(), "{host}: {}", form.status());
    }
}

/// The `returnTo` (or `post_logout_redirect_uri`) a provider logout URL carries.
fn return_to_of(location: &str) -> String {
    let to = Url::parse(location).unwrap();
    to.query_pairs()
        .find(|(k, _)| k == "returnTo" || k == "post_logout_redirect_uri")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `GET /logout` on the app at `base` with `returnTo` set to `return_to`.
fn logout_to(base: &str, return_to: &str) -> Url {
    let mut url = Url::parse(&format!("{base}/logout")).unwrap();
    url.query_pairs_mut().append_pair("returnTo", return_to);
    url
}

#[tokio::test]
async fn a_return_to_on_the_other_site_is_refused() {
    let (tenant_a, _tenant_b, base) = two_sites().await;
    let site_a = callback_on(&base, HOST_A).replace("/callback", "/");
    let site_b = callback_on(&base, HOST_B).replace("/callback", "/");
    let logout = no_redirects()
        .get(logout_to(&base, &format!("{site_b}account")))
        .header(HOST, HOST_A)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    let location = logout.headers()[LOCATION].to_str().unwrap();
    assert!(location.starts_with(tenant_a.issuer()), "{location}");
    assert_eq!(
        return_to_of(location),
        site_a,
        "site B's URL is not site A's"
    );
    // The same URL is fine on its own site.
    let on_b = no_redirects()
        .get(logout_to(&base, &format!("{site_b}account")))
        .header(HOST, HOST_B)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    let location = on_b.headers()[LOCATION].to_str().unwrap();
    assert_eq!(return_to_of(location), format!("{site_b}account"));
}

#[tokio::test]
async fn the_other_sites_origin_posting_logout_gets_the_question() {
    let (_tenant_a, _tenant_b, base) = two_sites().await;
    let site_b = callback_on(&base, HOST_B).replace("/callback", "");
    let response = no_redirects()
        .post(format!("{base}/logout"))
        .header(HOST, HOST_A)
        .header("origin", site_b)
        .form(&[("returnTo", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = page(response, HOST_A).await;
    assert!(text.contains("Log out?"), "{text}");
}

#[tokio::test]
async fn a_port_added_to_a_listed_host_does_not_reach_the_redirect_uri() {
    let (_tenant_a, _tenant_b, base) = two_sites().await;
    for forged in ["shop-a.example.test:6666", "SHOP-A.example.test:1"] {
        let login = get(&base, "/login", forged, "").await;
        assert!(login.status().is_redirection(), "{}", login.status());
        let authorize = Url::parse(login.headers()[LOCATION].to_str().unwrap()).unwrap();
        assert_eq!(redirect_uri_of(&authorize), callback_on(&base, HOST_A));
    }
}

#[tokio::test]
async fn a_logout_token_of_either_domain_through_the_one_backchannel_uri_ends_that_domains_session()
{
    let (listener, base) = bind().await;
    let tenant_a = tenant_for(&base, HOST_A, None, true).await;
    let tenant_b = tenant_for(&base, HOST_B, Some(&tenant_a), true).await;
    // The application's one back-channel logout URI is on the app's own address, a host
    // the app serves (here mapped to domain A).
    let backchannel_host = base.trim_start_matches("http://").to_owned();
    let hosts = [
        (HOST_A, tenant_a.domain()),
        (HOST_B, tenant_b.domain()),
        (backchannel_host.as_str(), tenant_a.domain()),
    ];
    let builder = client_of(&tenant_a)
        .session_backend(auth0_store_memory::MemoryBackend::new())
        .transaction_backend(auth0_store_memory::MemoryTransactionBackend::new());
    serve_on(listener, builder, &hosts).await;
    let (browser_a, browser_b) = (Browser::new(&tenant_a), Browser::new(&tenant_b));
    let a = login_on(&base, HOST_A, &browser_a).await;
    let b = login_on(&base, HOST_B, &browser_b).await;
    let user = me_under(&base, HOST_A, &a).await;
    assert_ne!(user, "anonymous");
    assert_eq!(
        me_under(&base, HOST_B, &b).await,
        user,
        "the same user on each site"
    );

    // B's provider session ends: B posts its logout token to the one URI, under A's host.
    let mut url = Url::parse(&format!("{}v2/logout", tenant_b.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", tenant_b.client_id())
        .append_pair("returnTo", "http://127.0.0.1:5000/");
    browser_b.go(url, None).await.left();
    assert_eq!(
        me_under(&base, HOST_B, &b).await,
        "anonymous",
        "B's session ended"
    );
    assert_eq!(me_under(&base, HOST_A, &a).await, user, "A's session stays");
}

/// A logout token with these claims and a signature nobody made.
fn unsigned_logout_token(issuer: &str) -> String {
    let b64 = |v: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
    };
    let claims = format!(r#"{{"iss":"{issuer}","aud":"id","sub":"auth0|1","sid":"s"}}"#);
    format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"RS256","kid":"k"}"#),
        b64(&claims)
    )
}

#[tokio::test]
async fn a_logout_token_of_an_issuer_the_app_does_not_list_is_refused_without_any_request() {
    let (issuer, hits) = counting_provider().await;
    let (unlisted, unlisted_hits) = counting_provider().await;
    let base = serve(&issuer, "id", "secret", &[(HOST_A, issuer.as_str())]).await;
    let http = reqwest::Client::new();
    for iss in [unlisted.as_str(), "https://attacker.example.net/"] {
        let response = http
            .post(format!("{base}/backchannel-logout"))
            .header(HOST, HOST_A)
            .form(&[("logout_token", unsigned_logout_token(iss))])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{iss}");
        let text = page(response, HOST_A).await;
        assert!(text.contains("not a domain of this app"), "{text}");
    }
    assert_eq!(
        unlisted_hits.load(Ordering::SeqCst),
        0,
        "the unlisted issuer was not asked"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nor the listed domain");
}

/// POSTs `token` to the app's back-channel logout endpoint under `host`.
async fn post_logout_token(base: &str, host: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/backchannel-logout"))
        .header(HOST, host)
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn one_logout_token_posted_under_both_sites_hosts_is_a_replay_the_second_time() {
    let (inbox_url, inbox) = domains::logout_token_inbox().await;
    let (listener, base) = bind().await;
    let inbox_uri = inbox_url.join("backchannel-logout").unwrap();
    let tenant_a = tenant_for(&base, HOST_A, None, false).await;
    let callback_b = callback_on(&base, HOST_B);
    let tenant_b =
        domains::tenant_for(&callback_b, Some(&tenant_a), Some(inbox_uri.as_str())).await;
    let hosts = [(HOST_A, tenant_a.domain()), (HOST_B, tenant_b.domain())];
    let builder = client_of(&tenant_a)
        .session_backend(auth0_store_memory::MemoryBackend::new())
        .transaction_backend(auth0_store_memory::MemoryTransactionBackend::new());
    serve_on(listener, builder, &hosts).await;
    let browser_b = Browser::new(&tenant_b);
    let b = login_on(&base, HOST_B, &browser_b).await;
    let mut url = Url::parse(&format!("{}v2/logout", tenant_b.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", tenant_b.client_id())
        .append_pair("returnTo", "http://127.0.0.1:5000/");
    browser_b.go(url, None).await.left();
    let token = inbox
        .lock()
        .unwrap()
        .pop()
        .expect("B posted a logout token");

    let first = post_logout_token(&base, HOST_B, &token).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(me_under(&base, HOST_B, &b).await, "anonymous");
    for host in [HOST_A, HOST_B] {
        let again = post_logout_token(&base, host, &token).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST, "{host}");
        let text = page(again, host).await;
        assert!(text.contains("a replay"), "{host}: {text}");
    }
}

/// Valid logout-token claims of `tenant`'s domain for its application.
fn logout_claims(tenant: &RunningDevTenant) -> josekit::jwt::JwtPayload {
    let now = std::time::SystemTime::now();
    let mut claims = josekit::jwt::JwtPayload::new();
    claims.set_issuer(tenant.issuer());
    claims.set_audience(vec![tenant.client_id()]);
    claims.set_issued_at(&now);
    claims.set_expires_at(&(now + std::time::Duration::from_secs(120)));
    claims.set_jwt_id("forged-1");
    claims.set_subject("auth0|someone");
    let mut events = serde_json::Map::new();
    events.insert(BACKCHANNEL_LOGOUT_EVENT.to_owned(), serde_json::json!({}));
    let events = serde_json::Value::Object(events);
    claims.set_claim("events", Some(events)).unwrap();
    claims.set_claim("sid", Some("a-session".into())).unwrap();
    claims
}

#[tokio::test]
async fn an_unsigned_or_hs256_logout_token_with_a_listed_domains_issuer_is_refused() {
    let (tenant_a, tenant_b, base) = two_sites().await;
    for (host, tenant) in [
        (HOST_A, &tenant_a),
        (HOST_B, &tenant_a),
        (HOST_A, &tenant_b),
    ] {
        let claims = logout_claims(tenant);
        let mut header = josekit::jws::JwsHeader::new();
        header.set_token_type("logout+jwt");
        let none = josekit::jwt::encode_unsecured(&claims, &header).unwrap();
        // HS256 keyed with the client secret (which both the app and the tenant know).
        let hs256 = josekit::jws::HS256
            .signer_from_bytes(tenant.client_secret().as_bytes())
            .unwrap();
        let hmac = josekit::jwt::encode_with_signer(&claims, &header, &hs256).unwrap();
        for (alg, token) in [("none", none), ("HS256", hmac)] {
            let response = post_logout_token(&base, host, &token).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{alg} {host}");
            let text = page(response, host).await;
            let why = format!("signed with {alg}, which is not among the accepted algorithms");
            assert!(text.contains(&why), "{alg} {host}: {text}");
        }
    }
}

/// A resolver that serves every host with `domain` and names `site` as its site.
struct NamesSite {
    domain: String,
    site: &'static str,
}

#[async_trait::async_trait]
impl DomainResolver for NamesSite {
    async fn resolve(&self, _context: &DomainResolverContext) -> Option<String> {
        Some(self.domain.clone())
    }

    async fn site(&self, _context: &DomainResolverContext) -> Option<String> {
        Some(self.site.to_owned())
    }
}

#[tokio::test]
async fn a_resolvers_site_with_a_fragment_or_a_password_is_a_configuration_error() {
    let (issuer, _hits) = counting_provider().await;
    for site in [
        "attacker.example.net#.shop-a.example.test",
        "user:pw@shop-a.example.test",
    ] {
        let (listener, base) = bind().await;
        let client = ServerClient::builder()
            .domain(&issuer)
            .client_id("id")
            .client_secret("secret")
            .secret(SECRET)
            .redirect_uri(format!("{base}/callback"))
            .domain_resolver(NamesSite {
                domain: issuer.clone(),
                site,
            })
            .build()
            .unwrap();
        let auth0 = Auth0::new(client);
        let app = Router::new().merge(auth0.routes()).layer(auth0.layer());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        for path in ["/login?returnTo=http://attacker.example.net/", "/logout"] {
            let response = get(&base, path, HOST_A, "").await;
            assert!(!response.status().is_redirection(), "{site} {path}");
            let text = page(response, HOST_A).await;
            assert!(text.contains("not a host or host:port"), "{site}: {text}");
        }
    }
}

/// An `AllowListResolver` that counts the calls it gets.
#[derive(Clone)]
struct Counting {
    list: AllowListResolver,
    resolve: Arc<AtomicUsize>,
    site: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl DomainResolver for Counting {
    async fn resolve(&self, context: &DomainResolverContext) -> Option<String> {
        self.resolve.fetch_add(1, Ordering::SeqCst);
        self.list.resolve(context).await
    }

    async fn site(&self, context: &DomainResolverContext) -> Option<String> {
        self.site.fetch_add(1, Ordering::SeqCst);
        self.list.site(context).await
    }
}

#[tokio::test]
async fn a_logout_asks_the_resolver_for_the_site_once() {
    let (issuer, _hits) = counting_provider().await;
    let (listener, base) = bind().await;
    let counting = Counting {
        list: AllowListResolver::new().host(HOST_A, &issuer),
        resolve: Arc::default(),
        site: Arc::default(),
    };
    let client = ServerClient::builder()
        .domain(&issuer)
        .client_id("id")
        .client_secret("secret")
        .secret(SECRET)
        .redirect_uri(format!("{base}/callback"))
        .domain_resolver(counting.clone())
        .build()
        .unwrap();
    let auth0 = Auth0::new(client);
    let app = Router::new().merge(auth0.routes()).layer(auth0.layer());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let logout = no_redirects()
        .get(logout_to(&base, "/bye"))
        .header(HOST, HOST_A)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_redirection(), "{}", logout.status());
    // The route's origin (returnTo, the cross-site check, the return page) and the logout.
    assert_eq!(counting.site.load(Ordering::SeqCst), 1, "site() calls");
    assert_eq!(
        counting.resolve.load(Ordering::SeqCst),
        2,
        "resolve() calls"
    );
}
