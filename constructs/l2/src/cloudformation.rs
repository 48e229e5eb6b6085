//! CloudFormation: StackSets deployed across an AWS Organization, and the order in which a
//! self-healing workflow deploys them.
//!
//! A [`StackSet`] is service-managed by default (StackSets creates the roles it needs in
//! the member accounts), deploys to organizational units in some Regions, follows accounts
//! that join or leave those OUs (auto-deployment), and carries the ordering tags of
//! [`StackSetTags`]: `dependson`, `antidependson`, `mandatory`, `selfhealing` and `region`.
//! Tag values cannot hold commas, so lists are separated by `:`.
//!
//! [`StackSetOrder`] reads those tags from a set of StackSets, computes the deployment
//! order ([`plan_order`]: a topological order of `dependson`, ties broken by name), checks
//! `antidependson` conflicts, and writes the plan as JSON into an SSM parameter for the
//! workflow to read. A `dependson` cycle, a name no StackSet has, or two mandatory
//! StackSets that exclude each other in the same OU and Region are errors naming the
//! construct paths; synthesis stops with all of them.
//!
//! ```
//! use cairn_constructs::cloudformation::{
//!     DeploymentTarget, StackSet, StackSetOrder, StackSetOrderProps, StackSetProps, StackSetTags,
//!     StackSetTemplate,
//! };
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Org")?;
//! let template = r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#;
//! let base = StackSet::new(&mut app, stack, "Base", StackSetProps {
//!     tags: StackSetTags { mandatory: true, self_healing: true, ..StackSetTags::default() },
//!     ..StackSetProps::new("base", StackSetTemplate::body(template),
//!         vec![DeploymentTarget::new(["ou-ab12-cdef3456"], ["eu-west-1"])])
//! })?;
//! let app_set = StackSet::new(&mut app, stack, "App", StackSetProps {
//!     tags: StackSetTags::default().depends_on(["base"]),
//!     ..StackSetProps::new("app", StackSetTemplate::body(template),
//!         vec![DeploymentTarget::new(["ou-ab12-cdef3456"], ["eu-west-1"])])
//! })?;
//! let order = StackSetOrder::new(&mut app, stack, "Order",
//!     StackSetOrderProps::new("/stacksets/order", &[app_set, base]))?;
//! assert_eq!(order.order(), ["base", "app"]);
//! let asm = app.synth()?;
//! let s = asm.stack("Org").unwrap();
//! let id = s.resources_of_type("AWS::SSM::Parameter")[0];
//! let json: serde_json::Value =
//!     serde_json::from_str(s.template["Resources"][id]["Properties"]["Value"].as_str().unwrap()).unwrap();
//! assert_eq!(json["order"], serde_json::json!(["base", "app"]));
//! # Ok(())
//! # }
//! ```
//!
//! ## Conflicts (`antidependson`)
//!
//! `a` with `antidependson = b` must not run where `b` runs. Where the two share an OU (an
//! organization root `r-...` shares every OU) and a Region:
//!
//! - both mandatory: an **error** (the workflow cannot deploy both), naming both paths, the
//!   OU and the Region;
//! - otherwise a **warning**, and the plan records which one the workflow skips there: the
//!   non-mandatory one, or, when neither is mandatory, the one that declared the
//!   `antidependson`.
//!
//! StackSets that exclude each other but never share an OU and Region need nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use regex::Regex;

use cairn_core::{format_arn, App, Arn, Level, NodeId, Res, Result, Val, Value};

use crate::iam::{grant, Grantable};
use crate::ssm::{ParameterTier, StringParameter, StringParameterProps};

mod ordering;
pub use ordering::*;

pub use cairn_cfn::cloudformation::*;

/// The tag naming the StackSets a StackSet depends on (`:`-separated names).
pub const TAG_DEPENDS_ON: &str = "dependson";
/// The tag naming the StackSets a StackSet must not run beside (`:`-separated names).
pub const TAG_ANTI_DEPENDS_ON: &str = "antidependson";
/// The tag saying the StackSet must be deployed to all its targets (`true`/`false`).
pub const TAG_MANDATORY: &str = "mandatory";
/// The tag saying drifted instances are deleted and redeployed (`true`/`false`).
pub const TAG_SELF_HEALING: &str = "selfhealing";
/// The tag listing the Regions the StackSet deploys to (`:`-separated), written from its
/// deployment targets.
pub const TAG_REGION: &str = "region";
/// The separator of list tag values (tag values cannot hold commas).
pub const TAG_LIST_SEPARATOR: char = ':';
/// The longest tag value CloudFormation accepts on a StackSet.
pub const MAX_TAG_VALUE_LENGTH: usize = 256;
/// The longest `TemplateBody` CloudFormation accepts (larger templates go through S3).
pub const MAX_TEMPLATE_BODY_BYTES: usize = 51_200;

/// The actions a workflow needs to read StackSets and their instances and operations
/// ([`StackSet::grant_read`]).
pub const STACK_SET_READ_ACTIONS: &[&str] = &[
    "cloudformation:DescribeStackSet",
    "cloudformation:DescribeStackSetOperation",
    "cloudformation:DescribeStackInstance",
    "cloudformation:ListStackInstances",
    "cloudformation:ListStackSetOperations",
    "cloudformation:ListStackSetOperationResults",
];
/// The actions of [`StackSet::grant_detect_drift`].
pub const STACK_SET_DRIFT_ACTIONS: &[&str] = &["cloudformation:DetectStackSetDrift"];
/// The actions of [`StackSet::grant_manage_instances`].
pub const STACK_SET_INSTANCE_ACTIONS: &[&str] = &[
    "cloudformation:CreateStackInstances",
    "cloudformation:DeleteStackInstances",
    "cloudformation:UpdateStackInstances",
];

/// How StackSets gets permissions in the target accounts.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum PermissionModel {
    /// `SERVICE_MANAGED` (the default): StackSets creates the roles through AWS
    /// Organizations; targets are OUs and auto-deployment is available.
    #[default]
    ServiceManaged,
    /// `SELF_MANAGED`: an administration role in this account assumes an execution role
    /// in each target account (both created by you beforehand).
    SelfManaged {
        /// The administration role's ARN (CloudFormation's default
        /// `AWSCloudFormationStackSetAdministrationRole` when `None`).
        administration_role_arn: Option<Value>,
        /// The execution role's name (`AWSCloudFormationStackSetExecutionRole` when `None`).
        execution_role_name: Option<String>,
    },
}

/// Where a StackSet's template comes from.
///
/// ```
/// use cairn_constructs::cloudformation::StackSetTemplate;
/// let t = StackSetTemplate::file("templates/baseline.yaml");
/// # let _ = t;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum StackSetTemplate {
    /// A local JSON or YAML file, read when the StackSet is created and embedded as
    /// `TemplateBody` (at most 51,200 bytes).
    File(PathBuf),
    /// A template body given inline (JSON or YAML).
    Body(String),
    /// A template already in S3 (`TemplateURL`).
    Url(Value),
}

impl StackSetTemplate {
    /// A template file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        StackSetTemplate::File(path.into())
    }

    /// An inline template body.
    pub fn body(body: impl Into<String>) -> Self {
        StackSetTemplate::Body(body.into())
    }
}

/// One group of stack instances: the OUs (or, self-managed, the accounts) and Regions, and
/// the parameter values those instances override.
///
/// ```
/// use cairn_constructs::cloudformation::DeploymentTarget;
/// let t = DeploymentTarget::new(["ou-ab12-cdef3456"], ["eu-west-1", "eu-central-1"])
///     .parameter_override("LogRetentionDays", "365");
/// assert_eq!(t.regions.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentTarget {
    /// Organizational unit ids (`ou-...`) or the organization root (`r-...`).
    pub organizational_unit_ids: Vec<String>,
    /// Account ids: the targets of a self-managed StackSet.
    pub accounts: Vec<String>,
    /// The Regions.
    pub regions: Vec<String>,
    /// Parameter values of these instances that differ from the StackSet's.
    pub parameter_overrides: IndexMap<String, String>,
}

impl DeploymentTarget {
    /// Instances in these OUs and Regions.
    pub fn new<O: Into<String>, R: Into<String>>(
        organizational_unit_ids: impl IntoIterator<Item = O>,
        regions: impl IntoIterator<Item = R>,
    ) -> Self {
        DeploymentTarget {
            organizational_unit_ids: organizational_unit_ids.into_iter().map(Into::into).collect(),
            accounts: Vec::new(),
            regions: regions.into_iter().map(Into::into).collect(),
            parameter_overrides: IndexMap::new(),
        }
    }

    /// Instances in these accounts and Regions (self-managed StackSets).
    pub fn accounts<A: Into<String>, R: Into<String>>(
        accounts: impl IntoIterator<Item = A>,
        regions: impl IntoIterator<Item = R>,
    ) -> Self {
        DeploymentTarget {
            organizational_unit_ids: Vec::new(),
            accounts: accounts.into_iter().map(Into::into).collect(),
            regions: regions.into_iter().map(Into::into).collect(),
            parameter_overrides: IndexMap::new(),
        }
    }

    /// Overrides a parameter of these instances.
    pub fn parameter_override(mut self, key: &str, value: &str) -> Self {
        self.parameter_overrides.insert(key.into(), value.into());
        self
    }
}

/// Whether operations run in one Region after another or in all at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RegionConcurrency {
    /// One Region after another (CloudFormation's default).
    Sequential,
    /// All Regions at once (the default here: the workflow orders StackSets itself).
    #[default]
    Parallel,
}

/// How a StackSet operation rolls out (`OperationPreferences`).
///
/// ```
/// use cairn_constructs::cloudformation::OperationPreferences;
/// let p = OperationPreferences { max_concurrent_percentage: 50, ..OperationPreferences::default() };
/// # let _ = p;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OperationPreferences {
    /// Percentage of accounts deployed at once per Region, 1 to 100 (default 25).
    pub max_concurrent_percentage: i64,
    /// Percentage of accounts that may fail per Region before the operation stops, 0 to
    /// 100 (default 10).
    pub failure_tolerance_percentage: i64,
    /// Regions one after another or in parallel (default parallel).
    pub region_concurrency: RegionConcurrency,
    /// The Region order of sequential operations.
    pub region_order: Vec<String>,
    /// Soft failure tolerance: concurrency is not lowered by failures (default true).
    pub soft_failure_tolerance: bool,
}

impl Default for OperationPreferences {
    fn default() -> Self {
        OperationPreferences {
            max_concurrent_percentage: 25,
            failure_tolerance_percentage: 10,
            region_concurrency: RegionConcurrency::Parallel,
            region_order: Vec::new(),
            soft_failure_tolerance: true,
        }
    }
}

/// The ordering tags of a StackSet (see the module documentation).
///
/// ```
/// use cairn_constructs::cloudformation::StackSetTags;
/// let tags = StackSetTags { mandatory: true, ..StackSetTags::default() }
///     .depends_on(["baseline-iam", "baseline-ssm"])
///     .anti_depends_on(["config-legacy"]);
/// assert_eq!(tags.depends_on_value().as_deref(), Some("baseline-iam:baseline-ssm"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackSetTags {
    /// Names of the StackSets deployed before this one (`dependson`).
    pub depends_on: Vec<String>,
    /// Names of the StackSets this one must not run beside (`antidependson`).
    pub anti_depends_on: Vec<String>,
    /// Deploy to every target, also where instances are missing (`mandatory`).
    pub mandatory: bool,
    /// Delete and redeploy drifted instances (`selfhealing`).
    pub self_healing: bool,
}

impl StackSetTags {
    /// Adds `dependson` names.
    pub fn depends_on<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.depends_on.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds `antidependson` names.
    pub fn anti_depends_on<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.anti_depends_on.extend(names.into_iter().map(Into::into));
        self
    }

    /// The `dependson` tag value, `None` when empty.
    pub fn depends_on_value(&self) -> Option<String> {
        join_list(&self.depends_on)
    }

    /// The `antidependson` tag value, `None` when empty.
    pub fn anti_depends_on_value(&self) -> Option<String> {
        join_list(&self.anti_depends_on)
    }
}

fn join_list(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join(&TAG_LIST_SEPARATOR.to_string()))
}

/// Splits a list tag value (`a:b:c`) into its names; empty parts are dropped.
///
/// ```
/// use cairn_constructs::cloudformation::split_tag_list;
/// assert_eq!(split_tag_list("a:b::c"), ["a", "b", "c"]);
/// ```
pub fn split_tag_list(value: &str) -> Vec<String> {
    value
        .split(TAG_LIST_SEPARATOR)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Why a tag key or value cannot be put on a StackSet, or `None`.
///
/// Values hold at most 256 characters: Unicode letters, digits, white space and
/// `_ . : / = + - @` (no commas: lists are `:`-separated).
///
/// ```
/// use cairn_constructs::cloudformation::tag_problem;
/// assert!(tag_problem("dependson", "a:b").is_none());
/// assert!(tag_problem("dependson", "a,b").unwrap().contains("','"));
/// assert!(tag_problem("owner", "a\tb").is_some());
/// assert!(tag_problem("owner", "Team Ops").is_none());
/// ```
pub fn tag_problem(key: &str, value: &str) -> Option<String> {
    // Letters, digits, separators (`\p{Z}`: spaces, not tabs or line breaks) and `_.:/=+-@`.
    let allowed =
        |c: char| c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c);
    if key.is_empty() || key.chars().count() > 128 {
        return Some(format!("tag key {key:?} must be 1 to 128 characters"));
    }
    if key.starts_with("aws:") {
        return Some(format!("tag key {key:?}: the prefix aws: is reserved"));
    }
    if let Some(c) = key.chars().find(|c| !allowed(*c)) {
        return Some(format!(
            "tag key {key:?} holds {c:?}; use letters, digits, spaces and _ . : / = + - @"
        ));
    }
    let len = value.chars().count();
    if len > MAX_TAG_VALUE_LENGTH {
        return Some(format!(
            "tag {key}: the value is {len} characters, over the limit of {MAX_TAG_VALUE_LENGTH}; shorten the StackSet names or split the StackSet"
        ));
    }
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        let hint = if c == ',' {
            " (separate list items with ':')"
        } else {
            ""
        };
        return Some(format!(
            "tag {key}: the value {value:?} holds {c:?}{hint}; tag values allow letters, digits, spaces and _ . : / = + - @"
        ));
    }
    None
}

/// Settings of a [`StackSet`]. Start from [`StackSetProps::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct StackSetProps {
    /// The StackSet's name: a letter, then letters, digits and `-`, at most 128; the
    /// ordering tags name StackSets by it.
    pub stack_set_name: String,
    /// `Description`.
    pub description: Option<String>,
    /// The template.
    pub template: StackSetTemplate,
    /// Where instances are deployed.
    pub targets: Vec<DeploymentTarget>,
    /// Permission model (default: service-managed).
    pub permission_model: PermissionModel,
    /// Service-managed only: deploy to accounts joining the target OUs and remove from
    /// accounts leaving them (default: on).
    pub auto_deployment: bool,
    /// With auto-deployment: keep the stacks of accounts leaving an OU (default: off).
    pub retain_stacks_on_account_removal: bool,
    /// Rollout preferences.
    pub operation_preferences: OperationPreferences,
    /// Template parameter values of every instance.
    pub parameters: IndexMap<String, String>,
    /// Capabilities the template needs (`CAPABILITY_IAM` ...).
    pub capabilities: Vec<stack_set::Capability>,
    /// Run non-conflicting operations concurrently and queue conflicting ones (default on).
    pub managed_execution: bool,
    /// Called from a delegated administrator account (`CallAs: DELEGATED_ADMIN`).
    pub delegated_admin: bool,
    /// The ordering tags.
    pub tags: StackSetTags,
    /// Further tags (propagated to the stacks' resources).
    pub extra_tags: IndexMap<String, String>,
}

impl StackSetProps {
    /// A service-managed StackSet with auto-deployment, not mandatory, not self-healing.
    pub fn new(name: &str, template: StackSetTemplate, targets: Vec<DeploymentTarget>) -> Self {
        StackSetProps {
            stack_set_name: name.into(),
            description: None,
            template,
            targets,
            permission_model: PermissionModel::ServiceManaged,
            auto_deployment: true,
            retain_stacks_on_account_removal: false,
            operation_preferences: OperationPreferences::default(),
            parameters: IndexMap::new(),
            capabilities: Vec::new(),
            managed_execution: true,
            delegated_admin: false,
            tags: StackSetTags::default(),
            extra_tags: IndexMap::new(),
        }
    }
}

/// What [`plan_order`] knows of one StackSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSetSpec {
    /// The StackSet's name.
    pub name: String,
    /// Its construct path (for messages).
    pub path: String,
    /// Its ordering tags.
    pub tags: StackSetTags,
    /// Its targets: (OU or account, Region) pairs.
    pub targets: Vec<(String, String)>,
}

impl StackSetSpec {
    /// A spec without targets (tests and planning).
    pub fn new(name: &str, path: &str, tags: StackSetTags) -> Self {
        StackSetSpec {
            name: name.into(),
            path: path.into(),
            tags,
            targets: Vec::new(),
        }
    }

    /// Adds (OU, Region) targets.
    pub fn targets<O: Into<String>, R: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (O, R)>,
    ) -> Self {
        self.targets
            .extend(pairs.into_iter().map(|(o, r)| (o.into(), r.into())));
        self
    }
}

/// A CloudFormation StackSet (`AWS::CloudFormation::StackSet`), its L1 the child
/// `Resource`.
///
/// Invalid settings (a name CloudFormation refuses, a tag value with a comma or over 256
/// characters, no targets or Regions, OU ids on a self-managed StackSet, auto-deployment
/// on a self-managed one, parameter overrides of parameters the template does not
/// declare) are one [`Error::InvalidProps`](cairn_core::Error::InvalidProps) naming the construct path and every problem.
///
/// ```
/// use cairn_constructs::cloudformation::{DeploymentTarget, StackSet, StackSetProps, StackSetTemplate};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("Org")?;
/// let body = r#"{"Parameters":{"Env":{"Type":"String"}},"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}"#;
/// let set = StackSet::new(&mut app, stack, "Queues", StackSetProps {
///     parameters: [("Env".to_string(), "prod".to_string())].into_iter().collect(),
///     ..StackSetProps::new("queues", StackSetTemplate::body(body),
///         vec![DeploymentTarget::new(["ou-ab12-cdef3456"], ["us-east-1"])
///             .parameter_override("Env", "dev")])
/// })?;
/// assert_eq!(set.name(), "queues");
/// let asm = app.synth()?;
/// let s = asm.stack("Org").unwrap();
/// let p = &s.template["Resources"][s.resources_of_type("AWS::CloudFormation::StackSet")[0]]["Properties"];
/// assert_eq!(p["PermissionModel"], "SERVICE_MANAGED");
/// assert_eq!(p["AutoDeployment"]["Enabled"], true);
/// assert_eq!(p["StackInstancesGroup"][0]["ParameterOverrides"][0]["ParameterValue"], "dev");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct StackSet {
    node: NodeId,
    resource: Res<CfnStackSet>,
    spec: StackSetSpec,
    self_managed: bool,
}

impl PartialEq for StackSet {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

fn stack_set_name_ok(name: &str) -> bool {
    let re = Regex::new(r"^[a-zA-Z][a-zA-Z0-9-]{0,127}$").expect("a valid regex");
    re.is_match(name)
}

/// The parameters a template declares, when it parses as JSON or YAML.
fn template_parameters(body: &str) -> Option<BTreeSet<String>> {
    let value: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            // Only the parameter names are read: the rest (with its `!Ref`-style tags)
            // is skipped unparsed.
            #[derive(serde::Deserialize)]
            struct Names {
                #[serde(rename = "Parameters", default)]
                parameters: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
            }
            let names: Names = serde_saphyr::from_str(body).ok()?;
            return Some(names.parameters.into_keys().collect());
        }
    };
    Some(match value.get("Parameters").and_then(|p| p.as_object()) {
        Some(m) => m.keys().cloned().collect(),
        None => BTreeSet::new(),
    })
}

fn parameters_l1(params: &IndexMap<String, String>) -> Val<Vec<Val<stack_set::Parameter>>> {
    params
        .iter()
        .map(|(k, v)| stack_set::Parameter::new(k.as_str(), v.as_str()).into())
        .collect::<Vec<_>>()
        .into()
}

fn strings(items: &[String]) -> Val<Vec<Val<String>>> {
    items
        .iter()
        .map(|s| Val::from(s.as_str()))
        .collect::<Vec<_>>()
        .into()
}

impl StackSet {
    /// Creates the StackSet as construct `id` under `scope`. A template file that cannot
    /// be read, or invalid settings, are an [`Error::InvalidProps`](cairn_core::Error::InvalidProps) (listing every problem).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: StackSetProps) -> Result<StackSet> {
        let node = app.construct(scope, id)?;
        let path = app.path(node);
        let name = props.stack_set_name.clone();
        let self_managed = matches!(props.permission_model, PermissionModel::SelfManaged { .. });
        let mut build = StackSetBuild {
            props: &props,
            self_managed,
            l1: CfnStackSet::new(
                if self_managed {
                    stack_set::PermissionModel::SelfManaged
                } else {
                    stack_set::PermissionModel::ServiceManaged
                },
                name.as_str(),
            ),
            problems: Vec::new(),
        };
        if !stack_set_name_ok(&name) {
            build.problems.push(format!(
                "StackSet name {name:?} is invalid: start with a letter, then letters, digits and '-', at most 128 characters"
            ));
        }
        build.l1.description = props.description.as_deref().map(Into::into);
        let declared = build
            .template()
            .map_err(|problem| app.invalid_props(node, problem))?;
        build.parameters(declared.as_ref());
        let (pairs, regions) = build.targets();
        build.permissions();
        build.operations();
        build.tags(&regions);
        let StackSetBuild { l1, problems, .. } = build;
        crate::check_props(app, node, problems)?;
        let resource = app.add(node, "Resource", l1)?;
        Ok(StackSet {
            node,
            resource,
            spec: StackSetSpec {
                name,
                path,
                tags: props.tags.clone(),
                targets: pairs,
            },
            self_managed,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnStackSet> {
        self.resource
    }

    /// The StackSet's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// What the ordering needs: name, path, tags, (OU, Region) targets.
    pub fn spec(&self) -> &StackSetSpec {
        &self.spec
    }

    /// True for a self-managed StackSet.
    pub fn is_self_managed(&self) -> bool {
        self.self_managed
    }

    /// The StackSet's id (`name:uuid`).
    pub fn stack_set_id(&self) -> Value {
        self.resource.attr_stack_set_id()
    }

    /// The StackSet's ARN: `arn:<partition>:cloudformation:<region>:<account>:stackset/<name>:*`
    /// (the id's suffix is only known after creation, so a wildcard stands for it).
    pub fn stack_set_arn(&self) -> Value {
        format_arn("cloudformation", format!("stackset/{}:*", self.spec.name))
    }

    /// Grants reading the StackSet, its instances and operations.
    pub fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        grant(
            app,
            grantee,
            STACK_SET_READ_ACTIONS.iter().copied(),
            [self.stack_set_arn()],
        )
    }

    /// Grants `cloudformation:DetectStackSetDrift` on the StackSet.
    pub fn grant_detect_drift(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        grant(
            app,
            grantee,
            STACK_SET_DRIFT_ACTIONS.iter().copied(),
            [self.stack_set_arn()],
        )
    }

    /// Grants creating, updating and deleting stack instances (see
    /// [`StackSet::grant_instance_actions`]).
    pub fn grant_manage_instances(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        self.grant_instance_actions(app, grantee, STACK_SET_INSTANCE_ACTIONS.iter().copied())
    }

    /// Grants `cloudformation:CreateStackInstances` only.
    pub fn grant_create_instances(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        self.grant_instance_actions(app, grantee, ["cloudformation:CreateStackInstances"])
    }

    /// Grants `cloudformation:DeleteStackInstances` only.
    pub fn grant_delete_instances(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        self.grant_instance_actions(app, grantee, ["cloudformation:DeleteStackInstances"])
    }

    /// Grants stack instance `actions` on the StackSet, its targets
    /// (`stackset-target/<name>:*`) and the resource types it deploys
    /// (`type/resource/*`), as CloudFormation authorizes instance operations.
    pub fn grant_instance_actions<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        let target = format_arn("cloudformation", format!("stackset-target/{}:*", self.spec.name));
        let types = Arn::new("cloudformation", "type/resource/*")
            .region("*")
            .no_account()
            .format();
        grant(app, grantee, actions, [self.stack_set_arn(), target, types])
    }
}

/// The steps of [`StackSet::new`]: each fills its part of the L1 and notes the problems
/// of its part of the props, all reported together.
struct StackSetBuild<'p> {
    props: &'p StackSetProps,
    self_managed: bool,
    l1: CfnStackSet,
    problems: Vec<String>,
}

impl StackSetBuild<'_> {
    /// The template body or URL; the parameters a body declares (`None` for a URL or a
    /// body that does not parse). `Err`: a template file that cannot be read.
    fn template(&mut self) -> std::result::Result<Option<BTreeSet<String>>, String> {
        let body = match &self.props.template {
            StackSetTemplate::File(file) => Some(read_template(file)?),
            StackSetTemplate::Body(b) => Some(b.clone()),
            StackSetTemplate::Url(url) => {
                self.l1.template_url = Some(url.clone().into());
                None
            }
        };
        let Some(body) = body else {
            return Ok(None);
        };
        if body.len() > MAX_TEMPLATE_BODY_BYTES {
            self.problems.push(format!(
                "the template is {} bytes, over TemplateBody's limit of {MAX_TEMPLATE_BODY_BYTES}; upload it to S3 and use StackSetTemplate::Url",
                body.len()
            ));
        }
        let declared = template_parameters(&body);
        if declared.is_none() {
            self.problems.push("the template is neither JSON nor YAML".into());
        }
        self.l1.template_body = Some(body.into());
        Ok(declared)
    }

    /// Parameters and overrides, which must name parameters the template declares.
    fn parameters(&mut self, declared: Option<&BTreeSet<String>>) {
        let props = self.props;
        if let Some(declared) = declared {
            let mut check = |key: &str, what: &str| {
                if !declared.contains(key) {
                    self.problems.push(format!(
                        "{what} {key:?} is not a parameter of the template (it declares {:?})",
                        declared.iter().collect::<Vec<_>>()
                    ));
                }
            };
            for k in props.parameters.keys() {
                check(k, "parameter");
            }
            for t in &props.targets {
                for k in t.parameter_overrides.keys() {
                    check(k, "parameter override");
                }
            }
        }
        if !props.parameters.is_empty() {
            self.l1.parameters = Some(parameters_l1(&props.parameters));
        }
    }

    /// The stack instance groups; returns the (OU or account, Region) pairs deployed to
    /// and every Region, in order.
    fn targets(&mut self) -> (Vec<(String, String)>, Vec<String>) {
        let props = self.props;
        if props.targets.is_empty() {
            self.problems
                .push("a StackSet needs at least one deployment target (DeploymentTarget::new)".into());
        }
        let mut groups = Vec::new();
        let mut pairs = Vec::new();
        let mut all_regions: Vec<String> = Vec::new();
        for (i, t) in props.targets.iter().enumerate() {
            for r in &t.regions {
                if !all_regions.contains(r) {
                    all_regions.push(r.clone());
                }
            }
            self.check_target(i, t);
            let mut dt = stack_set::DeploymentTargets::default();
            if !t.organizational_unit_ids.is_empty() {
                dt.organizational_unit_ids = Some(strings(&t.organizational_unit_ids));
            }
            if !t.accounts.is_empty() {
                dt.accounts = Some(strings(&t.accounts));
            }
            let mut group = stack_set::StackInstances::new(dt, strings(&t.regions));
            if !t.parameter_overrides.is_empty() {
                group.parameter_overrides = Some(parameters_l1(&t.parameter_overrides));
            }
            groups.push(Val::from(group));
            for who in t.organizational_unit_ids.iter().chain(&t.accounts) {
                for r in &t.regions {
                    pairs.push((who.clone(), r.clone()));
                }
            }
        }
        if !groups.is_empty() {
            self.l1.stack_instances_group = Some(groups.into());
        }
        (pairs, all_regions)
    }

    /// The problems of deployment target `i`: Regions, and OUs or accounts as the
    /// permission model needs.
    fn check_target(&mut self, i: usize, t: &DeploymentTarget) {
        let ou = Regex::new(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$").expect("a valid regex");
        let account = Regex::new(r"^[0-9]{12}$").expect("a valid regex");
        let region = Regex::new(r"^[a-z]{2}(-[a-z]+)+-[0-9]$").expect("a valid regex");
        let problems = &mut self.problems;
        if t.regions.is_empty() {
            problems.push(format!("deployment target {i} has no Regions"));
        }
        for r in &t.regions {
            if !region.is_match(r) {
                problems.push(format!("deployment target {i}: {r:?} is not a Region name"));
            }
        }
        if self.self_managed {
            if !t.organizational_unit_ids.is_empty() {
                problems.push(format!(
                    "deployment target {i}: a self-managed StackSet deploys to accounts, not OUs; use DeploymentTarget::accounts or the service-managed permission model"
                ));
            }
            if t.accounts.is_empty() {
                problems.push(format!("deployment target {i} has no accounts"));
            }
        } else {
            if t.organizational_unit_ids.is_empty() {
                problems.push(format!(
                    "deployment target {i} has no organizational units; a service-managed StackSet deploys to OUs (ou-...) or the root (r-...)"
                ));
            }
            if !t.accounts.is_empty() {
                problems.push(format!(
                    "deployment target {i}: a service-managed StackSet deploys to OUs; list the accounts' OUs instead"
                ));
            }
        }
        for o in &t.organizational_unit_ids {
            if !ou.is_match(o) {
                problems.push(format!(
                    "deployment target {i}: {o:?} is not an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)"
                ));
            }
        }
        for a in &t.accounts {
            if !account.is_match(a) {
                problems.push(format!(
                    "deployment target {i}: {a:?} is not a 12-digit account id"
                ));
            }
        }
    }

    /// Auto-deployment and the caller (service-managed) or the administration and
    /// execution roles (self-managed).
    fn permissions(&mut self) {
        let props = self.props;
        match &props.permission_model {
            PermissionModel::ServiceManaged => {
                self.l1.auto_deployment = Some(
                    stack_set::AutoDeployment {
                        enabled: Some(props.auto_deployment.into()),
                        retain_stacks_on_account_removal: props
                            .auto_deployment
                            .then(|| props.retain_stacks_on_account_removal.into()),
                        ..Default::default()
                    }
                    .into(),
                );
                if props.delegated_admin {
                    self.l1.call_as = Some(stack_set::CallAs::DelegatedAdmin.into());
                }
            }
            PermissionModel::SelfManaged {
                administration_role_arn,
                execution_role_name,
            } => {
                if props.auto_deployment {
                    self.problems.push("auto-deployment needs the service-managed permission model; set auto_deployment: false".into());
                }
                if props.delegated_admin {
                    self.problems
                        .push("a delegated administrator can only call service-managed StackSets".into());
                }
                self.l1.administration_role_arn = administration_role_arn.clone().map(Into::into);
                self.l1.execution_role_name = execution_role_name.as_deref().map(Into::into);
            }
        }
    }

    /// The rollout: operation preferences, managed execution, capabilities.
    fn operations(&mut self) {
        let props = self.props;
        let op = &props.operation_preferences;
        if !(1..=100).contains(&op.max_concurrent_percentage) {
            self.problems.push(format!(
                "max_concurrent_percentage must be 1 to 100, got {}",
                op.max_concurrent_percentage
            ));
        }
        if !(0..=100).contains(&op.failure_tolerance_percentage) {
            self.problems.push(format!(
                "failure_tolerance_percentage must be 0 to 100, got {}",
                op.failure_tolerance_percentage
            ));
        }
        self.l1.operation_preferences = Some(
            stack_set::OperationPreferences {
                max_concurrent_percentage: Some(op.max_concurrent_percentage.into()),
                failure_tolerance_percentage: Some(op.failure_tolerance_percentage.into()),
                region_concurrency_type: Some(
                    match op.region_concurrency {
                        RegionConcurrency::Parallel => stack_set::RegionConcurrencyType::Parallel,
                        RegionConcurrency::Sequential => stack_set::RegionConcurrencyType::Sequential,
                    }
                    .into(),
                ),
                region_order: (!op.region_order.is_empty()).then(|| strings(&op.region_order)),
                concurrency_mode: Some(
                    if op.soft_failure_tolerance {
                        stack_set::ConcurrencyMode::SoftFailureTolerance
                    } else {
                        stack_set::ConcurrencyMode::StrictFailureTolerance
                    }
                    .into(),
                ),
                ..Default::default()
            }
            .into(),
        );
        self.l1.managed_execution = Some(
            stack_set::ManagedExecution {
                active: Some(props.managed_execution.into()),
            }
            .into(),
        );
        if !props.capabilities.is_empty() {
            self.l1.capabilities = Some(
                props
                    .capabilities
                    .iter()
                    .map(|c| Val::from(c.clone()))
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
    }

    /// The tags: the ordering tags (with every Region of the targets), then the others.
    fn tags(&mut self, regions: &[String]) {
        let props = self.props;
        let tags = &props.tags;
        for n in tags.depends_on.iter().chain(&tags.anti_depends_on) {
            if !stack_set_name_ok(n) {
                self.problems
                    .push(format!("tag names {n:?}, which is not a StackSet name"));
            }
        }
        let mut tag_list: Vec<(String, String)> = Vec::new();
        if let Some(v) = tags.depends_on_value() {
            tag_list.push((TAG_DEPENDS_ON.into(), v));
        }
        if let Some(v) = tags.anti_depends_on_value() {
            tag_list.push((TAG_ANTI_DEPENDS_ON.into(), v));
        }
        tag_list.push((TAG_MANDATORY.into(), tags.mandatory.to_string()));
        tag_list.push((TAG_SELF_HEALING.into(), tags.self_healing.to_string()));
        if let Some(v) = join_list(regions) {
            tag_list.push((TAG_REGION.into(), v));
        }
        for (k, v) in &props.extra_tags {
            if [
                TAG_DEPENDS_ON,
                TAG_ANTI_DEPENDS_ON,
                TAG_MANDATORY,
                TAG_SELF_HEALING,
                TAG_REGION,
            ]
            .contains(&k.as_str())
            {
                self.problems.push(format!(
                    "extra tag {k:?} is an ordering tag; set it through StackSetProps::tags"
                ));
                continue;
            }
            tag_list.push((k.clone(), v.clone()));
        }
        if tag_list.len() > 50 {
            self.problems
                .push(format!("{} tags, over the limit of 50", tag_list.len()));
        }
        for (k, v) in &tag_list {
            if let Some(p) = tag_problem(k, v) {
                self.problems.push(p);
            }
        }
        self.l1.tags = Some(
            tag_list
                .iter()
                .map(|(k, v)| stack_set::Tag::new(k.as_str(), v.as_str()).into())
                .collect::<Vec<_>>()
                .into(),
        );
    }
}

impl From<&StackSet> for NodeId {
    fn from(s: &StackSet) -> NodeId {
        s.node
    }
}

fn read_template(file: &Path) -> std::result::Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| {
        format!(
            "cannot read the StackSet template {}: {e}; check the path (relative paths are resolved from the working directory)",
            file.display()
        )
    })
}
