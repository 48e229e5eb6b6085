//! Calls of AWS APIs on the wire ([`AwsCall`]: the JSON and Query protocols), for what a
//! test does that the steps do not offer (set up an organisation, change a resource behind
//! a system's back), optionally as a role in another account; and the reads of the probes
//! of StackSet instances, an object's content and a bucket's public access block.

use aws_config::SdkConfig;
use serde_json::{json, Value};

use super::{http, HttpRequest, IntegError, IntegRun, Result, Target};

/// How the call goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wire {
    /// `POST /` with `X-Amz-Target: <target>.<Action>` and a JSON body.
    Json {
        target: String,
        version: String,
        body: Value,
    },
    /// `POST /` with `Action=<Action>&Version=<version>&...` (form-encoded).
    Query {
        version: String,
        params: Vec<(String, String)>,
    },
}

/// One call of an AWS API by its wire protocol, signed with the run's credentials (or a
/// role's, [`AwsCall::as_role`]), for services the steps have no client for: Organizations,
/// CloudWatch Logs, IAM ... The answer is the JSON the service returned (JSON protocol) or
/// the XML text (Query protocol).
///
/// ```
/// use cairn_toolkit::integ::AwsCall;
/// use serde_json::json;
///
/// // A member account's log group, changed behind CloudFormation's back.
/// let call = AwsCall::json("logs", "Logs_20140328", "PutRetentionPolicy",
///     json!({"logGroupName": "/baseline/security", "retentionInDays": 90}))
///     .as_role("arn:aws:iam::210987654321:role/OrganizationAccountAccessRole")
///     .in_region("eu-west-1");
/// assert_eq!(call.describe(), "logs:PutRetentionPolicy in eu-west-1 as arn:aws:iam::210987654321:role/OrganizationAccountAccessRole");
/// let iam = AwsCall::query("iam", "2010-05-08", "GetRole", &[("RoleName", "Audit")]);
/// assert_eq!(iam.describe(), "iam:GetRole");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCall {
    service: String,
    action: String,
    wire: Wire,
    role: Option<String>,
    region: Option<String>,
}

/// Services with one global endpoint: their URL and signing region.
const GLOBAL: [(&str, &str, &str); 2] = [
    ("iam", "https://iam.amazonaws.com", "us-east-1"),
    (
        "organizations",
        "https://organizations.us-east-1.amazonaws.com",
        "us-east-1",
    ),
];

impl AwsCall {
    /// A JSON 1.1 call: `service` is the signing name and endpoint prefix (`logs`,
    /// `organizations`), `target` the `X-Amz-Target` prefix (`Logs_20140328`,
    /// `AWSOrganizationsV20161128`).
    pub fn json(service: &str, target: &str, action: &str, body: Value) -> Self {
        AwsCall {
            service: service.into(),
            action: action.into(),
            wire: Wire::Json {
                target: target.into(),
                version: "1.1".into(),
                body,
            },
            role: None,
            region: None,
        }
    }

    /// A Query call (`iam`, `ec2`, `rds` ...) of the API `version` (`2010-05-08`).
    pub fn query(service: &str, version: &str, action: &str, params: &[(&str, &str)]) -> Self {
        AwsCall {
            service: service.into(),
            action: action.into(),
            wire: Wire::Query {
                version: version.into(),
                params: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            role: None,
            region: None,
        }
    }

    /// JSON 1.0 instead of 1.1 (DynamoDB, Step Functions ...).
    pub fn json_version_1_0(mut self) -> Self {
        if let Wire::Json { version, .. } = &mut self.wire {
            *version = "1.0".into();
        }
        self
    }

    /// Made as this role (assumed with the run's credentials first): e.g. a member
    /// account's `OrganizationAccountAccessRole`.
    pub fn as_role(mut self, role_arn: &str) -> Self {
        self.role = Some(role_arn.into());
        self
    }

    /// Made in this region instead of the run's.
    pub fn in_region(mut self, region: &str) -> Self {
        self.region = Some(region.into());
        self
    }

    /// How the call is shown in the report: `service:Action [in region] [as role]`.
    pub fn describe(&self) -> String {
        let mut s = format!("{}:{}", self.service, self.action);
        if let Some(r) = &self.region {
            s.push_str(&format!(" in {r}"));
        }
        if let Some(r) = &self.role {
            s.push_str(&format!(" as {r}"));
        }
        s
    }

    /// Makes the call outside a run, on `target` (e.g. to set up what an app is synthesized
    /// for, such as an organisation's OUs, before its case deploys); the run's steps are
    /// [`IntegRun::call`].
    pub async fn send(&self, target: &Target) -> Result<Value> {
        let aws = crate::AwsOptions {
            endpoint_url: match target {
                Target::Local { endpoint } => Some(endpoint.clone()),
                Target::Account => None,
            },
            ..crate::AwsOptions::default()
        };
        let config = super::load_config(&aws, None).await;
        send(self, target, &config, "setup").await
    }

    /// The URL and body of the request.
    fn request(&self, url: String) -> HttpRequest {
        match &self.wire {
            Wire::Json {
                target,
                version,
                body,
            } => HttpRequest {
                method: "POST".into(),
                url,
                headers: vec![
                    ("content-type".into(), format!("application/x-amz-json-{version}")),
                    ("x-amz-target".into(), format!("{target}.{}", self.action)),
                ],
                body: body.to_string(),
                sign_for: Some(self.service.clone()),
            },
            Wire::Query { version, params } => {
                let mut body = format!("Action={}&Version={}", self.action, version);
                for (k, v) in params {
                    body.push_str(&format!(
                        "&{}={}",
                        crate::signed::path_segment(k),
                        crate::signed::path_segment(v)
                    ));
                }
                HttpRequest {
                    method: "POST".into(),
                    url,
                    headers: vec![(
                        "content-type".into(),
                        "application/x-www-form-urlencoded; charset=utf-8".into(),
                    )],
                    body,
                    sign_for: Some(self.service.clone()),
                }
            }
        }
    }
}

impl IntegRun {
    /// Makes an AWS call (see [`AwsCall`]) and returns the answer; a service error is an
    /// error naming the call.
    pub async fn call(&mut self, call: &AwsCall) -> Result<Value> {
        let answer = self.send_call(call).await?;
        self.step(call.describe());
        Ok(answer)
    }

    /// One call, for [`IntegRun::call`] and [`super::Probe::Call`].
    pub(super) async fn send_call(&self, call: &AwsCall) -> Result<Value> {
        send(call, &self.case.target, &self.config, &self.case.name).await
    }

    /// [`super::Probe::StackInstances`]: every instance of a StackSet.
    pub(super) async fn read_stack_instances(&self, stack_set: &str) -> Result<Value> {
        let fail = |e: &dyn std::error::Error| IntegError::Call {
            case: self.case.name.clone(),
            call: format!("cloudformation:ListStackInstances {stack_set}"),
            message: super::error_chain(e),
        };
        let cfn = aws_sdk_cloudformation::Client::new(&self.config);
        let mut rows = Vec::new();
        let mut token = None;
        loop {
            let page = cfn
                .list_stack_instances()
                .stack_set_name(stack_set)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| fail(&e))?;
            for i in page.summaries() {
                rows.push(json!({
                    "Account": i.account(),
                    "Region": i.region(),
                    "OrganizationalUnitId": i.organizational_unit_id(),
                    "Status": i.status().map(|s| s.as_str()),
                    "StatusReason": i.status_reason(),
                    "DetailedStatus": i.stack_instance_status().and_then(|s| s.detailed_status()).map(|s| s.as_str()),
                    "DriftStatus": i.drift_status().map(|s| s.as_str()),
                    "LastOperationId": i.last_operation_id(),
                    "StackId": i.stack_id(),
                }));
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(Value::Array(rows))
    }

    /// [`super::Probe::Object`]: an object's content, as JSON when it is.
    pub(super) async fn read_object(&self, bucket: &str, key: &str) -> Result<Value> {
        let fail = |message: String| IntegError::Call {
            case: self.case.name.clone(),
            call: format!("s3:GetObject s3://{bucket}/{key}"),
            message,
        };
        let out = aws_sdk_s3::Client::new(&self.config)
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| fail(super::error_chain(&e)))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| fail(e.to_string()))?
            .into_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// [`super::Probe::PublicAccessBlock`]: a bucket's public access block.
    pub(super) async fn read_public_access_block(&self, bucket: &str) -> Result<Value> {
        let out = aws_sdk_s3::Client::new(&self.config)
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| IntegError::Call {
                case: self.case.name.clone(),
                call: format!("s3:GetPublicAccessBlock {bucket}"),
                message: super::error_chain(&e),
            })?;
        let c = out.public_access_block_configuration();
        Ok(json!({
            "BlockPublicAcls": c.and_then(|c| c.block_public_acls()),
            "IgnorePublicAcls": c.and_then(|c| c.ignore_public_acls()),
            "BlockPublicPolicy": c.and_then(|c| c.block_public_policy()),
            "RestrictPublicBuckets": c.and_then(|c| c.restrict_public_buckets()),
        }))
    }

    /// [`Probe::BucketNotifications`].
    pub(super) async fn read_bucket_notifications(&self, bucket: &str) -> Result<Value> {
        let out = aws_sdk_s3::Client::new(&self.config)
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| IntegError::Call {
                case: self.case.name.clone(),
                call: format!("s3:GetBucketNotificationConfiguration {bucket}"),
                message: super::error_chain(&e),
            })?;
        Ok(json!({
            "LambdaFunctionConfigurations": out.lambda_function_configurations().iter().map(|c| {
                notification_entry(c.id(), c.events(), c.lambda_function_arn(), c.filter())
            }).collect::<Vec<_>>(),
            "QueueConfigurations": out.queue_configurations().iter().map(|c| {
                notification_entry(c.id(), c.events(), c.queue_arn(), c.filter())
            }).collect::<Vec<_>>(),
            "TopicConfigurations": out.topic_configurations().iter().map(|c| {
                notification_entry(c.id(), c.events(), c.topic_arn(), c.filter())
            }).collect::<Vec<_>>(),
            "EventBridge": out.event_bridge_configuration().is_some(),
        }))
    }
}

/// One entry of a bucket's notification configuration, as [`Probe::BucketNotifications`]
/// shows it.
fn notification_entry(
    id: Option<&str>,
    events: &[aws_sdk_s3::types::Event],
    arn: &str,
    filter: Option<&aws_sdk_s3::types::NotificationConfigurationFilter>,
) -> Value {
    let rules: Vec<Value> = filter
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default()
        .iter()
        .map(|r| {
            json!({
                "Name": r.name().map(|n| n.as_str().to_ascii_lowercase()),
                "Value": r.value(),
            })
        })
        .collect();
    json!({
        "Id": id,
        "Events": events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "Arn": arn,
        "FilterRules": rules,
    })
}

/// Sends `call` to `target` with the credentials of `config` (or of the call's role).
async fn send(call: &AwsCall, target: &Target, config: &SdkConfig, case: &str) -> Result<Value> {
    let fail = |message: String| IntegError::Call {
        case: case.to_string(),
        call: call.describe(),
        message,
    };
    let global = GLOBAL.iter().find(|(s, _, _)| *s == call.service);
    let region = call
        .region
        .clone()
        .or_else(|| global.map(|(_, _, r)| r.to_string()))
        .or_else(|| config.region().map(ToString::to_string))
        .unwrap_or_else(|| "us-east-1".into());
    let url = match (target, global) {
        (Target::Local { endpoint }, _) => format!("{}/", endpoint.trim_end_matches('/')),
        (Target::Account, Some((_, url, _))) => format!("{url}/"),
        (Target::Account, None) => format!("{}/", crate::aws::service_endpoint(&call.service, &region)),
    };
    let config = config_for(call, config, &region, case).await.map_err(fail)?;
    let answer = http::send(&call.request(url), &config).await.map_err(fail)?;
    if answer.status >= 300 {
        return Err(fail(format!("HTTP {}: {}", answer.status, answer.body)));
    }
    Ok(match call.wire {
        Wire::Json { .. } if answer.body.trim().is_empty() => json!({}),
        Wire::Json { .. } => serde_json::from_str(&answer.body)
            .map_err(|e| fail(format!("the answer is not JSON ({e}): {}", answer.body)))?,
        Wire::Query { .. } => Value::String(answer.body),
    })
}

/// `config` in `region`, with the credentials of the call's role when it names one.
async fn config_for(
    call: &AwsCall,
    config: &SdkConfig,
    region: &str,
    case: &str,
) -> std::result::Result<SdkConfig, String> {
    let mut builder = config
        .to_builder()
        .region(aws_config::Region::new(region.to_string()));
    if let Some(role) = &call.role {
        let session: String = format!("cairn-integ-{case}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "=,.@-".contains(*c))
            .take(64)
            .collect();
        let out = aws_sdk_sts::Client::new(config)
            .assume_role()
            .role_arn(role)
            .role_session_name(session)
            .send()
            .await
            .map_err(|e| format!("cannot assume {role}: {}", super::error_chain(&e)))?;
        let c = out
            .credentials()
            .ok_or_else(|| format!("assuming {role} returned no credentials"))?;
        let credentials = aws_credential_types::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "cairn-integ-assumed-role",
        );
        builder = builder.credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        );
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_go_on_the_wire_as_their_protocol_says() {
        let j = AwsCall::json(
            "organizations",
            "AWSOrganizationsV20161128",
            "ListAccounts",
            json!({}),
        )
        .request("http://x/".into());
        assert_eq!(j.body, "{}");
        assert!(j.headers.contains(&(
            "x-amz-target".into(),
            "AWSOrganizationsV20161128.ListAccounts".into()
        )));
        assert!(j
            .headers
            .contains(&("content-type".into(), "application/x-amz-json-1.1".into())));
        assert_eq!(j.sign_for.as_deref(), Some("organizations"));
        let q = AwsCall::query(
            "iam",
            "2010-05-08",
            "UpdateRole",
            &[("RoleName", "a/b c"), ("MaxSessionDuration", "43200")],
        )
        .request("http://x/".into());
        assert_eq!(
            q.body,
            "Action=UpdateRole&Version=2010-05-08&RoleName=a%2Fb%20c&MaxSessionDuration=43200"
        );
        let v = AwsCall::json("dynamodb", "DynamoDB_20120810", "ListTables", json!({}))
            .json_version_1_0()
            .request("http://x/".into());
        assert!(v
            .headers
            .contains(&("content-type".into(), "application/x-amz-json-1.0".into())));
    }
}
