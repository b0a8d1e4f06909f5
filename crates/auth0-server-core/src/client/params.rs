//! Authorization parameters whose values may be JSON (Rich Authorization Requests'
//! `authorization_details`, the Python SDK's per-audience `scope` map), and the scope a
//! login or a refresh asks for under such a map.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::DEFAULT_AUDIENCE;

/// The authorization parameter of Rich Authorization Requests (RFC 9396).
pub const AUTHORIZATION_DETAILS: &str = "authorization_details";

/// Authorization parameters by name ([`StartLoginOptions::authorization_params`](super::StartLoginOptions::authorization_params)).
pub type AuthorizationParams = BTreeMap<String, ParamValue>;

/// An authorization parameter's value: a string (sent as it is), or any other JSON value
/// (sent as its JSON text, e.g. `authorization_details=[{"type":"payment_initiation",…}]`).
///
/// Strings convert into it, so code that passed strings keeps compiling:
///
/// ```
/// use auth0_server_core::client::{ParamValue, StartLoginOptions};
/// use serde_json::json;
///
/// let mut options = StartLoginOptions::default();
/// options.authorization_params.insert("prompt".into(), "login".into());
/// options.authorization_params.insert(
///     "authorization_details".into(),
///     json!([{"type": "payment_initiation", "amount": "10.00"}]).into(),
/// );
/// assert_eq!(options.authorization_params["prompt"].to_wire(), "login");
/// assert_eq!(
///     options.authorization_params["authorization_details"].to_wire(),
///     r#"[{"type":"payment_initiation","amount":"10.00"}]"#
/// );
/// assert_eq!(ParamValue::from("x").as_str(), Some("x"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParamValue(Value);

impl ParamValue {
    /// The value as JSON.
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// The value when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_str()
    }

    /// What is sent in the request: a string as it is, anything else as its JSON text.
    pub fn to_wire(&self) -> String {
        match &self.0 {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// Whether it is a string with nothing but white space in it, or `null`.
    pub(crate) fn is_blank(&self) -> bool {
        match &self.0 {
            Value::String(s) => s.trim().is_empty(),
            Value::Null => true,
            _ => false,
        }
    }
}

impl From<&str> for ParamValue {
    fn from(value: &str) -> Self {
        Self(Value::from(value))
    }
}

impl From<String> for ParamValue {
    fn from(value: String) -> Self {
        Self(Value::from(value))
    }
}

impl From<&String> for ParamValue {
    fn from(value: &String) -> Self {
        Self(Value::from(value.as_str()))
    }
}

impl From<Value> for ParamValue {
    fn from(value: Value) -> Self {
        Self(value)
    }
}

/// The scope a `scope` authorization parameter gives for `audience`: a string is for every
/// audience; an object (the Python SDK's per-audience map, for multi-resource refresh
/// tokens) gives its entry for the audience, or for `"default"` when no audience is asked.
///
/// ```
/// use auth0_server_core::client::{ParamValue, scope_for_audience};
/// use serde_json::json;
///
/// let map = ParamValue::from(json!({"https://api.example.com": "read:messages"}));
/// assert_eq!(scope_for_audience(&map, Some("https://api.example.com")), Some("read:messages"));
/// assert_eq!(scope_for_audience(&map, Some("https://other.example.com")), None);
/// assert_eq!(scope_for_audience(&"email".into(), None), Some("email"));
/// ```
pub fn scope_for_audience<'a>(scope: &'a ParamValue, audience: Option<&str>) -> Option<&'a str> {
    match scope.as_json() {
        Value::String(s) => Some(s),
        Value::Object(map) => map
            .get(audience.unwrap_or(DEFAULT_AUDIENCE))
            .and_then(Value::as_str),
        _ => None,
    }
}

/// Checks an authorization parameter can be sent: `null` has no wire form (it would be sent
/// as the text `null`), and a `scope` is a string or a map from audience to scope (any
/// other JSON would be dropped silently). The reason says what to give.
pub(crate) fn check_param(name: &str, value: &ParamValue) -> Result<(), String> {
    match value.as_json() {
        Value::Null => Err(format!(
            "the authorization parameter {name:?} is null: give a string (or a JSON value), or \
             leave the parameter out"
        )),
        Value::String(_) | Value::Object(_) if name == "scope" => Ok(()),
        _ if name == "scope" => Err(
            "the scope authorization parameter is neither text nor a map: give a string of \
             space-separated scopes \
             (\"openid profile email\") or a map from audience to such a string"
                .to_owned(),
        ),
        _ => Ok(()),
    }
}

/// The audience given as an authorization parameter (a string), if any.
pub(crate) fn audience_param(params: &AuthorizationParams) -> Option<String> {
    params
        .get("audience")
        .and_then(ParamValue::as_str)
        .filter(|a| !a.trim().is_empty())
        .map(str::to_owned)
}

/// Checks `authorization_details` is what RFC 9396 §2 asks: an array of objects, each with
/// a string `type`. (A string is taken as the JSON text of one, as the Python SDK takes it.)
pub(crate) fn check_authorization_details(value: &ParamValue) -> Result<Value, String> {
    let details = match value.as_json() {
        Value::String(text) => serde_json::from_str::<Value>(text)
            .map_err(|e| format!("it is a string that is not JSON: {e}"))?,
        other => other.clone(),
    };
    let Value::Array(items) = &details else {
        return Err("it is not a JSON array".to_owned());
    };
    for item in items {
        if !item.get("type").is_some_and(Value::is_string) {
            return Err(format!("the entry {item} has no string \"type\""));
        }
    }
    Ok(details)
}

/// What a token set keeps besides the model's fields: the `authorization_details` it was
/// granted, under that name (a field the Python SDK does not know, so it keeps it as it is).
pub(crate) fn token_set_extra(authorization_details: Option<&Value>) -> Map<String, Value> {
    let mut extra = Map::new();
    if let Some(details) = authorization_details.filter(|d| !d.is_null()) {
        extra.insert(AUTHORIZATION_DETAILS.to_owned(), details.clone());
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn authorization_details_must_be_an_array_of_typed_objects() {
        let ok = json!([{"type": "payment_initiation", "amount": 1}]);
        assert_eq!(check_authorization_details(&ok.clone().into()).unwrap(), ok);
        assert_eq!(
            check_authorization_details(&ok.to_string().into()).unwrap(),
            ok,
            "JSON text, as the Python SDK takes it"
        );
        for bad in [json!({"type": "x"}), json!([{"amount": 1}]), json!("[oops")] {
            assert!(check_authorization_details(&bad.into()).is_err());
        }
    }

    #[test]
    fn a_scope_map_without_the_audience_gives_nothing() {
        let map = ParamValue::from(json!({"default": "email", "https://a": "read"}));
        assert_eq!(scope_for_audience(&map, None), Some("email"));
        assert_eq!(scope_for_audience(&map, Some("https://a")), Some("read"));
        assert_eq!(scope_for_audience(&map, Some("https://b")), None);
        assert_eq!(scope_for_audience(&json!(5).into(), None), None);
    }
}
