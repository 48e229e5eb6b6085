//! ARNs: one way to build them, with the partition always taken from the stack
//! (`AWS::Partition`), never written as `arn:aws:` by hand, and the partition facts of a
//! region for code that runs outside CloudFormation (the toolkit's endpoints).
//!
//! ```
//! use cairn_core::{format_arn, Arn, Value};
//!
//! // arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:jobs
//! let queue = format_arn("sqs", "jobs");
//! // arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess
//! let policy = Arn::new("iam", "policy/ReadOnlyAccess").no_region().account("aws").format();
//! // arn:${AWS::Partition}:states:::lambda:invoke
//! let task = Arn::new("states", "lambda:invoke").no_region().no_account().format();
//! # let _ = (queue, policy, task, Value::Null);
//! ```

use crate::value::{Intrinsic, Pseudo, Value};

/// The region or account part of an ARN.
#[derive(Debug, Clone, PartialEq)]
pub enum ArnScope {
    /// The stack's own (`AWS::Region` / `AWS::AccountId`).
    Stack,
    /// Empty, as in global services' ARNs (`arn:aws:iam::...`, `arn:aws:s3:::bucket`).
    Omitted,
    /// A given value (a literal or a token).
    Given(Value),
}

/// The parts of an ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`.
/// The partition is always the stack's (`AWS::Partition`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arn {
    service: String,
    region: ArnScope,
    account: ArnScope,
    resource: Value,
}

impl Arn {
    /// An ARN of `service` in the stack's region and account; `resource` is everything
    /// after the account (`table/Orders`, `function:fn`, a token ...).
    pub fn new(service: &str, resource: impl Into<Value>) -> Arn {
        Arn {
            service: service.to_string(),
            region: ArnScope::Stack,
            account: ArnScope::Stack,
            resource: resource.into(),
        }
    }

    /// A region other than the stack's.
    pub fn region(mut self, region: impl Into<Value>) -> Arn {
        self.region = ArnScope::Given(region.into());
        self
    }

    /// No region (global services).
    pub fn no_region(mut self) -> Arn {
        self.region = ArnScope::Omitted;
        self
    }

    /// An account other than the stack's (`aws` for AWS managed policies).
    pub fn account(mut self, account: impl Into<Value>) -> Arn {
        self.account = ArnScope::Given(account.into());
        self
    }

    /// No account (S3 buckets, service integrations).
    pub fn no_account(mut self) -> Arn {
        self.account = ArnScope::Omitted;
        self
    }

    /// The ARN as a value: `Fn::Join` of its parts, as aws-cdk-lib's `Stack.formatArn`
    /// writes it (adjacent literals merged, a `Fn::Join ""` resource flattened in).
    pub fn format(self) -> Value {
        let mut parts = Parts::default();
        parts.literal("arn:");
        parts.value(Value::pseudo(Pseudo::Partition));
        parts.literal(&format!(":{}:", self.service));
        parts.scope(self.region, Pseudo::Region);
        parts.literal(":");
        parts.scope(self.account, Pseudo::AccountId);
        parts.literal(":");
        parts.value(self.resource);
        parts.finish()
    }
}

impl From<Arn> for Value {
    fn from(arn: Arn) -> Value {
        arn.format()
    }
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>` in the stack's partition,
/// region and account. See [`Arn`] for the other shapes.
pub fn format_arn(service: &str, resource: impl Into<Value>) -> Value {
    Arn::new(service, resource).format()
}

/// The parts of a `Fn::Join ""` being built.
#[derive(Default)]
struct Parts {
    items: Vec<Value>,
}

impl Parts {
    fn literal(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Value::String(last)) = self.items.last_mut() {
            last.push_str(s);
        } else {
            self.items.push(Value::String(s.to_string()));
        }
    }

    fn value(&mut self, v: Value) {
        match v {
            Value::String(s) => self.literal(&s),
            Value::Intrinsic(i) => match *i {
                Intrinsic::Join(d, Value::List(items)) if d.is_empty() => {
                    items.into_iter().for_each(|item| self.value(item));
                }
                other => self.items.push(Value::Intrinsic(Box::new(other))),
            },
            other => self.items.push(other),
        }
    }

    fn scope(&mut self, scope: ArnScope, pseudo: Pseudo) {
        match scope {
            ArnScope::Stack => self.value(Value::pseudo(pseudo)),
            ArnScope::Omitted => {}
            ArnScope::Given(v) => self.value(v),
        }
    }

    fn finish(self) -> Value {
        Value::join("", self.items)
    }
}

/// An AWS partition, for what runs outside CloudFormation (endpoints, console links).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partition {
    /// `aws`: the commercial regions.
    Aws,
    /// `aws-cn`: China (Beijing, Ningxia).
    AwsCn,
    /// `aws-us-gov`: AWS GovCloud (US).
    AwsUsGov,
    /// `aws-iso`: US ISO East/West.
    AwsIso,
    /// `aws-iso-b`: US ISOB East.
    AwsIsoB,
}

impl Partition {
    /// The partition of a region name (`cn-north-1` -> `aws-cn`).
    pub fn of_region(region: &str) -> Partition {
        if region.starts_with("cn-") {
            Partition::AwsCn
        } else if region.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else if region.starts_with("us-isob-") {
            Partition::AwsIsoB
        } else if region.starts_with("us-iso-") {
            Partition::AwsIso
        } else {
            Partition::Aws
        }
    }

    /// The partition's name in ARNs.
    pub fn name(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
        }
    }

    /// The DNS suffix of the partition's endpoints (`AWS::URLSuffix`).
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::AwsIso => "c2s.ic.gov",
            Partition::AwsIsoB => "sc2s.sgov.gov",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(parts: Vec<Value>) -> Value {
        Value::join("", parts)
    }

    #[test]
    fn arns_take_the_partition_from_the_stack() {
        assert_eq!(
            format_arn("sqs", "jobs"),
            join(vec![
                "arn:".into(),
                Value::pseudo(Pseudo::Partition),
                ":sqs:".into(),
                Value::pseudo(Pseudo::Region),
                ":".into(),
                Value::pseudo(Pseudo::AccountId),
                ":jobs".into(),
            ])
        );
        assert_eq!(
            Arn::new("states", "lambda:invoke")
                .no_region()
                .no_account()
                .format(),
            join(vec![
                "arn:".into(),
                Value::pseudo(Pseudo::Partition),
                ":states:::lambda:invoke".into()
            ])
        );
    }

    #[test]
    fn a_joined_resource_is_flattened_and_literals_merge() {
        let name = Value::pseudo(Pseudo::StackName);
        let resource = Value::join("", ["table/".into(), name.clone(), "/stream/*".into()]);
        let arn = Arn::new("dynamodb", resource)
            .region("eu-west-1")
            .account("123456789012")
            .format();
        assert_eq!(
            arn,
            join(vec![
                "arn:".into(),
                Value::pseudo(Pseudo::Partition),
                ":dynamodb:eu-west-1:123456789012:table/".into(),
                name,
                "/stream/*".into(),
            ])
        );
    }

    #[test]
    fn partitions_of_regions() {
        assert_eq!(Partition::of_region("eu-west-1"), Partition::Aws);
        assert_eq!(
            Partition::of_region("cn-northwest-1").dns_suffix(),
            "amazonaws.com.cn"
        );
        assert_eq!(Partition::of_region("us-gov-west-1").name(), "aws-us-gov");
        assert_eq!(Partition::of_region("us-isob-east-1"), Partition::AwsIsoB);
    }
}
