//! Multiple custom domains: one app, one client, two Auth0 domains picked per request by the
//! `Host` the request was sent to. Domain A is the real `oidc-provider`
//! (`OIDC_PROVIDER_ISSUER`, see `oidc_provider.rs`), domain B our dev tenant, both with the
//! same client id and secret (as custom domains of one Auth0 tenant share the application).
//! The refusal of an unknown host and the per-domain discovery cache are checked against
//! small counting servers on loopback.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use auth0_dev_tenant::DevTenant;
use auth0_server_core::client::{
    AccessTokenOptions, AllowListResolver, BackchannelOptions, Error, LoginHint, LogoutOptions,
    LogoutRedirect, ServerClient, ServerClientBuilder, StartLoginOptions,
};
use auth0_server_core::store::StoreContext;
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use auth0_store_postgres::PostgresBackend;
use auth0_store_redis::RedisBackend;
use auth0_test_support::domains::{
    self, callback_on, counting_provider, logout_token_inbox, redirect_uri_of,
};
use auth0_test_support::{dev_tenant, oidc, services};
use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::json;
use url::Url;

/// The app's host served by domain A (the real provider).
const HOST_A: &str = "shop-a.example.test";
/// The app's host served by domain B (the dev tenant).
const HOST_B: &str = "shop-b.example.test:8443";
/// A host the app does not serve.
const HOST_EVIL: &str = "attacker.example.net";
/// The secret sessions are sealed with.
const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes-for-domains";

/// A request to `host` carrying `cookies`.
fn request(host: &str, cookies: &[(String, String)]) -> StoreContext {
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
    let cookie = cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    if !cookie.is_empty() {
        headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
    }
    StoreContext::from_headers(&headers)
}

/// A client builder for `default_domain` whose resolver serves `hosts`, without stores.
fn builder(
    app: &Url,
    id: &str,
    secret: &str,
    default_domain: &str,
    hosts: &[(&str, &str)],
) -> ServerClientBuilder {
    let mut list = AllowListResolver::new();
    for (host, domain) in hosts {
        list = list.host(host, *domain);
    }
    ServerClient::builder()
        .domain(default_domain)
        .client_id(id)
        .client_secret(secret)
        .secret(SECRET)
        .redirect_uri(app.join("callback").unwrap().as_str())
        .transaction_backend(MemoryTransactionBackend::new())
        .domain_resolver(list)
}

/// A client for `default_domain` whose resolver serves `hosts`, with memory stores.
fn client(
    app: &Url,
    id: &str,
    secret: &str,
    default_domain: &str,
    hosts: &[(&str, &str)],
) -> ServerClient {
    builder(app, id, secret, default_domain, hosts)
        .session_backend(MemoryBackend::new())
        .build()
        .unwrap()
}

/// Where a test's sessions are kept.
#[derive(Clone, Copy, Debug)]
enum Store {
    Memory,
    Redis,
    Postgres,
}

/// As [`client`], with the sessions in `store`: `None` (after a loud message, a failure under
/// CI) when its server is not there (see `auth0_test_support::services`).
async fn client_on(store: Store, builder: ServerClientBuilder) -> Option<ServerClient> {
    let builder = match store {
        Store::Memory => builder.session_backend(MemoryBackend::new()),
        Store::Redis => {
            let server = services::find(&services::REDIS).await?;
            let backend = RedisBackend::from_url(server.url()).await.unwrap();
            builder.session_backend(backend)
        }
        Store::Postgres => {
            let server = services::find(&services::POSTGRES).await?;
            let backend = PostgresBackend::connect(server.url()).await.unwrap();
            builder.session_backend(backend)
        }
    };
    Some(builder.build().unwrap())
}

/// A login under `host` in a browser that `authorize` drives from the authorization URL to
/// the callback URL; returns the session's cookies.
async fn login<F, Fut>(client: &ServerClient, host: &str, authorize: F) -> Vec<(String, String)>
where
    F: FnOnce(Url) -> Fut,
    Fut: Future<Output = Url>,
{
    let cx = request(host, &[]);
    let url = client
        .start_interactive_login(StartLoginOptions::default(), &cx)
        .await
        .unwrap();
    let callback = authorize(url).await;
    let cx = request(host, &cx.cookies());
    client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap();
    cx.cookies()
}

/// Logs in under each host at its own provider (A: the real provider, B: the dev tenant),
/// each coming back to its own site's callback; returns the two sessions' cookies.
async fn log_in_on_each_site(
    client: &ServerClient,
    app: &Url,
    (provider, a_browser): (&oidc::Provider, &oidc::Browser),
    tenant: &auth0_dev_tenant::RunningDevTenant,
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let issuer_a = provider.issuer.clone();
    let site_a = callback_on(app.as_str(), HOST_A);
    let a = login(client, HOST_A, |url| async move {
        assert!(url.as_str().starts_with(&issuer_a), "{url}");
        assert_eq!(redirect_uri_of(&url), site_a);
        let callback = a_browser.navigate(url).await.left_at;
        assert!(callback.as_str().starts_with(&site_a), "{callback}");
        callback
    })
    .await;
    let b_browser = dev_tenant::Browser::new(tenant);
    let issuer_b = tenant.issuer().to_owned();
    let site_b = callback_on(app.as_str(), HOST_B);
    let b = login(client, HOST_B, |url| async move {
        assert!(url.as_str().starts_with(&issuer_b), "{url}");
        assert_eq!(redirect_uri_of(&url), site_b);
        b_browser.authorize(url).await.0
    })
    .await;

    (a, b)
}

#[tokio::test]
async fn two_domains_one_app_each_session_only_under_its_own_domain() {
    each_session_only_under_its_own_domain(Store::Memory).await;
}

#[tokio::test]
async fn two_domains_one_app_each_session_only_under_its_own_domain_in_redis() {
    each_session_only_under_its_own_domain(Store::Redis).await;
}

#[tokio::test]
async fn two_domains_one_app_each_session_only_under_its_own_domain_in_postgres() {
    each_session_only_under_its_own_domain(Store::Postgres).await;
}

async fn each_session_only_under_its_own_domain(store: Store) {
    let Some(provider) = oidc::Provider::from_env() else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    // Each provider knows only its own site's callback.
    let extra = json!({"redirect_uris": [callback_on(app.as_str(), HOST_A)]});
    let (id, secret) = provider
        .register_with(&app, "two domains", "logged-out", extra)
        .await;
    let tenant = DevTenant::builder()
        .client_id(&id)
        .client_secret(&secret)
        .redirect_uri(callback_on(app.as_str(), HOST_B))
        .logout_uri(app.join("logged-out").unwrap().as_str())
        .start()
        .await
        .unwrap();
    let hosts = [
        (HOST_A, provider.issuer.as_str()),
        (HOST_B, tenant.domain()),
    ];
    let builder = builder(&app, &id, &secret, &provider.issuer, &hosts);
    let Some(client) = client_on(store, builder).await else {
        return;
    };

    let browser = oidc::Browser::new(&provider);
    let (a, b) = log_in_on_each_site(&client, &app, (&provider, &browser), &tenant).await;

    // A session is a session only under the domain that made it.
    let user_a = client.get_user(&request(HOST_A, &a)).await.unwrap();
    assert_eq!(user_a.unwrap().sub, oidc::LOGIN);
    let user_b = client.get_user(&request(HOST_B, &b)).await.unwrap();
    assert!(!user_b.unwrap().sub.is_empty());
    assert!(
        client
            .get_user(&request(HOST_B, &a))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        client
            .get_session(&request(HOST_A, &b))
            .await
            .unwrap()
            .is_none()
    );
    let token = client
        .get_access_token(AccessTokenOptions::default(), &request(HOST_B, &a))
        .await;
    assert!(matches!(token, Err(Error::MissingSession)), "{token:?}");

    let issuers = [provider.issuer.as_str(), tenant.issuer()];
    logout_goes_to_each_sites_provider(&client, [&a, &b], issuers).await;
}

/// Logout sends each site's session to its own provider (`issuers`: A's, B's); under the
/// other domain it touches nothing.
async fn logout_goes_to_each_sites_provider(
    client: &ServerClient,
    [a, b]: [&Vec<(String, String)>; 2],
    [issuer_a, issuer_b]: [&str; 2],
) {
    let options = LogoutOptions::default();
    let elsewhere = client
        .logout(options.clone(), &request(HOST_B, a))
        .await
        .unwrap();
    assert!(matches!(&elsewhere, LogoutRedirect::Provider(u) if u.as_str().starts_with(issuer_b)));
    assert!(
        client
            .get_user(&request(HOST_A, a))
            .await
            .unwrap()
            .is_some(),
        "A's session stays"
    );
    for (host, cookies, issuer) in [(HOST_A, a, issuer_a), (HOST_B, b, issuer_b)] {
        let cx = request(host, cookies);
        let LogoutRedirect::Provider(url) = client.logout(options.clone(), &cx).await.unwrap()
        else {
            panic!("{host}: the provider's logout URL");
        };
        assert!(
            url.as_str().starts_with(issuer.trim_end_matches('/')),
            "{host}: {url}"
        );
        assert!(
            client
                .get_user(&request(host, &cx.cookies()))
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn the_real_providers_logout_token_under_the_other_sites_host_ends_only_its_session() {
    let Some(provider) = oidc::Provider::from_env() else {
        return;
    };
    let (app, inbox) = logout_token_inbox().await;
    let extra = json!({"redirect_uris": [callback_on(app.as_str(), HOST_A)]});
    let (id, secret) = provider
        .register_with(&app, "two domains, back-channel", "logged-out", extra)
        .await;
    let tenant = DevTenant::builder()
        .client_id(&id)
        .client_secret(&secret)
        .redirect_uri(callback_on(app.as_str(), HOST_B))
        .start()
        .await
        .unwrap();
    let hosts = [
        (HOST_A, provider.issuer.as_str()),
        (HOST_B, tenant.domain()),
    ];
    let client = client(&app, &id, &secret, &provider.issuer, &hosts);
    let browser = oidc::Browser::new(&provider);
    let (a, b) = log_in_on_each_site(&client, &app, (&provider, &browser), &tenant).await;

    // The user logs out at domain A's provider (RP-initiated, with A's ID token as the hint);
    // it posts its logout token to the application's one back-channel URI.
    let session = client.get_session(&request(HOST_A, &a)).await.unwrap();
    let discovery = provider.discovery().await;
    let mut end = Url::parse(discovery["end_session_endpoint"].as_str().unwrap()).unwrap();
    end.query_pairs_mut()
        .append_pair("client_id", &id)
        .append_pair("id_token_hint", &session.unwrap().id_token.unwrap())
        .append_pair(
            "post_logout_redirect_uri",
            app.join("logged-out").unwrap().as_str(),
        );
    browser.navigate(end).await;
    let token = inbox.lock().unwrap().pop().expect("A's logout token");

    // That URI's host is site B's: the token is A's all the same, and ends A's session only.
    let ended = client
        .handle_backchannel_logout(&token, &request(HOST_B, &[]))
        .await;
    assert_eq!(ended.unwrap(), 1);
    let under_a = client.get_user(&request(HOST_A, &a)).await.unwrap();
    assert!(under_a.is_none(), "A's session ended");
    let under_b = client.get_user(&request(HOST_B, &b)).await.unwrap();
    assert!(under_b.is_some(), "B's session stays");
}

#[tokio::test]
async fn a_login_started_under_one_domain_does_not_complete_under_another() {
    let app = Url::parse("http://127.0.0.1:5000/").unwrap();
    let tenant_a = DevTenant::builder()
        .redirect_uri(callback_on(app.as_str(), HOST_A))
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
    let client = client(
        &app,
        tenant_a.client_id(),
        tenant_a.client_secret(),
        tenant_a.domain(),
        &hosts,
    );
    let cx = request(HOST_A, &[]);
    let url = client
        .start_interactive_login(StartLoginOptions::default(), &cx)
        .await
        .unwrap();
    let (callback, _) = dev_tenant::Browser::new(&tenant_a).authorize(url).await;
    let under_b = request(HOST_B, &cx.cookies());
    let done = client
        .complete_interactive_login(callback.as_str(), &under_b)
        .await;
    assert!(
        matches!(done, Err(Error::DomainMismatch { .. })),
        "{:?}",
        done.err()
    );
}

#[tokio::test]
async fn an_unknown_host_is_refused_without_any_request_to_a_provider() {
    let (issuer, hits) = counting_provider().await;
    let app = Url::parse("http://127.0.0.1:5000/").unwrap();
    let client = client(&app, "id", "secret", &issuer, &[(HOST_A, issuer.as_str())]);
    // The attacker names the counting server itself as the host, too.
    let evil_hosts = [HOST_EVIL, issuer.trim_start_matches("http://")];
    for host in evil_hosts {
        let cx = request(host, &[]);
        let login = client
            .start_interactive_login(StartLoginOptions::default(), &cx)
            .await;
        assert!(
            matches!(&login, Err(Error::UnknownDomain { host: h }) if h == host),
            "{login:?}"
        );
        let session = client.get_session(&cx).await;
        assert_eq!(session.err().map(|e| e.code()), Some("unknown_domain"));
        let logout = client.logout(LogoutOptions::default(), &cx).await;
        assert_eq!(logout.err().map(|e| e.code()), Some("unknown_domain"));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request went out");
    client
        .start_interactive_login(StartLoginOptions::default(), &request(HOST_A, &[]))
        .await
        .unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "a known host does reach its provider"
    );
}

#[tokio::test]
async fn discovery_is_cached_per_domain() {
    let (issuer_a, hits_a) = counting_provider().await;
    let (issuer_b, hits_b) = counting_provider().await;
    let app = Url::parse("http://127.0.0.1:5000/").unwrap();
    let hosts = [(HOST_A, issuer_a.as_str()), (HOST_B, issuer_b.as_str())];
    let client = client(&app, "id", "secret", &issuer_a, &hosts);
    for _ in 0..3 {
        for (host, issuer) in hosts {
            let url = client
                .start_interactive_login(StartLoginOptions::default(), &request(host, &[]))
                .await
                .unwrap();
            assert!(
                url.as_str().starts_with(&format!("{issuer}/authorize")),
                "{url}"
            );
        }
    }
    assert_eq!(
        hits_a.load(Ordering::SeqCst),
        1,
        "A's discovery fetched once"
    );
    assert_eq!(
        hits_b.load(Ordering::SeqCst),
        1,
        "B's discovery fetched once"
    );
}

#[tokio::test]
async fn a_session_written_before_domains_were_recorded_is_the_configured_domains() {
    use auth0_server_core::Secrets;
    use auth0_server_core::model::{StateData, UserClaims};
    use auth0_server_core::store::{ServerSideStateStore, StateStore as _};

    let (issuer_a, _) = counting_provider().await;
    let (issuer_b, _) = counting_provider().await;
    let store = Arc::new(ServerSideStateStore::new(
        MemoryBackend::new(),
        &Secrets::parse(SECRET).unwrap(),
    ));
    let client = ServerClient::builder()
        .domain(&issuer_a)
        .client_id("id")
        .client_secret("secret")
        .secret(SECRET)
        .redirect_uri("http://127.0.0.1:5000/callback")
        .state_store(store.clone())
        .transaction_backend(MemoryTransactionBackend::new())
        .domain_resolver(
            AllowListResolver::new()
                .host(HOST_A, issuer_a.as_str())
                .host(HOST_B, issuer_b.as_str()),
        )
        .build()
        .unwrap();
    let old = StateData {
        user: Some(UserClaims {
            sub: "auth0|old".into(),
            ..UserClaims::default()
        }),
        domain: None,
        ..StateData::default()
    };
    let cx = request(HOST_A, &[]);
    let identifier = client.config().state_identifier().to_owned();
    store.set(&identifier, &old, true, &cx).await.unwrap();
    let cookies = cx.cookies();
    let under_a = client.get_user(&request(HOST_A, &cookies)).await.unwrap();
    assert_eq!(under_a.map(|u| u.sub).as_deref(), Some("auth0|old"));
    let under_b = client.get_user(&request(HOST_B, &cookies)).await.unwrap();
    assert!(under_b.is_none(), "not the other domain's");
}

/// A dev tenant for `app`'s site `host` (that site's callback, any loopback logout URL,
/// `app`'s back-channel logout endpoint: the one URI the application has), with the client
/// id and secret of `like` when given.
async fn tenant_for(
    app: &Url,
    host: &str,
    like: Option<&auth0_dev_tenant::RunningDevTenant>,
) -> auth0_dev_tenant::RunningDevTenant {
    let backchannel = app.join("backchannel-logout").unwrap();
    let callback = callback_on(app.as_str(), host);
    domains::tenant_for(&callback, like, Some(backchannel.as_str())).await
}

/// Ends `browser`'s provider session at `tenant` (Auth0's `/v2/logout`), which POSTs a logout
/// token to the app; returns that token.
async fn provider_logout(
    tenant: &auth0_dev_tenant::RunningDevTenant,
    browser: &dev_tenant::Browser,
    inbox: &std::sync::Mutex<Vec<String>>,
) -> String {
    let mut url = Url::parse(&format!("{}v2/logout", tenant.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", tenant.client_id())
        .append_pair("returnTo", "http://127.0.0.1:5000/logged-out");
    browser.go(url, None).await.left();
    let mut tokens = inbox.lock().unwrap();
    assert_eq!(tokens.len(), 1, "one logout token from {}", tenant.issuer());
    tokens.remove(0)
}

#[tokio::test]
async fn a_backchannel_logout_of_any_listed_domain_ends_only_that_domains_sessions() {
    backchannel_logout_ends_only_that_domains_sessions(Store::Memory).await;
}

#[tokio::test]
async fn a_backchannel_logout_of_any_listed_domain_ends_only_that_domains_sessions_in_redis() {
    backchannel_logout_ends_only_that_domains_sessions(Store::Redis).await;
}

#[tokio::test]
async fn a_backchannel_logout_of_any_listed_domain_ends_only_that_domains_sessions_in_postgres() {
    backchannel_logout_ends_only_that_domains_sessions(Store::Postgres).await;
}

/// The `sub` of the session `cookies` carry, read under `host`.
async fn sub_under(
    client: &ServerClient,
    host: &'static str,
    cookies: &[(String, String)],
) -> Option<String> {
    let user = client.get_user(&request(host, cookies)).await.unwrap();
    user.map(|u| u.sub)
}

async fn backchannel_logout_ends_only_that_domains_sessions(store: Store) {
    let (app, inbox) = logout_token_inbox().await;
    let tenant_a = tenant_for(&app, HOST_A, None).await;
    let tenant_b = tenant_for(&app, HOST_B, Some(&tenant_a)).await;
    let hosts = [(HOST_A, tenant_a.domain()), (HOST_B, tenant_b.domain())];
    let (id, secret) = (tenant_a.client_id(), tenant_a.client_secret());
    let builder = builder(&app, id, secret, tenant_a.domain(), &hosts);
    let Some(client) = client_on(store, builder).await else {
        return;
    };
    // The same person (same e-mail, so the same `sub`) logs in under each host.
    let browser_a = dev_tenant::Browser::new(&tenant_a);
    let a = login(&client, HOST_A, |url| async {
        browser_a.authorize(url).await.0
    })
    .await;
    let browser_b = dev_tenant::Browser::new(&tenant_b);
    let b = login(&client, HOST_B, |url| async {
        browser_b.authorize(url).await.0
    })
    .await;
    let sub = |cookies, host| sub_under(&client, host, cookies);
    assert_eq!(sub(&a, HOST_A).await, sub(&b, HOST_B).await);
    assert!(sub(&a, HOST_A).await.is_some());

    // Auth0 posts every domain's tokens to the application's one back-channel URI, whose
    // host is one site: A's token arrives under B's host, and ends A's session only.
    let token_a = provider_logout(&tenant_a, &browser_a, &inbox).await;
    let under_b = client
        .handle_backchannel_logout(&token_a, &request(HOST_B, &[]))
        .await;
    assert_eq!(under_b.unwrap(), 1, "one session ended");
    assert!(sub(&a, HOST_A).await.is_none(), "A's session ended");
    assert!(sub(&b, HOST_B).await.is_some(), "B's session stays");
    // Once only, whichever host it comes under next.
    let again = client
        .handle_backchannel_logout(&token_a, &request(HOST_A, &[]))
        .await;
    assert!(
        matches!(again, Err(Error::InvalidLogoutToken(_))),
        "{again:?}"
    );

    // B's token under A's host ends B's session.
    let token_b = provider_logout(&tenant_b, &browser_b, &inbox).await;
    let under_a = client
        .handle_backchannel_logout(&token_b, &request(HOST_A, &[]))
        .await;
    assert_eq!(under_a.unwrap(), 1, "one session ended");
    assert!(sub(&b, HOST_B).await.is_none(), "B's session ended");
}

#[tokio::test]
async fn a_logout_token_of_an_unlisted_issuer_is_refused_before_any_request() {
    let (issuer_a, hits_a) = counting_provider().await;
    let (unlisted, hits_unlisted) = counting_provider().await;
    let app = Url::parse("http://127.0.0.1:5000/").unwrap();
    let client = client(&app, "id", "secret", &issuer_a, &[(HOST_A, &issuer_a)]);
    let forged = |claims: serde_json::Value| {
        use base64::Engine as _;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let header = br#"{"alg":"RS256","typ":"logout+jwt","kid":"k"}"#;
        format!(
            "{}.{}.c2ln",
            b64(header),
            b64(claims.to_string().as_bytes())
        )
    };
    // The unlisted issuer, spelt as it is and as a look-alike of a listed one.
    let look_alike = format!("{issuer_a}.evil.example.net");
    for iss in [
        unlisted.as_str(),
        look_alike.as_str(),
        "https://attacker.example.net/",
    ] {
        let token = forged(json!({"iss": iss, "aud": "id", "sub": "auth0|1"}));
        let refused = client
            .handle_backchannel_logout(&token, &request(HOST_A, &[]))
            .await;
        assert!(
            matches!(&refused, Err(Error::InvalidLogoutToken(r)) if r.contains("not a domain of this app")),
            "{iss}: {refused:?}"
        );
    }
    assert_eq!(
        hits_unlisted.load(Ordering::SeqCst),
        0,
        "nothing fetched from it"
    );
    assert_eq!(
        hits_a.load(Ordering::SeqCst),
        0,
        "nor from the listed domain"
    );
}

#[tokio::test]
async fn a_login_started_on_one_site_does_not_complete_on_another_site_of_the_same_domain() {
    let app = Url::parse("http://127.0.0.1:5000/").unwrap();
    let tenant = DevTenant::builder()
        .redirect_uri(callback_on(app.as_str(), HOST_A))
        .redirect_uri(callback_on(app.as_str(), HOST_B))
        .start()
        .await
        .unwrap();
    let hosts = [(HOST_A, tenant.domain()), (HOST_B, tenant.domain())];
    let (id, secret) = (tenant.client_id(), tenant.client_secret());
    let client = client(&app, id, secret, tenant.domain(), &hosts);
    let cx = request(HOST_A, &[]);
    let url = client
        .start_interactive_login(StartLoginOptions::default(), &cx)
        .await
        .unwrap();
    let (callback, _) = dev_tenant::Browser::new(&tenant).authorize(url).await;
    // The browser's cookies carried over to the other site (a shared cookie domain).
    let under_b = request(HOST_B, &cx.cookies());
    let done = client
        .complete_interactive_login(callback.as_str(), &under_b)
        .await;
    let Err(Error::DomainMismatch { started, current }) = done else {
        panic!(
            "completed on the other site: {:?}",
            done.map(|d| d.user.sub)
        );
    };
    assert_eq!(started, format!("http://{HOST_A}:5000"));
    assert_eq!(current, format!("http://{HOST_B}"));
    let user = client.get_user(&request(HOST_B, &under_b.cookies())).await;
    assert!(user.unwrap().is_none(), "nobody logged in");
}

/// Answers the one backchannel request `tenant` has waiting, as the user's device.
async fn approve_on_device(tenant: &auth0_dev_tenant::RunningDevTenant) {
    for _ in 0..200 {
        if let Some(request) = tenant.tenant().backchannel_requests().first() {
            assert!(
                tenant
                    .tenant()
                    .answer_backchannel_request(&request.id, true)
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no backchannel request reached this tenant");
}

#[tokio::test]
async fn a_backchannel_login_asks_the_requests_domain_and_its_session_is_that_domains() {
    let start = |like: Option<&auth0_dev_tenant::RunningDevTenant>| {
        let mut builder = DevTenant::builder()
            .any_loopback_redirect_uri()
            .backchannel_poll_interval(std::time::Duration::from_secs(1));
        if let Some(like) = like {
            builder = builder
                .client_id(like.client_id())
                .client_secret(like.client_secret());
        }
        builder.start()
    };
    let tenant_a = start(None).await.unwrap();
    let tenant_b = start(Some(&tenant_a)).await.unwrap();
    let app = Url::parse("http://127.0.0.1:5000/").unwrap();
    let hosts = [(HOST_A, tenant_a.domain()), (HOST_B, tenant_b.domain())];
    let (id, secret) = (tenant_a.client_id(), tenant_a.client_secret());
    let client = client(&app, id, secret, tenant_a.domain(), &hosts);

    let sub = tenant_b.tenant().user_id("grace@example.com");
    let options = BackchannelOptions::new(LoginHint::sub(&sub));
    let cx = request(HOST_B, &[]);
    let (done, ()) = tokio::join!(
        client.login_backchannel(options, &cx),
        approve_on_device(&tenant_b)
    );
    assert_eq!(done.unwrap().user.sub, sub);
    assert!(
        tenant_a.tenant().backchannel_requests().is_empty(),
        "domain A was not asked"
    );
    // The session is domain B's: a user under B, nobody under A.
    let cookies = cx.cookies();
    let under_b = client.get_user(&request(HOST_B, &cookies)).await.unwrap();
    assert_eq!(under_b.map(|u| u.sub), Some(sub));
    assert!(
        client
            .get_user(&request(HOST_A, &cookies))
            .await
            .unwrap()
            .is_none()
    );
}
