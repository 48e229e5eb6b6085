//! Evaluating a template's intrinsic functions against the deployed stack, as the CDK CLI's
//! hotswap evaluates them: `Ref` (parameters, pseudo parameters, the physical IDs of the
//! stack's resources), `Fn::GetAtt` (the attributes whose value follows from the physical
//! ID, or an output of the deployed stack with the same expression), `Fn::Join`,
//! `Fn::Sub`, `Fn::Select` and `Fn::Split`. Anything else cannot be evaluated, which makes
//! the change not hotswappable, with the reason.

use std::collections::BTreeMap;

use cairn_core::Partition;
use serde_json::Value as Json;

/// What an expression is evaluated against.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evaluator {
    /// The resource types of the deployed template, by logical ID.
    pub types: BTreeMap<String, String>,
    /// The physical IDs of the deployed stack's resources, by logical ID.
    pub physical: BTreeMap<String, String>,
    /// The stack's parameter values, by key (deployed values, else the new template's
    /// defaults).
    pub parameters: BTreeMap<String, String>,
    /// The deployed template's outputs (`Value` expressions) with their deployed values.
    pub outputs: Vec<(Json, String)>,
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The stack name.
    pub stack_name: String,
    /// The stack id.
    pub stack_id: String,
}

/// The result of an evaluation; the error says what cannot be evaluated.
pub(crate) type Evaluated = Result<Json, String>;

impl Evaluator {
    fn partition(&self) -> Partition {
        Partition::of_region(&self.region)
    }

    /// `value` with every intrinsic function evaluated.
    pub(crate) fn evaluate(&self, value: &Json) -> Evaluated {
        match value {
            Json::Array(items) => items
                .iter()
                .map(|v| self.evaluate(v))
                .collect::<Result<_, _>>()
                .map(Json::Array),
            Json::Object(map) if map.len() == 1 => {
                let (key, arg) = map
                    .iter()
                    .next()
                    .map(|(k, v)| (k.as_str(), v))
                    .unwrap_or_default();
                match key {
                    "Ref" => self.reference(arg.as_str().ok_or("Ref takes a name")?),
                    "Fn::GetAtt" => self.get_att(value, arg),
                    "Fn::Join" => self.join(arg),
                    "Fn::Sub" => self.sub(arg),
                    "Fn::Select" => self.select(arg),
                    "Fn::Split" => self.split(arg),
                    k if k.starts_with("Fn::") || k == "Condition" => {
                        Err(format!("{k} cannot be evaluated without deploying"))
                    }
                    _ => self.object(map),
                }
            }
            Json::Object(map) => self.object(map),
            other => Ok(other.clone()),
        }
    }

    fn object(&self, map: &serde_json::Map<String, Json>) -> Evaluated {
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            out.insert(k.clone(), self.evaluate(v)?);
        }
        Ok(Json::Object(out))
    }

    /// `value` evaluated to a string (numbers and booleans as text, as CloudFormation).
    pub(crate) fn string(&self, value: &Json) -> Result<String, String> {
        scalar(&self.evaluate(value)?)
    }

    fn reference(&self, name: &str) -> Evaluated {
        let pseudo = match name {
            "AWS::AccountId" => Some(self.account.clone()),
            "AWS::Region" => Some(self.region.clone()),
            "AWS::Partition" => Some(self.partition().name().to_string()),
            "AWS::URLSuffix" => Some(self.partition().dns_suffix().to_string()),
            "AWS::StackName" => Some(self.stack_name.clone()),
            "AWS::StackId" => Some(self.stack_id.clone()),
            "AWS::NoValue" => return Err("AWS::NoValue cannot be evaluated without deploying".into()),
            "AWS::NotificationARNs" => return Err("AWS::NotificationARNs cannot be evaluated".into()),
            _ => None,
        };
        if let Some(v) = pseudo.or_else(|| self.parameters.get(name).cloned()) {
            return Ok(Json::String(v));
        }
        match self.physical.get(name) {
            Some(p) => Ok(Json::String(p.clone())),
            None => Err(format!("Ref {name}: no such parameter or deployed resource")),
        }
    }

    fn get_att(&self, whole: &Json, arg: &Json) -> Evaluated {
        let (logical, attribute) = match arg {
            Json::Array(a) if a.len() == 2 => (
                a[0].as_str().ok_or("Fn::GetAtt takes a logical ID")?.to_string(),
                self.string(&a[1])?,
            ),
            Json::String(s) => match s.split_once('.') {
                Some((l, a)) => (l.to_string(), a.to_string()),
                None => return Err(format!("Fn::GetAtt {s}: not LogicalId.Attribute")),
            },
            _ => return Err("Fn::GetAtt takes [LogicalId, Attribute]".into()),
        };
        let cannot = |why: &str| format!("Fn::GetAtt {logical}.{attribute}: {why}");
        let physical = self
            .physical
            .get(&logical)
            .ok_or_else(|| cannot("the resource is not deployed"))?;
        let kind = self.types.get(&logical).map(String::as_str).unwrap_or_default();
        if let Some(v) = self.attribute(kind, &attribute, physical) {
            return Ok(Json::String(v));
        }
        // An output of the deployed stack with the same expression has its value.
        let same = |e: &Json| {
            e == whole
                || e.get("Fn::GetAtt")
                    .is_some_and(|a| same_get_att(a, &logical, &attribute))
        };
        match self.outputs.iter().find(|(e, _)| same(e)) {
            Some((_, v)) => Ok(Json::String(v.clone())),
            None => Err(cannot(&format!(
                "the attribute of a {kind} cannot be evaluated without deploying"
            ))),
        }
    }

    /// The attributes that follow from the physical ID, by type (as the CDK CLI formats them).
    fn attribute(&self, kind: &str, attribute: &str, physical: &str) -> Option<String> {
        let (p, region, account) = (self.partition().name(), &self.region, &self.account);
        let last = |sep: char| physical.rsplit(sep).next().unwrap_or(physical).to_string();
        Some(match (kind, attribute) {
            ("AWS::Lambda::Function", "Arn") => {
                format!("arn:{p}:lambda:{region}:{account}:function:{physical}")
            }
            ("AWS::StepFunctions::StateMachine", "Arn") => physical.to_string(),
            ("AWS::StepFunctions::StateMachine", "Name") => last(':'),
            ("AWS::SQS::Queue", "Arn") => format!("arn:{p}:sqs:{region}:{account}:{}", last('/')),
            ("AWS::SQS::Queue", "QueueName") => last('/'),
            ("AWS::SQS::Queue", "QueueUrl") => physical.to_string(),
            ("AWS::SNS::Topic", "TopicArn") => physical.to_string(),
            ("AWS::SNS::Topic", "TopicName") => last(':'),
            ("AWS::DynamoDB::Table", "Arn") => {
                format!("arn:{p}:dynamodb:{region}:{account}:table/{physical}")
            }
            ("AWS::S3::Bucket", "Arn") => format!("arn:{p}:s3:::{physical}"),
            ("AWS::IAM::Role", "Arn") => format!("arn:{p}:iam::{account}:role/{physical}"),
            ("AWS::Events::EventBus", "Arn") => {
                format!("arn:{p}:events:{region}:{account}:event-bus/{physical}")
            }
            ("AWS::Events::EventBus", "Name") => physical.to_string(),
            ("AWS::Logs::LogGroup", "Arn") => {
                format!("arn:{p}:logs:{region}:{account}:log-group:{physical}:*")
            }
            ("AWS::ECS::Cluster", "Arn") => format!("arn:{p}:ecs:{region}:{account}:cluster/{physical}"),
            ("AWS::ECS::TaskDefinition", "TaskDefinitionArn") => physical.to_string(),
            _ => return None,
        })
    }

    fn join(&self, arg: &Json) -> Evaluated {
        let Some([sep, list]) = arg.as_array().map(Vec::as_slice) else {
            return Err("Fn::Join takes [separator, list]".into());
        };
        let sep = sep.as_str().ok_or("Fn::Join's separator is a string")?;
        let list = self.evaluate(list)?;
        let items = list.as_array().ok_or("Fn::Join's second argument is a list")?;
        let parts = items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?;
        Ok(Json::String(parts.join(sep)))
    }

    fn select(&self, arg: &Json) -> Evaluated {
        let Some([index, list]) = arg.as_array().map(Vec::as_slice) else {
            return Err("Fn::Select takes [index, list]".into());
        };
        let index: usize = self
            .string(index)?
            .parse()
            .map_err(|_| "Fn::Select's index is a number".to_string())?;
        let list = self.evaluate(list)?;
        list.as_array()
            .and_then(|l| l.get(index).cloned())
            .ok_or_else(|| format!("Fn::Select: no item {index}"))
    }

    fn split(&self, arg: &Json) -> Evaluated {
        let Some([sep, text]) = arg.as_array().map(Vec::as_slice) else {
            return Err("Fn::Split takes [separator, string]".into());
        };
        let sep = sep.as_str().ok_or("Fn::Split's separator is a string")?;
        let text = self.string(text)?;
        Ok(Json::Array(
            text.split(sep).map(|s| Json::String(s.into())).collect(),
        ))
    }

    fn sub(&self, arg: &Json) -> Evaluated {
        let (text, vars) = match arg {
            Json::String(s) => (s.as_str(), None),
            Json::Array(a) if a.len() == 2 => (
                a[0].as_str().ok_or("Fn::Sub's first argument is a string")?,
                a[1].as_object(),
            ),
            _ => return Err("Fn::Sub takes a string or [string, variables]".into()),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("Fn::Sub: unclosed ${{ in {text:?}"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.and_then(|v| v.get(name)) {
                out.push_str(&self.string(v)?);
            } else if let Some((logical, attribute)) = name.split_once('.') {
                let whole = serde_json::json!({"Fn::GetAtt": [logical, attribute]});
                out.push_str(&scalar(&self.get_att(&whole, &whole["Fn::GetAtt"])?)?);
            } else {
                out.push_str(&scalar(&self.reference(name)?)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(Json::String(out))
    }
}

/// Whether a `Fn::GetAtt` argument (either form) names `logical`.`attribute`.
fn same_get_att(arg: &Json, logical: &str, attribute: &str) -> bool {
    match arg {
        Json::Array(a) => a.len() == 2 && a[0] == logical && a[1] == attribute,
        Json::String(s) => s.split_once('.') == Some((logical, attribute)),
        _ => false,
    }
}

/// A scalar as text.
fn scalar(v: &Json) -> Result<String, String> {
    match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        other => Err(format!("{other} is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evaluator() -> Evaluator {
        Evaluator {
            types: [
                ("Fn", "AWS::Lambda::Function"),
                ("Queue", "AWS::SQS::Queue"),
                ("Api", "AWS::ApiGateway::RestApi"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            physical: [
                ("Fn", "hello-fn"),
                ("Queue", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"),
                ("Api", "abc123"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            parameters: [("Stage".to_string(), "prod".to_string())].into(),
            outputs: vec![(json!({"Fn::GetAtt": ["Api", "RootResourceId"]}), "root9".into())],
            account: "123456789012".into(),
            region: "us-east-1".into(),
            stack_name: "Hello".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/Hello/1".into(),
        }
    }

    #[test]
    fn evaluates_what_the_cdk_evaluates() {
        let e = evaluator();
        let definition = json!({"Fn::Join": ["", [
            "{\"Resource\":\"", {"Fn::GetAtt": ["Fn", "Arn"]}, "\",\"Queue\":\"", {"Fn::GetAtt": "Queue.Arn"},
            "\",\"Stage\":\"", {"Ref": "Stage"}, "\",\"Root\":\"", {"Fn::GetAtt": ["Api", "RootResourceId"]}, "\"}"
        ]]});
        assert_eq!(
            e.string(&definition).unwrap(),
            "{\"Resource\":\"arn:aws:lambda:us-east-1:123456789012:function:hello-fn\",\"Queue\":\"arn:aws:sqs:us-east-1:123456789012:jobs\",\"Stage\":\"prod\",\"Root\":\"root9\"}"
        );
        assert_eq!(
            e.string(&json!({"Fn::Sub": "cdk-${AWS::AccountId}-${AWS::Region}-${Fn}-${Fn.Arn}-${!Keep}"}))
                .unwrap(),
            "cdk-123456789012-us-east-1-hello-fn-arn:aws:lambda:us-east-1:123456789012:function:hello-fn-${Keep}"
        );
        assert_eq!(
            e.string(&json!({"Fn::Sub": ["${X}/${AWS::Partition}", {"X": {"Ref": "Queue"}}]}))
                .unwrap(),
            "https://sqs.us-east-1.amazonaws.com/123456789012/jobs/aws"
        );
        assert_eq!(
            e.string(&json!({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}))
                .unwrap(),
            "b"
        );
        assert_eq!(
            e.evaluate(&json!({"A": [{"Ref": "Fn"}, 3]})).unwrap(),
            json!({"A": ["hello-fn", 3]})
        );
    }

    #[test]
    fn says_what_cannot_be_evaluated() {
        let e = evaluator();
        let err = |v: Json| e.evaluate(&v).unwrap_err();
        assert_eq!(
            err(json!({"Ref": "Missing"})),
            "Ref Missing: no such parameter or deployed resource"
        );
        assert_eq!(
            err(json!({"Fn::GetAtt": ["Api", "RestApiId"]})),
            "Fn::GetAtt Api.RestApiId: the attribute of a AWS::ApiGateway::RestApi cannot be evaluated without deploying"
        );
        assert_eq!(
            err(json!({"Fn::ImportValue": "Shared"})),
            "Fn::ImportValue cannot be evaluated without deploying"
        );
        assert_eq!(
            err(json!({"Fn::GetAtt": ["New", "Arn"]})),
            "Fn::GetAtt New.Arn: the resource is not deployed"
        );
    }
}
