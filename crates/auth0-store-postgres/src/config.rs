//! Names of the schema, tables and indexes, validated once, and the errors of configuration.

/// The schema used unless [`with_schema`](crate::PostgresBackend::with_schema) says otherwise.
pub const DEFAULT_SCHEMA: &str = "public";
/// The sessions table used unless [`with_table`](crate::PostgresBackend::with_table) says
/// otherwise.
pub const DEFAULT_TABLE: &str = "auth0_sessions";
/// The transactions table used unless
/// [`with_transactions_table`](crate::PostgresBackend::with_transactions_table) says otherwise.
pub const DEFAULT_TRANSACTIONS_TABLE: &str = "auth0_transactions";
/// PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`); longer names are cut
/// silently by the server, so they are refused here instead.
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// A configuration that cannot work, found when it is given (not at first use).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A schema or table name that is not a plain SQL identifier.
    #[error(
        "{name:?} cannot be a PostgreSQL {kind} name here: {reason}; use ASCII letters, digits \
         and `_`, not starting with a digit, at most 63 bytes"
    )]
    InvalidName {
        /// What the name was for: `"schema"`, `"table"`, `"transactions table"`.
        kind: &'static str,
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The sessions and the transactions table were given the same name.
    #[error(
        "the sessions table and the transactions table are both named {name:?}; give them \
         different names"
    )]
    SameTable {
        /// The name both were given.
        name: String,
    },
}

impl ConfigError {
    /// A stable, machine-readable code for this error.
    ///
    /// ```
    /// use auth0_store_postgres::ConfigError;
    /// let err = ConfigError::SameTable { name: "t".into() };
    /// assert_eq!(err.code(), "postgres_same_table");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidName { .. } => "postgres_invalid_name",
            Self::SameTable { .. } => "postgres_same_table",
        }
    }
}

/// Checks that `name` is a plain SQL identifier: ASCII letters, digits and `_`, not starting
/// with a digit, 1 to [`MAX_IDENTIFIER_LEN`] bytes.
pub(crate) fn validate_identifier(kind: &'static str, name: &str) -> Result<(), ConfigError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_IDENTIFIER_LEN {
        Some("it is longer than 63 bytes")
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        Some("it starts with a digit")
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Some("it contains a character other than a letter, a digit or `_`")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigError::InvalidName {
            kind,
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// `name` as a quoted identifier (quotes doubled, though validated names have none).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// FNV-1a, 64 bits: a hash that is the same in every version of this crate and of Rust, for
/// the advisory lock key and for shortening long derived names.
pub(crate) fn fnv1a64(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A NUL byte between parts (no identifier has one), so ("ab", "c") and ("a", "bc")
            // differ: XOR with 0 changes nothing, the multiplication is the step.
            hash = hash.wrapping_mul(PRIME);
        }
        for b in part.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// `{base}_{suffix}`, shortened to fit in [`MAX_IDENTIFIER_LEN`] bytes when the base is long:
/// then `{start of base}_{8 hex digits of its hash}_{suffix}`, so two long bases that share a
/// start still get different names.
pub(crate) fn derived_name(base: &str, suffix: &str) -> String {
    let name = format!("{base}_{suffix}");
    if name.len() <= MAX_IDENTIFIER_LEN {
        return name;
    }
    let hash = fnv1a64(&[base]) as u32;
    // `_` + 8 hex digits + `_` + suffix.
    let keep = MAX_IDENTIFIER_LEN.saturating_sub(10 + suffix.len());
    // Validated names are ASCII, so any byte offset is a character boundary.
    let start = base.get(..keep).unwrap_or(base);
    format!("{start}_{hash:08x}_{suffix}")
}

/// The schema and tables a backend works on, and everything derived from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Names {
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) transactions_table: String,
}

impl Default for Names {
    fn default() -> Self {
        Self {
            schema: DEFAULT_SCHEMA.to_owned(),
            table: DEFAULT_TABLE.to_owned(),
            transactions_table: DEFAULT_TRANSACTIONS_TABLE.to_owned(),
        }
    }
}

impl Names {
    /// `"schema"."name"`.
    fn qualified(&self, name: &str) -> String {
        format!("{}.{}", quote(&self.schema), quote(name))
    }

    /// The sessions table, qualified and quoted.
    pub(crate) fn sessions(&self) -> String {
        self.qualified(&self.table)
    }

    /// The transactions table, qualified and quoted.
    pub(crate) fn transactions(&self) -> String {
        self.qualified(&self.transactions_table)
    }

    /// The table of back-channel logout tokens already accepted (`{table}_logout_tokens`),
    /// unqualified and unquoted.
    pub(crate) fn logout_tokens_table(&self) -> String {
        derived_name(&self.table, "logout_tokens")
    }

    /// The table of back-channel logout tokens already accepted, qualified and quoted.
    pub(crate) fn logout_tokens(&self) -> String {
        self.qualified(&self.logout_tokens_table())
    }

    /// The table recording which migrations ran, qualified and quoted.
    pub(crate) fn migrations(&self) -> String {
        self.qualified(&derived_name(&self.table, "migrations"))
    }

    /// The schema, quoted.
    pub(crate) fn schema_quoted(&self) -> String {
        quote(&self.schema)
    }

    /// The name (unquoted, unqualified) of an index.
    pub(crate) fn index(&self, index: Index) -> String {
        match index {
            Index::SessionsExpiresAt => derived_name(&self.table, "expires_at_idx"),
            Index::SessionsDomainSid => derived_name(&self.table, "domain_sid_idx"),
            Index::SessionsDomainSub => derived_name(&self.table, "domain_sub_idx"),
            Index::TransactionsExpiresAt => {
                derived_name(&self.transactions_table, "expires_at_idx")
            }
            Index::LogoutTokensExpiresAt => {
                derived_name(&self.table, "logout_tokens_expires_at_idx")
            }
        }
    }

    /// The key of the advisory lock `migrate()` takes: the same for every instance migrating
    /// this schema and table, whatever its version.
    pub(crate) fn migration_lock_key(&self) -> i64 {
        // The bits as they are: PostgreSQL's advisory lock keys are signed.
        fnv1a64(&["auth0-store-postgres migrate", &self.schema, &self.table]) as i64
    }
}

/// The indexes the migrations create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Index {
    /// Sessions by `expires_at`: for the cleanup of expired sessions.
    SessionsExpiresAt,
    /// Sessions by `(domain, sid)`: back-channel logout by `sid`.
    SessionsDomainSid,
    /// Sessions by `(domain, sub)`: back-channel logout by `sub`.
    SessionsDomainSub,
    /// Transactions by `expires_at`: for the cleanup of abandoned logins.
    TransactionsExpiresAt,
    /// Back-channel logout tokens by `expires_at`: for the cleanup of expired ones.
    LogoutTokensExpiresAt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers_are_accepted() {
        for ok in ["a", "auth0_sessions", "_x", "Sessions2", &"a".repeat(63)] {
            assert!(validate_identifier("table", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (bad, reason) in [
            ("", "empty"),
            ("1abc", "digit"),
            ("a-b", "character"),
            ("a b", "character"),
            ("a\"b", "character"),
            ("tablé", "character"),
            ("a;drop", "character"),
        ] {
            let err = validate_identifier("table", bad).unwrap_err();
            assert!(err.to_string().contains(reason), "{bad}: {err}");
            assert_eq!(err.code(), "postgres_invalid_name");
        }
        let long = "a".repeat(64);
        assert!(validate_identifier("schema", &long).is_err());
    }

    #[test]
    fn derived_names_fit_and_stay_distinct() {
        assert_eq!(derived_name("t", "expires_at_idx"), "t_expires_at_idx");
        let a = format!("{}a", "x".repeat(62));
        let b = format!("{}b", "x".repeat(62));
        let (na, nb) = (
            derived_name(&a, "expires_at_idx"),
            derived_name(&b, "expires_at_idx"),
        );
        assert!(na.len() <= MAX_IDENTIFIER_LEN && nb.len() <= MAX_IDENTIFIER_LEN);
        assert_ne!(na, nb);
        assert!(na.ends_with("_expires_at_idx"));
    }

    #[test]
    fn the_lock_key_is_stable_and_depends_on_schema_and_table() {
        let names = Names::default();
        // Pinned: instances of different versions must take the same lock.
        assert_eq!(
            names.migration_lock_key(),
            names.clone().migration_lock_key()
        );
        let other_table = Names {
            table: "other".into(),
            ..Names::default()
        };
        let other_schema = Names {
            schema: "other".into(),
            ..Names::default()
        };
        assert_ne!(names.migration_lock_key(), other_table.migration_lock_key());
        assert_ne!(
            names.migration_lock_key(),
            other_schema.migration_lock_key()
        );
        assert_eq!(fnv1a64(&["a"]), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote("a"), "\"a\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
