//! Context lookups, as aws-cdk-lib's `ContextProvider`: a value the app asks of its
//! environment (availability zones, a VPC, an AMI, an SSM parameter) is read from the
//! context under a key made of the provider's name and its props; on a miss the app
//! gets a dummy value and the stack reports the key as *missing* in its assembly's
//! manifest, and the CLI (`cairn` or `cdk`) looks the value up, writes it to
//! `cdk.context.json` and runs the app again.
//!
//! This module is pure: the keys (the CDK's exact spelling, so a `cdk.context.json`
//! written by the CDK is read by cairn and the other way round) and the manifest's
//! `missing` entries. [`crate::App::lookup_context`] is the app's side.
//!
//! ```
//! use cairn_core::context::context_key;
//! use serde_json::json;
//!
//! let props = json!({"account": "123456789012", "region": "us-east-1"});
//! assert_eq!(
//!     context_key("availability-zones", props.as_object().unwrap()),
//!     "availability-zones:account=123456789012:region=us-east-1"
//! );
//! ```

use serde::Serialize;
use serde_json::{Map, Value as Json};

/// The availability zones of an environment (a list of zone names).
pub const AVAILABILITY_ZONE_PROVIDER: &str = "availability-zones";
/// A VPC, its subnets and route tables (`Vpc.fromLookup`).
pub const VPC_PROVIDER: &str = "vpc-provider";
/// The newest AMI matching filters (`MachineImage.lookup`).
pub const AMI_PROVIDER: &str = "ami";
/// An SSM parameter's value (`StringParameter.valueFromLookup`).
pub const SSM_PARAMETER_PROVIDER: &str = "ssm";
/// A Route 53 hosted zone (`HostedZone.fromLookup`).
pub const HOSTED_ZONE_PROVIDER: &str = "hosted-zone";

/// The key of a context value that holds a provider's error instead of a value.
pub const PROVIDER_ERROR_KEY: &str = "$providerError";
/// The key marking a context value the CLI keeps for the next run only (never saved).
pub const TRANSIENT_CONTEXT_KEY: &str = "$dontSaveContext";

/// A context value the app asked for and did not find: an entry of the manifest's
/// `missing` list (the cloud assembly schema's `MissingContext`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingContext {
    /// The context key.
    pub key: String,
    /// The provider that can look it up.
    pub provider: String,
    /// What the provider needs: the dummy value, the environment, the query, and the
    /// lookup role (`lookupRoleArn`).
    pub props: Map<String, Json>,
}

/// What the app asks a provider ([`crate::App::lookup_context`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ContextQuery {
    /// The provider (`availability-zones`, `vpc-provider`, `ami`, `ssm` ...).
    pub provider: String,
    /// The provider's props, in the CDK's order (the stack's account and region come
    /// first, added by the lookup).
    pub props: Map<String, Json>,
    /// The value the app gets while the real one is missing.
    pub dummy_value: Option<Json>,
    /// Whether the CLI may answer with the dummy value when the thing looked up does
    /// not exist (the CDK's `ignoreErrorOnMissingContext`, `!mustExist`).
    pub ignore_error_on_missing_context: Option<bool>,
    /// A string added to the key, to keep two otherwise identical lookups apart.
    pub additional_cache_key: Option<String>,
}

impl ContextQuery {
    /// A query of `provider` with `props`, no dummy value.
    pub fn new(provider: &str, props: Map<String, Json>) -> Self {
        ContextQuery {
            provider: provider.to_string(),
            props,
            dummy_value: None,
            ignore_error_on_missing_context: None,
            additional_cache_key: None,
        }
    }

    /// The props of the key: `account`, `region`, the additional cache key, then the
    /// query's props (a prop of the same name replaces the earlier one in place, as
    /// JavaScript's object spread does).
    pub fn key_props(&self, account: &str, region: &str) -> Map<String, Json> {
        let mut props = Map::new();
        props.insert("account".into(), Json::String(account.into()));
        props.insert("region".into(), Json::String(region.into()));
        if let Some(k) = &self.additional_cache_key {
            props.insert("additionalCacheKey".into(), Json::String(k.clone()));
        }
        for (k, v) in &self.props {
            props.insert(k.clone(), v.clone());
        }
        props
    }

    /// The manifest's props of the missing entry: the dummy value and
    /// `ignoreErrorOnMissingContext` first, then the key's props.
    pub fn missing_props(&self, key_props: &Map<String, Json>) -> Map<String, Json> {
        let mut props = Map::new();
        if let Some(d) = &self.dummy_value {
            props.insert("dummyValue".into(), d.clone());
        }
        if let Some(i) = self.ignore_error_on_missing_context {
            props.insert("ignoreErrorOnMissingContext".into(), Json::Bool(i));
        }
        if let Some(k) = &self.additional_cache_key {
            props.insert("additionalCacheKey".into(), Json::String(k.clone()));
        }
        for (k, v) in key_props {
            props.insert(k.clone(), v.clone());
        }
        props
    }
}

/// The context key of a lookup: the provider, then every prop as `name=value` (nested
/// objects and lists flattened to `a.b=`/`a.0=`), sorted, joined by `:`. Strings are
/// written as they are with each `:` as `$:`; other values as JSON. This is
/// aws-cdk-lib's `ContextProvider.getKey`, byte for byte.
pub fn context_key(provider: &str, props: &Map<String, Json>) -> String {
    let mut parts = Vec::new();
    let entries: Vec<(String, &Json)> = props.iter().map(|(k, v)| (k.clone(), v)).collect();
    flatten(&entries, "", &mut parts);
    parts.sort();
    let mut key = format!("{provider}:");
    key.push_str(&parts.join(":"));
    key
}

fn flatten(entries: &[(String, &Json)], prefix: &str, out: &mut Vec<String>) {
    for (k, v) in entries {
        match v {
            // The CDK leaves `undefined` out; JSON has `null` for it.
            Json::Null => {}
            Json::Object(m) => {
                let inner: Vec<(String, &Json)> = m.iter().map(|(k, v)| (k.clone(), v)).collect();
                flatten(&inner, &format!("{prefix}{k}."), out);
            }
            Json::Array(a) => {
                let inner: Vec<(String, &Json)> =
                    a.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect();
                flatten(&inner, &format!("{prefix}{k}."), out);
            }
            // `$` is written as it is: the CDK's `replace(/\$/g, '$$')` puts back one `$`.
            Json::String(s) => out.push(format!("{prefix}{k}={}", s.replace(':', "$:"))),
            other => out.push(format!("{prefix}{k}={other}")),
        }
    }
}

/// The error a provider left in a context value (`{"$providerError": "..."}`), if any.
pub fn provider_error(value: &Json) -> Option<String> {
    match value.get(PROVIDER_ERROR_KEY)? {
        Json::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Whether a context value is kept for the next run only (`"$dontSaveContext": true`).
pub fn is_transient(value: &Json) -> bool {
    value
        .get(TRANSIENT_CONTEXT_KEY)
        .is_some_and(|v| !matches!(v, Json::Null | Json::Bool(false)))
}

/// The missing entries of several stacks, each key once, in order (the CDK's
/// `CloudAssemblyBuilder.addMissing`).
pub fn dedup_missing<'a>(all: impl IntoIterator<Item = &'a MissingContext>) -> Vec<&'a MissingContext> {
    let mut out: Vec<&MissingContext> = Vec::new();
    for m in all {
        if !out.iter().any(|o| o.key == m.key) {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn keys_are_the_cdks() {
        let q = ContextQuery::new(
            VPC_PROVIDER,
            obj(json!({"filter": {"vpc-id": "vpc-0abc"}, "returnAsymmetricSubnets": true})),
        );
        let props = q.key_props("123456789012", "eu-west-1");
        assert_eq!(
            context_key(VPC_PROVIDER, &props),
            "vpc-provider:account=123456789012:filter.vpc-id=vpc-0abc:region=eu-west-1:returnAsymmetricSubnets=true"
        );
        let ami = ContextQuery::new(
            AMI_PROVIDER,
            obj(json!({"owners": ["amazon"], "filters": {"name": ["al2023-*"], "state": ["available"]}})),
        );
        assert_eq!(
            context_key(AMI_PROVIDER, &ami.key_props("1", "r")),
            "ami:account=1:filters.name.0=al2023-*:filters.state.0=available:owners.0=amazon:region=r"
        );
        // `:` is quoted, `$` is not (the CDK's replacement string puts back one `$`).
        let ssm = ContextQuery::new(SSM_PARAMETER_PROVIDER, obj(json!({"parameterName": "/a:b$c"})));
        assert_eq!(
            context_key(SSM_PARAMETER_PROVIDER, &ssm.key_props("1", "r")),
            "ssm:account=1:parameterName=/a$:b$c:region=r"
        );
    }

    #[test]
    fn missing_props_put_the_dummy_value_first() {
        let mut q = ContextQuery::new(SSM_PARAMETER_PROVIDER, obj(json!({"parameterName": "/p"})));
        q.dummy_value = Some(json!("dummy-value-for-/p"));
        q.ignore_error_on_missing_context = Some(false);
        let props = q.missing_props(&q.key_props("1", "r"));
        assert_eq!(
            Json::Object(props).to_string(),
            r#"{"dummyValue":"dummy-value-for-/p","ignoreErrorOnMissingContext":false,"account":"1","region":"r","parameterName":"/p"}"#
        );
    }

    #[test]
    fn provider_errors_and_transient_values() {
        let v = json!({"$providerError": "no VPC", "$dontSaveContext": true});
        assert_eq!(provider_error(&v).as_deref(), Some("no VPC"));
        assert!(is_transient(&v));
        assert!(!is_transient(&json!(["a"])));
        assert!(provider_error(&json!("x")).is_none());
    }
}
