//! Starting and stopping: loopback only, taken ports, shutdown, drop, embedding.

use auth0_test_support::dev_tenant as support;

use std::net::SocketAddr;
use std::time::Duration;

use auth0_dev_tenant::{DevTenant, DevTenantConfig, Error};
use support::*;

#[tokio::test]
async fn a_non_loopback_bind_address_is_refused() {
    for address in ["0.0.0.0:0", "[::]:0", "10.1.2.3:4000"] {
        let address: SocketAddr = address.parse().unwrap();
        let err = DevTenant::builder()
            .bind_address(address)
            .start()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::NonLoopbackAddress { address: a } if a == address),
            "{err:?}"
        );
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
    }
}

#[tokio::test]
async fn a_taken_port_is_a_bind_error() {
    let first = DevTenant::builder().start().await.unwrap();
    let err = DevTenant::builder()
        .port(first.local_addr().port())
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bind_failed", "{err}");
}

#[tokio::test]
async fn a_given_port_and_client_are_used() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let tenant = DevTenant::builder()
        .port(port)
        .client_id("my-app")
        .client_secret("my-secret")
        .start()
        .await
        .unwrap();
    assert_eq!(tenant.issuer(), format!("http://127.0.0.1:{port}/"));
    assert_eq!(tenant.domain(), format!("http://127.0.0.1:{port}"));
    assert_eq!(
        (tenant.client_id(), tenant.client_secret()),
        ("my-app", "my-secret")
    );
}

async fn answers(issuer: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    client
        .get(format!("{issuer}.well-known/openid-configuration"))
        .send()
        .await
        .is_ok()
}

async fn stops_answering(issuer: &str) -> bool {
    for _ in 0..50 {
        if !answers(issuer).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    auth0_server_core::tls::ensure_crypto_provider();
    let tenant = DevTenant::builder().start().await.unwrap();
    let issuer = tenant.issuer().to_owned();
    assert!(answers(&issuer).await);
    tenant.shutdown().await;
    assert!(!answers(&issuer).await);
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    auth0_server_core::tls::ensure_crypto_provider();
    let tenant = DevTenant::builder().start().await.unwrap();
    let issuer = tenant.issuer().to_owned();
    assert!(answers(&issuer).await);
    drop(tenant);
    assert!(stops_answering(&issuer).await);
}

#[tokio::test]
async fn the_router_can_be_nested_in_an_app_under_its_issuer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/dev-tenant", listener.local_addr().unwrap());
    let tenant = DevTenant::new(DevTenantConfig::default(), &issuer).unwrap();
    let app = axum::Router::new().nest("/dev-tenant", tenant.router());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let doc: serde_json::Value = http_client()
        .get(format!(
            "{}.well-known/openid-configuration",
            tenant.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], format!("{issuer}/"));
    assert_eq!(doc["token_endpoint"], format!("{issuer}/oauth/token"));

    let err = DevTenant::new(DevTenantConfig::default(), "https://tenant.auth0.com/").unwrap_err();
    assert_eq!(err.code(), "invalid_issuer");
}
