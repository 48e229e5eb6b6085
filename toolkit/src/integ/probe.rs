//! What an assertion reads ([`Probe`]) and what it expects of it ([`Expected`]).

use serde_json::{json, Map, Value};

use super::AwsCall;

/// Something an assertion reads through the AWS APIs, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// An SSM parameter: `{"Value", "Type", "Tags": {key: value}}` (`GetParameter`, then
    /// `ListTagsForResource` with the resource type `Parameter`).
    Parameter {
        /// The parameter's name.
        name: String,
    },
    /// Every item of a DynamoDB table (`Scan`), each as plain JSON (`{"S": "x"}` is `"x"`,
    /// numbers are numbers).
    TableItems {
        /// The table's name.
        table: String,
    },
    /// The keys of the objects in a bucket under a prefix (`ListObjectsV2`), sorted.
    Objects {
        /// The bucket's name.
        bucket: String,
        /// The key prefix (empty: every object).
        prefix: String,
    },
    /// A Step Functions execution: `{"status", "output" (parsed), "error", "cause"}`
    /// (`DescribeExecution`).
    Execution {
        /// The execution's ARN.
        arn: String,
    },
    /// A Lambda function's configuration: `{"MemorySize", "Timeout", "Runtime", "Handler"}`
    /// (`GetFunctionConfiguration`).
    Function {
        /// The function's name or ARN.
        name: String,
    },
    /// The messages waiting in a queue: `{"visible", "inFlight"}` (the queue's approximate
    /// counts).
    QueueDepth {
        /// The queue's URL.
        queue_url: String,
    },
    /// What a Lambda function returns for a payload (`Invoke`, synchronous), as JSON; a
    /// function error makes the read fail (as the CDK's `invokeFunction` assertion). For a
    /// system's own read-only functions (e.g. "describe this instance"), polled until they
    /// answer as expected.
    Invoke {
        /// The function's name or ARN.
        function: String,
        /// The JSON event it is invoked with.
        payload: Value,
    },
    /// What a receiver made by [`IntegRun::webhook`](super::IntegRun::webhook) was sent, in
    /// order: `[{"method", "path", "body"}]`, the body parsed when it is JSON.
    Webhook {
        /// The receiver's URL.
        url: String,
    },
    /// What an AWS call answers ([`AwsCall`]; a read such as Organizations' `ListAccounts`
    /// or a member account's `DescribeLogGroups`).
    Call(AwsCall),
    /// Every instance of a StackSet (`ListStackInstances`): `[{"Account", "Region",
    /// "OrganizationalUnitId", "Status", "StatusReason", "DetailedStatus", "DriftStatus",
    /// "LastOperationId", "StackId"}]`.
    StackInstances {
        /// The StackSet's name or id.
        stack_set: String,
    },
    /// An object's content (`GetObject`): its JSON when it is JSON, else its text.
    Object {
        /// The bucket's name.
        bucket: String,
        /// The object's key.
        key: String,
    },
    /// A bucket's public access block (`GetPublicAccessBlock`): `{"BlockPublicAcls",
    /// "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"}`.
    PublicAccessBlock {
        /// The bucket's name.
        bucket: String,
    },
    /// A bucket's notification configuration (`GetBucketNotificationConfiguration`):
    /// `{"LambdaFunctionConfigurations", "QueueConfigurations", "TopicConfigurations":
    /// [{"Id", "Events", "Arn", "FilterRules": [{"Name", "Value"}]}], "EventBridge": bool}`,
    /// filter rule names lower case.
    BucketNotifications {
        /// The bucket's name.
        bucket: String,
    },
}

impl Probe {
    /// An SSM parameter's value, type and tags.
    pub fn parameter(name: impl Into<String>) -> Self {
        Probe::Parameter { name: name.into() }
    }
    /// The items of a DynamoDB table.
    pub fn table_items(table: impl Into<String>) -> Self {
        Probe::TableItems { table: table.into() }
    }
    /// The object keys in a bucket under `prefix`.
    pub fn objects(bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Probe::Objects {
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }
    /// A Step Functions execution's status and output.
    pub fn execution(arn: impl Into<String>) -> Self {
        Probe::Execution { arn: arn.into() }
    }
    /// A Lambda function's configuration.
    pub fn function(name: impl Into<String>) -> Self {
        Probe::Function { name: name.into() }
    }
    /// The approximate number of messages in a queue.
    pub fn queue_depth(queue_url: impl Into<String>) -> Self {
        Probe::QueueDepth {
            queue_url: queue_url.into(),
        }
    }

    /// What `function` returns when invoked with `payload`.
    pub fn invoke(function: impl Into<String>, payload: Value) -> Self {
        Probe::Invoke {
            function: function.into(),
            payload,
        }
    }

    /// What the receiver at `url` was sent.
    pub fn webhook(url: impl Into<String>) -> Self {
        Probe::Webhook { url: url.into() }
    }

    /// What an AWS call answers.
    pub fn call(call: AwsCall) -> Self {
        Probe::Call(call)
    }

    /// The instances of a StackSet.
    pub fn stack_instances(stack_set: impl Into<String>) -> Self {
        Probe::StackInstances {
            stack_set: stack_set.into(),
        }
    }

    /// An object's content.
    pub fn object(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Probe::Object {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    /// A bucket's public access block.
    pub fn public_access_block(bucket: impl Into<String>) -> Self {
        Probe::PublicAccessBlock {
            bucket: bucket.into(),
        }
    }

    /// A bucket's notification configuration.
    pub fn bucket_notifications(bucket: impl Into<String>) -> Self {
        Probe::BucketNotifications {
            bucket: bucket.into(),
        }
    }

    /// How the probe is shown in the report.
    pub fn describe(&self) -> String {
        match self {
            Probe::Parameter { name } => format!("parameter {name}"),
            Probe::TableItems { table } => format!("items of table {table}"),
            Probe::Objects { bucket, prefix } => format!("objects s3://{bucket}/{prefix}"),
            Probe::Execution { arn } => format!("execution {arn}"),
            Probe::Function { name } => format!("function {name}"),
            Probe::QueueDepth { queue_url } => format!("messages in {queue_url}"),
            Probe::Invoke { function, payload } => format!("function {function} invoked with {payload}"),
            Probe::Webhook { url } => format!("posts to {url}"),
            Probe::Call(call) => format!("the answer of {}", call.describe()),
            Probe::StackInstances { stack_set } => format!("instances of StackSet {stack_set}"),
            Probe::Object { bucket, key } => format!("object s3://{bucket}/{key}"),
            Probe::PublicAccessBlock { bucket } => format!("public access block of bucket {bucket}"),
            Probe::BucketNotifications { bucket } => format!("notification configuration of bucket {bucket}"),
        }
    }
}

/// What a probe's JSON must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Equal to this value.
    Exact(Value),
    /// Like this value: an object matches when each of the pattern's keys matches (other
    /// keys are ignored), an array when each pattern element matches one of its elements
    /// (as `Match.objectLike` and `Match.arrayWith` of the CDK's assertions), anything else
    /// when equal.
    Like(Value),
    /// Holding, at any depth, one string that contains every one of these texts (as the
    /// CDK's `Match.stringLikeRegexp` inside a pattern): a message among posts, a line of
    /// a log.
    TextWith(Vec<String>),
}

impl Expected {
    /// Equal to `value`.
    pub fn exact(value: Value) -> Self {
        Expected::Exact(value)
    }
    /// Like `pattern` (see [`Expected::Like`]).
    pub fn like(pattern: Value) -> Self {
        Expected::Like(pattern)
    }

    /// One string, anywhere in the value, containing every text of `texts`.
    pub fn text_with<I, S>(texts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Expected::TextWith(texts.into_iter().map(Into::into).collect())
    }

    /// Whether `actual` is what is expected.
    pub fn matches(&self, actual: &Value) -> bool {
        match self {
            Expected::Exact(v) => v == actual,
            Expected::Like(p) => like(p, actual),
            Expected::TextWith(texts) => has_text_with(actual, texts),
        }
    }

    /// The expectation as the report shows it.
    pub fn describe(&self) -> String {
        match self {
            Expected::Exact(v) => format!("exactly {v}"),
            Expected::Like(v) => format!("like {v}"),
            Expected::TextWith(texts) => format!("holding a text with {texts:?}"),
        }
    }
}

fn like(pattern: &Value, actual: &Value) -> bool {
    match (pattern, actual) {
        (Value::Object(p), Value::Object(a)) => {
            p.iter().all(|(k, pv)| a.get(k).is_some_and(|av| like(pv, av)))
        }
        (Value::Array(p), Value::Array(a)) => p.iter().all(|pv| a.iter().any(|av| like(pv, av))),
        _ => pattern == actual,
    }
}

fn has_text_with(value: &Value, texts: &[String]) -> bool {
    match value {
        Value::String(s) => texts.iter().all(|t| s.contains(t.as_str())),
        Value::Array(items) => items.iter().any(|v| has_text_with(v, texts)),
        Value::Object(map) => map.values().any(|v| has_text_with(v, texts)),
        _ => false,
    }
}

/// A DynamoDB item as plain JSON.
pub(crate) fn item_json(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect::<Map<_, _>>(),
    )
}

fn attribute_json(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let number = |n: &str| {
        n.parse::<i64>()
            .map(Value::from)
            .or_else(|_| n.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(n.to_string()))
    };
    match v {
        A::S(s) => Value::String(s.clone()),
        A::N(n) => number(n),
        A::Bool(b) => Value::Bool(*b),
        A::Null(_) => Value::Null,
        A::M(m) => item_json(m),
        A::L(l) => Value::Array(l.iter().map(attribute_json).collect()),
        A::Ss(s) => json!(s),
        A::Ns(ns) => Value::Array(ns.iter().map(|n| number(n)).collect()),
        A::B(_) | A::Bs(_) => Value::String("<binary>".into()),
        _ => Value::String("<unknown attribute type>".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_ignores_extra_keys_and_finds_array_elements() {
        let actual = json!({"status": "SUCCEEDED", "output": {"a": 1, "b": [1, 2, {"c": 3, "d": 4}]}});
        assert!(Expected::like(json!({"status": "SUCCEEDED"})).matches(&actual));
        assert!(Expected::like(json!({"output": {"b": [{"c": 3}]}})).matches(&actual));
        assert!(!Expected::like(json!({"output": {"b": [{"c": 4}]}})).matches(&actual));
        assert!(!Expected::like(json!({"status": "FAILED"})).matches(&actual));
        assert!(!Expected::like(json!({"missing": null})).matches(&actual));
        assert!(!Expected::exact(json!({"status": "SUCCEEDED"})).matches(&actual));
        assert!(Expected::exact(json!([1, 2])).matches(&json!([1, 2])));
    }

    #[test]
    fn text_with_needs_every_text_in_one_string() {
        let posts = json!([
            {"body": {"text": ":white_check_mark: job net *Stop*: run-1 SUCCEEDED"}},
            {"body": {"text": ":x: job net *Stop*: run-2 FAILED\nWebJobnet.StopFailed: ..."}}
        ]);
        assert!(Expected::text_with([":x: job net", "FAILED", "StopFailed"]).matches(&posts));
        assert!(Expected::text_with(["job net *Stop*", "SUCCEEDED"]).matches(&posts));
        // Each text is there, but not in one string.
        assert!(!Expected::text_with([":white_check_mark:", "FAILED"]).matches(&posts));
        assert!(!Expected::text_with(["Start"]).matches(&posts));
        assert!(!Expected::text_with(["1"]).matches(&json!([1, {"n": 1}])));
    }

    #[test]
    fn items_are_plain_json() {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let item = [
            ("id".to_string(), A::S("x".into())),
            ("n".to_string(), A::N("42".into())),
            ("f".to_string(), A::N("1.5".into())),
            ("m".to_string(), A::M([("ok".to_string(), A::Bool(true))].into())),
        ]
        .into();
        assert_eq!(
            item_json(&item),
            json!({"id": "x", "n": 42, "f": 1.5, "m": {"ok": true}})
        );
    }
}
