//! What the multiple-custom-domains tests of core and auth0-axum share: a provider that only
//! counts, the dev tenants standing for each site's custom domain, an inbox for the logout
//! tokens a tenant posts, and reading a login's callback.
//!
//! ```no_run
//! # async fn demo() {
//! use auth0_test_support::domains::{callback_on, counting_provider, tenant_for};
//!
//! let (issuer, hits) = counting_provider().await;
//! let tenant = tenant_for(&callback_on("http://127.0.0.1:5000", "shop.example.test"), None, None).await;
//! # let _ = (issuer, hits, tenant);
//! # }
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use auth0_dev_tenant::{DevTenant, RunningDevTenant};
use serde_json::json;
use url::Url;

/// A loopback server standing for a provider: it answers discovery as the issuer
/// `http://127.0.0.1:PORT`, nothing else, and counts every request it gets.
pub async fn counting_provider() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let (seen, base) = (hits.clone(), issuer.clone());
    let discovery = move || {
        seen.fetch_add(1, Ordering::SeqCst);
        let base = base.clone();
        async move {
            axum::Json(json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/oauth/token"),
                "jwks_uri": format!("{base}/.well-known/jwks.json"),
            }))
        }
    };
    let counted = hits.clone();
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(discovery),
        )
        .fallback(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { axum::http::StatusCode::NOT_FOUND }
        });
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (issuer, hits)
}

/// Where a login started under `host` comes back to: the app's redirect URI (`base`'s
/// `/callback`) on that site, with `base`'s port unless the site is listed with one.
pub fn callback_on(base: &str, host: &str) -> String {
    let port = Url::parse(base).unwrap().port().unwrap();
    match host.contains(':') {
        true => format!("http://{host}/callback"),
        false => format!("http://{host}:{port}/callback"),
    }
}

/// The `redirect_uri` an authorization URL carries.
pub fn redirect_uri_of(url: &Url) -> String {
    url.query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// A dev tenant for one site: its application's callback is `redirect_uri`, any loopback
/// logout URL is allowed, its back-channel logout URI is `backchannel` when given, and its
/// client id and secret are those of `like` when given (custom domains of one Auth0 tenant
/// share the application).
pub async fn tenant_for(
    redirect_uri: &str,
    like: Option<&RunningDevTenant>,
    backchannel: Option<&str>,
) -> RunningDevTenant {
    let mut builder = DevTenant::builder()
        .redirect_uri(redirect_uri)
        .any_loopback_logout_uri();
    if let Some(like) = like {
        builder = builder
            .client_id(like.client_id())
            .client_secret(like.client_secret());
    }
    if let Some(uri) = backchannel {
        builder = builder.backchannel_logout_uri(uri);
    }
    builder.start().await.unwrap()
}

/// The app's back-channel logout endpoint, on loopback: it keeps the logout tokens POSTed to
/// it (answering 200) so that the test hands each to the app under a host it picks. Returns
/// the app's base URL (the endpoint is its `/backchannel-logout`) and the tokens.
pub async fn logout_token_inbox() -> (Url, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let kept = inbox.clone();
    let receive = move |body: String| {
        let kept = kept.clone();
        async move {
            let token = url::form_urlencoded::parse(body.as_bytes())
                .find(|(name, _)| name == "logout_token")
                .map(|(_, value)| value.into_owned());
            kept.lock().unwrap().extend(token);
            axum::http::StatusCode::OK
        }
    };
    let router = axum::Router::new().route("/backchannel-logout", axum::routing::post(receive));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (app, inbox)
}
