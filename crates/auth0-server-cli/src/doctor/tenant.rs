//! The checks against the tenant's discovery document: reachable, the expected issuer, the
//! clock against its `Date` header, and the ID-token algorithms it signs with.

use std::time::{Duration, SystemTime};

use auth0_server_core::client::{
    DEFAULT_LEEWAY, Error, MAX_PROVIDER_RESPONSE_BYTES, ProviderMetadata, ServerClient,
};
use serde::Deserialize;

use super::report::Finding;

/// The discovery fields the client's [`ProviderMetadata`] does not keep.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Extra {
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

/// The discovery document through the client (the issuer check is its own), with a
/// finding either way.
pub(crate) async fn discovery(client: &ServerClient) -> (Finding, Option<ProviderMetadata>) {
    const CHECK: &str = "discovery";
    let issuer = client.config().issuer().clone();
    match client.provider_metadata().await {
        Ok(metadata) => {
            let what = format!("{issuer}.well-known/openid-configuration answers");
            (Finding::ok(CHECK, what), Some((*metadata).clone()))
        }
        Err(Error::IssuerMismatch { expected, actual }) => {
            let finding = Finding::problem(
                "issuer",
                format!("the discovery document's issuer is {actual:?}, not {expected:?}"),
                "every login fails: ID tokens are refused (issuer_validation_error)",
                format!(
                    "set AUTH0_DOMAIN to the domain of the issuer {actual} (on Auth0 with a \
                     custom domain, use the custom domain)"
                ),
            );
            (finding, None)
        }
        Err(e) => {
            let finding = Finding::problem(
                CHECK,
                format!("the tenant's discovery cannot be had: {e}"),
                "every login fails before the login page (\"Discovery failed\", a network or \
                 discovery_error)",
                "check AUTH0_DOMAIN (Auth0 Dashboard → Applications → your application → \
                 Settings → Domain) and that this machine reaches it",
            );
            (finding, None)
        }
    }
}

/// What a raw GET of the discovery URL tells beyond the metadata: the server's `Date`, and
/// the fields of [`Extra`].
pub(crate) struct Raw {
    date: Option<SystemTime>,
    received: SystemTime,
    extra: Extra,
}

/// GETs the discovery document with `http` (the client's own does not show the headers).
#[tracing::instrument(name = "doctor.discovery", skip_all)]
pub(crate) async fn fetch_raw(
    http: &reqwest::Client,
    client: &ServerClient,
) -> Result<Raw, String> {
    let issuer = client.config().issuer().as_str().trim_end_matches('/');
    let url = format!("{issuer}/.well-known/openid-configuration");
    let response = http.get(&url).send().await.map_err(|e| e.to_string())?;
    let received = SystemTime::now();
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok());
    let body = super::body_head(response, MAX_PROVIDER_RESPONSE_BYTES).await;
    let extra = serde_json::from_slice::<Extra>(&body).unwrap_or_default();
    Ok(Raw {
        date,
        received,
        extra,
    })
}

/// This machine's clock against the tenant's `Date`: more apart than the client's leeway and
/// ID tokens look issued in the future or expired.
pub(crate) fn clock_skew(raw: &Raw) -> Finding {
    const CHECK: &str = "clock_skew";
    let Some(date) = raw.date else {
        return Finding::not_run(
            CHECK,
            "the tenant's answer has no (valid) Date header to compare the clock with",
            "check this machine's clock is synchronised (NTP)",
        );
    };
    let (ahead, skew) = match raw.received.duration_since(date) {
        Ok(behind) => (true, behind),
        Err(e) => (false, e.duration()),
    };
    // The Date header has a resolution of one second.
    if skew <= DEFAULT_LEEWAY + Duration::from_secs(1) {
        return Finding::ok(
            CHECK,
            format!("clock within {}s of the tenant's", skew.as_secs()),
        );
    }
    let direction = if ahead { "ahead of" } else { "behind" };
    Finding::problem(
        CHECK,
        format!(
            "this machine's clock is {}s {direction} the tenant's (more than the {}s tolerated)",
            skew.as_secs(),
            DEFAULT_LEEWAY.as_secs()
        ),
        "logins fail after the login page: the ID token is refused (id_token_validation_error: \
         issued in the future, or expired)",
        "synchronise this machine's clock (NTP: timedatectl set-ntp true)",
    )
}

/// The ID-token algorithms: the client accepts some the tenant signs with.
pub(crate) fn algorithms(raw: &Raw, client: &ServerClient) -> Finding {
    const CHECK: &str = "id_token_algorithm";
    let accepted = client.config().id_token_algorithms();
    let offered = &raw.extra.id_token_signing_alg_values_supported;
    if offered.is_empty() {
        return Finding::not_run(
            CHECK,
            "the discovery document lists no id_token_signing_alg_values_supported",
            "check the tenant's discovery document",
        );
    }
    if accepted.iter().any(|a| offered.contains(a)) {
        return Finding::ok(
            CHECK,
            format!("the tenant can sign ID tokens with {}", accepted.join(", ")),
        );
    }
    Finding::problem(
        CHECK,
        format!(
            "the tenant signs ID tokens with {} only; this client accepts {}",
            offered.join(", "),
            accepted.join(", ")
        ),
        "logins fail after the login page: the ID token is refused (id_token_validation_error: \
         unexpected algorithm)",
        "sign ID tokens with RS256 (Auth0 Dashboard → Applications → your application → \
         Advanced Settings → OAuth → JSON Web Token Signature Algorithm: RS256), or allow the \
         tenant's algorithm with ServerClientBuilder::id_token_algorithms",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(skew_secs: i64) -> Raw {
        let received = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = if skew_secs >= 0 {
            received + Duration::from_secs(skew_secs.unsigned_abs())
        } else {
            received - Duration::from_secs(skew_secs.unsigned_abs())
        };
        Raw {
            date: Some(date),
            received,
            extra: Extra::default(),
        }
    }

    #[test]
    fn skew_beyond_the_leeway_is_a_problem_either_way() {
        assert!(!clock_skew(&raw(5)).fails());
        assert!(clock_skew(&raw(600)).fails());
        let behind = clock_skew(&raw(-600));
        assert!(
            behind.fails() && behind.what.contains("ahead of"),
            "{}",
            behind.what
        );
    }
}
