//! The HTML the browser sees: the login form, error pages, the logged-out page and the home
//! page, from the templates in `templates/` around the SDK's base layout (which escapes
//! every value). Every page says plainly that this is a local development tenant, not Auth0.

use std::sync::LazyLock;

use auth0_pages::{PageError, Pages};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The banner at the top of every page.
pub const BANNER: &str = "Local development tenant — not Auth0";

/// The page's security headers: no framing, no scripts, nothing cached, no referrer.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The tenant's pages; `layout.html` adds the banner to the SDK's base layout.
static PAGES: LazyLock<Pages> = LazyLock::new(|| {
    Pages::new(&[
        ("layout.html", include_str!("../templates/layout.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("error.html", include_str!("../templates/error.html")),
        (
            "logged_out.html",
            include_str!("../templates/logged_out.html"),
        ),
        ("home.html", include_str!("../templates/home.html")),
    ])
    .with_global("banner", BANNER)
});

/// A rendered page, or why it could not be.
pub(crate) type Page = Result<String, PageError>;

/// A page as a response, with the security headers.
pub(crate) fn respond(status: StatusCode, page: Page) -> Response {
    let mut response = match page {
        Ok(html) => (status, html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a dev tenant page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The dev tenant could not render this page; its log says why.",
            )
                .into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// What the login form shows.
#[derive(Serialize)]
pub(crate) struct LoginForm<'a> {
    pub(crate) action: &'a str,
    pub(crate) interaction: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) email: &'a str,
    pub(crate) name: &'a str,
    pub(crate) error: Option<&'a str>,
}

/// The login form: any e-mail address logs in; "Cancel" refuses the login.
pub(crate) fn login(form: &LoginForm<'_>) -> Page {
    #[derive(Serialize)]
    struct Context<'a> {
        title: &'static str,
        #[serde(flatten)]
        form: &'a LoginForm<'a>,
    }
    PAGES.render(
        "login.html",
        &Context {
            title: "Log in",
            form,
        },
    )
}

/// An error shown to the user instead of a redirect: what happened and what to do.
pub(crate) fn error(title: &str, what: &str, fix: &str) -> Page {
    #[derive(Serialize)]
    struct Context<'a> {
        title: &'a str,
        what: &'a str,
        fix: &'a str,
    }
    PAGES.render("error.html", &Context { title, what, fix })
}

/// After a logout with nowhere (allowed) to go.
pub(crate) fn logged_out(refused_return: Option<&str>) -> Page {
    #[derive(Serialize)]
    struct Context<'a> {
        title: &'static str,
        refused_return: Option<&'a str>,
    }
    PAGES.render(
        "logged_out.html",
        &Context {
            title: "Logged out",
            refused_return,
        },
    )
}

/// The home page: what this is and how to point an app at it.
pub(crate) fn home(issuer: &str, client_id: &str) -> Page {
    #[derive(Serialize)]
    struct Context<'a> {
        title: &'static str,
        domain: &'a str,
        client_id: &'a str,
        issuer: &'a str,
    }
    PAGES.render(
        "home.html",
        &Context {
            title: "Local development tenant",
            domain: issuer.trim_end_matches('/'),
            client_id,
            issuer,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_text_and_attributes() {
        let page = login(&LoginForm {
            action: "http://127.0.0.1:1/u/login",
            interaction: "\"><script>",
            client_id: "<b>",
            redirect_uri: "http://localhost/cb?a=1&b='2'",
            email: "\" onfocus=\"x",
            name: "",
            error: Some("<i>"),
        })
        .unwrap();
        assert!(!page.contains("<script>") && !page.contains("<b>") && !page.contains("<i>"));
        assert!(page.contains("&quot; onfocus=&quot;x"));
        assert!(page.contains("a=1&amp;b=&#x27;2&#x27;"));
        assert!(page.contains(BANNER));
    }

    #[test]
    fn every_page_renders_with_the_banner() {
        let pages = [
            login(&LoginForm {
                action: "",
                interaction: "",
                client_id: "",
                redirect_uri: "",
                email: "",
                name: "",
                error: None,
            }),
            error("t", "w", "f"),
            logged_out(None),
            logged_out(Some("https://elsewhere.example/")),
            home("http://127.0.0.1:1/", "client"),
        ];
        for page in pages {
            let page = page.unwrap();
            assert!(
                page.contains(BANNER) && page.contains("· dev tenant</title>"),
                "{page}"
            );
        }
    }
}
