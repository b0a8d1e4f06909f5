//! The feature pages (`examples/quickstart-features`), driven over HTTP as a browser would, against the
//! app's own dev tenant: each page shows its feature working, and refuses what it must.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use support::{Browser, CROSS_SITE, SAME_ORIGIN, element, field, finish_login, started_app};

/// A browser logged in to a freshly started app with `store`; returns it with the app's base
/// URL and settings.
async fn logged_in(store: StoreChoice) -> (Browser, String, quickstart::Settings) {
    let (base, settings) = started_app(store, TransactionChoice::Cookie).await;
    let mut browser = Browser::new();
    let response = browser.get(&format!("{base}/login")).await;
    finish_login(&mut browser, format!("{base}/login"), response).await;
    (browser, base, settings)
}

/// Every run of token characters at least 16 long in `html`: what a leaked token would be.
fn token_like_words(html: &str) -> Vec<&str> {
    html.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.~+/=".contains(c)))
        .filter(|w| w.len() >= 16)
        .collect()
}

#[tokio::test]
async fn the_token_vault_page_shows_a_connection_token_without_showing_it() {
    // Every store: the cookie (the feature tokens must fit it), memory, Redis, PostgreSQL.
    for store in support::stores() {
        the_token_vault_page_shows_a_connection_token_without_showing_it_with(store).await;
    }
}

async fn the_token_vault_page_shows_a_connection_token_without_showing_it_with(store: StoreChoice) {
    let (mut browser, base, settings) = logged_in(store).await;
    let tenant = settings.dev_tenant.as_ref().unwrap().tenant();
    let url = format!("{base}/token-vault");
    let response = browser.get(&url).await;
    let (_, page) = browser.follow(url.clone(), response).await;
    assert_eq!(element(&page, "connection"), "dev-connection", "{page}");
    let fingerprint = element(&page, "fingerprint");
    assert!(
        fingerprint.len() == 8 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
        "{page}"
    );
    let expires: u64 = element(&page, "expires").parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expires > now, "a live token: {expires} vs {now}");
    for word in token_like_words(&page) {
        assert!(
            tenant.connection_token_owner(word).is_none(),
            "the page shows the connection token itself: {word}"
        );
    }
    // The token is kept in the session: a reload shows the same one.
    let response = browser.get(&url).await;
    let (_, again) = browser.follow(url, response).await;
    assert_eq!(element(&again, "fingerprint"), fingerprint);
}

#[tokio::test]
async fn the_token_vault_page_sends_an_anonymous_visitor_to_log_in() {
    let (base, _settings) = started_app(StoreChoice::Memory, TransactionChoice::Cookie).await;
    let mut browser = Browser::new();
    let response = browser.get(&format!("{base}/token-vault")).await;
    assert!(response.status().is_redirection());
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/login?returnTo=%2Ftoken-vault"),
        "{location}"
    );
}

/// Asks for a passwordless code for `email` from the app's own form; returns the code page.
async fn send_code(browser: &mut Browser, base: &str, email: &str) -> String {
    let form = browser.get(&format!("{base}/passwordless")).await;
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("action=\"/passwordless\"")
    );
    let url = format!("{base}/passwordless");
    let response = browser
        .post_form_with(&url, &[("email", email)], SAME_ORIGIN)
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    response.text().await.unwrap()
}

#[tokio::test]
async fn passwordless_logs_in_with_the_code_the_dev_tenant_sent() {
    // Every store: the cookie (the feature tokens must fit it), memory, Redis, PostgreSQL.
    for store in support::stores() {
        passwordless_logs_in_with_the_code_the_dev_tenant_sent_with(store).await;
    }
}

async fn passwordless_logs_in_with_the_code_the_dev_tenant_sent_with(store: StoreChoice) {
    let (base, settings) = started_app(store, TransactionChoice::Cookie).await;
    let tenant = settings.dev_tenant.as_ref().unwrap().tenant();
    let mut browser = Browser::new();
    let page = send_code(&mut browser, &base, "grace@example.com").await;
    let code = element(&page, "dev-code");
    assert_eq!(
        Some(code.clone()),
        tenant.passwordless_code("grace@example.com")
    );
    assert_eq!(element(&page, "email"), "grace@example.com");

    let verify = format!("{base}/passwordless/verify");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let form = [("email", "grace@example.com"), ("code", wrong)];
    let response = browser.post_form_with(&verify, &form, SAME_ORIGIN).await;
    let page = response.text().await.unwrap();
    assert!(element(&page, "error").contains("wrong"), "{page}");
    assert!(
        browser
            .get(&format!("{base}/profile"))
            .await
            .status()
            .is_redirection()
    );

    // An older browser without Fetch Metadata: its Origin is this app.
    let form = [("email", "grace@example.com"), ("code", code.as_str())];
    let response = browser
        .post_form_with(&verify, &form, &[("origin", &base)])
        .await;
    assert_eq!(response.headers()["location"], "/profile");
    let (_, profile) = browser.follow(verify, response).await;
    assert_eq!(element(&profile, "email"), "grace@example.com", "{profile}");
    assert!(profile.contains("email|"), "a passwordless user: {profile}");
}

#[tokio::test]
async fn a_passwordless_code_posted_from_another_site_logs_no_one_in() {
    let (base, settings) = started_app(StoreChoice::Memory, TransactionChoice::Cookie).await;
    let tenant = settings.dev_tenant.as_ref().unwrap().tenant();
    // The attacker gets a code for their own address, and makes the victim's browser post it.
    let mut attacker = Browser::new();
    send_code(&mut attacker, &base, "mallory@example.com").await;
    let code = tenant.passwordless_code("mallory@example.com").unwrap();
    let form = [("email", "mallory@example.com"), ("code", code.as_str())];
    let verify = format!("{base}/passwordless/verify");
    let evil_origin: &[(&str, &str)] = &[("origin", "http://evil.example")];
    for headers in [CROSS_SITE, evil_origin, &[]] {
        let mut victim = Browser::new();
        let response = victim.post_form_with(&verify, &form, headers).await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::FORBIDDEN,
            "{headers:?}"
        );
        assert!(
            victim.jar.keys().all(|n| !n.starts_with("_a0_session")),
            "no session for the victim: {:?}",
            victim.jar.keys()
        );
        let profile = victim.get(&format!("{base}/profile")).await;
        assert!(profile.status().is_redirection(), "{headers:?}");
    }
    // Refused before the exchange: the code still works from the app's own page.
    let response = attacker.post_form_with(&verify, &form, SAME_ORIGIN).await;
    assert_eq!(response.headers()["location"], "/profile");
}

#[tokio::test]
async fn the_step_up_page_enrolls_an_authenticator_and_gets_the_token_mfa_guards() {
    // Every store: the cookie (the feature tokens must fit it), memory, Redis, PostgreSQL.
    for store in support::stores() {
        the_step_up_page_enrolls_an_authenticator_and_gets_the_token_mfa_guards_with(store).await;
    }
}

async fn the_step_up_page_enrolls_an_authenticator_and_gets_the_token_mfa_guards_with(
    store: StoreChoice,
) {
    let (mut browser, base, settings) = logged_in(store).await;
    let tenant = settings.dev_tenant.as_ref().unwrap().tenant();
    let enrolment = enrolled_from_the_page(&mut browser, &base, &|s| tenant.mfa_otp(s)).await;
    verified_from_the_page(&mut browser, &base, &enrolment, &|s| tenant.mfa_otp(s)).await;
}

/// What the enrolment page gave: the key (shown once), the dev code, the MFA token and the
/// enrolment's reference.
struct Enrolled {
    secret: String,
    code: String,
    mfa_token: String,
    enrolment: String,
}

/// `/step-up` asks for MFA; enrolling is a same-origin POST only (a GET or another site's
/// POST enrols nothing).
async fn enrolled_from_the_page(
    browser: &mut Browser,
    base: &str,
    otp: &dyn Fn(&str) -> String,
) -> Enrolled {
    let url = format!("{base}/step-up");
    let (_, page) = {
        let response = browser.get(&url).await;
        browser.follow(url.clone(), response).await
    };
    assert!(page.contains("id=\"mfa-required\""), "{page}");
    // A GET changes nothing: enrolling is the page's button, a same-origin POST.
    assert!(!page.contains("id=\"secret\""), "a GET enrolled: {page}");
    let enroll = format!("{base}/step-up/enroll");
    let token_field = [("mfa_token", field(&page, "mfa_token"))];
    let refused = post_mfa(browser, &enroll, &token_field, CROSS_SITE).await;
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let page = post_mfa(browser, &enroll, &token_field, SAME_ORIGIN)
        .await
        .text()
        .await
        .unwrap();
    let secret = element(&page, "secret");
    let code = element(&page, "dev-code");
    assert_eq!(code, otp(&secret));
    let mfa_token = field(&page, "mfa_token");
    // The form refers to the enrolment; its key stays on the server side.
    let enrolment = field(&page, "enrolment");

    Enrolled {
        secret,
        code,
        mfa_token,
        enrolment,
    }
}

/// The code verified from the page (another site's POST and a wrong code refused), the
/// token MFA guards then shown, and kept in the session.
async fn verified_from_the_page(
    browser: &mut Browser,
    base: &str,
    enrolled: &Enrolled,
    otp: &dyn Fn(&str) -> String,
) {
    let Enrolled {
        secret,
        code,
        mfa_token,
        enrolment,
    } = enrolled;
    let url = format!("{base}/step-up");
    let verify = format!("{base}/step-up/verify");
    let form = |code: &str| {
        [
            ("mfa_token", mfa_token.clone()),
            ("code", code.to_owned()),
            ("enrolment", enrolment.clone()),
        ]
    };
    // Posted from another site: refused (the code still works below).
    let refused = post_mfa(browser, &verify, &form(code), CROSS_SITE).await;
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let page = post_mfa(browser, &verify, &form(wrong), SAME_ORIGIN)
        .await
        .text()
        .await
        .unwrap();
    assert!(element(&page, "error").contains("wrong"), "{page}");
    assert_eq!(element(&page, "dev-code"), otp(secret));

    let response = post_mfa(browser, &verify, &form(&otp(secret)), SAME_ORIGIN).await;
    assert_eq!(response.headers()["location"], "/step-up");
    let (_, page) = browser.follow(verify.clone(), response).await;
    assert_eq!(
        element(&page, "audience"),
        "https://quickstart.local/payments",
        "{page}"
    );
    let fingerprint = element(&page, "fingerprint");
    assert_eq!(fingerprint.len(), 8, "{page}");
    // The verified token is in the session: a reload shows it without asking again.
    let response = browser.get(&url).await;
    let (_, again) = browser.follow(url, response).await;
    assert_eq!(element(&again, "fingerprint"), fingerprint);
}

async fn post_mfa(
    browser: &mut Browser,
    url: &str,
    form: &[(&str, String)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    browser.post_form_with(url, &pairs, headers).await
}

/// Has the dev tenant issue a legacy token for `email` through the app's page.
async fn legacy_token(browser: &mut Browser, base: &str, email: &str) -> String {
    let form = browser.get(&format!("{base}/legacy-login")).await;
    assert!(
        form.text()
            .await
            .unwrap()
            .contains("action=\"/legacy-login/issue\"")
    );
    let url = format!("{base}/legacy-login/issue");
    let response = browser
        .post_form_with(&url, &[("email", email)], SAME_ORIGIN)
        .await;
    let page = response.text().await.unwrap();
    let token = element(&page, "subject-token");
    assert!(!token.is_empty(), "{page}");
    token
}

#[tokio::test]
async fn a_legacy_token_logs_in_once_through_custom_token_exchange() {
    // Every store: the cookie (the feature tokens must fit it), memory, Redis, PostgreSQL.
    for store in support::stores() {
        a_legacy_token_logs_in_once_through_custom_token_exchange_with(store).await;
    }
}

async fn a_legacy_token_logs_in_once_through_custom_token_exchange_with(store: StoreChoice) {
    let (base, _settings) = started_app(store, TransactionChoice::Cookie).await;
    let mut browser = Browser::new();
    let token = legacy_token(&mut browser, &base, "linus@example.com").await;
    let url = format!("{base}/legacy-login");
    let form = [("subject_token", token.as_str())];
    let response = browser.post_form_with(&url, &form, SAME_ORIGIN).await;
    assert_eq!(response.headers()["location"], "/profile");
    let (_, profile) = browser.follow(url.clone(), response).await;
    assert_eq!(element(&profile, "email"), "linus@example.com", "{profile}");

    // A token works once: a replay in another browser is refused.
    let mut other = Browser::new();
    let response = other.post_form_with(&url, &form, SAME_ORIGIN).await;
    let page = response.text().await.unwrap();
    assert!(element(&page, "error").contains("refused"), "{page}");
    assert!(
        other
            .get(&format!("{base}/profile"))
            .await
            .status()
            .is_redirection()
    );
}

#[tokio::test]
async fn a_legacy_token_posted_from_another_site_logs_no_one_in() {
    let (base, _settings) = started_app(StoreChoice::Memory, TransactionChoice::Cookie).await;
    let mut attacker = Browser::new();
    let token = legacy_token(&mut attacker, &base, "mallory@example.com").await;
    let url = format!("{base}/legacy-login");
    let form = [("subject_token", token.as_str())];
    let evil_origin: &[(&str, &str)] = &[("origin", "http://evil.example")];
    for headers in [CROSS_SITE, evil_origin, &[]] {
        let mut victim = Browser::new();
        let response = victim.post_form_with(&url, &form, headers).await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::FORBIDDEN,
            "{headers:?}"
        );
        assert!(victim.jar.keys().all(|n| !n.starts_with("_a0_session")));
        let profile = victim.get(&format!("{base}/profile")).await;
        assert!(profile.status().is_redirection(), "{headers:?}");
    }
    // Refused before the exchange: the token is still good from the app's own page.
    let response = attacker.post_form_with(&url, &form, SAME_ORIGIN).await;
    assert_eq!(response.headers()["location"], "/profile");
}

/// The app against a dev tenant it does not know it runs (as against a real tenant): no
/// dev-only page or note. Returns the base URL and the tenant (kept alive by the caller).
async fn app_on_a_tenant_it_does_not_run() -> (String, auth0_dev_tenant::RunningDevTenant) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let (builder, tenant) = quickstart::dev_tenant_client(port, &format!("{base}/callback"))
        .await
        .unwrap();
    let settings = quickstart::Settings {
        builder: builder.secret(auth0_server::generate_secret()),
        store: StoreChoice::Memory,
        transactions: TransactionChoice::Cookie,
        audience: Some(quickstart::DEV_AUDIENCE.to_owned()),
        dev_tenant: None,
    };
    let router = quickstart::app(&settings).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, tenant)
}

#[tokio::test]
async fn off_the_dev_tenant_no_page_shows_a_dev_code_or_issues_a_legacy_token() {
    let (base, tenant) = app_on_a_tenant_it_does_not_run().await;
    let mut browser = Browser::new();
    let page = send_code(&mut browser, &base, "grace@example.com").await;
    assert!(page.contains("id=\"sent\""), "{page}");
    assert!(
        !page.contains("dev-code") && !page.contains("dev-note"),
        "{page}"
    );
    let code = tenant
        .tenant()
        .passwordless_code("grace@example.com")
        .unwrap();
    assert!(!page.contains(&code), "{page}");
    let legacy = browser.get(&format!("{base}/legacy-login")).await;
    assert_eq!(legacy.status(), reqwest::StatusCode::NOT_FOUND);
    let url = format!("{base}/legacy-login/issue");
    let issue = browser
        .post_form_with(&url, &[("email", "grace@example.com")], SAME_ORIGIN)
        .await;
    assert_eq!(issue.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_profile_links_the_dev_connection_account_and_shows_the_identities() {
    // Every store: the cookie (the feature tokens must fit it), memory, Redis, PostgreSQL.
    for store in support::stores() {
        the_profile_links_the_dev_connection_account_and_shows_the_identities_with(store).await;
    }
}

async fn the_profile_links_the_dev_connection_account_and_shows_the_identities_with(
    store: StoreChoice,
) {
    let (mut browser, base, _settings) = logged_in(store).await;
    let url = format!("{base}/profile");
    let response = browser.get(&url).await;
    let (_, profile) = browser.follow(url.clone(), response).await;
    assert!(profile.contains("action=\"/link\""), "{profile}");
    assert!(
        !element(&profile, "claims").contains("identities"),
        "{profile}"
    );

    // Another site cannot start a link for the user.
    let link = format!("{base}/link");
    let refused = browser.post_form_with(&link, &[], CROSS_SITE).await;
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);

    let response = browser.post_form_with(&link, &[], SAME_ORIGIN).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let (landed, profile) = browser.follow(link, response).await;
    assert_eq!(landed, url);
    assert!(
        browser
            .visited
            .iter()
            .any(|u| u.starts_with(&format!("{base}/link/callback?"))),
        "completed at the link's own callback: {:?}",
        browser.visited
    );
    let claims = element(&profile, "claims");
    let claims: serde_json::Value = serde_json::from_str(&claims).unwrap();
    let connections: Vec<&str> = claims["identities"]
        .as_array()
        .unwrap_or_else(|| panic!("no identities: {claims}"))
        .iter()
        .filter_map(|i| i["connection"].as_str())
        .collect();
    assert!(connections.contains(&"dev-connection"), "{connections:?}");
    assert_eq!(
        claims["email"], "ada@example.com",
        "the user is kept: {claims}"
    );

    // The callback replayed is refused, and the session stays.
    let callback = browser
        .visited
        .iter()
        .find(|u| u.contains("/link/callback?"))
        .unwrap()
        .clone();
    let replay = browser.get(&callback).await;
    assert!(replay.status().is_client_error(), "{}", replay.status());
    assert!(browser.get(&url).await.status().is_success());
}

#[tokio::test]
async fn what_a_visitor_types_comes_back_escaped() {
    let (base, _settings) = started_app(StoreChoice::Memory, TransactionChoice::Cookie).await;
    let mut browser = Browser::new();
    let hostile = "\"><script>alert(1)</script>@example.com";
    let url = format!("{base}/passwordless/verify");
    let form = [("email", hostile), ("code", "000000")];
    let response = browser.post_form_with(&url, &form, SAME_ORIGIN).await;
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"error\""), "{page}");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert_eq!(field(&page, "email"), hostile, "escaped, not dropped");
}

#[tokio::test]
async fn every_feature_form_refuses_a_post_that_is_not_from_this_very_origin() {
    let (mut browser, base, _) = logged_in(StoreChoice::Memory).await;
    let port = base.rsplit(':').next().unwrap();
    let other_port = format!("http://127.0.0.1:{}", port.parse::<u16>().unwrap() ^ 1);
    let other_scheme = base.replace("http://", "https://");
    // DNS rebinding: the attacker's name resolves to this app, so Host and Origin agree.
    let rebound = format!("rebound.example:{port}");
    let rebound_origin = format!("http://{rebound}");
    let near: [&[(&str, &str)]; 6] = [
        &[("origin", "null")],
        &[("sec-fetch-site", "same-site"), ("origin", &base)],
        &[("sec-fetch-site", "none")],
        &[("origin", &other_port)],
        &[("origin", &other_scheme)],
        &[("host", &rebound), ("origin", &rebound_origin)],
    ];
    let forms = [
        "/passwordless",
        "/passwordless/verify",
        "/legacy-login",
        "/legacy-login/issue",
        "/step-up/enroll",
        "/step-up/verify",
        "/link",
        "/profile/sessions/revoke",
        "/profile/sessions/revoke-others",
    ];
    let form = [("email", "mallory@example.com"), ("code", "000000")];
    for path in forms {
        for headers in near {
            let url = format!("{base}{path}");
            let response = browser.post_form_with(&url, &form, headers).await;
            assert_eq!(
                response.status(),
                reqwest::StatusCode::FORBIDDEN,
                "{path} {headers:?}"
            );
        }
    }
    // Still logged in: no refused post ended the session.
    let profile = browser.get(&format!("{base}/profile")).await;
    assert_eq!(profile.status(), reqwest::StatusCode::OK);
}
