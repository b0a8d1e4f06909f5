//! Accounts linked to a user (Auth0's account linking, as the account-linking Action does
//! it at `/authorize`): kept per `sub`, and shown as an `identities` claim in the user's ID
//! tokens and `/userinfo` once the user has linked one, or in answer to a link or unlink
//! request (Auth0 keeps `identities` in the user profile; the dev tenant puts it in the
//! tokens so that an app can see the link without a Management API).

use std::collections::HashMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The connection of the users who log in through the dev tenant's form (Auth0's default
/// database connection's name).
pub const PRIMARY_CONNECTION: &str = "Username-Password-Authentication";

/// One linked account: its connection and its made-up id there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LinkedIdentity {
    pub(crate) connection: String,
    pub(crate) user_id: String,
}

impl LinkedIdentity {
    /// The account of the user `sub` at `connection`: the same user and connection always
    /// give the same id.
    pub(crate) fn new(sub: &str, connection: &str) -> Self {
        let digest = hex::encode(Sha256::digest(format!("{sub}|{connection}").as_bytes()));
        Self {
            connection: connection.to_owned(),
            user_id: digest[..24].to_owned(),
        }
    }
}

/// The linked accounts, by the `sub` of the user they are linked to.
pub(crate) type LinkedAccounts = HashMap<String, Vec<LinkedIdentity>>;

/// The `identities` claim: the user's own identity first (from the `sub`:
/// `auth0|…` is [`PRIMARY_CONNECTION`], `email|…` the `email` connection), then the linked
/// ones, in the shape of Auth0's user profile.
pub(crate) fn identities_claim(sub: &str, linked: &[LinkedIdentity]) -> Value {
    let (provider, id) = sub.split_once('|').unwrap_or(("auth0", sub));
    let connection = if provider == "auth0" {
        PRIMARY_CONNECTION
    } else {
        provider
    };
    let mut identities = vec![json!({
        "provider": provider,
        "connection": connection,
        "user_id": id,
        "isSocial": false,
    })];
    identities.extend(linked.iter().map(|l| {
        json!({
            "provider": l.connection,
            "connection": l.connection,
            "user_id": l.user_id,
            "isSocial": true,
        })
    }));
    Value::Array(identities)
}
