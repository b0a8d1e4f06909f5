//! The ID-token validation matrix: tokens forged in the test, through the whole callback.

mod support;

use auth0_server_core::client::Error;
use auth0_server_core::store::StoreContext;
use josekit::jws::HS256;
use serde_json::json;
use support::*;

fn assert_refused(result: Result<auth0_server_core::client::LoginResult, Error>, contains: &str) {
    match result {
        Err(Error::InvalidIdToken(reason)) => {
            assert!(
                reason.contains(contains),
                "refused, but for {reason:?}, not {contains:?}"
            )
        }
        other => panic!("expected the ID token to be refused ({contains}), got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_id_token_logs_the_user_in() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let done = h.login_with_claims(json!({}), &cx).await.unwrap();
    assert_eq!(done.user.sub, "auth0|user-1");
    assert!(
        done.user.extra.get("nonce").is_none(),
        "protocol claims are not profile claims"
    );
    let user = h.client.get_user(&cx).await.unwrap().unwrap();
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    assert_eq!(h.backend.len(), 1);
}

#[tokio::test]
async fn id_token_with_alg_none_is_refused() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let result = h
        .login_with(
            |nonce| {
                raw_jwt(
                    &json!({"alg": "none", "kid": "key-1"}),
                    &h.claims(nonce, json!({})),
                    b"",
                )
            },
            &cx,
        )
        .await;
    assert_refused(result, "none");
    assert!(h.backend.is_empty(), "no session for a refused login");
}

#[tokio::test]
async fn id_token_hs256_signed_with_the_public_key_is_refused() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let public_bytes = serde_json::to_vec(h.key.public.as_ref()).unwrap();
    let result = h
        .login_with(
            |nonce| {
                let signer = HS256.signer_from_bytes(&public_bytes).unwrap();
                let mut header = josekit::jws::JwsHeader::new();
                header.set_key_id("key-1");
                let payload =
                    josekit::jwt::JwtPayload::from_map(as_map(h.claims(nonce, json!({})))).unwrap();
                josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
            },
            &cx,
        )
        .await;
    assert_refused(result, "HS256");
}

#[tokio::test]
async fn id_token_from_another_issuer_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(
            json!({"iss": "https://evil.example/"}),
            &StoreContext::new(),
        )
        .await;
    assert_refused(result, "issuer");
}

#[tokio::test]
async fn id_token_for_another_audience_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(json!({"aud": "another-client"}), &StoreContext::new())
        .await;
    assert_refused(result, "audience");
}

#[tokio::test]
async fn id_token_with_several_audiences_and_no_azp_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(json!({"aud": [CLIENT_ID, "api"]}), &StoreContext::new())
        .await;
    assert_refused(result, "azp");
}

#[tokio::test]
async fn id_token_with_several_audiences_and_our_azp_is_accepted() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(
            json!({"aud": [CLIENT_ID, "api"], "azp": CLIENT_ID}),
            &StoreContext::new(),
        )
        .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn id_token_with_a_foreign_azp_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(json!({"azp": "another-client"}), &StoreContext::new())
        .await;
    assert_refused(result, "authorized party");
}

#[tokio::test]
async fn id_token_with_a_wrong_nonce_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(json!({"nonce": "not-the-nonce"}), &StoreContext::new())
        .await;
    assert_refused(result, "nonce");
}

#[tokio::test]
async fn id_token_without_a_nonce_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(json!({"nonce": null}), &StoreContext::new())
        .await;
    assert_refused(result, "nonce");
}

#[tokio::test]
async fn id_token_expired_past_the_leeway_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(
            json!({"exp": now() - 61, "iat": now() - 3600}),
            &StoreContext::new(),
        )
        .await;
    assert_refused(result, "expired");
}

#[tokio::test]
async fn id_token_expired_inside_the_leeway_is_accepted() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(
            json!({"exp": now() - 30, "iat": now() - 3600}),
            &StoreContext::new(),
        )
        .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn id_token_not_valid_yet_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(json!({"nbf": now() + 300}), &StoreContext::new())
        .await;
    assert_refused(result, "not valid before");
}

#[tokio::test]
async fn id_token_issued_in_the_future_is_refused() {
    let h = Harness::start().await;
    let result = h
        .login_with_claims(json!({"iat": now() + 300}), &StoreContext::new())
        .await;
    assert_refused(result, "future");
}

#[tokio::test]
async fn id_token_without_exp_or_sub_is_refused() {
    let h = Harness::start().await;
    assert_refused(
        h.login_with_claims(json!({"exp": null}), &StoreContext::new())
            .await,
        "exp",
    );
    assert_refused(
        h.login_with_claims(json!({"sub": null}), &StoreContext::new())
            .await,
        "sub",
    );
}

#[tokio::test]
async fn id_token_with_a_bad_signature_is_refused() {
    let h = Harness::start().await;
    let other = TestKey::generate("key-1");
    let result = h
        .login_with(
            |nonce| other.sign(&h.claims(nonce, json!({})), &json!({})),
            &StoreContext::new(),
        )
        .await;
    assert_refused(result, "signature");
}

#[tokio::test]
async fn malformed_id_tokens_are_refused() {
    let h = Harness::start().await;
    for garbage in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        "eyJhbGciOiJSUzI1NiJ9.e30",
    ] {
        let result = h
            .login_with(|_| garbage.to_owned(), &StoreContext::new())
            .await;
        assert!(
            matches!(result, Err(Error::InvalidIdToken(_))),
            "{garbage:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn unknown_kid_refetches_the_keys_once_then_fails_cleanly() {
    let h = Harness::start().await;
    let stranger = TestKey::generate("unknown-kid");
    let result = h
        .login_with(
            |nonce| stranger.sign(&h.claims(nonce, json!({})), &json!({})),
            &StoreContext::new(),
        )
        .await;
    assert_refused(result, "unknown-kid");
    assert_eq!(
        h.provider.jwks_fetches(),
        2,
        "one fetch, then one refetch for the unknown kid"
    );

    // Within the cooldown, more forged kids cause no more fetches.
    for _ in 0..5 {
        let forged = TestKey::generate("forged");
        let result = h
            .login_with(
                |nonce| forged.sign(&h.claims(nonce, json!({})), &json!({})),
                &StoreContext::new(),
            )
            .await;
        assert!(result.is_err());
    }
    assert_eq!(
        h.provider.jwks_fetches(),
        2,
        "forged kids must not hammer the provider"
    );
}

#[tokio::test]
async fn a_key_rotated_in_at_the_provider_is_found_by_one_refetch() {
    let h = Harness::start().await;
    h.login_with_claims(json!({}), &StoreContext::new())
        .await
        .unwrap();
    assert_eq!(h.provider.jwks_fetches(), 1);
    let rotated = TestKey::generate("key-2");
    h.provider
        .state
        .keys
        .lock()
        .unwrap()
        .push(rotated.public.clone());
    let result = h
        .login_with(
            |nonce| rotated.sign(&h.claims(nonce, json!({})), &json!({})),
            &StoreContext::new(),
        )
        .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(h.provider.jwks_fetches(), 2);
}

#[tokio::test]
async fn keys_and_discovery_are_cached() {
    let h = Harness::start().await;
    for _ in 0..3 {
        h.login_with_claims(json!({}), &StoreContext::new())
            .await
            .unwrap();
    }
    assert_eq!(h.provider.jwks_fetches(), 1);
}

#[tokio::test]
async fn a_string_email_verified_and_other_odd_profile_claims_still_log_in() {
    let h = Harness::start().await;
    let cx = StoreContext::new();
    let odd = json!({"email_verified": "true", "name": 5, "updated_at": {}, "picture": ["a"]});
    let done = h.login_with_claims(odd, &cx).await.unwrap();
    assert_eq!(done.user.sub, "auth0|user-1");
    assert_eq!(done.user.email_verified, None);
    assert_eq!(done.user.name, None);

    let user = h
        .client
        .get_user(&StoreContext::from_cookies(cx.cookies()))
        .await
        .unwrap()
        .expect("logged in");
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    assert_eq!(user.extra["email_verified"], "true", "kept as sent");
    assert_eq!(user.extra["name"], 5);
    assert_eq!(user.extra["updated_at"], json!({}));
    assert_eq!(user.extra["picture"], json!(["a"]));
}
