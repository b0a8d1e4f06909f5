//! Logout: RP-initiated through the `end_session_endpoint` with back-channel logout to the
//! app, Auth0's `/v2/logout`, and return URLs that are not allowed.

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{BACKCHANNEL_LOGOUT_EVENT, LogoutOptions};
use auth0_server_core::store::StoreContext;
use support::*;

#[tokio::test]
async fn end_session_sends_a_backchannel_logout_that_ends_the_apps_other_sessions() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    // Two app sessions on one provider session (the second login is single sign-on).
    let (done, cx1, _) = setup.login(&browser).await;
    let (_, cx2, shown) = setup.login(&browser).await;
    assert!(!shown);
    let id_token = setup
        .client
        .get_session(&cx1)
        .await
        .unwrap()
        .unwrap()
        .id_token
        .unwrap();
    let (_, id_claims) = verified(&setup.tenant, &id_token).await;

    let return_to = setup.app.join("logged-out").unwrap().to_string();
    let logout = setup
        .client
        .logout(
            LogoutOptions {
                return_to: Some(return_to.clone()),
            },
            &cx1,
        )
        .await
        .unwrap()
        .provider_url()
        .cloned()
        .expect("the provider's logout URL");
    assert!(
        logout
            .as_str()
            .starts_with(&format!("{}oidc/logout?", setup.tenant.issuer())),
        "{logout}"
    );
    assert!(query(&logout).contains_key("id_token_hint"));
    assert!(setup.client.get_user(&cx1).await.unwrap().is_none());
    assert!(setup.client.get_user(&cx2).await.unwrap().is_some());

    let back = browser.go(logout, None).await.left();
    assert_eq!(back.as_str(), return_to);
    assert_eq!(
        browser.cookie_count(),
        0,
        "the provider session cookie is cleared"
    );

    // The tenant POSTed a logout token before sending the browser back, and the app's
    // handler ended the other session with it.
    let log = setup.backchannel_log();
    assert_eq!(log.len(), 1, "one logout token for one provider session");
    let (token, outcome) = &log[0];
    assert_eq!(*outcome, Ok(1), "the app's other session ended");
    assert!(setup.client.get_user(&cx2).await.unwrap().is_none());

    let (header, claims) = verified(&setup.tenant, token).await;
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(claims["iss"], setup.tenant.issuer());
    assert_eq!(claims["aud"], setup.tenant.client_id());
    assert_eq!(claims["sub"], done.user.sub.as_str());
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert!(claims["jti"].is_string() && claims["iat"].is_u64() && claims["exp"].is_u64());
    assert!(claims["events"][BACKCHANNEL_LOGOUT_EVENT].is_object());
    assert!(claims.get("nonce").is_none());

    // The provider session is over: the next login shows the form.
    let (_, _, shown) = setup.login(&browser).await;
    assert!(shown);
}

#[tokio::test]
async fn end_session_passes_state_back() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    setup.login(&browser).await;
    let mut url = url::Url::parse(&format!("{}oidc/logout", setup.tenant.issuer())).unwrap();
    let return_to = setup.app.join("logged-out").unwrap().to_string();
    url.query_pairs_mut()
        .append_pair("client_id", setup.tenant.client_id())
        .append_pair("post_logout_redirect_uri", &return_to)
        .append_pair("state", "xyz");
    let back = browser.go(url, None).await.left();
    assert_eq!(query(&back)["state"], "xyz");
    assert_eq!(
        setup.backchannel_log().len(),
        1,
        "the cookie's session ended"
    );
}

#[tokio::test]
async fn v2_logout_ends_the_provider_session_and_returns_to_an_allowed_url() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let mut url = url::Url::parse(&format!("{}v2/logout", setup.tenant.issuer())).unwrap();
    let return_to = setup.app.join("logged-out").unwrap().to_string();
    url.query_pairs_mut()
        .append_pair("client_id", setup.tenant.client_id())
        .append_pair("returnTo", &return_to);
    let back = browser.go(url, None).await.left();
    assert_eq!(back.as_str(), return_to);
    let log = setup.backchannel_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].1, Ok(1));
    assert!(setup.client.get_user(&cx).await.unwrap().is_none());
    let (_, _, shown) = setup.login(&browser).await;
    assert!(shown, "no provider session after the logout");
}

#[tokio::test]
async fn a_return_url_that_is_not_allowed_shows_a_page_instead_of_redirecting() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    setup.login(&browser).await;
    for (path, param) in [
        ("v2/logout", "returnTo"),
        ("oidc/logout", "post_logout_redirect_uri"),
    ] {
        let mut url = url::Url::parse(&format!("{}{path}", setup.tenant.issuer())).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", setup.tenant.client_id())
            .append_pair(param, "https://evil.example/");
        let (status, html) = browser.go(url, None).await.page();
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("Logged out"), "{html}");
        assert!(html.contains("not an allowed logout URL"), "{html}");
        assert!(text(&html).contains("https://evil.example/"), "{html}");
    }
}

#[tokio::test]
async fn a_forged_id_token_hint_shows_a_page_and_logs_nobody_out() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    let mut url = url::Url::parse(&format!("{}oidc/logout", setup.tenant.issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", "eyJhbGciOiJub25lIn0.eyJzaWQiOiJ4In0.")
        .append_pair("post_logout_redirect_uri", setup.app.as_str());
    let (status, html) = browser.go(url, None).await.page();
    assert_eq!(status, 400);
    assert!(html.contains("id_token_hint"), "{html}");
    assert!(setup.backchannel_log().is_empty());
    assert!(setup.client.get_user(&cx).await.unwrap().is_some());
    assert_eq!(browser.cookie_count(), 1, "the provider session remains");
}

#[tokio::test]
async fn logout_without_a_session_still_returns() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let url = setup
        .client
        .logout(
            LogoutOptions {
                return_to: Some(setup.app.join("logged-out").unwrap().to_string()),
            },
            &StoreContext::new(),
        )
        .await
        .unwrap()
        .provider_url()
        .cloned()
        .expect("the provider's logout URL");
    assert!(!query(&url).contains_key("id_token_hint"));
    let back = browser.go(url, None).await.left();
    assert_eq!(back.path(), "/logged-out");
    assert!(setup.backchannel_log().is_empty());
}
