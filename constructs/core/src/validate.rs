//! The hook through which property validators (such as the L1 schema checks) see every
//! resource before anything is written.

use indexmap::IndexMap;

use crate::value::Value;

/// One problem with a resource's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyError {
    /// Where in the resource, e.g. `Properties.BillingMode`.
    pub path: String,
    /// What is wrong, e.g. `"PAY_PER_REQ" is not one of PROVISIONED, PAY_PER_REQUEST`.
    pub message: String,
}

/// Checks the properties of resources at synthesis. Registered with
/// [`App::add_validator`](crate::App::add_validator); every error becomes a diagnostic
/// with the construct path, and any error stops synthesis.
pub trait Validator: std::any::Any {
    /// Checks one resource's final properties (after overrides, before reference
    /// resolution, so intrinsics are still visible as such). Types the validator does
    /// not know are passed over by returning no errors.
    fn validate(&self, resource_type: &str, properties: &IndexMap<String, Value>) -> Vec<PropertyError>;

    /// [`Validator::validate`] for properties held as a [`Value::Map`] (synthesis owns
    /// each resource's properties and passes them this way, so a validator that needs
    /// them as one value does not copy them). Anything but a map passes.
    fn validate_value(&self, resource_type: &str, properties: &Value) -> Vec<PropertyError> {
        match properties {
            Value::Map(m) => self.validate(resource_type, m),
            _ => Vec::new(),
        }
    }
}
