//! The checks that start a login as the app would: the authorization request (is the
//! redirect URI, the audience, the scope accepted?) and a token request with a made-up
//! code (are the client credentials accepted?).

use auth0_server_core::client::{Error, ProviderMetadata, ServerClient, StartLoginOptions};
use auth0_server_core::store::StoreContext;
use reqwest::StatusCode;
use url::Url;

use super::report::Finding;

/// The code sent to the token endpoint: no provider issued it, so a provider that accepts
/// the credentials answers `invalid_grant`.
pub const MADE_UP_CODE: &str = "auth0-server-doctor-made-up-code";
/// How much of an error page is searched for what it is about.
const PAGE_EXCERPT_LEN: usize = 4096;

/// A login started as the app starts one: the authorization URL and the login's cookies.
pub(crate) struct Started {
    url: Url,
    cookies: Vec<(String, String)>,
}

/// Starts a login with the client, as `/login` would.
pub(crate) async fn start(client: &ServerClient) -> Result<Started, String> {
    let cx = StoreContext::new();
    let url = client
        .start_interactive_login(StartLoginOptions::default(), &cx)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Started {
        url,
        cookies: cx.cookies(),
    })
}

/// GETs the authorization URL without following it, and reads the answer: the login page
/// (or a redirect to it) means the request is accepted; an error page, or a redirect to an
/// error page or with `error`, that it is not.
#[tracing::instrument(name = "doctor.authorize", skip_all)]
pub(crate) async fn authorize(
    http: &reqwest::Client,
    client: &ServerClient,
    started: &Started,
) -> Finding {
    const CHECK: &str = "redirect_uri";
    let redirect = client
        .config()
        .redirect_uri()
        .map(|uri| super::settings::without_userinfo(uri.as_str()))
        .unwrap_or_default();
    let response = match http.get(started.url.clone()).send().await {
        Ok(response) => response,
        Err(e) => {
            // Without its URL: the authorization URL carries the redirect URI.
            let why = format!(
                "the authorization endpoint cannot be reached: {}",
                e.without_url()
            );
            return Finding::not_run(CHECK, why, "check AUTH0_DOMAIN and the network");
        }
    };
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| started.url.join(l).ok());
    if status.is_redirection() {
        return match location {
            Some(to) => redirected(&redirect, &to),
            None => Finding::not_run(CHECK, "a redirect without Location", "check the tenant"),
        };
    }
    if status.is_success() {
        return Finding::ok(CHECK, format!("the tenant accepts {redirect} (login page)"));
    }
    // Enough bytes for the excerpt's characters, however they are encoded.
    let body = super::body_head(response, PAGE_EXCERPT_LEN * 4).await;
    let body = String::from_utf8_lossy(&body);
    refused_page(&redirect, status, &body)
}

/// An authorization request answered by a redirect to `to`.
fn redirected(redirect: &str, to: &Url) -> Finding {
    let error = to
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    let description = to
        .query_pairs()
        .find(|(k, _)| k == "error_description")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let back_to_app = to.as_str().starts_with(redirect);
    match (error, back_to_app) {
        (None, _) if !to.path().ends_with("/error") => Finding::ok(
            "redirect_uri",
            format!("the tenant accepts {redirect} (redirects to its login page)"),
        ),
        (Some(error), true) => Finding::problem(
            "authorization_request",
            format!("the tenant accepts {redirect} but refuses the login: {error} {description}"),
            "every login comes back to the callback with this error (e.g. 'Service not \
             found' for an unknown AUTH0_AUDIENCE)",
            "fix what the error names: AUTH0_AUDIENCE must be an API identifier of the tenant \
             (Auth0 Dashboard → APIs), AUTH0_SCOPE scopes it allows",
        ),
        (error, _) => {
            let text = format!("{} {description}", error.unwrap_or_default());
            let answer = format!("redirect to {}: {}", to.path(), text.trim());
            refused(redirect, &answer, &text)
        }
    }
}

/// An authorization request answered by a page that is not the login page.
fn refused_page(redirect: &str, status: StatusCode, body: &str) -> Finding {
    let excerpt: String = body.chars().take(PAGE_EXCERPT_LEN).collect();
    refused(redirect, &format!("HTTP {status} error page"), &excerpt)
}

/// A refused authorization request: about the redirect URI when `text` (the error, or
/// the page) speaks of the redirect or the callback.
fn refused(redirect: &str, answer: &str, text: &str) -> Finding {
    let lower = text.to_lowercase();
    if lower.contains("redirect") || lower.contains("callback") {
        return mismatch(redirect, answer);
    }
    Finding::problem(
        "authorization_request",
        format!("the tenant refuses the authorization request ({answer})"),
        "every login stops on the tenant's error page",
        "open the authorization URL the app sends in a browser and read the tenant's error",
    )
}

fn mismatch(redirect: &str, answer: &str) -> Finding {
    Finding::problem(
        "redirect_uri",
        format!(
            "the tenant refuses the redirect URI {redirect} ({})",
            answer.trim()
        ),
        "every login stops on the tenant's error page: \"Callback URL mismatch\" / \
         \"redirect_uri did not match any of the client's registered redirect_uris\"",
        format!(
            "add {redirect} to the application's Allowed Callback URLs (Auth0 Dashboard → \
             Applications → your application → Settings), or set AUTH0_REDIRECT_URI to one \
             that is there"
        ),
    )
}

/// Completes the started login with a made-up code: the token endpoint answers
/// `invalid_grant` when it accepts the credentials, `invalid_client` when it does not.
#[tracing::instrument(name = "doctor.token", skip_all)]
pub(crate) async fn credentials(
    client: &ServerClient,
    started: Started,
    metadata: &ProviderMetadata,
) -> Finding {
    const CHECK: &str = "client_credentials";
    let method = client.config().client_authentication_method();
    let Some(mut callback) = client.config().redirect_uri().cloned() else {
        return Finding::not_run(CHECK, "no redirect URI", "set AUTH0_REDIRECT_URI");
    };
    let state = started
        .url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned());
    callback
        .query_pairs_mut()
        .append_pair("code", MADE_UP_CODE)
        .append_pair("state", &state.unwrap_or_default())
        .append_pair("iss", &metadata.issuer);
    let cx = StoreContext::from_cookies(started.cookies);
    let answer = client
        .complete_interactive_login(callback.as_str(), &cx)
        .await;
    judge(answer.map(|_| ()), method)
}

/// What the token endpoint's answer to a made-up code says about the credentials.
fn judge(answer: Result<(), Error>, method: &str) -> Finding {
    const CHECK: &str = "client_credentials";
    match answer {
        Err(Error::TokenEndpoint { error, .. }) if error == "invalid_grant" => Finding::ok(
            CHECK,
            format!("the token endpoint accepts the client credentials ({method})"),
        ),
        Err(Error::ClientAuthentication { description, .. }) => Finding::problem(
            CHECK,
            format!(
                "the token endpoint refuses the client credentials ({method}): invalid_client{}",
                description.map(|d| format!(" ({d})")).unwrap_or_default()
            ),
            "logins fail at the callback with invalid_client (\"Unauthorized\")",
            "check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (or the signing key) against the \
             application (Auth0 Dashboard → Applications → your application → Settings / \
             Credentials), and its authentication method",
        ),
        Err(Error::TokenEndpoint {
            error, description, ..
        }) => Finding::problem(
            CHECK,
            format!(
                "the token endpoint refuses the code exchange: {error} {}",
                description.unwrap_or_default()
            ),
            "logins fail at the callback with this error",
            "allow the Authorization Code grant for the application (Auth0 Dashboard → \
             Applications → your application → Advanced Settings → Grant Types)",
        ),
        Err(e) => Finding::not_run(
            CHECK,
            format!("the token request failed: {e}"),
            "see the message",
        ),
        Ok(_) => Finding::not_run(
            CHECK,
            "the tenant accepted a made-up code: it is not a real OpenID provider",
            "point AUTH0_DOMAIN at your tenant",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLBACK: &str = "http://localhost:5000/callback";

    fn answer(to: &str) -> Finding {
        redirected(CALLBACK, &Url::parse(to).unwrap())
    }

    #[test]
    fn auth0_shaped_answers_are_read() {
        let login = answer("https://t.eu.auth0.com/u/login?state=abc");
        assert_eq!(
            (login.check, login.status),
            ("redirect_uri", crate::doctor::Status::Ok)
        );
        let mismatch = answer(
            "https://t.eu.auth0.com/error?error=invalid_request\
             &error_description=Callback%20URL%20mismatch.",
        );
        assert_eq!(mismatch.check, "redirect_uri");
        assert!(
            mismatch.fails() && mismatch.fix.contains(CALLBACK),
            "{mismatch:?}"
        );
        let client = answer("https://t.eu.auth0.com/error?error=unauthorized_client");
        assert_eq!(client.check, "authorization_request");
        assert!(client.fails());
        let audience = answer(&format!(
            "{CALLBACK}?error=access_denied&error_description=Service%20not%20found"
        ));
        assert_eq!(audience.check, "authorization_request");
        assert!(audience.what.contains("Service not found"), "{audience:?}");
    }
}
