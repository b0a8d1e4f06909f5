//! Account linking at the dev tenant: `ServerClient::start_link_user` /
//! `complete_link_user` and the unlink pair, against `/authorize` with `id_token_hint`,
//! `requested_connection` and `link_account` / `unlink_account`; the request's shape is the
//! Python SDK's (its tests' `_build_link_user_url` assertions).

use std::sync::Arc;
use std::time::Duration;

#[macro_use]
mod stores;

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{Error, LinkUserOptions, MY_ACCOUNT_AUDIENCE, UnlinkUserOptions};
use auth0_server_core::clock::ManualClock;
use auth0_server_core::store::StoreContext;
use serde_json::{Value, json};
use stores::Store;
use support::*;

// Each flow end to end with the app's sessions and transactions in memory, Redis and
// PostgreSQL.
on_each_store!(
    a_linked_account_shows_in_the_session_and_the_rest_of_the_session_stays,
    an_unlink_removes_the_account_and_an_unknown_one_is_refused,
    a_link_completed_in_another_browser_is_refused,
    a_link_callback_given_to_the_login_callback_is_refused_and_kept,
    a_link_completed_after_a_logout_reports_the_completion,
    a_browser_without_the_hints_provider_session_is_refused,
    a_login_callback_given_to_complete_link_user_is_refused,
    linking_without_a_session_is_a_typed_error_and_sends_nothing,
    a_link_code_used_after_it_expired_is_refused,
    a_link_with_an_expired_id_token_hint_is_refused,
);

/// The connection whose account is linked.
const GOOGLE: &str = "google-oauth2";

/// A logged-in browser on an app whose stores are `store`: the setup, the browser, and the
/// next request's context (`None`: see [`Store::setup`]).
async fn logged_in(store: Store) -> Option<(Setup, Browser, StoreContext)> {
    let setup = store.setup().await?;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    Some((setup, browser, cx))
}

/// The connections in the `identities` claim, the user's own first.
fn connections(user: &Value) -> Vec<String> {
    user["identities"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| i["connection"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn user_json(user: &auth0_server_core::model::UserClaims) -> Value {
    serde_json::to_value(user).unwrap()
}

/// Starts a link in `cx`'s browser; returns the URL and the callback's context.
async fn start_link(setup: &Setup, cx: &StoreContext) -> (url::Url, StoreContext) {
    let options = LinkUserOptions {
        connection_scope: Some("https://www.googleapis.com/auth/calendar".into()),
        app_state: Some(json!({"returnTo": "/settings"})),
        ..LinkUserOptions::new(GOOGLE)
    };
    let url = setup.client.start_link_user(options, cx).await.unwrap();
    (url, StoreContext::from_cookies(cx.cookies()))
}

async fn a_linked_account_shows_in_the_session_and_the_rest_of_the_session_stays(store: Store) {
    let Some((setup, browser, cx)) = logged_in(store).await else {
        return;
    };
    let before = setup.client.get_session(&cx).await.unwrap().unwrap();
    let (url, cx) = start_link(&setup, &cx).await;
    // The Python SDK's wire shape.
    let q = query(&url);
    assert_eq!(q["scope"], "openid link_account");
    assert_eq!(q["audience"], MY_ACCOUNT_AUDIENCE);
    assert_eq!(q["id_token_hint"], before.id_token.clone().unwrap());
    assert_eq!(q["requested_connection"], GOOGLE);
    assert_eq!(
        q["requested_connection_scope"],
        "https://www.googleapis.com/auth/calendar"
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], setup.tenant.client_id());
    assert_eq!(q["redirect_uri"], setup.callback());
    assert!(q.contains_key("state") && q.contains_key("code_challenge") && q.contains_key("nonce"));
    let (callback, form_shown) = browser.authorize(url).await;
    assert!(!form_shown, "the provider session is the hint's user");
    let done = setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await
        .unwrap();
    assert_eq!(done.app_state, Some(json!({"returnTo": "/settings"})));
    assert_eq!(
        connections(&user_json(&done.user)),
        [auth0_dev_tenant::PRIMARY_CONNECTION, GOOGLE]
    );
    let cx = StoreContext::from_cookies(cx.cookies());
    let after = setup.client.get_session(&cx).await.unwrap().unwrap();
    let user = after.user.clone().unwrap();
    assert_eq!(user.sub, before.user.clone().unwrap().sub);
    assert_eq!(
        user.email.as_deref(),
        Some(EMAIL),
        "claims of the login are kept"
    );
    assert_eq!(
        after.refresh_token, before.refresh_token,
        "the refresh token stays"
    );
    assert_ne!(
        after.id_token, before.id_token,
        "the link's ID token replaces it"
    );
    let audiences: Vec<&str> = after
        .token_sets
        .iter()
        .map(|t| t.audience.as_str())
        .collect();
    assert!(
        audiences.contains(&API) && audiences.contains(&MY_ACCOUNT_AUDIENCE),
        "{audiences:?}"
    );
    // The tenant's /userinfo says the same for the app's access token.
    let token = setup
        .client
        .get_access_token(Default::default(), &cx)
        .await
        .unwrap();
    let info: Value = http_client()
        .get(format!("{}userinfo", setup.tenant.issuer()))
        .bearer_auth(&token.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(connections(&info)[1], GOOGLE);
    // The callback again: its transaction is used up.
    let replay = setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await;
    assert!(
        matches!(replay, Err(Error::MissingTransaction)),
        "{replay:?}"
    );
}

async fn an_unlink_removes_the_account_and_an_unknown_one_is_refused(store: Store) {
    let Some((setup, browser, cx)) = logged_in(store).await else {
        return;
    };
    let (url, cx) = start_link(&setup, &cx).await;
    let (callback, _) = browser.authorize(url).await;
    setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await
        .unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    let url = setup
        .client
        .start_unlink_user(UnlinkUserOptions::new(GOOGLE), &cx)
        .await
        .unwrap();
    let q = query(&url);
    assert_eq!(q["scope"], "openid unlink_account");
    assert!(!q.contains_key("requested_connection_scope"));
    let cx = StoreContext::from_cookies(cx.cookies());
    let (callback, _) = browser.authorize(url).await;
    let done = setup
        .client
        .complete_unlink_user(callback.as_str(), &cx)
        .await
        .unwrap();
    assert_eq!(
        connections(&user_json(&done.user)),
        [auth0_dev_tenant::PRIMARY_CONNECTION]
    );
    // Not linked any more: the provider refuses, and the session is unchanged.
    let cx = StoreContext::from_cookies(cx.cookies());
    let url = setup
        .client
        .start_unlink_user(UnlinkUserOptions::new(GOOGLE), &cx)
        .await
        .unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    let (callback, _) = browser.authorize(url).await;
    match setup
        .client
        .complete_unlink_user(callback.as_str(), &cx)
        .await
    {
        Err(Error::Authorization { error, .. }) => assert_eq!(error, "access_denied"),
        other => panic!("expected access_denied, got {other:?}"),
    }
}

async fn a_link_completed_in_another_browser_is_refused(store: Store) {
    let Some((setup, browser, cx)) = logged_in(store).await else {
        return;
    };
    let (url, cx) = start_link(&setup, &cx).await;
    let (callback, _) = browser.authorize(url).await;
    // The callback URL opened where the link did not start: no transaction cookie.
    let elsewhere = setup
        .client
        .complete_link_user(callback.as_str(), &StoreContext::new())
        .await;
    assert!(
        matches!(elsewhere, Err(Error::MissingTransaction)),
        "{elsewhere:?}"
    );
    // A link callback is not a login's, nor the other way round.
    let as_unlink = setup
        .client
        .complete_unlink_user(callback.as_str(), &cx)
        .await;
    assert!(
        matches!(
            as_unlink,
            Err(Error::CallbackOfAnotherFlow {
                complete_with: "complete_link_user"
            })
        ),
        "{as_unlink:?}"
    );
}

async fn linking_without_a_session_is_a_typed_error_and_sends_nothing(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let result = setup
        .client
        .start_link_user(LinkUserOptions::new(GOOGLE), &StoreContext::new())
        .await;
    assert!(
        matches!(result, Err(Error::LinkUserWithoutSession)),
        "{result:?}"
    );
    assert_eq!(result.unwrap_err().code(), "start_link_user_error");
    let empty = setup
        .client
        .start_unlink_user(UnlinkUserOptions::new(" "), &StoreContext::new())
        .await;
    assert!(matches!(empty, Err(Error::InvalidArgument(_))), "{empty:?}");
}

async fn a_browser_without_the_hints_provider_session_is_refused(store: Store) {
    let Some((setup, _, cx)) = logged_in(store).await else {
        return;
    };
    let (url, cx) = start_link(&setup, &cx).await;
    // Another browser, logged in at the tenant as someone else, follows the link URL.
    let stranger = Browser::new(&setup.tenant);
    let login = authorize_url(&setup.tenant, &setup.callback(), &[]);
    let (_, form) = stranger.go(login, None).await.page();
    let fields = [("email", "bob@example.com"), ("action", "login")];
    stranger.submit(&form, &fields).await.left();
    let callback = stranger.go(url.clone(), None).await.left();
    assert_eq!(query(&callback)["error"], "login_required");
    // And a browser with no provider session at all.
    let callback = Browser::new(&setup.tenant).go(url, None).await.left();
    assert_eq!(query(&callback)["error"], "login_required");
    match setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await
    {
        Err(Error::Authorization { error, .. }) => assert_eq!(error, "login_required"),
        other => panic!("expected login_required, got {other:?}"),
    }
}

async fn a_link_code_used_after_it_expired_is_refused(store: Store) {
    let clock = ManualClock::starting_now();
    let tenant = |t: auth0_dev_tenant::DevTenantBuilder| t.clock(Arc::new(clock.clone()));
    let Some(setup) = store.setup_with(tenant, |c| c.audience(API)).await else {
        return;
    };
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let (url, cx) = start_link(&setup, &cx).await;
    let (callback, _) = browser.authorize(url).await;
    clock.advance(auth0_dev_tenant::CODE_LIFETIME + Duration::from_secs(1));
    match setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await
    {
        Err(Error::TokenEndpoint { error, .. }) => assert_eq!(error, "invalid_grant"),
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

/// The error's code, for errors this test may predate.
fn code_of<T: std::fmt::Debug>(result: &Result<T, Error>) -> &'static str {
    result.as_ref().err().map_or("ok", Error::code)
}

async fn a_link_callback_given_to_the_login_callback_is_refused_and_kept(store: Store) {
    let Some((setup, browser, cx)) = logged_in(store).await else {
        return;
    };
    let before = setup.client.get_session(&cx).await.unwrap().unwrap();
    let (url, cx) = start_link(&setup, &cx).await;
    let (callback, _) = browser.authorize(url).await;
    // The link's redirect URI is the login callback: /callback must not log in with it.
    let as_login = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await;
    assert_eq!(
        code_of(&as_login),
        "callback_of_another_flow",
        "{as_login:?}"
    );
    assert!(
        as_login
            .unwrap_err()
            .to_string()
            .contains("complete_link_user"),
        "says what to call"
    );
    let cx = StoreContext::from_cookies(cx.cookies());
    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    assert_eq!(
        session.id_token, before.id_token,
        "the session is untouched"
    );
    // The transaction is kept: the right function completes it.
    setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await
        .unwrap();
}

async fn a_login_callback_given_to_complete_link_user_is_refused(store: Store) {
    let Some(setup) = store.setup().await else {
        return;
    };
    let browser = Browser::new(&setup.tenant);
    let (url, cx) = setup.start_login(Default::default()).await;
    let cx = StoreContext::from_cookies(cx.cookies());
    let (callback, _) = browser.authorize(url).await;
    let as_link = setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await;
    assert_eq!(code_of(&as_link), "callback_of_another_flow", "{as_link:?}");
    setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap();
}

/// A session store that, armed, lets "another request" (a refresh rotating the refresh
/// token) write the session just before this request's next write: the race between a
/// link's read and its write, made certain.
struct RacingStore {
    inner: auth0_server_core::store::ServerSideStateStore<auth0_store_memory::MemoryBackend>,
    armed: std::sync::atomic::AtomicBool,
}

/// The refresh token the racing request writes.
const ROTATED: &str = "rotated-by-another-request";

#[async_trait::async_trait]
impl auth0_server_core::store::StateStore for RacingStore {
    async fn set(
        &self,
        identifier: &str,
        state: &auth0_server_core::model::StateData,
        rotate: bool,
        cx: &StoreContext,
    ) -> Result<(), auth0_server_core::store::StoreError> {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            let other = StoreContext::from_cookies(cx.cookies());
            let mut theirs = self.inner.get(identifier, &other).await?.unwrap();
            theirs.refresh_token = Some(ROTATED.to_owned());
            self.inner.set(identifier, &theirs, false, &other).await?;
        }
        self.inner.set(identifier, state, rotate, cx).await
    }

    async fn get(
        &self,
        identifier: &str,
        cx: &StoreContext,
    ) -> Result<Option<auth0_server_core::model::StateData>, auth0_server_core::store::StoreError>
    {
        self.inner.get(identifier, cx).await
    }

    async fn delete(
        &self,
        identifier: &str,
        cx: &StoreContext,
    ) -> Result<(), auth0_server_core::store::StoreError> {
        self.inner.delete(identifier, cx).await
    }

    async fn delete_by_logout_token(
        &self,
        claims: &auth0_server_core::model::LogoutTokenClaims,
        cx: &StoreContext,
    ) -> Result<u64, auth0_server_core::store::StoreError> {
        self.inner.delete_by_logout_token(claims, cx).await
    }
}

#[tokio::test]
async fn a_refresh_rotation_between_a_links_read_and_write_is_kept() {
    let secrets = auth0_server_core::Secrets::parse(SECRET).unwrap();
    let store = Arc::new(RacingStore {
        inner: auth0_server_core::store::ServerSideStateStore::new(
            auth0_store_memory::MemoryBackend::new(),
            &secrets,
        ),
        armed: false.into(),
    });
    let racing = store.clone();
    let setup = Setup::start_with(|t| t, |c| c.audience(API).state_store(racing)).await;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let (url, cx) = start_link(&setup, &cx).await;
    let (callback, _) = browser.authorize(url).await;
    store.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let done = setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await
        .unwrap();
    assert_eq!(connections(&user_json(&done.user))[1], GOOGLE);
    let cx = StoreContext::from_cookies(cx.cookies());
    let after = setup.client.get_session(&cx).await.unwrap().unwrap();
    assert_eq!(
        after.refresh_token.as_deref(),
        Some(ROTATED),
        "the other request's rotation is not undone"
    );
    assert!(
        after
            .token_sets
            .iter()
            .any(|t| t.audience == MY_ACCOUNT_AUDIENCE)
    );
}

async fn a_link_with_an_expired_id_token_hint_is_refused(store: Store) {
    let clock = ManualClock::starting_now();
    let tenant = |t: auth0_dev_tenant::DevTenantBuilder| t.clock(Arc::new(clock.clone()));
    let Some(setup) = store.setup_with(tenant, |c| c.audience(API)).await else {
        return;
    };
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    // The session's ID token expires; the tenant's own login session lives on.
    clock.advance(auth0_dev_tenant::DEFAULT_ID_TOKEN_LIFETIME + Duration::from_secs(1));
    let (url, cx) = start_link(&setup, &cx).await;
    let (callback, _) = browser.authorize(url).await;
    match setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await
    {
        Err(Error::Authorization { error, .. }) => assert_eq!(error, "invalid_request"),
        other => panic!("expected invalid_request, got {other:?}"),
    }
}

async fn a_link_completed_after_a_logout_reports_the_completion(store: Store) {
    let Some((setup, browser, cx)) = logged_in(store).await else {
        return;
    };
    let (url, cx) = start_link(&setup, &cx).await;
    let (callback, _) = browser.authorize(url).await;
    // Another tab logs out before the link's callback arrives.
    let tab = StoreContext::from_cookies(cx.cookies());
    setup
        .client
        .logout(auth0_server_core::client::LogoutOptions::default(), &tab)
        .await
        .unwrap();
    let result = setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await;
    assert_eq!(code_of(&result), "complete_link_user_error", "{result:?}");
    let cx = StoreContext::from_cookies(cx.cookies());
    assert!(
        setup.client.get_session(&cx).await.unwrap().is_none(),
        "the ended session is not brought back"
    );
}

#[tokio::test]
async fn a_link_completes_with_private_key_jwt_and_its_callback_works_once() {
    let (private, public) = es256_jwk_pair("link-key");
    let setup = Setup::start_with(
        |t| t.client_public_key(public),
        |c| c.audience(API).client_assertion_signing_key(private),
    )
    .await;
    let method = setup.client.config().client_authentication_method();
    assert_eq!(method, "private_key_jwt");
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let (url, cx) = start_link(&setup, &cx).await;
    let (callback, _) = browser.authorize(url).await;
    // The code exchange of the link carries a client assertion (no secret is configured).
    let done = setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await
        .unwrap();
    assert!(connections(&user_json(&done.user)).contains(&GOOGLE.to_owned()));
    // The same callback again: its transaction was used.
    let replayed = setup
        .client
        .complete_link_user(callback.as_str(), &cx)
        .await;
    assert!(
        matches!(replayed, Err(Error::MissingTransaction)),
        "{replayed:?}"
    );
}
