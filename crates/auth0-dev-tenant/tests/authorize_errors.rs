//! The authorization endpoint's refusals: an untrusted client or redirect URI gets a page
//! and no redirect; every other error goes back to the callback.

use auth0_test_support::dev_tenant as support;

use support::*;

#[tokio::test]
async fn an_unknown_client_id_shows_an_error_page_and_does_not_redirect() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let url = authorize_url(
        &setup.tenant,
        &setup.callback(),
        &[("client_id", "someone-else")],
    );
    let (status, html) = browser.go(url, None).await.page();
    assert_eq!(status, 400);
    assert!(html.contains("Unknown application"), "{html}");
    assert!(html.contains(auth0_dev_tenant::BANNER));
    assert!(
        html.contains(setup.tenant.client_id()),
        "the page names the right client id"
    );

    let url = authorize_url(&setup.tenant, &setup.callback(), &[("client_id", "")]);
    let (status, _) = browser.go(url, None).await.page();
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_unregistered_redirect_uri_shows_an_error_page_and_does_not_redirect() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let other_path = setup.app.join("not-the-callback").unwrap();
    for redirect_uri in ["https://evil.example/callback", other_path.as_str()] {
        // Even an error that would otherwise go to the redirect URI stays on the tenant.
        let url = authorize_url(&setup.tenant, redirect_uri, &[("response_type", "token")]);
        let (status, html) = browser.go(url, None).await.page();
        assert_eq!(status, 400, "{redirect_uri}");
        assert!(html.contains("Callback URL mismatch"), "{html}");
        assert!(
            text(&html).contains(&setup.callback()),
            "the page lists the allowed URL"
        );
    }
}

#[tokio::test]
async fn any_loopback_callback_is_allowed_by_default_but_nothing_else() {
    let tenant = auth0_dev_tenant::DevTenant::builder()
        .start()
        .await
        .unwrap();
    let browser = Browser::new(&tenant);
    let url = authorize_url(&tenant, "http://localhost:5000/callback", &[]);
    let (callback, _) = browser.authorize(url).await;
    assert!(
        callback
            .as_str()
            .starts_with("http://localhost:5000/callback?code=")
    );
    let url = authorize_url(&tenant, "https://app.example/callback", &[]);
    let (status, _) = browser.go(url, None).await.page();
    assert_eq!(status, 400);
}

/// The error an authorization request with `extra` gets at the callback.
async fn error_at_callback(setup: &Setup, extra: &[(&str, &str)]) -> (String, String) {
    let browser = Browser::new(&setup.tenant);
    let url = authorize_url(&setup.tenant, &setup.callback(), extra);
    let back = browser.go(url, None).await.left();
    assert!(back.as_str().starts_with(&setup.callback()), "{back}");
    let q = query(&back);
    assert_eq!(q["iss"], setup.tenant.issuer());
    assert!(!q.contains_key("code"));
    (
        q["error"].clone(),
        q.get("state").cloned().unwrap_or_default(),
    )
}

#[tokio::test]
async fn pkce_is_required_with_s256() {
    let setup = Setup::start().await;
    let (error, state) = error_at_callback(&setup, &[("code_challenge", "")]).await;
    assert_eq!(
        (error.as_str(), state.as_str()),
        ("invalid_request", "state-1")
    );
    let (error, _) = error_at_callback(&setup, &[("code_challenge_method", "plain")]).await;
    assert_eq!(error, "invalid_request");
    let (error, _) = error_at_callback(&setup, &[("code_challenge_method", "")]).await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn state_nonce_openid_and_code_are_required() {
    let setup = Setup::start().await;
    let (error, state) = error_at_callback(&setup, &[("state", "")]).await;
    assert_eq!((error.as_str(), state.as_str()), ("invalid_request", ""));
    assert_eq!(
        error_at_callback(&setup, &[("nonce", "")]).await.0,
        "invalid_request"
    );
    assert_eq!(
        error_at_callback(&setup, &[("scope", "profile")]).await.0,
        "invalid_scope"
    );
    assert_eq!(
        error_at_callback(&setup, &[("response_type", "token")])
            .await
            .0,
        "unsupported_response_type"
    );
    assert_eq!(
        error_at_callback(&setup, &[("request_uri", "urn:x")])
            .await
            .0,
        "invalid_request_uri"
    );
}

#[tokio::test]
async fn an_unknown_audience_is_access_denied() {
    let setup = Setup::start().await;
    let (error, _) = error_at_callback(&setup, &[("audience", "https://unknown.example")]).await;
    assert_eq!(error, "access_denied");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let setup = Setup::start().await;
    let (error, _) = error_at_callback(&setup, &[("prompt", "none")]).await;
    assert_eq!(error, "login_required");

    // With a session, prompt=none gives a code without a form.
    let browser = Browser::new(&setup.tenant);
    setup.login(&browser).await;
    let url = authorize_url(&setup.tenant, &setup.callback(), &[("prompt", "none")]);
    let back = browser.go(url, None).await.left();
    assert!(query(&back).contains_key("code"), "{back}");
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_request() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let mut url = authorize_url(&setup.tenant, &setup.callback(), &[]);
    url.query_pairs_mut().append_pair("nonce", "second");
    let back = browser.go(url, None).await.left();
    assert_eq!(query(&back)["error"], "invalid_request");
}

#[tokio::test]
async fn an_expired_login_form_shows_a_page() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    let url = authorize_url(&setup.tenant, &setup.callback(), &[]);
    let (_, html) = browser.go(url, None).await.page();
    let forged = html.replace(&login_form(&html).1, "an-interaction-the-tenant-never-made");
    let (status, page) = browser
        .submit(&forged, &[("email", EMAIL), ("action", "login")])
        .await
        .page();
    assert_eq!(status, 400);
    assert!(page.contains("Login expired"), "{page}");
}
