//! What the token exchanges (Token Vault's federated-connection grant and the custom token
//! exchange) make of the token endpoint's answer: read once, checked, and any failure given
//! as the flow's own error ([`Error::ConnectionToken`] or [`Error::CustomTokenExchange`]),
//! never the generic [`Error::TokenEndpoint`], with no copy of the token sent in it.

use serde_json::Value;

use super::http::TokenAnswer;
use super::login::TokenResponse;
use super::{Error, TokenEndpointResponse};

/// The `error` of a 200 answer the exchange cannot take.
pub(crate) const INVALID_RESPONSE: &str = "invalid_response";

/// Which exchange an answer is for, and the token it sent (kept out of messages).
pub(super) enum Flow<'a> {
    /// Token Vault, for this connection; the subject token is the session's refresh token.
    Connection {
        connection: &'a str,
        subject_token: &'a str,
    },
    /// A custom token exchange of this subject token.
    Custom { subject_token: &'a str },
}

impl Flow<'_> {
    /// The `issued_token_type` an answer may name.
    fn issued_token_type(&self) -> &'static str {
        match self {
            Flow::Connection { .. } => super::FEDERATED_CONNECTION_TOKEN_TYPE,
            Flow::Custom { .. } => ACCESS_TOKEN_TYPE,
        }
    }

    /// The flow's error for the provider's `error`, `error_description` and status; an exact
    /// copy of the subject token in the description is replaced, so no message shows it.
    pub(super) fn error(&self, error: String, description: Option<String>, status: u16) -> Error {
        let (Flow::Connection { subject_token, .. } | Flow::Custom { subject_token }) = self;
        let description = description.map(|d| match subject_token.trim() {
            "" => d,
            token => d.replace(token, "[subject token]"),
        });
        match self {
            Flow::Connection { connection, .. } => Error::ConnectionToken {
                connection: (*connection).to_owned(),
                error,
                description,
                status,
            },
            Flow::Custom { .. } => Error::CustomTokenExchange {
                error,
                description,
                status,
            },
        }
    }

    /// Reads the token endpoint's answer to the exchange once (`now` dates its expiry): a
    /// refusal, or a 200 the exchange cannot take (not a JSON object, no access token, a
    /// token type other than Bearer, another `issued_token_type`, a body over the size cap),
    /// is the flow's error. `expires_in` is capped (see [`super::login::expires_at`]).
    pub(super) fn read(
        &self,
        answer: Result<TokenAnswer<Value>, Error>,
        now: u64,
    ) -> Result<TokenEndpointResponse, Error> {
        let body = match answer {
            Ok(TokenAnswer::Ok(body)) => body,
            Ok(TokenAnswer::Err { status, body }) => {
                tracing::info!(error = %body.error, status, "token exchange refused");
                return Err(self.error(body.error, body.error_description, status));
            }
            Err(Error::TokenEndpoint {
                error,
                description,
                status,
            }) => return Err(self.error(error, description, status)),
            Err(e @ Error::ResponseTooLarge { status, .. }) => {
                let reason = Some(e.to_string());
                return Err(self.error(INVALID_RESPONSE.to_owned(), reason, status));
            }
            Err(e) => return Err(e),
        };
        let unusable = |reason: String| {
            tracing::warn!(%reason, "token exchange answer refused");
            self.error(INVALID_RESPONSE.to_owned(), Some(reason), 200)
        };
        let response = TokenEndpointResponse::from_json(body, now).map_err(|e| match e {
            Error::TokenEndpoint { description, .. } => unusable(description.unwrap_or_default()),
            other => other,
        })?;
        check(&response, self.issued_token_type()).map_err(|r| unusable(r.to_owned()))?;
        Ok(response)
    }
}

/// The answer as the session code keeps tokens.
pub(super) fn token_response(response: TokenEndpointResponse) -> TokenResponse {
    TokenResponse {
        access_token: response.access_token,
        id_token: response.id_token,
        refresh_token: response.refresh_token,
        expires_in: response.expires_in,
        scope: response.scope,
        authorization_details: response.authorization_details,
    }
}

/// RFC 8693's type of an access token: what a custom token exchange issues.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Whether an exchange can take a 200 answer: a non-empty access token, of type Bearer (any
/// case, RFC 6749 §5.1) when a type is named, and of the exchange's `issued_token_type` when
/// one is named (RFC 8693 §2.2.1).
fn check(response: &TokenEndpointResponse, issued: &str) -> Result<(), &'static str> {
    if response.access_token.trim().is_empty() {
        return Err("the answer's access_token is empty");
    }
    if let Some(kind) = &response.token_type
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err("the answer's token_type is not Bearer");
    }
    match response.extra.get("issued_token_type") {
        None => Ok(()),
        Some(Value::String(kind)) if kind == issued => Ok(()),
        Some(_) => Err("the answer's issued_token_type is not the one asked for"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_that_is_not_json_is_the_flows_error() {
        // What Http::token_answer gives for a 200 whose body is not JSON (or is too large).
        let unreadable = || {
            Err(Error::TokenEndpoint {
                error: INVALID_RESPONSE.to_owned(),
                description: Some("the token response is not the expected JSON".to_owned()),
                status: 200,
            })
        };
        let vault = Flow::Connection {
            connection: "github",
            subject_token: "rt",
        };
        let error = vault.read(unreadable(), 0).unwrap_err();
        assert!(
            matches!(&error, Error::ConnectionToken { error, status: 200, .. } if error == INVALID_RESPONSE),
            "{error:?}"
        );
        let custom = Flow::Custom { subject_token: "t" };
        let error = custom.read(unreadable(), 0).unwrap_err();
        assert!(
            matches!(&error, Error::CustomTokenExchange { error, status: 200, .. } if error == INVALID_RESPONSE),
            "{error:?}"
        );
    }

    #[test]
    fn an_exact_copy_of_the_subject_token_never_reaches_the_message() {
        let flow = Flow::Custom {
            subject_token: "s3cret",
        };
        let error = flow.error(
            "invalid_request".into(),
            Some("token s3cret unknown".into()),
            400,
        );
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(error.to_string().contains("token [subject token] unknown"));
    }
}
