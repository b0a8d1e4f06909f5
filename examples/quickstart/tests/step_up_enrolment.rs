//! The step-up page's authenticator enrolment, over HTTP on every store: the key the tenant
//! gave (the TOTP seed) is in no form field of the page (the code form refers to the
//! enrolment kept in a sealed cookie bound to the session), a code form whose reference is
//! forged, another session's or replaced by another tab's is refused with nothing sent, the
//! recovery code the tenant gave is shown once, in the enrolment's answer, and no replayed
//! cookie shows it again; the pages say `Cache-Control: no-store`.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use support::{
    Browser, SAME_ORIGIN, element, field, finish_login, hidden_fields, log_in_as, started_app,
    try_element,
};

const COOKIE: &str = "quickstart_step_up";

/// Whether `response` says `Cache-Control: no-store`.
fn no_store(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("cache-control")
        .is_some_and(|v| v == "no-store")
}

/// A browser logged in to a fresh app (a memory store), the app's base and its settings.
async fn logged_in_ada() -> (Browser, String, quickstart::Settings) {
    let (base, settings) = started_app(StoreChoice::Memory, TransactionChoice::Cookie).await;
    let mut ada = Browser::new();
    let start = format!("{base}/login");
    let response = ada.get(&start).await;
    finish_login(&mut ada, start, response).await;
    (ada, base, settings)
}

/// The code form after `browser` (logged in) enrolled an authenticator at `base`.
async fn enrolled(browser: &mut Browser, base: &str) -> String {
    let url = format!("{base}/step-up");
    let response = browser.get(&url).await;
    let (_, page) = browser.follow(url, response).await;
    let enroll = format!("{base}/step-up/enroll");
    let form = [("mfa_token", field(&page, "mfa_token"))];
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let response = browser.post_form_with(&enroll, &form, SAME_ORIGIN).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert!(no_store(&response), "the key's page may be cached");
    response.text().await.unwrap()
}

/// Posts the code form of `page` with `code` and `enrolment` as the reference.
async fn post_code(
    browser: &mut Browser,
    base: &str,
    page: &str,
    code: &str,
    enrolment: &str,
) -> reqwest::Response {
    let mfa_token = field(page, "mfa_token");
    let form = [
        ("mfa_token", mfa_token.as_str()),
        ("code", code),
        ("enrolment", enrolment),
    ];
    let url = format!("{base}/step-up/verify");
    browser.post_form_with(&url, &form, SAME_ORIGIN).await
}

#[tokio::test]
async fn the_enrolment_key_is_in_no_form_and_a_forged_or_other_sessions_reference_is_refused() {
    for store in support::stores() {
        enrolment_kept_out_of_forms(store).await;
    }
}

async fn enrolment_kept_out_of_forms(store: StoreChoice) {
    let (base, settings) = started_app(store, TransactionChoice::Cookie).await;
    let tenant = settings.dev_tenant.as_ref().unwrap().tenant();
    let mut ada = Browser::new();
    let start = format!("{base}/login");
    let response = ada.get(&start).await;
    finish_login(&mut ada, start, response).await;
    let page = enrolled(&mut ada, &base).await;
    let secret = element(&page, "secret");
    let recovery = element(&page, "recovery-code");
    assert_eq!(recovery.len(), 24, "{recovery}");
    for (name, value) in hidden_fields(&page) {
        assert!(!value.contains(&secret), "the key is in the form's {name}");
    }
    let code = || tenant.mfa_otp(&secret);

    let cookie = other_references_are_refused(&mut ada, &base, &page, &code).await;
    verified_once(&mut ada, &base, &page, &code, cookie, [&secret, &recovery]).await;
}

/// A forged reference, another session's reference in Ada's browser, and Ada's cookie and
/// reference in that other session: each refused with nothing sent. Returns Ada's enrolment
/// cookie (for the replay).
async fn other_references_are_refused(
    ada: &mut Browser,
    base: &str,
    page: &str,
    code: &dyn Fn() -> String,
) -> String {
    let reference = field(page, "enrolment");
    // A forged reference: refused (as if another tab's enrolment had replaced it: this
    // session's cookie holds another), and nothing is sent (the code still works below).
    let response = post_code(ada, base, page, &code(), "forged").await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let refusal = response.text().await.unwrap();
    assert!(refusal.contains("another tab"), "{refusal}");
    // Another session's reference (Grace's page), in Ada's browser: refused.
    let mut grace = Browser::new();
    log_in_as(&mut grace, base, "grace@example.com").await;
    let graces = enrolled(&mut grace, base).await;
    let response = post_code(ada, base, page, &code(), &field(&graces, "enrolment")).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    // Ada's enrolment cookie and reference, in Grace's session: refused.
    let cookie = ada.jar[COOKIE].clone();
    grace.jar.insert(COOKIE.to_owned(), cookie.clone());
    let response = post_code(&mut grace, base, &graces, &code(), &reference).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);

    cookie
}

/// Ada's own reference: verified, the cookie cleared, the key and recovery code (`shown`)
/// never shown again, even to a replay of the enrolment cookie.
async fn verified_once(
    ada: &mut Browser,
    base: &str,
    page: &str,
    code: &dyn Fn() -> String,
    cookie: String,
    [secret, recovery]: [&str; 2],
) {
    let reference = field(page, "enrolment");
    // Ada's own: verified, the cookie cleared, the recovery code not shown again.
    let response = post_code(ada, base, page, &code(), &reference).await;
    assert_eq!(response.headers()["location"], "/step-up");
    let url = format!("{base}/step-up");
    let (_, done) = ada.follow(url.clone(), response).await;
    assert!(try_element(&done, "fingerprint").is_some(), "{done}");
    assert!(
        !ada.jar.contains_key(COOKIE),
        "the enrolment outlived its code"
    );
    assert!(!done.contains(secret), "the key shown after enrolment");
    assert!(!done.contains(recovery), "the recovery code shown twice");

    // Ada's enrolment cookie replayed (a saved request, a proxy's log) with its form: the
    // recovery code is in no answer, as the app never kept it.
    ada.jar.insert(COOKIE.to_owned(), cookie);
    let response = post_code(ada, base, page, &code(), &reference).await;
    let again = response.text().await.unwrap();
    assert!(
        !again.contains(recovery),
        "a replayed cookie showed the recovery code"
    );
    let response = ada.get(&url).await;
    let again = response.text().await.unwrap();
    assert!(
        !again.contains(recovery),
        "a replayed cookie showed the recovery code"
    );
}

/// The enrolment is bound to the session, not only to its user: after a new login of the same
/// user (another session), the old enrolment's cookie and form are refused with nothing sent.
/// (Bound to the user only, they were accepted and the MFA token's own binding refused them
/// later, with the SDK's error.)
#[tokio::test]
async fn an_enrolment_of_an_ended_session_is_refused_in_the_users_next_session() {
    let (mut ada, base, _settings) = logged_in_ada().await;
    let page = enrolled(&mut ada, &base).await;
    let reference = field(&page, "enrolment");
    let mut next_session = Browser::new();
    log_in_as(&mut next_session, &base, "ada@example.com").await;
    let cookie = ada.jar[COOKIE].clone();
    next_session.jar.insert(COOKIE.to_owned(), cookie);
    let response = post_code(&mut next_session, &base, &page, "000000", &reference).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let refusal = response.text().await.unwrap();
    assert!(refusal.contains("not this session"), "{refusal}");
}

/// Two tabs of one session each enrol: the second enrolment replaces the first, whose form is
/// refused with words that say so (not "not this session's").
#[tokio::test]
async fn an_enrolment_replaced_by_another_tabs_says_to_use_the_latest() {
    let (mut ada, base, settings) = logged_in_ada().await;
    let tenant = settings.dev_tenant.as_ref().unwrap().tenant();
    let first = enrolled(&mut ada, &base).await;
    let second = enrolled(&mut ada, &base).await;
    let code = tenant.mfa_otp(&element(&first, "secret"));
    let reference = field(&first, "enrolment");
    let response = post_code(&mut ada, &base, &first, &code, &reference).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(no_store(&response), "the refusal may be cached");
    let refusal = element(&response.text().await.unwrap(), "error");
    assert!(refusal.contains("another tab"), "{refusal}");
    assert!(refusal.contains("use the latest"), "{refusal}");
    // The latest tab's enrolment is verified.
    let code = tenant.mfa_otp(&element(&second, "secret"));
    let reference = field(&second, "enrolment");
    let response = post_code(&mut ada, &base, &second, &code, &reference).await;
    assert_eq!(response.headers()["location"], "/step-up");
}

/// Every page of a logged-in user says `Cache-Control: no-store`: the step-up pages (the
/// token's facts, the key, the recovery code) and the profile (claims, sessions).
#[tokio::test]
async fn the_logged_in_pages_say_no_store() {
    let (mut ada, base, _settings) = logged_in_ada().await;
    for page in ["/step-up", "/profile", "/api-call", "/"] {
        let response = ada.get(&format!("{base}{page}")).await;
        assert!(
            response.status().is_success(),
            "{page}: {}",
            response.status()
        );
        assert!(no_store(&response), "{page} may be cached");
    }
    // The dev tenant's pages that show a one-time code, link or token, logged in or not.
    for page in ["/passwordless", "/legacy-login"] {
        let response = Browser::new().get(&format!("{base}{page}")).await;
        assert!(response.status().is_success(), "{page}");
        assert!(no_store(&response), "{page} may be cached");
    }
    enrolled(&mut ada, &base).await;
}
