//! End to end against a real OpenID provider: panva's `oidc-provider` (a certified
//! implementation), pinned in `tests/e2e/oidc-provider` and started on loopback by
//! `scripts/oidc-provider.sh`; `./scripts/test` starts it and sets `OIDC_PROVIDER_ISSUER`.
//! Without that variable these tests skip with a loud message, or fail when `CI` is set.
//!
//! Each test registers its own client (dynamic client registration) whose redirect and
//! back-channel logout URIs are on a loopback port of its own, so the tests run in parallel
//! against one provider. A small HTTP client with a cookie jar plays the browser: it follows
//! redirects by hand, fills the provider's login and consent forms, and stops at the
//! callback URL, which it hands to the SDK instead of fetching. The browser and the client
//! registration are shared with the quickstart's tests: `auth0_test_support::oidc`.
//!
//! The provider's test hooks (see `provider.mjs`) count the token requests each client
//! makes and answer some of them with injected errors: the SDK reaches the token endpoint
//! only through its issuer's discovery document, so that is where a fault can sit.

use auth0_test_support::oidc;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth0_server_core::Secrets;
use auth0_server_core::client::{
    AccessToken, AccessTokenOptions, DEFAULT_REFRESH_MARGIN, Error, LogoutOptions, RetryPolicy,
    ServerClient, ServerClientBuilder, StartLoginOptions,
};
use auth0_server_core::clock::{Clock as _, ManualClock};
use auth0_server_core::store::{ServerSideStateStore, StoreContext};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::json;
use url::Url;

use oidc::{Browser, LOGIN, LOGIN_NAME, Provider};

/// The secret sessions are sealed with.
const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes-for-e2e";
/// The scopes of the login besides the SDK's default `openid profile email`: a refresh
/// token, and a scope of the API.
const LOGIN_SCOPE: &str = "offline_access read:messages";

/// The API a test asks tokens for: its own audience (a resource indicator at the provider).
fn api(test: &str) -> String {
    format!("https://api.example.com/{test}")
}

/// What the application's back-channel logout endpoint did with each request.
type BackchannelLog = Arc<Mutex<Vec<Result<u64, &'static str>>>>;

/// The application: a `ServerClient` with memory stores, registered at the provider, with
/// its back-channel logout endpoint listening on loopback.
struct App {
    client: ServerClient,
    client_id: String,
    base: Url,
    backchannel: BackchannelLog,
}

/// `POST /backchannel-logout`: what an application does with the provider's logout token.
async fn backchannel_logout(
    State((client, log)): State<(ServerClient, BackchannelLog)>,
    Form(form): Form<BTreeMap<String, String>>,
) -> StatusCode {
    let Some(token) = form.get("logout_token") else {
        return StatusCode::BAD_REQUEST;
    };
    let outcome = client
        .handle_backchannel_logout(token, &StoreContext::new())
        .await;
    let status = match &outcome {
        Ok(_) => StatusCode::OK,
        Err(Error::InvalidLogoutToken(_)) => StatusCode::BAD_REQUEST,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    log.lock().unwrap().push(outcome.map_err(|e| e.code()));
    status
}

impl App {
    async fn start(
        provider: &Provider,
        name: &str,
        configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let (client_id, client_secret) = provider.register(&base, name, "logged-out").await;
        let secrets = Secrets::parse(SECRET).unwrap();
        let builder = ServerClient::builder()
            .domain(provider.issuer.clone())
            .client_id(client_id.clone())
            .client_secret(client_secret)
            .secret(SECRET)
            .redirect_uri(base.join("callback").unwrap().to_string())
            .state_store(Arc::new(ServerSideStateStore::new(
                MemoryBackend::new(),
                &secrets,
            )))
            .transaction_store(Arc::new(
                MemoryTransactionBackend::new().transaction_store(),
            ));
        let client = configure(builder).build().unwrap();
        let backchannel = BackchannelLog::default();
        let router = axum::Router::new()
            .route("/backchannel-logout", post(backchannel_logout))
            .with_state((client.clone(), backchannel.clone()));
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            client,
            client_id,
            base,
            backchannel,
        }
    }

    fn login_options(&self, audience: &str) -> StartLoginOptions {
        StartLoginOptions {
            app_state: Some(json!({"returnTo": "/profile"})),
            audience: Some(audience.to_owned()),
            scope: Some(LOGIN_SCOPE.to_owned()),
            authorization_params: [("prompt".to_owned(), "consent".into())].into(),
            ..StartLoginOptions::default()
        }
    }

    /// A whole login in `browser`: returns the forms it went through and the next request's
    /// context (the browser's cookies for the application).
    async fn login(&self, browser: &Browser, audience: &str) -> (Vec<&'static str>, StoreContext) {
        let cx = StoreContext::new();
        let url = self
            .client
            .start_interactive_login(self.login_options(audience), &cx)
            .await
            .unwrap();
        let navigation = browser.navigate(url).await;
        let callback = navigation.left_at;
        assert!(
            callback
                .as_str()
                .starts_with(self.base.join("callback").unwrap().as_str()),
            "the provider sends the browser back to the callback, not to {callback}"
        );
        let done = self
            .client
            .complete_interactive_login(callback.as_str(), &cx)
            .await
            .unwrap();
        assert_eq!(done.app_state, Some(json!({"returnTo": "/profile"})));
        (navigation.forms, StoreContext::from_cookies(cx.cookies()))
    }

    async fn access_token(
        &self,
        audience: &str,
        force_refresh: bool,
        cx: &StoreContext,
    ) -> AccessToken {
        self.client
            .get_access_token(
                AccessTokenOptions {
                    audience: Some(audience.to_owned()),
                    force_refresh,
                    ..AccessTokenOptions::default()
                },
                cx,
            )
            .await
            .unwrap()
    }

    fn backchannel_log(&self) -> Vec<Result<u64, &'static str>> {
        self.backchannel.lock().unwrap().clone()
    }
}

/// Checks an access token is the provider's JWT for the API, this client and the user.
async fn assert_api_token(provider: &Provider, app: &App, token: &AccessToken, audience: &str) {
    assert_eq!(token.audience, audience);
    let (header, claims) = provider.verified_claims(&token.token).await;
    assert_eq!(header["typ"], "at+jwt", "{header:?}");
    assert_eq!(claims["iss"], provider.issuer);
    assert_eq!(claims["aud"], audience);
    assert_eq!(claims["client_id"], app.client_id);
    assert_eq!(claims["sub"], LOGIN);
    let scope = claims["scope"].as_str().unwrap_or_default();
    assert!(
        scope.split(' ').any(|s| s == "read:messages"),
        "scope {scope:?}"
    );
}

#[tokio::test]
async fn login_access_token_refresh_and_logout_with_a_real_provider() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let audience = api("whole-flow");
    let app = App::start(&provider, "whole flow", |b| b).await;
    let browser = Browser::new(&provider);

    // Login: the authorization request, the provider's forms, the callback.
    let cx = StoreContext::new();
    let url = app
        .client
        .start_interactive_login(app.login_options(&audience), &cx)
        .await
        .unwrap();
    let metadata = app.client.provider_metadata().await.unwrap();
    assert!(
        url.as_str().starts_with(&metadata.authorization_endpoint),
        "{url}"
    );
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["prompt"], "consent");
    assert_eq!(query["audience"], audience);
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["scope"],
        "openid profile email offline_access read:messages"
    );
    let navigation = browser.navigate(url).await;
    assert_eq!(navigation.forms, ["login", "consent"]);
    let callback = navigation.left_at;
    let params: BTreeMap<String, String> = callback.query_pairs().into_owned().collect();
    assert_eq!(params["state"], query["state"]);
    assert_eq!(
        params["iss"], provider.issuer,
        "RFC 9207 iss in the callback"
    );
    assert!(params.contains_key("code"), "{callback}");
    let done = app
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap();
    assert_eq!(done.app_state, Some(json!({"returnTo": "/profile"})));
    assert_eq!(
        provider
            .token_requests(&app.client_id, "authorization_code")
            .await,
        1
    );
    let err = app
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::MissingTransaction),
        "a callback is used once: {err:?}"
    );

    // The session: the user from the ID token's claims, and a refresh token.
    let cx = StoreContext::from_cookies(cx.cookies());
    let user = app
        .client
        .get_user(&cx)
        .await
        .unwrap()
        .expect("a session after the login");
    assert_eq!(user.sub, LOGIN);
    assert_eq!(user.name.as_deref(), Some(LOGIN_NAME));
    assert_eq!(user.nickname.as_deref(), Some("ada"));
    assert_eq!(user.email.as_deref(), Some(LOGIN));
    assert_eq!(user.email_verified, Some(true));
    let session = app.client.get_session(&cx).await.unwrap().unwrap();
    assert!(session.id_token.is_some());
    assert!(
        session.refresh_token.is_some(),
        "offline_access with prompt=consent gives a refresh token"
    );

    // The API's access token: the login's, a JWT for that audience, with no new request.
    let token = app.access_token(&audience, false, &cx).await;
    assert_api_token(&provider, &app, &token, &audience).await;
    assert_eq!(
        provider
            .token_requests(&app.client_id, "refresh_token")
            .await,
        0
    );

    // A forced refresh: one request, a new token, saved in the session.
    let refreshed = app.access_token(&audience, true, &cx).await;
    assert_ne!(refreshed.token, token.token);
    assert_api_token(&provider, &app, &refreshed, &audience).await;
    assert_eq!(
        provider
            .token_requests(&app.client_id, "refresh_token")
            .await,
        1
    );
    let cx = StoreContext::from_cookies(cx.cookies());
    assert_eq!(app.access_token(&audience, false, &cx).await, refreshed);
    assert_eq!(
        provider
            .token_requests(&app.client_id, "refresh_token")
            .await,
        1
    );
    let user_after = app.client.get_user(&cx).await.unwrap().unwrap();
    assert_eq!(user_after.sub, LOGIN, "the refreshed ID token's user");

    // A second application, signed in by single sign-on in the same browser: no login
    // form this time, only its consent.
    let other = App::start(&provider, "whole flow, second app", |b| b).await;
    let (forms, other_cx) = other.login(&browser, &audience).await;
    assert_eq!(forms, ["consent"]);
    assert!(other.client.get_user(&other_cx).await.unwrap().is_some());

    // Logout from the first: its session ends here, and the browser goes to the provider.
    let return_to = app.base.join("logged-out").unwrap();
    let logout_url = app
        .client
        .logout(
            LogoutOptions {
                return_to: Some(return_to.to_string()),
            },
            &cx,
        )
        .await
        .unwrap()
        .provider_url()
        .cloned()
        .expect("the provider's logout URL");
    let end_session = metadata
        .end_session_endpoint
        .as_deref()
        .expect("end_session_endpoint");
    assert!(logout_url.as_str().starts_with(end_session), "{logout_url}");
    let logout_query: BTreeMap<String, String> = logout_url.query_pairs().into_owned().collect();
    assert_eq!(logout_query["post_logout_redirect_uri"], return_to.as_str());
    assert_eq!(logout_query["client_id"], app.client_id);
    assert!(logout_query.contains_key("id_token_hint"));
    let cx = StoreContext::from_cookies(cx.cookies());
    assert!(app.client.get_user(&cx).await.unwrap().is_none());

    // The provider asks to confirm, ends its session, and tells both applications by
    // back-channel logout before it redirects to post_logout_redirect_uri.
    let navigation = browser.navigate(logout_url).await;
    assert_eq!(navigation.forms, ["logout"]);
    assert!(
        navigation.left_at.as_str().starts_with(return_to.as_str()),
        "{}",
        navigation.left_at
    );
    assert_eq!(
        other.backchannel_log(),
        [Ok(1)],
        "the second application's session is ended by the provider"
    );
    assert!(other.client.get_user(&other_cx).await.unwrap().is_none());
    assert_eq!(
        app.backchannel_log(),
        [Ok(0)],
        "the first application had ended its session already"
    );
    let err = other
        .client
        .get_access_token(AccessTokenOptions::default(), &other_cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingSession), "{err:?}");
}

/// Makes `calls` concurrent `get_access_token` calls for the app's session (each its own
/// request, as a server would), and checks they all got the same, new token for the API.
async fn concurrent_access_tokens(
    provider: &Provider,
    app: &Arc<App>,
    audience: &str,
    cookies: Vec<(String, String)>,
    calls: usize,
) -> AccessToken {
    let stored = app
        .client
        .get_session(&StoreContext::from_cookies(cookies.clone()))
        .await
        .unwrap()
        .unwrap()
        .token_sets[0]
        .access_token
        .clone();
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let (app, audience, cookies) = (app.clone(), audience.to_owned(), cookies.clone());
            tokio::spawn(async move {
                let cx = StoreContext::from_cookies(cookies);
                app.access_token(&audience, false, &cx).await
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap());
    }
    assert!(
        tokens.iter().all(|t| t.token == tokens[0].token),
        "the calls share one token"
    );
    assert_ne!(tokens[0].token, stored, "a refreshed one");
    assert_api_token(provider, app, &tokens[0], audience).await;
    let session = app
        .client
        .get_session(&StoreContext::from_cookies(cookies))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.token_sets.len(), 1);
    assert_eq!(session.token_sets[0].access_token, tokens[0].token);
    tokens.swap_remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_for_an_expiring_token_make_one_refresh_at_the_provider() {
    const CALLS: usize = 50;
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let audience = api("single-flight");
    // The SDK's clock, moved on after the login until the login's access token (an hour)
    // is inside the default refresh margin: every call below needs a new one, and the new
    // one is good for another hour.
    let clock = ManualClock::starting_now();
    let app = Arc::new(
        App::start(&provider, "single flight", |b| {
            b.clock(Arc::new(clock.clone()))
        })
        .await,
    );
    let (_, cx) = app.login(&Browser::new(&provider), &audience).await;
    let stored = app
        .client
        .get_session(&cx)
        .await
        .unwrap()
        .unwrap()
        .token_sets[0]
        .expires_at;
    let now = clock.unix_seconds();
    clock.advance(Duration::from_secs(stored - now) - DEFAULT_REFRESH_MARGIN / 2);

    concurrent_access_tokens(&provider, &app, &audience, cx.cookies(), CALLS).await;
    assert_eq!(
        provider
            .token_requests(&app.client_id, "refresh_token")
            .await,
        1,
        "{CALLS} concurrent calls make one refresh"
    );
}

// One thread: every call is queued behind the first one's refresh before its answer is
// read, whatever the machine's load, so the count is exact.
#[tokio::test(flavor = "current_thread")]
async fn concurrent_calls_share_one_refresh_even_when_tokens_live_shorter_than_the_margin() {
    const CALLS: usize = 20;
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let audience = api("single-flight-short-lived");
    // A refresh margin longer than the provider's access tokens live (an hour): every token
    // counts as expiring, even one just refreshed.
    let app = Arc::new(
        App::start(&provider, "single flight, short-lived tokens", |b| {
            b.refresh_margin(Duration::from_secs(2 * 3600))
        })
        .await,
    );
    let (_, cx) = app.login(&Browser::new(&provider), &audience).await;

    concurrent_access_tokens(&provider, &app, &audience, cx.cookies(), CALLS).await;
    assert_eq!(
        provider
            .token_requests(&app.client_id, "refresh_token")
            .await,
        1,
        "{CALLS} concurrent calls make one refresh"
    );
}

#[tokio::test]
async fn a_refresh_answered_429_is_retried_after_retry_after() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let audience = api("retry-after");
    let app = App::start(&provider, "429 then 200", |b| b).await;
    let (_, cx) = app.login(&Browser::new(&provider), &audience).await;
    let before = app.access_token(&audience, false, &cx).await;

    provider
        .inject_token_fault(&app.client_id, "refresh_token", 429, 1, 1)
        .await;
    let token = app.access_token(&audience, true, &cx).await;
    assert_eq!(
        provider
            .token_requests(&app.client_id, "refresh_token")
            .await,
        2,
        "the 429 and the retry"
    );
    assert_ne!(token.token, before.token);
    assert_api_token(&provider, &app, &token, &audience).await;
}

#[tokio::test]
async fn a_refresh_that_stays_rate_limited_fails_after_the_bounded_retries() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let audience = api("rate-limited");
    let retry = RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    let app = App::start(&provider, "always 429", |b| b.retry(retry)).await;
    let (_, cx) = app.login(&Browser::new(&provider), &audience).await;

    provider
        .inject_token_fault(&app.client_id, "refresh_token", 429, 0, 10)
        .await;
    let err = app
        .client
        .get_access_token(
            AccessTokenOptions {
                audience: Some(audience.clone()),
                force_refresh: true,
                ..AccessTokenOptions::default()
            },
            &cx,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::RefreshFailed { error, .. } if error == "too_many_requests"),
        "{err:?}"
    );
    assert_eq!(err.code(), "failed_to_refresh_token");
    assert_eq!(
        provider
            .token_requests(&app.client_id, "refresh_token")
            .await,
        3,
        "the first attempt and 2 retries"
    );
}

#[tokio::test]
async fn login_by_pushed_authorization_request() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let audience = api("par");
    let app = App::start(&provider, "PAR", |b| b.pushed_authorization_requests(true)).await;
    let cx = StoreContext::new();
    let url = app
        .client
        .start_interactive_login(app.login_options(&audience), &cx)
        .await
        .unwrap();
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(
        query.keys().collect::<Vec<_>>(),
        ["client_id", "request_uri"],
        "only the reference to the pushed request travels through the browser"
    );
    let navigation = Browser::new(&provider).navigate(url).await;
    assert_eq!(navigation.forms, ["login", "consent"]);
    app.client
        .complete_interactive_login(navigation.left_at.as_str(), &cx)
        .await
        .unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    assert_eq!(app.client.get_user(&cx).await.unwrap().unwrap().sub, LOGIN);
    let token = app.access_token(&audience, false, &cx).await;
    assert_api_token(&provider, &app, &token, &audience).await;
}

#[tokio::test]
async fn a_link_under_par_keeps_the_id_token_out_of_the_url() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let audience = api("par-link");
    let app = App::start(&provider, "PAR link", |b| {
        b.pushed_authorization_requests(true)
    })
    .await;
    let (_, cx) = app.login(&Browser::new(&provider), &audience).await;
    // oidc-provider reads `audience` as a resource indicator: one it knows, not my-account.
    let mut options = auth0_server_core::client::LinkUserOptions::new("google-oauth2");
    options
        .authorization_params
        .insert("audience".into(), audience.clone().into());
    let url = app.client.start_link_user(options, &cx).await.unwrap();
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(
        names,
        ["client_id", "request_uri"],
        "the session's ID token (id_token_hint) goes in the pushed request, not the URL"
    );
}

/// A login through `app` with PAR as `per_call` says; returns the authorization URL's
/// parameter names once the login completed.
async fn login_with_par_per_call(provider: &Provider, app: &App, per_call: bool) -> Vec<String> {
    let audience = api("par-per-call");
    let cx = StoreContext::new();
    let options = StartLoginOptions {
        pushed_authorization_requests: Some(per_call),
        ..app.login_options(&audience)
    };
    let url = app
        .client
        .start_interactive_login(options, &cx)
        .await
        .unwrap();
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let navigation = Browser::new(provider).navigate(url).await;
    app.client
        .complete_interactive_login(navigation.left_at.as_str(), &cx)
        .await
        .unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    assert_eq!(app.client.get_user(&cx).await.unwrap().unwrap().sub, LOGIN);
    names
}

#[tokio::test]
async fn pushed_authorization_requests_per_call_override_the_client_setting() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let without = App::start(&provider, "PAR off, on per call", |b| b).await;
    let pushed = login_with_par_per_call(&provider, &without, true).await;
    assert_eq!(pushed, ["client_id", "request_uri"], "pushed for this call");

    let with = App::start(&provider, "PAR on, off per call", |b| {
        b.pushed_authorization_requests(true)
    })
    .await;
    let sent = login_with_par_per_call(&provider, &with, false).await;
    for name in [
        "response_type",
        "redirect_uri",
        "code_challenge",
        "state",
        "scope",
    ] {
        assert!(
            sent.iter().any(|n| n == name),
            "{name} in the URL: {sent:?}"
        );
    }
    assert!(
        !sent.iter().any(|n| n == "request_uri"),
        "not pushed: {sent:?}"
    );
}
