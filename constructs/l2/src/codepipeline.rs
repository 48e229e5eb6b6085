//! CodePipeline: pipelines (V2) with a KMS-encrypted artifact bucket, a role per action,
//! sources (CodeCommit, S3, CodeStar connections), CodeBuild, manual approval and
//! CloudFormation change-set actions, and the support stacks cross-account and
//! cross-region actions need (an action role in the target account, an artifact bucket and
//! key in the target region), created as the CDK does.
//!
//! ```
//! use cairn_constructs::codebuild::{BuildSpec, Project, ProjectProps};
//! use cairn_constructs::codepipeline::{Action, ActionKind, Artifact, ArtifactPath, Pipeline, PipelineProps, SourceTrigger};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Ci")?;
//! let pipeline = Pipeline::new(&mut app, stack, "Pipeline", PipelineProps::default())?;
//! let source = Artifact::new("Source");
//! let built = Artifact::new("Built");
//! pipeline.add_stage(&mut app, "Source")?;
//! pipeline.add_action(&mut app, "Source", Action::new("Code", ActionKind::CodeCommitSource {
//!     repository_name: "app".into(),
//!     branch: "main".into(),
//!     output: source.clone(),
//!     trigger: SourceTrigger::Events,
//! }))?;
//! let project = Project::new(&mut app, stack, "Build",
//!     ProjectProps::new(BuildSpec::new().build(["make"]).artifacts(".", ["template.json"])))?;
//! pipeline.add_stage(&mut app, "Build")?;
//! pipeline.add_action(&mut app, "Build", Action::new("Build", ActionKind::CodeBuild {
//!     project, input: source, extra_inputs: vec![], outputs: vec![built.clone()],
//!     environment_variables: Default::default(), test: false,
//! }))?;
//! pipeline.add_stage(&mut app, "Deploy")?;
//! pipeline.add_action(&mut app, "Deploy", Action::new("Prepare", ActionKind::CloudFormationCreateReplaceChangeSet {
//!     stack_name: "App".into(), change_set_name: "PipelineChange".into(),
//!     template_path: ArtifactPath::new(&built, "template.json"),
//!     deployment_role: None, capabilities: vec![],
//! }).run_order(1))?;
//! pipeline.add_action(&mut app, "Deploy", Action::new("Deploy", ActionKind::CloudFormationExecuteChangeSet {
//!     stack_name: "App".into(), change_set_name: "PipelineChange".into(),
//! }).run_order(2))?;
//! let asm = app.synth()?;
//! let s = asm.stack("Ci").unwrap();
//! let p = &s.template["Resources"][s.resources_of_type("AWS::CodePipeline::Pipeline")[0]]["Properties"];
//! assert_eq!(p["ArtifactStore"]["EncryptionKey"]["Type"], "KMS");
//! assert_eq!(p["Stages"].as_array().unwrap().len(), 3);
//! # Ok(())
//! # }
//! ```

use indexmap::IndexMap;
use serde_json::json;

use cairn_core::{
    format_arn, make_unique_id, App, Arn, Environment, Level, NodeId, Pseudo, RemovalPolicy, Res, Result,
    Stack, StackProps, Val, Value,
};

use crate::codebuild::Project;
use crate::events::{EventPattern, Rule, RuleProps};
use crate::iam::{Grantable, PolicyStatement, Principal, Role, RoleProps};
use crate::kms::{CfnAlias, Key, KeyProps};
use crate::s3::{Bucket, BucketEncryption, BucketProps};

pub use cairn_cfn::codepipeline::*;

mod structure;
use structure::valid_name;
pub use structure::PipelineStructure;

/// A named artifact passed between actions.
///
/// ```
/// use cairn_constructs::codepipeline::Artifact;
/// assert_eq!(Artifact::new("Synth").name(), "Synth");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Artifact(String);

impl Artifact {
    /// An artifact called `name` (letters, digits, `_` and `-`, at most 100 characters).
    pub fn new(name: &str) -> Self {
        Artifact(name.to_string())
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A file inside an artifact: `Artifact::path/in/artifact`.
///
/// ```
/// use cairn_constructs::codepipeline::{Artifact, ArtifactPath};
/// let p = ArtifactPath::new(&Artifact::new("Synth"), "assembly-Prod/ProdApp.template.json");
/// assert_eq!(p.location(), "Synth::assembly-Prod/ProdApp.template.json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactPath {
    /// The artifact.
    pub artifact: Artifact,
    /// The path inside it.
    pub file: String,
}

impl ArtifactPath {
    /// `file` in `artifact`.
    pub fn new(artifact: &Artifact, file: &str) -> Self {
        ArtifactPath {
            artifact: artifact.clone(),
            file: file.to_string(),
        }
    }

    /// The `Artifact::file` spelling CloudFormation actions take.
    pub fn location(&self) -> String {
        format!("{}::{}", self.artifact.0, self.file)
    }
}

/// What starts the pipeline when a source changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SourceTrigger {
    /// An EventBridge rule starts the pipeline on a change (the default; for S3 the
    /// bucket must send events to EventBridge).
    #[default]
    Events,
    /// CodePipeline polls the source (discouraged by AWS; CodeCommit and S3 only).
    Poll,
    /// Nothing: the pipeline runs when started (by a person, an API call or another
    /// pipeline).
    None,
}

/// What an action does.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionKind {
    /// A CodeCommit repository branch in the pipeline's account and region. The action
    /// role may read the branch and upload its archive (`codecommit:GetBranch`,
    /// `GetCommit`, `UploadArchive`, `GetUploadArchiveStatus`, `CancelUploadArchive`).
    CodeCommitSource {
        /// The repository name.
        repository_name: String,
        /// The branch.
        branch: String,
        /// The output artifact.
        output: Artifact,
        /// What starts the pipeline.
        trigger: SourceTrigger,
    },
    /// An object (a zip) in an S3 bucket, which must be versioned.
    S3Source {
        /// The bucket.
        bucket: Bucket,
        /// The object key.
        key: String,
        /// The output artifact.
        output: Artifact,
        /// What starts the pipeline (`Events` needs the bucket's EventBridge notifications).
        trigger: SourceTrigger,
    },
    /// A GitHub, GitLab or Bitbucket repository through a CodeStar connection. The action
    /// role may use that connection only.
    CodeStarConnectionSource {
        /// The connection ARN.
        connection_arn: Value,
        /// `owner/repository`.
        repository: String,
        /// The branch.
        branch: String,
        /// The output artifact.
        output: Artifact,
        /// Start the pipeline on a push (`DetectChanges`); `None` and `Poll` do not.
        trigger: SourceTrigger,
    },
    /// A CodeBuild build (or test) of a project whose source is `CODEPIPELINE`. The project
    /// role reads the inputs (and writes the outputs) in the artifact bucket; the action
    /// role may start and watch builds of this project only.
    CodeBuild {
        /// The project.
        project: Project,
        /// The primary input.
        input: Artifact,
        /// Secondary inputs.
        extra_inputs: Vec<Artifact>,
        /// Output artifacts.
        outputs: Vec<Artifact>,
        /// Environment variables of this action's builds.
        environment_variables: IndexMap<String, Value>,
        /// A `Test` action instead of `Build`.
        test: bool,
    },
    /// A manual approval.
    ManualApproval {
        /// What the approver reads.
        comment: Option<String>,
        /// A link for the approver (e.g. the staging URL).
        external_entity_link: Option<String>,
        /// An SNS topic ARN notified when approval is needed (the action role may publish).
        notify_topic: Option<Value>,
    },
    /// Creates or replaces a CloudFormation change set from a template in an artifact.
    /// The action role may create, describe and delete change sets of this stack and pass
    /// the deployment role.
    CloudFormationCreateReplaceChangeSet {
        /// The stack name.
        stack_name: String,
        /// The change set name.
        change_set_name: String,
        /// The template.
        template_path: ArtifactPath,
        /// The role CloudFormation deploys with (`RoleArn`); `None`: one is created as
        /// aws-cdk-lib does (`<stage>/<action>/Role`, trusted by CloudFormation, allowed
        /// to read the artifacts; in the pipeline's account only).
        deployment_role: Option<Value>,
        /// `CAPABILITY_IAM`, `CAPABILITY_NAMED_IAM`, `CAPABILITY_AUTO_EXPAND`.
        capabilities: Vec<String>,
    },
    /// Executes a change set created by [`ActionKind::CloudFormationCreateReplaceChangeSet`].
    CloudFormationExecuteChangeSet {
        /// The stack name.
        stack_name: String,
        /// The change set name.
        change_set_name: String,
    },
}

impl ActionKind {
    fn type_id(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            ActionKind::CodeCommitSource { .. } => ("Source", "AWS", "CodeCommit"),
            ActionKind::S3Source { .. } => ("Source", "AWS", "S3"),
            ActionKind::CodeStarConnectionSource { .. } => ("Source", "AWS", "CodeStarSourceConnection"),
            ActionKind::CodeBuild { test: false, .. } => ("Build", "AWS", "CodeBuild"),
            ActionKind::CodeBuild { test: true, .. } => ("Test", "AWS", "CodeBuild"),
            ActionKind::ManualApproval { .. } => ("Approval", "AWS", "Manual"),
            ActionKind::CloudFormationCreateReplaceChangeSet { .. }
            | ActionKind::CloudFormationExecuteChangeSet { .. } => ("Deploy", "AWS", "CloudFormation"),
        }
    }

    fn inputs(&self) -> Vec<&Artifact> {
        match self {
            ActionKind::CodeBuild {
                input, extra_inputs, ..
            } => std::iter::once(input).chain(extra_inputs.iter()).collect(),
            ActionKind::CloudFormationCreateReplaceChangeSet { template_path, .. } => {
                vec![&template_path.artifact]
            }
            _ => Vec::new(),
        }
    }

    fn outputs(&self) -> Vec<&Artifact> {
        match self {
            ActionKind::CodeCommitSource { output, .. }
            | ActionKind::S3Source { output, .. }
            | ActionKind::CodeStarConnectionSource { output, .. } => vec![output],
            ActionKind::CodeBuild { outputs, .. } => outputs.iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// One action of a stage.
///
/// ```
/// use cairn_constructs::codepipeline::{Action, ActionKind};
/// let approve = Action::new("Approve", ActionKind::ManualApproval {
///     comment: Some("Check staging".into()), external_entity_link: None, notify_topic: None,
/// }).run_order(3);
/// assert_eq!(approve.run_order, Some(3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// The action's name (unique in its stage).
    pub name: String,
    /// What it does.
    pub kind: ActionKind,
    /// Actions of one stage with the same run order run in parallel, lower first
    /// (CodePipeline's default: 1).
    pub run_order: Option<u32>,
    /// The account the action works in; another than the pipeline's makes it
    /// cross-account (its role lives in that account).
    pub account: Option<String>,
    /// The region the action works in; another than the pipeline's makes it
    /// cross-region (artifacts are replicated to a bucket in that region).
    pub region: Option<String>,
    /// An existing role the pipeline assumes for this action (e.g. a bootstrap deploy
    /// role in another account); by default one is created.
    pub role: Option<Value>,
    /// The variable namespace of the action's outputs.
    pub namespace: Option<String>,
}

impl Action {
    /// An action in the pipeline's account and region, with a role of its own.
    pub fn new(name: &str, kind: ActionKind) -> Self {
        Action {
            name: name.to_string(),
            kind,
            run_order: None,
            account: None,
            region: None,
            role: None,
            namespace: None,
        }
    }

    /// Sets the run order.
    pub fn run_order(mut self, order: u32) -> Self {
        self.run_order = Some(order);
        self
    }

    /// Makes the action work in another environment (account and/or region).
    pub fn environment(mut self, env: &Environment) -> Self {
        self.account = env.account.clone();
        self.region = env.region.clone();
        self
    }

    /// Uses an existing role.
    pub fn role(mut self, role_arn: impl Into<Value>) -> Self {
        self.role = Some(role_arn.into());
        self
    }
}

/// Settings of a [`Pipeline`].
///
/// ```
/// use cairn_constructs::codepipeline::PipelineProps;
/// let props = PipelineProps { pipeline_name: Some("toolchain".into()), ..PipelineProps::default() };
/// assert!(props.restart_execution_on_update == false);
/// ```
#[derive(Debug, Clone, Default)]
pub struct PipelineProps {
    /// A physical name; generated when `None`.
    pub pipeline_name: Option<String>,
    /// The artifact bucket; by default one is created, encrypted with a new KMS key
    /// (child `ArtifactsBucketEncryptionKey`) so other accounts can be granted access.
    pub artifact_bucket: Option<Bucket>,
    /// Restart the running execution when the pipeline itself is updated (as a
    /// self-mutating pipeline wants).
    pub restart_execution_on_update: bool,
    /// The pipeline role; by default one is created (assumed by
    /// `codepipeline.amazonaws.com`).
    pub role: Option<Role>,
}

/// A CodePipeline pipeline (`AWS::CodePipeline::Pipeline`, V2, the L1 its child
/// `Resource`) with a KMS-encrypted artifact bucket and a role (child `Role`) that may
/// use the bucket and key and assume the action roles, and nothing else.
///
/// Stages are added in order with [`Pipeline::add_stage`], actions with
/// [`Pipeline::add_action`]. A structure check runs at synthesis: at least two stages,
/// sources only (and all of them) in the first stage, every stage with an action, unique
/// names, and every input artifact produced by an earlier action.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline {
    node: NodeId,
    resource: Res<CfnPipeline>,
    role: Role,
    bucket: Bucket,
    key: Option<Key>,
    stack: Stack,
}

impl PartialEq for Pipeline {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// The statement actions an artifact reader needs on the bucket.
const BUCKET_READ: &[&str] = &["s3:GetObject*", "s3:GetBucket*", "s3:List*"];
/// ... and a writer.
const BUCKET_WRITE: &[&str] = &[
    "s3:DeleteObject*",
    "s3:PutObject",
    "s3:PutObjectLegalHold",
    "s3:PutObjectRetention",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:Abort*",
];
const KEY_READ: &[&str] = &["kms:Decrypt", "kms:DescribeKey"];
const KEY_WRITE: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
];

/// Who an artifact grant goes to.
enum Grantee {
    /// A role of this app in the pipeline's account (an IAM policy statement).
    Role(Role),
    /// A role by ARN, in another account (bucket and key policy statements).
    Foreign(Value),
}

impl Pipeline {
    /// Creates the pipeline as construct `id` under `scope` (inside a stack).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: PipelineProps) -> Result<Pipeline> {
        let node = app.construct(scope, id)?;
        let stack = app
            .stack_of(node)
            .ok_or_else(|| app.invalid_props(node, "a pipeline must be inside a stack"))?;
        app.add_validator_once(PipelineStructure);
        let (bucket, key) = match props.artifact_bucket {
            Some(b) => (b, b.encryption_key()),
            None => {
                let key = Key::new(
                    app,
                    node,
                    "ArtifactsBucketEncryptionKey",
                    KeyProps {
                        description: Some("Encrypts the artifacts of a pipeline".into()),
                        ..KeyProps::default()
                    },
                )?;
                Self::artifact_key_alias(app, node, key)?;
                let bucket = Bucket::new(
                    app,
                    node,
                    "ArtifactsBucket",
                    BucketProps {
                        encryption: BucketEncryption::Kms(key),
                        ..BucketProps::default()
                    },
                )?;
                (bucket, Some(key))
            }
        };
        if key.is_none() {
            app.annotate(
                node,
                Level::Warning,
                "the artifact bucket has no customer managed KMS key: other accounts cannot be granted its artifacts",
            );
        }
        let role = match props.role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "Role",
                RoleProps::new(Principal::service("codepipeline.amazonaws.com")),
            )?,
        };
        let mut store = pipeline::ArtifactStore::new(bucket.bucket_name(), pipeline::Type::S3);
        if let Some(k) = key {
            store.encryption_key = Some(pipeline::EncryptionKey::new(k.key_arn(), "KMS").into());
        }
        let mut p = CfnPipeline::new(role.arn(), Val::Expr(Value::List(Vec::new())));
        p.artifact_store = Some(store.into());
        p.name = props.pipeline_name.as_deref().map(Into::into);
        p.pipeline_type = Some(pipeline::PipelineType::V2.into());
        p.execution_mode = Some(pipeline::ExecutionMode::Queued.into());
        p.restart_execution_on_update = Some(props.restart_execution_on_update.into());
        let resource = app.add(node, "Resource", p)?;
        // The pipeline validates its action roles at creation: it waits for its policy.
        app.resource_options_mut(resource)?.depends_on.push(role.node());
        let pipeline = Pipeline {
            node,
            resource,
            role,
            bucket,
            key,
            stack,
        };
        pipeline.grant_artifacts(app, &Grantee::Role(role), true)?;
        Ok(pipeline)
    }

    /// aws-cdk-lib's alias of the artifact key (`ArtifactsBucketEncryptionKeyAlias`, named
    /// `alias/codepipeline-<the pipeline's unique id, lower case>`; the name is create-only,
    /// so a ported pipeline keeps it).
    fn artifact_key_alias(app: &mut App, node: NodeId, key: Key) -> Result<()> {
        const PREFIX: &str = "alias/codepipeline-";
        let unique = make_unique_id(&app.path_from(app.root(), node)).to_lowercase();
        let keep = 256 - PREFIX.len();
        let tail = &unique[unique.len().saturating_sub(keep)..];
        let holder = app.construct(node, "ArtifactsBucketEncryptionKeyAlias")?;
        app.add(
            holder,
            "Resource",
            CfnAlias::new(format!("{PREFIX}{tail}"), key.key_arn()),
        )?;
        app.apply_removal_policy(holder, RemovalPolicy::Delete)?;
        Ok(())
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnPipeline> {
        self.resource
    }

    /// The pipeline role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The artifact bucket.
    pub fn artifact_bucket(&self) -> Bucket {
        self.bucket
    }

    /// The artifact bucket's KMS key (always, unless a bucket without one was given).
    pub fn artifact_key(&self) -> Option<Key> {
        self.key
    }

    /// The stack the pipeline is in.
    pub fn stack(&self) -> Stack {
        self.stack
    }

    /// The pipeline's name (`Ref`).
    pub fn pipeline_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The pipeline's ARN (`arn:<partition>:codepipeline:<region>:<account>:<name>`).
    pub fn pipeline_arn(&self) -> Value {
        format_arn("codepipeline", self.pipeline_name())
    }

    /// Grants starting executions of this pipeline (`codepipeline:StartPipelineExecution`).
    pub fn grant_start_execution(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        crate::iam::grant(
            app,
            grantee,
            ["codepipeline:StartPipelineExecution"],
            [self.pipeline_arn()],
        )
    }

    /// Appends an empty stage named `name` (child construct `<name>` holds its action roles).
    pub fn add_stage(&self, app: &mut App, name: &str) -> Result<()> {
        let end = self.stage_names(app).len();
        self.insert_stage(app, end, name)
    }

    /// Inserts an empty stage named `name` at position `index` (0: first; past the end:
    /// last).
    pub fn insert_stage(&self, app: &mut App, index: usize, name: &str) -> Result<()> {
        if !valid_name(name) {
            return Err(app.invalid_props(
                self.node,
                format!("the stage name {name:?} must be 1 to 100 letters, digits, '.', '_', '-' or '@'"),
            ));
        }
        app.construct(self.node, name)?;
        self.with_stages(app, |stages| {
            let at = index.min(stages.len());
            stages.insert(
                at,
                Value::map([("Name", Value::from(name)), ("Actions", Value::List(Vec::new()))]),
            );
        });
        Ok(())
    }

    /// The stage names, in order.
    pub fn stage_names(&self, app: &App) -> Vec<String> {
        match app
            .node(self.resource.node())
            .resource::<CfnPipeline>()
            .map(|p| &p.stages)
        {
            Some(Val::Expr(Value::List(stages))) => stages
                .iter()
                .filter_map(|s| s.as_map().and_then(|m| m.get("Name")).and_then(Value::as_str))
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    fn with_stages(&self, app: &mut App, f: impl FnOnce(&mut Vec<Value>)) {
        if let Some(p) = app.node_mut(self.resource.node()).resource_mut::<CfnPipeline>() {
            if let Val::Expr(Value::List(stages)) = &mut p.stages {
                f(stages);
            }
        }
    }

    fn env(&self, app: &App) -> Environment {
        app.environment_of(self.stack)
    }

    /// Adds an action to stage `stage`, with the role and grants it needs (see
    /// [`ActionKind`]): by default a role `<stage>/<action>/CodePipelineActionRole`
    /// assumable by the pipeline's role; for an action in another account a role in
    /// the support stack `<PipelineStack>-support-<account>`; for an action in another
    /// region an artifact bucket and key in the support stack
    /// `<PipelineStack>-support-<region>`.
    pub fn add_action(&self, app: &mut App, stage: &str, action: Action) -> Result<()> {
        let stage_node = app.node(self.node).child(stage).ok_or_else(|| {
            app.invalid_props(
                self.node,
                format!("no stage {stage:?}; add it first with add_stage"),
            )
        })?;
        if !valid_name(&action.name) {
            return Err(app.invalid_props(
                stage_node,
                format!(
                    "the action name {:?} must be 1 to 100 letters, digits, '.', '_', '-' or '@'",
                    action.name
                ),
            ));
        }
        let action_node = app.construct(stage_node, &action.name)?;
        let env = self.env(app);
        let cross_account = match (&action.account, &env.account) {
            (Some(a), Some(p)) => a != p,
            (Some(_), None) => true,
            _ => false,
        };
        let cross_region = match (&action.region, &env.region) {
            (Some(r), Some(p)) => r != p,
            (Some(_), None) => true,
            _ => false,
        };
        if (cross_account || cross_region) && (env.account.is_none() || env.region.is_none()) {
            return Err(app.invalid_props(
                action_node,
                "an action in another account or region needs the pipeline's stack to have a concrete environment (account and region)",
            ));
        }
        let mut action = action;
        if !cross_account {
            self.default_deployment_role(app, action_node, &mut action)?;
        }
        let writes = !action.kind.outputs().is_empty();
        // The role the pipeline assumes for this action.
        let (role_arn, grantee): (Option<Value>, Option<Grantee>) = match (&action.role, &action.kind) {
            // A role given by ARN (e.g. a bootstrap role): bucket and key policies let it
            // in, whatever its account.
            (Some(arn), _) => (Some(arn.clone()), Some(Grantee::Foreign(arn.clone()))),
            (
                None,
                ActionKind::ManualApproval {
                    notify_topic: None, ..
                },
            ) => (None, None),
            (None, _) if cross_account => {
                let account = action.account.clone().unwrap_or_default();
                let (role, arn) = self.support_role(app, &account, stage, &action.name)?;
                self.add_permissions(app, &action, role)?;
                (Some(arn.clone()), Some(Grantee::Foreign(arn)))
            }
            (None, _) => {
                let role = Role::new(
                    app,
                    action_node,
                    "CodePipelineActionRole",
                    // Assumable by the pipeline's role only, as aws-cdk-lib writes it.
                    RoleProps::new(Principal::Arn(self.role.arn())),
                )?;
                self.add_permissions(app, &action, role)?;
                (Some(role.arn()), Some(Grantee::Role(role)))
            }
        };
        if let Some(arn) = &role_arn {
            self.role.add_to_policy(
                app,
                PolicyStatement::allow()
                    .actions(["sts:AssumeRole"])
                    .resource(arn.clone()),
            )?;
        }
        let touches_artifacts = !action.kind.inputs().is_empty() || writes;
        match &grantee {
            Some(g @ Grantee::Role(_)) if touches_artifacts => self.grant_artifacts(app, g, writes)?,
            Some(g @ Grantee::Foreign(_)) if touches_artifacts => self.grant_artifacts(app, g, writes)?,
            _ => {}
        }
        if cross_region {
            if let (Some(region), Some(account)) = (&action.region, &env.account) {
                self.replication_store(app, region, account)?;
                if let (Some(Grantee::Foreign(arn)), true) = (&grantee, touches_artifacts) {
                    self.grant_replicated(app, region, arn, writes);
                }
            }
        }
        self.source_trigger(app, stage_node, &action)?;
        let declaration = self.declaration(app, &action, role_arn);
        let mut found = false;
        self.with_stages(app, |stages| {
            for s in stages.iter_mut() {
                let Some(m) = s.as_map_mut() else { continue };
                if m.get("Name").and_then(Value::as_str) == Some(stage) {
                    if let Some(Value::List(actions)) = m.get_mut("Actions") {
                        actions.push(declaration.clone());
                        found = true;
                    }
                }
            }
        });
        if !found {
            return Err(app.invalid_props(
                self.node,
                format!("no stage {stage:?}; add it first with add_stage"),
            ));
        }
        Ok(())
    }

    fn declaration(&self, app: &App, action: &Action, role_arn: Option<Value>) -> Value {
        let (category, owner, provider) = action.kind.type_id();
        let mut m: IndexMap<String, Value> = IndexMap::new();
        m.insert("Name".into(), Value::from(action.name.as_str()));
        m.insert(
            "ActionTypeId".into(),
            Value::map([
                ("Category", Value::from(category)),
                ("Owner", Value::from(owner)),
                ("Provider", Value::from(provider)),
                ("Version", Value::from("1")),
            ]),
        );
        let config: Vec<(&str, Value)> = match &action.kind {
            ActionKind::CodeCommitSource {
                repository_name,
                branch,
                trigger,
                ..
            } => vec![
                ("RepositoryName", Value::from(repository_name.as_str())),
                ("BranchName", Value::from(branch.as_str())),
                (
                    "PollForSourceChanges",
                    Value::from(*trigger == SourceTrigger::Poll),
                ),
            ],
            ActionKind::S3Source {
                bucket, key, trigger, ..
            } => vec![
                ("S3Bucket", bucket.bucket_name()),
                ("S3ObjectKey", Value::from(key.as_str())),
                (
                    "PollForSourceChanges",
                    Value::from(*trigger == SourceTrigger::Poll),
                ),
            ],
            ActionKind::CodeStarConnectionSource {
                connection_arn,
                repository,
                branch,
                trigger,
                ..
            } => vec![
                ("ConnectionArn", connection_arn.clone()),
                ("FullRepositoryId", Value::from(repository.as_str())),
                ("BranchName", Value::from(branch.as_str())),
                ("DetectChanges", Value::from(*trigger == SourceTrigger::Events)),
                ("OutputArtifactFormat", Value::from("CODE_ZIP")),
            ],
            ActionKind::CodeBuild {
                project,
                input,
                environment_variables,
                ..
            } => {
                let mut c = vec![("ProjectName", project.project_name())];
                if !environment_variables.is_empty() {
                    let vars: Vec<serde_json::Value> = environment_variables
                        .iter()
                        .map(|(k, v)| match v.as_str() {
                            Some(s) => json!({"name": k, "type": "PLAINTEXT", "value": s}),
                            None => json!({"name": k, "type": "PLAINTEXT", "value": "#{unresolved}"}),
                        })
                        .collect();
                    if environment_variables.values().all(|v| v.as_str().is_some()) {
                        c.push((
                            "EnvironmentVariables",
                            Value::from(serde_json::Value::Array(vars).to_string()),
                        ));
                    } else {
                        // Values with references: a Fn::Join of the JSON text around them.
                        let mut parts = vec![Value::from("[")];
                        for (i, (k, v)) in environment_variables.iter().enumerate() {
                            if i > 0 {
                                parts.push(Value::from(","));
                            }
                            parts.push(Value::from(format!(
                                "{{\"name\":{},\"type\":\"PLAINTEXT\",\"value\":\"",
                                json!(k)
                            )));
                            parts.push(v.clone());
                            parts.push(Value::from("\"}"));
                        }
                        parts.push(Value::from("]"));
                        c.push(("EnvironmentVariables", Value::join("", parts)));
                    }
                }
                if action.kind.inputs().len() > 1 {
                    c.push(("PrimarySource", Value::from(input.name())));
                }
                c
            }
            ActionKind::ManualApproval {
                comment,
                external_entity_link,
                notify_topic,
            } => {
                let mut c = Vec::new();
                if let Some(t) = notify_topic {
                    c.push(("NotificationArn", t.clone()));
                }
                if let Some(x) = comment {
                    c.push(("CustomData", Value::from(x.as_str())));
                }
                if let Some(x) = external_entity_link {
                    c.push(("ExternalEntityLink", Value::from(x.as_str())));
                }
                c
            }
            ActionKind::CloudFormationCreateReplaceChangeSet {
                stack_name,
                change_set_name,
                template_path,
                deployment_role,
                capabilities,
            } => {
                let mut c = vec![
                    ("StackName", Value::from(stack_name.as_str())),
                    ("ActionMode", Value::from("CHANGE_SET_REPLACE")),
                    ("ChangeSetName", Value::from(change_set_name.as_str())),
                    ("TemplatePath", Value::from(template_path.location())),
                ];
                if let Some(r) = deployment_role {
                    c.push(("RoleArn", r.clone()));
                }
                if !capabilities.is_empty() {
                    c.push(("Capabilities", Value::from(capabilities.join(","))));
                }
                c
            }
            ActionKind::CloudFormationExecuteChangeSet {
                stack_name,
                change_set_name,
            } => vec![
                ("StackName", Value::from(stack_name.as_str())),
                ("ActionMode", Value::from("CHANGE_SET_EXECUTE")),
                ("ChangeSetName", Value::from(change_set_name.as_str())),
            ],
        };
        if !config.is_empty() {
            m.insert("Configuration".into(), Value::map(config));
        }
        let inputs = action.kind.inputs();
        if !inputs.is_empty() {
            m.insert(
                "InputArtifacts".into(),
                Value::List(
                    inputs
                        .iter()
                        .map(|a| Value::map([("Name", Value::from(a.name()))]))
                        .collect(),
                ),
            );
        }
        let outputs = action.kind.outputs();
        if !outputs.is_empty() {
            m.insert(
                "OutputArtifacts".into(),
                Value::List(
                    outputs
                        .iter()
                        .map(|a| Value::map([("Name", Value::from(a.name()))]))
                        .collect(),
                ),
            );
        }
        let env = self.env(app);
        if let (Some(r), true) = (&action.region, action.region != env.region) {
            m.insert("Region".into(), Value::from(r.as_str()));
        }
        if let Some(arn) = role_arn {
            m.insert("RoleArn".into(), arn);
        }
        if let Some(o) = action.run_order {
            m.insert("RunOrder".into(), Value::from(i64::from(o)));
        }
        if let Some(ns) = &action.namespace {
            m.insert("Namespace".into(), Value::from(ns.as_str()));
        }
        Value::Map(m)
    }

    /// The action role's own permissions (not the artifacts).
    fn add_permissions(&self, app: &mut App, action: &Action, role: Role) -> Result<()> {
        let partition_arn = |service: &str, rest: &str| -> Value {
            let region = action
                .region
                .clone()
                .map(Value::from)
                .unwrap_or(Value::pseudo(Pseudo::Region));
            let account = action
                .account
                .clone()
                .map(Value::from)
                .unwrap_or(Value::pseudo(Pseudo::AccountId));
            Arn::new(service, rest).region(region).account(account).format()
        };
        let stmt = match &action.kind {
            ActionKind::CodeCommitSource { repository_name, .. } => Some(
                PolicyStatement::allow()
                    .actions([
                        "codecommit:GetBranch",
                        "codecommit:GetCommit",
                        "codecommit:UploadArchive",
                        "codecommit:GetUploadArchiveStatus",
                        "codecommit:CancelUploadArchive",
                    ])
                    .resource(partition_arn("codecommit", repository_name)),
            ),
            ActionKind::S3Source { bucket, key, .. } => {
                crate::iam::grant(
                    app,
                    &role,
                    ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
                    [bucket.arn(), bucket.arn_for_objects(key)],
                )?;
                if let Some(k) = bucket.encryption_key() {
                    k.grant_decrypt(app, &role)?;
                }
                None
            }
            ActionKind::CodeStarConnectionSource { connection_arn, .. } => Some(
                PolicyStatement::allow()
                    .actions([
                        "codestar-connections:UseConnection",
                        "codeconnections:UseConnection",
                    ])
                    .resource(connection_arn.clone()),
            ),
            ActionKind::CodeBuild { project, .. } => Some(
                PolicyStatement::allow()
                    .actions([
                        "codebuild:BatchGetBuilds",
                        "codebuild:StartBuild",
                        "codebuild:StopBuild",
                    ])
                    .resource(project.project_arn()),
            ),
            ActionKind::ManualApproval { notify_topic, .. } => notify_topic.as_ref().map(|t| {
                PolicyStatement::allow()
                    .actions(["sns:Publish"])
                    .resource(t.clone())
            }),
            ActionKind::CloudFormationCreateReplaceChangeSet {
                stack_name,
                deployment_role,
                ..
            } => {
                if let Some(r) = deployment_role {
                    role.add_to_policy(
                        app,
                        PolicyStatement::allow()
                            .actions(["iam:PassRole"])
                            .resource(r.clone()),
                    )?;
                }
                Some(
                    PolicyStatement::allow()
                        .actions([
                            "cloudformation:CreateChangeSet",
                            "cloudformation:DeleteChangeSet",
                            "cloudformation:DescribeChangeSet",
                            "cloudformation:DescribeStacks",
                        ])
                        .resource(partition_arn("cloudformation", &format!("stack/{stack_name}/*"))),
                )
            }
            ActionKind::CloudFormationExecuteChangeSet { stack_name, .. } => Some(
                PolicyStatement::allow()
                    .actions([
                        "cloudformation:DescribeChangeSet",
                        "cloudformation:DescribeStacks",
                        "cloudformation:ExecuteChangeSet",
                    ])
                    .resource(partition_arn("cloudformation", &format!("stack/{stack_name}/*"))),
            ),
        };
        if let ActionKind::CodeBuild { project, outputs, .. } = &action.kind {
            // The project reads the inputs and writes the outputs.
            self.grant_artifacts(app, &Grantee::Role(project.role()), !outputs.is_empty())?;
        }
        if let Some(s) = stmt {
            role.add_to_policy(app, s)?;
        }
        Ok(())
    }

    /// Grants artifact bucket (and key) access: IAM statements for a role of this app,
    /// bucket and key policy statements for a role of another account.
    /// A change-set action without a deployment role gets one, as aws-cdk-lib creates it
    /// (`<stage>/<action>/Role`, trusted by CloudFormation, allowed to read the artifacts
    /// and nothing else: grant it what the stack needs, or pass a role).
    fn default_deployment_role(&self, app: &mut App, action_node: NodeId, action: &mut Action) -> Result<()> {
        if let ActionKind::CloudFormationCreateReplaceChangeSet {
            deployment_role: deployment_role @ None,
            ..
        } = &mut action.kind
        {
            let role = Role::new(
                app,
                action_node,
                "Role",
                RoleProps::new(Principal::service("cloudformation.amazonaws.com")),
            )?;
            self.grant_artifacts(app, &Grantee::Role(role), false)?;
            *deployment_role = Some(role.arn());
        }
        Ok(())
    }

    fn grant_artifacts(&self, app: &mut App, grantee: &Grantee, write: bool) -> Result<()> {
        let (bucket_actions, key_actions): (Vec<&str>, &[&str]) = if write {
            (
                BUCKET_READ.iter().chain(BUCKET_WRITE).copied().collect(),
                KEY_WRITE,
            )
        } else {
            (BUCKET_READ.to_vec(), KEY_READ)
        };
        let resources = [self.bucket.arn(), self.bucket.arn_for_objects("*")];
        match grantee {
            Grantee::Role(role) => {
                crate::iam::grant(app, role, bucket_actions, resources)?;
                if let Some(k) = self.key {
                    k.grant(app, role, key_actions.iter().copied())?;
                }
            }
            Grantee::Foreign(arn) => {
                self.bucket.add_to_resource_policy(
                    app,
                    PolicyStatement::allow()
                        .principal(Principal::Arn(arn.clone()))
                        .actions(bucket_actions)
                        .resources(resources),
                )?;
                if let Some(k) = self.key {
                    k.add_to_resource_policy(
                        app,
                        PolicyStatement::allow()
                            .principal(Principal::Arn(arn.clone()))
                            .actions(key_actions.iter().copied())
                            .resource("*"),
                    )?;
                }
            }
        }
        Ok(())
    }

    /// The support stack `<PipelineStack>-support-<suffix>` beside the pipeline's stack.
    fn support_stack(&self, app: &mut App, suffix: &str, env: Environment) -> Result<Stack> {
        let parent = app.node(self.stack.node()).parent().unwrap_or(app.root());
        let id = format!("{}-support-{suffix}", app.node(self.stack.node()).id());
        let existing = app.node(parent).child(&id);
        let stack = match existing.and_then(|n| app.stack_of(n)) {
            Some(s) => s,
            None => {
                let s = app.stack_with(
                    parent,
                    &id,
                    StackProps {
                        env: Some(env),
                        description: Some(format!(
                            "Support resources of the pipeline {}",
                            app.path(self.node)
                        )),
                        ..StackProps::default()
                    },
                )?;
                app.add_dependency(self.stack, s)?;
                s
            }
        };
        Ok(stack)
    }

    /// An action role in a support stack of `account`, with a physical name so the pipeline
    /// can name it; trusted by the pipeline's account.
    fn support_role(&self, app: &mut App, account: &str, stage: &str, action: &str) -> Result<(Role, Value)> {
        let env = self.env(app);
        let stack = self.support_stack(
            app,
            account,
            Environment {
                account: Some(account.to_string()),
                region: env.region.clone(),
            },
        )?;
        let mut path: Vec<String> = app
            .path_from(app.root(), self.node)
            .iter()
            .map(|s| s.to_string())
            .collect();
        path.push(stage.to_string());
        path.push(action.to_string());
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let name: String = format!("cairn-{}", make_unique_id(&refs).to_lowercase())
            .chars()
            .take(64)
            .collect();
        let role_id = format!("{}{}{}ActionRole", app.node(self.node).id(), stage, action);
        let pipeline_account = env.account.clone().unwrap_or_default();
        let role = Role::new(
            app,
            stack,
            &role_id,
            RoleProps {
                role_name: Some(Value::from(name.as_str())),
                ..RoleProps::new(Principal::account(pipeline_account.as_str()))
            },
        )?;
        let arn = Arn::new("iam", format!("role/{name}"))
            .no_region()
            .account(account)
            .format();
        Ok((role, arn))
    }

    /// The artifact store of `region`: a KMS key with an alias and a bucket with a
    /// physical name in the support stack of that region; the pipeline switches from
    /// `ArtifactStore` to `ArtifactStores`.
    fn replication_store(&self, app: &mut App, region: &str, account: &str) -> Result<()> {
        let refs: Vec<&str> = app.path_from(app.root(), self.node);
        let hash = make_unique_id(&refs);
        let tail: String = hash
            .chars()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let tail = tail.to_lowercase();
        let bucket_name = format!("cairn-pipeline-{tail}-{account}-{region}");
        let alias = format!("alias/cairn-pipeline-{tail}-replication");
        let env = self.env(app);
        let stack = self.support_stack(
            app,
            region,
            Environment {
                account: Some(account.to_string()),
                region: Some(region.to_string()),
            },
        )?;
        if app.node(stack.node()).child("ReplicationBucket").is_none() {
            let key = Key::new(
                app,
                stack,
                "ReplicationKey",
                KeyProps {
                    alias: Some(alias.clone()),
                    description: Some("Encrypts the replicated artifacts of a pipeline".into()),
                    ..KeyProps::default()
                },
            )?;
            Bucket::new(
                app,
                stack,
                "ReplicationBucket",
                BucketProps {
                    bucket_name: Some(Value::from(bucket_name.as_str())),
                    encryption: BucketEncryption::Kms(key),
                    ..BucketProps::default()
                },
            )?;
        }
        // The pipeline role and every role of this pipeline's account may use the store
        // through the alias (key policy: the account administers it).
        let bucket_arn = Arn::new("s3", bucket_name.as_str())
            .no_region()
            .no_account()
            .format();
        let objects = Value::join("", [bucket_arn.clone(), Value::from("/*")]);
        let key_arn_pattern = Arn::new("kms", "key/*").region(region).account(account).format();
        self.role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(BUCKET_READ.iter().chain(BUCKET_WRITE).copied())
                .resources([bucket_arn, objects]),
        )?;
        self.role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(KEY_WRITE.iter().copied())
                .resource(key_arn_pattern)
                .condition("ForAnyValue:StringEquals", "kms:ResourceAliases", alias.as_str()),
        )?;
        let alias_arn = Arn::new("kms", alias.as_str())
            .region(region)
            .account(account)
            .format();
        let home = env.region.clone().unwrap_or_default();
        let key = self.key;
        let bucket = self.bucket;
        if let Some(p) = app.node_mut(self.resource.node()).resource_mut::<CfnPipeline>() {
            let mut stores: Vec<Val<pipeline::ArtifactStoreMap>> = match p.artifact_stores.take() {
                Some(Val::Lit(l)) => l,
                _ => {
                    let mut home_store =
                        pipeline::ArtifactStore::new(bucket.bucket_name(), pipeline::Type::S3);
                    if let Some(k) = key {
                        home_store.encryption_key =
                            Some(pipeline::EncryptionKey::new(k.key_arn(), "KMS").into());
                    }
                    vec![pipeline::ArtifactStoreMap::new(home_store, home.as_str()).into()]
                }
            };
            let known = stores
                .iter()
                .any(|s| matches!(s, Val::Lit(m) if m.region == Val::from(region)));
            if !known {
                let mut store = pipeline::ArtifactStore::new(bucket_name.as_str(), pipeline::Type::S3);
                store.encryption_key = Some(pipeline::EncryptionKey::new(alias_arn, "KMS").into());
                stores.push(pipeline::ArtifactStoreMap::new(store, region).into());
            }
            p.artifact_store = None;
            p.artifact_stores = Some(stores.into());
        }
        Ok(())
    }

    /// Lets a role of another account use the artifact store of `region` (statements in
    /// the replication bucket's and key's policies, in the support stack).
    fn grant_replicated(&self, app: &mut App, region: &str, role_arn: &Value, write: bool) {
        let parent = app.node(self.stack.node()).parent().unwrap_or(app.root());
        let id = format!("{}-support-{region}", app.node(self.stack.node()).id());
        let Some(stack) = app.node(parent).child(&id) else {
            return;
        };
        let (bucket_actions, key_actions): (Vec<&str>, &[&str]) = if write {
            (
                BUCKET_READ.iter().chain(BUCKET_WRITE).copied().collect(),
                KEY_WRITE,
            )
        } else {
            (BUCKET_READ.to_vec(), KEY_READ)
        };
        let bucket_l1 = app
            .node(stack)
            .child("ReplicationBucket")
            .and_then(|b| app.node(b).child("Resource"));
        let policy = app
            .node(stack)
            .child("ReplicationBucket")
            .and_then(|b| app.node(b).child("Policy"))
            .and_then(|p| app.node(p).child("Resource"));
        if let (Some(b), Some(p)) = (bucket_l1, policy) {
            let arn = Value::get_att(b, "Arn");
            let statement = PolicyStatement::allow()
                .principal(Principal::Arn(role_arn.clone()))
                .actions(bucket_actions)
                .resources([arn.clone(), Value::join("", [arn, Value::from("/*")])]);
            if let Some(bp) = app.node_mut(p).resource_mut::<crate::s3::CfnBucketPolicy>() {
                crate::kms::push_statement(&mut bp.policy_document, statement.to_value());
            }
        }
        let key = app
            .node(stack)
            .child("ReplicationKey")
            .and_then(|k| app.node(k).child("Resource"));
        if let Some(k) = key {
            let statement = PolicyStatement::allow()
                .principal(Principal::Arn(role_arn.clone()))
                .actions(key_actions.iter().copied())
                .resource("*");
            if let Some(kp) = app.node_mut(k).resource_mut::<crate::kms::CfnKey>() {
                if let Some(doc) = kp.key_policy.as_mut() {
                    crate::kms::push_statement(doc, statement.to_value());
                }
            }
        }
    }

    /// The support stacks of this pipeline created so far (cross-account roles,
    /// cross-region artifact stores), in creation order.
    pub fn support_stacks(&self, app: &App) -> Vec<Stack> {
        let parent = app.node(self.stack.node()).parent().unwrap_or(app.root());
        let prefix = format!("{}-support-", app.node(self.stack.node()).id());
        app.node(parent)
            .children()
            .filter(|c| app.node(*c).id().starts_with(&prefix))
            .filter_map(|c| app.stack_of(c))
            .collect()
    }

    /// The EventBridge rule that starts the pipeline on a source change.
    fn source_trigger(&self, app: &mut App, stage_node: NodeId, action: &Action) -> Result<()> {
        let pattern = match &action.kind {
            ActionKind::CodeCommitSource {
                repository_name,
                branch,
                trigger: SourceTrigger::Events,
                ..
            } => EventPattern {
                source: vec!["aws.codecommit".into()],
                detail_type: vec!["CodeCommit Repository State Change".into()],
                detail: Some(json!({
                    "event": ["referenceCreated", "referenceUpdated"],
                    "referenceName": [branch],
                    "repositoryName": [repository_name],
                })),
                ..EventPattern::default()
            },
            ActionKind::S3Source {
                key,
                trigger: SourceTrigger::Events,
                ..
            } => EventPattern {
                source: vec!["aws.s3".into()],
                detail_type: vec!["Object Created".into()],
                detail: Some(json!({ "object": { "key": [key] } })),
                ..EventPattern::default()
            },
            _ => return Ok(()),
        };
        let action_node = app.node(stage_node).child(&action.name).unwrap_or(stage_node);
        let rule = Rule::new(
            app,
            action_node,
            "EventsRule",
            RuleProps {
                event_pattern: Some(pattern),
                description: Some("Starts the pipeline when its source changes".into()),
                ..RuleProps::default()
            },
        )?;
        let role = Role::new(
            app,
            self.node,
            &format!("EventsRole{}", app.node(action_node).id()),
            RoleProps::new(Principal::service("events.amazonaws.com")),
        )?;
        self.grant_start_execution(app, &role)?;
        let mut t = cairn_cfn::events::rule::Target::new(self.pipeline_arn(), "Target0");
        t.role_arn = Some(role.arn().into());
        // S3: narrow the pattern to this bucket (a reference, so after creation).
        let bucket_name = match &action.kind {
            ActionKind::S3Source { bucket, .. } => Some(bucket.bucket_name()),
            _ => None,
        };
        if let Some(r) = app
            .node_mut(rule.resource().node())
            .resource_mut::<cairn_cfn::events::CfnRule>()
        {
            r.targets = Some(vec![Val::from(t)].into());
            if let (Some(name), Some(p)) = (bucket_name, r.event_pattern.as_mut()) {
                if let Some(detail) = p
                    .as_map_mut()
                    .and_then(|m| m.get_mut("detail"))
                    .and_then(Value::as_map_mut)
                {
                    detail.insert("bucket".into(), Value::map([("name", Value::List(vec![name]))]));
                }
            }
        }
        Ok(())
    }
}

impl From<Pipeline> for NodeId {
    fn from(p: Pipeline) -> NodeId {
        p.node
    }
}

construct!(Pipeline);
