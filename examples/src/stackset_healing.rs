//! `stackset-healing`: self-healing StackSets at organisation scale, after the OTTO
//! solution. StackSets carry ordering tags (`dependson`, `antidependson`, `mandatory`,
//! `selfhealing`, `region`); cairn orders them at synthesis and writes the order into SSM,
//! and the `StackSetOrderRefresh` function writes it again from the StackSets' current
//! tags whenever a StackSet operation succeeds (tags are part of a StackSet: changing them
//! outside the app is an update operation), so the workflow follows tag changes; a daily
//! Step Functions workflow first deletes the instances of accounts that left the
//! organisation or are suspended (one StackSet at a time, polling each deletion, until
//! none is left), deploys the mandatory StackSets to every account of their OUs that has
//! no instance (checked per account and Region, not per OU), detects drift on the
//! self-healing ones, deletes and redeploys every drifted instance (keeping its parameter
//! overrides), publishes a dashboard behind CloudFront and notifies Microsoft Teams.
//!
//! Two stacks in the organisation's management (or StackSets delegated administrator)
//! account, in [`REGION`]:
//!
//! - `StackSetHealingOrg`: the five StackSets of [`STACK_SETS`] (service-managed,
//!   auto-deployment on, deployed to OUs, templates from
//!   `assets/stackset-healing/templates/`) and the order parameter [`ORDER_PARAMETER`].
//!   `config-recorder` and `config-recorder-legacy` exclude each other (one AWS Config
//!   recorder per Region) and target different OUs, so the plan has no conflict.
//! - `StackSetHealingWorkflow`: the state bucket (the 256 KB payload limit: states pass
//!   S3 keys, the run's state is `runs/<execution>/state.json`), one Python function per
//!   step (StackSetInitCleanup, MandatoryStackSetDeployment, StackSetDriftDetection,
//!   TriggerDriftStatus, SearchStackSetInstanceToHeal, StackSetCleanup, StatusPrepareHTML,
//!   TeamsNotification), each allowed only its calls on only the StackSets it works on; the
//!   state machine (every "until complete" loop a Wait and a Choice, every StackSet call
//!   retried with backoff on `OperationInProgressException` and `LimitExceededException`,
//!   failures caught and notified); the daily schedule; the dashboard bucket, private,
//!   readable only by the CloudFront distribution (origin access control, bucket policy
//!   on `AWS:SourceArn`), which serves only viewers from [`DASHBOARD_ALLOWED_CIDRS`] (a
//!   CloudFront Function on every viewer request, [`DASHBOARD_GUARD`]; everyone else gets
//!   403) and shows no account id (the last four digits only; the run state in the state
//!   bucket keeps them for the operators).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn::cloudformation::{
    stack_set::Capability, DeploymentTarget, StackSet, StackSetOrder, StackSetOrderProps, StackSetProps,
    StackSetTags, StackSetTemplate,
};
use cairn::cloudfront::{function, CfnFunction, Distribution, DistributionProps};
use cairn::events::{CronOptions, EventPattern, Rule, RuleProps, RuleTarget, Schedule, TargetInput};
use cairn::events_targets::SfnStateMachine;
use cairn::iam::PolicyStatement;
use cairn::lambda::{Code, Function, FunctionProps, Runtime};
use cairn::s3::{Bucket, BucketProps, LifecycleRule};
use cairn::secretsmanager::{Secret, SecretProps};
use cairn::stepfunctions::{
    Catch, Choice, Condition, Definition, DefinitionError, Fail, LogLevel, LogOptions, Params, Retry,
    StateMachine, StateMachineProps, StateRef, Succeed, Task, Wait,
};
use cairn::{App, Environment, Error, Output, Result, Stack, StackProps, Value};
use cairn_aspects::RuleSet;

/// The Region of both stacks (the StackSets' administration Region).
pub const REGION: &str = "us-east-1";

/// The stacks, in dependency order.
pub const STACKS: [&str; 2] = ["StackSetHealingOrg", "StackSetHealingWorkflow"];

/// The SSM parameter holding the order JSON.
pub const ORDER_PARAMETER: &str = "/stackset-healing/order";

/// The workload accounts' OU.
pub const WORKLOADS_OU: &str = "ou-h4lg-w0rkl0ad5";
/// The security accounts' OU.
pub const SECURITY_OU: &str = "ou-h4lg-s3cur1ty0";
/// The OU of accounts still on the former Config setup.
pub const LEGACY_OU: &str = "ou-h4lg-l3gacy000";
/// The organisation's OUs the StackSets deploy to (Organizations names them when they are
/// created: `ou-<root>-<id>`; [`Organization::default`] holds this example's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The workload accounts' OU.
    pub workloads_ou: String,
    /// The security accounts' OU.
    pub security_ou: String,
    /// The OU of accounts still on the former Config setup.
    pub legacy_ou: String,
}

impl Default for Organization {
    fn default() -> Self {
        Organization {
            workloads_ou: WORKLOADS_OU.into(),
            security_ou: SECURITY_OU.into(),
            legacy_ou: LEGACY_OU.into(),
        }
    }
}

/// The Regions the regional StackSets deploy to.
pub const MEMBER_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// One StackSet of the example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackSetDef {
    /// The StackSet name.
    pub name: &'static str,
    /// The template file, relative to [`TEMPLATES`].
    pub template: &'static str,
    /// The `mandatory` tag.
    pub mandatory: bool,
    /// The `selfhealing` tag.
    pub self_healing: bool,
    /// The `dependson` tag.
    pub depends_on: &'static [&'static str],
    /// The `antidependson` tag.
    pub anti_depends_on: &'static [&'static str],
}

const fn def(
    name: &'static str,
    template: &'static str,
    (mandatory, self_healing): (bool, bool),
    depends_on: &'static [&'static str],
    anti_depends_on: &'static [&'static str],
) -> StackSetDef {
    StackSetDef {
        name,
        template,
        mandatory,
        self_healing,
        depends_on,
        anti_depends_on,
    }
}

/// The StackSets.
pub const STACK_SETS: [StackSetDef; 5] = [
    def("baseline-iam", "baseline-iam.yaml", (true, true), &[], &[]),
    // Mandatory but not self-healing: a heal deletes the instance and deploys it again, and
    // its security log group is kept on deletion (DeletionPolicy Retain) under a fixed
    // name, so the new instance could not create it (the seed's exception to self-healing:
    // what must outlive its instance).
    def(
        "baseline-logging",
        "baseline-logging.yaml",
        (true, false),
        &["baseline-iam"],
        &[],
    ),
    def(
        "config-recorder",
        "config-recorder.yaml",
        (true, true),
        &["baseline-iam"],
        &["config-recorder-legacy"],
    ),
    def(
        "config-recorder-legacy",
        "config-recorder-legacy.yaml",
        (false, false),
        &[],
        &["config-recorder"],
    ),
    def(
        "budget-alarm",
        "budget-alarm.yaml",
        (false, true),
        &["baseline-logging"],
        &[],
    ),
];

/// The daily run: 05:00 UTC.
pub const SCHEDULE_HOUR_UTC: &str = "5";

/// Statuses of a StackSet operation that is not complete yet.
pub const RUNNING_STATUSES: [&str; 3] = ["RUNNING", "QUEUED", "STOPPING"];

/// The errors of StackSet calls retried with backoff (raised by the functions under these
/// names when CloudFormation answers with them).
pub const RETRIED_ERRORS: [&str; 3] = [
    "OperationInProgressException",
    "LimitExceededException",
    "StaleRequestException",
];

/// The function handlers (module.function), relative to [`LAMBDA_CODE`].
pub const HANDLERS: [(&str, &str); 8] = [
    ("StackSetInitCleanup", "init_cleanup.handler"),
    ("MandatoryStackSetDeployment", "mandatory_deployment.handler"),
    ("StackSetDriftDetection", "drift_detection.handler"),
    ("TriggerDriftStatus", "trigger_drift_status.handler"),
    ("SearchStackSetInstanceToHeal", "search_instance_to_heal.handler"),
    ("StackSetCleanup", "stackset_cleanup.handler"),
    ("StatusPrepareHTML", "status_html.handler"),
    ("TeamsNotification", "teams_notification.handler"),
];

/// The networks (IPv4 CIDRs) the dashboard is served to: the organisation's offices and
/// VPN (documentation ranges here; replace them with yours).
pub const DASHBOARD_ALLOWED_CIDRS: [&str; 2] = ["198.51.100.0/24", "203.0.113.0/24"];

/// The dashboard's viewer-request CloudFront Function (JavaScript), relative to
/// [`assets_dir`]; `__ALLOWED_CIDRS__` in it becomes [`DASHBOARD_ALLOWED_CIDRS`].
pub const DASHBOARD_GUARD: &str = "dashboard/allow-list.js";

/// The function that writes the order parameter again from the StackSets' current tags
/// (module.function, relative to [`LAMBDA_CODE`]), run by the rule [`ORDER_REFRESH_RULE`].
pub const ORDER_REFRESH_HANDLER: (&str, &str) = ("StackSetOrderRefresh", "order_refresh.handler");

/// The rule that runs [`ORDER_REFRESH_HANDLER`] when a StackSet operation succeeds.
pub const ORDER_REFRESH_RULE: &str = "OrderRefreshOnSuccess";

/// The functions' package, relative to [`assets_dir`].
pub const LAMBDA_CODE: &str = "lambda";
/// The StackSet templates, relative to [`assets_dir`].
pub const TEMPLATES: &str = "templates";

/// `examples/assets/stackset-healing`.
pub fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join("stackset-healing")
}

fn stack(app: &mut App, id: &str, description: &str) -> Result<Stack> {
    let root = app.root();
    app.stack_with(
        root,
        id,
        StackProps {
            env: Some(Environment {
                account: None,
                region: Some(REGION.into()),
            }),
            description: Some(description.into()),
            ..StackProps::default()
        },
    )
}

/// The StackSets and their order.
fn org_stack(app: &mut App, org: &Organization) -> Result<(Vec<StackSet>, StackSetOrder)> {
    let stack = stack(
        app,
        STACKS[0],
        "stackset-healing: the organisation's StackSets and their deployment order",
    )?;
    let mut sets = Vec::new();
    for StackSetDef {
        name,
        template: file,
        mandatory,
        self_healing,
        depends_on,
        anti_depends_on: anti,
    } in STACK_SETS
    {
        let regional = || MEMBER_REGIONS.to_vec();
        let (workloads, security, legacy) = (
            org.workloads_ou.as_str(),
            org.security_ou.as_str(),
            org.legacy_ou.as_str(),
        );
        let (targets, parameters, capabilities): (Vec<DeploymentTarget>, Vec<(&str, &str)>, Vec<Capability>) =
            match name {
                // IAM and Budgets are global: one Region.
                "baseline-iam" => (
                    vec![DeploymentTarget::new([workloads, security], [REGION])],
                    vec![("SecurityAccountId", "111111111111")],
                    vec![Capability::CapabilityIam],
                ),
                "baseline-logging" => (
                    vec![
                        DeploymentTarget::new([workloads], regional()),
                        // Security accounts keep their logs for ten years.
                        DeploymentTarget::new([security], regional())
                            .parameter_override("LogRetentionDays", "3653"),
                    ],
                    vec![],
                    vec![],
                ),
                "config-recorder" => (
                    vec![DeploymentTarget::new([workloads, security], regional())],
                    vec![("ConfigBucketName", "org-config-archive-111111111111")],
                    vec![],
                ),
                "config-recorder-legacy" => (
                    vec![DeploymentTarget::new([legacy], [REGION])],
                    vec![("ConfigBucketName", "org-config-archive-111111111111")],
                    vec![],
                ),
                _ => (
                    vec![DeploymentTarget::new([workloads], [REGION])],
                    vec![("NotificationEmail", "cloud-costs@example.com")],
                    vec![],
                ),
            };
        let id: String = name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        sets.push(StackSet::new(
            app,
            stack,
            &id,
            StackSetProps {
                description: Some(format!("stackset-healing: {name}")),
                parameters: parameters
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                capabilities,
                tags: StackSetTags {
                    mandatory,
                    self_healing,
                    ..StackSetTags::default()
                }
                .depends_on(depends_on.iter().copied())
                .anti_depends_on(anti.iter().copied()),
                ..StackSetProps::new(
                    name,
                    StackSetTemplate::file(assets_dir().join(TEMPLATES).join(file)),
                    targets,
                )
            },
        )?);
    }
    let order = StackSetOrder::new(
        app,
        stack,
        "Order",
        StackSetOrderProps {
            description: Some("stackset-healing: StackSet deployment order and conflicts (JSON)".into()),
            ..StackSetOrderProps::new(ORDER_PARAMETER, &sets)
        },
    )?;
    Ok((sets, order))
}

/// The workflow's functions, in [`HANDLERS`] order.
struct Functions {
    init: Function,
    mandatory: Function,
    drift: Function,
    status: Function,
    search: Function,
    cleanup: Function,
    html: Function,
    teams: Function,
}

/// Read calls of AWS Organizations. They name the organisation's root, OUs and accounts
/// by ARNs that hold the organisation id, unknown at synthesis; `ListAccounts` has no
/// resource-level permissions at all: `*`.
fn organizations_read(actions: &[&str]) -> PolicyStatement {
    PolicyStatement::allow()
        .actions(actions.iter().copied())
        .resource(Value::from("*"))
}

/// `s3:GetObject`/`s3:PutObject` on the run state (`runs/*`).
fn state_read_write(bucket: &Bucket) -> PolicyStatement {
    PolicyStatement::allow()
        .actions(["s3:GetObject", "s3:PutObject"])
        .resource(bucket.arn_for_objects("runs/*"))
}

fn functions(
    app: &mut App,
    stack: Stack,
    sets: &[StackSet],
    order: &StackSetOrder,
    state: &Bucket,
    dashboard: &Bucket,
    dashboard_url: Value,
) -> Result<Functions> {
    let code = assets_dir().join(LAMBDA_CODE);
    let mut made = Vec::new();
    for (id, handler) in HANDLERS {
        let mut env = vec![("STATE_BUCKET", state.bucket_name())];
        match id {
            // Only the first step reads the order; the others read it from the run state.
            "StackSetInitCleanup" => env.push(("ORDER_PARAMETER", Value::from(ORDER_PARAMETER))),
            "StatusPrepareHTML" => env.push(("DASHBOARD_BUCKET", dashboard.bucket_name())),
            _ => {}
        }
        made.push(Function::new(
            app,
            stack,
            id,
            FunctionProps {
                description: Some(format!("stackset-healing: {id}")),
                timeout: Some(Duration::from_secs(300)),
                memory_size: Some(256),
                environment: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                ..FunctionProps::new(Runtime::Python3_12, handler, Code::from_asset(&code))
            },
        )?);
    }
    for function in &made {
        crate::answer_checks(
            app,
            function.node(),
            &[(
                "CKV_AWS_116",
                "Invoked synchronously by the workflow's state machine: a failure returns to the execution, which retries StackSet throttling and catches the rest; a dead-letter queue only receives failed asynchronous invocations",
            )],
        )?;
    }
    let f = Functions {
        init: made[0],
        mandatory: made[1],
        drift: made[2],
        status: made[3],
        search: made[4],
        cleanup: made[5],
        html: made[6],
        teams: made[7],
    };
    let mandatory: Vec<&StackSet> = sets.iter().filter(|s| s.spec().tags.mandatory).collect();
    let healing: Vec<&StackSet> = sets.iter().filter(|s| s.spec().tags.self_healing).collect();
    let list = ["cloudformation:ListStackInstances"];
    let on = |of: &[&StackSet]| of.iter().map(|s| s.stack_set_arn()).collect::<Vec<_>>();
    let all: Vec<&StackSet> = sets.iter().collect();

    // StackSetInitCleanup: empties this execution's prefix, reads the order, lists instances.
    let role = f.init.role();
    order.grant_read(app, &role)?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["s3:ListBucket"])
            .resource(state.arn())
            .condition("StringLike", "s3:prefix", Value::from("runs/*")),
    )?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["s3:PutObject", "s3:DeleteObject"])
            .resource(state.arn_for_objects("runs/*")),
    )?;
    role.add_to_policy(app, PolicyStatement::allow().actions(list).resources(on(&all)))?;
    // ... reads the run state back on the calls after the first, lists the organisation's
    // accounts and deletes the instances of those that left it or are suspended.
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["s3:GetObject"])
            .resource(state.arn_for_objects("runs/*")),
    )?;
    role.add_to_policy(app, organizations_read(&["organizations:ListAccounts"]))?;
    for s in &all {
        s.grant_instance_actions(app, &role, ["cloudformation:DeleteStackInstances"])?;
    }

    // MandatoryStackSetDeployment: creates instances of the mandatory StackSets only, in
    // the accounts of their OUs that have none.
    let role = f.mandatory.role();
    role.add_to_policy(app, state_read_write(state))?;
    role.add_to_policy(
        app,
        PolicyStatement::allow().actions(list).resources(on(&mandatory)),
    )?;
    role.add_to_policy(
        app,
        organizations_read(&[
            "organizations:ListAccountsForParent",
            "organizations:ListChildren",
        ]),
    )?;
    for s in &mandatory {
        s.grant_create_instances(app, &role)?;
    }

    // StackSetDriftDetection: drift detection on the self-healing StackSets.
    let role = f.drift.role();
    role.add_to_policy(app, state_read_write(state))?;
    for s in &healing {
        s.grant_detect_drift(app, &role)?;
    }

    // TriggerDriftStatus: the status of any operation the workflow started.
    let role = f.status.role();
    role.add_to_policy(app, state_read_write(state))?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["cloudformation:DescribeStackSetOperation"])
            .resources(on(&all)),
    )?;

    // SearchStackSetInstanceToHeal: lists drifted instances of the self-healing StackSets.
    let role = f.search.role();
    role.add_to_policy(app, state_read_write(state))?;
    role.add_to_policy(
        app,
        PolicyStatement::allow().actions(list).resources(on(&healing)),
    )?;

    // StackSetCleanup: reads an instance's overrides, deletes and recreates it.
    let role = f.cleanup.role();
    role.add_to_policy(app, state_read_write(state))?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["cloudformation:DescribeStackInstance"])
            .resources(on(&healing)),
    )?;
    for s in &healing {
        s.grant_instance_actions(
            app,
            &role,
            [
                "cloudformation:DeleteStackInstances",
                "cloudformation:CreateStackInstances",
            ],
        )?;
    }

    // StatusPrepareHTML: reads the run, lists instances, writes the two dashboard objects.
    let role = f.html.role();
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["s3:GetObject"])
            .resource(state.arn_for_objects("runs/*")),
    )?;
    role.add_to_policy(app, PolicyStatement::allow().actions(list).resources(on(&all)))?;
    role.add_to_policy(
        app,
        PolicyStatement::allow().actions(["s3:PutObject"]).resources([
            dashboard.arn_for_objects("index.html"),
            dashboard.arn_for_objects("status.json"),
        ]),
    )?;

    // TeamsNotification: the webhook URL.
    let webhook = Secret::new(
        app,
        stack,
        "TeamsWebhookUrl",
        SecretProps {
            description: Some(
                "Microsoft Teams incoming webhook URL of the StackSet healing notifications: replace the generated value with https://...webhook.office.com/..."
                    .into(),
            ),
            ..SecretProps::default()
        },
    )?;
    webhook.grant_read(app, &f.teams)?;
    crate::answer_checks(
        app,
        webhook.node(),
        &[(
            "CKV_AWS_149",
            "Encrypted with the AWS managed key aws/secretsmanager: only the TeamsNotification function's role may read it, and the secret is never shared with another account, the case that needs a customer-managed key policy",
        )],
    )?;
    f.teams
        .add_environment(app, "WEBHOOK_SECRET_ARN", webhook.secret_arn())?;
    f.teams.add_environment(app, "DASHBOARD_URL", dashboard_url)?;
    Ok(f)
}

/// A Lambda step: `payload` in, the `Payload` fields `fields` at `result_path`, StackSet
/// throttling retried with backoff, any other failure caught.
fn step(name: &str, f: &Function, payload: Params, fields: &[&str], result_path: &str) -> Task {
    let mut selector = Params::new();
    for field in fields {
        selector = selector.path(field, &format!("$.Payload.{field}"));
    }
    Task::invoke(name, f)
        .payload(payload)
        .result_selector(selector)
        .result_path(result_path)
        .timeout_seconds(330)
        .retry(concurrency_retry())
}

/// StackSets allow a limited number of concurrent operations: back off and try again,
/// 30 s doubling up to 10 minutes, eight attempts, with jitter.
pub fn concurrency_retry() -> Retry {
    Retry::on(RETRIED_ERRORS)
        .interval_seconds(30)
        .backoff_rate(2.0)
        .max_attempts(8)
        .max_delay_seconds(600)
        .jitter(true)
}

fn state_key() -> Params {
    Params::new().path("stateKey", "$.run.stateKey")
}

fn operation_running() -> Condition {
    Condition::or(
        RUNNING_STATUSES
            .iter()
            .map(|s| Condition::string_equals("$.operation.status", s)),
    )
}

/// The states that wait for a StackSet operation: a wait, the status check of the
/// operation whose id is at `operation_id` on the StackSet named at `stack_set`, and a
/// choice that loops back to the wait while the operation runs. Returns the wait (where the
/// loop is entered) and the choice (whose other outcomes the caller routes).
fn await_operation(
    def: &mut Definition,
    f: &Functions,
    catch: &dyn Fn() -> Catch,
    [wait, status, done]: [&str; 3],
    wait_seconds: u32,
    stack_set: &str,
    operation_id: &str,
) -> std::result::Result<(StateRef<Wait>, StateRef<Choice>), DefinitionError> {
    let wait = def.add(Wait::seconds(wait, wait_seconds))?;
    let status = def.add(
        step(
            status,
            &f.status,
            state_key()
                .path("stackSetName", stack_set)
                .path("operationId", operation_id),
            &["status"],
            "$.operation",
        )
        .catch(catch()),
    )?;
    let done = def.add(Choice::new(done))?;
    def.chain(wait).next(status)?.next(done)?;
    def.when(done, operation_running(), wait)?;
    Ok((wait, done))
}

/// The workflow.
fn definition(f: &Functions) -> std::result::Result<Definition, DefinitionError> {
    let mut def = Definition::new();
    def.set_comment(
        "stackset-healing: mandatory StackSets deployed where missing, drift detected on self-healing StackSets, drifted instances deleted and redeployed with their overrides, dashboard published, Teams notified",
    );
    let failed = def.add(
        Fail::new("HealingFailed")
            .error("StackSetHealing.Failed")
            .cause("A step failed; see the execution's events and the Teams notification."),
    )?;
    let notify_failure = def.add(
        Task::invoke("NotifyFailure", &f.teams)
            .payload(Params::new().path("error", "$.error"))
            .discard_result()
            .timeout_seconds(60)
            .catch(Catch::all(failed).result_path("$.notifyError")),
    )?;
    def.chain(notify_failure).next(failed)?;
    let catch = || Catch::all(notify_failure).result_path("$.error");

    // Instances of accounts that left the organisation or are suspended: deleted, one
    // StackSet at a time, until none is left.
    let cleanup_fields = ["stateKey", "done", "stackSetName", "operationId"];
    let init = def.add(
        step(
            "InitCleanup",
            &f.init,
            Params::new().path("executionId", "$$.Execution.Name"),
            &cleanup_fields,
            "$.run",
        )
        .catch(catch()),
    )?;
    let init_done = def.add(Choice::new("InitCleanupDone?"))?;
    let (wait_cleanup, cleanup_done) = await_operation(
        &mut def,
        f,
        &catch,
        ["WaitForCleanup", "CleanupStatus", "CleanupComplete?"],
        30,
        "$.run.stackSetName",
        "$.run.operationId",
    )?;
    let continue_cleanup = def.add(
        step(
            "ContinueCleanup",
            &f.init,
            Params::new()
                .path("executionId", "$$.Execution.Name")
                .path("stateKey", "$.run.stateKey"),
            &cleanup_fields,
            "$.run",
        )
        .catch(catch()),
    )?;

    // Mandatory StackSets, in order, until every one is deployed everywhere.
    let deploy = def.add(
        step(
            "DeployMandatoryStackSet",
            &f.mandatory,
            state_key(),
            &["done", "stackSetName", "operationId"],
            "$.deploy",
        )
        .catch(catch()),
    )?;
    let deploy_started = def.add(Choice::new("MandatoryDeploymentsDone?"))?;
    let (wait_deploy, deploy_done) = await_operation(
        &mut def,
        f,
        &catch,
        ["WaitForDeployment", "DeploymentStatus", "DeploymentComplete?"],
        60,
        "$.deploy.stackSetName",
        "$.deploy.operationId",
    )?;

    // Self-healing StackSets, in order: drift detection until complete.
    let detect = def.add(
        step(
            "DetectDrift",
            &f.drift,
            state_key(),
            &["done", "stackSetName", "operationId"],
            "$.drift",
        )
        .catch(catch()),
    )?;
    let detect_started = def.add(Choice::new("DriftDetectionsDone?"))?;
    let (wait_drift, drift_done) = await_operation(
        &mut def,
        f,
        &catch,
        [
            "WaitForDriftDetection",
            "DriftDetectionStatus",
            "DriftDetectionComplete?",
        ],
        60,
        "$.drift.stackSetName",
        "$.drift.operationId",
    )?;
    let search = def.add(
        step(
            "SearchInstancesToHeal",
            &f.search,
            state_key().path("stackSetName", "$.drift.stackSetName"),
            &["count", "healKey"],
            "$.search",
        )
        .catch(catch()),
    )?;
    let any_drifted = def.add(Choice::new("AnyInstanceToHeal?"))?;

    // Each drifted instance: delete (overrides cached), until complete; redeploy, until complete.
    let cleanup = def.add(
        step(
            "DeleteDriftedInstance",
            &f.cleanup,
            state_key()
                .path("stackSetName", "$.drift.stackSetName")
                .set("action", "delete"),
            &["done", "operationId"],
            "$.heal",
        )
        .catch(catch()),
    )?;
    let instance_left = def.add(Choice::new("InstancesHealed?"))?;
    let (wait_delete, delete_done) = await_operation(
        &mut def,
        f,
        &catch,
        ["WaitForDeletion", "DeletionStatus", "DeletionComplete?"],
        30,
        "$.drift.stackSetName",
        "$.heal.operationId",
    )?;
    let redeploy = def.add(
        step(
            "RedeployInstance",
            &f.cleanup,
            state_key()
                .path("stackSetName", "$.drift.stackSetName")
                .set("action", "redeploy"),
            &["done", "operationId"],
            "$.heal",
        )
        .catch(catch()),
    )?;
    let (wait_redeploy, redeploy_done) = await_operation(
        &mut def,
        f,
        &catch,
        [
            "WaitForRedeployment",
            "RedeploymentStatus",
            "RedeploymentComplete?",
        ],
        30,
        "$.drift.stackSetName",
        "$.heal.operationId",
    )?;

    // Report.
    let prepare = def.add(
        step(
            "PrepareStatus",
            &f.html,
            state_key(),
            &["stackSets", "healed", "inoperable", "failedOperations"],
            "$.summary",
        )
        .catch(catch()),
    )?;
    let notify = def.add(
        Task::invoke("NotifyTeams", &f.teams)
            .payload(Params::new().path("summary", "$.summary"))
            .discard_result()
            .timeout_seconds(60)
            .catch(catch()),
    )?;
    let done = def.add(Succeed::new("HealingDone"))?;

    def.chain(init).next(init_done)?;
    def.when(init_done, Condition::boolean_equals("$.run.done", true), deploy)?;
    def.otherwise(init_done, wait_cleanup)?;
    def.otherwise(cleanup_done, continue_cleanup)?;
    def.chain(continue_cleanup).next(init_done)?;
    def.chain(deploy).next(deploy_started)?;
    def.when(
        deploy_started,
        Condition::boolean_equals("$.deploy.done", true),
        detect,
    )?;
    def.otherwise(deploy_started, wait_deploy)?;
    def.otherwise(deploy_done, deploy)?;

    def.chain(detect).next(detect_started)?;
    def.when(
        detect_started,
        Condition::boolean_equals("$.drift.done", true),
        prepare,
    )?;
    def.otherwise(detect_started, wait_drift)?;
    def.otherwise(drift_done, search)?;
    def.chain(search).next(any_drifted)?;
    def.when(
        any_drifted,
        Condition::numeric_greater_than("$.search.count", 0),
        cleanup,
    )?;
    def.otherwise(any_drifted, detect)?;

    def.chain(cleanup).next(instance_left)?;
    def.when(
        instance_left,
        Condition::boolean_equals("$.heal.done", true),
        detect,
    )?;
    def.otherwise(instance_left, wait_delete)?;
    def.when(
        delete_done,
        Condition::string_equals("$.operation.status", "SUCCEEDED"),
        redeploy,
    )?;
    // A failed deletion is recorded (TriggerDriftStatus) and the next instance follows.
    def.otherwise(delete_done, cleanup)?;
    def.chain(redeploy).next(wait_redeploy)?;
    def.otherwise(redeploy_done, cleanup)?;

    def.chain(prepare).next(notify)?.next(done)?;
    def.start_at(init)?;
    Ok(def)
}

/// The order, recomputed when a StackSet operation succeeds: the function lists the
/// account's StackSets, reads their tags and auto-deployment targets, and overwrites the
/// order parameter (cairn's algorithm, the same JSON).
fn order_refresh(app: &mut App, stack: Stack, order: &StackSetOrder) -> Result<Function> {
    let (id, handler) = ORDER_REFRESH_HANDLER;
    // Invoked asynchronously by the rule below: what Lambda gives up on is kept.
    let failures = crate::dead_letter_queue(app, stack, "OrderRefreshFailures")?;
    let refresh = Function::new(
        app,
        stack,
        id,
        FunctionProps {
            description: Some(
                "stackset-healing: writes the StackSet order again from the StackSets' current tags".into(),
            ),
            timeout: Some(Duration::from_secs(120)),
            memory_size: Some(256),
            dead_letter_queue: Some(failures.into()),
            environment: [("ORDER_PARAMETER".to_string(), Value::from(ORDER_PARAMETER))]
                .into_iter()
                .collect(),
            ..FunctionProps::new(
                Runtime::Python3_12,
                handler,
                Code::from_asset(assets_dir().join(LAMBDA_CODE)),
            )
        },
    )?;
    let role = refresh.role();
    // ListStackSets has no resource-level permissions; the others are read on every
    // StackSet of the account (tags may be added to any of them).
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["cloudformation:ListStackSets"])
            .resource(Value::from("*")),
    )?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions([
                "cloudformation:DescribeStackSet",
                "cloudformation:ListStackSetAutoDeploymentTargets",
            ])
            .resource(Value::sub(
                "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stackset/*",
            )),
    )?;
    order.parameter().grant_write(app, &role)?;
    let rule = Rule::new(
        app,
        stack,
        ORDER_REFRESH_RULE,
        RuleProps {
            description: Some("Writes the StackSet order again when a StackSet operation succeeds".into()),
            ..RuleProps::pattern(EventPattern {
                source: vec!["aws.cloudformation".into()],
                detail_type: vec!["CloudFormation StackSet Operation Status Change".into()],
                detail: Some(serde_json::json!({ "status": ["SUCCEEDED"] })),
                ..EventPattern::default()
            })
        },
    )?;
    rule.add_target(app, refresh)?;
    Ok(refresh)
}

fn workflow_stack(app: &mut App, sets: &[StackSet], order: &StackSetOrder) -> Result<StateMachine> {
    let stack = stack(
        app,
        STACKS[1],
        "stackset-healing: the daily self-healing workflow, its functions and the status dashboard",
    )?;
    let path = app.path(stack.node());
    let invalid = |problem: String| Error::InvalidProps {
        path: path.clone(),
        problem,
    };
    let state = Bucket::new(
        app,
        stack,
        "StateBucket",
        BucketProps {
            lifecycle_rules: vec![LifecycleRule {
                id: Some("ExpireRuns".into()),
                prefix: Some("runs/".into()),
                expiration_days: Some(30),
                noncurrent_version_expiration_days: Some(7),
                abort_incomplete_multipart_upload_days: Some(1),
                ..LifecycleRule::default()
            }],
            ..BucketProps::default()
        },
    )?;
    let dashboard = Bucket::new(app, stack, "DashboardBucket", BucketProps::default())?;
    // Only the allowed networks see the dashboard (IPv4: the allow-list is IPv4).
    let guard_file = assets_dir().join(DASHBOARD_GUARD);
    let guard_code = std::fs::read_to_string(&guard_file).map_err(|e| {
        invalid(format!(
            "cannot read the dashboard's CloudFront Function {}: {e}",
            guard_file.display()
        ))
    })?;
    let allowed = serde_json::to_string(&DASHBOARD_ALLOWED_CIDRS)
        .map_err(|e| invalid(format!("the allowed networks are not JSON: {e}")))?;
    let mut guard = CfnFunction::new(
        guard_code.replace("__ALLOWED_CIDRS__", &allowed),
        function::FunctionConfig::new(
            "stackset-healing: serves the dashboard to the allowed networks only",
            function::Runtime::CloudfrontJs20,
        ),
        Value::sub("${AWS::StackName}-dashboard-allow-list"),
    );
    guard.auto_publish = Some(true.into());
    let guard = app.add(stack, "DashboardGuard", guard)?;
    let cdn = Distribution::new(
        app,
        stack,
        "Dashboard",
        DistributionProps {
            comment: Some("stackset-healing status dashboard".into()),
            viewer_request_function: Some(guard.attr_function_arn()),
            ipv6: false,
            ..DistributionProps::new(dashboard)
        },
    )?;
    let f = functions(app, stack, sets, order, &state, &dashboard, cdn.url())?;

    // checkov's checks that this system answers rather than fixes.
    crate::answer_checks(
        app,
        cdn.node(),
        &[
            (
                "CKV_AWS_68",
                "The dashboard is two static objects with no input handling, served only to the allow-listed networks by the viewer-request CloudFront Function; a WAF web ACL would filter nothing that function does not already refuse",
            ),
            (
                "CKV_AWS_86",
                "The dashboard serves two static, read-only status objects to the allow-listed operator networks; CloudFront standard logs would need a log bucket with ACLs enabled to record reads of a page that changes nothing",
            ),
            (
                "CKV_AWS_174",
                "The distribution uses the default *.cloudfront.net certificate, with which CloudFront fixes the minimum protocol itself and ignores MinimumProtocolVersion; with a custom domain and an ACM certificate, set TLSv1.2_2021",
            ),
        ],
    )?;
    crate::answer_checks(
        app,
        state.node(),
        &[(
            "CKV_AWS_18",
            "Holds only the workflow's intermediate run state, expiring after 30 days, written and read by the workflow's own function roles; object-level access is recorded by CloudTrail data events where the account enables them, so a second log bucket adds nothing",
        )],
    )?;
    crate::answer_checks(
        app,
        dashboard.node(),
        &[(
            "CKV_AWS_18",
            "Private origin of the dashboard: read only by CloudFront through origin access control and written only by the StatusPrepareHTML function; it holds no data beyond the published status page",
        )],
    )?;
    crate::answer_checks(
        app,
        stack,
        &[
            ("CKV_AWS_117", crate::lambda_reasons::OUTSIDE_VPC),
            ("CKV_AWS_115", crate::lambda_reasons::NO_RESERVED_CONCURRENCY),
            ("CKV_AWS_173", crate::lambda_reasons::ENV_WITHOUT_CMK),
        ],
    )?;
    order_refresh(app, stack, order)?;
    let definition = definition(&f).map_err(|e| invalid(e.to_string()))?;
    let machine = StateMachine::new(
        app,
        stack,
        "StateMachine",
        StateMachineProps {
            timeout: Some(Duration::from_secs(23 * 3600)),
            logs: Some(LogOptions {
                level: LogLevel::All,
                ..LogOptions::default()
            }),
            ..StateMachineProps::new(definition)
        },
    )?;
    let daily = Rule::new(
        app,
        stack,
        "Daily",
        RuleProps {
            description: Some("Runs the StackSet self-healing workflow every day".into()),
            ..RuleProps::schedule(Schedule::cron(CronOptions {
                minute: Some("0".into()),
                hour: Some(SCHEDULE_HOUR_UTC.into()),
                ..CronOptions::default()
            }))
        },
    )?;
    daily.add_target(
        app,
        SfnStateMachine::new(machine.state_machine_arn()).with_input(TargetInput::transformer(
            [("time", "$.time")],
            r#"{"trigger": "schedule", "time": <time>}"#,
        )),
    )?;
    app.output(
        stack,
        "DashboardUrl",
        Output::new(cdn.url()).description("The StackSet status dashboard"),
    )?;
    app.output(
        stack,
        "StateMachineArn",
        Output::new(machine.state_machine_arn())
            .description("Start an execution to run the self-healing workflow now"),
    )?;
    Ok(machine)
}

/// Builds the `stackset-healing` app for this example's organisation
/// ([`Organization::default`]).
pub fn build() -> Result<App> {
    build_with(&Organization::default())
}

/// Builds the `stackset-healing` app for the organisation whose OUs are `org`'s.
///
/// ```
/// use examples::stackset_healing::{build_with, Organization};
/// let org = Organization {
///     workloads_ou: "ou-ab12-workload1".into(),
///     ..Organization::default()
/// };
/// let assembly = build_with(&org)?.synth()?;
/// assert!(assembly.stacks().iter().any(|s| s.template_json().contains("ou-ab12-workload1")));
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn build_with(org: &Organization) -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());
    let (sets, order) = org_stack(&mut app, org)?;
    workflow_stack(&mut app, &sets, &order)?;
    let root = app.root();
    RuleSet::recommended().apply(&mut app, root);
    Ok(app)
}
