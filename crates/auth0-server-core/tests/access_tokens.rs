//! Access tokens: refresh, retries, single-flight, and errors.

mod support;

use std::sync::Arc;
use std::time::Duration;

use auth0_server_core::client::{AccessTokenOptions, Error};
use auth0_server_core::store::StoreContext;
use serde_json::json;
use support::*;

async fn logged_in() -> (Harness, StoreContext) {
    let h = Harness::start_with(|b| b.refresh_margin(Duration::from_secs(30))).await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    (h, StoreContext::from_cookies(cx.cookies()))
}

fn refreshed(token: &str) -> serde_json::Value {
    json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer", "scope": "openid profile email"})
}

#[tokio::test]
async fn a_valid_token_is_returned_without_a_request() {
    let (h, cx) = logged_in().await;
    let before = h.provider.token_requests();
    let token = h
        .client
        .get_access_token(AccessTokenOptions::default(), &cx)
        .await
        .unwrap();
    assert_eq!(token.token, "at-1");
    assert_eq!(h.provider.token_requests(), before);
    assert!(
        !format!("{token:?}").contains("at-1"),
        "tokens never in Debug"
    );
}

#[tokio::test]
async fn a_forced_refresh_saves_the_new_token_and_keeps_the_id_token() {
    let (h, cx) = logged_in().await;
    let id_before = h.client.get_session(&cx).await.unwrap().unwrap().id_token;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600}),
    );
    let options = forced();
    let token = h.client.get_access_token(options, &cx).await.unwrap();
    assert_eq!(token.token, "at-2");
    let form = h
        .provider
        .state
        .forms
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(form["grant_type"], "refresh_token");
    assert_eq!(form["refresh_token"], "rt-1");

    let next = StoreContext::from_cookies(cx.cookies());
    let session = h.client.get_session(&next).await.unwrap().unwrap();
    assert_eq!(
        session.refresh_token.as_deref(),
        Some("rt-2"),
        "a rotated refresh token is kept"
    );
    assert_eq!(
        session.id_token, id_before,
        "the id token is kept when the refresh has none"
    );
    let again = h
        .client
        .get_access_token(AccessTokenOptions::default(), &next)
        .await
        .unwrap();
    assert_eq!(again.token, "at-2");
}

#[tokio::test]
async fn a_token_for_another_audience_is_fetched_and_stored_beside_the_first() {
    let (h, cx) = logged_in().await;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "api-token", "expires_in": 600, "scope": "read:things"}),
    );
    let options = AccessTokenOptions {
        audience: Some("https://api.example.com".into()),
        scope: Some("read:things".into()),
        ..Default::default()
    };
    let token = h
        .client
        .get_access_token(options.clone(), &cx)
        .await
        .unwrap();
    assert_eq!(token.token, "api-token");
    let form = h
        .provider
        .state
        .forms
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(form["audience"], "https://api.example.com");
    let session = h.client.get_session(&cx).await.unwrap().unwrap();
    assert_eq!(session.token_sets.len(), 2);
    let requests = h.provider.token_requests();
    assert_eq!(
        h.client.get_access_token(options, &cx).await.unwrap().token,
        "api-token"
    );
    assert_eq!(
        h.provider.token_requests(),
        requests,
        "the stored token is reused"
    );
}

#[tokio::test]
async fn a_refresh_answered_429_then_200_succeeds() {
    let (h, cx) = logged_in().await;
    let before = h.provider.token_requests();
    h.provider.push_token(
        429,
        &[("retry-after", "1")],
        json!({"error": "too_many_requests"}),
    );
    h.provider.push_token(200, &[], refreshed("after-429"));
    let started = std::time::Instant::now();
    let token = h.client.get_access_token(forced(), &cx).await.unwrap();
    assert_eq!(token.token, "after-429");
    assert_eq!(h.provider.token_requests() - before, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
}

#[tokio::test]
async fn retries_on_5xx_are_bounded() {
    let (h, cx) = logged_in().await;
    let before = h.provider.token_requests();
    for _ in 0..10 {
        h.provider
            .push_token(503, &[], json!({"error": "temporarily_unavailable"}));
    }
    let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
    assert_eq!(err.code(), "failed_to_refresh_token");
    assert_eq!(
        h.provider.token_requests() - before,
        4,
        "the first attempt and 3 retries"
    );
}

#[tokio::test]
async fn a_refresh_answered_500_is_not_sent_again() {
    // The provider may have rotated the refresh token before failing: sending the old one
    // again would look like reuse and revoke the user's whole token family.
    let (h, cx) = logged_in().await;
    let before = h.provider.token_requests();
    h.provider
        .push_token(500, &[], json!({"error": "server_error"}));
    h.provider
        .push_token(200, &[], refreshed("never-asked-for"));
    let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
    assert_eq!(err.code(), "failed_to_refresh_token");
    assert_eq!(h.provider.token_requests() - before, 1, "sent once");
    let session = h.client.get_session(&cx).await.unwrap().unwrap();
    assert!(
        session.refresh_token.is_some(),
        "the session keeps its refresh token"
    );
}

#[tokio::test]
async fn mfa_required_is_its_own_error() {
    let (h, cx) = logged_in().await;
    h.provider.push_token(403, &[], json!({"error": "mfa_required", "error_description": "Multifactor authentication required", "mfa_token": "m"}));
    let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
    assert!(matches!(err, Error::MfaRequired { .. }), "{err:?}");
    assert_eq!(err.code(), "mfa_required");
}

#[tokio::test]
async fn no_session_and_no_refresh_token_are_their_own_errors() {
    let h = Harness::start().await;
    let err = h
        .client
        .get_access_token(AccessTokenOptions::default(), &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "missing_session");

    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at", "id_token": h.key.sign(&h.claims(&q["nonce"], json!({})), &json!({})), "expires_in": 3600}),
    );
    h.complete(
        &format!("http://localhost:5000/callback?code=c&state={}", q["state"]),
        &cx,
    )
    .await
    .unwrap();
    let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
    assert_eq!(err.code(), "missing_refresh_token");
    assert!(err.to_string().contains("offline_access"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_calls_make_one_refresh() {
    // A login whose access token is inside the refresh margin: every call needs a new one.
    let h = Harness::start_with(|b| b.refresh_margin(Duration::from_secs(30))).await;
    let cx = StoreContext::new();
    let q = h.start_login(&cx).await;
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "about-to-expire", "refresh_token": "rt-1", "expires_in": 10,
               "id_token": h.key.sign(&h.claims(&q["nonce"], json!({})), &json!({}))}),
    );
    h.complete(
        &format!("http://localhost:5000/callback?code=c&state={}", q["state"]),
        &cx,
    )
    .await
    .unwrap();
    let h = Arc::new(h);
    let before = h.provider.token_requests();
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "shared", "refresh_token": "rt-2", "expires_in": 3600}),
    );
    let cookies = cx.cookies();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let h = h.clone();
        let cookies = cookies.clone();
        tasks.push(tokio::spawn(async move {
            let cx = StoreContext::from_cookies(cookies);
            h.client
                .get_access_token(AccessTokenOptions::default(), &cx)
                .await
        }));
    }
    let barrier_started = std::time::Instant::now();
    for task in tasks {
        let token = task.await.unwrap().unwrap();
        assert_eq!(token.token, "shared");
    }
    assert!(barrier_started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        h.provider.token_requests() - before,
        1,
        "one refresh for a hundred calls"
    );
    let session = h
        .client
        .get_session(&StoreContext::from_cookies(cookies))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.refresh_token.as_deref(), Some("rt-2"));
    assert_eq!(
        session
            .token_sets
            .iter()
            .filter(|t| t.access_token == "shared")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_request_with_stale_cookies_never_sends_a_used_refresh_token_again() {
    use auth0_store_cookie::{CookieStateStore, CookieTransactionStore};
    let secrets = auth0_server_core::Secrets::parse(SECRET).unwrap();
    // Cookie sessions: a request the browser sent before the refreshed cookies arrived still
    // carries the old refresh token. A two-hour margin makes every stored token "expiring".
    let h = Harness::start_with(|b| {
        b.refresh_margin(Duration::from_secs(7200))
            .state_store(Arc::new(CookieStateStore::new(secrets.clone())))
            .transaction_store(Arc::new(CookieTransactionStore::new(secrets.clone())))
    })
    .await;
    let cx = StoreContext::new();
    h.login_with_claims(json!({}), &cx).await.unwrap();
    let old_cookies = cx.cookies();
    let before = h.provider.token_requests();
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600}),
    );
    let first = StoreContext::from_cookies(old_cookies.clone());
    let token = h
        .client
        .get_access_token(AccessTokenOptions::default(), &first)
        .await
        .unwrap();
    assert_eq!(token.token, "at-2");
    assert_eq!(h.provider.token_requests() - before, 1);

    // Later, a request with the cookies from before the refresh.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stale = StoreContext::from_cookies(old_cookies);
    let token = h
        .client
        .get_access_token(AccessTokenOptions::default(), &stale)
        .await
        .unwrap();
    assert_eq!(token.token, "at-2", "the refresh that used rt-1 is reused");
    assert_eq!(
        h.provider.token_requests() - before,
        1,
        "rt-1 was not sent again"
    );
    let forms = h.provider.state.forms.lock().unwrap().clone();
    assert_eq!(
        forms
            .iter()
            .filter(|f| f.get("refresh_token").map(String::as_str) == Some("rt-1"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_huge_expires_in_is_capped_at_thirty_days_instead_of_overflowing() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let query = h.start_login(&cx).await;
    let id_token = h
        .key
        .sign(&h.claims(&query["nonce"], json!({})), &json!({}));
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-1", "id_token": id_token, "refresh_token": "rt-1",
               "expires_in": u64::MAX, "token_type": "Bearer"}),
    );
    let callback = format!(
        "http://localhost:5000/callback?code=code-1&state={}",
        query["state"]
    );
    h.complete(&callback, &cx).await.unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    let token = h
        .client
        .get_access_token(AccessTokenOptions::default(), &cx)
        .await
        .unwrap();
    let thirty_days = 30 * 24 * 3600;
    let capped = |expires_at: u64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        expires_at > now + thirty_days - 60 && expires_at <= now + thirty_days
    };
    assert!(
        capped(token.expires_at),
        "capped, not wrapped: {}",
        token.expires_at
    );

    // A refresh with an absurd lifetime (a float past u64) is capped too.
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-2", "expires_in": 1.0e30}),
    );
    let token = h.client.get_access_token(forced(), &cx).await.unwrap();
    assert_eq!(token.token, "at-2");
    assert!(capped(token.expires_at), "{}", token.expires_at);
}

#[tokio::test]
async fn a_refreshed_id_token_for_another_sub_is_refused_and_the_session_kept() {
    let (h, cx) = logged_in().await;
    let before = h.client.get_session(&cx).await.unwrap().unwrap();
    let other = h.key.sign(
        &h.claims(
            "",
            json!({"nonce": null, "sub": "auth0|mallory", "name": "Mallory"}),
        ),
        &json!({}),
    );
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-mallory", "refresh_token": "rt-mallory", "id_token": other,
               "expires_in": 3600}),
    );
    let err = h.client.get_access_token(forced(), &cx).await.unwrap_err();
    assert!(
        matches!(err, Error::RefreshSubjectMismatch),
        "expected a subject mismatch, got {err:?}"
    );
    assert_eq!(err.code(), "refresh_subject_mismatch");

    let next = StoreContext::from_cookies(cx.cookies());
    let after = h.client.get_session(&next).await.unwrap().unwrap();
    assert_eq!(after, before, "the session keeps its old tokens and user");
    let token = h
        .client
        .get_access_token(AccessTokenOptions::default(), &next)
        .await
        .unwrap();
    assert_eq!(token.token, "at-1");
}

#[tokio::test]
async fn a_refreshed_id_token_for_the_same_sub_updates_the_user() {
    let (h, cx) = logged_in().await;
    let same = h.key.sign(
        &h.claims("", json!({"nonce": null, "name": "Ada L."})),
        &json!({}),
    );
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-2", "id_token": same, "expires_in": 3600}),
    );
    h.client.get_access_token(forced(), &cx).await.unwrap();
    let user = h.client.get_user(&cx).await.unwrap().unwrap();
    assert_eq!(user.name.as_deref(), Some("Ada L."));
}

/// A session logged in to the organization `org_A`, refreshed once with an ID token whose
/// claims are changed by `overrides`: the refresh's result, and whether the stored session
/// is unchanged afterwards.
async fn refresh_in_org(mut overrides: serde_json::Value) -> (Result<String, Error>, bool) {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let org = json!({"org_id": "org_A", "org_name": "acme"});
    h.login_with_claims(org, &cx).await.unwrap();
    let cx = StoreContext::from_cookies(cx.cookies());
    let before = h.client.get_session(&cx).await.unwrap().unwrap();
    overrides["nonce"] = json!(null);
    let id_token = h.key.sign(&h.claims("", overrides), &json!({}));
    h.provider.push_token(
        200,
        &[],
        json!({"access_token": "at-other", "refresh_token": "rt-other",
               "id_token": id_token, "expires_in": 3600}),
    );
    let result = h.client.get_access_token(forced(), &cx).await;
    let after = h.client.get_session(&cx).await.unwrap().unwrap();
    (result.map(|t| t.token), after == before)
}

#[tokio::test]
async fn a_refreshed_id_token_for_another_or_no_organization_is_refused_and_the_session_kept() {
    for other in [
        json!({"org_id": "org_B", "org_name": "acme"}),
        json!({"org_id": null, "org_name": null}),
        json!({"org_id": null, "org_name": "acme"}),
    ] {
        let (result, unchanged) = refresh_in_org(other.clone()).await;
        assert!(
            matches!(result, Err(Error::OrganizationMismatch(_))),
            "{other}: {result:?}"
        );
        assert!(unchanged, "{other}: the session keeps its tokens and user");
    }
    let (result, unchanged) = refresh_in_org(json!({"org_id": "org_A"})).await;
    assert_eq!(
        result.unwrap(),
        "at-other",
        "the same organization refreshes"
    );
    assert!(!unchanged, "and the refreshed tokens are saved");
}
