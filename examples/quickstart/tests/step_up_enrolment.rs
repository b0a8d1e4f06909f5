//! The step-up page's authenticator enrolment, over HTTP on every store: the key the tenant
//! gave (the TOTP seed) is in no form field of the page (the code form refers to the
//! enrolment kept in a sealed cookie), a code form whose reference is forged or another
//! session's is refused with nothing sent, and the recovery code the tenant gave is shown
//! once, after the code is verified.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use support::{Browser, SAME_ORIGIN, finish_login, log_in_as, started_app, text};

/// Every `<input type="hidden" name="…" value="…">` of `html`, as (name, value).
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input")
        .skip(1)
        .filter_map(|tag| tag.split('>').next())
        .filter(|tag| tag.contains("type=\"hidden\""))
        .map(|tag| (attribute(tag, "name"), attribute(tag, "value")))
        .collect()
}

fn attribute(tag: &str, name: &str) -> String {
    tag.split(&format!("{name}=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(text)
        .unwrap_or_default()
}

fn field(html: &str, name: &str) -> String {
    hidden_fields(html)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no hidden field {name} in {html}"))
}

/// The text of the element with `id` in `html`, if there is one.
fn element(html: &str, id: &str) -> Option<String> {
    let after = html
        .split(&format!("id=\"{id}\""))
        .nth(1)?
        .split_once('>')?
        .1;
    Some(text(after.split('<').next().unwrap_or_default()))
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
    let secret = element(&page, "secret").expect("the key is shown to enrol it");
    for (name, value) in hidden_fields(&page) {
        assert!(!value.contains(&secret), "the key is in the form's {name}");
    }
    let reference = field(&page, "enrolment");
    let code = || tenant.mfa_otp(&secret);

    // A forged reference: refused, and nothing is sent (the code still works below).
    let response = post_code(&mut ada, &base, &page, &code(), "forged").await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let refusal = response.text().await.unwrap();
    assert!(refusal.contains("not this session"), "{refusal}");
    // Another session's reference (Grace's page), in Ada's browser: refused.
    let mut grace = Browser::new();
    log_in_as(&mut grace, &base, "grace@example.com").await;
    let graces = enrolled(&mut grace, &base).await;
    let response = post_code(
        &mut ada,
        &base,
        &page,
        &code(),
        &field(&graces, "enrolment"),
    )
    .await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    // Ada's enrolment cookie and reference, in Grace's session: refused.
    let cookie = ada.jar["quickstart_step_up"].clone();
    grace.jar.insert("quickstart_step_up".to_owned(), cookie);
    let response = post_code(&mut grace, &base, &graces, &code(), &reference).await;
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);

    // Ada's own: verified, and the recovery code shown once.
    let response = post_code(&mut ada, &base, &page, &code(), &reference).await;
    assert_eq!(response.headers()["location"], "/step-up");
    let url = format!("{base}/step-up");
    let (_, done) = ada.follow(url.clone(), response).await;
    assert!(element(&done, "fingerprint").is_some(), "{done}");
    let recovery = element(&done, "recovery-code").expect("the recovery code, once");
    assert_eq!(recovery.len(), 24, "{recovery}");
    assert!(!done.contains(&secret), "the key shown after enrolment");
    let response = ada.get(&url).await;
    let (_, again) = ada.follow(url, response).await;
    assert!(element(&again, "fingerprint").is_some(), "{again}");
    assert!(element(&again, "recovery-code").is_none(), "shown twice");
}
