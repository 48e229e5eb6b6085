//! Rust identifiers from CloudFormation names.

/// Rust keywords (strict and reserved) that cannot be used as plain identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static",
    "struct", "super", "trait", "true", "try", "type", "typeof", "union", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Type names the generated modules use unqualified; a schema type with one of these
/// names gets a `Property` suffix.
const RESERVED_TYPES: &[&str] = &[
    "Any",
    "Box",
    "Default",
    "Err",
    "From",
    "IndexMap",
    "Into",
    "NodeId",
    "None",
    "Ok",
    "Option",
    "Resource",
    "Result",
    "Self",
    "Some",
    "String",
    "ToValue",
    "TypedResource",
    "Val",
    "Value",
    "Vec",
];

/// Splits a CloudFormation name into words: `DBInstanceClass` -> `DB`, `Instance`, `Class`;
/// `PAY_PER_REQUEST` -> `PAY`, `PER`, `REQUEST`; `t2.micro` -> `t2`, `micro`.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = chunk.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && c.is_ascii_uppercase() {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                if prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next_lower)
                {
                    out.push(std::mem::take(&mut cur));
                }
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// `snake_case` field or module name, never a keyword, never starting with a digit.
pub fn snake(name: &str) -> String {
    let mut s = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if s.is_empty() {
        s = "field".to_string();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "n_");
    }
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// `UpperCamelCase` type name that keeps the schema's own casing where it is already
/// camel case (`SSESpecification` stays), only dropping separators.
pub fn type_name(name: &str) -> String {
    let mut s = String::new();
    for chunk in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut cs = chunk.chars();
        if let Some(f) = cs.next() {
            s.push(f.to_ascii_uppercase());
            s.extend(cs);
        }
    }
    if s.is_empty() {
        s = "Type".to_string();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'T');
    }
    if RESERVED_TYPES.contains(&s.as_str()) {
        s.push_str("Property");
    }
    s
}

/// Enum variant name for a schema value: `PAY_PER_REQUEST` -> `PayPerRequest`,
/// `aws:kms` -> `AwsKms`, `t2.micro` -> `T2Micro`, `""` -> `Empty`.
pub fn variant(value: &str) -> String {
    let mut s = String::new();
    for w in words(value) {
        let mut cs = w.chars();
        if let Some(f) = cs.next() {
            s.push(f.to_ascii_uppercase());
            s.push_str(&cs.as_str().to_ascii_lowercase());
        }
    }
    if s.is_empty() {
        s = if value.is_empty() {
            "Empty".to_string()
        } else {
            "Value".to_string()
        };
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'V');
    }
    if s == "Other" || s == "Self" {
        s.push_str("Value");
    }
    s
}

/// Makes `base` unique against `taken` by appending 2, 3, ...
pub fn unique(base: &str, taken: &mut std::collections::HashSet<String>) -> String {
    if taken.insert(base.to_string()) {
        return base.to_string();
    }
    for i in 2.. {
        let candidate = format!("{base}{i}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
    unreachable!()
}

/// The module (and cargo feature) of a type's service: `AWS::S3::Bucket` -> `s3`,
/// `Alexa::ASK::Skill` -> `alexa_ask`.
pub fn service_module(type_name: &str) -> String {
    let parts: Vec<&str> = type_name.split("::").collect();
    let raw = match parts.as_slice() {
        ["AWS", service, ..] => service.to_string(),
        [vendor, service, ..] => format!("{vendor}_{service}"),
        _ => type_name.to_string(),
    };
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if KEYWORDS.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_handles_acronyms_and_digits() {
        assert_eq!(snake("DBInstanceClass"), "db_instance_class");
        assert_eq!(snake("SSESpecification"), "sse_specification");
        assert_eq!(snake("Ipv6CidrBlock"), "ipv6_cidr_block");
        assert_eq!(snake("S3Bucket"), "s3_bucket");
        assert_eq!(snake("Type"), "type_");
        assert_eq!(snake("Arn"), "arn");
        assert_eq!(snake("3Days"), "n_3_days");
    }

    #[test]
    fn type_names_and_variants() {
        assert_eq!(type_name("SSESpecification"), "SSESpecification");
        assert_eq!(type_name("lifecycle_rule"), "LifecycleRule");
        assert_eq!(type_name("Value"), "ValueProperty");
        assert_eq!(variant("PAY_PER_REQUEST"), "PayPerRequest");
        assert_eq!(variant("aws:kms"), "AwsKms");
        assert_eq!(variant("t2.micro"), "T2Micro");
        assert_eq!(variant("2xlarge"), "V2xlarge");
        assert_eq!(variant(""), "Empty");
        assert_eq!(variant("Other"), "OtherValue");
    }

    #[test]
    fn service_modules() {
        assert_eq!(service_module("AWS::S3::Bucket"), "s3");
        assert_eq!(
            service_module("AWS::ElasticLoadBalancingV2::Listener"),
            "elasticloadbalancingv2"
        );
        assert_eq!(service_module("Alexa::ASK::Skill"), "alexa_ask");
    }

    #[test]
    fn unique_names() {
        let mut taken = std::collections::HashSet::new();
        assert_eq!(unique("Tag", &mut taken), "Tag");
        assert_eq!(unique("Tag", &mut taken), "Tag2");
    }
}
