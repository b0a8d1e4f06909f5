//! The dev tenant logs in anyone, so its router answers this machine only, however it is
//! served: its own server, or nested in an app's router.

use std::net::SocketAddr;

use auth0_dev_tenant::{DevTenant, DevTenantConfig};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

fn request(path: &str, peer: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).body(Body::empty()).unwrap();
    if let Some(peer) = peer {
        let peer: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    request
}

#[tokio::test]
async fn a_peer_on_another_machine_is_refused_however_the_router_is_mounted() {
    let tenant = DevTenant::new(
        DevTenantConfig::default(),
        "http://127.0.0.1:5000/dev-tenant",
    )
    .unwrap();
    let apps = [
        ("alone", tenant.router(), ""),
        (
            "nested",
            axum::Router::new().nest("/dev-tenant", tenant.router()),
            "/dev-tenant",
        ),
        (
            "merged",
            axum::Router::new()
                .route("/app", axum::routing::get(|| async { "the app" }))
                .merge(tenant.router()),
            "",
        ),
    ];
    for (how, app, base) in apps {
        let discovery = format!("{base}/.well-known/openid-configuration");
        for local in ["127.0.0.1:40000", "[::1]:40000", "[::ffff:127.0.0.1]:40000"] {
            let answer = app
                .clone()
                .oneshot(request(&discovery, Some(local)))
                .await
                .unwrap();
            assert_eq!(
                answer.status(),
                StatusCode::OK,
                "{how}: {local} is this machine"
            );
        }
        for (path, peer) in [
            (discovery.as_str(), Some("192.0.2.7:40000")),
            (discovery.as_str(), Some("[2001:db8::7]:40000")),
            (
                &format!("{base}/authorize?client_id=x") as &str,
                Some("10.0.0.8:1234"),
            ),
            (
                &format!("{base}/no-such-page") as &str,
                Some("10.0.0.8:1234"),
            ),
            (discovery.as_str(), None),
        ] {
            let answer = app.clone().oneshot(request(path, peer)).await.unwrap();
            assert_eq!(
                answer.status(),
                StatusCode::FORBIDDEN,
                "{how}: {path} from {peer:?} must be refused"
            );
        }
    }
}
