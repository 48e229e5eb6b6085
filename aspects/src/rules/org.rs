//! Organisation rules from configuration: approved AMIs.

use cairn_core::{Intrinsic, NodeKind, ParameterType, Target, Value};

use crate::rule::{Context, Rule, RuleInfo, Violation};

/// EC2 instances and launch templates use an approved AMI: a literal id on the list, an
/// SSM parameter on the list (through a template parameter of type
/// `AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>` or a `{{resolve:ssm:..}}` reference).
#[derive(Debug, Clone, Default)]
pub struct ApprovedAmi {
    /// Approved literal AMI ids.
    pub image_ids: Vec<String>,
    /// Approved SSM parameter names holding AMI ids.
    pub ssm_parameters: Vec<String>,
}

impl ApprovedAmi {
    fn approved(&self, cx: &Context, v: &Value) -> Result<(), String> {
        match v {
            Value::String(s) => {
                if let Some(name) = s
                    .strip_prefix("{{resolve:ssm:")
                    .and_then(|r| r.strip_suffix("}}"))
                {
                    let name = name.split(':').next().unwrap_or(name);
                    if self.ssm_parameters.iter().any(|p| p == name) {
                        return Ok(());
                    }
                    return Err(format!(
                        "the AMI comes from SSM parameter {name}, which is not approved"
                    ));
                }
                if self.image_ids.iter().any(|i| i == s) {
                    return Ok(());
                }
                Err(format!("AMI {s} is not approved"))
            }
            Value::Intrinsic(i) => match &**i {
                Intrinsic::Ref(Target::Node(n)) => match &cx.app.node(*n).kind() {
                    NodeKind::Parameter(p) => {
                        let ssm = matches!(&p.parameter_type, ParameterType::SsmValue(_));
                        let default = p.default.as_ref().and_then(Value::as_str);
                        match default {
                            Some(d) if ssm && self.ssm_parameters.iter().any(|x| x == d) => Ok(()),
                            Some(d) if !ssm && self.image_ids.iter().any(|x| x == d) => Ok(()),
                            _ => Err(format!(
                                "the AMI comes from parameter {} whose default is not an approved AMI or SSM parameter",
                                cx.app.path(*n)
                            )),
                        }
                    }
                    _ => Err("the AMI is not a literal or an approved parameter".into()),
                },
                _ => Err("the AMI is computed at deploy time and cannot be checked".into()),
            },
            _ => Err("the AMI is not a string".into()),
        }
    }
}

impl Rule for ApprovedAmi {
    fn info(&self) -> RuleInfo {
        RuleInfo::new(
            "CAIRN-APPROVED-AMI",
            "EC2 instances and launch templates use an approved AMI",
            &["AWS::EC2::Instance", "AWS::EC2::LaunchTemplate"],
        )
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let path = if cx.resource_type == "AWS::EC2::LaunchTemplate" {
            "LaunchTemplateData.ImageId"
        } else {
            "ImageId"
        };
        let Some(v) = cx.get(path) else {
            return match cx.resource_type {
                "AWS::EC2::Instance" if cx.get("LaunchTemplate").is_none() => {
                    vec![Violation::new("the instance has no ImageId; use an approved AMI")]
                }
                _ => vec![],
            };
        };
        match self.approved(cx, &v) {
            Ok(()) => vec![],
            Err(why) => vec![Violation::new(format!(
                "{why}; approved: {}",
                self.image_ids
                    .iter()
                    .chain(&self.ssm_parameters)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))],
        }
    }
}

/// Taggable resources carry the mandatory tag keys (set them with `Tags::of(..)`).
#[derive(Debug, Clone, Default)]
pub struct MandatoryTags {
    /// The keys every taggable resource must have.
    pub keys: Vec<String>,
}

impl Rule for MandatoryTags {
    fn info(&self) -> RuleInfo {
        RuleInfo::new(
            "CAIRN-MANDATORY-TAGS",
            "Taggable resources carry the mandatory tags",
            &["*"],
        )
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let Some(shape) = crate::tags::tag_shape(cx.resource_type) else {
            return vec![];
        };
        let present: Vec<String> = match shape {
            crate::tags::TagShape::KeyValueList { property, .. } => match cx.get(&property) {
                Some(Value::List(l)) => l
                    .iter()
                    .filter_map(|t| t.as_map()?.get("Key")?.as_str().map(str::to_string))
                    .collect(),
                Some(_) => return vec![], // computed tags cannot be checked
                None => Vec::new(),
            },
            crate::tags::TagShape::Map { property } => match cx.get(&property) {
                Some(Value::Map(m)) => m.keys().cloned().collect(),
                Some(_) => return vec![],
                None => Vec::new(),
            },
        };
        let missing: Vec<&str> = self
            .keys
            .iter()
            .filter(|k| !present.contains(k))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return vec![];
        }
        vec![Violation::new(format!(
            "missing mandatory tag(s) {}; add them with Tags::of(&mut app, scope).add(key, value)",
            missing.join(", ")
        ))]
    }
}
