//! What a request carries is shown on the tenant's pages as text: markup and template syntax
//! in a query parameter or in what was typed into the login form are escaped, never read as
//! HTML, never filled in.

use auth0_test_support::dev_tenant as support;

use support::*;

/// Values an attacker puts in a link to the tenant or types into its form.
const HOSTILE: [&str; 4] = [
    "{{action}}{{ interaction }}",
    "{% raw %}{{ banner }}",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=1>",
];

/// `value` is in the page as text, and no markup of it is.
fn assert_shown_as_text(html: &str, value: &str) {
    assert!(
        !html.contains("<script>") && !html.contains("<img"),
        "markup from the request is in the page: {html}"
    );
    assert!(text(html).contains(value), "{value} is not shown: {html}");
}

/// The value of the form field `name` on the page.
fn field(html: &str, name: &str) -> String {
    let start = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name}: {html}"));
    let tag_start = html[..start].rfind('<').unwrap();
    let tag_end = start + html[start..].find('>').unwrap();
    attribute(&html[tag_start..=tag_end], "value").expect("a value")
}

#[tokio::test]
async fn markup_in_login_hint_or_redirect_uri_is_shown_as_text_on_the_login_form() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    for value in HOSTILE {
        let url = authorize_url(&setup.tenant, &setup.callback(), &[("login_hint", value)]);
        let (status, html) = browser.go(url, None).await.page();
        assert_eq!(status, 200, "{html}");
        assert_eq!(field(&html, "email"), value, "{html}");
        assert_shown_as_text(&html, value);

        let redirect_uri = format!("{}?next={value}", setup.callback());
        let url = authorize_url(&setup.tenant, &redirect_uri, &[]);
        let (_, html) = browser.go(url, None).await.page();
        assert_shown_as_text(&html, &redirect_uri);
    }
}

#[tokio::test]
async fn markup_in_a_client_id_is_shown_as_text_on_the_error_page() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    for value in HOSTILE {
        let url = authorize_url(&setup.tenant, &setup.callback(), &[("client_id", value)]);
        let (status, html) = browser.go(url, None).await.page();
        assert_eq!(status, 400, "{html}");
        assert!(html.contains("Unknown application"), "{html}");
        assert_shown_as_text(&html, &format!("{value:?}"));
    }
}

#[tokio::test]
async fn markup_typed_into_the_login_form_is_shown_back_as_text() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    for value in HOSTILE {
        let url = authorize_url(&setup.tenant, &setup.callback(), &[]);
        let (_, form) = browser.go(url, None).await.page();
        // Not an e-mail address: the form comes back with what was typed, and why.
        let fields = [("email", value), ("name", value), ("action", "login")];
        let (status, html) = browser.submit(&form, &fields).await.page();
        assert_eq!(status, 400, "{html}");
        assert_eq!(field(&html, "email"), value, "{html}");
        assert_eq!(field(&html, "name"), value, "{html}");
        assert_shown_as_text(&html, value);
    }
}

#[tokio::test]
async fn markup_in_a_refused_logout_return_url_is_shown_as_text() {
    let setup = Setup::start().await;
    let browser = Browser::new(&setup.tenant);
    for value in HOSTILE {
        let return_to = format!("https://evil.example/?{value}");
        let mut url = url::Url::parse(&format!("{}v2/logout", setup.tenant.issuer())).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", setup.tenant.client_id())
            .append_pair("returnTo", &return_to);
        let (status, html) = browser.go(url, None).await.page();
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("not an allowed logout URL"), "{html}");
        assert_shown_as_text(&html, &return_to);
    }
}
