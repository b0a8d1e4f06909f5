//! The quickstart in a real browser: headless Chromium, driven through chromedriver
//! (WebDriver), opens the home page, logs in at the local dev tenant's form, sees the profile,
//! calls the API and logs out; then the profile is protected again. And another site's link
//! to the app's logout: the page that asks, not a logout, until its button is pressed.
//!
//! Needs `CHROMEDRIVER_URL`, a chromedriver on loopback: `./scripts/test` starts one with
//! `scripts/chromium.sh start`, which also installs Debian's `chromium` and `chromium-driver`.
//! Unset, the test skips with a loud message, or fails when `CI` is set.
//!
//! The profile page's screenshot is written to `target/tmp/quickstart-profile.png`; with
//! `UPDATE_SCREENSHOT=1`, also to `docs/quickstart-profile.png` (the one the docs show).

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fantoccini::error::CmdError;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use quickstart::{DEV_AUDIENCE, StoreChoice, TransactionChoice};
use serde_json::json;
use support::started_app;

/// Debian's Chromium (`apt-get install chromium`); when it is elsewhere, chromedriver looks.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How Chromium is started. This machine has no network: without the background-networking
/// switches Chromium's own connections (updates, sync, QUIC probes) are refused by the dozen.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
/// The browser window: headless Chromium draws a viewport about 140 px shorter (1280×817),
/// tall enough for the whole profile page, footer included.
const WINDOW: (u32, u32) = (1280, 960);
/// How long one step (a page to load, an element to appear) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the whole journey may take.
const JOURNEY_TIMEOUT: Duration = Duration::from_secs(120);
/// The smallest screenshot taken as a drawn page: a blank or unstyled 1280×800 page
/// compresses to far less.
const MIN_SCREENSHOT_BYTES: usize = 20_000;
/// The first bytes of every PNG file.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
/// Set to `1` to write the screenshot to `docs/` as well.
const UPDATE_SCREENSHOT: &str = "UPDATE_SCREENSHOT";

const EMAIL: &str = "ada@example.com";
const NAME: &str = "Ada Lovelace";

/// The chromedriver to use, or `None` after a loud skip notice (a panic when `CI` is set).
fn chromedriver_url() -> Option<String> {
    match std::env::var("CHROMEDRIVER_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CHROMEDRIVER_URL is not set and CI is: run ./scripts/test (it starts chromedriver \
             with scripts/chromium.sh)"
        ),
        _ => {
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = std::io::stderr().write_all(
                b"\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                  !! SKIPPED: the quickstart in headless Chromium is NOT tested.\n\
                  !! CHROMEDRIVER_URL is not set. Run ./scripts/test, or\n\
                  !!   eval \"$(scripts/chromium.sh start)\"\n\
                  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
            );
            None
        }
    }
}

/// A fresh Chromium profile directory, removed when dropped.
struct UserDataDir(PathBuf);

impl UserDataDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "quickstart-chromium-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for UserDataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new headless Chromium session through the chromedriver at `url`.
async fn open_browser(url: &str, profile: &UserDataDir) -> Client {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&f| f.to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.0.display()));
    args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
    let mut options = json!({ "args": args });
    if Path::new(CHROMIUM).exists() {
        options["binary"] = json!(CHROMIUM);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".to_owned(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("chromedriver at {url} gave no Chromium session: {e}"));
    client
        .update_timeouts(TimeoutConfiguration::new(
            Some(STEP_TIMEOUT),
            Some(STEP_TIMEOUT),
            Some(Duration::ZERO),
        ))
        .await
        .unwrap();
    client
}

/// Waits until the browser is at `url` (after redirects), and returns the page's text.
async fn wait_for_page(client: &Client, url: &str) -> Result<String, CmdError> {
    let expected = url::Url::parse(url).unwrap();
    match client.wait().at_most(STEP_TIMEOUT).for_url(&expected).await {
        Ok(()) => {}
        Err(CmdError::WaitTimeout) => {
            let at = client.current_url().await?;
            let page = client.find(Locator::Css("body")).await?.text().await?;
            panic!("the browser never reached {expected}: it is at {at}, showing:\n{page}");
        }
        Err(e) => return Err(e),
    }
    client.find(Locator::Css("body")).await?.text().await
}

/// Checks that `png` is a drawn page as wide as the window.
fn check_screenshot(png: &[u8]) {
    assert!(png.starts_with(PNG_SIGNATURE), "not a PNG");
    // The IHDR chunk comes first: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!(width, WINDOW.0, "the screenshot is as wide as the window");
    assert!(height > WINDOW.1 / 2, "a screenshot of {width}×{height}");
    assert!(
        png.len() >= MIN_SCREENSHOT_BYTES,
        "a {} byte screenshot is a blank page, not a drawn one",
        png.len()
    );
}

/// Saves the profile's screenshot under target/, and in docs/ when asked.
fn save_screenshot(png: &[u8]) {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quickstart-profile.png");
    std::fs::write(&target, png).unwrap();
    let mut saved = vec![target];
    if std::env::var(UPDATE_SCREENSHOT).as_deref() == Ok("1") {
        // examples/quickstart → the workspace's docs/.
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .unwrap();
        let docs = workspace.join("docs/quickstart-profile.png");
        std::fs::write(&docs, png).unwrap();
        saved.push(docs);
    }
    let _ = std::io::stderr()
        .write_all(format!("browser.rs: the profile's screenshot is in {saved:?}\n").as_bytes());
}

/// The journey, step by step, as a person would click through it. With a server-side
/// store (`listed`), the profile lists this session under "Your sessions", and its
/// screenshot is the one the docs show.
async fn journey(client: &Client, base: &str, listed: bool) -> Result<(), CmdError> {
    let timeout = STEP_TIMEOUT;

    // Home, logged out: a login button.
    client.goto(&format!("{base}/")).await?;
    let button = client.find(Locator::Id("login-button")).await?;
    assert_eq!(button.text().await?.trim(), "Log in");
    let styled = client
        .execute(
            "return [...document.styleSheets].reduce((n, s) => n + s.cssRules.length, 0);",
            vec![],
        )
        .await?;
    assert!(
        styled.as_u64().unwrap_or(0) > 0,
        "the stylesheet loads: {styled}"
    );
    button.click().await?;

    // The dev tenant's login form (another port: not the app).
    let email = client
        .wait()
        .at_most(timeout)
        .for_element(Locator::Css("form input[type=email]#email"))
        .await?;
    let at = client.current_url().await?;
    assert!(
        at.path().ends_with("/authorize") && !at.as_str().starts_with(base),
        "at the tenant's login form: {at}"
    );
    email.send_keys(EMAIL).await?;
    client
        .find(Locator::Css("form input#name"))
        .await?
        .send_keys(NAME)
        .await?;
    client
        .find(Locator::Css("form button[value=login]"))
        .await?
        .click()
        .await?;

    // Back home (the login button's default return), logged in.
    let home = wait_for_page(client, &format!("{base}/")).await?;
    assert!(home.contains(&format!("Welcome, {NAME}!")), "{home}");
    client.find(Locator::Id("logout")).await?;

    // The profile: the name and e-mail typed in the form.
    client
        .find(Locator::Css("nav a[href='/profile']"))
        .await?
        .click()
        .await?;
    wait_for_page(client, &format!("{base}/profile")).await?;
    let name = client.find(Locator::Css("h1#name")).await?.text().await?;
    let email = client.find(Locator::Css("p#email")).await?.text().await?;
    assert_eq!((name.as_str(), email.as_str()), (NAME, EMAIL));
    let picture = client
        .execute(
            "const img = document.querySelector('.profile img');
             return img === null ? 'none' : (img.complete && img.naturalWidth > 0 ? 'loaded' : img.src);",
            vec![],
        )
        .await?;
    assert!(
        picture == json!("loaded") || picture == json!("none"),
        "the profile picture does not load: {picture}"
    );
    if listed {
        let sessions = client.find(Locator::Css("#sessions")).await?.text().await?;
        assert!(sessions.contains("(this browser)"), "{sessions}");
        let png = client.screenshot().await?;
        check_screenshot(&png);
        save_screenshot(&png);
    } else {
        // The cookie store cannot list sessions, and the section says why.
        client.find(Locator::Css("#sessions-note")).await?;
    }

    // An API call with an access token for the audience.
    client.goto(&format!("{base}/api-call")).await?;
    let api = wait_for_page(client, &format!("{base}/api-call")).await?;
    assert!(api.contains("Access token retrieved"), "{api}");
    assert!(api.contains(DEV_AUDIENCE), "{api}");

    // Logout, through the tenant and back home, logged out.
    client.find(Locator::Id("logout")).await?.click().await?;
    wait_for_page(client, &format!("{base}/")).await?;
    client
        .wait()
        .at_most(timeout)
        .for_element(Locator::Id("login-button"))
        .await?;

    // The profile is protected again: it sends the browser to the tenant's form.
    client.goto(&format!("{base}/profile")).await?;
    client
        .wait()
        .at_most(timeout)
        .for_element(Locator::Css("form input[type=email]#email"))
        .await?;
    let at = client.current_url().await?;
    assert!(
        at.path().ends_with("/authorize"),
        "logged out: the profile asks for a login again, at {at}"
    );
    Ok(())
}

#[tokio::test]
async fn quickstart_journey_in_headless_chromium() {
    let Some(chromedriver) = chromedriver_url() else {
        return;
    };
    // The cookie store (the default: the session in the browser's cookies) and a server-side
    // one (the profile lists the user's sessions).
    for (store, listed) in [(StoreChoice::Cookie, false), (StoreChoice::Memory, true)] {
        // The app on 127.0.0.1, its callback on the same host (cookies are per host).
        let (base, _settings) = started_app(store, TransactionChoice::Cookie).await;
        let profile = UserDataDir::new();
        let client = open_browser(&chromedriver, &profile).await;
        // In a task, so that a failed assertion still closes the browser below.
        let outcome =
            tokio::spawn({
                let client = client.clone();
                async move {
                    tokio::time::timeout(JOURNEY_TIMEOUT, journey(&client, &base, listed)).await
                }
            })
            .await;
        let _ = client.close().await;
        match outcome {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("the browser failed a step: {e}"),
            Ok(Err(_)) => panic!("the journey took more than {JOURNEY_TIMEOUT:?}"),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// Logs in from the home page through the dev tenant's form, back home.
async fn log_in(client: &Client, base: &str) -> Result<(), CmdError> {
    client.goto(&format!("{base}/")).await?;
    client
        .find(Locator::Id("login-button"))
        .await?
        .click()
        .await?;
    client
        .wait()
        .at_most(STEP_TIMEOUT)
        .for_element(Locator::Css("form input[type=email]#email"))
        .await?
        .send_keys(EMAIL)
        .await?;
    client
        .find(Locator::Css("form input#name"))
        .await?
        .send_keys(NAME)
        .await?;
    client
        .find(Locator::Css("form button[value=login]"))
        .await?
        .click()
        .await?;
    let home = wait_for_page(client, &format!("{base}/")).await?;
    assert!(home.contains(&format!("Welcome, {NAME}!")), "{home}");
    Ok(())
}

/// Another site's link to the app's logout, followed by a real browser (which sends the
/// session cookie along: SameSite=Lax allows it on a top-level GET, and says
/// `Sec-Fetch-Site: cross-site`): the page that asks, and the user stays logged in until
/// they press its button.
async fn cross_site_journey(client: &Client, base: &str, other_site: &str) -> Result<(), CmdError> {
    log_in(client, base).await?;

    client.goto(other_site).await?;
    client.find(Locator::Id("evil")).await?.click().await?;
    let page = wait_for_page(client, &format!("{base}/logout")).await?;
    assert!(page.contains("Log out?"), "the page that asks: {page}");
    client.goto(&format!("{base}/profile")).await?;
    let profile = wait_for_page(client, &format!("{base}/profile")).await?;
    assert!(
        profile.contains(NAME),
        "another site's link logged the user out: {profile}"
    );

    // The user does mean to log out: the page's button (a same-origin POST) does it.
    client.goto(other_site).await?;
    client.find(Locator::Id("evil")).await?.click().await?;
    wait_for_page(client, &format!("{base}/logout")).await?;
    client
        .find(Locator::Id("logout-confirm"))
        .await?
        .click()
        .await?;
    wait_for_page(client, &format!("{base}/")).await?;
    client
        .wait()
        .at_most(STEP_TIMEOUT)
        .for_element(Locator::Id("login-button"))
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_logout_link_on_another_site_asks_first_in_headless_chromium() {
    let Some(chromedriver) = chromedriver_url() else {
        return;
    };
    let (base, _settings) = started_app(StoreChoice::Cookie, TransactionChoice::Cookie).await;

    // Another site: `localhost` is not the same site as `127.0.0.1` for the browser.
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_site = format!("http://localhost:{}/", other.local_addr().unwrap().port());
    let link = format!(r#"<!doctype html><a id="evil" href="{base}/logout">Win a prize</a>"#);
    let page = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(link) }),
    );
    tokio::spawn(async move { axum::serve(other, page).await.unwrap() });

    let profile = UserDataDir::new();
    let client = open_browser(&chromedriver, &profile).await;
    let outcome = tokio::spawn({
        let client = client.clone();
        async move {
            tokio::time::timeout(
                JOURNEY_TIMEOUT,
                cross_site_journey(&client, &base, &other_site),
            )
            .await
        }
    })
    .await;
    let _ = client.close().await;
    match outcome {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => panic!("the browser failed a step: {e}"),
        Ok(Err(_)) => panic!("the journey took more than {JOURNEY_TIMEOUT:?}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
