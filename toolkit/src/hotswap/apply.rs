//! Applying resolved hotswaps through the service APIs, each followed until the service says
//! it is done: a Lambda function's update until `LastUpdateStatus` leaves `InProgress`, an
//! ECS service's rollout until one deployment is left. Polling backs off as
//! [`crate::wait::Backoff`] does.

use std::time::{Duration, Instant};

use serde_json::{Map, Value as Json};

use super::classify::Hotswap;
use crate::client::{CloudError, Services};
use crate::error::{Error, Result};
use crate::wait::Backoff;

/// How long a Lambda update or an ECS rollout may take.
const WAIT_AT_MOST: Duration = Duration::from_secs(600);

/// The fields of a described task definition that `RegisterTaskDefinition` takes back.
const REGISTER_FIELDS: [&str; 16] = [
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
];

/// Applies one hotswap; `progress` gets a line per step. The error names the stack (`who`),
/// the call and the service's message.
pub(crate) async fn apply<S: Services>(
    cloud: &S,
    who: &str,
    hotswap: &Hotswap,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<()> {
    let fail = |operation: &'static str| move |e: CloudError| e.at(who, operation);
    match hotswap {
        Hotswap::Function {
            name, code, config, ..
        } => {
            if let Some(code) = code {
                cloud
                    .update_function_code(name, code)
                    .await
                    .map_err(fail("UpdateFunctionCode"))?;
                wait_for_function(cloud, who, name).await?;
            }
            if let Some(config) = config {
                cloud
                    .update_function_configuration(name, config)
                    .await
                    .map_err(fail("UpdateFunctionConfiguration"))?;
                wait_for_function(cloud, who, name).await?;
            }
        }
        Hotswap::StateMachine { arn, definition, .. } => {
            cloud
                .update_state_machine(arn, definition)
                .await
                .map_err(fail("UpdateStateMachine"))?;
        }
        Hotswap::TaskImage {
            task_definition,
            images,
            services,
            ..
        } => {
            let described = cloud
                .describe_task_definition(task_definition)
                .await
                .map_err(fail("DescribeTaskDefinition"))?;
            let input = new_revision(&described, images);
            let registered = cloud
                .register_task_definition(&input)
                .await
                .map_err(fail("RegisterTaskDefinition"))?;
            progress(&format!("registered task definition {registered}"));
            for (cluster, service, _) in services {
                cloud
                    .update_service(cluster, service, &registered)
                    .await
                    .map_err(fail("UpdateService"))?;
                progress(&format!(
                    "updated ECS service {service} (cluster {cluster}); waiting for its rollout"
                ));
                wait_for_service(cloud, who, cluster, service).await?;
            }
        }
    }
    Ok(())
}

/// The `RegisterTaskDefinition` input of a new revision: the described one with each
/// container's image replaced by `images` (by container name).
pub(crate) fn new_revision(described: &Json, images: &std::collections::BTreeMap<String, String>) -> Json {
    let mut input = Map::new();
    for field in REGISTER_FIELDS {
        if let Some(v) = described.get(field).filter(|v| !v.is_null()) {
            input.insert(field.to_string(), v.clone());
        }
    }
    if let Some(Json::Array(containers)) = input.get_mut("containerDefinitions") {
        for c in containers {
            let name = c
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some(image) = images.get(&name) {
                c["image"] = Json::String(image.clone());
            }
        }
    }
    Json::Object(input)
}

/// Waits until the function's last update is over; an error when it failed.
async fn wait_for_function<S: Services>(cloud: &S, who: &str, name: &str) -> Result<()> {
    let started = Instant::now();
    let mut backoff = Backoff::new();
    loop {
        let status = cloud
            .function_status(name)
            .await
            .map_err(|e| e.at(who, "GetFunctionConfiguration"))?;
        let failed = |what: &str| Error::Aws {
            stack: who.to_string(),
            operation: "UpdateFunction",
            message: format!(
                "the update of Lambda function {name} failed ({what}): {}",
                status.reason.as_deref().unwrap_or("no reason given")
            ),
        };
        match (status.last_update_status.as_deref(), status.state.as_deref()) {
            (Some("Failed"), _) => return Err(failed("LastUpdateStatus Failed")),
            (_, Some("Failed")) => return Err(failed("State Failed")),
            (Some("InProgress"), _) | (_, Some("Pending")) => {}
            _ => return Ok(()),
        }
        if started.elapsed() > WAIT_AT_MOST {
            return Err(failed("still in progress after 10 minutes"));
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Waits until the service's rollout is over (one deployment left, or the primary one
/// `COMPLETED`); an error when it failed.
async fn wait_for_service<S: Services>(cloud: &S, who: &str, cluster: &str, service: &str) -> Result<()> {
    let started = Instant::now();
    let mut backoff = Backoff::new();
    loop {
        let state = cloud
            .describe_service(cluster, service)
            .await
            .map_err(|e| e.at(who, "DescribeServices"))?;
        let failed = |what: String| Error::Aws {
            stack: who.to_string(),
            operation: "UpdateService",
            message: format!("the rollout of ECS service {service} {what}"),
        };
        match state.rollout_state.as_deref() {
            Some("FAILED") => {
                return Err(failed(format!(
                    "failed: {}",
                    state.rollout_reason.as_deref().unwrap_or("no reason given")
                )))
            }
            Some("COMPLETED") => return Ok(()),
            Some("IN_PROGRESS") => {}
            _ if state.deployments <= 1 => return Ok(()),
            _ => {}
        }
        if started.elapsed() > WAIT_AT_MOST {
            return Err(failed("is still in progress after 10 minutes".into()));
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}
