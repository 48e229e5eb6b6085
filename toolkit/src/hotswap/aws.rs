//! The [`Services`] of a hotswap over the signed JSON client of [`crate::signed`]: Lambda
//! (REST-JSON), Step Functions (JSON 1.0) and ECS (JSON 1.1), a few calls each.

use aws_config::SdkConfig;
use serde_json::{json, Value as Json};

use crate::aws::AwsCloud;
use crate::client::{
    CloudError, CloudResult, FunctionCode, FunctionConfiguration, FunctionStatus, ServiceState, Services,
};
use crate::signed::{path_segment, JsonService, Protocol};

/// The Lambda API version in its paths.
const LAMBDA: &str = "/2015-03-31/functions";

/// The Lambda, Step Functions and ECS clients of one region.
pub(crate) struct AwsServices {
    lambda: JsonService,
    sfn: JsonService,
    ecs: JsonService,
}

impl AwsServices {
    /// The clients with the credentials, region and endpoint of `config`.
    pub(crate) fn new(config: &SdkConfig, region: &str) -> Self {
        AwsServices {
            lambda: JsonService::new("lambda", Protocol::RestJson, config, region),
            sfn: JsonService::new(
                "states",
                Protocol::AwsJson {
                    version: "1.0",
                    prefix: "AWSStepFunctions",
                },
                config,
                region,
            ),
            ecs: JsonService::new(
                "ecs",
                Protocol::AwsJson {
                    version: "1.1",
                    prefix: "AmazonEC2ContainerServiceV20141113",
                },
                config,
                region,
            ),
        }
    }
}

/// The body of `UpdateFunctionCode`.
pub(crate) fn function_code_body(code: &FunctionCode) -> Json {
    match code {
        FunctionCode::S3 { bucket, key, version } => {
            let mut body = json!({"S3Bucket": bucket, "S3Key": key});
            if let Some(v) = version {
                body["S3ObjectVersion"] = json!(v);
            }
            body
        }
        FunctionCode::ImageUri(uri) => json!({"ImageUri": uri}),
    }
}

/// The body of `UpdateFunctionConfiguration`: only what is set.
pub(crate) fn function_configuration_body(config: &FunctionConfiguration) -> Json {
    let mut body = serde_json::Map::new();
    if let Some(env) = &config.environment {
        body.insert("Environment".into(), json!({"Variables": env}));
    }
    if let Some(d) = &config.description {
        body.insert("Description".into(), json!(d));
    }
    if let Some(m) = config.memory_size {
        body.insert("MemorySize".into(), json!(m));
    }
    if let Some(t) = config.timeout {
        body.insert("Timeout".into(), json!(t));
    }
    Json::Object(body)
}

fn text(v: &Json, key: &str) -> Option<String> {
    v.get(key).and_then(Json::as_str).map(String::from)
}

impl Services for AwsCloud {
    async fn update_function_code(&self, function: &str, code: &FunctionCode) -> CloudResult<()> {
        let path = format!("{LAMBDA}/{}/code", path_segment(function));
        let s = &self.services.lambda;
        s.call("PUT", &path, "UpdateFunctionCode", &function_code_body(code))
            .await
            .map(drop)
    }

    async fn update_function_configuration(
        &self,
        function: &str,
        config: &FunctionConfiguration,
    ) -> CloudResult<()> {
        let path = format!("{LAMBDA}/{}/configuration", path_segment(function));
        let body = function_configuration_body(config);
        let s = &self.services.lambda;
        s.call("PUT", &path, "UpdateFunctionConfiguration", &body)
            .await
            .map(drop)
    }

    async fn function_status(&self, function: &str) -> CloudResult<FunctionStatus> {
        let path = format!("{LAMBDA}/{}/configuration", path_segment(function));
        let s = &self.services.lambda;
        let answer = s
            .call("GET", &path, "GetFunctionConfiguration", &Json::Null)
            .await?;
        Ok(FunctionStatus {
            state: text(&answer, "State"),
            last_update_status: text(&answer, "LastUpdateStatus"),
            reason: text(&answer, "LastUpdateStatusReason"),
        })
    }

    async fn update_state_machine(&self, arn: &str, definition: &str) -> CloudResult<()> {
        let body = json!({"stateMachineArn": arn, "definition": definition});
        let s = &self.services.sfn;
        s.call("POST", "/", "UpdateStateMachine", &body).await.map(drop)
    }

    async fn describe_task_definition(&self, arn: &str) -> CloudResult<Json> {
        let s = &self.services.ecs;
        let answer = s
            .call(
                "POST",
                "/",
                "DescribeTaskDefinition",
                &json!({"taskDefinition": arn}),
            )
            .await?;
        answer.get("taskDefinition").cloned().ok_or_else(|| {
            CloudError::Other(format!(
                "DescribeTaskDefinition of {arn} returned no task definition"
            ))
        })
    }

    async fn register_task_definition(&self, input: &Json) -> CloudResult<String> {
        let s = &self.services.ecs;
        let answer = s.call("POST", "/", "RegisterTaskDefinition", input).await?;
        answer
            .pointer("/taskDefinition/taskDefinitionArn")
            .and_then(Json::as_str)
            .map(String::from)
            .ok_or_else(|| CloudError::Other("RegisterTaskDefinition returned no task definition ARN".into()))
    }

    async fn update_service(&self, cluster: &str, service: &str, task_definition: &str) -> CloudResult<()> {
        let body = json!({
            "cluster": cluster,
            "service": service,
            "taskDefinition": task_definition,
            "forceNewDeployment": true,
        });
        let s = &self.services.ecs;
        s.call("POST", "/", "UpdateService", &body).await.map(drop)
    }

    async fn describe_service(&self, cluster: &str, service: &str) -> CloudResult<ServiceState> {
        let s = &self.services.ecs;
        let answer = s
            .call(
                "POST",
                "/",
                "DescribeServices",
                &json!({"cluster": cluster, "services": [service]}),
            )
            .await?;
        let Some(found) = answer.pointer("/services/0") else {
            let reason = answer
                .pointer("/failures/0/reason")
                .and_then(Json::as_str)
                .unwrap_or("not found");
            return Err(CloudError::Service {
                code: Some("ServiceNotFoundException".into()),
                message: format!("service {service} in cluster {cluster}: {reason}"),
            });
        };
        Ok(service_state(found))
    }
}

/// A service's state from its `DescribeServices` entry.
pub(crate) fn service_state(found: &Json) -> ServiceState {
    let deployments = found.get("deployments").and_then(Json::as_array);
    let primary =
        deployments.and_then(|d| d.iter().find(|x| text(x, "status").as_deref() == Some("PRIMARY")));
    ServiceState {
        task_definition: primary
            .and_then(|p| text(p, "taskDefinition"))
            .or_else(|| text(found, "taskDefinition"))
            .unwrap_or_default(),
        deployments: deployments.map_or(1, Vec::len),
        rollout_state: primary.and_then(|p| text(p, "rolloutState")),
        rollout_reason: primary.and_then(|p| text(p, "rolloutStateReason")),
    }
}
