//! The MFA API's grants at `/oauth/token` (the client is already authenticated):
//! `http://auth0.com/oauth/grant-type/mfa-otp` (`mfa_token`, `otp`), `…/mfa-oob`
//! (`mfa_token`, `oob_code`, `binding_code`) and `…/mfa-recovery-code` (`mfa_token`,
//! `recovery_code`; the answer carries the user's new `recovery_code`, the used one is gone).
//!
//! A wrong code is `invalid_grant` (403) and counts against the `mfa_token`
//! ([`MAX_MFA_ATTEMPTS`](super::mfa::MAX_MFA_ATTEMPTS), then `too_many_attempts`); an
//! expired `mfa_token` or `oob_code` is `expired_token`. Success spends the `mfa_token`,
//! activates the authenticator verified (the end of its enrollment), and issues the tokens of
//! the grant whose refresh asked for MFA, under a new grant whose refreshes need no MFA.

use axum::http::StatusCode;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::mfa::{Factor, MfaContext, OTP_STEP, context, dev_otp};
use super::token::{Issue, issue_tokens};
use super::{OAuthError, Params};
use crate::memory::{Memory, has_scope, hash};
use crate::server::Tenant;

/// The OTP grant.
pub(crate) const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
/// The OOB grant.
pub(crate) const MFA_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
/// The recovery-code grant.
pub(crate) const MFA_RECOVERY_CODE: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";
/// The three, for the token endpoint's dispatch and discovery.
pub(crate) const GRANT_TYPES: [&str; 3] = [MFA_OTP, MFA_OOB, MFA_RECOVERY_CODE];

fn wrong(description: &str) -> OAuthError {
    OAuthError::new(StatusCode::FORBIDDEN, "invalid_grant", description)
}

fn required<'p>(params: &'p Params, name: &'static str) -> Result<&'p str, OAuthError> {
    params
        .get(name)?
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// One of the three grants.
pub(crate) fn grant(
    tenant: &Tenant,
    grant_type: &str,
    params: &Params,
) -> Result<Value, OAuthError> {
    let token = required(params, "mfa_token")?;
    let now = tenant.now();
    let mut memory = tenant.memory();
    let sub = context(&mut memory, token, now, StatusCode::FORBIDDEN)?
        .grant
        .user
        .sub
        .clone();
    let verified = match grant_type {
        MFA_OTP => verify_otp(&mut memory, &sub, required(params, "otp")?, now),
        MFA_OOB => verify_oob(&mut memory, token, params, now),
        _ => verify_recovery_code(&mut memory, &sub, required(params, "recovery_code")?),
    };
    let new_recovery_code = match verified {
        Ok(code) => code,
        Err(e) => {
            if e.error() == "invalid_grant"
                && let Some(context) = memory.mfa.tokens.get_mut(&hash(token))
            {
                context.failures = context.failures.saturating_add(1);
            }
            return Err(e);
        }
    };
    let Some(context) = memory.mfa.tokens.remove(&hash(token)) else {
        return Err(wrong("Malformed mfa_token"));
    };
    let mut answer = issue(tenant, &mut memory, &context)?;
    if let Some(code) = new_recovery_code {
        answer["recovery_code"] = json!(code);
    }
    tracing::info!(grant_type, "MFA passed");
    Ok(answer)
}

/// Checks the OTP against the user's OTP authenticators (this step's code or the one
/// before), activating the one it matches.
fn verify_otp(
    memory: &mut Memory,
    sub: &str,
    otp: &str,
    now: u64,
) -> Result<Option<String>, OAuthError> {
    let factors = memory.mfa.users.get_mut(sub);
    let matched = factors.and_then(|f| {
        f.authenticators.iter_mut().find(|a| match &a.factor {
            Factor::Otp { secret } => [now, now.saturating_sub(OTP_STEP)]
                .iter()
                .any(|t| same(&dev_otp(secret, *t), otp)),
            Factor::Oob { .. } => false,
        })
    });
    match matched {
        Some(authenticator) => {
            authenticator.active = true;
            Ok(None)
        }
        None => Err(wrong("Invalid otp_code.")),
    }
}

/// Checks the binding code of an OOB challenge made with this `mfa_token`; the challenge is
/// spent on success (a replay is `invalid_grant`).
fn verify_oob(
    memory: &mut Memory,
    token: &str,
    params: &Params,
    now: u64,
) -> Result<Option<String>, OAuthError> {
    let oob_code = required(params, "oob_code")?;
    let binding_code = params.get("binding_code")?.unwrap_or_default();
    let key = hash(oob_code);
    let challenge = memory
        .mfa
        .challenges
        .get(&key)
        .filter(|c| c.mfa_token == hash(token))
        .ok_or_else(|| wrong("Invalid oob_code: unknown, used, or of another mfa_token."))?;
    if challenge.expires_at <= now {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "expired_token",
            "The oob_code has expired: challenge again.",
        ));
    }
    if !same(&challenge.binding_code, binding_code) {
        return Err(wrong("Invalid binding_code."));
    }
    let Some(challenge) = memory.mfa.challenges.remove(&key) else {
        return Err(wrong("Invalid oob_code."));
    };
    if let Some(a) = memory.mfa.users.get_mut(&challenge.sub).and_then(|f| {
        f.authenticators
            .iter_mut()
            .find(|a| a.id == challenge.authenticator_id)
    }) {
        a.active = true;
    }
    Ok(None)
}

/// Checks the user's recovery code and replaces it: the new one is returned.
fn verify_recovery_code(
    memory: &mut Memory,
    sub: &str,
    code: &str,
) -> Result<Option<String>, OAuthError> {
    let given = hash(code.trim());
    let factors = memory.mfa.users.get_mut(sub);
    let Some((stored, id)) = factors.as_ref().and_then(|f| f.recovery.clone()) else {
        return Err(wrong("Invalid recovery_code."));
    };
    if !bool::from(stored.ct_eq(&given)) {
        return Err(wrong("Invalid recovery_code."));
    }
    let new_code = super::mfa::new_recovery_code();
    if let Some(f) = factors {
        f.recovery = Some((hash(&new_code), id));
    }
    Ok(Some(new_code))
}

/// The tokens of the grant whose refresh asked for MFA, under a new grant marked verified.
fn issue(tenant: &Tenant, memory: &mut Memory, context: &MfaContext) -> Result<Value, OAuthError> {
    let now = tenant.now();
    let mut grant = context.grant.clone();
    grant.scope.clone_from(&context.scope);
    grant.audience.clone_from(&context.audience);
    grant.expires_at = now.saturating_add(tenant.config.refresh_token_lifetime.as_secs());
    let grant_id = memory.add_grant(grant.clone());
    memory.mfa.verified_grants.insert(grant_id);
    let issue = Issue {
        grant_id,
        grant: &grant,
        scope: &context.scope,
        audience: context.audience.as_deref(),
        nonce: None,
        refresh_token: has_scope(&context.scope, "offline_access"),
    };
    issue_tokens(tenant, memory, &issue)
}
