//! pipelines (SaaS): a new row in the deployments table produces a working stage pipeline.
//!
//! The toolchain stack is deployed into the toolchain account (another than the caller's,
//! reached through its organization access role, as a platform team's CI reaches it). A
//! row is put into the deployments table; the table's stream runs `DeploymentSync` (its
//! real code), which starts the `PipelineDeployment` build with the row's `TENANT_*`
//! variables. The build's work is then done as its commands do it: the app is synthesized
//! with the variables the build was started with (read back from CodeBuild, not the
//! test's own values) and the new deployment's pipeline stack is deployed. Its pipeline
//! must exist with the stages of a stage pipeline, its Synth step must carry the row's
//! variables (so SelfMutate finds its own stack), and its Deploy stage must deploy the
//! tenant's stack into the row's account through that account's bootstrap roles.

use std::collections::HashMap;

use cairn::integ::{AwsCall, Expected, IntegCase, IntegRun, Probe};
use examples::pipelines::{build_default, build_with_variables, Deployment, TOOLCHAIN_STACK};
use serde_json::{json, Value};

use super::{passed, require_target};

/// The role AWS Organizations makes in each member account; the toolchain account is
/// reached through it.
const ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

fn codebuild(action: &str, body: Value) -> AwsCall {
    AwsCall::json("codebuild", "CodeBuild_20161006", action, body)
}

fn codepipeline(action: &str, body: Value) -> AwsCall {
    AwsCall::json("codepipeline", "CodePipeline_20150709", action, body)
}

/// The name -> value map of a CodeBuild environment's variables.
fn variables(environment: &Value) -> HashMap<String, String> {
    environment["environmentVariables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v["name"].as_str()?.to_string(), v["value"].as_str()?.to_string())))
        .collect()
}

/// The pattern of an environment holding the deployment's `TENANT_*` variables.
fn tenant_variables(row: &Deployment) -> Value {
    let vars: Vec<Value> = row
        .tenant_variables()
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({"environmentVariables": vars})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn pipelines_new_deployment() {
    require_target();
    let assembly = build_default().unwrap().synth().unwrap();
    let case = IntegCase::from_assembly("pipelines", &assembly)
        .unwrap()
        .stacks([TOOLCHAIN_STACK])
        .access_role(ACCESS_ROLE);
    passed(
        case.run(async |run: &mut IntegRun| {
            run.not_run_locally(
                "CodeBuild runs no commands: the deployment build's work (synthesize the app for the build's \
                 variables, deploy the new pipeline's stack) is done by the test, with the variables the build was \
                 started with",
            );
            run.not_run_locally(
                "CodePipeline runs no action: the new stage pipeline is read (stages, Synth variables, Deploy \
                 targets), not run; the toolchain's release step is run against a fake aws CLI \
                 (synth-tests/tests/pipelines.rs)",
            );
            let table = run.physical_id_at(TOOLCHAIN_STACK, "Deployments").await?;
            let project = run.physical_id_at(TOOLCHAIN_STACK, "PipelineDeployment").await?;
            let row = Deployment {
                id: "tenant-c".into(),
                account: "444444444444".into(),
                region: "eu-west-1".into(),
                kind: "silo".into(),
            };
            let item = json!({
                "id": {"S": row.id}, "account": {"S": row.account},
                "region": {"S": row.region}, "type": {"S": row.kind},
            });
            run.call(
                &AwsCall::json("dynamodb", "DynamoDB_20120810", "PutItem", json!({"TableName": table, "Item": item}))
                    .json_version_1_0(),
            )
            .await?;
            let builds = run
                .expect(
                    "the table's stream runs DeploymentSync, which starts a deployment build",
                    Probe::call(codebuild("ListBuildsForProject", json!({"projectName": project}))),
                    Expected::text_with([format!("{project}:")]),
                )
                .await?;
            let build = run
                .expect(
                    "the build has the row's TENANT_* variables",
                    Probe::call(codebuild("BatchGetBuilds", json!({"ids": builds["ids"]}))),
                    Expected::like(json!({"builds": [{"environment": tenant_variables(&row)}]})),
                )
                .await?;
            // The build's commands: synthesize the app with the build's variables, then
            // deploy the row's pipeline stack.
            let given = variables(&build["builds"][0]["environment"]);
            let synthesized = build_with_variables(|name| given.get(name).cloned()).and_then(|mut app| app.synth());
            let assembly = match synthesized {
                Ok(a) => a,
                Err(e) => {
                    run.check("the app synthesizes with the build's variables", false, e.to_string());
                    return Ok(());
                }
            };
            let stack = row.pipeline_stack();
            run.check(
                "the app synthesized with the build's variables has the new pipeline's stack",
                assembly.stack(&stack).is_some(),
                stack.clone(),
            );
            let new = IntegCase::from_assembly("pipelines-new-deployment", &assembly)?
                .stacks([stack.clone()])
                .access_role(ACCESS_ROLE);
            let deployed = new
                .run(async |inner: &mut IntegRun| check_stage_pipeline(inner, &row).await)
                .await;
            run.check(
                "the build deploys the new pipeline's stack, which holds a working stage pipeline",
                deployed.is_ok(),
                deployed.err().map(|e| e.to_string()).unwrap_or_default(),
            );
            Ok(())
        })
        .await,
    );
}

/// The new deployment's stage pipeline: its stages, its Synth step's variables, its Deploy
/// stage's target.
async fn check_stage_pipeline(run: &mut IntegRun, row: &Deployment) -> Result<(), cairn::integ::IntegError> {
    let name = row.pipeline_name();
    let pipeline = run
        .expect(
            "the stage pipeline exists with the stages of one",
            Probe::call(codepipeline("GetPipeline", json!({"name": name}))),
            Expected::like(json!({"pipeline": {"name": name, "stages": [
                {"name": "Source"}, {"name": "Build"}, {"name": "UpdatePipeline"}, {"name": "Deploy"}
            ]}})),
        )
        .await?;
    let synth = pipeline["pipeline"]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "Build")
        .and_then(|s| s["actions"][0]["configuration"]["ProjectName"].as_str())
        .unwrap_or_default()
        .to_string();
    run.expect(
        "its Synth step synthesizes the new deployment (SelfMutate finds its own stack)",
        Probe::call(codebuild("BatchGetProjects", json!({"names": [synth]}))),
        Expected::like(json!({"projects": [{"environment": tenant_variables(row)}]})),
    )
    .await?;
    // The bootstrap roles of the row's account and region.
    let role = |kind: &str| {
        format!(
            "arn:aws:iam::{a}:role/cdk-hnb659fds-{kind}-role-{a}-{r}",
            a = row.account,
            r = row.region
        )
    };
    let stack = format!("{}-App", row.id);
    run.expect(
        "its Deploy stage deploys the tenant's stack into the row's account, through its bootstrap roles",
        Probe::call(codepipeline("GetPipeline", json!({"name": name}))),
        Expected::like(json!({"pipeline": {"stages": [{"name": "Deploy", "actions": [
            {
                "name": format!("{}.App.Prepare", row.id),
                "roleArn": role("deploy"),
                "configuration": {"StackName": stack, "ActionMode": "CHANGE_SET_REPLACE", "RoleArn": role("cfn-exec")},
            },
            {"name": format!("{}.App.Deploy", row.id), "configuration": {"StackName": stack, "ActionMode": "CHANGE_SET_EXECUTE"}},
        ]}]}})),
    )
    .await?;
    Ok(())
}
