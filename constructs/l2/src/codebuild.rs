//! CodeBuild: projects with a typed build spec, a least-privilege service role (its own
//! log group and report groups only), KMS-encrypted artifacts and grants.
//!
//! ```
//! use cairn_constructs::codebuild::{BuildSpec, Project, ProjectProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let spec = BuildSpec::new()
//!     .install(["rustup default stable"])
//!     .build(["cargo test --locked"])
//!     .artifacts("target/release", ["app"]);
//! let project = Project::new(&mut app, stack, "Test", ProjectProps::new(spec))?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let p = &s.template["Resources"][s.resources_of_type("AWS::CodeBuild::Project")[0]]["Properties"];
//! assert_eq!(p["Source"]["Type"], "CODEPIPELINE");
//! assert!(p["Source"]["BuildSpec"].as_str().unwrap().contains("cargo test --locked"));
//! # let _ = project;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use cairn_core::{format_arn, App, NodeId, Res, Result, Value};

use crate::iam::{grant, Grantable, PolicyStatement, Principal, Role, RoleProps};
use crate::kms::Key;

pub use cairn_cfn::codebuild::*;

/// The actions of [`Project::grant_start_build`].
pub const START_BUILD_ACTIONS: &[&str] = &[
    "codebuild:StartBuild",
    "codebuild:StopBuild",
    "codebuild:BatchGetBuilds",
];

/// The default build image: Amazon Linux 2023 based `aws/codebuild/amazonlinux-x86_64-standard:5.0`.
pub const DEFAULT_IMAGE: &str = "aws/codebuild/amazonlinux-x86_64-standard:5.0";

/// A build spec (`version: 0.2`), rendered as YAML into the project's `Source.BuildSpec`.
///
/// ```
/// use cairn_constructs::codebuild::BuildSpec;
/// let spec = BuildSpec::new()
///     .env("STAGE", "prod")
///     .pre_build(["echo start"])
///     .build(["make"]);
/// let yaml = spec.to_yaml();
/// assert!(yaml.starts_with("version: '0.2'") || yaml.starts_with("version: \"0.2\""));
/// assert!(yaml.contains("STAGE: prod"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildSpec {
    /// `env.variables`.
    pub variables: IndexMap<String, String>,
    /// `env.exported-variables`.
    pub exported_variables: Vec<String>,
    /// `phases.install.runtime-versions`.
    pub runtime_versions: IndexMap<String, String>,
    /// `phases.install.commands`.
    pub install: Vec<String>,
    /// `phases.pre_build.commands`.
    pub pre_build: Vec<String>,
    /// `phases.build.commands`.
    pub build: Vec<String>,
    /// `phases.post_build.commands`.
    pub post_build: Vec<String>,
    /// `artifacts.base-directory`.
    pub artifacts_base_directory: Option<String>,
    /// `artifacts.files` (none: no artifacts section).
    pub artifacts_files: Vec<String>,
    /// `cache.paths`.
    pub cache_paths: Vec<String>,
    /// `reports`: test reports by report group name (CodeBuild creates the group
    /// `<project>-<name>`, which the project role may write).
    pub reports: IndexMap<String, TestReport>,
}

/// One entry of a build spec's `reports`: the files a build writes and their format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestReport {
    /// The report files (paths or globs, relative to the source directory).
    pub files: Vec<String>,
    /// Their format, e.g. `JUNITXML`, `CUCUMBERJSON`, `TESTNGXML`.
    pub file_format: String,
}

impl BuildSpec {
    /// An empty build spec.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    /// Adds an `install` runtime version, e.g. `("python", "3.12")`.
    pub fn runtime(mut self, runtime: &str, version: &str) -> Self {
        self.runtime_versions.insert(runtime.into(), version.into());
        self
    }

    /// Appends `install` commands.
    pub fn install<S: Into<String>>(mut self, commands: impl IntoIterator<Item = S>) -> Self {
        self.install.extend(commands.into_iter().map(Into::into));
        self
    }

    /// Appends `pre_build` commands.
    pub fn pre_build<S: Into<String>>(mut self, commands: impl IntoIterator<Item = S>) -> Self {
        self.pre_build.extend(commands.into_iter().map(Into::into));
        self
    }

    /// Appends `build` commands.
    pub fn build<S: Into<String>>(mut self, commands: impl IntoIterator<Item = S>) -> Self {
        self.build.extend(commands.into_iter().map(Into::into));
        self
    }

    /// Appends `post_build` commands.
    pub fn post_build<S: Into<String>>(mut self, commands: impl IntoIterator<Item = S>) -> Self {
        self.post_build.extend(commands.into_iter().map(Into::into));
        self
    }

    /// Sets the output artifact: `files` (globs) under `base_directory`.
    pub fn artifacts<S: Into<String>>(
        mut self,
        base_directory: &str,
        files: impl IntoIterator<Item = S>,
    ) -> Self {
        self.artifacts_base_directory = Some(base_directory.into());
        self.artifacts_files = files.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a test report: CodeBuild reads `files` (JUnit XML) after the build and shows
    /// them as the report `name`.
    pub fn junit_report<S: Into<String>>(mut self, name: &str, files: impl IntoIterator<Item = S>) -> Self {
        self.reports.insert(
            name.into(),
            TestReport {
                files: files.into_iter().map(Into::into).collect(),
                file_format: "JUNITXML".into(),
            },
        );
        self
    }

    /// Adds cached paths.
    pub fn cache<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.cache_paths.extend(paths.into_iter().map(Into::into));
        self
    }

    /// True when no phase has a command.
    pub fn is_empty(&self) -> bool {
        self.install.is_empty()
            && self.pre_build.is_empty()
            && self.build.is_empty()
            && self.post_build.is_empty()
    }

    /// The build spec as a JSON tree (the structure CodeBuild reads).
    pub fn to_json(&self) -> Json {
        let mut root = Map::new();
        root.insert("version".into(), json!("0.2"));
        let mut env = Map::new();
        if !self.variables.is_empty() {
            env.insert("variables".into(), json!(self.variables));
        }
        if !self.exported_variables.is_empty() {
            env.insert("exported-variables".into(), json!(self.exported_variables));
        }
        if !env.is_empty() {
            root.insert("env".into(), Json::Object(env));
        }
        let mut phases = Map::new();
        let mut install = Map::new();
        if !self.runtime_versions.is_empty() {
            install.insert("runtime-versions".into(), json!(self.runtime_versions));
        }
        if !self.install.is_empty() {
            install.insert("commands".into(), json!(self.install));
        }
        if !install.is_empty() {
            phases.insert("install".into(), Json::Object(install));
        }
        for (name, commands) in [
            ("pre_build", &self.pre_build),
            ("build", &self.build),
            ("post_build", &self.post_build),
        ] {
            if !commands.is_empty() {
                phases.insert(name.into(), json!({ "commands": commands }));
            }
        }
        root.insert("phases".into(), Json::Object(phases));
        if !self.artifacts_files.is_empty() {
            let mut a = Map::new();
            if let Some(b) = &self.artifacts_base_directory {
                a.insert("base-directory".into(), json!(b));
            }
            a.insert("files".into(), json!(self.artifacts_files));
            root.insert("artifacts".into(), Json::Object(a));
        }
        if !self.cache_paths.is_empty() {
            root.insert("cache".into(), json!({ "paths": self.cache_paths }));
        }
        if !self.reports.is_empty() {
            let reports: Map<String, Json> = self
                .reports
                .iter()
                .map(|(name, r)| {
                    (
                        name.clone(),
                        json!({ "files": r.files, "file-format": r.file_format }),
                    )
                })
                .collect();
            root.insert("reports".into(), Json::Object(reports));
        }
        Json::Object(root)
    }

    /// The build spec as YAML text.
    pub fn to_yaml(&self) -> String {
        // A JSON tree of strings, lists and maps always serializes.
        cairn_core::render::yaml(&self.to_json()).unwrap_or_default()
    }
}

/// The compute size of builds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ComputeType {
    /// `BUILD_GENERAL1_SMALL` (3 GB, 2 vCPUs).
    #[default]
    Small,
    /// `BUILD_GENERAL1_MEDIUM` (7 GB, 4 vCPUs).
    Medium,
    /// `BUILD_GENERAL1_LARGE` (15 GB, 8 vCPUs).
    Large,
}

impl ComputeType {
    /// The CloudFormation value.
    pub fn as_str(self) -> &'static str {
        match self {
            ComputeType::Small => "BUILD_GENERAL1_SMALL",
            ComputeType::Medium => "BUILD_GENERAL1_MEDIUM",
            ComputeType::Large => "BUILD_GENERAL1_LARGE",
        }
    }
}

/// Where a project's source comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProjectSource {
    /// The input artifact of a CodePipeline action (and output artifacts go back to it).
    #[default]
    CodePipeline,
    /// No source: builds started directly (e.g. by a Lambda function) run the build spec only.
    NoSource,
}

/// Settings of a [`Project`]. Start from [`ProjectProps::new`].
#[derive(Debug, Clone)]
pub struct ProjectProps {
    /// The build spec (required: at least one command).
    pub build_spec: BuildSpec,
    /// A physical name; generated when `None` (recommended).
    pub project_name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// Where the source comes from (default: CodePipeline).
    pub source: ProjectSource,
    /// The build image (default [`DEFAULT_IMAGE`]).
    pub image: String,
    /// The compute size (default small).
    pub compute_type: ComputeType,
    /// Docker-in-Docker (needed to build images only; default off).
    pub privileged: bool,
    /// Plain environment variables of every build.
    pub environment_variables: IndexMap<String, Value>,
    /// Build timeout (5 minutes to 36 hours; CodeBuild's default is 60 minutes).
    pub timeout: Option<Duration>,
    /// The KMS key encrypting build output artifacts (default: CodeBuild's `alias/aws/s3`).
    /// A pipeline action sets its artifact key here when it creates the project.
    pub encryption_key: Option<Key>,
    /// The service role; by default one is created (assumed by `codebuild.amazonaws.com`).
    pub role: Option<Role>,
}

impl ProjectProps {
    /// Props running `build_spec`; everything else default.
    pub fn new(build_spec: BuildSpec) -> Self {
        ProjectProps {
            build_spec,
            project_name: None,
            description: None,
            source: ProjectSource::CodePipeline,
            image: DEFAULT_IMAGE.to_string(),
            compute_type: ComputeType::Small,
            privileged: false,
            environment_variables: IndexMap::new(),
            timeout: None,
            encryption_key: None,
            role: None,
        }
    }
}

/// A CodeBuild project (`AWS::CodeBuild::Project`): the L1 is the child `Resource`, its
/// service role `Role`. The role may write its own log group
/// (`/aws/codebuild/<project>`) and report groups (`<project>-*`) and nothing else until
/// granted more.
///
/// ```
/// use cairn_constructs::codebuild::{BuildSpec, Project, ProjectProps, ProjectSource};
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let project = Project::new(&mut app, stack, "Deployer", ProjectProps {
///     source: ProjectSource::NoSource,
///     ..ProjectProps::new(BuildSpec::new().build(["echo deploy"]))
/// })?;
/// let starter = Role::new(&mut app, stack, "Starter", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
/// project.grant_start_build(&mut app, &starter)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Project {
    node: NodeId,
    resource: Res<CfnProject>,
    role: Role,
}

impl PartialEq for Project {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl Project {
    /// Creates the project as construct `id` under `scope`.
    ///
    /// Errors: an empty build spec, or a timeout outside 5 minutes to 36 hours.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: ProjectProps) -> Result<Project> {
        let node = app.construct(scope, id)?;
        if props.build_spec.is_empty() {
            return Err(app.invalid_props(
                node,
                "the build spec has no command; add some with BuildSpec::build([..])",
            ));
        }
        let timeout = match props.timeout {
            Some(t) => {
                let minutes = t.as_secs() / 60;
                if t.as_secs() % 60 != 0 || !(5..=2160).contains(&minutes) {
                    return Err(app.invalid_props(
                        node,
                        format!("timeout {t:?} must be whole minutes between 5 minutes and 36 hours"),
                    ));
                }
                Some(minutes as i64)
            }
            None => None,
        };
        let role = match props.role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "Role",
                RoleProps::new(Principal::service("codebuild.amazonaws.com")),
            )?,
        };
        let (source_type, artifacts_type) = match props.source {
            ProjectSource::CodePipeline => ("CODEPIPELINE", "CODEPIPELINE"),
            ProjectSource::NoSource => ("NO_SOURCE", "NO_ARTIFACTS"),
        };
        let mut env = project::Environment::new(
            props.compute_type.as_str(),
            props.image.as_str(),
            "LINUX_CONTAINER",
        );
        env.privileged_mode = Some(props.privileged.into());
        env.image_pull_credentials_type = Some("CODEBUILD".into());
        if !props.environment_variables.is_empty() {
            env.environment_variables = Some(
                props
                    .environment_variables
                    .iter()
                    .map(|(k, v)| {
                        let mut e = project::EnvironmentVariable::new(k.as_str(), v.clone());
                        e.type_ = Some("PLAINTEXT".into());
                        e.into()
                    })
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        let mut source = project::Source::new(source_type);
        source.build_spec = Some(props.build_spec.to_yaml().into());
        let mut p = CfnProject::new(project::Artifacts::new(artifacts_type), env, role.arn(), source);
        p.name = props.project_name.as_deref().map(Into::into);
        p.description = props.description.as_deref().map(Into::into);
        p.timeout_in_minutes = timeout.map(Into::into);
        p.encryption_key = Some(match props.encryption_key {
            Some(k) => k.key_arn().into(),
            None => format_arn("kms", "alias/aws/s3").into(),
        });
        let resource = app.add(node, "Resource", p)?;
        let project = Project { node, resource, role };
        // Logs and reports of this project only (the CDK's statements).
        let name = resource.ref_();
        let log_group = |suffix: &str| {
            format_arn(
                "logs",
                Value::join(
                    "",
                    [
                        Value::from("log-group:/aws/codebuild/"),
                        name.clone(),
                        Value::from(suffix),
                    ],
                ),
            )
        };
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"])
                .resources([log_group(""), log_group(":*")]),
        )?;
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions([
                    "codebuild:CreateReportGroup",
                    "codebuild:CreateReport",
                    "codebuild:UpdateReport",
                    "codebuild:BatchPutTestCases",
                    "codebuild:BatchPutCodeCoverages",
                ])
                .resource(format_arn(
                    "codebuild",
                    Value::join("", [Value::from("report-group/"), name, Value::from("-*")]),
                )),
        )?;
        if let Some(key) = props.encryption_key {
            key.grant_encrypt_decrypt(app, &project)?;
        }
        Ok(project)
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnProject> {
        self.resource
    }

    /// The service role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The project's name (`Ref`).
    pub fn project_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The project's ARN.
    pub fn project_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// Grants starting, stopping and reading builds of this project
    /// ([`START_BUILD_ACTIONS`]).
    pub fn grant_start_build(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        grant(
            app,
            grantee,
            START_BUILD_ACTIONS.iter().copied(),
            [self.project_arn()],
        )
    }

    /// Adds a statement to the service role's policy.
    pub fn add_to_role_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        self.role.add_to_policy(app, statement)
    }
}

grantable_by_role!(Project);

impl From<Project> for NodeId {
    fn from(p: Project) -> NodeId {
        p.node
    }
}

construct!(Project);
