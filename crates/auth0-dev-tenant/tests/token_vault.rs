//! Token Vault at the dev tenant: `ServerClient::get_access_token_for_connection` against the
//! federated-connection grant, with the tenant's made-up connections, its refusals, expiry
//! and a replayed (rotated) refresh token.

use std::sync::Arc;
use std::time::Duration;

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{AccessTokenOptions, ConnectionTokenOptions, Error};
use auth0_server_core::clock::ManualClock;
use auth0_server_core::store::StoreContext;
use support::*;

/// The made-up connection the tests ask tokens for, besides the tenant's own.
const GOOGLE: &str = "google-oauth2";

async fn logged_in(clock: Option<ManualClock>) -> (Setup, StoreContext) {
    let tenant_clock = clock.clone();
    let setup = Setup::start_with(
        |t| {
            let t = t.federated_connection(GOOGLE);
            match tenant_clock {
                Some(clock) => t.clock(Arc::new(clock)),
                None => t,
            }
        },
        |c| match clock {
            Some(clock) => c.audience(API).clock(Arc::new(clock)),
            None => c.audience(API),
        },
    )
    .await;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    (setup, cx)
}

fn google() -> ConnectionTokenOptions {
    ConnectionTokenOptions::new(GOOGLE)
}

/// The refresh token of the session in `cx`.
async fn refresh_token_of(setup: &Setup, cx: &StoreContext) -> String {
    let next = StoreContext::from_cookies(cx.cookies());
    let session = setup.client.get_session(&next).await.unwrap().unwrap();
    session.refresh_token.unwrap()
}

/// The tenant's answer to a refresh with `refresh_token`, sent as the app (not the SDK).
async fn raw_refresh(setup: &Setup, refresh_token: &str) -> (u16, serde_json::Value) {
    let creds = (setup.tenant.client_id(), setup.tenant.client_secret());
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let (status, body, _) = token_request(&setup.tenant, &form, Some(creds)).await;
    (status.as_u16(), body)
}

#[tokio::test]
async fn a_connection_token_is_exchanged_once_then_served_from_the_session() {
    let (setup, cx) = logged_in(None).await;
    let token = setup
        .client
        .get_access_token_for_connection(google(), &cx)
        .await
        .unwrap();
    let sub = setup.tenant.tenant().user_id(EMAIL);
    assert_eq!(
        setup.tenant.tenant().connection_token_owner(&token.token),
        Some((GOOGLE.to_owned(), sub)),
        "a token of the connection, for the user"
    );
    assert_eq!(
        token.scope.as_deref(),
        Some(auth0_dev_tenant::CONNECTION_SCOPE)
    );
    let next = StoreContext::from_cookies(cx.cookies());
    let again = setup
        .client
        .get_access_token_for_connection(google(), &next)
        .await
        .unwrap();
    assert_eq!(again, token, "served from the session, not exchanged again");
    let session = setup.client.get_session(&next).await.unwrap().unwrap();
    assert_eq!(session.connection_token_sets.len(), 1);
    assert_eq!(session.connection_token_sets[0].connection, GOOGLE);
    assert_eq!(
        session.connection_token_sets[0].expires_at,
        token.expires_at
    );
    assert!(!format!("{session:?}").contains(&token.token));
}

#[tokio::test]
async fn the_tenants_own_connection_and_the_users_login_hint_work() {
    let (setup, cx) = logged_in(None).await;
    let options = ConnectionTokenOptions::new(auth0_dev_tenant::DEV_CONNECTION).login_hint(EMAIL);
    let token = setup
        .client
        .get_access_token_for_connection(options, &cx)
        .await
        .unwrap();
    let owner = setup.tenant.tenant().connection_token_owner(&token.token);
    assert_eq!(
        owner.map(|o| o.0).as_deref(),
        Some(auth0_dev_tenant::DEV_CONNECTION)
    );
}

#[tokio::test]
async fn an_unknown_connection_is_refused_as_auth0_refuses_it() {
    let (setup, cx) = logged_in(None).await;
    let refresh_token = refresh_token_of(&setup, &cx).await;
    let error = setup
        .client
        .get_access_token_for_connection(ConnectionTokenOptions::new("github"), &cx)
        .await
        .unwrap_err();
    let Error::ConnectionToken {
        connection,
        error: code,
        status,
        ..
    } = &error
    else {
        panic!("expected ConnectionToken, got {error:?}");
    };
    assert_eq!(
        (connection.as_str(), code.as_str(), *status),
        (
            "github",
            "federated_connection_refresh_token_not_found",
            401
        )
    );
    assert_eq!(error.code(), "access_token_for_connection_error");
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(&refresh_token), "{shown}");
    }
}

#[tokio::test]
async fn a_login_hint_of_another_account_is_refused() {
    let (setup, cx) = logged_in(None).await;
    let error = setup
        .client
        .get_access_token_for_connection(google().login_hint("eve@example.com"), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::ConnectionToken { status: 401, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_expired_connection_token_is_exchanged_again() {
    let clock = ManualClock::starting_now();
    let (setup, cx) = logged_in(Some(clock.clone())).await;
    let first = setup
        .client
        .get_access_token_for_connection(google(), &cx)
        .await
        .unwrap();
    clock.advance(auth0_dev_tenant::DEFAULT_ACCESS_TOKEN_LIFETIME + Duration::from_secs(1));
    let tenant = setup.tenant.tenant();
    assert_eq!(tenant.connection_token_owner(&first.token), None, "expired");
    let next = StoreContext::from_cookies(cx.cookies());
    let second = setup
        .client
        .get_access_token_for_connection(google(), &next)
        .await
        .unwrap();
    assert_ne!(second.token, first.token);
    assert!(tenant.connection_token_owner(&second.token).is_some());
    let session = setup.client.get_session(&next).await.unwrap().unwrap();
    assert_eq!(
        session.connection_token_sets.len(),
        1,
        "replaced, not added"
    );
    assert_eq!(session.connection_token_sets[0].access_token, second.token);
}

#[tokio::test]
async fn a_rotated_refresh_token_replayed_is_refused_and_ends_the_grant() {
    let (setup, cx) = logged_in(None).await;
    let old = refresh_token_of(&setup, &cx).await;
    // Another party refreshes with the session's refresh token: it is used up.
    let (status, body) = raw_refresh(&setup, &old).await;
    assert_eq!(status, 200, "{body}");
    let rotated = body["refresh_token"].as_str().unwrap().to_owned();
    let error = setup
        .client
        .get_access_token_for_connection(google(), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::ConnectionToken { error, status: 400, .. } if error == "invalid_grant"),
        "{error:?}"
    );
    let (status, body) = raw_refresh(&setup, &rotated).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the replay revoked the whole grant"
    );
}

#[tokio::test]
async fn concurrent_calls_make_one_exchange() {
    let (setup, cx) = logged_in(None).await;
    let calls = (0..8).map(|_| {
        let client = setup.client.clone();
        let cx = StoreContext::from_cookies(cx.cookies());
        tokio::spawn(async move {
            client
                .get_access_token_for_connection(google(), &cx)
                .await
                .map(|t| t.token)
        })
    });
    let tokens: Vec<String> = futures_util_join(calls).await;
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "one exchange, its token shared: {} distinct",
        tokens
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
}

async fn futures_util_join(
    calls: impl Iterator<Item = tokio::task::JoinHandle<Result<String, Error>>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        out.push(call.await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn without_a_refresh_token_nothing_is_sent() {
    let setup = Setup::start_with(|t| t, |c| c.scope("openid profile email")).await;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let error = setup
        .client
        .get_access_token_for_connection(google(), &cx)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::MissingRefreshToken), "{error:?}");
    let error = setup
        .client
        .get_access_token_for_connection(google(), &StoreContext::new())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::MissingSession), "{error:?}");
}

#[tokio::test]
async fn a_refresh_token_kept_outside_a_session_is_exchanged_too() {
    let (setup, cx) = logged_in(None).await;
    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    let refresh_token = session.refresh_token.unwrap();
    let token = setup
        .client
        .get_token_for_connection(&refresh_token, google())
        .await
        .unwrap();
    let sub = setup.tenant.tenant().user_id(EMAIL);
    assert_eq!(
        setup.tenant.tenant().connection_token_owner(&token.token),
        Some((GOOGLE.to_owned(), sub))
    );
    let after = setup.client.get_session(&cx).await.unwrap().unwrap();
    assert!(after.connection_token_sets.is_empty(), "nothing saved");
    let error = setup
        .client
        .get_token_for_connection("unknown", google())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::ConnectionToken { error, .. } if error == "invalid_grant"),
        "{error:?}"
    );
    let error = setup
        .client
        .get_token_for_connection(" ", google())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
}

/// Two requests of one browser whose session is in its cookie: one refreshes the access
/// token (the tenant rotates the refresh token), the other, which read the cookie before,
/// asks for a connection token. The exchange must not send the refresh token the refresh
/// spent: the tenant would take it for a stolen one and end the grant (the user logged out).
#[tokio::test]
async fn an_exchange_racing_a_refresh_that_rotated_the_refresh_token_keeps_the_user_logged_in() {
    let setup = Setup::start_with(
        |t| t.federated_connection(GOOGLE),
        |c| {
            c.audience(API).state_store_with(|settings| {
                Arc::new(auth0_store_cookie::CookieStateStore::from_settings(
                    settings,
                ))
            })
        },
    )
    .await;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let before = cx.cookies();
    let refreshing = StoreContext::from_cookies(before.clone());
    let force = AccessTokenOptions {
        force_refresh: true,
        ..AccessTokenOptions::default()
    };
    setup
        .client
        .get_access_token(force.clone(), &refreshing)
        .await
        .unwrap();
    let stale = StoreContext::from_cookies(before);
    let token = setup
        .client
        .get_access_token_for_connection(google(), &stale)
        .await
        .unwrap();
    assert!(
        setup
            .tenant
            .tenant()
            .connection_token_owner(&token.token)
            .is_some()
    );
    let rotated = refresh_token_of(&setup, &refreshing).await;
    assert_eq!(
        refresh_token_of(&setup, &stale).await,
        rotated,
        "the stale request's session got the refresh token it exchanged"
    );
    let (status, body) = raw_refresh(&setup, &rotated).await;
    assert_eq!(status, 200, "the grant still works: {body}");
}

/// Auth0 requires refresh-token rotation off for Token Vault: with it off, the tenant's
/// refresh grant answers no new refresh token and the one refresh token keeps working for
/// refreshes and exchanges alike.
#[tokio::test]
async fn without_rotation_one_refresh_token_serves_refreshes_and_exchanges() {
    let setup = Setup::start_with(
        |t| t.federated_connection(GOOGLE).refresh_token_rotation(false),
        |c| c.audience(API),
    )
    .await;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let refresh_token = refresh_token_of(&setup, &cx).await;
    for _ in 0..2 {
        let (status, body) = raw_refresh(&setup, &refresh_token).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("refresh_token").is_none(), "not rotated: {body}");
    }
    let token = setup
        .client
        .get_access_token_for_connection(google(), &cx)
        .await
        .unwrap();
    assert!(
        setup
            .tenant
            .tenant()
            .connection_token_owner(&token.token)
            .is_some()
    );
    let (status, body) = raw_refresh(&setup, &refresh_token).await;
    assert_eq!(status, 200, "still good after the exchange: {body}");
}

/// A token got for an account named by a login hint is that account's: a call without a hint
/// (the user's default account) exchanges for its own, and both stay in the session.
#[tokio::test]
async fn a_call_without_a_login_hint_never_gets_the_token_of_a_hinted_account() {
    let (setup, cx) = logged_in(None).await;
    let hinted = setup
        .client
        .get_access_token_for_connection(google().login_hint(EMAIL), &cx)
        .await
        .unwrap();
    let next = StoreContext::from_cookies(cx.cookies());
    let plain = setup
        .client
        .get_access_token_for_connection(google(), &next)
        .await
        .unwrap();
    assert_ne!(plain.token, hinted.token, "not the hinted account's token");
    let session = setup.client.get_session(&next).await.unwrap().unwrap();
    let hints: Vec<&str> = session
        .connection_token_sets
        .iter()
        .map(|t| t.login_hint.as_str())
        .collect();
    assert_eq!(hints, [EMAIL, ""]);
    let again = setup
        .client
        .get_access_token_for_connection(google().login_hint(""), &next)
        .await
        .unwrap();
    assert_eq!(again, plain, "an empty hint is no hint");
}

/// `force_refresh` exchanges again although the session holds a valid token.
#[tokio::test]
async fn force_refresh_exchanges_again() {
    let (setup, cx) = logged_in(None).await;
    let first = setup
        .client
        .get_access_token_for_connection(google(), &cx)
        .await
        .unwrap();
    let next = StoreContext::from_cookies(cx.cookies());
    let forced = setup
        .client
        .get_access_token_for_connection(google().force_refresh(true), &next)
        .await
        .unwrap();
    assert_ne!(forced.token, first.token);
    let session = setup.client.get_session(&next).await.unwrap().unwrap();
    assert_eq!(session.connection_token_sets.len(), 1);
    assert_eq!(session.connection_token_sets[0].access_token, forced.token);
}
