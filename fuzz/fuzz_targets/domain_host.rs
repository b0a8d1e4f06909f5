//! Multiple custom domains' parsers of attacker input: a site or request host
//! (`host[:port]`, what a domain resolver names and a `Host` header carries) and the
//! unverified `iss` of a back-channel logout token (which picks the domain whose keys then
//! verify it).
//!
//! The first byte picks the parser (even: host, odd: issuer); the rest (UTF-8) is the input.
//! Oracles for a host: its normalised form parses again to itself and holds nothing but a
//! lower-case host and port (no `#`, `@`, `/`, `?`, `\`, `%`, space); the callback moved onto
//! it keeps the configured scheme, path and query and gains no user, password or fragment,
//! and its host is the site's; a host that does not parse is a configuration error. For an
//! issuer: one is read only from a token with a payload segment.
#![no_main]

use auth0_server_core::client::Error;
use auth0_server_core::fuzzing::{parse_site, site_callback, unverified_issuer};
use libfuzzer_sys::fuzz_target;
use url::Url;

/// The configured redirect URI a site's callback is made from.
const CONFIGURED: &str = "https://app.example.com:8443/callback?x=1";

fn check_host(input: &str) {
    let configured = Url::parse(CONFIGURED).expect("a URL");
    let moved = site_callback(&configured, input);
    let Some(site) = parse_site(input) else {
        assert!(
            matches!(moved, Err(Error::Configuration(_))),
            "{input:?} is not a host but gave {moved:?}"
        );
        return;
    };
    assert_eq!(
        parse_site(&site).as_deref(),
        Some(site.as_str()),
        "{input:?}"
    );
    assert!(
        !site.contains(['#', '@', '/', '?', '\\', '%', ' ']),
        "{input:?} gave {site:?}"
    );
    assert_eq!(site, site.to_ascii_lowercase(), "{input:?}");
    let url = moved.unwrap_or_else(|e| panic!("{input:?} parsed as {site:?} but: {e}"));
    assert_eq!(url.scheme(), "https");
    assert_eq!(
        (url.path(), url.query()),
        ("/callback", Some("x=1")),
        "{input:?}"
    );
    assert_eq!((url.username(), url.password()), ("", None), "{input:?}");
    assert_eq!(url.fragment(), None, "{input:?}");
    let host = url.host_str().expect("a host");
    assert!(site.starts_with(host), "{input:?}: {site:?} but {url}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(input) = std::str::from_utf8(rest) else {
        return;
    };
    if which & 1 == 0 {
        check_host(input);
    } else if unverified_issuer(input).is_some() {
        assert!(input.contains('.'), "an issuer read from {input:?}");
    }
});
