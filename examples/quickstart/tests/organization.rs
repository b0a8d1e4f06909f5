//! Organizations in the quickstart: `/login?organization=…` logs in to the dev tenant's
//! organization, and the profile shows it; a login without one shows none.

mod support;

use quickstart::{DEV_ORGANIZATION, StoreChoice, TransactionChoice};
use support::{Browser, finish_login, started_app};

/// Logs in from `login` (a path of the app) and returns the profile page's HTML.
async fn profile_after(base: &str, login: &str) -> String {
    let mut browser = Browser::new();
    let start = format!("{base}{login}");
    let response = browser.get(&start).await;
    let (url, profile) = finish_login(&mut browser, start, response).await;
    assert!(url.ends_with("/profile"), "back on the profile: {url}");
    profile
}

#[tokio::test]
async fn the_profile_shows_the_organization_the_user_logged_in_to() {
    let (base, _settings) = started_app(StoreChoice::Cookie, TransactionChoice::Cookie).await;
    let (id, name) = DEV_ORGANIZATION;
    for asked in [name, id] {
        let profile = profile_after(
            &base,
            &format!("/login?organization={asked}&returnTo=/profile"),
        )
        .await;
        let shown = format!("Organization: <strong>{name}</strong> <code>{id}</code>");
        assert!(
            profile.contains("id=\"organization\"") && profile.contains(&shown),
            "asked {asked}: {profile}"
        );
    }
    let profile = profile_after(&base, "/login?returnTo=/profile").await;
    assert!(!profile.contains("id=\"organization\""), "{profile}");
}
