//! The fake's Lambda, Step Functions and ECS (for the hotswap tests): functions whose
//! updates stay `InProgress` for a number of polls (or fail), state machines, task
//! definitions with revisions, and services whose rollout takes a number of polls.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::client::Cloud;
use crate::client::{
    CloudError, CloudResult, FunctionCode, FunctionConfiguration, FunctionStatus, ServiceState, Services,
};
use crate::fake::FakeCloud;

/// A Lambda function.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FakeFunction {
    /// Its code.
    pub code: Option<FunctionCode>,
    /// Its configuration (each field set once updated).
    pub config: FunctionConfiguration,
    /// `GetFunctionConfiguration` answers `InProgress` this many more times.
    pub in_progress: u32,
}

/// An ECS service.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FakeService {
    /// Its task definition.
    pub task_definition: String,
    /// `DescribeServices` shows two deployments this many more times.
    pub rolling: u32,
}

/// The services' state, and their knobs.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeServices {
    /// Functions by name.
    pub functions: BTreeMap<String, FakeFunction>,
    /// How many polls each function update stays `InProgress`.
    pub update_polls: u32,
    /// The next function update ends `Failed` with this reason.
    pub fail_function_update: Option<String>,
    /// State machine definitions by ARN.
    pub state_machines: BTreeMap<String, String>,
    /// Task definitions (the API's shape) by ARN.
    pub task_definitions: BTreeMap<String, Json>,
    /// Services by `(cluster, service)`.
    pub services: BTreeMap<(String, String), FakeService>,
    /// How many polls a service rollout takes.
    pub rollout_polls: u32,
}

fn not_found(what: &str) -> CloudError {
    CloudError::Service {
        code: Some("ResourceNotFoundException".into()),
        message: format!("{what} not found"),
    }
}

impl FakeCloud {
    fn function_update(&self, name: &str, f: impl FnOnce(&mut FakeFunction)) -> CloudResult<()> {
        let mut w = self.world();
        let polls = w.services.update_polls;
        let function = w
            .services
            .functions
            .get_mut(name)
            .ok_or_else(|| not_found(&format!("Function {name}")))?;
        if function.in_progress > 0 {
            return Err(CloudError::Service {
                code: Some("ResourceConflictException".into()),
                message: format!("An update is in progress for resource: {name}"),
            });
        }
        f(function);
        function.in_progress = polls;
        Ok(())
    }
}

impl Services for FakeCloud {
    async fn update_function_code(&self, function: &str, code: &FunctionCode) -> CloudResult<()> {
        self.call("UpdateFunctionCode", function).await?;
        self.function_update(function, |f| f.code = Some(code.clone()))
    }

    async fn update_function_configuration(
        &self,
        function: &str,
        config: &FunctionConfiguration,
    ) -> CloudResult<()> {
        self.call("UpdateFunctionConfiguration", function).await?;
        self.function_update(function, |f| {
            let c = config.clone();
            f.config.environment = c.environment.or(f.config.environment.take());
            f.config.description = c.description.or(f.config.description.take());
            f.config.memory_size = c.memory_size.or(f.config.memory_size);
            f.config.timeout = c.timeout.or(f.config.timeout);
        })
    }

    async fn function_status(&self, function: &str) -> CloudResult<FunctionStatus> {
        self.call("GetFunctionConfiguration", function).await?;
        let mut w = self.world();
        let fail = w.services.fail_function_update.clone();
        let f = w
            .services
            .functions
            .get_mut(function)
            .ok_or_else(|| not_found(&format!("Function {function}")))?;
        let (status, reason) = if f.in_progress > 0 {
            f.in_progress -= 1;
            ("InProgress", None)
        } else if let Some(reason) = fail {
            ("Failed", Some(reason))
        } else {
            ("Successful", None)
        };
        Ok(FunctionStatus {
            state: Some("Active".into()),
            last_update_status: Some(status.into()),
            reason,
        })
    }

    async fn update_state_machine(&self, arn: &str, definition: &str) -> CloudResult<()> {
        self.call("UpdateStateMachine", arn).await?;
        if let Err(e) = serde_json::from_str::<Json>(definition) {
            return Err(CloudError::Service {
                code: Some("InvalidDefinition".into()),
                message: format!("Invalid State Machine Definition: {e}"),
            });
        }
        let mut w = self.world();
        let sm = w
            .services
            .state_machines
            .get_mut(arn)
            .ok_or_else(|| not_found(&format!("State Machine {arn}")))?;
        *sm = definition.to_string();
        Ok(())
    }

    async fn describe_task_definition(&self, arn: &str) -> CloudResult<Json> {
        self.call("DescribeTaskDefinition", arn).await?;
        let w = self.world();
        w.services
            .task_definitions
            .get(arn)
            .cloned()
            .ok_or_else(|| not_found(&format!("Task definition {arn}")))
    }

    async fn register_task_definition(&self, input: &Json) -> CloudResult<String> {
        let family = input
            .get("family")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        self.call("RegisterTaskDefinition", &family).await?;
        let mut w = self.world();
        let prefix = format!(
            "arn:aws:ecs:{}:{}:task-definition/{family}:",
            self.region(),
            w.account
        );
        let revision = w
            .services
            .task_definitions
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .count()
            + 1;
        let arn = format!("{prefix}{revision}");
        let mut stored = input.clone();
        stored["taskDefinitionArn"] = json!(arn);
        stored["revision"] = json!(revision);
        w.services.task_definitions.insert(arn.clone(), stored);
        Ok(arn)
    }

    async fn update_service(&self, cluster: &str, service: &str, task_definition: &str) -> CloudResult<()> {
        self.call("UpdateService", service).await?;
        let mut w = self.world();
        if !w.services.task_definitions.contains_key(task_definition) {
            return Err(CloudError::Service {
                code: Some("ClientException".into()),
                message: format!("TaskDefinition not found: {task_definition}"),
            });
        }
        let polls = w.services.rollout_polls;
        let s = w
            .services
            .services
            .get_mut(&(cluster.to_string(), service.to_string()))
            .ok_or_else(|| not_found(&format!("Service {service} in cluster {cluster}")))?;
        s.task_definition = task_definition.to_string();
        s.rolling = polls;
        Ok(())
    }

    async fn describe_service(&self, cluster: &str, service: &str) -> CloudResult<ServiceState> {
        self.call("DescribeServices", service).await?;
        let mut w = self.world();
        let s = w
            .services
            .services
            .get_mut(&(cluster.to_string(), service.to_string()))
            .ok_or_else(|| not_found(&format!("Service {service} in cluster {cluster}")))?;
        let rolling = s.rolling > 0;
        s.rolling = s.rolling.saturating_sub(1);
        Ok(ServiceState {
            task_definition: s.task_definition.clone(),
            deployments: if rolling { 2 } else { 1 },
            rollout_state: Some(if rolling { "IN_PROGRESS" } else { "COMPLETED" }.into()),
            rollout_reason: None,
        })
    }
}
