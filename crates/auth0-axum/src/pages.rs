//! The pages the integration answers with when something goes wrong: what happened, and
//! what to do about it.

use std::sync::LazyLock;

use auth0_pages::Pages;
use auth0_server_core::client::Error;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

/// The integration's pages, around the SDK's base layout.
static PAGES: LazyLock<Pages> = LazyLock::new(|| {
    Pages::new(&[
        ("error.html", include_str!("../templates/error.html")),
        ("message.html", include_str!("../templates/message.html")),
        (
            "missing_layer.html",
            include_str!("../templates/missing_layer.html"),
        ),
        ("logout.html", include_str!("../templates/logout.html")),
    ])
});

/// The page `name` with `context`, as a response with `status`; a page that cannot be
/// rendered (a bug of ours) is a plain-text 500 that says so, and the reason is logged.
/// One of the crate's pages: none is ever cached (an error page of a logged-in user, a
/// logout confirmation), so each says `Cache-Control: no-store`.
fn page(status: StatusCode, name: &str, context: &impl Serialize) -> Response {
    let no_store = [(CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    match PAGES.render(name, context) {
        Ok(html) => (status, no_store, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "an auth0-axum page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "auth0-axum could not render its page; the server log says why.",
            )
                .into_response()
        }
    }
}

/// What the error page says.
#[derive(Serialize)]
struct ErrorPage<'a> {
    title: &'static str,
    /// What to do, as text.
    advice: String,
    /// The provider refused the callback URL: the advice names `callback_path`.
    callback_refused: bool,
    callback_path: &'a str,
    /// The provider's own words, when it gave a reason.
    provider_said: Option<&'a str>,
    login_path: &'a str,
    code: &'static str,
}

/// The status, title and advice for an SDK error.
pub(crate) fn describe(error: &Error) -> (StatusCode, &'static str, String) {
    if let Error::InvalidCallback(reason) = error {
        let advice = format!("{reason}. Start the login again.");
        return (
            StatusCode::BAD_REQUEST,
            "This is not a usable login callback",
            advice,
        );
    }
    let known = login_refusal(error)
        .or_else(|| provider_failure(error))
        .or_else(|| store_failure(error));
    match known {
        Some((status, title, advice)) => (status, title, advice.to_owned()),
        None => (
            StatusCode::BAD_REQUEST,
            "The login did not succeed",
            error.to_string(),
        ),
    }
}

/// Status, title and advice: a page's words for one kind of error.
type Described = (StatusCode, &'static str, &'static str);

/// A login this browser or site cannot complete, or the provider refused.
fn login_refusal(error: &Error) -> Option<Described> {
    Some(match error {
        Error::MissingTransaction => (
            StatusCode::BAD_REQUEST,
            "This login cannot be completed in this browser",
            "It was started in another browser (a login link works only in the browser that \
             asked for it), or it expired or was already used. For your safety nobody was \
             logged in. Start the login again.",
        ),
        Error::Authorization { error, .. } if error == "access_denied" => (
            StatusCode::BAD_REQUEST,
            "The login did not succeed",
            "The login was cancelled or refused. Try again, or ask the app's administrator \
             for access.",
        ),
        Error::Authorization { .. } => (
            StatusCode::BAD_REQUEST,
            "The login did not succeed",
            "The identity provider refused the login.",
        ),
        Error::IssuerMismatch { .. } => (
            StatusCode::BAD_REQUEST,
            "The login came from an unexpected provider",
            "The callback names another issuer than AUTH0_DOMAIN. Check AUTH0_DOMAIN, and \
             start the login again.",
        ),
        Error::UnknownDomain { .. } => (
            StatusCode::MISDIRECTED_REQUEST,
            "This site is not served here",
            "The address this request was sent to is not one of the app's sites (its domain \
             resolver knows no Auth0 domain for it). Use the site's usual address.",
        ),
        Error::DomainMismatch { .. } => (
            StatusCode::BAD_REQUEST,
            "This login belongs to another site",
            "The login was started on another of the app's sites than the one its callback \
             came back to. For your safety nobody was logged in. Start the login again.",
        ),
        _ => return None,
    })
}

/// The provider, or the way to it, failed.
fn provider_failure(error: &Error) -> Option<Described> {
    Some(match error {
        Error::ClientAuthentication { method, .. } if *method == "private_key_jwt" => (
            StatusCode::BAD_GATEWAY,
            "The app could not authenticate to Auth0",
            "Check AUTH0_CLIENT_ID, and that the public key registered for the application in \
             the Auth0 Dashboard (Credentials) is the one of AUTH0_CLIENT_ASSERTION_SIGNING_KEY.",
        ),
        Error::ClientAuthentication { .. } => (
            StatusCode::BAD_GATEWAY,
            "The app could not authenticate to Auth0",
            "Check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET against the application's settings \
             in the Auth0 Dashboard.",
        ),
        Error::TokenEndpoint { status, .. } if *status >= 500 => (
            StatusCode::BAD_GATEWAY,
            "The identity provider failed",
            "Its token endpoint answered with a server error. Try again in a moment.",
        ),
        Error::Network { .. } | Error::Discovery { .. } => (
            StatusCode::BAD_GATEWAY,
            "The identity provider cannot be reached",
            "Check AUTH0_DOMAIN and the network, then try again.",
        ),
        Error::Timeout { .. } => (
            StatusCode::GATEWAY_TIMEOUT,
            "The identity provider did not answer in time",
            "Its answer did not complete within the app's request timeout. Try again in a \
             moment.",
        ),
        Error::ResponseTooLarge { .. } => (
            StatusCode::BAD_GATEWAY,
            "The identity provider's answer was too large",
            "It was reached, but its answer was far larger than any it should send, and was \
             refused unread. Check that AUTH0_DOMAIN names your Auth0 tenant and that no proxy \
             in between alters its answers.",
        ),
        _ => return None,
    })
}

/// The session store failed, or the session it would hold has already ended.
fn store_failure(error: &Error) -> Option<Described> {
    Some(match error {
        Error::Store(auth0_server_core::store::StoreError::SessionExpired) => (
            StatusCode::BAD_REQUEST,
            "The session would already have ended",
            "The identity provider limits this session to a time that has already passed \
             (session_expiry), so you are not logged in. Check this server's clock, then log \
             in again.",
        ),
        Error::Store(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Sessions cannot be read or saved right now",
            "The session store is not answering. Try again in a moment.",
        ),
        _ => return None,
    })
}

/// The page for an SDK error, naming the cause and the fix.
pub(crate) fn error_page(error: &Error, login_path: &str, callback_path: &str) -> Response {
    let (status, title, advice) = describe(error);
    // The provider's own words, and whether they say it refused the callback URL.
    let (provider_said, callback_refused) = match error {
        Error::Authorization { error, description } => {
            let said = description.as_deref().unwrap_or(error);
            let about_callback = said.contains("redirect_uri") || said.contains("callback");
            (Some(said), error != "access_denied" && about_callback)
        }
        _ => (None, false),
    };
    tracing::warn!(code = error.code(), "{error}");
    page(
        status,
        "error.html",
        &ErrorPage {
            title,
            advice,
            callback_refused,
            callback_path,
            provider_said,
            login_path,
            code: error.code(),
        },
    )
}

/// A page's title and one paragraph of text.
#[derive(Serialize)]
struct Message<'a> {
    title: &'a str,
    text: &'a str,
}

/// The page when the bridge layer is missing: a programming error, said plainly.
pub(crate) fn missing_layer() -> Response {
    let title = "auth0-axum is not set up";
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "missing_layer.html",
        &Message { title, text: "" },
    )
}

/// A plain page (for the routes' own messages).
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, "message.html", &Message { title, text })
}

/// The page that asks before logging out, for a logout request that may come from another
/// site: a same-origin `POST` form to `logout_path`, carrying `return_to` (already checked),
/// and a way back to `stay` without logging out.
///
/// It may not be framed (so no other site can overlay its button), not cached, and sends a
/// same-origin `Referer` with its form even where the app hides referrers, so that a browser
/// without Fetch Metadata or `Origin` on `POST` can still confirm.
pub(crate) fn logout_confirmation(
    status: StatusCode,
    logout_path: &str,
    return_to: Option<&str>,
    stay: &str,
) -> Response {
    #[derive(Serialize)]
    struct Confirmation<'a> {
        title: &'static str,
        logout_path: &'a str,
        return_to: Option<&'a str>,
        stay: &'a str,
    }
    let confirmation = Confirmation {
        title: "Log out?",
        logout_path,
        return_to,
        stay,
    };
    let mut response = page(status, "logout.html", &confirmation);
    let headers = response.headers_mut();
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth0_server_core::store::StoreError;

    #[test]
    fn a_login_past_its_session_expiry_is_a_400_that_says_why_not_a_store_outage() {
        let response = error_page(
            &Error::Store(StoreError::SessionExpired),
            "/login",
            "/callback",
        );
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn error_pages_and_the_logout_confirmation_are_never_cached() {
        let error = error_page(&Error::MissingSession, "/login", "/callback");
        let confirm = logout_confirmation(StatusCode::OK, "/logout", None, "/");
        for response in [error, confirm] {
            let cache = response.headers().get(CACHE_CONTROL);
            assert_eq!(cache.map(|v| v.as_bytes()), Some(&b"no-store"[..]));
        }
    }

    #[test]
    fn a_timeout_and_a_too_large_answer_have_their_own_words_not_cannot_be_reached() {
        let timeout = Error::Timeout {
            url: "https://tenant.example/".into(),
            after: std::time::Duration::from_secs(15),
        };
        let (status, title, _) = describe(&timeout);
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(title, "The identity provider did not answer in time");
        let too_large = Error::ResponseTooLarge {
            what: "jwks",
            url: "https://tenant.example/.well-known/jwks.json".into(),
            limit: 1 << 20,
            status: 200,
        };
        let (status, title, advice) = describe(&too_large);
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(title, "The identity provider's answer was too large");
        assert!(advice.contains("refused unread"), "{advice}");
    }

    #[test]
    fn every_page_renders_as_html() {
        let refused = Error::Authorization {
            error: "invalid_request".into(),
            description: Some("redirect_uri mismatch".into()),
        };
        let pages = [
            error_page(&refused, "/login", "/callback"),
            error_page(&Error::MissingTransaction, "/login", "/callback"),
            error_page(&Error::InvalidCallback("no code".into()), "/login", "/cb"),
            missing_layer(),
            message(StatusCode::BAD_REQUEST, "Invalid logout token", "expired"),
            logout_confirmation(StatusCode::OK, "/logout", Some("/"), "/"),
            logout_confirmation(StatusCode::OK, "/logout", None, "/"),
        ];
        for response in pages {
            assert_eq!(
                response.headers()[axum::http::header::CONTENT_TYPE],
                "text/html; charset=utf-8",
                "a page that could not be rendered is plain text"
            );
        }
    }
}
