//! Access tokens, refresh-token rotation with reuse detection, and `/userinfo`.

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{AccessTokenOptions, Error};
use auth0_server_core::store::StoreContext;
use serde_json::Value;
use support::*;

async fn userinfo(setup: &Setup, token: &str) -> (u16, Value) {
    let response = http_client()
        .get(format!("{}userinfo", setup.tenant.issuer()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn refresh_token_of(setup: &Setup, cx: &StoreContext) -> String {
    let session = setup.client.get_session(cx).await.unwrap().unwrap();
    session.refresh_token.expect("a refresh token")
}

fn force_refresh() -> AccessTokenOptions {
    AccessTokenOptions {
        force_refresh: true,
        ..AccessTokenOptions::default()
    }
}

#[tokio::test]
async fn access_token_for_the_audience_is_a_jwt_that_verifies_against_the_jwks() {
    let setup = Setup::start().await;
    let (done, cx, _) = setup.login(&Browser::new(&setup.tenant)).await;
    let token = setup
        .client
        .get_access_token(AccessTokenOptions::default(), &cx)
        .await
        .unwrap();
    assert_eq!(token.audience, API);
    let (header, claims) = verified(&setup.tenant, &token.token).await;
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["iss"], setup.tenant.issuer());
    assert_eq!(claims["sub"], done.user.sub.as_str());
    assert_eq!(
        claims["aud"],
        serde_json::json!([API, format!("{}userinfo", setup.tenant.issuer())])
    );
    assert_eq!(claims["client_id"], setup.tenant.client_id());
    assert_eq!(claims["scope"], SCOPE);
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(
        lifetime,
        auth0_dev_tenant::DEFAULT_ACCESS_TOKEN_LIFETIME.as_secs()
    );
}

#[tokio::test]
async fn without_an_audience_the_access_token_is_opaque_and_works_at_userinfo() {
    // No audience configured: the login's token is for /userinfo only.
    let setup = Setup::start_with(|t| t, |c| c.scope("openid email")).await;
    let (_, cx, _) = setup.login(&Browser::new(&setup.tenant)).await;
    let token = setup
        .client
        .get_access_token(AccessTokenOptions::default(), &cx)
        .await
        .unwrap();
    assert_eq!(token.token.split('.').count(), 1, "not a JWT");
    let (status, claims) = userinfo(&setup, &token.token).await;
    assert_eq!(status, 200);
    assert_eq!(claims["email"], EMAIL);
    assert_eq!(claims["email_verified"], true);
    assert!(claims["sub"].as_str().unwrap().starts_with("auth0|"));
    assert!(claims.get("name").is_none(), "no profile scope, no name");
}

#[tokio::test]
async fn userinfo_refuses_unknown_tokens_with_a_bearer_challenge() {
    let setup = Setup::start().await;
    let response = http_client()
        .get(format!("{}userinfo", setup.tenant.issuer()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let response = http_client()
        .get(format!("{}userinfo", setup.tenant.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_grant() {
    let setup = Setup::start().await;
    let (_, cx, _) = setup.login(&Browser::new(&setup.tenant)).await;
    let first = setup
        .client
        .get_access_token(AccessTokenOptions::default(), &cx)
        .await
        .unwrap();
    let rt1 = refresh_token_of(&setup, &cx).await;

    let second = setup
        .client
        .get_access_token(force_refresh(), &cx)
        .await
        .unwrap();
    assert_ne!(second.token, first.token, "a new access token");
    let (_, claims) = verified(&setup.tenant, &second.token).await;
    assert!(claims["aud"].as_array().unwrap().contains(&API.into()));
    let rt2 = refresh_token_of(&setup, &cx).await;
    assert_ne!(rt2, rt1, "the refresh token rotated");
    assert_eq!(userinfo(&setup, &second.token).await.0, 200);

    // The old refresh token again: refused, and the whole grant with it.
    let (status, body, _) = token_request(
        &setup.tenant,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        Some((setup.tenant.client_id(), setup.tenant.client_secret())),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );
    let (status, body, _) = token_request(
        &setup.tenant,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
        Some((setup.tenant.client_id(), setup.tenant.client_secret())),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        userinfo(&setup, &second.token).await.0,
        401,
        "the grant's access tokens are revoked too"
    );
}

#[tokio::test]
async fn a_stolen_refresh_token_used_first_makes_the_apps_refresh_fail_and_revokes_both() {
    let setup = Setup::start().await;
    let (_, cx, _) = setup.login(&Browser::new(&setup.tenant)).await;
    let rt = refresh_token_of(&setup, &cx).await;
    let auth = Some((setup.tenant.client_id(), setup.tenant.client_secret()));

    // Someone else refreshes with the app's refresh token first…
    let (status, stolen, _) = token_request(
        &setup.tenant,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        auth,
    )
    .await;
    assert_eq!(status, 200, "{stolen}");

    // …so the app's refresh is a reuse: refused, and the grant is revoked.
    let err = setup
        .client
        .get_access_token(force_refresh(), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::RefreshFailed { error, .. } if error == "invalid_grant"),
        "{err:?}"
    );
    let (status, body, _) = token_request(
        &setup.tenant,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", stolen["refresh_token"].as_str().unwrap()),
        ],
        auth,
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = userinfo(&setup, stolen["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn refresh_may_narrow_the_scope_but_not_widen_it() {
    let setup = Setup::start().await;
    let (_, cx, _) = setup.login(&Browser::new(&setup.tenant)).await;
    let rt = refresh_token_of(&setup, &cx).await;
    let auth = Some((setup.tenant.client_id(), setup.tenant.client_secret()));
    let (status, body, _) = token_request(
        &setup.tenant,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid admin:everything"),
        ],
        auth,
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body, _) = token_request(
        &setup.tenant,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("scope", "openid read:messages"),
        ],
        auth,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid read:messages");
    assert!(
        body["refresh_token"].is_string(),
        "rotation gives a new one"
    );
    assert!(body.get("nonce").is_none());
}

#[tokio::test]
async fn without_offline_access_there_is_no_refresh_token() {
    let setup = Setup::start_with(|t| t, |c| c.scope("openid profile email")).await;
    let (_, cx, _) = setup.login(&Browser::new(&setup.tenant)).await;
    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    assert!(session.refresh_token.is_none());
    let err = setup
        .client
        .get_access_token(force_refresh(), &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingRefreshToken), "{err:?}");
}
