//! `pipelines`: parallel and dynamic SaaS deployments with cairn pipelines (the pattern of
//! the AWS DevOps blog "Parallel and dynamic SaaS deployments with AWS CDK Pipelines").
//!
//! - `saas-toolchain` (the toolchain account): the toolchain [`Pipeline`] (CodeCommit
//!   `saas-app`, synth, self-mutation) whose last wave, `UpdateDeployments`, releases the
//!   change to every deployment: it reads the deployments table and starts each row's
//!   stage pipeline (`StartPipelineExecution`), [`RELEASE_WAVE_SIZE`] at a time (one at a
//!   time by default; pools first, then silos, by id), and waits for each wave's
//!   executions to succeed before starting the next; a failed, stopped or superseded
//!   execution stops the release; the **deployments table** (`id`, `account`, `region`,
//!   `type` = `silo` | `pool`) whose stream triggers the `DeploymentSync` Lambda function,
//!   which starts the `PipelineDeployment` CodeBuild project for each new or changed row;
//!   that project synthesizes this app for the row (`TENANT_*` variables) and deploys the
//!   row's stage pipeline stack with the bootstrap deploy role.
//! - `saas-pipeline-<id>` (toolchain account): one stage pipeline per deployment, its
//!   source trigger `NONE` (the toolchain starts it); its synth step has the deployment's
//!   `TENANT_*` variables, so the assembly it updates itself from (SelfMutate) has its
//!   own stack even when the row is not one of the built-in deployments; a wave deploying the deployment's
//!   application stage (`<id>`: the tenant stack in the deployment's account and region),
//!   with an integration test after it; the pool pipeline also runs an FIS experiment
//!   (latency injected into the pool's functions) after the test.
//!
//! `build()` reads one extra deployment from `TENANT_ID`, `TENANT_ACCOUNT`,
//! `TENANT_REGION` and `TENANT_TYPE` (what the deployment build passes);
//! [`build_default`] is the app with the built-in deployments only.

use std::path::PathBuf;
use std::time::Duration;

use cairn::cfn::IndexMap;
use cairn::{App, Environment, Error, Result, Stack, StackProps, Stage, Value};
use cairn_aspects::RuleSet;
use cairn_cfn::fis::{experiment_template, CfnExperimentTemplate};
use cairn_constructs::codebuild::{BuildSpec, Project, ProjectProps, ProjectSource};
use cairn_constructs::codepipeline::SourceTrigger;
use cairn_constructs::dynamodb::{Attribute, StreamViewType, Table, TableProps};
use cairn_constructs::iam::{PolicyStatement, Principal, Role, RoleProps};
use cairn_constructs::lambda::{Code, DynamoDbEventSource, Function, FunctionProps, Runtime};
use cairn_constructs::pipelines::{
    deploy_role_arn, Pipeline, PipelineProps, Source, StageOptions, Step, SynthStep,
};

/// The toolchain account and region (pipelines, table, deployment builds).
pub const TOOLCHAIN: (&str, &str) = ("111111111111", "eu-west-1");
/// The toolchain stack.
pub const TOOLCHAIN_STACK: &str = "saas-toolchain";
/// The app's repository.
pub const REPOSITORY: &str = "saas-app";
/// The cargo binary of this app.
pub const BIN: &str = "pipelines";
/// How many stage pipelines the toolchain's release starts at once (waiting for all of
/// them to succeed before the next wave); 1 is the seed's one-at-a-time strategy.
pub const RELEASE_WAVE_SIZE: u32 = 1;
/// Seconds between two looks at a stage pipeline execution during a release.
pub const RELEASE_POLL_SECONDS: u32 = 30;
/// The variables that name one extra deployment ([`build`]).
pub const TENANT_VARIABLES: [&str; 4] = ["TENANT_ID", "TENANT_ACCOUNT", "TENANT_REGION", "TENANT_TYPE"];

/// A deployment: one row of the deployments table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The deployment id (`pool`, or the silo tenant's id).
    pub id: String,
    /// The target account.
    pub account: String,
    /// The target region.
    pub region: String,
    /// `silo` (one tenant) or `pool` (shared).
    pub kind: String,
}

impl Deployment {
    fn new(id: &str, account: &str, region: &str, kind: &str) -> Self {
        Deployment {
            id: id.into(),
            account: account.into(),
            region: region.into(),
            kind: kind.into(),
        }
    }

    /// The stage pipeline's stack.
    pub fn pipeline_stack(&self) -> String {
        format!("saas-pipeline-{}", self.id)
    }

    /// The stage pipeline's name (`saas-<id>`).
    pub fn pipeline_name(&self) -> String {
        format!("saas-{}", self.id)
    }

    /// The `TENANT_*` variables naming this deployment, in [`TENANT_VARIABLES`] order.
    pub fn tenant_variables(&self) -> [(&'static str, &str); 4] {
        [
            (TENANT_VARIABLES[0], self.id.as_str()),
            (TENANT_VARIABLES[1], self.account.as_str()),
            (TENANT_VARIABLES[2], self.region.as_str()),
            (TENANT_VARIABLES[3], self.kind.as_str()),
        ]
    }
}

/// The built-in deployments: the pool (in the toolchain account) and two silo tenants
/// in their own accounts, one of them in another region.
pub fn default_deployments() -> Vec<Deployment> {
    vec![
        Deployment::new("pool", TOOLCHAIN.0, TOOLCHAIN.1, "pool"),
        Deployment::new("tenant-a", "222222222222", "eu-west-1", "silo"),
        Deployment::new("tenant-b", "333333333333", "us-east-1", "silo"),
    ]
}

fn toolchain_env() -> Environment {
    Environment::new(TOOLCHAIN.0, TOOLCHAIN.1)
}

fn asset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/pipelines")
        .join(name)
}

/// The toolchain stack: table, stream-triggered function, deployment project, toolchain
/// pipeline.
fn toolchain(app: &mut App) -> Result<()> {
    let stack = app.stack_with(
        app.root(),
        TOOLCHAIN_STACK,
        StackProps {
            env: Some(toolchain_env()),
            description: Some("pipelines: the SaaS toolchain (deployments table, toolchain pipeline)".into()),
            ..StackProps::default()
        },
    )?;
    let table = Table::new(
        app,
        stack,
        "Deployments",
        TableProps {
            stream: Some(StreamViewType::NewImage),
            ..TableProps::new(Attribute::string("id"))
        },
    )?;

    // The build that deploys one stage pipeline: clone, synthesize for the row, deploy
    // the row's pipeline stack as the bootstrap deploy role.
    let repo_url = format!(
        "https://git-codecommit.{}.amazonaws.com/v1/repos/{REPOSITORY}",
        TOOLCHAIN.1
    );
    let spec = BuildSpec::new()
        .install([
            "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal",
        ])
        .pre_build([
            "git config --global credential.helper '!aws codecommit credential-helper $@'",
            "git config --global credential.UseHttpPath true",
            format!("git clone --depth 1 {repo_url} app").as_str(),
        ])
        .build([
            ". \"$HOME/.cargo/env\"",
            "cd app && cargo build --release --locked --features toolkit --bin pipelines",
            "CREDS=$(aws sts assume-role --role-arn \"$DEPLOY_ROLE_ARN\" --role-session-name saas-deployment --query Credentials --output text)",
            "export AWS_ACCESS_KEY_ID=$(echo \"$CREDS\" | cut -f1) AWS_SECRET_ACCESS_KEY=$(echo \"$CREDS\" | cut -f3) AWS_SESSION_TOKEN=$(echo \"$CREDS\" | cut -f4)",
            "cd app && ./target/release/pipelines deploy --require-approval never \"saas-pipeline-$TENANT_ID\"",
        ]);
    let deploy_role = deploy_role_arn(&toolchain_env());
    let deployer = Project::new(
        app,
        stack,
        "PipelineDeployment",
        ProjectProps {
            description: Some("Deploys the stage pipeline of one deployment".into()),
            source: ProjectSource::NoSource,
            environment_variables: [("DEPLOY_ROLE_ARN".to_string(), deploy_role.clone())]
                .into_iter()
                .collect(),
            timeout: Some(Duration::from_secs(60 * 60)),
            ..ProjectProps::new(spec)
        },
    )?;
    deployer.add_to_role_policy(
        app,
        PolicyStatement::allow()
            .actions(["codecommit:GitPull"])
            .resource(Value::sub(&format!(
                "arn:${{AWS::Partition}}:codecommit:${{AWS::Region}}:${{AWS::AccountId}}:{REPOSITORY}"
            ))),
    )?;
    deployer.add_to_role_policy(
        app,
        PolicyStatement::allow()
            .actions(["sts:AssumeRole"])
            .resource(deploy_role),
    )?;

    // DynamoDB stream -> Lambda -> CodeBuild StartBuild.
    let sync = Function::new(
        app,
        stack,
        "DeploymentSync",
        FunctionProps {
            timeout: Some(Duration::from_secs(60)),
            description: Some("Starts a deployment build for each new or changed deployment".into()),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "index.handler",
                Code::from_asset(asset("deployment-sync")),
            )
        },
    )?;
    sync.add_environment(app, "PROJECT_NAME", deployer.project_name())?;
    sync.add_event_source(app, DynamoDbEventSource::new(table))?;
    crate::answer_checks(
        app,
        sync.node(),
        &[
            (
                "CKV_AWS_116",
                "Invoked by a DynamoDB stream event source mapping, which Lambda polls and invokes synchronously: a failed batch is retried from the stream, and a function's dead-letter queue is never used for stream invocations",
            ),
            ("CKV_AWS_117", crate::lambda_reasons::OUTSIDE_VPC),
            ("CKV_AWS_115", crate::lambda_reasons::NO_RESERVED_CONCURRENCY),
            ("CKV_AWS_173", crate::lambda_reasons::ENV_WITHOUT_CMK),
        ],
    )?;
    deployer.grant_start_build(app, &sync)?;

    // The toolchain pipeline: synth, self-mutation, then every deployment's pipeline is
    // brought up to date.
    let pipeline = Pipeline::new(
        app,
        stack,
        "Toolchain",
        PipelineProps {
            pipeline_name: Some("saas-toolchain".into()),
            // No application stage: nothing to publish.
            publish_assets: false,
            ..PipelineProps::new(Source::codecommit(REPOSITORY, "main"), BIN)
        },
    )?;
    let update = pipeline.add_wave(app, "UpdateDeployments")?;
    update.add_pre(app, release_step(&table))?;
    crate::answer_pipeline_checks(app, &pipeline)?;
    Ok(())
}

/// The release step's shell commands (bash; `TABLE_NAME`, `WAVE_SIZE` and
/// `POLL_SECONDS` in the environment).
pub fn release_commands() -> Vec<String> {
    vec![
        "set -eu".into(),
        "ROWS=$(aws dynamodb scan --table-name \"$TABLE_NAME\" --query 'Items[].[type.S, id.S]' --output text | LC_ALL=C sort)".into(),
        "echo \"release to: $(echo \"$ROWS\" | cut -f2 | tr '\\n' ' ')\"".into(),
        "wait_wave() { for PE in $WAVE; do P=${PE%%=*}; E=${PE#*=}; while true; do S=$(aws codepipeline get-pipeline-execution --pipeline-name \"$P\" --pipeline-execution-id \"$E\" --query pipelineExecution.status --output text); echo \"$P $E: $S\"; case \"$S\" in Succeeded) break;; InProgress|Stopping) sleep \"$POLL_SECONDS\";; *) echo \"release stopped: $P execution $E is $S\" >&2; exit 1;; esac; done; done; WAVE=''; N=0; }".into(),
        "WAVE=''; N=0; for ID in $(echo \"$ROWS\" | cut -f2); do E=$(aws codepipeline start-pipeline-execution --name \"saas-$ID\" --query pipelineExecutionId --output text); echo \"started saas-$ID: $E\"; WAVE=\"$WAVE saas-$ID=$E\"; N=$((N+1)); if [ \"$N\" -ge \"$WAVE_SIZE\" ]; then wait_wave; fi; done; wait_wave".into(),
    ]
}

/// The toolchain's release control (the `UpdateDeployments` wave): every row's stage
/// pipeline is started with `StartPipelineExecution`, [`RELEASE_WAVE_SIZE`] at a time
/// (pools first, then silos, each by id), and each wave's executions are polled with
/// `GetPipelineExecution` until they have succeeded; a failed, stopped or superseded
/// execution ends the step with an error and the later deployments are not started.
fn release_step(table: &Table) -> Step {
    let pipelines = Value::sub("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:saas-*");
    Step::Shell {
        name: "ReleaseToDeployments".into(),
        commands: release_commands(),
        env: [
            ("TABLE_NAME".to_string(), table.table_name()),
            (
                "WAVE_SIZE".to_string(),
                Value::from(RELEASE_WAVE_SIZE.to_string()),
            ),
            (
                "POLL_SECONDS".to_string(),
                Value::from(RELEASE_POLL_SECONDS.to_string()),
            ),
        ]
        .into_iter()
        .collect(),
        statements: vec![
            PolicyStatement::allow()
                .actions(["dynamodb:Scan"])
                .resource(table.table_arn()),
            // Stage pipelines are named saas-<id>.
            PolicyStatement::allow()
                .actions([
                    "codepipeline:StartPipelineExecution",
                    "codepipeline:GetPipelineExecution",
                ])
                .resource(pipelines),
        ],
        role_name: None,
    }
}

/// The tenant application stage of a deployment: a table and an API function.
fn tenant_stage(app: &mut App, d: &Deployment) -> Result<(Stage, Stack)> {
    let stage = app.stage(app.root(), &d.id, Environment::new(&d.account, &d.region))?;
    let mut tags = IndexMap::new();
    tags.insert("saas:deployment".to_string(), d.id.clone());
    tags.insert("saas:type".to_string(), d.kind.clone());
    let stack = app.stack_with(
        stage,
        "App",
        StackProps {
            description: Some(format!(
                "pipelines: the SaaS application ({} deployment {})",
                d.kind, d.id
            )),
            tags,
            ..StackProps::default()
        },
    )?;
    let table = Table::new(
        app,
        stack,
        "Items",
        TableProps {
            sort_key: Some(Attribute::string("id")),
            ..TableProps::new(Attribute::string("tenant"))
        },
    )?;
    let api = Function::new(
        app,
        stack,
        "Api",
        FunctionProps {
            timeout: Some(Duration::from_secs(10)),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "index.handler",
                Code::from_asset(asset("tenant-api")),
            )
        },
    )?;
    api.add_environment(app, "TABLE_NAME", table.table_name())?;
    api.add_environment(app, "TENANT_ID", Value::from(d.id.as_str()))?;
    table.grant_read_write_data(app, &api)?;
    crate::answer_checks(
        app,
        api.node(),
        &[
            (
                "CKV_AWS_116",
                "The tenant's API handler, called synchronously (RequestResponse): errors return to the caller, and a dead-letter queue only receives failed asynchronous invocations",
            ),
            ("CKV_AWS_117", crate::lambda_reasons::OUTSIDE_VPC),
            (
                "CKV_AWS_115",
                "No reserved concurrency: the pooled and siloed tenant functions share the account's regional pool by design, and a per-function reservation would cap a tenant's burst and carve capacity out of the others",
            ),
            ("CKV_AWS_173", crate::lambda_reasons::ENV_WITHOUT_CMK),
        ],
    )?;
    Ok((stage, stack))
}

/// An FIS experiment template in the stage pipeline's stack: latency injected into the
/// pool's functions (selected by the deployment tag) for two minutes.
fn pool_experiment(app: &mut App, stack: Stack, d: &Deployment) -> Result<Value> {
    let role = Role::new(
        app,
        stack,
        "ChaosRole",
        RoleProps::new(Principal::service("fis.amazonaws.com")),
    )?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["lambda:GetFunction"])
            .resource(Value::sub(
                "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*",
            ))
            .condition("StringEquals", "aws:ResourceTag/saas:deployment", d.id.as_str()),
    )?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["tag:GetResources"])
            .resource("*"),
    )?;
    let mut tags: IndexMap<String, cairn::Val<String>> = IndexMap::new();
    tags.insert("saas:deployment".into(), d.id.as_str().into());
    let mut target = experiment_template::ExperimentTemplateTarget::new("aws:lambda:function", "ALL");
    target.resource_tags = Some(tags.into());
    let mut targets = IndexMap::new();
    targets.insert("Functions".to_string(), cairn::Val::from(target));
    let mut action = experiment_template::ExperimentTemplateAction::new("aws:lambda:invocation-add-delay");
    let mut params: IndexMap<String, cairn::Val<String>> = IndexMap::new();
    params.insert("duration".into(), "PT2M".into());
    params.insert("invocationPercentage".into(), "50".into());
    params.insert("startupDelayMilliseconds".into(), "1000".into());
    action.parameters = Some(params.into());
    let mut action_targets: IndexMap<String, cairn::Val<String>> = IndexMap::new();
    action_targets.insert("Functions".into(), "Functions".into());
    action.targets = Some(action_targets.into());
    let mut actions = IndexMap::new();
    actions.insert("AddLatency".to_string(), cairn::Val::from(action));
    let mut template = CfnExperimentTemplate::new(
        format!("Latency in the {} deployment's functions", d.id),
        role.arn(),
        vec![cairn::Val::from(
            experiment_template::ExperimentTemplateStopCondition::new("none"),
        )],
        targets,
    );
    template.actions = Some(actions.into());
    let mut tpl_tags: IndexMap<String, cairn::Val<String>> = IndexMap::new();
    tpl_tags.insert("Name".into(), format!("saas-{}-latency", d.id).into());
    template.tags = Some(tpl_tags.into());
    let t = app.add(stack, "PoolLatencyExperiment", template)?;
    Ok(t.ref_())
}

/// One stage pipeline: trigger `NONE`, a wave deploying the deployment's stage.
fn stage_pipeline(app: &mut App, d: &Deployment) -> Result<()> {
    let (stage, app_stack) = tenant_stage(app, d)?;
    let stack = app.stack_with(
        app.root(),
        &d.pipeline_stack(),
        StackProps {
            env: Some(toolchain_env()),
            description: Some(format!(
                "pipelines: the stage pipeline of the {} deployment {}",
                d.kind, d.id
            )),
            ..StackProps::default()
        },
    )?;
    // The pipeline synthesizes the app for its own deployment: without the row's TENANT_*
    // variables a deployment that is not built in would be missing from the assembly,
    // and SelfMutate would find no stack to update itself from.
    let mut synth = SynthStep::cargo_bin(BIN);
    synth.env = d
        .tenant_variables()
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
    let pipeline = Pipeline::new(
        app,
        stack,
        "Pipeline",
        PipelineProps {
            pipeline_name: Some(d.pipeline_name()),
            trigger: SourceTrigger::None,
            synth,
            ..PipelineProps::new(Source::codecommit(REPOSITORY, "main"), BIN)
        },
    )?;
    let stack_name = app.path_from(app.root(), app_stack.node()).join("-");
    let check = Step::Shell {
        name: "IntegrationTest".into(),
        commands: vec![
            "CREDS=$(aws sts assume-role --role-arn \"$DEPLOY_ROLE_ARN\" --role-session-name saas-test --query Credentials --output text)".into(),
            "export AWS_ACCESS_KEY_ID=$(echo \"$CREDS\" | cut -f1) AWS_SECRET_ACCESS_KEY=$(echo \"$CREDS\" | cut -f3) AWS_SESSION_TOKEN=$(echo \"$CREDS\" | cut -f4)".into(),
            "STATUS=$(aws cloudformation describe-stacks --region \"$TARGET_REGION\" --stack-name \"$STACK_NAME\" --query 'Stacks[0].StackStatus' --output text)".into(),
            "echo \"$STACK_NAME: $STATUS\"; case \"$STATUS\" in CREATE_COMPLETE|UPDATE_COMPLETE) ;; *) exit 1;; esac".into(),
        ],
        env: [
            ("DEPLOY_ROLE_ARN".to_string(), deploy_role_arn(&Environment::new(&d.account, &d.region))),
            ("TARGET_REGION".to_string(), Value::from(d.region.as_str())),
            ("STACK_NAME".to_string(), Value::from(stack_name.as_str())),
        ]
        .into_iter()
        .collect(),
        statements: vec![PolicyStatement::allow()
            .actions(["sts:AssumeRole"])
            .resource(deploy_role_arn(&Environment::new(&d.account, &d.region)))],
        role_name: None,
    };
    let mut post = vec![check];
    if d.kind == "pool" {
        let experiment = pool_experiment(app, stack, d)?;
        post.push(Step::fis("ChaosExperiment", experiment));
    }
    let wave = pipeline.add_wave(app, "Deploy")?;
    wave.add_stage_with(app, stage, StageOptions { pre: vec![], post })?;
    crate::answer_pipeline_checks(app, &pipeline)?;
    Ok(())
}

/// The app for these deployments.
pub fn build_for(deployments: &[Deployment]) -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());
    toolchain(&mut app)?;
    for d in deployments {
        if d.kind != "silo" && d.kind != "pool" {
            return Err(Error::InvalidProps {
                path: d.pipeline_stack(),
                problem: format!("the deployment type must be silo or pool, got {:?}", d.kind),
            });
        }
        stage_pipeline(&mut app, d)?;
    }
    let root = app.root();
    RuleSet::recommended().apply(&mut app, root);
    Ok(app)
}

/// The app with the built-in deployments.
pub fn build_default() -> Result<App> {
    build_for(&default_deployments())
}

/// The app with the built-in deployments and the one named by `TENANT_ID`,
/// `TENANT_ACCOUNT`, `TENANT_REGION`, `TENANT_TYPE` (when set and new).
pub fn build() -> Result<App> {
    build_with_variables(|name| std::env::var(name).ok())
}

/// The app with the built-in deployments and the one named by the `TENANT_*` variables
/// `lookup` returns (when all four are set and the id is new), as [`build`] reads them
/// from the environment.
pub fn build_with_variables(lookup: impl Fn(&str) -> Option<String>) -> Result<App> {
    let mut deployments = default_deployments();
    if let [Some(id), Some(account), Some(region), Some(kind)] = TENANT_VARIABLES.map(&lookup) {
        if !deployments.iter().any(|d| d.id == id) {
            deployments.push(Deployment::new(&id, &account, &region, &kind));
        }
    }
    build_for(&deployments)
}
