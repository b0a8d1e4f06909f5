//! A user whose name or e-mail address looks like markup or like template syntax, typed into
//! the dev tenant's login form, sees it on the quickstart's pages as typed: escaped, never
//! read as HTML, never filled in as a placeholder.

mod support;

use quickstart::{StoreChoice, TransactionChoice};
use support::{Browser, started_app, submit_tenant_form, text};

/// (name, e-mail address) as an attacker types them into the login form.
const HOSTILE: &[(&str, &str)] = &[
    ("{{action}}", "{{email}}@example.com"),
    ("{{email}} {{store}} {{tenant}}", "{{name}}@example.com"),
    ("{% raw %}{{ title }}", "{%raw%}@example.com"),
    (
        "<script>alert(1)</script>",
        "<script>alert(1)</script>@example.com",
    ),
    ("\"><img src=x onerror=1>", "\"><img@example.com"),
];

/// The decoded text between `start` and the next `end` in `html`.
fn element(html: &str, start: &str, end: &str) -> String {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {html}"))
        + start.len();
    let to = from
        + html[from..]
            .find(end)
            .unwrap_or_else(|| panic!("no {end} in {html}"));
    text(&html[from..to])
}

/// Logs in as `name` <`email`> through the tenant's form; returns the profile page.
async fn log_in_as(browser: &mut Browser, base: &str, name: &str, email: &str) -> String {
    let response = browser.get(&format!("{base}/profile")).await;
    let (url, form) = browser.follow(format!("{base}/profile"), response).await;
    let (action, response) = submit_tenant_form(browser, &url, &form, email, name).await;
    let (url, profile) = browser.follow(action, response).await;
    assert!(url.ends_with("/profile"), "{url}: {profile}");
    profile
}

fn assert_no_markup_of_theirs(page: &str) {
    assert!(
        !page.contains("<script>") && !page.contains("<img src=x"),
        "the user's markup is in the page: {page}"
    );
}

#[tokio::test]
async fn a_name_like_a_placeholder_or_markup_is_shown_as_typed_on_the_profile() {
    let (base, _settings) = started_app(StoreChoice::Memory, TransactionChoice::Cookie).await;
    for (name, email) in HOSTILE {
        let mut browser = Browser::new();
        let profile = log_in_as(&mut browser, &base, name, email).await;
        assert_eq!(
            element(&profile, "<h1 id=\"name\">", "</h1>"),
            *name,
            "{profile}"
        );
        assert_eq!(
            element(&profile, "<p id=\"email\">", "</p>"),
            *email,
            "{profile}"
        );
        assert_no_markup_of_theirs(&profile);
        assert!(
            profile.contains("store: <code>memory</code>"),
            "the footer is the app's: {profile}"
        );
    }
}

#[tokio::test]
async fn a_name_like_a_placeholder_or_markup_is_shown_as_typed_on_the_home_page() {
    let (base, _settings) = started_app(StoreChoice::Cookie, TransactionChoice::Cookie).await;
    for (name, email) in HOSTILE {
        let mut browser = Browser::new();
        log_in_as(&mut browser, &base, name, email).await;
        let home = browser.get(&format!("{base}/")).await.text().await.unwrap();
        assert_eq!(
            element(&home, "<h1>", "</h1>"),
            format!("Welcome, {name}!"),
            "{home}"
        );
        assert_eq!(home.matches("class=\"button\"").count(), 1, "{home}");
        assert_no_markup_of_theirs(&home);
    }
}
