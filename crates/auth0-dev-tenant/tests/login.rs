//! The login flow of a real `ServerClient` against the dev tenant: discovery, the form, the
//! callback, the ID token, single sign-on, cancel.

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{Error, StartLoginOptions};
use serde_json::Value;
use support::*;

#[tokio::test]
async fn discovery_names_every_endpoint_under_the_issuer() {
    let setup = Setup::start().await;
    let issuer = setup.tenant.issuer();
    assert!(issuer.starts_with("http://127.0.0.1:") && issuer.ends_with('/'));
    assert_eq!(setup.tenant.domain(), issuer.trim_end_matches('/'));
    let doc: Value = http_client()
        .get(format!("{issuer}.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], issuer);
    for (field, path) in [
        ("authorization_endpoint", "authorize"),
        ("token_endpoint", "oauth/token"),
        ("jwks_uri", ".well-known/jwks.json"),
        ("userinfo_endpoint", "userinfo"),
        ("end_session_endpoint", "oidc/logout"),
        ("backchannel_authentication_endpoint", "bc-authorize"),
    ] {
        assert_eq!(doc[field], format!("{issuer}{path}"), "{field}");
    }
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "refresh_token",
            "urn:openid:params:grant-type:ciba",
            "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "http://auth0.com/oauth/grant-type/mfa-otp",
            "http://auth0.com/oauth/grant-type/mfa-oob",
            "http://auth0.com/oauth/grant-type/mfa-recovery-code",
            "http://auth0.com/oauth/grant-type/passwordless/otp",
        ])
    );
    let metadata = setup.client.provider_metadata().await.unwrap();
    assert_eq!(metadata.issuer, issuer);
}

#[tokio::test]
async fn login_through_the_form_gives_the_user_and_a_verified_id_token() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let (url, cx) = setup.start_login(StartLoginOptions::default()).await;
    let sent = query(&url);
    let (callback, form_shown) = browser.authorize(url).await;
    assert!(form_shown, "the first login shows the form");
    let back = query(&callback);
    assert_eq!(back["state"], sent["state"]);
    assert_eq!(back["iss"], setup.tenant.issuer(), "RFC 9207 iss");
    setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap();

    let cx = auth0_server_core::store::StoreContext::from_cookies(cx.cookies());
    let user = setup
        .client
        .get_user(&cx)
        .await
        .unwrap()
        .expect("a session");
    assert!(user.sub.starts_with("auth0|"), "{}", user.sub);
    assert_eq!(user.email.as_deref(), Some(EMAIL));
    assert_eq!(user.email_verified, Some(true));
    assert_eq!(user.name.as_deref(), Some(NAME));
    assert_eq!(user.nickname.as_deref(), Some("ada"));
    let picture = user.picture.clone().expect("a picture");
    let avatar = http_client().get(&picture).send().await.unwrap();
    assert_eq!(avatar.status(), 200, "{picture}");
    assert_eq!(avatar.headers()["content-type"], "image/svg+xml");

    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    let id_token = session.id_token.expect("an ID token");
    let (header, claims) = verified(&setup.tenant, &id_token).await;
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["iss"], setup.tenant.issuer());
    assert_eq!(claims["aud"], setup.tenant.client_id());
    assert_eq!(claims["sub"], user.sub.as_str());
    assert_eq!(claims["nonce"], sent["nonce"].as_str());
    assert!(claims["sid"].as_str().is_some_and(|s| s.len() >= 43));
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(
        exp - iat,
        auth0_dev_tenant::DEFAULT_ID_TOKEN_LIFETIME.as_secs()
    );
    assert!(
        session.refresh_token.is_some(),
        "offline_access gives a refresh token"
    );
}

#[tokio::test]
async fn the_same_email_is_the_same_user() {
    let setup = Setup::start().await;
    let first = setup.login(&Browser::new(&setup.tenant)).await.0.user;
    let second = setup.login(&Browser::new(&setup.tenant)).await.0.user;
    assert_eq!(first.sub, second.sub);
}

/// The provider session (`sid`) of an app session's ID token.
async fn sid_of(setup: &Setup, cx: &auth0_server_core::store::StoreContext) -> String {
    let session = setup.client.get_session(cx).await.unwrap().unwrap();
    let (_, claims) = verified(&setup.tenant, session.id_token.as_deref().unwrap()).await;
    claims["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_second_login_in_the_same_browser_skips_the_form() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let (first, cx1, shown) = setup.login(&browser).await;
    assert!(shown);
    assert_eq!(browser.cookie_count(), 1, "a provider session cookie");
    let (second, cx2, shown) = setup.login(&browser).await;
    assert!(!shown, "single sign-on: no form the second time");
    assert_eq!(first.user.sub, second.user.sub);
    assert_eq!(
        sid_of(&setup, &cx1).await,
        sid_of(&setup, &cx2).await,
        "one provider session"
    );

    // A fresh browser has no session: the form again.
    let (_, _, shown) = setup.login(&Browser::new(&setup.tenant)).await;
    assert!(shown);
}

#[tokio::test]
async fn prompt_login_shows_the_form_despite_a_session() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    setup.login(&browser).await;
    let mut options = StartLoginOptions::default();
    options
        .authorization_params
        .insert("prompt".into(), "login".into());
    let (url, _) = setup.start_login(options).await;
    let (_, shown) = browser.authorize(url).await;
    assert!(shown);
}

#[tokio::test]
async fn login_hint_fills_the_form() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let mut options = StartLoginOptions::default();
    options
        .authorization_params
        .insert("login_hint".into(), "grace@example.com".into());
    let (url, _) = setup.start_login(options).await;
    let (_, html) = browser.go(url, None).await.page();
    assert!(html.contains("value=\"grace@example.com\""), "{html}");
}

#[tokio::test]
async fn cancel_sends_access_denied_to_the_callback() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let (url, cx) = setup.start_login(StartLoginOptions::default()).await;
    let sent = query(&url);
    let (_, html) = browser.go(url, None).await.page();
    let callback = browser.submit(&html, &[("action", "cancel")]).await.left();
    let back = query(&callback);
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], sent["state"]);
    assert_eq!(back["iss"], setup.tenant.issuer());
    let err = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Authorization { error, .. } if error == "access_denied"),
        "{err:?}"
    );
    assert_eq!(
        browser.cookie_count(),
        0,
        "no provider session after a cancel"
    );
}

#[tokio::test]
async fn a_bad_email_shows_the_form_again_with_the_problem() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let (url, _) = setup.start_login(StartLoginOptions::default()).await;
    let (_, html) = browser.go(url, None).await.page();
    let (status, again) = browser
        .submit(&html, &[("email", "not an email"), ("action", "login")])
        .await
        .page();
    assert_eq!(status, 400);
    assert!(again.contains("Enter an e-mail address"), "{again}");
    // The same form still works.
    let callback = browser
        .submit(&again, &[("email", EMAIL), ("action", "login")])
        .await
        .left();
    assert!(query(&callback).contains_key("code"));
}

#[tokio::test]
async fn a_login_form_is_used_once() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let (url, _) = setup.start_login(StartLoginOptions::default()).await;
    let (_, html) = browser.go(url, None).await.page();
    browser
        .submit(&html, &[("email", EMAIL), ("action", "login")])
        .await
        .left();
    let (status, page) = browser
        .submit(&html, &[("email", EMAIL), ("action", "login")])
        .await
        .page();
    assert_eq!(status, 400);
    assert!(page.contains("Login expired"), "{page}");
}
