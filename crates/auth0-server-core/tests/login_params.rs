//! What the authorization request carries of organizations, invitations, JSON authorization
//! parameters and a per-audience scope map, and what is refused before a login starts.

mod support;

use std::collections::HashMap;

use auth0_server_core::client::{ServerClientBuilder, StartLoginOptions};
use auth0_server_core::store::StoreContext;
use serde_json::json;
use support::*;

async fn sent(
    configure: impl FnOnce(ServerClientBuilder) -> ServerClientBuilder,
    options: StartLoginOptions,
) -> Result<HashMap<String, String>, auth0_server_core::client::Error> {
    let h = Harness::start_with(configure).await;
    let url = h
        .client
        .start_interactive_login(options, &StoreContext::new())
        .await?;
    Ok(url.query_pairs().into_owned().collect())
}

fn with(params: &[(&str, serde_json::Value)]) -> StartLoginOptions {
    let mut options = StartLoginOptions::default();
    for (name, value) in params {
        options
            .authorization_params
            .insert((*name).to_owned(), value.clone().into());
    }
    options
}

#[tokio::test]
async fn the_typed_organization_and_invitation_are_sent_and_win_over_the_params() {
    let options = StartLoginOptions {
        organization: Some("org_typed".to_owned()),
        invitation: Some("inv_123".to_owned()),
        ..with(&[("organization", json!("org_param"))])
    };
    let q = sent(|b| b, options).await.unwrap();
    assert_eq!(q["organization"], "org_typed");
    assert_eq!(q["invitation"], "inv_123");
    // A browser's empty `?organization=` is no organization.
    let q = sent(|b| b, with(&[("organization", json!(""))]))
        .await
        .unwrap();
    assert!(!q.contains_key("organization"));
}

#[tokio::test]
async fn blank_or_conflicting_organizations_are_refused() {
    let blank = StartLoginOptions {
        organization: Some("  ".to_owned()),
        ..StartLoginOptions::default()
    };
    let err = sent(|b| b, blank).await.unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    assert!(err.to_string().contains("must not be blank"), "{err}");
    let other = StartLoginOptions {
        organization: Some("org_other".to_owned()),
        ..StartLoginOptions::default()
    };
    let err = sent(|b| b.organization("org_pinned"), other)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("org_pinned"), "{err}");
    let q = sent(
        |b| b.organization("org_pinned"),
        StartLoginOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(q["organization"], "org_pinned");
    let Err(err) = ServerClientBuilder::new()
        .domain("tenant.auth0.com")
        .client_id("c")
        .client_secret("s")
        .secret(SECRET)
        .redirect_uri("http://localhost:5000/callback")
        .organization(" ")
        .build()
    else {
        panic!("a blank organization was accepted");
    };
    assert_eq!(err.code(), "configuration_error");
}

#[tokio::test]
async fn json_values_are_sent_as_json_text_and_strings_as_they_are() {
    let details = json!([{"type": "payment_initiation", "amount": "1.00"}]);
    let q = sent(
        |b| b.authorization_param("authorization_details", details.clone()),
        with(&[("max_age", json!(300)), ("ui_locales", json!("fr"))]),
    )
    .await
    .unwrap();
    let back: serde_json::Value = serde_json::from_str(&q["authorization_details"]).unwrap();
    assert_eq!(back, details);
    assert_eq!(q["max_age"], "300");
    assert_eq!(q["ui_locales"], "fr");
}

#[tokio::test]
async fn the_scope_map_gives_the_login_audience_its_entry() {
    let map = json!({"https://a.example.com": "read:a", "default": "read:default"});
    let q = sent(
        |b| b.authorization_param("scope", map.clone()),
        StartLoginOptions {
            audience: Some("https://a.example.com".to_owned()),
            ..StartLoginOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(q["scope"], "openid profile email read:a");
    let q = sent(
        |b| b.authorization_param("scope", map),
        StartLoginOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(q["scope"], "openid profile email read:default");
    assert!(!q.contains_key("audience"));
}

#[tokio::test]
async fn client_credentials_given_as_params_reach_neither_the_url_nor_the_par_body() {
    let credentials = ["client_secret", "client_assertion", "client_assertion_type"];
    let configure = |par: bool| {
        move |mut b: ServerClientBuilder| {
            for name in credentials {
                b = b.authorization_param(name, "configured-leak");
            }
            b.pushed_authorization_requests(par)
        }
    };
    let per_login = with(&credentials.map(|name| (name, json!("per-login-leak"))));
    let q = sent(configure(false), per_login.clone()).await.unwrap();
    for name in credentials {
        assert!(!q.contains_key(name), "{name} in the URL: {q:?}");
    }
    let h = Harness::start_with(configure(true)).await;
    h.client
        .start_interactive_login(per_login, &StoreContext::new())
        .await
        .unwrap();
    let forms = h.provider.state.par_forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 1, "one PAR request");
    for (name, value) in &forms[0] {
        assert!(!value.contains("leak"), "{name}={value} in the PAR body");
    }
}

#[tokio::test]
async fn a_null_param_or_a_scope_that_is_neither_text_nor_a_map_is_refused() {
    use auth0_server_core::client::Error;
    for (name, value, says) in [
        ("prompt", json!(null), "leave the parameter out"),
        ("scope", json!(["read", "write"]), "space-separated scopes"),
        ("scope", json!(5), "space-separated scopes"),
    ] {
        let e = sent(|b| b, with(&[(name, value.clone())]))
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::InvalidArgument(_)),
            "{name}={value}: {e:?}"
        );
        assert!(e.to_string().contains(says), "{e}");
    }
}
