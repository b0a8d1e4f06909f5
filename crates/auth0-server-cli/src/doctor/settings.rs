//! The checks that need no network: the secret, the domain's form, the redirect URI and
//! the cookies it gives, and what `get_access_token` needs (scope, audience).

use std::time::Duration;

use auth0_server_core::client::{RetryPolicy, ServerClient, ServerClientBuilder, env};
use auth0_server_core::{SecretError, Secrets};

use super::report::Finding;

/// The fewest different bytes a secret may have before it is called weak: 32 random hex
/// characters have about 16; `aaaa…` or `1234…` have fewer than this.
pub const MIN_DISTINCT_SECRET_BYTES: usize = 10;
/// Words of the placeholder secrets quickstarts ship in their `.env.example`.
const PLACEHOLDER_WORDS: [&str; 5] = ["openssl", "generate", "changeme", "replace", "your"];
/// The quickstart's port when `PORT` is unset (Flask's), for its default redirect URI.
const QUICKSTART_PORT: &str = "5000";
/// Hosts of Auth0's own tenant domains (their issuer never has a path).
const AUTH0_HOST_SUFFIXES: [&str; 1] = [".auth0.com"];

/// A variable as the quickstart reads it: unset or blank is `None`.
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `value` (a domain or a URL) as it may be printed: any `user:password@` before the host
/// replaced by `***@`. A setting's credentials never reach the report.
pub(crate) fn without_userinfo(value: &str) -> String {
    let start = value.find("://").map_or(0, |i| i + 3);
    let authority_end = value[start..]
        .find(['/', '?', '#'])
        .map_or(value.len(), |i| start + i);
    match value[start..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &value[..start], &value[start + at..]),
        None => value.to_owned(),
    }
}

/// `AUTH0_SECRET`: set, long enough (as the client reads it), and not a placeholder or a
/// run of few characters.
pub(crate) fn secret() -> Finding {
    const CHECK: &str = "secret";
    let symptom_missing = "the app does not start (ServerClient::build: \
        missing_required_argument_error for secret)";
    let fix = "set AUTH0_SECRET to a random value: `auth0-server secret` prints one";
    let raw = var(env::SECRET).unwrap_or_default();
    let secrets = match Secrets::parse(&raw) {
        Ok(secrets) => secrets,
        Err(SecretError::Missing) => {
            return Finding::problem(CHECK, "AUTH0_SECRET is not set", symptom_missing, fix);
        }
        Err(e) => {
            return Finding::problem(
                CHECK,
                format!("AUTH0_SECRET is too short: {e}"),
                "the app does not start (configuration_error: AUTH0_SECRET)",
                fix,
            );
        }
    };
    for (i, secret) in secrets.iter().enumerate() {
        if let Some(why) = weakness(secret.as_bytes()) {
            return Finding::problem(
                CHECK,
                format!("AUTH0_SECRET (number {} in the list) is weak: {why}", i + 1),
                "anyone who guesses it can forge a session cookie and log in as any user",
                fix,
            );
        }
    }
    Finding::ok(
        CHECK,
        format!(
            "AUTH0_SECRET is set ({} secret(s), none weak)",
            secrets.len()
        ),
    )
}

/// Why a secret of at least the minimum length is still weak, if it is.
fn weakness(secret: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(secret).to_lowercase();
    if text.contains(char::is_whitespace) || PLACEHOLDER_WORDS.iter().any(|w| text.contains(w)) {
        return Some("it looks like a placeholder copied from an example .env");
    }
    let mut seen = [false; 256];
    for &b in secret {
        seen[usize::from(b)] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    (distinct < MIN_DISTINCT_SECRET_BYTES).then_some("it repeats too few different characters")
}

/// `AUTH0_DOMAIN`: a bare domain, as Auth0's quickstarts expect (a scheme is accepted here
/// but breaks the other SDKs; a path is never part of an Auth0 domain).
pub(crate) fn domain() -> Finding {
    const CHECK: &str = "domain";
    let Some(raw) = var(env::DOMAIN) else {
        return Finding::problem(
            CHECK,
            "AUTH0_DOMAIN is not set",
            "the app does not start (missing_required_argument_error for domain); the \
             quickstart starts a local dev tenant instead of your Auth0 tenant",
            "set AUTH0_DOMAIN to your tenant's domain, e.g. my-tenant.eu.auth0.com (Auth0 \
             Dashboard → Applications → your application → Settings → Domain)",
        );
    };
    if raw.split('/').take(3).any(|part| part.contains('@')) {
        return Finding::problem(
            CHECK,
            format!(
                "AUTH0_DOMAIN {:?} contains credentials",
                without_userinfo(raw.trim())
            ),
            "the app does not start (configuration_error: AUTH0_DOMAIN must not contain \
             credentials), and the password is in your .env for anyone who reads it",
            "set AUTH0_DOMAIN to the tenant's domain alone, e.g. my-tenant.eu.auth0.com",
        );
    }
    let raw = raw.trim();
    let bare = raw.trim_end_matches('/');
    if let Some(rest) = bare.strip_prefix("https://") {
        return Finding::problem(
            CHECK,
            format!("AUTH0_DOMAIN {raw:?} has a scheme"),
            "this SDK drops it, but the same .env breaks Auth0's other SDKs and quickstarts \
             (they build https://https://…: discovery fails, 'getaddrinfo ENOTFOUND')",
            format!("set AUTH0_DOMAIN={rest} (the domain alone)"),
        );
    }
    // `http://` is for a provider on this machine; the client refuses it elsewhere.
    let rest = bare.strip_prefix("http://").unwrap_or(bare);
    if let Some((host, path)) = rest.split_once('/')
        && AUTH0_HOST_SUFFIXES.iter().any(|s| host.ends_with(s))
    {
        return Finding::problem(
            CHECK,
            format!("AUTH0_DOMAIN {raw:?} has a path (/{path})"),
            "discovery fails (404 at …/{path}/.well-known/openid-configuration) and the app \
             cannot log anyone in",
            format!("set AUTH0_DOMAIN={host} (the domain alone)"),
        );
    }
    Finding::ok(CHECK, format!("AUTH0_DOMAIN is {raw}"))
}

/// The redirect URI the app uses: `AUTH0_REDIRECT_URI`, else the quickstart's default
/// (`http://localhost:$PORT/callback`), with a warning saying so.
pub(crate) fn redirect_uri(findings: &mut Vec<Finding>) -> String {
    if let Some(uri) = var(env::REDIRECT_URI) {
        return uri;
    }
    let port = var("PORT").unwrap_or_else(|| QUICKSTART_PORT.to_owned());
    let uri = format!("http://localhost:{port}/callback");
    findings.push(Finding::warning(
        "redirect_uri",
        format!("AUTH0_REDIRECT_URI is not set: checking the quickstart's default {uri}"),
        "an app other than the quickstart has no callback and logins fail with \
         missing_required_argument_error",
        "set AUTH0_REDIRECT_URI to the app's callback URL",
    ));
    uri
}

/// The client as the quickstart builds it (`ServerClient::from_env()` with the redirect
/// URI), with `timeout` on every request and no retry (so that each check takes at most
/// `timeout`). A missing or short secret is replaced by a throwaway one so that the other
/// checks still run (the `secret` check reports it).
pub(crate) fn client(redirect_uri: &str, timeout: Duration) -> Result<ServerClient, Finding> {
    let mut builder: ServerClientBuilder = ServerClient::from_env()
        .redirect_uri(redirect_uri)
        .connect_timeout(timeout)
        .request_timeout(timeout)
        .retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        });
    if Secrets::parse(&var(env::SECRET).unwrap_or_default()).is_err() {
        builder = builder.secret(auth0_server_core::generate_secret());
    }
    builder.build().map_err(|e| {
        Finding::problem(
            "configuration",
            format!("the client configuration is refused: {e}"),
            "the app does not start (ServerClient::build fails)",
            "fix the setting the message names",
        )
    })
}

/// The cookies the client derives from the redirect URI: `Secure` cookies are never sent
/// back over plain http, so a login could never complete.
pub(crate) fn cookies(client: &ServerClient) -> Finding {
    const CHECK: &str = "cookies";
    let config = client.config();
    let Some(uri) = config.redirect_uri() else {
        return Finding::not_run(CHECK, "no redirect URI", "set AUTH0_REDIRECT_URI");
    };
    let shown = without_userinfo(uri.as_str());
    let secure = config.cookie_options().secure;
    if uri.scheme() == "http" && secure {
        return Finding::problem(
            CHECK,
            format!(
                "the cookies would be Secure, but the redirect URI {shown} is plain http on \
                 another machine than this one"
            ),
            "the login never completes: the browser does not send the login cookie back to \
             the callback over http (\"this login callback matches no login in progress\", \
             a login loop)",
            "serve the app over https and set AUTH0_REDIRECT_URI=https://…, or use \
             http://localhost for development",
        );
    }
    let kind = if secure {
        "Secure"
    } else {
        "not Secure (http on this machine)"
    };
    Finding::ok(CHECK, format!("cookies are {kind}, as {shown} needs"))
}

/// What `get_access_token` needs: an audience for an API, and `offline_access` to renew
/// the token without a new login.
pub(crate) fn access_tokens(client: &ServerClient) -> Finding {
    const CHECK: &str = "access_tokens";
    let config = client.config();
    let offline = config
        .scope()
        .split_whitespace()
        .any(|s| s == "offline_access");
    let Some(audience) = config.audience() else {
        return Finding::warning(
            CHECK,
            "AUTH0_AUDIENCE is not set",
            "get_access_token gives a token for /userinfo only (opaque on Auth0): an API \
             answers 401 to it",
            "set AUTH0_AUDIENCE to the API's identifier if the app calls an API",
        );
    };
    if !offline {
        return Finding::problem(
            CHECK,
            format!(
                "the scope {:?} has no offline_access, and AUTH0_AUDIENCE={audience} is set",
                config.scope()
            ),
            "get_access_token fails with missing_refresh_token once the access token \
             expires: the user must log in again",
            "add offline_access to AUTH0_SCOPE (and allow offline access for the API: Auth0 \
             Dashboard → APIs → your API → Settings → Allow Offline Access)",
        );
    }
    Finding::ok(
        CHECK,
        format!("audience {audience}, scope asks for offline_access"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_domain_or_url_are_never_shown() {
        let cases = [
            ("admin:pw@tenant.eu.auth0.com", "***@tenant.eu.auth0.com"),
            (
                "https://admin:pw@tenant.eu.auth0.com/x@y",
                "https://***@tenant.eu.auth0.com/x@y",
            ),
            ("redis://:pw@127.0.0.1:6379", "redis://***@127.0.0.1:6379"),
            (
                "http://a@b:pw@localhost:5000/cb?u=x@y",
                "http://***@localhost:5000/cb?u=x@y",
            ),
            ("tenant.eu.auth0.com", "tenant.eu.auth0.com"),
            (
                "http://localhost:5000/callback",
                "http://localhost:5000/callback",
            ),
        ];
        for (value, shown) in cases {
            assert_eq!(without_userinfo(value), shown);
        }
    }

    #[test]
    fn placeholder_and_repetitive_secrets_are_weak() {
        let placeholder = b"use [openssl rand -hex 32] to generate a 32 bytes value";
        assert!(weakness(placeholder).is_some());
        assert!(weakness(&[b'a'; 40]).is_some());
        assert!(weakness(b"0123012301230123012301230123012301230123").is_some());
        let random = auth0_server_core::generate_secret();
        assert_eq!(weakness(random.as_bytes()), None);
    }
}
