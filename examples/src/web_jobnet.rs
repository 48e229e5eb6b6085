//! `web-jobnet`: the start/stop job net of a three-tier web system, as operations
//! teams run it (a "ジョブネット": ordered steps, each checked before the next): Step
//! Functions state machines call small Lambda functions that drive EC2, SSM Run Command,
//! Aurora, the load balancer and AWS Backup, and every finished run is posted to Slack.
//!
//! Four stacks in `ap-northeast-1` (account-agnostic); every value one stack needs from
//! another is a plain reference that synthesis turns into an export and an import:
//!
//! - `WebJobnetWeb`: a VPC (public, private and isolated subnets in two AZs, two NAT
//!   gateways, flow logs to an encrypted log group through their own role); an
//!   internet-facing ALB (access logs to an encrypted, TLS-only bucket) with an HTTP
//!   listener on port 80 forwarding to a target group with a health check on
//!   `/health.html`; two web servers in the private subnets (Amazon Linux 2023, user
//!   data [`USER_DATA`] installing httpd, its start/stop/check scripts and the CloudWatch
//!   agent); security groups chained ALB -> web (80) -> database (3306); the database
//!   credentials in Secrets Manager (readable by the web servers); an encrypted Aurora
//!   MySQL cluster in the isolated subnets; the CloudWatch agent configuration
//!   ([`CLOUDWATCH_AGENT_CONFIG`]) as an SSM parameter and the log groups it writes to;
//!   a backup vault (with its key) and the role AWS Backup uses.
//! - `WebJobnetFunctions`: one Python 3.12 function per operation (all handlers in one
//!   package, [`LAMBDA_CODE`]): start/stop/describe instance, start/stop/describe
//!   database cluster, run the httpd scripts (SSM `SendCommand`) and read the result,
//!   put the maintenance rule on the listener and take it off, describe target health,
//!   start a backup job, and notify Slack (the webhook URL is a secret). Each role may do
//!   just its operation on just the job net's resources (`ec2:StopInstances` on the two
//!   instances' ARNs ...); `*` only for the describe calls that have no resource-level
//!   permissions.
//! - `WebJobnetStop`: maintenance page on; for each web server (two at a time) stop httpd
//!   through Run Command and poll the command, stop the instance and poll it, then back it
//!   up (an AMI, through AWS Backup) and poll `DescribeBackupJob` until the job has
//!   completed (a web server already stopped is only backed up); back up the database the
//!   same way and stop it once its backup has completed, polling until it is stopped (a
//!   database already stopped is left alone). A backup job that fails, is aborted or
//!   expires ends the run in a named `Fail` state (`WebServerBackupFailed`,
//!   `DatabaseBackupFailed`).
//! - `WebJobnetStart`: the reverse: start the database and poll it; for each web server
//!   (two at a time) start it, poll it, start httpd and poll the command; wait until
//!   every target is healthy; maintenance page off.
//!
//! Both state machines log every event (`ALL`) to an encrypted log group, fail with a
//! named error when a step does, and time out after two hours (the polling loops are
//! bounded by that). An EventBridge rule per state machine sends its `SUCCEEDED`,
//! `FAILED`, `TIMED_OUT` and `ABORTED` executions to the notifier, and a scheduled rule
//! per state machine starts it ([`Schedules`]: weekday nights and mornings in Japan by
//! default, set with the context keys [`STOP_SCHEDULE_CONTEXT`] and
//! [`START_SCHEDULE_CONTEXT`], e.g. `--context web-jobnet:stopSchedule='cron(0 12 ? * * *)'`).
//! Every stack carries the tags [`TAGS`], which CloudFormation puts on every resource.
//!
//! The listener is plain HTTP on port 80 because the example has no certificate; with one,
//! use `ListenerProps::https` on 443 and redirect 80 to it (the allow-list below follows
//! whatever ports the ALB opens). The ALB's security group tells checkov why port 80 is
//! open (a `checkov.skip` of `CKV_AWS_260` with the reason in its metadata). The recommended rules run over the whole app with the
//! ALB's public ports allow-listed, and every property is checked against its schema.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::lambda_reasons;
use cairn::aspects::rules::NoPublicIngress;
use cairn::aspects::{Mode, RuleSet};
use cairn::ec2::{
    FlowLogOptions, Instance, InstanceProps, MachineImage, SecurityGroup, SecurityGroupProps,
    SubnetConfiguration, UserData, Vpc, VpcProps,
};
use cairn::elbv2::{
    AccessLogs, ApplicationListener, ApplicationLoadBalancer, ApplicationLoadBalancerProps,
    ApplicationTargetGroup, ApplicationTargetGroupProps, HealthCheck, ListenerAction, ListenerProps, Target,
};
use cairn::events::{rule, CfnRule, Rule, RuleProps, Schedule};
use cairn::events_targets::SfnStateMachine;
use cairn::iam::{PolicyStatement, Principal, Role, RoleProps};
use cairn::kms::{Key, KeyProps};
use cairn::lambda::{CfnPermission, Code, Function, FunctionProps, Runtime};
use cairn::logs::{LogGroup, LogGroupProps};
use cairn::rds::{Credentials, DatabaseCluster, DatabaseClusterProps};
use cairn::secretsmanager::{Secret, SecretProps, SecretStringGenerator};
use cairn::ssm::{StringParameter, StringParameterProps};
use cairn::stepfunctions::{
    Catch, Choice, Condition, Definition, DefinitionError, Fail, LogLevel, LogOptions, Map, Params, Pass,
    Retry, StateId, StateMachine, StateMachineProps, StateRef, Succeed, Task, Wait,
};
use cairn::{App, CfnResource, Context, Environment, Error, Output, Result, Stack, StackProps, Value};

/// The Region every stack deploys to (the ALB's access log bucket policy names the
/// Region's Elastic Load Balancing account).
pub const REGION: &str = "ap-northeast-1";

/// The stacks, in dependency order.
pub const STACKS: [&str; 4] = [
    "WebJobnetWeb",
    "WebJobnetFunctions",
    "WebJobnetStop",
    "WebJobnetStart",
];

/// The name of the SSM parameter holding the CloudWatch agent configuration; the user
/// data fetches it by this name (`AmazonCloudWatch-` names are also readable under the
/// `CloudWatchAgentServerPolicy` managed policy).
pub const CLOUDWATCH_AGENT_PARAMETER: &str = "AmazonCloudWatch-web-jobnet";

/// The listener rule priority of the maintenance page (evaluated before every other rule).
pub const MAINTENANCE_PRIORITY: u16 = 1;

/// The user data of the web servers, relative to [`assets_dir`].
pub const USER_DATA: &str = "user-data.sh";

/// The CloudWatch agent configuration (JSON), relative to [`assets_dir`].
pub const CLOUDWATCH_AGENT_CONFIG: &str = "cloudwatch-agent.json";

/// The directory of the Lambda handlers (one package, a module per kind of operation),
/// relative to [`assets_dir`].
pub const LAMBDA_CODE: &str = "lambda";

/// The log groups the CloudWatch agent writes httpd's logs to (as in [`CLOUDWATCH_AGENT_CONFIG`]).
pub const HTTPD_LOG_GROUPS: [(&str, &str); 2] = [
    ("HttpdAccessLogs", "/web-jobnet/httpd/access"),
    ("HttpdErrorLogs", "/web-jobnet/httpd/error"),
];

/// How many web servers the job net stops and starts at the same time.
pub const MAX_CONCURRENCY: u32 = 2;

/// The tags of every stack (CloudFormation applies them to every resource that takes tags).
pub const TAGS: [(&str, &str); 2] = [("System", "web-jobnet"), ("ManagedBy", "cairn")];

/// The context key of the stop net's schedule expression.
pub const STOP_SCHEDULE_CONTEXT: &str = "web-jobnet:stopSchedule";

/// The context key of the start net's schedule expression.
pub const START_SCHEDULE_CONTEXT: &str = "web-jobnet:startSchedule";

/// When the job nets run: EventBridge schedule expressions (`cron(...)` in UTC, or
/// `rate(...)`), one scheduled rule per state machine starting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedules {
    /// The stop net's; by default 22:00 in Japan (13:00 UTC), Monday to Friday.
    pub stop: String,
    /// The start net's; by default 08:00 in Japan (23:00 UTC the day before), Monday to
    /// Friday.
    pub start: String,
}

impl Default for Schedules {
    fn default() -> Self {
        Schedules {
            stop: "cron(0 13 ? * MON-FRI *)".into(),
            start: "cron(0 23 ? * SUN-THU *)".into(),
        }
    }
}

impl Schedules {
    /// The defaults, overridden by the context keys [`STOP_SCHEDULE_CONTEXT`] and
    /// [`START_SCHEDULE_CONTEXT`] when set (strings).
    pub fn from_context(context: &Context) -> Result<Schedules> {
        let mut schedules = Schedules::default();
        for (key, slot) in [
            (STOP_SCHEDULE_CONTEXT, &mut schedules.stop),
            (START_SCHEDULE_CONTEXT, &mut schedules.start),
        ] {
            match context.get(key) {
                None => {}
                Some(serde_json::Value::String(v)) => *slot = v.clone(),
                Some(other) => {
                    return Err(Error::InvalidProps {
                        path: "<app>".into(),
                        problem: format!(
                            "the context value {key} is {other}, not a schedule expression string such as \"cron(0 13 ? * MON-FRI *)\""
                        ),
                    })
                }
            }
        }
        Ok(schedules)
    }
}

/// The statuses of the executions that are notified.
pub const NOTIFIED_STATUSES: [&str; 4] = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// `examples/assets/web-jobnet`, found from the crate's directory so the app builds the
/// same from any working directory.
pub fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join("web-jobnet")
}

/// What the web stack hands to the others.
struct WebTier {
    public_ingress: NoPublicIngress,
    web_servers: Vec<Instance>,
    listener: ApplicationListener,
    target_group: ApplicationTargetGroup,
    database: DatabaseCluster,
    backup_vault: cairn::Res<CfnResource>,
    backup_role: Role,
}

/// The job net's functions.
struct Functions {
    start_instance: Function,
    stop_instance: Function,
    describe_instance: Function,
    start_database: Function,
    stop_database: Function,
    describe_database: Function,
    send_command: Function,
    command_result: Function,
    maintenance_on: Function,
    maintenance_off: Function,
    target_health: Function,
    start_backup: Function,
    describe_backup: Function,
    notify: Function,
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
            tags: TAGS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..StackProps::default()
        },
    )
}

/// `arn:...:ec2:<region>:<account>:instance/<id>`.
fn instance_arn(instance: &Instance) -> Value {
    Value::sub_with(
        "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${Id}",
        [("Id", instance.instance_id())],
    )
}

fn read_asset(app: &App, scope: Stack, file: &str) -> Result<String> {
    let path = assets_dir().join(file);
    std::fs::read_to_string(&path).map_err(|e| Error::InvalidProps {
        path: app.path(scope.node()),
        problem: format!("cannot read {}: {e}", path.display()),
    })
}

// ------------------------------------------------------------------- web tier ----

fn web_stack(app: &mut App) -> Result<WebTier> {
    let stack = stack(
        app,
        STACKS[0],
        "web-jobnet: the three-tier web system (network, ALB, web servers, Aurora)",
    )?;
    let vpc = Vpc::new(
        app,
        stack,
        "Vpc",
        VpcProps {
            subnet_configuration: vec![
                SubnetConfiguration::public("Public").cidr_mask(24),
                SubnetConfiguration::private_with_egress("Private").cidr_mask(24),
                SubnetConfiguration::isolated("Isolated").cidr_mask(24),
            ],
            nat_gateways: Some(2),
            flow_logs: Some(FlowLogOptions::default()),
            ..VpcProps::default()
        },
    )?;

    // ALB -> web servers on 80 -> database on 3306, every rule naming the peer group.
    let alb = ApplicationLoadBalancer::new(
        app,
        stack,
        "Alb",
        ApplicationLoadBalancerProps {
            access_logs: Some(AccessLogs::new_bucket()),
            ..ApplicationLoadBalancerProps::new(&vpc)
        },
    )?;
    let web_sg = SecurityGroup::new(
        app,
        stack,
        "WebSecurityGroup",
        SecurityGroupProps::new(&vpc, "Web servers: HTTP from the load balancer"),
    )?;
    alb.allow_to(app, &web_sg, cairn::ec2::Port::tcp(80))?;

    // The CloudWatch agent's configuration and the log groups it writes to.
    let agent_config = read_asset(app, stack, CLOUDWATCH_AGENT_CONFIG)?;
    let agent_parameter = StringParameter::new(
        app,
        stack,
        "CloudWatchAgentConfig",
        StringParameterProps {
            parameter_name: Some(CLOUDWATCH_AGENT_PARAMETER.into()),
            description: Some("CloudWatch agent configuration of the web servers".into()),
            ..StringParameterProps::new(agent_config.trim_end())
        },
    )?;
    for (id, name) in HTTPD_LOG_GROUPS {
        LogGroup::new(
            app,
            stack,
            id,
            LogGroupProps {
                log_group_name: Some(name.into()),
                ..LogGroupProps::default()
            },
        )?;
    }

    // One role for both web servers: Session Manager / Run Command, the CloudWatch agent.
    let web_role = Role::new(
        app,
        stack,
        "WebServerRole",
        RoleProps {
            description: Some("web-jobnet web servers: SSM managed instance, CloudWatch agent".into()),
            managed_policies: vec![
                Role::aws_managed_policy("AmazonSSMManagedInstanceCore"),
                Role::aws_managed_policy("CloudWatchAgentServerPolicy"),
            ],
            ..RoleProps::new(Principal::service("ec2.amazonaws.com"))
        },
    )?;
    let credentials = Secret::new(
        app,
        stack,
        "DatabaseCredentials",
        SecretProps {
            description: Some("web-jobnet Aurora master user".into()),
            generate_secret_string: Some(SecretStringGenerator {
                secret_string_template: Some(r#"{"username":"admin"}"#.into()),
                generate_string_key: Some("password".into()),
                password_length: Some(30),
                exclude_characters: Some(" %+~`#$&*()|[]{}:;<>?!'/@\"\\".into()),
                ..SecretStringGenerator::default()
            }),
            ..SecretProps::default()
        },
    )?;
    agent_parameter.grant_read(app, &web_role)?;
    // The application reads the database credentials.
    credentials.grant_read(app, &web_role)?;
    let mut web_servers = Vec::new();
    for az in 0..2 {
        web_servers.push(Instance::new(
            app,
            stack,
            &format!("WebServer{}", az + 1),
            InstanceProps {
                availability_zone: Some(az),
                security_groups: vec![web_sg],
                role: Some(web_role),
                user_data: Some(UserData::from_file(assets_dir().join(USER_DATA))),
                detailed_monitoring: true,
                ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2023())
            },
        )?);
    }

    let target_group = ApplicationTargetGroup::new(
        app,
        stack,
        "WebTargets",
        ApplicationTargetGroupProps {
            targets: web_servers.iter().map(Target::instance).collect(),
            health_check: HealthCheck {
                path: "/health.html".into(),
                interval_seconds: 15,
                healthy_threshold: 2,
                ..HealthCheck::default()
            },
            deregistration_delay_seconds: Some(30),
            ..ApplicationTargetGroupProps::new(&vpc, 80)
        },
    )?;
    // HTTP only: the example has no certificate (see the module documentation).
    let listener = alb.add_listener(
        app,
        "Http",
        ListenerProps::http(ListenerAction::forward(&target_group)),
    )?;

    let database = DatabaseCluster::new(
        app,
        stack,
        "Database",
        DatabaseClusterProps {
            instance_class: "db.t4g.medium".into(),
            credentials: Credentials::FromSecret(credentials),
            default_database_name: Some("webapp".into()),
            ..DatabaseClusterProps::new(&vpc)
        },
    )?;
    database.allow_from(app, &web_sg)?;

    // checkov's checks that this system answers rather than fixes.
    crate::answer_checks(
        app,
        alb.node(),
        &[
            ("CKV_AWS_2", HTTP_ONLY),
            ("CKV_AWS_103", HTTP_ONLY),
            (
                "CKV_AWS_18",
                "This bucket is the load balancer's access-log destination: logging access to it would need another bucket whose own access goes unlogged, so the chain ends at this log bucket",
            ),
        ],
    )?;
    crate::answer_checks(
        app,
        database.node(),
        &[
            (
                "CKV_AWS_162",
                "The application logs in with the master credentials from Secrets Manager, readable only by the web servers' role; IAM database authentication would be a second, unused login path",
            ),
            (
                "CKV_AWS_118",
                "The job net stops this cluster every night; the standard one-minute CloudWatch RDS metrics cover its health, and enhanced monitoring's OS metrics would add a monitoring role and log cost for a small instance no one watches at that granularity",
            ),
        ],
    )?;
    crate::answer_checks(
        app,
        credentials.node(),
        &[("CKV_AWS_149", SECRET_WITH_AWS_MANAGED_KEY)],
    )?;

    // Where the stop flow's backups go, and the role AWS Backup takes them with.
    let backup_key = Key::new(
        app,
        stack,
        "BackupKey",
        KeyProps {
            description: Some("Encrypts the web-jobnet backup vault".into()),
            ..KeyProps::default()
        },
    )?;
    let backup_vault = app.add(
        stack,
        "BackupVault",
        CfnResource::new("AWS::Backup::BackupVault")
            .with("BackupVaultName", Value::sub("${AWS::StackName}-backups"))
            .with("EncryptionKeyArn", backup_key.key_arn()),
    )?;
    let options = app.resource_options_mut(backup_vault)?;
    options.deletion_policy = Some(cairn::RemovalPolicy::Retain);
    options.update_replace_policy = Some(cairn::RemovalPolicy::Retain);
    let backup_role = Role::new(
        app,
        stack,
        "BackupRole",
        RoleProps {
            description: Some("AWS Backup: backs up the web-jobnet web servers (AMIs) and database".into()),
            managed_policies: vec![Role::aws_managed_policy(
                "service-role/AWSBackupServiceRolePolicyForBackup",
            )],
            ..RoleProps::new(Principal::service("backup.amazonaws.com"))
        },
    )?;

    app.output(
        stack,
        "SiteUrl",
        Output::new(Value::join("", [Value::from("http://"), alb.dns_name()]))
            .description("The web site (the maintenance page while the system is stopped)"),
    )?;

    // The ALB's listener ports are the only ones open to the internet: allow-listed for
    // cairn's rule, and port 80 (HTTP without a certificate) explained to checkov, whose
    // CKV_AWS_260 refuses port 80 from anywhere on any group.
    let mut public_ingress = NoPublicIngress::default();
    for (port, path) in alb.public_ingress(app) {
        public_ingress = public_ingress.allow(port, &path);
    }
    app.resource_options_mut(alb.security_group().resource())?
        .metadata
        .insert(
            "checkov".into(),
            Value::map([(
                "skip",
                Value::list([Value::map([
                    ("id", Value::from("CKV_AWS_260")),
                    (
                        "comment",
                        Value::from("The internet-facing ALB's HTTP listener: the example has no certificate (use HTTPS on 443 with one)"),
                    ),
                ])]),
            )]),
        );

    Ok(WebTier {
        public_ingress,
        web_servers,
        listener,
        target_group,
        database,
        backup_vault,
        backup_role,
    })
}

// ------------------------------------------------------------------ functions ----

fn functions_stack(app: &mut App, web: &WebTier) -> Result<Functions> {
    let stack = stack(
        app,
        STACKS[1],
        "web-jobnet: the job net's operations (EC2, Run Command, Aurora, ALB, Backup, Slack)",
    )?;
    let code = assets_dir().join(LAMBDA_CODE);
    let instance_ids = Value::join(",", web.web_servers.iter().map(Instance::instance_id));
    let instance_arns: Vec<Value> = web.web_servers.iter().map(instance_arn).collect();
    let cluster_arn = web.database.resource().attr_db_cluster_arn();
    let listener_arn = web.listener.listener_arn();
    // Rules of the listener: listener-rule/app/<lb>/<lb id>/<listener id>/<rule id>.
    let listener_rules = Value::join(
        "",
        [
            Value::sub(
                "arn:${AWS::Partition}:elasticloadbalancing:${AWS::Region}:${AWS::AccountId}:listener-rule/",
            ),
            Value::select(1, Value::split(":listener/", listener_arn.clone())),
            Value::from("/*"),
        ],
    );

    let function = |app: &mut App, id: &str, handler: &str, description: &str, env: Vec<(&str, Value)>| {
        Function::new(
            app,
            stack,
            id,
            FunctionProps {
                description: Some(format!("web-jobnet: {description}")),
                timeout: Some(Duration::from_secs(30)),
                memory_size: Some(256),
                environment: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                ..FunctionProps::new(Runtime::Python3_12, handler, Code::from_asset(&code))
            },
        )
    };
    let allow = |actions: &[&str], resources: Vec<Value>| {
        PolicyStatement::allow()
            .actions(actions.iter().copied())
            .resources(resources)
    };

    let ids = || vec![("INSTANCE_IDS", instance_ids.clone())];
    let start_instance = function(
        app,
        "StartInstance",
        "ec2_instances.start",
        "start a web server",
        ids(),
    )?;
    start_instance
        .role()
        .add_to_policy(app, allow(&["ec2:StartInstances"], instance_arns.clone()))?;
    let stop_instance = function(
        app,
        "StopInstance",
        "ec2_instances.stop",
        "stop a web server",
        ids(),
    )?;
    stop_instance
        .role()
        .add_to_policy(app, allow(&["ec2:StopInstances"], instance_arns.clone()))?;
    let describe_instance = function(
        app,
        "DescribeInstance",
        "ec2_instances.describe",
        "state of a web server",
        ids(),
    )?;
    // DescribeInstances has no resource-level permissions.
    describe_instance
        .role()
        .add_to_policy(app, allow(&["ec2:DescribeInstances"], vec![Value::from("*")]))?;

    let cluster = || vec![("CLUSTER_ID", web.database.cluster_identifier())];
    let start_database = function(
        app,
        "StartDatabase",
        "db_cluster.start",
        "start the Aurora cluster",
        cluster(),
    )?;
    start_database
        .role()
        .add_to_policy(app, allow(&["rds:StartDBCluster"], vec![cluster_arn.clone()]))?;
    let stop_database = function(
        app,
        "StopDatabase",
        "db_cluster.stop",
        "stop the Aurora cluster",
        cluster(),
    )?;
    stop_database
        .role()
        .add_to_policy(app, allow(&["rds:StopDBCluster"], vec![cluster_arn.clone()]))?;
    let describe_database = function(
        app,
        "DescribeDatabase",
        "db_cluster.describe",
        "status of the Aurora cluster",
        cluster(),
    )?;
    describe_database
        .role()
        .add_to_policy(app, allow(&["rds:DescribeDBClusters"], vec![cluster_arn.clone()]))?;

    let send_command = function(
        app,
        "SendCommand",
        "run_command.send",
        "run an httpd script on a web server (SSM Run Command)",
        ids(),
    )?;
    let mut command_targets = vec![Value::sub(
        "arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript",
    )];
    command_targets.extend(instance_arns.iter().cloned());
    send_command
        .role()
        .add_to_policy(app, allow(&["ssm:SendCommand"], command_targets))?;
    let command_result = function(
        app,
        "GetCommandResult",
        "run_command.result",
        "result of a Run Command invocation",
        ids(),
    )?;
    // GetCommandInvocation has no resource-level permissions.
    command_result
        .role()
        .add_to_policy(app, allow(&["ssm:GetCommandInvocation"], vec![Value::from("*")]))?;

    let listener_env = || {
        vec![
            ("LISTENER_ARN", listener_arn.clone()),
            ("PRIORITY", Value::from(MAINTENANCE_PRIORITY.to_string())),
        ]
    };
    let maintenance_on = function(
        app,
        "MaintenanceOn",
        "maintenance.create",
        "put the maintenance page on the listener",
        listener_env(),
    )?;
    // CreateRule takes the listener only (the service reference lists no rule resource
    // for it); the rules are DeleteRule's.
    maintenance_on.role().add_to_policy(
        app,
        allow(&["elasticloadbalancing:CreateRule"], vec![listener_arn.clone()]),
    )?;
    let maintenance_off = function(
        app,
        "MaintenanceOff",
        "maintenance.delete",
        "take the maintenance page off the listener",
        listener_env(),
    )?;
    maintenance_off.role().add_to_policy(
        app,
        allow(&["elasticloadbalancing:DeleteRule"], vec![listener_rules]),
    )?;
    for f in [maintenance_on, maintenance_off] {
        // DescribeRules has no resource-level permissions.
        f.role().add_to_policy(
            app,
            allow(&["elasticloadbalancing:DescribeRules"], vec![Value::from("*")]),
        )?;
    }

    let target_health = function(
        app,
        "DescribeTargetHealth",
        "target_health.describe",
        "health of the web servers behind the load balancer",
        vec![("TARGET_GROUP_ARN", web.target_group.target_group_arn())],
    )?;
    // DescribeTargetHealth has no resource-level permissions.
    target_health.role().add_to_policy(
        app,
        allow(
            &["elasticloadbalancing:DescribeTargetHealth"],
            vec![Value::from("*")],
        ),
    )?;

    let start_backup = function(
        app,
        "StartBackupJob",
        "backup_job.start",
        "back up a web server (an AMI) or the Aurora cluster (AWS Backup)",
        vec![
            ("INSTANCE_IDS", instance_ids.clone()),
            ("VAULT_NAME", web.backup_vault.ref_()),
            ("RESOURCE_ARN", cluster_arn),
            ("BACKUP_ROLE_ARN", web.backup_role.arn()),
            ("RETENTION_DAYS", Value::from("35")),
        ],
    )?;
    start_backup.role().add_to_policy(
        app,
        allow(
            &["backup:StartBackupJob"],
            vec![web.backup_vault.attr("BackupVaultArn")],
        ),
    )?;
    start_backup.role().add_to_policy(
        app,
        allow(&["iam:PassRole"], vec![web.backup_role.arn()]).condition(
            "StringEquals",
            "iam:PassedToService",
            "backup.amazonaws.com",
        ),
    )?;
    let describe_backup = function(
        app,
        "DescribeBackupJob",
        "backup_job.describe",
        "state of a backup job (AWS Backup)",
        Vec::new(),
    )?;
    // DescribeBackupJob has no resource-level permissions.
    describe_backup
        .role()
        .add_to_policy(app, allow(&["backup:DescribeBackupJob"], vec![Value::from("*")]))?;

    let webhook = Secret::new(
        app,
        stack,
        "SlackWebhookUrl",
        SecretProps {
            description: Some(
                "Slack incoming webhook URL of the job net notifications: replace the generated value with https://hooks.slack.com/services/..."
                    .into(),
            ),
            ..SecretProps::default()
        },
    )?;
    let notify = function(
        app,
        "NotifySlack",
        "notify_slack.handler",
        "post job net results to Slack",
        vec![("WEBHOOK_SECRET_ARN", webhook.secret_arn())],
    )?;
    webhook.grant_read(app, &notify)?;

    // checkov's checks that this system answers rather than fixes.
    crate::answer_checks(
        app,
        webhook.node(),
        &[("CKV_AWS_149", SECRET_WITH_AWS_MANAGED_KEY)],
    )?;
    crate::answer_checks(
        app,
        stack,
        &[
            (
                "CKV_AWS_116",
                "Invoked synchronously by the job nets' state machines: a failure returns to the execution, which catches it and reports it to Slack; a dead-letter queue only receives failed asynchronous invocations",
            ),
            ("CKV_AWS_117", lambda_reasons::OUTSIDE_VPC),
            ("CKV_AWS_115", lambda_reasons::NO_RESERVED_CONCURRENCY),
            ("CKV_AWS_173", lambda_reasons::ENV_WITHOUT_CMK),
        ],
    )?;

    Ok(Functions {
        start_instance,
        stop_instance,
        describe_instance,
        start_database,
        stop_database,
        describe_database,
        send_command,
        command_result,
        maintenance_on,
        maintenance_off,
        target_health,
        start_backup,
        describe_backup,
        notify,
    })
}

// ---------------------------------------------------------------------- flows ----

mod flows;
use flows::{start_flow, stop_flow};

/// A state machine stack: the machine (logging `ALL` to its own encrypted log group) and
/// the EventBridge rule sending its finished executions to the notifier.
///
/// The rule and the invoke permission are L1s in this stack: `events::Rule::add_target`
/// puts a Lambda target's permission beside the function (in the functions stack), which
/// would make the functions stack import the rule's ARN from here while this stack imports
/// the function's ARN from there, a dependency cycle.
fn flow_stack(
    app: &mut App,
    id: &str,
    description: &str,
    definition: Result<Definition, DefinitionError>,
    notifier: &Function,
    schedule: &str,
) -> Result<StateMachine> {
    let stack = stack(app, id, description)?;
    let path = app.path(stack.node());
    let invalid = |problem: String| Error::InvalidProps {
        path: path.clone(),
        problem,
    };
    let definition = definition.map_err(|e| invalid(e.to_string()))?;
    let machine = StateMachine::new(
        app,
        stack,
        "StateMachine",
        StateMachineProps {
            timeout: Some(Duration::from_secs(2 * 3600)),
            logs: Some(LogOptions {
                level: LogLevel::All,
                ..LogOptions::default()
            }),
            ..StateMachineProps::new(definition)
        },
    )?;

    let pattern = Value::map([
        ("source", Value::list([Value::from("aws.states")])),
        (
            "detail-type",
            Value::list([Value::from("Step Functions Execution Status Change")]),
        ),
        (
            "detail",
            Value::map([
                (
                    "status",
                    Value::list(NOTIFIED_STATUSES.iter().map(|s| Value::from(*s))),
                ),
                ("stateMachineArn", Value::list([machine.state_machine_arn()])),
            ]),
        ),
    ]);
    let rule = app.add(
        stack,
        "NotifyOnFinish",
        CfnRule {
            description: Some("Sends the job net's finished executions to the Slack notifier".into()),
            event_pattern: Some(pattern),
            state: Some(rule::State::Enabled.into()),
            targets: Some(vec![rule::Target::new(notifier.function_arn(), "Notifier").into()].into()),
            ..CfnRule::default()
        },
    )?;
    let mut permission = CfnPermission::new(
        "lambda:InvokeFunction",
        notifier.function_arn(),
        "events.amazonaws.com",
    );
    permission.source_arn = Some(rule.attr_arn().into());
    app.add(stack, "NotifierInvokePermission", permission)?;
    // The job net runs on its schedule: the rule starts the state machine through a role
    // allowed states:StartExecution on it alone.
    let scheduled = Rule::new(
        app,
        stack,
        "Schedule",
        RuleProps {
            description: Some(format!("Starts the job net on its schedule ({schedule})")),
            ..RuleProps::schedule(Schedule::Expression(schedule.to_string()))
        },
    )?;
    scheduled.add_target(app, SfnStateMachine::new(machine.state_machine_arn()))?;
    app.output(
        stack,
        "StateMachineArn",
        Output::new(machine.state_machine_arn())
            .description("Start an execution of this state machine to run the job net"),
    )?;
    Ok(machine)
}

/// Builds the `web-jobnet` app, its schedules from the context ([`Schedules::from_context`]).
pub fn build() -> Result<App> {
    build_with(&Schedules::from_context(&Context::from_env()?)?)
}

/// Builds the `web-jobnet` app with these schedules.
pub fn build_with(schedules: &Schedules) -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());
    let web = web_stack(&mut app)?;
    let functions = functions_stack(&mut app, &web)?;
    let ids: Vec<Value> = web.web_servers.iter().map(Instance::instance_id).collect();
    flow_stack(
        &mut app,
        STACKS[2],
        "web-jobnet: the stop job net (Step Functions)",
        stop_flow(&ids, &functions),
        &functions.notify,
        &schedules.stop,
    )?;
    flow_stack(
        &mut app,
        STACKS[3],
        "web-jobnet: the start job net (Step Functions)",
        start_flow(&ids, &functions),
        &functions.notify,
        &schedules.start,
    )?;

    // The recommended rules over the whole app, the ALB's listener ports allow-listed.
    let root = app.root();
    RuleSet::recommended()
        .rule(web.public_ingress, Mode::Error)
        .apply(&mut app, root);
    Ok(app)
}

/// Why the ALB listens on plain HTTP (checkov's CKV_AWS_2 and CKV_AWS_103).
const HTTP_ONLY: &str = "The example has no domain and so no certificate: the listener serves the public site over HTTP on 80; with a certificate use ListenerProps::https on 443 and redirect 80 to it";
/// Why a secret keeps the AWS managed key (checkov's CKV_AWS_149).
const SECRET_WITH_AWS_MANAGED_KEY: &str = "Encrypted with the AWS managed key aws/secretsmanager: only this account's roles granted read may use it, and the secret is never shared with another account, the case that needs a customer-managed key policy";
