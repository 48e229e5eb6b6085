//! CDK-Pipelines-style continuous delivery of cairn apps: a [`Pipeline`] that gets the
//! source, builds the Rust app and runs its `synth` (the cloud assembly becomes the
//! `Synth_Output` artifact), updates itself from that assembly before anything else
//! (`UpdatePipeline`), publishes file assets (`Assets`), then deploys application
//! stages — each a [`cairn_core::Stage`]: one or more stacks for one account/region —
//! grouped in [`Wave`]s. Stages of one wave deploy in parallel (one CodePipeline stage,
//! the same run orders, no artifact passed between them); each stack of a stage is a
//! change set created, then executed, after the stacks it depends on. Pre and post
//! [`Step`]s (shell tests, FIS experiments, manual approvals, IAM policy validation with
//! Access Analyzer) run around stages and waves.
//!
//! Deploy actions assume the target environment's bootstrap roles, as CDK Pipelines
//! does: the action role [`deploy_role_arn`] (`cdk-hnb659fds-deploy-role-<account>-<region>`)
//! and, passed to CloudFormation, [`cfn_exec_role_arn`]
//! (`cdk-hnb659fds-cfn-exec-role-<account>-<region>`), which must trust the pipeline's account;
//! assets are published as [`file_publishing_role_arn`]. These are the roles of `cdk bootstrap
//! --trust <pipeline account>` (and `cairn bootstrap`) with the default qualifier.
//!
//! Adding a wave of existing stages:
//!
//! ```
//! use cairn_constructs::pipelines::{Pipeline, PipelineProps, Source, Step};
//! use cairn_core::{App, Environment, StackProps};
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let toolchain = app.stack_with(app.root(), "Toolchain", StackProps {
//!     env: Some(Environment::new("111111111111", "eu-west-1")),
//!     ..StackProps::default()
//! })?;
//! // Application stages, built elsewhere (e.g. a data lake's dev/test/prod).
//! let mut stages = Vec::new();
//! for (name, account) in [("Test", "222222222222"), ("Prod", "333333333333")] {
//!     let stage = app.stage(app.root(), name, Environment::new(account, "eu-west-1"))?;
//!     let stack = app.stack_with(stage, "Storage", StackProps::default())?;
//!     app.add(stack, "Bucket", cairn_cfn::s3::CfnBucket::default())?;
//!     stages.push(stage);
//! }
//! let pipeline = Pipeline::new(&mut app, toolchain, "Pipeline",
//!     PipelineProps::new(Source::codecommit("data-lake", "main"), "data-lake"))?;
//! pipeline.add_wave(&mut app, "Test")?.add_stage(&mut app, stages[0])?;
//! let prod = pipeline.add_wave(&mut app, "Prod")?;
//! prod.add_pre(&mut app, Step::approval("PromoteToProd"))?;
//! prod.add_stage(&mut app, stages[1])?;
//!
//! let asm = app.synth()?;
//! let t = &asm.stack("Toolchain").unwrap().template;
//! let id = asm.stack("Toolchain").unwrap().resources_of_type("AWS::CodePipeline::Pipeline")[0];
//! let names: Vec<&str> = t["Resources"][id]["Properties"]["Stages"].as_array().unwrap()
//!     .iter().map(|s| s["Name"].as_str().unwrap()).collect();
//! assert_eq!(names, ["Source", "Build", "UpdatePipeline", "Assets", "Test", "Prod"]);
//! # Ok(())
//! # }
//! ```

use indexmap::IndexMap;

use cairn_core::{format_arn, App, Arn, Environment, NodeId, NodeKind, Pseudo, Result, Stack, Stage, Value};

use crate::codebuild::{BuildSpec, ComputeType, Project, ProjectProps};
use crate::codepipeline::{self, Action, ActionKind, Artifact, ArtifactPath, SourceTrigger};
use crate::iam::{PolicyStatement, Principal, Role, RoleProps};
use crate::s3::Bucket;

/// The name prefix of the bootstrap role deploy actions assume in a target environment
/// (`cdk bootstrap`'s and `cairn bootstrap`'s, default qualifier).
pub const DEPLOY_ROLE: &str = "cdk-hnb659fds-deploy-role";
/// The name prefix of the bootstrap role CloudFormation deploys with.
pub const CFN_EXEC_ROLE: &str = "cdk-hnb659fds-cfn-exec-role";
/// The name prefix of the bootstrap role file assets are published with.
pub const FILE_PUBLISHING_ROLE: &str = "cdk-hnb659fds-file-publishing-role";
/// The source artifact.
pub const SOURCE_ARTIFACT: &str = "Source";
/// The cloud assembly artifact.
pub const SYNTH_ARTIFACT: &str = "Synth_Output";
/// The change set name of deploy actions.
pub const CHANGE_SET: &str = "PipelineChange";

fn env_role_arn(prefix: &str, env: &Environment) -> Value {
    match (&env.account, &env.region) {
        (Some(a), Some(r)) => Arn::new("iam", format!("role/{prefix}-{a}-{r}"))
            .no_region()
            .account(a.as_str())
            .format(),
        _ => Arn::new(
            "iam",
            Value::join(
                "",
                [
                    Value::from(format!("role/{prefix}-")),
                    Value::pseudo(Pseudo::AccountId),
                    Value::from("-"),
                    Value::pseudo(Pseudo::Region),
                ],
            ),
        )
        .no_region()
        .format(),
    }
}

/// The bootstrap deploy role of an environment (the pipeline's own when agnostic).
///
/// ```
/// use cairn_constructs::pipelines::deploy_role_arn;
/// use cairn_core::Environment;
/// let arn = deploy_role_arn(&Environment::new("123456789012", "eu-west-1"));
/// assert!(format!("{arn:?}").contains("cdk-hnb659fds-deploy-role-123456789012-eu-west-1"));
/// ```
pub fn deploy_role_arn(env: &Environment) -> Value {
    env_role_arn(DEPLOY_ROLE, env)
}

/// The bootstrap CloudFormation execution role of an environment.
///
/// ```
/// use cairn_constructs::pipelines::cfn_exec_role_arn;
/// use cairn_core::Environment;
/// let arn = cfn_exec_role_arn(&Environment::new("123456789012", "eu-west-1"));
/// assert!(format!("{arn:?}").contains("cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1"));
/// ```
pub fn cfn_exec_role_arn(env: &Environment) -> Value {
    env_role_arn(CFN_EXEC_ROLE, env)
}

/// The bootstrap file-publishing role of an environment (it may write the assets bucket;
/// the deploy role may only read it).
///
/// ```
/// use cairn_constructs::pipelines::file_publishing_role_arn;
/// use cairn_core::Environment;
/// let arn = file_publishing_role_arn(&Environment::new("123456789012", "eu-west-1"));
/// assert!(format!("{arn:?}").contains("cdk-hnb659fds-file-publishing-role-123456789012-eu-west-1"));
/// ```
pub fn file_publishing_role_arn(env: &Environment) -> Value {
    env_role_arn(FILE_PUBLISHING_ROLE, env)
}

/// Where the app's source code comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A CodeCommit repository branch in the pipeline's account.
    CodeCommit {
        /// The repository name.
        repository_name: String,
        /// The branch.
        branch: String,
    },
    /// A zip object in a versioned S3 bucket.
    S3 {
        /// The bucket.
        bucket: Bucket,
        /// The object key.
        key: String,
    },
    /// GitHub, GitLab or Bitbucket through a CodeStar connection.
    Connection {
        /// The connection ARN.
        connection_arn: Value,
        /// `owner/repository`.
        repository: String,
        /// The branch.
        branch: String,
    },
}

impl Source {
    /// A CodeCommit repository branch.
    pub fn codecommit(repository_name: &str, branch: &str) -> Self {
        Source::CodeCommit {
            repository_name: repository_name.into(),
            branch: branch.into(),
        }
    }

    /// A CodeStar connection repository (`owner/repository`) branch.
    pub fn connection(connection_arn: impl Into<Value>, repository: &str, branch: &str) -> Self {
        Source::Connection {
            connection_arn: connection_arn.into(),
            repository: repository.into(),
            branch: branch.into(),
        }
    }

    fn action_kind(&self, trigger: SourceTrigger) -> ActionKind {
        let output = Artifact::new(SOURCE_ARTIFACT);
        match self {
            Source::CodeCommit {
                repository_name,
                branch,
            } => ActionKind::CodeCommitSource {
                repository_name: repository_name.clone(),
                branch: branch.clone(),
                output,
                trigger,
            },
            Source::S3 { bucket, key } => ActionKind::S3Source {
                bucket: *bucket,
                key: key.clone(),
                output,
                trigger,
            },
            Source::Connection {
                connection_arn,
                repository,
                branch,
            } => ActionKind::CodeStarConnectionSource {
                connection_arn: connection_arn.clone(),
                repository: repository.clone(),
                branch: branch.clone(),
                output,
                trigger,
            },
        }
    }
}

/// How the app is built and synthesized (a CodeBuild project, `Build/Synth`).
///
/// ```
/// use cairn_constructs::pipelines::SynthStep;
/// let synth = SynthStep::cargo_bin("saas");
/// assert!(synth.commands.iter().any(|c| c.contains("saas synth --output cdk.out")));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SynthStep {
    /// Commands installing the toolchain.
    pub install_commands: Vec<String>,
    /// Commands that build the app and write the cloud assembly to `output_dir`.
    pub commands: Vec<String>,
    /// The assembly directory (relative to the source root).
    pub output_dir: String,
    /// The compute size (default medium: Rust builds are heavy).
    pub compute_type: ComputeType,
    /// Environment variables of the synth project (none by default): what the app reads
    /// to decide what it synthesizes, e.g. the deployment a pipeline of a dynamic app is
    /// for, so that the pipeline's own stack is in the assembly it updates itself from.
    pub env: IndexMap<String, Value>,
}

impl SynthStep {
    /// Builds cargo binary `bin` (release, locked) and runs its `synth` into `cdk.out`.
    pub fn cargo_bin(bin: &str) -> Self {
        SynthStep {
            install_commands: vec![
                "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal"
                    .into(),
                ". \"$HOME/.cargo/env\"".into(),
            ],
            commands: vec![
                ". \"$HOME/.cargo/env\"".into(),
                format!("cargo build --release --locked --bin {bin}"),
                format!("./target/release/{bin} synth --output cdk.out"),
            ],
            output_dir: "cdk.out".into(),
            compute_type: ComputeType::Medium,
            env: IndexMap::new(),
        }
    }
}

/// A step before or after a stage or wave.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Shell commands in a CodeBuild project (`<Wave>/<name>`) over the cloud assembly
    /// (`Synth_Output`), e.g. integration tests.
    Shell {
        /// The action name.
        name: String,
        /// The commands.
        commands: Vec<String>,
        /// Environment variables (references allowed).
        env: IndexMap<String, Value>,
        /// Extra permissions of the project role (none by default).
        statements: Vec<PolicyStatement>,
        /// A physical name of the project role (generated when `None`): give one when a
        /// role in another account must trust exactly this step, e.g. a smoke test's role
        /// in the environment it tests (trusting the pipeline's account with an
        /// `aws:PrincipalArn` condition on this name). Role names are account-wide.
        role_name: Option<String>,
    },
    /// A manual approval.
    ManualApproval {
        /// The action name.
        name: String,
        /// What the approver reads.
        comment: Option<String>,
    },
    /// Runs an AWS FIS experiment from a template and waits for it: the step fails
    /// unless the experiment completes. The project role may start experiments of that
    /// template only, and read experiments.
    FisExperiment {
        /// The action name.
        name: String,
        /// The experiment template id (e.g. a `Ref` of an `AWS::FIS::ExperimentTemplate`
        /// in the pipeline's stack).
        experiment_template_id: Value,
    },
    /// Validates the IAM policies of the stage's templates with IAM Access Analyzer
    /// before the stage deploys (a pre step of a stage, [`StageOptions::pre`]). Every
    /// policy document of every template of the stage — identity, trust, resource and
    /// key policies, where `cairn_cfn::policy` finds them — has its intrinsics replaced
    /// by ARNs of the right shape and goes through `ValidatePolicy`; with a reference
    /// policy, each identity policy also through `CheckNoNewAccess` against it. A finding
    /// of a blocking type, or new access, fails the step, so the stage does not deploy.
    /// Every policy is a test case of the JUnit report `<project>-policy-validation`.
    /// (The seed's pattern: cfn-policy-validator in a CodeBuild project; the script is
    /// cairn's, `pipelines/validate_policies.py`.)
    PolicyValidation {
        /// The action name.
        name: String,
        /// The finding types that fail the step (default: errors and security warnings).
        blocking: Vec<FindingType>,
        /// A policy document no identity policy may grant more than (`None`: no
        /// `CheckNoNewAccess`).
        reference_policy: Option<serde_json::Value>,
    },
}

/// The type of an IAM Access Analyzer policy-validation finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingType {
    /// `ERROR`: the policy does not work as written.
    Error,
    /// `SECURITY_WARNING`: the policy grants access a reviewer should look at.
    SecurityWarning,
    /// `WARNING`: the policy does not follow best practice.
    Warning,
    /// `SUGGESTION`: the policy can be simpler.
    Suggestion,
}

impl FindingType {
    /// The name Access Analyzer gives the type.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingType::Error => "ERROR",
            FindingType::SecurityWarning => "SECURITY_WARNING",
            FindingType::Warning => "WARNING",
            FindingType::Suggestion => "SUGGESTION",
        }
    }
}

/// The policy-validation script a [`Step::PolicyValidation`] runs.
const VALIDATE_POLICIES: &str = include_str!("pipelines/validate_policies.py");

impl Step {
    /// A shell step.
    pub fn shell<S: Into<String>>(name: &str, commands: impl IntoIterator<Item = S>) -> Self {
        Step::Shell {
            name: name.into(),
            commands: commands.into_iter().map(Into::into).collect(),
            env: IndexMap::new(),
            statements: Vec::new(),
            role_name: None,
        }
    }

    /// A manual approval without comment.
    pub fn approval(name: &str) -> Self {
        Step::ManualApproval {
            name: name.into(),
            comment: None,
        }
    }

    /// A policy-validation step (blocking errors and security warnings, no reference
    /// policy): add it to a stage's [`StageOptions::pre`].
    pub fn policy_validation(name: &str) -> Self {
        Step::PolicyValidation {
            name: name.into(),
            blocking: vec![FindingType::Error, FindingType::SecurityWarning],
            reference_policy: None,
        }
    }

    /// An FIS experiment step.
    pub fn fis(name: &str, experiment_template_id: impl Into<Value>) -> Self {
        Step::FisExperiment {
            name: name.into(),
            experiment_template_id: experiment_template_id.into(),
        }
    }

    fn name(&self) -> &str {
        match self {
            Step::Shell { name, .. }
            | Step::ManualApproval { name, .. }
            | Step::FisExperiment { name, .. }
            | Step::PolicyValidation { name, .. } => name,
        }
    }
}

/// Settings of a [`Pipeline`]. Start from [`PipelineProps::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineProps {
    /// A physical name of the CodePipeline; generated when `None`.
    pub pipeline_name: Option<String>,
    /// The source.
    pub source: Source,
    /// What starts the pipeline (default: source events; `None` for pipelines started
    /// by others).
    pub trigger: SourceTrigger,
    /// The build and synth.
    pub synth: SynthStep,
    /// Update the pipeline from the assembly before anything else (default: on).
    pub self_mutation: bool,
    /// Publish the file assets of application stages in an `Assets` stage (default: on).
    /// The publishing project `AssetPublisher` is created with the pipeline when this or
    /// self-mutation is on (self-mutation publishes the pipeline stack's own assets).
    /// Turn it off for a pipeline without application stages, or whose stages have no
    /// file assets.
    pub publish_assets: bool,
}

impl PipelineProps {
    /// A pipeline of `source` synthesizing cargo binary `bin`.
    pub fn new(source: Source, bin: &str) -> Self {
        PipelineProps {
            pipeline_name: None,
            source,
            trigger: SourceTrigger::Events,
            synth: SynthStep::cargo_bin(bin),
            self_mutation: true,
            publish_assets: true,
        }
    }
}

/// One stack deployed by a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackDeployment {
    /// The CloudFormation stack name.
    pub stack_name: String,
    /// The template inside the cloud assembly artifact.
    pub template_path: String,
    /// Its environment.
    pub env: Environment,
    /// Its depth in the stage's dependency order (0: depends on no stack of the stage).
    pub depth: usize,
}

/// An application stage added to a wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDeployment {
    /// The stage's construct id (the action name prefix).
    pub name: String,
    /// Its stacks, in deployment order.
    pub stacks: Vec<StackDeployment>,
}

/// Pre and post steps of one stage in a wave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageOptions {
    /// Run before the stage's stacks.
    pub pre: Vec<Step>,
    /// Run after them.
    pub post: Vec<Step>,
}

/// A CDK-Pipelines-style pipeline for a cairn app (see the [module](self)). Its
/// CodePipeline is the child `Pipeline` (a [`codepipeline::Pipeline`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pipeline {
    node: NodeId,
    pipeline: codepipeline::Pipeline,
    stack: Stack,
    publisher: Option<Project>,
    publish_assets: bool,
}

/// A wave: application stages deployed in parallel in one CodePipeline stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Wave {
    pipeline: Pipeline,
    name: String,
}

/// The path of a stack's template inside the cloud assembly, and its stack name (as
/// the synthesizer writes them).
fn stack_files(app: &App, stack: Stack) -> (String, String) {
    (
        app.template_path(stack, cairn_core::TemplateFormat::Json),
        app.stack_name(stack),
    )
}

/// The path of a stack's asset manifest inside the cloud assembly.
fn asset_manifest_path(app: &App, stack: Stack) -> String {
    app.asset_manifest_path(stack)
}

/// The stacks under `stage` with their depth in the dependency order: explicit
/// dependencies and references between the stage's stacks.
fn stage_stacks(app: &App, stage: Stage) -> Vec<(Stack, usize)> {
    let stacks: Vec<Stack> = app
        .descendants(stage.node())
        .into_iter()
        .filter(|n| matches!(app.node(*n).kind(), NodeKind::Stack(_)))
        .filter_map(|n| app.stack_of(n))
        .collect();
    let deps: Vec<Vec<usize>> = stacks
        .iter()
        .map(|s| {
            let mut targets = Vec::new();
            if let NodeKind::Stack(data) = app.node(s.node()).kind() {
                targets.extend(data.dependencies.iter().copied());
            }
            for n in app.descendants(s.node()) {
                if let Some(props) = app.final_properties(n) {
                    for v in props.values() {
                        v.referenced_nodes(&mut targets);
                    }
                }
            }
            let mut out: Vec<usize> = targets
                .into_iter()
                .filter_map(|t| app.stack_of(t))
                .filter_map(|t| stacks.iter().position(|x| *x == t))
                .filter(|i| stacks[*i] != *s)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect();
    let mut depth = vec![usize::MAX; stacks.len()];
    fn visit(i: usize, deps: &[Vec<usize>], depth: &mut [usize], guard: usize) -> usize {
        if depth[i] != usize::MAX {
            return depth[i];
        }
        if guard > deps.len() {
            return 0; // a cycle: synthesis reports it
        }
        let d = deps[i]
            .iter()
            .map(|&j| visit(j, deps, depth, guard + 1) + 1)
            .max()
            .unwrap_or(0);
        depth[i] = d;
        d
    }
    for i in 0..stacks.len() {
        visit(i, &deps, &mut depth, 0);
    }
    let mut out: Vec<(Stack, usize)> = stacks.into_iter().zip(depth).collect();
    out.sort_by_key(|(_, d)| *d);
    out
}

impl Pipeline {
    /// Creates the pipeline as construct `id` under `scope` (inside a stack): the stages `Source`, `Build`
    /// (the synth project `Build/Synth`) and, with self-mutation, `UpdatePipeline`
    /// (this stack's file assets published at run order 1, support stacks deployed at 2
    /// and 3, then this stack's change set created at 4 and executed at 5).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: PipelineProps) -> Result<Pipeline> {
        let node = app.construct(scope, id)?;
        let Some(stack) = app.stack_of(node) else {
            return Err(app.invalid_props(node, "a pipeline must be inside a stack"));
        };
        let pipeline = codepipeline::Pipeline::new(
            app,
            node,
            "Pipeline",
            codepipeline::PipelineProps {
                pipeline_name: props.pipeline_name.clone(),
                restart_execution_on_update: props.self_mutation,
                ..codepipeline::PipelineProps::default()
            },
        )?;
        let publisher = match props.publish_assets || props.self_mutation {
            true => Some(Pipeline::publisher(app, node, pipeline.artifact_key())?),
            false => None,
        };
        let this = Pipeline {
            node,
            pipeline,
            stack,
            publisher,
            publish_assets: props.publish_assets,
        };
        pipeline.add_stage(app, "Source")?;
        let source_name = match &props.source {
            Source::CodeCommit { repository_name, .. } => repository_name.clone(),
            Source::S3 { .. } => "S3".into(),
            Source::Connection { repository, .. } => repository.replace('/', "_"),
        };
        pipeline.add_action(
            app,
            "Source",
            Action::new(&source_name, props.source.action_kind(props.trigger)),
        )?;
        pipeline.add_stage(app, "Build")?;
        let spec = BuildSpec::new()
            .install(props.synth.install_commands.clone())
            .build(props.synth.commands.clone())
            .artifacts(&props.synth.output_dir, ["**/*"]);
        let synth = Project::new(
            app,
            node,
            "Synth",
            ProjectProps {
                description: Some("Builds the cairn app and synthesizes its cloud assembly".into()),
                compute_type: props.synth.compute_type,
                environment_variables: props.synth.env.clone(),
                encryption_key: pipeline.artifact_key(),
                ..ProjectProps::new(spec)
            },
        )?;
        pipeline.add_action(
            app,
            "Build",
            Action::new(
                "Synth",
                ActionKind::CodeBuild {
                    project: synth,
                    input: Artifact::new(SOURCE_ARTIFACT),
                    extra_inputs: Vec::new(),
                    outputs: vec![Artifact::new(SYNTH_ARTIFACT)],
                    environment_variables: IndexMap::new(),
                    test: false,
                },
            ),
        )?;
        if props.self_mutation {
            pipeline.add_stage(app, "UpdatePipeline")?;
            let (path, name) = stack_files(app, stack);
            let env = app.environment_of(stack);
            if let Some(publisher) = publisher {
                let manifest = asset_manifest_path(app, stack);
                this.publish_action(
                    app,
                    "UpdatePipeline",
                    "Assets",
                    &[manifest],
                    &env,
                    Some(1),
                    publisher,
                )?;
            }
            this.deploy_actions(app, "UpdatePipeline", "SelfMutate", &path, &name, &env, 4)?;
        }
        Ok(this)
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The CodePipeline.
    pub fn codepipeline(&self) -> codepipeline::Pipeline {
        self.pipeline
    }

    /// The stack the pipeline is in.
    pub fn stack(&self) -> Stack {
        self.stack
    }

    /// The synth project (`Build/Synth`).
    pub fn synth_project(&self, app: &App) -> Option<NodeId> {
        app.node(self.node).child("Synth")
    }

    /// Adds a wave (a CodePipeline stage named `name`) after the existing ones.
    pub fn add_wave(&self, app: &mut App, name: &str) -> Result<Wave> {
        self.pipeline.add_stage(app, name)?;
        Ok(Wave {
            pipeline: *self,
            name: name.to_string(),
        })
    }

    /// Adds a wave named after the stage holding just `stage`.
    pub fn add_stage(&self, app: &mut App, stage: Stage, options: StageOptions) -> Result<StageDeployment> {
        let name = app.node(stage.node()).id().to_string();
        self.add_wave(app, &name)?.add_stage_with(app, stage, options)
    }

    /// The `Assets` stage, inserted after `UpdatePipeline` (or `Build`) by the first
    /// application stage.
    fn ensure_assets_stage(&self, app: &mut App) -> Result<()> {
        let names = self.pipeline.stage_names(app);
        if names.iter().any(|s| s == "Assets") {
            return Ok(());
        }
        let after = names
            .iter()
            .position(|s| s == "UpdatePipeline")
            .or_else(|| names.iter().position(|s| s == "Build"))
            .map_or(names.len(), |i| i + 1);
        self.pipeline.insert_stage(app, after, "Assets")
    }

    /// Support stacks of the CodePipeline (artifact stores in other regions) deploy in
    /// `UpdatePipeline` before the pipeline's own stack (run orders 2 and 3).
    fn deploy_support_stacks(&self, app: &mut App) -> Result<()> {
        if !self
            .pipeline
            .stage_names(app)
            .iter()
            .any(|s| s == "UpdatePipeline")
        {
            return Ok(());
        }
        for support in self.pipeline.support_stacks(app) {
            let (path, name) = stack_files(app, support);
            let prefix = format!(
                "Support-{}",
                app.node(support.node())
                    .id()
                    .rsplit("-support-")
                    .next()
                    .unwrap_or("")
            );
            let holder = app.node(self.pipeline.node()).child("UpdatePipeline");
            if holder
                .and_then(|h| app.node(h).child(&format!("{prefix}.Prepare")))
                .is_some()
            {
                continue;
            }
            let env = app.environment_of(support);
            self.deploy_actions(app, "UpdatePipeline", &prefix, &path, &name, &env, 2)?;
        }
        Ok(())
    }

    /// A CodeBuild action of the asset publisher uploading the file assets listed in
    /// `manifests` (asset manifest paths in the assembly) to `env`'s bootstrap bucket,
    /// as `env`'s file-publishing role (which the publisher may assume).
    #[allow(clippy::too_many_arguments)]
    fn publish_action(
        &self,
        app: &mut App,
        stage: &str,
        name: &str,
        manifests: &[String],
        env: &Environment,
        run_order: Option<u32>,
        publisher: Project,
    ) -> Result<()> {
        let role = file_publishing_role_arn(env);
        let vars: IndexMap<String, Value> = [
            ("ASSET_MANIFESTS".to_string(), Value::from(manifests.join(" "))),
            (
                "TARGET_ACCOUNT".to_string(),
                env.account
                    .clone()
                    .map(Value::from)
                    .unwrap_or(Value::pseudo(Pseudo::AccountId)),
            ),
            (
                "TARGET_REGION".to_string(),
                env.region
                    .clone()
                    .map(Value::from)
                    .unwrap_or(Value::pseudo(Pseudo::Region)),
            ),
            ("ASSUME_ROLE_ARN".to_string(), role.clone()),
        ]
        .into_iter()
        .collect();
        publisher.add_to_role_policy(
            app,
            PolicyStatement::allow()
                .actions(["sts:AssumeRole"])
                .resource(role),
        )?;
        let mut action = Action::new(
            name,
            ActionKind::CodeBuild {
                project: publisher,
                input: Artifact::new(SYNTH_ARTIFACT),
                extra_inputs: Vec::new(),
                outputs: Vec::new(),
                environment_variables: vars,
                test: false,
            },
        );
        action.run_order = run_order;
        self.pipeline.add_action(app, stage, action)
    }

    /// The Create/Execute change set pair of one stack at `first` and `first + 1`.
    #[allow(clippy::too_many_arguments)]
    fn deploy_actions(
        &self,
        app: &mut App,
        stage: &str,
        prefix: &str,
        template: &str,
        stack_name: &str,
        env: &Environment,
        first: u32,
    ) -> Result<()> {
        let role = deploy_role_arn(env);
        let artifact = Artifact::new(SYNTH_ARTIFACT);
        self.pipeline.add_action(
            app,
            stage,
            Action::new(
                &format!("{prefix}.Prepare"),
                ActionKind::CloudFormationCreateReplaceChangeSet {
                    stack_name: stack_name.to_string(),
                    change_set_name: CHANGE_SET.into(),
                    template_path: ArtifactPath::new(&artifact, template),
                    deployment_role: Some(cfn_exec_role_arn(env)),
                    capabilities: vec!["CAPABILITY_NAMED_IAM".into(), "CAPABILITY_AUTO_EXPAND".into()],
                },
            )
            .environment(env)
            .role(role.clone())
            .run_order(first),
        )?;
        self.pipeline.add_action(
            app,
            stage,
            Action::new(
                &format!("{prefix}.Deploy"),
                ActionKind::CloudFormationExecuteChangeSet {
                    stack_name: stack_name.to_string(),
                    change_set_name: CHANGE_SET.into(),
                },
            )
            .environment(env)
            .role(role)
            .run_order(first + 1),
        )
    }

    /// The asset publishing project (`AssetPublisher`): it uploads the
    /// file assets of one assembly directory to the bootstrap bucket of the target
    /// environment, assuming that environment's file-publishing role.
    fn publisher(app: &mut App, node: NodeId, key: Option<crate::kms::Key>) -> Result<Project> {
        let script = [
            "set -eu",
            "if [ -n \"${ASSUME_ROLE_ARN:-}\" ]; then CREDS=$(aws sts assume-role --role-arn \"$ASSUME_ROLE_ARN\" --role-session-name cairn-assets --query Credentials --output text); export AWS_ACCESS_KEY_ID=$(echo \"$CREDS\" | cut -f1) AWS_SECRET_ACCESS_KEY=$(echo \"$CREDS\" | cut -f3) AWS_SESSION_TOKEN=$(echo \"$CREDS\" | cut -f4); fi",
            "for m in $ASSET_MANIFESTS; do [ -e \"$m\" ] || continue; d=$(dirname \"$m\"); python3 -c 'import json,sys,os; d=json.load(open(sys.argv[1])); [print(f[\"source\"][\"path\"], t[\"bucketName\"].replace(\"$\"+\"{AWS::AccountId}\", os.environ[\"TARGET_ACCOUNT\"]).replace(\"$\"+\"{AWS::Region}\", os.environ[\"TARGET_REGION\"]), t[\"objectKey\"]) for f in d[\"files\"].values() for t in f[\"destinations\"].values()]' \"$m\" | while read -r src bucket key; do aws s3 cp \"$d/$src\" \"s3://$bucket/$key\"; done; done",
        ];
        Project::new(
            app,
            node,
            "AssetPublisher",
            ProjectProps {
                description: Some("Publishes the file assets of an application stage".into()),
                encryption_key: key,
                ..ProjectProps::new(BuildSpec::new().build(script))
            },
        )
    }

    /// The CodeBuild project of a shell, FIS or policy-validation step (`<scope>/<step>`);
    /// `stage` is the stage's templates when the step runs before a stage.
    fn step_action(
        &self,
        app: &mut App,
        scope_id: &str,
        step: &Step,
        run_order: u32,
        stage: Option<&[StackDeployment]>,
    ) -> Result<Action> {
        let key = self.pipeline.artifact_key();
        let project = |app: &mut App,
                       id: &str,
                       spec: BuildSpec,
                       env: IndexMap<String, Value>,
                       role_name: Option<&str>|
         -> Result<Project> {
            let holder = match app.node(self.node).child(scope_id) {
                Some(h) => h,
                None => app.construct(self.node, scope_id)?,
            };
            // A named role is created beside the project (`<step>Role`) and given to it.
            let role = match role_name {
                Some(name) => Some(Role::new(
                    app,
                    holder,
                    &format!("{id}Role"),
                    RoleProps {
                        role_name: Some(Value::from(name)),
                        ..RoleProps::new(Principal::service("codebuild.amazonaws.com"))
                    },
                )?),
                None => None,
            };
            Project::new(
                app,
                holder,
                id,
                ProjectProps {
                    encryption_key: key,
                    environment_variables: env,
                    role,
                    ..ProjectProps::new(spec)
                },
            )
        };
        // A step's project runs as a test action over the cloud assembly.
        let test_action = |name: &str, project: Project| {
            Action::new(
                name,
                ActionKind::CodeBuild {
                    project,
                    input: Artifact::new(SYNTH_ARTIFACT),
                    extra_inputs: Vec::new(),
                    outputs: Vec::new(),
                    environment_variables: IndexMap::new(),
                    test: true,
                },
            )
        };
        let action = match step {
            Step::ManualApproval { name, comment } => Action::new(
                name,
                ActionKind::ManualApproval {
                    comment: comment.clone(),
                    external_entity_link: None,
                    notify_topic: None,
                },
            ),
            Step::Shell {
                name,
                commands,
                env,
                statements,
                role_name,
            } => {
                let p = project(
                    app,
                    name,
                    BuildSpec::new().build(commands.clone()),
                    env.clone(),
                    role_name.as_deref(),
                )?;
                for s in statements {
                    p.add_to_role_policy(app, s.clone())?;
                }
                test_action(name, p)
            }
            Step::FisExperiment {
                name,
                experiment_template_id,
            } => {
                let spec = BuildSpec::new().build([
                    "EXPERIMENT_ID=$(aws fis start-experiment --experiment-template-id \"$EXPERIMENT_TEMPLATE_ID\" --query experiment.id --output text)",
                    "echo \"experiment $EXPERIMENT_ID\"",
                    "while true; do STATUS=$(aws fis get-experiment --id \"$EXPERIMENT_ID\" --query experiment.state.status --output text); echo \"$STATUS\"; case \"$STATUS\" in completed) exit 0;; failed|stopped|cancelled) exit 1;; esac; sleep 15; done",
                ]);
                let env: IndexMap<String, Value> = [(
                    "EXPERIMENT_TEMPLATE_ID".to_string(),
                    experiment_template_id.clone(),
                )]
                .into_iter()
                .collect();
                let p = project(app, name, spec, env, None)?;
                let arn = |rest: Value| format_arn("fis", rest);
                p.add_to_role_policy(
                    app,
                    PolicyStatement::allow()
                        .actions(["fis:StartExperiment"])
                        .resources([
                            arn(Value::join(
                                "",
                                [
                                    Value::from("experiment-template/"),
                                    experiment_template_id.clone(),
                                ],
                            )),
                            arn(Value::from("experiment/*")),
                        ]),
                )?;
                p.add_to_role_policy(
                    app,
                    PolicyStatement::allow()
                        .actions(["fis:GetExperiment"])
                        .resource(arn(Value::from("experiment/*"))),
                )?;
                test_action(name, p)
            }
            Step::PolicyValidation {
                name,
                blocking,
                reference_policy,
            } => {
                let Some(stacks) = stage else {
                    return Err(app.invalid_props(
                        self.node,
                        format!(
                            "the policy-validation step {name:?} validates a stage's templates before they deploy: add it to the stage's StageOptions::pre, not to a wave or after a stage"
                        ),
                    ));
                };
                if let Some(r) = reference_policy {
                    if r.get("Statement").is_none() {
                        return Err(app.invalid_props(
                            self.node,
                            format!(
                                "the reference policy of the policy-validation step {name:?} is not a policy document (no Statement); give a document such as {{\"Version\": \"2012-10-17\", \"Statement\": [...]}}"
                            ),
                        ));
                    }
                }
                let settings = serde_json::json!({
                    "templates": stacks.iter().map(|s| serde_json::json!({
                        "path": s.template_path,
                        "stack": s.stack_name,
                        "account": s.env.account.clone().unwrap_or_default(),
                        "region": s.env.region.clone().unwrap_or_default(),
                    })).collect::<Vec<_>>(),
                    "locations": cairn_cfn::policy::POLICY_DOCUMENTS
                        .iter()
                        .map(|(ty, path, kind)| serde_json::json!([ty, path, kind.as_str()]))
                        .collect::<Vec<_>>(),
                    "blocking": blocking.iter().map(|b| b.as_str()).collect::<Vec<_>>(),
                    "reference_policy": reference_policy,
                    "report": "policy-validation.xml",
                });
                let spec = BuildSpec::new()
                    .env("CAIRN_POLICY_VALIDATION", &settings.to_string())
                    .env("CAIRN_POLICY_VALIDATOR", VALIDATE_POLICIES)
                    .build(["python3 -c \"$CAIRN_POLICY_VALIDATOR\""])
                    .junit_report("policy-validation", ["policy-validation.xml"]);
                let p = project(app, name, spec, IndexMap::new(), None)?;
                let mut actions = vec!["access-analyzer:ValidatePolicy"];
                if reference_policy.is_some() {
                    actions.push("access-analyzer:CheckNoNewAccess");
                }
                // Validation is not scoped to a resource: these actions take none.
                p.add_to_role_policy(app, PolicyStatement::allow().actions(actions).resource("*"))?;
                if stacks.iter().any(|s| s.env.account.is_none()) {
                    p.add_to_role_policy(
                        app,
                        PolicyStatement::allow()
                            .actions(["sts:GetCallerIdentity"])
                            .resource("*"),
                    )?;
                }
                test_action(name, p)
            }
        };
        Ok(action.run_order(run_order))
    }
}

/// Run orders in a wave: wave pre steps 1, stage pre steps 2, stack `d` of a stage
/// `3 + 2d` (prepare) and `4 + 2d` (deploy), stage post steps after the stage's last.
const WAVE_PRE: u32 = 1;
const STAGE_PRE: u32 = 2;
const STACKS: u32 = 3;

impl Wave {
    /// The wave's (CodePipeline stage's) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds an application stage: its stacks deploy in parallel with the other stages of
    /// this wave. Add the stage's stacks before adding it.
    pub fn add_stage(&self, app: &mut App, stage: Stage) -> Result<StageDeployment> {
        self.add_stage_with(app, stage, StageOptions::default())
    }

    /// Adds an application stage with pre and post steps.
    pub fn add_stage_with(
        &self,
        app: &mut App,
        stage: Stage,
        options: StageOptions,
    ) -> Result<StageDeployment> {
        let p = self.pipeline;
        let wave_node = app
            .node(p.pipeline.node())
            .child(&self.name)
            .ok_or_else(|| app.invalid_props(p.node, format!("no wave {:?}", self.name)))?;
        if app.node(wave_node).child("PostSteps").is_some() {
            return Err(app.invalid_props(
                wave_node,
                format!(
                    "a stage was added to the wave {:?} after its post steps; add post steps last",
                    self.name
                ),
            ));
        }
        let stage_name = app.node(stage.node()).id().to_string();
        let stacks = stage_stacks(app, stage);
        if stacks.is_empty() {
            return Err(app.invalid_props(
                wave_node,
                format!(
                    "the stage {stage_name:?} has no stack; add its stacks before adding it to the pipeline"
                ),
            ));
        }
        let templates: Vec<StackDeployment> = stacks
            .iter()
            .map(|(stack, depth)| {
                let (template_path, stack_name) = stack_files(app, *stack);
                StackDeployment {
                    stack_name,
                    template_path,
                    env: app.environment_of(*stack),
                    depth: *depth,
                }
            })
            .collect();
        for step in &options.pre {
            let a = p.step_action(
                app,
                &format!("{}-{stage_name}", self.name),
                step,
                STAGE_PRE,
                Some(&templates),
            )?;
            p.pipeline.add_action(
                app,
                &self.name,
                Action {
                    name: format!("{stage_name}.{}", step.name()),
                    ..a
                },
            )?;
        }
        let mut deployments = Vec::new();
        let mut last = STACKS;
        let mut envs: Vec<Environment> = Vec::new();
        for (stack, depth) in &stacks {
            let (path, stack_name) = stack_files(app, *stack);
            let env = app.environment_of(*stack);
            let first = STACKS + 2 * (*depth as u32);
            last = last.max(first + 1);
            let display = app.path_from(stage.node(), stack.node()).join("-");
            p.deploy_actions(
                app,
                &self.name,
                &format!("{stage_name}.{display}"),
                &path,
                &stack_name,
                &env,
                first,
            )?;
            if !envs.contains(&env) {
                envs.push(env.clone());
            }
            deployments.push(StackDeployment {
                stack_name,
                template_path: path,
                env,
                depth: *depth,
            });
        }
        for (i, step) in options.post.iter().enumerate() {
            let a = p.step_action(
                app,
                &format!("{}-{stage_name}", self.name),
                step,
                last + 1 + i as u32,
                None,
            )?;
            p.pipeline.add_action(
                app,
                &self.name,
                Action {
                    name: format!("{stage_name}.{}", step.name()),
                    ..a
                },
            )?;
        }
        p.deploy_support_stacks(app)?;
        // Assets of the stage, published into each of its environments.
        let Some(publisher) = p.publisher.filter(|_| p.publish_assets) else {
            return Ok(StageDeployment {
                name: stage_name,
                stacks: deployments,
            });
        };
        p.ensure_assets_stage(app)?;
        for (i, env) in envs.iter().enumerate() {
            // The asset manifests of this environment's stacks.
            let manifests: Vec<String> = stacks
                .iter()
                .filter(|(s, _)| app.environment_of(*s) == *env)
                .map(|(s, _)| asset_manifest_path(app, *s))
                .collect();
            let name = if envs.len() == 1 {
                stage_name.clone()
            } else {
                format!("{stage_name}-{i}")
            };
            p.publish_action(app, "Assets", &name, &manifests, env, None, publisher)?;
        }
        Ok(StageDeployment {
            name: stage_name,
            stacks: deployments,
        })
    }

    /// Adds a step before every stage of the wave (run order 1).
    pub fn add_pre(&self, app: &mut App, step: Step) -> Result<()> {
        let p = self.pipeline;
        let a = p.step_action(app, &self.name, &step, WAVE_PRE, None)?;
        p.pipeline.add_action(app, &self.name, a)
    }

    /// Adds a step after every stage of the wave; add it after the wave's stages.
    pub fn add_post(&self, app: &mut App, step: Step) -> Result<()> {
        let p = self.pipeline;
        let wave_node = app
            .node(p.pipeline.node())
            .child(&self.name)
            .ok_or_else(|| app.invalid_props(p.node, format!("no wave {:?}", self.name)))?;
        if app.node(wave_node).child("PostSteps").is_none() {
            app.construct(wave_node, "PostSteps")?;
        }
        let last = max_run_order(app, &p.pipeline, &self.name);
        let a = p.step_action(app, &self.name, &step, last + 1, None)?;
        p.pipeline.add_action(app, &self.name, a)
    }
}

fn max_run_order(app: &App, pipeline: &codepipeline::Pipeline, stage: &str) -> u32 {
    let Some(p) = app
        .node(pipeline.resource().node())
        .resource::<codepipeline::CfnPipeline>()
    else {
        return 1;
    };
    let cairn_core::Val::Expr(Value::List(stages)) = &p.stages else {
        return 1;
    };
    stages
        .iter()
        .filter_map(Value::as_map)
        .filter(|m| m.get("Name").and_then(Value::as_str) == Some(stage))
        .filter_map(|m| match m.get("Actions") {
            Some(Value::List(a)) => Some(a),
            _ => None,
        })
        .flatten()
        .filter_map(|a| match a.as_map().and_then(|m| m.get("RunOrder")) {
            Some(Value::Int(i)) => u32::try_from(*i).ok(),
            _ => Some(1),
        })
        .max()
        .unwrap_or(1)
}

construct!(Pipeline);
node_from!(Pipeline);
