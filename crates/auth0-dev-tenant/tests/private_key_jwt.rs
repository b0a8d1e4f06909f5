//! `private_key_jwt`: an application registered with its public key logs in and refreshes
//! with client assertions (RS256, PS256, ES256), needs no client secret, and every assertion
//! that is not its own, not for this tenant, expired or replayed is `invalid_client` with a
//! description that says why.

use auth0_test_support::dev_tenant as support;

use std::sync::atomic::{AtomicU64, Ordering};

use auth0_server_core::client::{AccessTokenOptions, Error, StartLoginOptions};
use josekit::jwk::KeyPair as _;
use josekit::jws::{ES256, JwsHeader, JwsSigner, RS256};
use josekit::jwt::JwtPayload;
use serde_json::{Value, json};
use support::*;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An RSA key (fits RS256 and PS256): the private key as a PKCS#8 PEM, the public one as a
/// PEM.
fn rsa_pems() -> (String, String) {
    let mut pair = RS256.generate_key_pair(2048).unwrap();
    pair.set_algorithm(None);
    (
        String::from_utf8(pair.to_pem_private_key()).unwrap(),
        String::from_utf8(pair.to_pem_public_key()).unwrap(),
    )
}

/// A tenant with the application's public key, and an app signing with `private` (`alg`).
async fn setup(public: &str, private: &str, alg: &str) -> Setup {
    let (public, private, alg) = (public.to_owned(), private.to_owned(), alg.to_owned());
    Setup::start_with(
        |t| t.client_public_key(public),
        |c| {
            c.client_assertion_signing_key(private)
                .client_assertion_signing_alg(alg)
        },
    )
    .await
}

async fn login_and_refresh(setup: &Setup) {
    assert_eq!(
        setup.client.config().client_authentication_method(),
        "private_key_jwt"
    );
    let (done, cx, _) = setup.login(&Browser::new(&setup.tenant)).await;
    assert_eq!(done.user.email.as_deref(), Some(EMAIL));
    let options = AccessTokenOptions {
        force_refresh: true,
        ..AccessTokenOptions::default()
    };
    setup.client.get_access_token(options, &cx).await.unwrap();
    // The revocation endpoint takes the client's assertion too (a refused one is
    // `ClientAuthentication`, not `true`).
    assert!(setup.client.revoke_refresh_token(&cx).await.unwrap());
}

#[tokio::test]
async fn rs256_and_ps256_with_an_rsa_pem_log_in_and_refresh() {
    let (private, public) = rsa_pems();
    for alg in ["RS256", "PS256"] {
        login_and_refresh(&setup(&public, &private, alg).await).await;
    }
}

#[tokio::test]
async fn es256_with_a_jwk_logs_in_and_refreshes() {
    let pair = ES256.generate_key_pair().unwrap();
    let (mut private, mut public) = (pair.to_jwk_private_key(), pair.to_jwk_public_key());
    private.set_key_id("k1");
    public.set_key_id("k1");
    let setup = setup(&public.to_string(), &private.to_string(), "ES256").await;
    login_and_refresh(&setup).await;
}

#[tokio::test]
async fn another_key_is_refused_with_invalid_client() {
    let ((_, public), (other, _)) = (rsa_pems(), rsa_pems());
    let setup = setup(&public, &other, "RS256").await;
    let (url, cx) = setup.start_login(StartLoginOptions::default()).await;
    let (callback, _) = Browser::new(&setup.tenant).authorize(url).await;
    let err = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap_err();
    match &err {
        Error::ClientAuthentication {
            method,
            description,
            status,
        } => {
            assert_eq!((*method, *status), ("private_key_jwt", 401));
            let description = description.as_deref().unwrap_or_default();
            assert!(
                description.contains("public key registered"),
                "{description}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A client assertion made by hand with `claims` over the defaults (a `null` drops one).
fn assertion(setup: &Setup, signer: &dyn JwsSigner, claims: Value) -> String {
    let payload = assertion_payload(setup, claims);
    josekit::jwt::encode_with_signer(&payload, &JwsHeader::new(), signer).unwrap()
}

/// The claims of a client assertion: the defaults, with `claims` over them.
fn assertion_payload(setup: &Setup, claims: Value) -> JwtPayload {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut all = json!({
        "iss": setup.tenant.client_id(), "sub": setup.tenant.client_id(),
        "aud": setup.tenant.issuer(), "iat": now, "exp": now + 60,
        "jti": unique_jti(),
    });
    let all = all.as_object_mut().unwrap();
    for (k, v) in claims.as_object().unwrap() {
        if v.is_null() {
            all.remove(k);
        } else {
            all.insert(k.clone(), v.clone());
        }
    }
    JwtPayload::from_map(all.clone()).unwrap()
}

/// A `jti` no other assertion of this run has.
fn unique_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A token request authenticated by `assertion` (a code that does not exist: a request whose
/// client got in fails with invalid_grant instead).
async fn with_assertion(setup: &Setup, assertion: &str) -> (u16, String, String) {
    let (status, body, _) = token_request(
        &setup.tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("redirect_uri", &setup.callback()),
            ("code_verifier", VERIFIER),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
        None,
    )
    .await;
    (
        status.as_u16(),
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn assertions_not_for_this_client_and_tenant_or_replayed_are_refused() {
    let (private, public) = rsa_pems();
    let setup = setup(&public, &private, "RS256").await;
    let signer = RS256.signer_from_pem(&private).unwrap();
    let good = assertion(&setup, &signer, json!({}));
    assert_eq!(
        with_assertion(&setup, &good).await.1,
        "invalid_grant",
        "a good assertion lets the client in"
    );
    let cases = [
        (good.clone(), "already used"),
        (
            assertion(
                &setup,
                &signer,
                json!({"aud": "https://elsewhere.example/"}),
            ),
            "aud",
        ),
        (
            assertion(&setup, &signer, json!({"iss": "someone-else"})),
            "iss and sub",
        ),
        (assertion(&setup, &signer, json!({"exp": 1_000})), "expired"),
        (
            assertion(&setup, &signer, json!({"exp": 99_999_999_999u64})),
            "too long",
        ),
        (assertion(&setup, &signer, json!({"jti": ""})), "jti"),
    ];
    for (token, says) in cases {
        let (status, error, description) = with_assertion(&setup, &token).await;
        assert_eq!((status, error.as_str()), (401, "invalid_client"), "{says}");
        assert!(description.contains(says), "{says}: {description}");
    }
}

#[tokio::test]
async fn unsigned_hmac_and_incomplete_assertions_are_refused() {
    let (private, public) = rsa_pems();
    let setup = setup(&public, &private, "RS256").await;
    let signer = RS256.signer_from_pem(&private).unwrap();
    let unsigned =
        josekit::jwt::encode_unsecured(&assertion_payload(&setup, json!({})), &JwsHeader::new())
            .unwrap();
    // The registered public key's PEM as an HMAC secret (the RS256/HS256 confusion).
    let hmac = josekit::jws::HS256
        .signer_from_bytes(public.as_bytes())
        .unwrap();
    let cases = [
        (unsigned, "signed with the public key registered"),
        (
            assertion(&setup, &hmac, json!({})),
            "signed with the public key registered",
        ),
        (
            assertion(&setup, &signer, json!({"exp": null})),
            "needs an exp",
        ),
        (
            assertion(&setup, &signer, json!({"jti": null})),
            "needs a jti",
        ),
    ];
    for (token, says) in cases {
        let (status, error, description) = with_assertion(&setup, &token).await;
        assert_eq!((status, error.as_str()), (401, "invalid_client"), "{says}");
        assert!(description.contains(says), "{says}: {description}");
    }
}

#[tokio::test]
async fn a_client_with_a_public_key_cannot_use_its_secret_and_one_without_cannot_sign() {
    let (private, public) = rsa_pems();
    let setup = setup(&public, &private, "RS256").await;
    let creds = Some((setup.tenant.client_id(), setup.tenant.client_secret()));
    let (status, body, _) = token_request(
        &setup.tenant,
        &[("grant_type", "authorization_code")],
        creds,
    )
    .await;
    assert_eq!(
        (status.as_u16(), &body["error"]),
        (401, &json!("invalid_client"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("private_key_jwt"),
        "{body}"
    );

    let plain = Setup::start().await;
    let signer = RS256.signer_from_pem(&private).unwrap();
    let (status, error, description) =
        with_assertion(&plain, &assertion(&plain, &signer, json!({}))).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"));
    assert!(
        description.contains("no public key registered"),
        "{description}"
    );
}

#[tokio::test]
async fn discovery_lists_private_key_jwt_and_its_algorithms() {
    let setup = Setup::start().await;
    let discovery: Value = http_client()
        .get(format!(
            "{}.well-known/openid-configuration",
            setup.tenant.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        discovery["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt"))
    );
    assert_eq!(
        discovery["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "PS256", "ES256"])
    );
}
