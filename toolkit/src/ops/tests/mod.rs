//! The day-2 commands against the fake, each through [`Prepared`] as the CLI runs them: an
//! assembly directory on disk, the command planned, then run. (moto 5.2.5 has no
//! `RollbackStack`, `ContinueUpdateRollback`, `DetectStackDrift`,
//! `DescribeStackDriftDetectionStatus` or `DescribeStackResourceDrifts`, and does not execute
//! `IMPORT` change sets as CloudFormation does: those calls are tested here only.)

mod drift;
mod gc;
mod import;
mod rollback;

use std::path::PathBuf;

use serde_json::{json, Value as Json};

use crate::commands::Prepared;
use crate::error::Result;
use crate::fake::{Harness, ACCOUNT};
use crate::Command;

/// A temporary assembly directory whose stacks carry the CDK synthesizer's fields (deploy,
/// execution and lookup roles; bootstrap version) for the default qualifier.
pub(super) struct App(pub PathBuf);

impl App {
    pub(super) fn new(name: &str, stacks: &[(&str, Json)]) -> Self {
        let dir = std::env::temp_dir().join(format!("cairn-ops-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let names = cairn_core::BootstrapNames::default();
        let mut artifacts = serde_json::Map::new();
        for (id, template) in stacks {
            std::fs::write(dir.join(format!("{id}.template.json")), template.to_string()).unwrap();
            artifacts.insert(
                id.to_string(),
                json!({"type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region",
                       "properties": {
                           "templateFile": format!("{id}.template.json"),
                           "assumeRoleArn": names.deploy_role_arn(),
                           "cloudFormationExecutionRoleArn": names.cfn_exec_role_arn(),
                           "lookupRole": {"arn": names.lookup_role_arn()},
                           "requiresBootstrapStackVersion": 6,
                           "bootstrapStackVersionSsmParameter": names.version_parameter(),
                       }}),
            );
        }
        std::fs::write(
            dir.join("manifest.json"),
            json!({"version": "36.0.0", "artifacts": artifacts}).to_string(),
        )
        .unwrap();
        App(dir)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Plans `command` on the app and runs it against the harness.
pub(super) async fn run(h: &Harness, app: &App, command: Command) -> Result<()> {
    Prepared::new(&app.0, command)?.run(h.ctx.clone()).await
}

/// The ARN of a bootstrap role (`deploy`, `cfn-exec`, `lookup` ...) of the fake's account.
pub(super) fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-{name}-role-{ACCOUNT}-us-east-1")
}

/// A template with a queue and a bucket.
pub(super) fn template() -> Json {
    json!({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        "Bucket": {"Type": "AWS::S3::Bucket"},
    }})
}
