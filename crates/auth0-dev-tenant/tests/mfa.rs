//! The MFA API end to end: a real `ServerClient` against the dev tenant. A refresh that
//! needs MFA gives a sealed `mfa_token`; with it the app lists, enrolls, challenges and
//! verifies (each grant), and the verified tokens land in the session. Refusals: a wrong
//! code, a replayed OOB or recovery code, an expired `mfa_token` (at the SDK and at the
//! tenant), too many attempts; and deleting an authenticator.

use std::sync::Arc;
use std::time::Duration;

use auth0_test_support::dev_tenant as support;

use auth0_server_core::Secrets;
use auth0_server_core::client::MFA_TOKEN_IDENTIFIER;
use auth0_server_core::client::{
    AccessTokenOptions, Error, MfaChallengeType, MfaEnrollment, MfaToken, MfaVerification,
    MfaVerified,
};
use auth0_server_core::clock::ManualClock;
use auth0_server_core::seal::CookieSealer;
use auth0_server_core::store::StoreContext;
use support::*;

/// The API whose tokens need MFA.
const MFA_API: &str = "https://mfa.example.com";
/// Where SMS codes go.
const PHONE: &str = "+15550100";

async fn setup() -> Setup {
    setup_with(|t| t).await
}

async fn setup_with(
    tenant: impl FnOnce(auth0_dev_tenant::DevTenantBuilder) -> auth0_dev_tenant::DevTenantBuilder,
) -> Setup {
    Setup::start_with(
        |t| tenant(t.audience(MFA_API).require_mfa_for_audience(MFA_API)),
        |c| {
            c.audience(API)
                .scope(format!("{SCOPE} remove:authenticators"))
        },
    )
    .await
}

/// [`setup`], the tenant and the app on one manual clock.
async fn setup_with_clock() -> (Setup, ManualClock) {
    let clock = ManualClock::starting_now();
    let shared = Arc::new(clock.clone());
    let setup = Setup::start_with(
        |t| {
            t.audience(MFA_API)
                .require_mfa_for_audience(MFA_API)
                .clock(shared.clone())
        },
        |c| {
            c.audience(API)
                .scope(format!("{SCOPE} remove:authenticators"))
                .clock(shared.clone())
        },
    )
    .await;
    (setup, clock)
}

/// A login in a new browser: the next request's context.
async fn login(setup: &Setup) -> StoreContext {
    let browser = Browser::new(&setup.tenant);
    let (_, cx, _) = setup.login(&browser).await;
    cx
}

fn for_mfa_api() -> AccessTokenOptions {
    AccessTokenOptions {
        audience: Some(MFA_API.to_owned()),
        ..AccessTokenOptions::default()
    }
}

/// The sealed token and the requirement kinds of an `mfa_required` answer to a token for
/// the MFA API.
async fn mfa_required(setup: &Setup, cx: &StoreContext) -> (MfaToken, Vec<String>) {
    let err = setup
        .client
        .get_access_token(for_mfa_api(), cx)
        .await
        .unwrap_err();
    let Error::MfaRequired {
        mfa_token: Some(token),
        mfa_requirements: Some(requirements),
        ..
    } = err
    else {
        panic!("{err:?}");
    };
    let (kind, list) = match (requirements.enroll, requirements.challenge) {
        (Some(list), None) => ("enroll", list),
        (None, Some(list)) => ("challenge", list),
        other => panic!("{other:?}"),
    };
    let mut kinds = vec![kind.to_owned()];
    kinds.extend(list.into_iter().map(|r| r.kind));
    (token, kinds)
}

/// A login in a new browser as another user than [`EMAIL`].
async fn login_as(setup: &Setup, email: &str) -> StoreContext {
    let browser = Browser::new(&setup.tenant);
    let (url, cx) = setup.start_login(Default::default()).await;
    let (_, html) = browser.go(url, None).await.page();
    let fields = [("email", email), ("name", "Other"), ("action", "login")];
    let callback = browser.submit(&html, &fields).await.left();
    setup
        .client
        .complete_interactive_login(callback.as_str(), &cx)
        .await
        .unwrap();
    StoreContext::from_cookies(cx.cookies())
}

/// The attack of a user who carries their own sealed `mfa_token` and OTP into another
/// user's browser: `scope` is the step-up's (without `openid` no ID token comes back, so
/// only the token's binding can tell). The other session is left as it was, and nothing is
/// spent: the token still works in its own session.
async fn another_users_token_is_refused(scope: Option<&str>) {
    let setup = setup().await;
    let alice = login(&setup).await;
    let bob = login_as(&setup, "bob@example.com").await;
    let options = AccessTokenOptions {
        scope: scope.map(str::to_owned),
        ..for_mfa_api()
    };
    let err = setup
        .client
        .get_access_token(options.clone(), &alice)
        .await
        .unwrap_err();
    let Error::MfaRequired {
        mfa_token: Some(token),
        ..
    } = err
    else {
        panic!("{err:?}");
    };
    let mfa = setup.client.mfa();
    let enrolled = mfa
        .enroll_authenticator(&token, MfaEnrollment::Otp, &alice)
        .await
        .unwrap();
    let otp = setup.tenant.tenant().mfa_otp(&enrolled.secret.unwrap());
    let before = setup.client.get_session(&bob).await.unwrap().unwrap();
    let err = mfa
        .verify_and_save(&token, MfaVerification::Otp(otp.clone()), &bob)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MfaTokenMismatch), "{err:?}");
    let after = setup.client.get_session(&bob).await.unwrap().unwrap();
    assert_eq!(after.user, before.user);
    assert_eq!(after.refresh_token, before.refresh_token);
    assert_eq!(after.id_token, before.id_token);
    assert!(after.token_sets == before.token_sets, "{after:?}");
    mfa.verify_and_save(&token, MfaVerification::Otp(otp), &alice)
        .await
        .unwrap();
    let stored = setup.client.get_access_token(options, &alice).await;
    assert!(stored.is_ok(), "{stored:?}");
}

#[tokio::test]
async fn another_users_mfa_token_leaves_this_session_as_it_was() {
    another_users_token_is_refused(None).await;
}

#[tokio::test]
async fn another_users_mfa_token_without_openid_leaves_this_session_as_it_was() {
    another_users_token_is_refused(Some("read:messages offline_access")).await;
}

/// Enrolls an OTP authenticator and verifies it (saving into the session): the secret, the
/// recovery code and the verification.
async fn enroll_otp(setup: &Setup, cx: &StoreContext) -> (String, String, MfaVerified) {
    let (token, _) = mfa_required(setup, cx).await;
    let mfa = setup.client.mfa();
    let enrolled = mfa
        .enroll_authenticator(&token, MfaEnrollment::Otp, cx)
        .await
        .unwrap();
    let secret = enrolled.secret.clone().unwrap();
    let recovery = enrolled.recovery_codes.clone().unwrap().remove(0);
    let otp = setup.tenant.tenant().mfa_otp(&secret);
    let verified = mfa
        .verify_and_save(&token, MfaVerification::Otp(otp), cx)
        .await
        .unwrap();
    (secret, recovery, verified)
}

/// An OTP that is not the current one.
fn wrong_otp(setup: &Setup, secret: &str) -> String {
    let right = setup.tenant.tenant().mfa_otp(secret);
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
    .to_owned()
}

#[tokio::test]
async fn otp_enrollment_and_verification_save_the_tokens_in_the_session() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (token, kinds) = mfa_required(&setup, &cx).await;
    assert_eq!(kinds, ["enroll", "otp", "sms", "email"]);
    let mfa = setup.client.mfa();
    assert!(
        mfa.list_authenticators(&token, &cx)
            .await
            .unwrap()
            .is_empty()
    );

    let enrolled = mfa
        .enroll_authenticator(&token, MfaEnrollment::Otp, &cx)
        .await
        .unwrap();
    assert_eq!(enrolled.authenticator_type, "otp");
    let secret = enrolled.secret.clone().unwrap();
    assert!(
        enrolled
            .barcode_uri
            .as_deref()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert_eq!(enrolled.recovery_codes.as_ref().unwrap().len(), 1);
    let listed = mfa.list_authenticators(&token, &cx).await.unwrap();
    let otp = listed
        .iter()
        .find(|a| a.authenticator_type == "otp")
        .unwrap();
    assert!(!otp.active, "not active before it is verified: {listed:?}");

    let code = setup.tenant.tenant().mfa_otp(&secret);
    let verified = mfa
        .verify_and_save(&token, MfaVerification::Otp(code), &cx)
        .await
        .unwrap();
    assert_eq!(verified.audience, MFA_API);
    assert_eq!(
        verified.user.as_ref().unwrap().email.as_deref(),
        Some(EMAIL)
    );

    // The session holds the verified tokens: no refresh (which would need MFA again).
    let stored = setup
        .client
        .get_access_token(for_mfa_api(), &cx)
        .await
        .unwrap();
    assert_eq!(stored.token, verified.tokens.access_token);
    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    assert_eq!(session.id_token, verified.tokens.id_token);
    assert_eq!(session.refresh_token, verified.tokens.refresh_token);
}

#[tokio::test]
async fn the_verified_grant_refreshes_without_mfa_again() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (_, _, verified) = enroll_otp(&setup, &cx).await;
    let forced = AccessTokenOptions {
        force_refresh: true,
        ..for_mfa_api()
    };
    let refreshed = setup.client.get_access_token(forced, &cx).await.unwrap();
    assert_ne!(refreshed.token, verified.tokens.access_token);
}

#[tokio::test]
async fn sms_enrollment_is_verified_with_the_code_sent_and_a_replay_is_refused() {
    let sms = MfaEnrollment::Sms {
        phone_number: PHONE.to_owned(),
    };
    oob_enrollment_is_verified_once(sms, PHONE, "sms").await;
}

#[tokio::test]
async fn email_enrollment_is_verified_with_the_code_sent_and_a_replay_is_refused() {
    let email = MfaEnrollment::Email {
        email: EMAIL.to_owned(),
    };
    oob_enrollment_is_verified_once(email, EMAIL, "email").await;
}

/// An out-of-band enrollment (`channel`, to `address`): a wrong code refused, the sent one
/// verified and saved, then refused when replayed.
async fn oob_enrollment_is_verified_once(enrollment: MfaEnrollment, address: &str, channel: &str) {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let mfa = setup.client.mfa();
    let enrolled = mfa
        .enroll_authenticator(&token, enrollment, &cx)
        .await
        .unwrap();
    assert_eq!(enrolled.oob_channel.as_deref(), Some(channel));
    assert_eq!(enrolled.binding_method.as_deref(), Some("prompt"));
    let oob = |binding_code: &str| MfaVerification::Oob {
        oob_code: enrolled.oob_code.clone().unwrap(),
        binding_code: Some(binding_code.to_owned()),
    };
    let sent = setup.tenant.tenant().mfa_binding_code(address).unwrap();
    let wrong = if sent == "000000" { "111111" } else { "000000" };
    let refused = mfa
        .verify_and_save(&token, oob(wrong), &cx)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "mfa_invalid_code", "{refused}");
    mfa.verify_and_save(&token, oob(&sent), &cx).await.unwrap();
    let replayed = mfa
        .verify_and_save(&token, oob(&sent), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(replayed, Error::MfaCodeRejected { .. }),
        "{replayed:?}"
    );
}

#[tokio::test]
async fn an_enrolled_phone_is_challenged_and_its_oob_code_works_once() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let mfa = setup.client.mfa();
    let sms = MfaEnrollment::Sms {
        phone_number: PHONE.to_owned(),
    };
    let enrolled = mfa.enroll_authenticator(&token, sms, &cx).await.unwrap();
    let verification = MfaVerification::Oob {
        oob_code: enrolled.oob_code.clone().unwrap(),
        binding_code: setup.tenant.tenant().mfa_binding_code(PHONE),
    };
    mfa.verify_and_save(&token, verification, &cx)
        .await
        .unwrap();

    // Another login of the same user: now a challenge of the enrolled phone.
    let cx = login(&setup).await;
    let (token, kinds) = mfa_required(&setup, &cx).await;
    assert_eq!(kinds, ["challenge", "sms", "recovery-code"]);
    let listed = mfa.list_authenticators(&token, &cx).await.unwrap();
    let phone = listed
        .iter()
        .find(|a| a.oob_channel.as_deref() == Some("sms"))
        .unwrap();
    assert!(phone.active);
    assert_eq!(phone.challenge_type(), Some(MfaChallengeType::Oob));
    let challenge = mfa
        .challenge_authenticator(&token, MfaChallengeType::Oob, Some(&phone.id), &cx)
        .await
        .unwrap();
    assert_eq!(challenge.challenge_type, "oob");
    let verification = MfaVerification::Oob {
        oob_code: challenge.oob_code.clone().unwrap(),
        binding_code: setup.tenant.tenant().mfa_binding_code(PHONE),
    };
    let verified = mfa
        .verify_and_save(&token, verification.clone(), &cx)
        .await
        .unwrap();
    let stored = setup
        .client
        .get_access_token(for_mfa_api(), &cx)
        .await
        .unwrap();
    assert_eq!(stored.token, verified.tokens.access_token);
    let replayed = mfa.verify(&token, verification, &cx).await.unwrap_err();
    assert_eq!(replayed.code(), "mfa_invalid_code", "{replayed}");
}

#[tokio::test]
async fn a_recovery_code_works_once_and_is_replaced() {
    let setup = setup_with(|t| t.require_mfa_for_user(EMAIL)).await;
    let cx = login(&setup).await;
    // The user's refreshes need MFA whatever the API.
    let forced = AccessTokenOptions {
        force_refresh: true,
        ..AccessTokenOptions::default()
    };
    let err = setup
        .client
        .get_access_token(forced, &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_required");
    let (_, recovery, _) = enroll_otp(&setup, &cx).await;

    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let mfa = setup.client.mfa();
    let verified = mfa
        .verify_and_save(&token, MfaVerification::RecoveryCode(recovery.clone()), &cx)
        .await
        .unwrap();
    let renewed = verified.recovery_code.clone().expect("a new recovery code");
    assert_ne!(renewed, recovery);
    assert!(!format!("{verified:?}").contains(&renewed));
    let stored = setup
        .client
        .get_access_token(for_mfa_api(), &cx)
        .await
        .unwrap();
    assert_eq!(stored.token, verified.tokens.access_token);

    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let used = mfa
        .verify(&token, MfaVerification::RecoveryCode(recovery), &cx)
        .await
        .unwrap_err();
    assert!(matches!(used, Error::MfaCodeRejected { .. }), "{used:?}");
    mfa.verify(&token, MfaVerification::RecoveryCode(renewed), &cx)
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_otps_are_refused_then_too_many_lock_the_mfa_token() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (secret, _, _) = enroll_otp(&setup, &cx).await;
    let cx = login(&setup).await;
    let (token, kinds) = mfa_required(&setup, &cx).await;
    assert_eq!(kinds, ["challenge", "otp", "recovery-code"]);
    let mfa = setup.client.mfa();
    let challenge = mfa
        .challenge_authenticator(&token, MfaChallengeType::Otp, None, &cx)
        .await
        .unwrap();
    assert_eq!(challenge.challenge_type, "otp");
    for _ in 0..auth0_dev_tenant::MAX_MFA_ATTEMPTS {
        let wrong = MfaVerification::Otp(wrong_otp(&setup, &secret));
        let err = mfa.verify(&token, wrong, &cx).await.unwrap_err();
        assert!(matches!(err, Error::MfaCodeRejected { .. }), "{err:?}");
    }
    let right = MfaVerification::Otp(setup.tenant.tenant().mfa_otp(&secret));
    let err = mfa.verify(&token, right, &cx).await.unwrap_err();
    assert_eq!(err.code(), "too_many_attempts", "{err}");
    // The session was left as it was: the MFA API still has no token there.
    let session = setup.client.get_session(&cx).await.unwrap().unwrap();
    assert!(!session.token_sets.iter().any(|t| t.audience == MFA_API));
}

#[tokio::test]
async fn an_enrolled_user_may_not_enroll_again() {
    let setup = setup().await;
    let cx = login(&setup).await;
    enroll_otp(&setup, &cx).await;
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let err = setup
        .client
        .mfa()
        .enroll_authenticator(&token, MfaEnrollment::Otp, &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Mfa { error, status: 403, .. } if error == "access_denied"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("User is already enrolled"),
        "{err}"
    );
}

#[tokio::test]
async fn a_pending_authenticator_is_not_activated_once_another_is_active() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let mfa = setup.client.mfa();
    let first = mfa
        .enroll_authenticator(&token, MfaEnrollment::Otp, &cx)
        .await
        .unwrap();
    let second = mfa
        .enroll_authenticator(&token, MfaEnrollment::Otp, &cx)
        .await
        .unwrap();
    let otp = |e: &auth0_server_core::client::Enrollment| {
        setup.tenant.tenant().mfa_otp(e.secret.as_deref().unwrap())
    };
    mfa.verify_and_save(&token, MfaVerification::Otp(otp(&first)), &cx)
        .await
        .unwrap();
    // Whoever holds the second secret (never verified) cannot make it a factor now.
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let err = mfa
        .verify(&token, MfaVerification::Otp(otp(&second)), &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MfaCodeRejected { .. }), "{err:?}");
    let listed = mfa.list_authenticators(&token, &cx).await.unwrap();
    let active = listed
        .iter()
        .filter(|a| a.active && a.authenticator_type == "otp");
    assert_eq!(active.count(), 1, "{listed:?}");
}

#[tokio::test]
async fn a_new_mfa_token_brings_no_fresh_attempts() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (secret, _, _) = enroll_otp(&setup, &cx).await;
    let mfa = setup.client.mfa();
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    for _ in 0..auth0_dev_tenant::MAX_MFA_ATTEMPTS {
        let wrong = MfaVerification::Otp(wrong_otp(&setup, &secret));
        let err = mfa.verify(&token, wrong, &cx).await.unwrap_err();
        assert!(matches!(err, Error::MfaCodeRejected { .. }), "{err:?}");
    }
    // Another refresh, another mfa_token: still locked.
    let (token, _) = mfa_required(&setup, &cx).await;
    let wrong = MfaVerification::Otp(wrong_otp(&setup, &secret));
    let err = mfa.verify(&token, wrong, &cx).await.unwrap_err();
    assert_eq!(err.code(), "too_many_attempts", "{err}");
}

#[tokio::test]
async fn an_accepted_otp_is_not_accepted_again_with_a_new_mfa_token() {
    let (setup, _clock) = setup_with_clock().await;
    let cx = login(&setup).await;
    let (secret, _, _) = enroll_otp(&setup, &cx).await;
    // The code enroll_otp was verified with (the clock stands still).
    let otp = setup.tenant.tenant().mfa_otp(&secret);
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let mfa = setup.client.mfa();
    let err = mfa
        .verify(&token, MfaVerification::Otp(otp), &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MfaCodeRejected { .. }), "{err:?}");
}

#[tokio::test]
async fn two_verifications_of_one_oob_code_at_once_pass_once() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let mfa = setup.client.mfa();
    let sms = MfaEnrollment::Sms {
        phone_number: PHONE.to_owned(),
    };
    let enrolled = mfa.enroll_authenticator(&token, sms, &cx).await.unwrap();
    let verification = MfaVerification::Oob {
        oob_code: enrolled.oob_code.clone().unwrap(),
        binding_code: setup.tenant.tenant().mfa_binding_code(PHONE),
    };
    let (a, b) = tokio::join!(
        mfa.verify(&token, verification.clone(), &cx),
        mfa.verify(&token, verification, &cx)
    );
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
}

#[tokio::test]
async fn a_users_oldest_mfa_token_is_forgotten_past_the_bound() {
    let (setup, clock) = setup_with_clock().await;
    let cx = login(&setup).await;
    let (first, _) = mfa_required(&setup, &cx).await;
    for _ in 0..auth0_dev_tenant::MAX_MFA_TOKENS_PER_USER {
        clock.advance(Duration::from_secs(1));
        mfa_required(&setup, &cx).await;
    }
    let err = setup
        .client
        .mfa()
        .list_authenticators(&first, &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Mfa { error, .. } if error == "invalid_grant"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_mfa_token_is_refused_by_the_sdk_and_by_the_tenant() {
    // One clock for both: past the SDK's limit, nothing is sent.
    let clock = ManualClock::starting_now();
    let shared = Arc::new(clock.clone());
    let setup = Setup::start_with(
        |t| {
            t.audience(MFA_API)
                .require_mfa_for_audience(MFA_API)
                .clock(shared.clone())
        },
        |c| c.audience(API).clock(shared.clone()),
    )
    .await;
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    clock.advance(auth0_server_core::client::MFA_TOKEN_TTL + Duration::from_secs(1));
    let err = setup
        .client
        .mfa()
        .list_authenticators(&token, &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MfaTokenExpired), "{err:?}");

    // The tenant's clock alone moves: the SDK sends, the tenant says expired_token.
    let tenant_clock = ManualClock::starting_now();
    let setup = Setup::start_with(
        |t| {
            t.audience(MFA_API)
                .require_mfa_for_audience(MFA_API)
                .clock(Arc::new(tenant_clock.clone()))
        },
        |c| c.audience(API),
    )
    .await;
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    tenant_clock.advance(auth0_dev_tenant::MFA_TOKEN_LIFETIME + Duration::from_secs(1));
    let mfa = setup.client.mfa();
    let err = mfa
        .verify(&token, MfaVerification::Otp("123456".into()), &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MfaExpired { .. }), "{err:?}");
    let err = mfa.list_authenticators(&token, &cx).await.unwrap_err();
    assert!(matches!(err, Error::MfaExpired { .. }), "{err:?}");
}

#[tokio::test]
async fn a_sealed_token_of_another_secret_is_invalid() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let forged =
        MfaToken::from_sealed("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIn0..a.b.c".into());
    let err = setup
        .client
        .mfa()
        .list_authenticators(&forged, &cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_token_invalid");
}

#[tokio::test]
async fn an_authenticator_is_deleted_with_an_access_token_that_may() {
    let setup = setup().await;
    let cx = login(&setup).await;
    let (_, _, verified) = enroll_otp(&setup, &cx).await;
    let mfa = setup.client.mfa();
    let cx2 = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx2).await;
    let listed = mfa.list_authenticators(&token, &cx2).await.unwrap();
    let otp = listed
        .iter()
        .find(|a| a.authenticator_type == "otp")
        .unwrap();

    // A token from a login without MFA may not.
    let plain = setup
        .client
        .get_access_token(AccessTokenOptions::default(), &cx2)
        .await
        .unwrap();
    let err = mfa
        .delete_authenticator(&plain.token, &otp.id, &cx2)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mfa_delete_authenticator_error", "{err}");
    let access_token = &verified.tokens.access_token;
    let err = mfa
        .delete_authenticator(access_token, "totp|dev_nosuch", &cx)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Mfa { status: 404, .. }), "{err:?}");
    mfa.delete_authenticator(access_token, &otp.id, &cx)
        .await
        .unwrap();
    let listed = mfa.list_authenticators(&token, &cx2).await.unwrap();
    assert!(
        !listed.iter().any(|a| a.authenticator_type == "otp"),
        "{listed:?}"
    );
}

#[tokio::test]
async fn discovery_names_the_mfa_grants() {
    let setup = setup().await;
    let url = format!("{}.well-known/openid-configuration", setup.tenant.issuer());
    let doc: serde_json::Value = http_client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = doc["grant_types_supported"].to_string();
    for grant in [
        auth0_server_core::client::MFA_OTP_GRANT_TYPE,
        auth0_server_core::client::MFA_OOB_GRANT_TYPE,
        auth0_server_core::client::MFA_RECOVERY_CODE_GRANT_TYPE,
    ] {
        assert!(grants.contains(grant), "{grants}");
    }
}

/// The raw `mfa_token` inside a sealed one (what the Python SDK sends after
/// `decrypt_mfa_token`).
fn raw(token: &MfaToken) -> String {
    let sealer = CookieSealer::new(Secrets::parse(SECRET).unwrap());
    let context: serde_json::Value = sealer.open(MFA_TOKEN_IDENTIFIER, token.expose()).unwrap();
    context["mfa_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_tenant_answers_the_python_sdks_requests_as_its_tests_expect() {
    // The enrollment's OTP is accepted once: the next is a step later.
    let (setup, clock) = setup_with_clock().await;
    let cx = login(&setup).await;
    let (secret, _, _) = enroll_otp(&setup, &cx).await;
    clock.advance(Duration::from_secs(auth0_dev_tenant::OTP_STEP));
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let raw = raw(&token);
    let http = http_client();
    let url = |path: &str| format!("{}{path}", setup.tenant.issuer());
    // list_authenticators: GET with the raw token as Bearer.
    let listed: serde_json::Value = http
        .get(url("mfa/authenticators"))
        .bearer_auth(&raw)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let otp = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["authenticator_type"] == "otp");
    assert_eq!(otp.unwrap()["active"], true, "{listed}");
    // challenge_authenticator: JSON with client_id and client_secret in it.
    let challenge = http
        .post(url("mfa/challenge"))
        .json(
            &serde_json::json!({"mfa_token": raw, "client_id": setup.tenant.client_id(),
            "challenge_type": "otp", "client_secret": setup.tenant.client_secret()}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), 200);
    let challenge: serde_json::Value = challenge.json().await.unwrap();
    assert_eq!(challenge, serde_json::json!({"challenge_type": "otp"}));
    // verify: a form with client_id, client_secret, mfa_token, grant_type and otp.
    let otp = setup.tenant.tenant().mfa_otp(&secret);
    let form = [
        ("client_id", setup.tenant.client_id()),
        ("client_secret", setup.tenant.client_secret()),
        ("mfa_token", &raw),
        ("grant_type", "http://auth0.com/oauth/grant-type/mfa-otp"),
        ("otp", &otp),
    ];
    let verified = http
        .post(url("oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let verified: serde_json::Value = verified.json().await.unwrap();
    assert_eq!(verified["token_type"], "Bearer");
    assert!(verified["access_token"].is_string() && verified["expires_in"].is_u64());
}

#[tokio::test]
async fn with_private_key_jwt_the_challenge_and_the_grant_carry_a_client_assertion() {
    let mut pair = josekit::jws::ES256.generate_key_pair().unwrap();
    pair.set_algorithm(None);
    let private = String::from_utf8(pair.to_pem_private_key()).unwrap();
    let public = String::from_utf8(pair.to_pem_public_key()).unwrap();
    let setup = Setup::start_with(
        |t| {
            t.audience(MFA_API)
                .require_mfa_for_audience(MFA_API)
                .client_public_key(public)
        },
        |c| c.audience(API).client_assertion_signing_key(private),
    )
    .await;
    assert_eq!(
        setup.client.config().client_authentication_method(),
        "private_key_jwt"
    );
    let cx = login(&setup).await;
    let sms = MfaEnrollment::Sms {
        phone_number: PHONE.to_owned(),
    };
    let (token, _) = mfa_required(&setup, &cx).await;
    let mfa = setup.client.mfa();
    mfa.enroll_authenticator(&token, sms, &cx).await.unwrap();
    // The JSON challenge's assertion is accepted: the refusal is that the phone is not
    // active yet (unsupported_challenge_type), not invalid_client.
    let enrolled = mfa.list_authenticators(&token, &cx).await.unwrap();
    let phone = &enrolled[1];
    let refused = mfa
        .challenge_authenticator(&token, MfaChallengeType::Oob, Some(&phone.id), &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Mfa { error, .. } if error == "unsupported_challenge_type"),
        "{refused:?}"
    );
    let otp = mfa
        .enroll_authenticator(&token, MfaEnrollment::Otp, &cx)
        .await
        .unwrap();
    let code = setup.tenant.tenant().mfa_otp(&otp.secret.unwrap());
    mfa.verify_and_save(&token, MfaVerification::Otp(code), &cx)
        .await
        .unwrap();
    let cx = login(&setup).await;
    let (token, _) = mfa_required(&setup, &cx).await;
    let challenge = mfa
        .challenge_authenticator(&token, MfaChallengeType::Otp, None, &cx)
        .await
        .unwrap();
    assert_eq!(challenge.challenge_type, "otp");
}
