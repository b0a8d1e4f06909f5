//! Organizations, Rich Authorization Requests, MFA step-up and an `audience` given as an
//! authorization parameter, with a real `ServerClient` against the dev tenant.

use auth0_test_support::dev_tenant as support;

use auth0_dev_tenant::{DevOrganization, MFA_CHALLENGE_TYPE};
use auth0_server_core::Secrets;
use auth0_server_core::client::{
    AccessTokenOptions, Error, LoginResult, MFA_TOKEN_IDENTIFIER, StartLoginOptions,
};
use auth0_server_core::seal::CookieSealer;
use auth0_server_core::store::StoreContext;
use serde_json::{Value, json};
use support::*;

/// An organization Ada is a member of, and one she is not.
const ACME: (&str, &str) = ("org_acme123", "acme");
const OTHER: (&str, &str) = ("org_other456", "other");
/// Another API, whose tokens need MFA.
const MFA_API: &str = "https://mfa.example.com";

fn organizations(tenant: auth0_dev_tenant::DevTenantBuilder) -> auth0_dev_tenant::DevTenantBuilder {
    tenant
        .organization(DevOrganization::new(ACME.0, ACME.1).member(EMAIL))
        .organization(DevOrganization::new(OTHER.0, OTHER.1).member("bob@example.com"))
}

/// A login with `options`, through the form as `email`: the callback URL and the context.
async fn authorize_as(
    setup: &Setup,
    browser: &Browser,
    options: StartLoginOptions,
    email: &str,
) -> (url::Url, StoreContext) {
    let (url, cx) = setup.start_login(options).await;
    let (_, html) = browser.go(url, None).await.page();
    let callback = browser
        .submit(
            &html,
            &[("email", email), ("name", ""), ("action", "login")],
        )
        .await
        .left();
    (callback, cx)
}

async fn login_with(
    setup: &Setup,
    options: StartLoginOptions,
) -> (Result<LoginResult, Error>, StoreContext) {
    let browser = Browser::new(&setup.tenant);
    let (callback, cx) = authorize_as(setup, &browser, options, EMAIL).await;
    let done = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await;
    (done, StoreContext::from_cookies(cx.cookies()))
}

#[tokio::test]
async fn an_organization_login_puts_the_organization_in_the_result_session_and_tokens() {
    let setup = Setup::start_with(organizations, |c| c.audience(API)).await;
    let options = StartLoginOptions {
        organization: Some(ACME.0.to_owned()),
        ..StartLoginOptions::default()
    };
    let (done, cx) = login_with(&setup, options).await;
    let done = done.unwrap();
    let org = done.organization.expect("the login's organization");
    assert_eq!(
        (org.id.as_str(), org.name.as_deref()),
        (ACME.0, Some(ACME.1))
    );
    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    assert_eq!(session.organization(), Some(org));
    let token = setup
        .client
        .get_access_token(AccessTokenOptions::default(), &cx)
        .await
        .unwrap();
    let (_, claims) = verified(&setup.tenant, &token.token).await;
    assert_eq!(claims["org_id"], ACME.0);
    assert_eq!(claims["org_name"], ACME.1);
}

#[tokio::test]
async fn an_organization_asked_by_name_is_checked_against_org_name() {
    let setup = Setup::start_with(organizations, |c| c.organization("ACME")).await;
    let (done, _) = login_with(&setup, StartLoginOptions::default()).await;
    assert_eq!(done.unwrap().organization.unwrap().id, ACME.0);
}

#[tokio::test]
async fn a_user_who_is_not_a_member_is_refused_as_auth0_refuses() {
    let setup = Setup::start_with(organizations, |c| c).await;
    let options = StartLoginOptions {
        organization: Some(OTHER.1.to_owned()),
        ..StartLoginOptions::default()
    };
    let (done, cx) = login_with(&setup, options).await;
    match done.unwrap_err() {
        Error::Authorization { error, description } => {
            assert_eq!(error, "access_denied");
            let description = description.unwrap_or_default();
            assert!(
                description.contains("is not part of the org_other456 organization"),
                "{description}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(setup.client.get_user(&cx).await.unwrap().is_none());
}

#[tokio::test]
async fn a_token_for_another_organization_than_the_login_asked_is_refused() {
    // Ada is a member of both; the browser (or an attacker) changes the organization in the
    // authorization URL: the tenant logs her in to the other one, and the SDK refuses it.
    let tenant =
        |t| organizations(t).organization(DevOrganization::new("org_third789", "third").anyone());
    let setup = Setup::start_with(tenant, |c| c).await;
    let options = StartLoginOptions {
        organization: Some(ACME.0.to_owned()),
        ..StartLoginOptions::default()
    };
    let (url, cx) = setup.start_login(options).await;
    let tampered = url::Url::parse(&url.as_str().replace(ACME.0, "org_third789")).unwrap();
    let browser = Browser::new(&setup.tenant);
    let (callback, _) = browser.authorize(tampered).await;
    let err = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OrganizationMismatch(_)), "{err:?}");
    assert_eq!(err.code(), "organization_token_validation_error");
}

#[tokio::test]
async fn authorization_details_are_sent_granted_and_returned_with_every_token() {
    let details =
        json!([{"type": "payment_initiation", "amount": {"currency": "EUR", "value": "10.00"}}]);
    let setup = Setup::start_with(
        |t| t.authorization_details_type("payment_initiation"),
        |c| {
            c.audience(API)
                .authorization_param("authorization_details", details.clone())
        },
    )
    .await;
    let (url, _) = setup.start_login(StartLoginOptions::default()).await;
    let sent: Value = serde_json::from_str(&query(&url)["authorization_details"]).unwrap();
    assert_eq!(sent, details, "sent as JSON text");

    let (done, cx) = login_with(&setup, StartLoginOptions::default()).await;
    assert_eq!(done.unwrap().authorization_details, Some(details.clone()));
    let stored = setup
        .client
        .get_access_token(AccessTokenOptions::default(), &cx)
        .await
        .unwrap();
    assert_eq!(
        stored.authorization_details,
        Some(details.clone()),
        "kept in the session"
    );
    let refreshed = setup
        .client
        .get_access_token(
            AccessTokenOptions {
                force_refresh: true,
                ..AccessTokenOptions::default()
            },
            &cx,
        )
        .await
        .unwrap();
    assert_ne!(refreshed.token, stored.token);
    assert_eq!(refreshed.authorization_details, Some(details));
}

#[tokio::test]
async fn authorization_details_per_login_of_an_unregistered_type_are_refused() {
    let setup = Setup::start_with(
        |t| t.authorization_details_type("payment_initiation"),
        |c| c,
    )
    .await;
    let mut options = StartLoginOptions::default();
    options.authorization_params.insert(
        "authorization_details".into(),
        json!([{"type": "account_information"}]).into(),
    );
    let (url, cx) = setup.start_login(options).await;
    let callback = Browser::new(&setup.tenant).go(url, None).await.left();
    let err = setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Authorization { error, .. } if error == "invalid_authorization_details"),
        "{err:?}"
    );
    // Not even sent when it is not an array of typed objects.
    let mut options = StartLoginOptions::default();
    options
        .authorization_params
        .insert("authorization_details".into(), json!({"type": "x"}).into());
    let err = setup
        .client
        .start_interactive_login(options, &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument", "{err}");
}

#[tokio::test]
async fn a_refresh_for_an_api_that_needs_mfa_gives_the_sealed_mfa_token_and_requirements() {
    let setup = Setup::start_with(
        |t| t.audience(MFA_API).require_mfa_for_audience(MFA_API),
        |c| c.audience(API),
    )
    .await;
    let (done, cx) = login_with(&setup, StartLoginOptions::default()).await;
    done.unwrap();
    let options = AccessTokenOptions {
        audience: Some(MFA_API.to_owned()),
        scope: Some("read:messages".to_owned()),
        ..AccessTokenOptions::default()
    };
    let err = setup
        .client
        .get_access_token(options, &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_required");
    let Error::MfaRequired {
        mfa_token,
        mfa_requirements,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    // A user with no authenticator is asked to enroll one (tests/mfa.rs: a challenge once
    // enrolled).
    let requirements = mfa_requirements.as_ref().expect("the requirements");
    assert_eq!(
        requirements.enroll.as_ref().unwrap()[0].kind,
        MFA_CHALLENGE_TYPE
    );
    let sealed = mfa_token.as_ref().expect("the sealed mfa_token").expose();
    let sealer = CookieSealer::new(Secrets::parse(SECRET).unwrap());
    let context: Value = sealer.open(MFA_TOKEN_IDENTIFIER, sealed).unwrap();
    let raw = context["mfa_token"].as_str().unwrap();
    assert!(raw.len() >= 43, "the tenant's token inside: {context}");
    assert_eq!(context["audience"], MFA_API);
    assert_eq!(context["scope"], "read:messages");
    assert_eq!(context["mfa_requirements"]["enroll"][0]["type"], "otp");
    assert!(context["created_at"].as_u64().unwrap() > 0);
    for shown in [format!("{err:?}"), err.to_string()] {
        assert!(!shown.contains(raw) && !shown.contains(sealed), "{shown}");
    }
}

#[tokio::test]
async fn an_audience_in_the_authorization_params_files_the_login_token_under_it() {
    let setup = Setup::start_with(|t| t, |c| c).await;
    let mut options = StartLoginOptions::default();
    options
        .authorization_params
        .insert("audience".into(), API.into());
    let (done, cx) = login_with(&setup, options).await;
    done.unwrap();
    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    assert_eq!(session.token_sets.len(), 1);
    assert_eq!(session.token_sets[0].audience, API, "not under \"default\"");
    let token = setup
        .client
        .get_access_token(
            AccessTokenOptions {
                audience: Some(API.to_owned()),
                ..AccessTokenOptions::default()
            },
            &cx,
        )
        .await
        .unwrap();
    assert_eq!(
        token.token, session.token_sets[0].access_token,
        "no refresh"
    );
    let (_, claims) = verified(&setup.tenant, &token.token).await;
    assert_eq!(claims["aud"][0], API);
}

#[tokio::test]
async fn a_scope_map_by_audience_is_asked_at_login_and_at_refresh_for_that_audience() {
    // The Python SDK's `scope` authorization parameter as a dict keyed by audience.
    let setup = Setup::start_with(
        |t| t,
        |c| {
            c.audience(API)
                .scope("openid profile email offline_access")
                .authorization_param("scope", json!({ API: "read:messages" }))
        },
    )
    .await;
    let (url, _) = setup.start_login(StartLoginOptions::default()).await;
    assert_eq!(
        query(&url)["scope"],
        "openid profile email offline_access read:messages"
    );
    let (done, cx) = login_with(&setup, StartLoginOptions::default()).await;
    done.unwrap();
    let refreshed = setup
        .client
        .get_access_token(
            AccessTokenOptions {
                force_refresh: true,
                ..AccessTokenOptions::default()
            },
            &cx,
        )
        .await
        .unwrap();
    assert_eq!(
        refreshed.scope.as_deref(),
        Some("read:messages"),
        "the refresh asked for the audience's scope of the map"
    );
}
