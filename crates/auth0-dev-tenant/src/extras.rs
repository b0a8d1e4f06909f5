//! What the tenant does beyond the plain login, each off until configured: organizations
//! (Auth0 Organizations: `organization` at `/authorize`, membership, `org_id`/`org_name` in
//! the tokens), Rich Authorization Requests (RFC 9396 `authorization_details`, of the types
//! registered, granted as asked and answered by the token endpoint), and MFA step-up (a
//! refresh for a registered API answered `mfa_required`, as Auth0 answers when its MFA policy
//! applies).

use serde_json::Value;

use crate::DevTenantBuilder;
use crate::error::Error;
use crate::memory::User;

/// The factor type an `mfa_required` answer names for a user enrolled with an OTP
/// authenticator (the first of those the answer asks to enroll, for a user with none).
pub const MFA_CHALLENGE_TYPE: &str = "otp";

/// An organization of the dev tenant: its id (`org_…`), its name, and who may log in to it.
///
/// ```
/// use auth0_dev_tenant::{DevOrganization, DevTenant};
///
/// let config = DevTenant::builder()
///     .organization(DevOrganization::new("org_acme123", "acme").member("ada@example.com"))
///     .organization(DevOrganization::new("org_open456", "open").anyone())
///     .build()?;
/// # Ok::<(), auth0_dev_tenant::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevOrganization {
    pub(crate) id: String,
    pub(crate) name: String,
    /// Members' e-mail addresses, lower case.
    members: Vec<String>,
    anyone: bool,
}

impl DevOrganization {
    /// An organization with no members yet. The id must start with `org_`, as Auth0's do.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            members: Vec::new(),
            anyone: false,
        }
    }

    /// Makes the user with this e-mail address a member.
    pub fn member(mut self, email: impl Into<String>) -> Self {
        self.members.push(email.into().trim().to_ascii_lowercase());
        self
    }

    /// Lets anyone who logs in be a member (as Auth0's auto-membership).
    pub fn anyone(mut self) -> Self {
        self.anyone = true;
        self
    }

    /// Whether the user may log in to it.
    pub(crate) fn admits(&self, user: &User) -> bool {
        self.anyone || self.members.contains(&user.email)
    }

    /// Whether `asked` (an id, or a name ignoring ASCII case: names are lowercase ASCII, see
    /// [`Extras::checked`]) names it.
    fn is(&self, asked: &str) -> bool {
        if asked.starts_with("org_") {
            self.id == asked
        } else {
            self.name.eq_ignore_ascii_case(asked)
        }
    }
}

/// The longest organization name Auth0 allows.
const ORGANIZATION_NAME_MAX: usize = 50;

/// Whether `name` is one Auth0 allows for an organization (1 to 50 lowercase ASCII letters,
/// digits, `-`, `_`; Auth0 docs, "Create Organizations") and not an id (`org_…`). Being
/// ASCII and lower case, it compares the same under the SDK's NFC-and-lowercase rule as
/// under the tenant's ASCII case folding.
fn is_organization_name(name: &str) -> bool {
    (1..=ORGANIZATION_NAME_MAX).contains(&name.len())
        && !name.starts_with("org_")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The settings of this module.
#[derive(Clone, Debug, Default)]
pub(crate) struct Extras {
    pub(crate) organizations: Vec<DevOrganization>,
    pub(crate) authorization_details_types: Vec<String>,
    pub(crate) mfa_audiences: Vec<String>,
    /// The `sub`s of users whose refreshes need MFA (`crate::endpoints::mfa`).
    pub(crate) mfa_users: Vec<String>,
}

impl Extras {
    /// Validates what the builder was given.
    pub(crate) fn checked(self) -> Result<Self, Error> {
        for org in &self.organizations {
            let bad_id = !org.id.starts_with("org_")
                || org.id.len() <= 4
                || !org
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if bad_id {
                return Err(Error::setting(
                    "organization id",
                    &org.id,
                    "give org_ and letters or digits, e.g. org_acme123",
                ));
            }
            if !is_organization_name(&org.name) {
                return Err(Error::setting(
                    "organization name",
                    &org.name,
                    "give 1 to 50 lowercase ASCII letters, digits, - or _ (as Auth0 allows), not \
                     starting with org_, e.g. acme",
                ));
            }
        }
        Ok(self)
    }

    /// The organization `asked` names.
    pub(crate) fn organization(&self, asked: &str) -> Option<&DevOrganization> {
        self.organizations.iter().find(|o| o.is(asked))
    }

    /// Checks `authorization_details` (JSON text): an array of objects whose `type` is
    /// registered. The error is the description of an `invalid_authorization_details`.
    pub(crate) fn authorization_details(&self, text: &str) -> Result<Value, String> {
        let details: Value = serde_json::from_str(text)
            .map_err(|_| "authorization_details is not JSON".to_owned())?;
        let Value::Array(items) = &details else {
            return Err("authorization_details must be a JSON array".to_owned());
        };
        for item in items {
            let Some(kind) = item.get("type").and_then(Value::as_str) else {
                return Err("each authorization_details entry needs a string type".to_owned());
            };
            if !self.authorization_details_types.iter().any(|t| t == kind) {
                return Err(format!(
                    "the authorization_details type {kind:?} is not registered (register it with \
                     DevTenant::builder().authorization_details_type(…))"
                ));
            }
        }
        Ok(details)
    }

    /// Whether a token for `audience` needs MFA the session has not done.
    pub(crate) fn requires_mfa(&self, audience: Option<&str>) -> bool {
        audience.is_some_and(|a| self.mfa_audiences.iter().any(|m| m == a))
    }

    /// Whether the user's tokens need MFA the grant has not done.
    pub(crate) fn requires_mfa_of(&self, user: &User) -> bool {
        self.mfa_users.contains(&user.sub)
    }
}

/// Organizations, RAR types and MFA step-up on the builder.
impl DevTenantBuilder {
    /// Adds an organization: logins may ask for it (`organization`, its id or its name);
    /// a user who is not a member is sent back with `access_denied`, as Auth0 does, and a
    /// member's ID and access tokens carry `org_id` and `org_name`.
    pub fn organization(mut self, organization: DevOrganization) -> Self {
        self.extras.organizations.push(organization);
        self
    }

    /// Registers a Rich Authorization Requests type: logins may send `authorization_details`
    /// entries of it, which are granted as asked and answered by the token endpoint (code
    /// exchange and refresh). Other types are refused (`invalid_authorization_details`).
    pub fn authorization_details_type(mut self, kind: impl Into<String>) -> Self {
        self.extras.authorization_details_types.push(kind.into());
        self
    }

    /// Makes refreshes for this API answer `mfa_required` (403, with an `mfa_token` and
    /// `mfa_requirements`: to `enroll` for a user with no authenticator, else to `challenge`
    /// the user's), as Auth0 does when its MFA policy applies to a token the session has not
    /// done MFA for. A grant issued by the MFA API's grants refreshes without it.
    pub fn require_mfa_for_audience(mut self, audience: impl Into<String>) -> Self {
        self.extras.mfa_audiences.push(audience.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_names_auth0_would_refuse_are_refused_at_configuration() {
        let check = |name: &str| {
            Extras {
                organizations: vec![DevOrganization::new("org_a1", name)],
                ..Extras::default()
            }
            .checked()
        };
        let long = "a".repeat(51);
        for bad in [
            "Acme",
            "acmé",
            "ac me",
            "",
            "org_acme",
            "straße",
            "ａｃｍｅ",
            &long,
        ] {
            let e = check(bad).expect_err(bad);
            assert!(
                e.to_string().contains("lowercase ASCII letters"),
                "{bad}: {e}"
            );
        }
        for good in ["acme", "acme-corp_2", "0day", &"a".repeat(50)] {
            assert!(check(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn organizations_are_named_by_id_or_by_name_ignoring_case() {
        let extras = Extras {
            organizations: vec![DevOrganization::new("org_a1", "acme").member("Ada@Example.com")],
            ..Extras::default()
        };
        assert!(extras.organization("org_a1").is_some());
        assert!(extras.organization("acme").is_some());
        assert!(extras.organization("org_b2").is_none());
        let org = extras.organization("ACME").unwrap();
        assert!(org.admits(&User::new("ada@example.com", None)));
        assert!(!org.admits(&User::new("bob@example.com", None)));
    }

    #[test]
    fn authorization_details_need_registered_types() {
        let extras = Extras {
            authorization_details_types: vec!["payment_initiation".into()],
            ..Extras::default()
        };
        assert!(
            extras
                .authorization_details(r#"[{"type":"payment_initiation"}]"#)
                .is_ok()
        );
        for bad in [
            r#"[{"type":"other"}]"#,
            r#"{"type":"payment_initiation"}"#,
            "[{}]",
            "x",
        ] {
            assert!(extras.authorization_details(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_organization_ids_are_refused() {
        for (id, name) in [
            ("acme", "acme"),
            ("org_", "acme"),
            ("org_a b", "acme"),
            ("org_a", ""),
        ] {
            let extras = Extras {
                organizations: vec![DevOrganization::new(id, name)],
                ..Extras::default()
            };
            assert!(extras.checked().is_err(), "{id} {name}");
        }
    }
}
