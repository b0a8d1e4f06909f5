//! Organizations and Rich Authorization Requests end to end against the real OpenID provider
//! (`tests/e2e/oidc-provider/provider.mjs`: its "Organizations" block puts `org_id` and
//! `org_name` into the tokens of a login that asked for one of its organizations, and RAR is
//! on with the made-up type `payment_initiation`). Started as `oidc_provider.rs` says.

use auth0_test_support::oidc;

use std::sync::Arc;

use auth0_server_core::Secrets;
use auth0_server_core::client::{
    AccessTokenOptions, Error, LoginResult, ServerClient, ServerClientBuilder, StartLoginOptions,
};
use auth0_server_core::store::{ServerSideStateStore, StoreContext};
use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
use serde_json::json;
use url::Url;

use oidc::{Browser, LOGIN, Provider};

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes-for-e2e";
/// An organization of provider.mjs, and another.
const ACME: (&str, &str) = ("org_acme123", "acme");
const OTHER: &str = "org_other456";

fn api(test: &str) -> String {
    format!("https://api.example.com/{test}")
}

/// A client registered at the provider, with memory stores.
async fn client(
    provider: &Provider,
    name: &str,
    configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
) -> ServerClient {
    // Nothing listens there: the browser stops at the callback and hands it to the SDK.
    let base = Url::parse("http://127.0.0.1:9/").unwrap();
    let (client_id, client_secret) = provider.register(&base, name, "logged-out").await;
    let secrets = Secrets::parse(SECRET).unwrap();
    let builder = ServerClient::builder()
        .domain(provider.issuer.clone())
        .client_id(client_id)
        .client_secret(client_secret)
        .secret(SECRET)
        .redirect_uri(base.join("callback").unwrap().to_string())
        .scope("openid profile email offline_access read:messages")
        .state_store(Arc::new(ServerSideStateStore::new(
            MemoryBackend::new(),
            &secrets,
        )))
        .transaction_store(Arc::new(
            MemoryTransactionBackend::new().transaction_store(),
        ));
    configure(builder).build().unwrap()
}

fn options(audience: &str) -> StartLoginOptions {
    let mut options = StartLoginOptions {
        audience: Some(audience.to_owned()),
        ..StartLoginOptions::default()
    };
    options
        .authorization_params
        .insert("prompt".into(), "consent".into());
    options
}

/// A login with `options`; `tamper` may change the authorization URL on its way.
async fn login(
    provider: &Provider,
    client: &ServerClient,
    options: StartLoginOptions,
    tamper: impl FnOnce(Url) -> Url,
) -> (Result<LoginResult, Error>, StoreContext) {
    let cx = StoreContext::new();
    let url = client.start_interactive_login(options, &cx).await.unwrap();
    let navigation = Browser::new(provider).navigate(tamper(url)).await;
    let done = client
        .complete_interactive_login(navigation.left_at.as_str(), &cx)
        .await;
    (done, StoreContext::from_cookies(cx.cookies()))
}

fn refresh(audience: &str) -> AccessTokenOptions {
    AccessTokenOptions {
        audience: Some(audience.to_owned()),
        force_refresh: true,
        ..AccessTokenOptions::default()
    }
}

#[tokio::test]
async fn an_organization_login_with_a_real_provider_exposes_its_organization() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let audience = api("organization");
    let client = client(&provider, "organization", |b| b).await;
    let mut options = options(&audience);
    options.organization = Some(ACME.0.to_owned());
    let (done, cx) = login(&provider, &client, options, |u| u).await;
    let done = done.unwrap();
    assert_eq!(done.user.sub, LOGIN);
    let org = done.organization.expect("the organization of the login");
    assert_eq!(
        (org.id.as_str(), org.name.as_deref()),
        (ACME.0, Some(ACME.1))
    );
    let session = client.get_session(&cx).await.unwrap().unwrap();
    assert_eq!(session.organization(), Some(org));
    // The access tokens of the grant carry it, the refreshed ones too.
    let token = client
        .get_access_token(refresh(&audience), &cx)
        .await
        .unwrap();
    let (_, claims) = provider.verified_claims(&token.token).await;
    assert_eq!(claims["org_id"], ACME.0);
}

#[tokio::test]
async fn an_organization_by_name_pinned_on_the_client_is_checked_with_a_real_provider() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let client = client(&provider, "organization by name", |b| {
        b.organization("Acme")
    })
    .await;
    let (done, _) = login(&provider, &client, options(&api("org-name")), |u| u).await;
    assert_eq!(done.unwrap().organization.unwrap().id, ACME.0);
}

#[tokio::test]
async fn a_token_of_another_organization_from_a_real_provider_is_refused() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let client = client(&provider, "organization mismatch", |b| {
        b.organization(ACME.0)
    })
    .await;
    // The organization changed in the authorization URL: the provider logs the user in to
    // the other one, and the SDK refuses its ID token.
    let tamper = |url: Url| Url::parse(&url.as_str().replace(ACME.0, OTHER)).unwrap();
    let (done, cx) = login(&provider, &client, options(&api("org-mismatch")), tamper).await;
    let err = done.unwrap_err();
    assert!(matches!(err, Error::OrganizationMismatch(_)), "{err:?}");
    assert!(err.to_string().contains(OTHER), "{err}");
    assert!(client.get_user(&cx).await.unwrap().is_none());
}

async fn authorization_details_round_trip(provider: &Provider, par: bool) {
    let audience = api(if par { "rar-par" } else { "rar" });
    let details = json!([{"type": "payment_initiation", "amount": "10.00", "creditor": "Ada"}]);
    let name = if par { "RAR by PAR" } else { "RAR" };
    let client = client(provider, name, |b| b.pushed_authorization_requests(par)).await;
    let mut options = options(&audience);
    options
        .authorization_params
        .insert("authorization_details".into(), details.clone().into());
    let (done, cx) = login(provider, &client, options, |u| u).await;
    let done = done.unwrap();
    assert_eq!(
        done.authorization_details,
        Some(details.clone()),
        "PAR: {par}"
    );
    let stored = client
        .get_access_token(
            AccessTokenOptions {
                audience: Some(audience.clone()),
                ..AccessTokenOptions::default()
            },
            &cx,
        )
        .await
        .unwrap();
    assert_eq!(stored.authorization_details, Some(details.clone()));
    let refreshed = client
        .get_access_token(refresh(&audience), &cx)
        .await
        .unwrap();
    assert_ne!(refreshed.token, stored.token);
    assert_eq!(refreshed.authorization_details, Some(details.clone()));
    let (_, claims) = provider.verified_claims(&refreshed.token).await;
    assert_eq!(claims["authorization_details"], details);
}

#[tokio::test]
async fn authorization_details_round_trip_through_a_real_provider() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    authorization_details_round_trip(&provider, false).await;
    authorization_details_round_trip(&provider, true).await;
}

#[tokio::test]
async fn authorization_details_a_real_provider_refuses_are_an_authorization_error() {
    let Some(provider) = Provider::from_env() else {
        return;
    };
    let client = client(&provider, "RAR refused", |b| b).await;
    let mut options = options(&api("rar-refused"));
    options.authorization_params.insert(
        "authorization_details".into(),
        json!([{"type": "payment_initiation", "amount": 10}]).into(),
    );
    let cx = StoreContext::new();
    let url = client.start_interactive_login(options, &cx).await.unwrap();
    let back = Browser::new(&provider).navigate(url).await.left_at;
    let err = client
        .complete_interactive_login(back.as_str(), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Authorization { error, .. } if error == "invalid_authorization_details"),
        "{err:?}"
    );
}
