//! Schema facts of the resource types of the enabled services, by type name.
//! Hand-written; the tables themselves are generated (`FACTS` in each service module).
//!
//! Property paths are the schema's JSON pointers, e.g. `/properties/BucketName`.

/// What the resource provider schema says about a type, beyond its property types.
#[derive(Debug)]
pub struct ResourceFacts {
    /// The CloudFormation type, e.g. `AWS::S3::Bucket`.
    pub type_name: &'static str,
    /// `primaryIdentifier`: the properties that identify a physical resource.
    pub primary_identifier: &'static [&'static str],
    /// `createOnlyProperties`: changing one replaces the resource.
    pub create_only: &'static [&'static str],
    /// `readOnlyProperties`: set by the provider, readable with `Fn::GetAtt`.
    pub read_only: &'static [&'static str],
    /// `writeOnlyProperties`: accepted, never returned.
    pub write_only: &'static [&'static str],
    /// `deprecatedProperties`.
    pub deprecated: &'static [&'static str],
    /// Top-level `required` property names.
    pub required: &'static [&'static str],
    /// The schema used by [`SchemaValidator`](crate::SchemaValidator): minified JSON
    /// without documentation, `$ref`s kept.
    pub schema_json: &'static str,
}

impl ResourceFacts {
    /// Is the top-level property `name` create-only (replacement on change)?
    pub fn is_create_only(&self, name: &str) -> bool {
        contains_property(self.create_only, name)
    }

    /// Is the top-level property `name` deprecated?
    pub fn is_deprecated(&self, name: &str) -> bool {
        contains_property(self.deprecated, name)
    }

    /// Is the top-level property `name` read-only (an attribute)?
    pub fn is_read_only(&self, name: &str) -> bool {
        contains_property(self.read_only, name)
    }
}

fn contains_property(pointers: &[&str], name: &str) -> bool {
    pointers
        .iter()
        .any(|p| p.strip_prefix("/properties/") == Some(name))
}

/// The facts of a resource type, when its service is enabled (cargo feature) and the
/// schemas know it.
///
/// ```
/// # #[cfg(feature = "s3")] {
/// let facts = cairn_cfn::schema::facts("AWS::S3::Bucket").unwrap();
/// assert!(facts.is_create_only("BucketName"));
/// assert_eq!(facts.primary_identifier, &["/properties/BucketName"]);
/// # }
/// ```
pub fn facts(type_name: &str) -> Option<&'static ResourceFacts> {
    let (_, table) = services().get(service_prefix(type_name)?)?;
    let table = (*table)?;
    table
        .binary_search_by(|f| f.type_name.cmp(type_name))
        .ok()
        .map(|i| &table[i])
}

type ServiceEntry = (&'static str, Option<&'static [ResourceFacts]>);

/// Each service's type-name prefix (`AWS::S3::`) -> (module, facts table when enabled),
/// built once: validators and aspects look a type up for every resource.
fn services() -> &'static std::collections::HashMap<&'static str, ServiceEntry> {
    static SERVICES: std::sync::OnceLock<std::collections::HashMap<&'static str, ServiceEntry>> =
        std::sync::OnceLock::new();
    SERVICES.get_or_init(|| {
        crate::generated::ALL_SERVICES
            .iter()
            .map(|(module, prefix)| (*prefix, (*module, crate::generated::service_facts(module))))
            .collect()
    })
}

/// `AWS::S3::Bucket` -> `AWS::S3::` (every service prefix is two `::`-terminated parts).
fn service_prefix(type_name: &str) -> Option<&str> {
    let first = type_name.find("::")? + 2;
    let second = first + type_name[first..].find("::")? + 2;
    Some(&type_name[..second])
}

/// The module and cargo feature of a type's service (`AWS::S3::Bucket` -> `s3`,
/// `Alexa::ASK::Skill` -> `alexa_ask`), when the generator knows the service.
pub fn service_module(type_name: &str) -> Option<&'static str> {
    services()
        .get(service_prefix(type_name)?)
        .map(|(module, _)| *module)
}

/// Every resource type of the enabled services.
pub fn known_types() -> impl Iterator<Item = &'static str> {
    crate::generated::ALL_SERVICES
        .iter()
        .filter_map(|(module, _)| crate::generated::service_facts(module))
        .flat_map(|t| t.iter().map(|f| f.type_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enabled_type_is_found_under_its_own_service() {
        let mut n = 0;
        for t in known_types() {
            assert_eq!(facts(t).map(|f| f.type_name), Some(t));
            n += 1;
        }
        assert!(n > 0);
    }

    #[test]
    fn every_service_prefix_is_found_from_a_type_name() {
        for (module, prefix) in crate::generated::ALL_SERVICES {
            let type_name = format!("{prefix}Thing");
            assert_eq!(service_prefix(&type_name), Some(*prefix));
            assert_eq!(service_module(&type_name), Some(*module));
        }
        assert_eq!(service_prefix("AWS::S3"), None);
        assert_eq!(service_module("Custom::Thing"), None);
    }

    #[test]
    fn unknown_types_have_no_facts() {
        assert!(facts("Custom::Thing").is_none());
        assert!(facts("AWS::S3::NoSuchThing").is_none());
    }
}
