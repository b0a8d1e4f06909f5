//! Revoking the session's refresh token (`ServerClient::revoke_refresh_token`) at the dev
//! tenant's `/oauth/revoke`: the token is refused at the token endpoint afterwards, the
//! session stays without it, and a request without one revokes nothing. With
//! `private_key_jwt`, the revocation request carries a client assertion
//! (tests/private_key_jwt.rs).

use auth0_test_support::dev_tenant as support;

use auth0_server_core::client::{AccessTokenOptions, Error};
use auth0_server_core::store::StoreContext;
use support::*;

#[tokio::test]
async fn a_revoked_refresh_token_is_refused_everywhere_and_the_session_stays() {
    let setup = Setup::start().await;
    let (_, cx, _) = setup.login(&Browser::new(&setup.tenant)).await;
    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    let token = session.refresh_token.expect("offline_access gave one");

    assert!(setup.client.revoke_refresh_token(&cx).await.unwrap());
    let cx = StoreContext::from_cookies(cx.cookies());
    let session = setup.client.get_session(&cx).await.unwrap();
    let session = session.expect("the session stays");
    assert!(session.refresh_token.is_none(), "dropped from the session");
    let forced = AccessTokenOptions {
        force_refresh: true,
        ..AccessTokenOptions::default()
    };
    let refresh = setup.client.get_access_token(forced, &cx).await;
    assert!(
        matches!(refresh, Err(Error::MissingRefreshToken)),
        "{refresh:?}"
    );
    // A copy of the token (a stolen one) is refused at the provider.
    let (status, body, _) = token_request(
        &setup.tenant,
        &[("grant_type", "refresh_token"), ("refresh_token", &token)],
        Some((setup.tenant.client_id(), setup.tenant.client_secret())),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Nothing left to revoke; nothing without a session.
    assert!(!setup.client.revoke_refresh_token(&cx).await.unwrap());
    let anonymous = StoreContext::new();
    assert!(!setup.client.revoke_refresh_token(&anonymous).await.unwrap());
}
