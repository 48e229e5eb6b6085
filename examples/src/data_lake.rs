//! `data-lake`: a data lake and its ETL, after the AWS blog "Deploy data lake ETL jobs
//! using CDK Pipelines", deployed to three environments (dev, test, prod) from one
//! configuration ([`environments`]), one [`cairn::Stage`] per environment.
//!
//! Each stage has three stacks (ids [`STACKS`]):
//!
//! - `Network`: a VPC of isolated subnets (no internet route, no NAT) with flow logs, and
//!   the endpoints the ETL reaches AWS through: gateway endpoints for S3 and DynamoDB,
//!   interface endpoints (private DNS, a security group allowing 443 from the VPC) for
//!   Glue, KMS, Secrets Manager, CloudWatch Logs and CloudWatch metrics (the Glue jobs
//!   run in the VPC and publish logs and metrics from there).
//! - `DataLake`: the lake's customer managed key; the raw, conformed and purpose-built
//!   zones and the code bucket, all encrypted with that key, versioned, TLS-only, with
//!   lifecycle rules and server access logs to the access-log bucket (SSE-S3, the only
//!   encryption S3 server access logging delivers to); the Glue database, security
//!   configuration (S3, logs and bookmarks under the key) and Data Catalog encryption, a
//!   network connection into the VPC, a crawler over the conformed zone, and two Spark
//!   jobs: [`RAW_TO_CONFORMED`] (CSV -> Parquet) and [`CONFORMED_TO_PURPOSE_BUILT`] (the
//!   rules, and the catalog table); Lake Formation settings, the zones registered as data
//!   locations and the Glue roles' permissions; the ETL flow: an object-created
//!   notification on the raw zone (`.csv` files) invokes [`TRIGGER_CODE`], which records
//!   the file in the DynamoDB state table and starts the state machine: job 1 -> job 2
//!   (each `glue:startJobRun.sync`) -> status `SUCCEEDED` in the table -> SNS
//!   notification; a failure of either job or of the status update sets the status to
//!   `FAILED` and notifies too, then fails the execution.
//! - `Analytics`: the data-analyst role with Lake Formation `DESCRIBE` on the database
//!   and `SELECT`/`DESCRIBE` on its tables, and an Athena workgroup that enforces
//!   SSE-KMS query results (with the lake's key) in its own bucket.
//!
//! [`add_data_lake_stage`] builds one environment's stage; [`build`] builds the app with
//! all three, delivered by a CDK-Pipelines-style pipeline ([`add_delivery_pipeline`]) in
//! the [`PIPELINE_STACK`] stack of the tooling account ([`TOOLING_ACCOUNT`]): after the
//! source, the app's build and synth, the pipeline's own update and the asset publishing,
//! one wave per environment in order: `Dev`, then `Test` (followed by a smoke test of the
//! deployed ETL), then `Prod` behind a manual approval.
//!
//! The smoke test runs in the tooling account but looks into the Test account: the Test
//! stage's `DataLake` stack has a role ([`SMOKE_TEST_ROLE`]) that only the smoke test's
//! project role ([`SMOKE_TEST_PROJECT_ROLE`] in the tooling account) may assume, allowed
//! to list and describe the ETL state machine and read the Glue jobs; the step's script
//! assumes it, checks it is in the Test account, and fails unless the state machine is
//! `ACTIVE` and both jobs exist.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn::aspects::RuleSet;
use cairn::athena::{WorkGroup, WorkGroupProps};
use cairn::cfn::IndexMap;
use cairn::dynamodb::{Attribute, Table, TableEncryption, TableProps, KEY_WRITE_ACTIONS};
use cairn::ec2::{
    FlowLogOptions, GatewayVpcEndpointAwsService, GatewayVpcEndpointOptions, InterfaceVpcEndpointAwsService,
    InterfaceVpcEndpointOptions, SubnetConfiguration, SubnetType, Vpc, VpcProps,
};
use cairn::glue::{
    Connection, Crawler, CrawlerProps, DataCatalogEncryption, DataCatalogEncryptionProps, Database,
    DatabaseProps, Job, JobProps, JobScript, S3Target, SecurityConfiguration, SecurityConfigurationProps,
};
use cairn::iam::{self, Principal, Role, RoleProps};
use cairn::kms::{Key, KeyProps};
use cairn::lakeformation::{
    grant_data_access, DataLakeLocation, DataLakeLocationProps, DataLakeSettings, DataLakeSettingsProps,
    LfResource, Permission, Permissions, PermissionsProps,
};
use cairn::lambda::{Code, Function, FunctionProps, Runtime, S3EventSource};
use cairn::pipelines::{Pipeline, PipelineProps, Source, Step};
use cairn::s3::{
    Bucket, BucketEncryption, BucketProps, EventType, LifecycleRule, NotificationKeyFilter, StorageClass,
};
use cairn::sns::{Subscriber, SubscriptionProps, Topic, TopicProps};
use cairn::stepfunctions::{
    Catch, Definition, DefinitionError, Fail, LogLevel, LogOptions, Params, StateMachine, StateMachineProps,
    Succeed, Task,
};
use cairn::{App, Environment, Error, Output, Result, Stack, StackProps, Stage, Value};

/// The stacks of each stage, in dependency order.
pub const STACKS: [&str; 3] = ["Network", "DataLake", "Analytics"];

/// Glue job 1 (CSV -> Parquet), relative to [`assets_dir`].
pub const RAW_TO_CONFORMED: &str = "glue/raw_to_conformed.py";

/// Glue job 2 (the rules), relative to [`assets_dir`].
pub const CONFORMED_TO_PURPOSE_BUILT: &str = "glue/conformed_to_purpose_built.py";

/// The Lambda function that records a file and starts the ETL, relative to [`assets_dir`].
pub const TRIGGER_CODE: &str = "lambda";

/// The partition key of the state table (one item per file run).
pub const STATE_TABLE_KEY: &str = "execution_name";

/// `examples/assets/data-lake`, found from the crate's directory.
pub fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join("data-lake")
}

/// One deployment environment of the data lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvConfig {
    /// The stage id (`Dev`, `Test`, `Prod`).
    pub name: String,
    /// The AWS account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The VPC's CIDR block.
    pub vpc_cidr: String,
    /// The Lake Formation administrators (IAM ARNs): they replace the account's
    /// administrators, so the principal that deploys the stacks must be one of them.
    pub lake_admins: Vec<String>,
    /// Who receives the ETL notifications (an email subscription), if anyone.
    pub notification_email: Option<String>,
    /// Days before raw files move to infrequent access.
    pub raw_infrequent_access_days: i64,
    /// Workers of each Glue job.
    pub glue_workers: i64,
}

impl EnvConfig {
    /// The lowercase environment name (`dev` ...), used in physical names.
    pub fn slug(&self) -> String {
        self.name.to_ascii_lowercase()
    }

    /// The Glue database name (`datalake_dev` ...).
    pub fn database_name(&self) -> String {
        format!("datalake_{}", self.slug())
    }

    /// The Athena workgroup name.
    pub fn workgroup_name(&self) -> String {
        format!("data-analysts-{}", self.slug())
    }
}

/// The three environments: each its own account, region and CIDR.
pub fn environments() -> Vec<EnvConfig> {
    let env = |name: &str, account: &str, region: &str, cidr: &str, workers: i64| EnvConfig {
        name: name.into(),
        account: account.into(),
        region: region.into(),
        vpc_cidr: cidr.into(),
        lake_admins: vec![format!("arn:aws:iam::{account}:role/data-lake-deploy")],
        notification_email: Some(format!("data-lake-{}@example.com", name.to_ascii_lowercase())),
        raw_infrequent_access_days: 30,
        glue_workers: workers,
    };
    vec![
        env("Dev", "111111111111", "us-east-1", "10.10.0.0/16", 2),
        env("Test", "222222222222", "us-east-2", "10.20.0.0/16", 2),
        env("Prod", "333333333333", "us-west-2", "10.30.0.0/16", 10),
    ]
}

/// The stage the pipeline smoke-tests after deploying it.
pub const SMOKE_TESTED_STAGE: &str = "Test";

/// The name of the role in the smoke-tested account that the smoke test assumes.
pub const SMOKE_TEST_ROLE: &str = "data-lake-smoke-test";

/// The name of the smoke test's CodeBuild project role in the tooling account: the only
/// principal [`SMOKE_TEST_ROLE`] trusts.
pub const SMOKE_TEST_PROJECT_ROLE: &str = "data-lake-smoke-test-project";

/// The role the smoke test assumes in the smoke-tested account: trusted by the tooling
/// account for its smoke-test project role only (an `aws:PrincipalArn` condition, so the
/// trust does not need that role to exist first), allowed to find and describe the ETL
/// state machine and to read the Glue jobs.
fn smoke_test_role(app: &mut App, stack: Stack, machine: &StateMachine) -> Result<Role> {
    let mut conditions = IndexMap::new();
    conditions.insert(
        "ArnEquals".to_string(),
        [(
            "aws:PrincipalArn".to_string(),
            Value::sub(&format!(
                "arn:${{AWS::Partition}}:iam::{TOOLING_ACCOUNT}:role/{SMOKE_TEST_PROJECT_ROLE}"
            )),
        )]
        .into_iter()
        .collect(),
    );
    let role = Role::new(
        app,
        stack,
        "SmokeTestRole",
        RoleProps {
            description: Some("The delivery pipeline's smoke test: reads the deployed ETL".into()),
            role_name: Some(Value::from(SMOKE_TEST_ROLE)),
            assume_conditions: conditions,
            max_session_duration: Some(3600),
            ..RoleProps::new(Principal::account(TOOLING_ACCOUNT))
        },
    )?;
    // ListStateMachines and GetJobs have no resource-level permissions.
    role.add_to_policy(
        app,
        iam::PolicyStatement::allow()
            .actions(["states:ListStateMachines", "glue:GetJobs"])
            .resource(Value::from("*")),
    )?;
    role.add_to_policy(
        app,
        iam::PolicyStatement::allow()
            .actions(["states:DescribeStateMachine"])
            .resource(machine.state_machine_arn()),
    )?;
    Ok(role)
}

/// What the DataLake stack hands to the Analytics stack.
struct Lake {
    key: Key,
    database: Database,
}

fn stack(app: &mut App, stage: Stage, id: &str, cfg: &EnvConfig, what: &str) -> Result<Stack> {
    app.stack_with(
        stage,
        id,
        StackProps {
            description: Some(format!("data-lake ({}): {what}", cfg.name)),
            tags: [
                ("project".to_string(), "data-lake".to_string()),
                ("environment".to_string(), cfg.slug()),
            ]
            .into_iter()
            .collect(),
            ..StackProps::default()
        },
    )
}

fn invalid(app: &App, node: impl Into<cairn::NodeId>, problem: String) -> Error {
    Error::InvalidProps {
        path: app.path(node.into()),
        problem,
    }
}

// --------------------------------------------------------------------- network ----

fn network_stack(app: &mut App, stage: Stage, cfg: &EnvConfig) -> Result<Vpc> {
    let stack = stack(app, stage, STACKS[0], cfg, "the VPC and its endpoints")?;
    let vpc = Vpc::new(
        app,
        stack,
        "Vpc",
        VpcProps {
            cidr: cfg.vpc_cidr.clone(),
            max_azs: 2,
            subnet_configuration: vec![SubnetConfiguration::isolated("Private").cidr_mask(20)],
            nat_gateways: Some(0),
            flow_logs: Some(FlowLogOptions::default()),
            ..VpcProps::default()
        },
    )?;
    for (id, service) in [
        ("S3Endpoint", GatewayVpcEndpointAwsService::S3),
        ("DynamoDbEndpoint", GatewayVpcEndpointAwsService::DynamoDb),
    ] {
        vpc.add_gateway_endpoint(app, id, GatewayVpcEndpointOptions::new(service))?;
    }
    for (id, service) in [
        ("GlueEndpoint", InterfaceVpcEndpointAwsService::Glue),
        ("KmsEndpoint", InterfaceVpcEndpointAwsService::Kms),
        (
            "SecretsManagerEndpoint",
            InterfaceVpcEndpointAwsService::SecretsManager,
        ),
        ("LogsEndpoint", InterfaceVpcEndpointAwsService::CloudWatchLogs),
        // The jobs publish their metrics (`--enable-metrics`) from inside the VPC too.
        (
            "MonitoringEndpoint",
            InterfaceVpcEndpointAwsService::CloudWatchMonitoring,
        ),
    ] {
        vpc.add_interface_endpoint(app, id, InterfaceVpcEndpointOptions::new(service))?;
    }
    app.output(stack, "VpcId", Output::new(vpc.vpc_id()))?;
    Ok(vpc)
}

// ------------------------------------------------------------------- data lake ----

fn zone(
    app: &mut App,
    stack: Stack,
    id: &str,
    key: Key,
    logs: Bucket,
    rules: Vec<LifecycleRule>,
) -> Result<Bucket> {
    Bucket::new(
        app,
        stack,
        id,
        BucketProps {
            encryption: BucketEncryption::Kms(key),
            lifecycle_rules: rules,
            server_access_logs_bucket: Some(logs),
            server_access_logs_prefix: Some(format!("{id}/")),
            ..BucketProps::default()
        },
    )
}

fn housekeeping() -> LifecycleRule {
    LifecycleRule {
        id: Some("Housekeeping".into()),
        noncurrent_version_expiration_days: Some(30),
        abort_incomplete_multipart_upload_days: Some(7),
        ..LifecycleRule::default()
    }
}

/// The ETL state machine: job 1 -> job 2 -> status -> notify, and the failure path.
fn etl_definition(
    job1: &Job,
    job2: &Job,
    table: &Table,
    topic: &Topic,
) -> std::result::Result<Definition, DefinitionError> {
    let mut def = Definition::new();
    def.set_comment("data lake ETL of one raw file: CSV -> Parquet -> rules, then status and notification");
    let run_job1 = def.add(
        job1.start_job_run_task(
            "RawToConformed",
            Params::new()
                .path("--source_bucket", "$.bucket")
                .path("--source_key", "$.key")
                .path("--dataset", "$.dataset")
                .path("--ingestion_id", "$.execution_name"),
        )
        .comment("Glue job 1: the CSV file to Parquet in the conformed zone")
        .result_selector(Value::map([
            ("JobRunId.$", Value::from("$.Id")),
            ("JobRunState.$", Value::from("$.JobRunState")),
        ]))
        .result_path("$.rawToConformed"),
    )?;
    let run_job2 = def.add(
        job2.start_job_run_task(
            "ConformedToPurposeBuilt",
            Params::new()
                .path("--dataset", "$.dataset")
                .path("--ingestion_id", "$.execution_name"),
        )
        .comment("Glue job 2: the rules, into the purpose-built zone and the catalog")
        .result_selector(Value::map([
            ("JobRunId.$", Value::from("$.Id")),
            ("JobRunState.$", Value::from("$.JobRunState")),
        ]))
        .result_path("$.conformedToPurposeBuilt"),
    )?;
    let status = |name: &str, status: &str, with_error: bool| {
        let mut values = vec![
            (":status", Value::map([("S", Value::from(status))])),
            (":at", Value::map([("S.$", Value::from("$$.State.EnteredTime"))])),
        ];
        let mut update = "SET #status = :status, updated_at = :at".to_string();
        if with_error {
            values.push((":error", Value::map([("S.$", Value::from("$.error.Error"))])));
            update.push_str(", error_name = :error");
        }
        Task::service(name, "dynamodb", "updateItem", [table.table_arn()])
            .parameters(
                Params::new()
                    .set("TableName", table.table_name())
                    .set(
                        "Key",
                        Value::map([(
                            STATE_TABLE_KEY,
                            Value::map([("S.$", Value::from("$.execution_name"))]),
                        )]),
                    )
                    .set("UpdateExpression", update.as_str())
                    .set(
                        "ExpressionAttributeNames",
                        Value::map([("#status", Value::from("status"))]),
                    )
                    .set("ExpressionAttributeValues", Value::map(values)),
            )
            .result_path("$.statusUpdate")
    };
    let notify = |name: &str, subject: &str| {
        Task::service(name, "sns", "publish", [topic.topic_arn()]).parameters(
            Params::new()
                .set("TopicArn", topic.topic_arn())
                .set("Subject", subject)
                .path("Message", "States.JsonToString($)"),
        )
    };
    let succeeded = def.add(status("RecordSucceeded", "SUCCEEDED", false))?;
    let notify_success =
        def.add(notify("NotifySuccess", "Data lake ETL succeeded").result_path("$.notification"))?;
    let done = def.add(Succeed::new("Done"))?;
    let failed = def.add(status("RecordFailed", "FAILED", true))?;
    let notify_failure =
        def.add(notify("NotifyFailure", "Data lake ETL failed").result_path("$.notification"))?;
    let fail = def.add(
        Fail::new("EtlFailed")
            .error("DataLake.EtlFailed")
            .cause("a Glue job or the status update failed; see the execution's error"),
    )?;

    def.chain(run_job1)
        .next(run_job2)?
        .next(succeeded)?
        .next(notify_success)?
        .next(done)?;
    def.add_catch(run_job1, Catch::all(failed).result_path("$.error"))?;
    def.add_catch(run_job2, Catch::all(failed).result_path("$.error"))?;
    def.add_catch(succeeded, Catch::all(failed).result_path("$.error"))?;
    def.chain(failed).next(notify_failure)?.next(fail)?;
    // A failing status update on the failure path must not swallow the notification.
    def.add_catch(failed, Catch::all(notify_failure).result_path("$.statusError"))?;
    def.start_at(run_job1)?;
    Ok(def)
}

fn data_lake_stack(app: &mut App, stage: Stage, cfg: &EnvConfig, vpc: &Vpc) -> Result<Lake> {
    let stack = stack(
        app,
        stage,
        STACKS[1],
        cfg,
        "storage zones, Glue catalog and jobs, Lake Formation and the ETL flow",
    )?;
    let key = Key::new(
        app,
        stack,
        "DataLakeKey",
        KeyProps {
            description: Some(format!(
                "data lake ({}): zones, catalog, ETL state and notifications",
                cfg.name
            )),
            alias: Some(format!("data-lake-{}", cfg.slug())),
            ..KeyProps::default()
        },
    )?;

    // Storage.
    let access_logs = Bucket::new(
        app,
        stack,
        "AccessLogs",
        BucketProps {
            // S3 server access logging delivers only to SSE-S3 buckets.
            encryption: BucketEncryption::S3Managed,
            lifecycle_rules: vec![LifecycleRule {
                id: Some("ExpireLogs".into()),
                expiration_days: Some(365),
                transitions: vec![(StorageClass::StandardIa, 30), (StorageClass::Glacier, 90)],
                ..housekeeping()
            }],
            ..BucketProps::default()
        },
    )?;
    let raw = zone(
        app,
        stack,
        "Raw",
        key,
        access_logs,
        vec![
            LifecycleRule {
                id: Some("Tiering".into()),
                transitions: vec![
                    (StorageClass::StandardIa, cfg.raw_infrequent_access_days),
                    (StorageClass::Glacier, cfg.raw_infrequent_access_days + 60),
                ],
                ..LifecycleRule::default()
            },
            housekeeping(),
        ],
    )?;
    let conformed = zone(
        app,
        stack,
        "Conformed",
        key,
        access_logs,
        vec![
            LifecycleRule {
                id: Some("Tiering".into()),
                transitions: vec![(StorageClass::IntelligentTiering, 30)],
                ..LifecycleRule::default()
            },
            housekeeping(),
        ],
    )?;
    let purpose_built = zone(
        app,
        stack,
        "PurposeBuilt",
        key,
        access_logs,
        vec![
            LifecycleRule {
                id: Some("Tiering".into()),
                transitions: vec![(StorageClass::IntelligentTiering, 30)],
                ..LifecycleRule::default()
            },
            housekeeping(),
        ],
    )?;
    let code = zone(
        app,
        stack,
        "Code",
        key,
        access_logs,
        vec![
            LifecycleRule {
                id: Some("GlueTemporaryFiles".into()),
                prefix: Some("temporary/".into()),
                expiration_days: Some(7),
                ..LifecycleRule::default()
            },
            housekeeping(),
        ],
    )?;

    // Glue: catalog, encryption, network, crawler, jobs.
    let database = Database::new(
        app,
        stack,
        "Database",
        DatabaseProps {
            description: Some(format!(
                "data lake ({}): conformed and purpose-built tables",
                cfg.name
            )),
            ..DatabaseProps::new(&cfg.database_name())
        },
    )?;
    let security = SecurityConfiguration::new(
        app,
        stack,
        "GlueSecurity",
        SecurityConfigurationProps {
            name: Some(format!("data-lake-{}", cfg.slug())),
            ..SecurityConfigurationProps::new(key)
        },
    )?;
    DataCatalogEncryption::new(
        app,
        stack,
        "CatalogEncryption",
        DataCatalogEncryptionProps::new(key),
    )?;
    let subnet = vpc
        .require_subnets(app, stack.node(), SubnetType::PrivateIsolated)?
        .first()
        .map(|s| (*s).clone())
        .ok_or_else(|| invalid(app, stack, "the VPC has no isolated subnet for Glue".into()))?;
    let connection = Connection::network(app, stack, "GlueConnection", vpc, &subnet)?;
    let crawler = Crawler::new(
        app,
        stack,
        "ConformedCrawler",
        CrawlerProps {
            table_prefix: Some("conformed_".into()),
            schedule: Some("cron(0 4 * * ? *)".into()),
            security_configuration: Some(security),
            ..CrawlerProps::new(database, vec![S3Target::new(&conformed, "")])
        },
    )?;
    let job_props = |script: &str, description: &str, extra: &[(&str, Value)]| {
        let mut props = JobProps {
            description: Some(description.into()),
            number_of_workers: cfg.glue_workers,
            security_configuration: Some(security),
            connections: vec![connection],
            ..JobProps::new(JobScript::from_asset(assets_dir().join(script)))
        };
        let in_code = |prefix: &str| {
            Value::join(
                "",
                [Value::from("s3://"), code.bucket_name(), Value::from(prefix)],
            )
        };
        let args = &mut props.default_arguments;
        args.insert("--TempDir".into(), in_code("/temporary/"));
        args.insert("--enable-spark-ui".into(), Value::from("true"));
        args.insert("--spark-event-logs-path".into(), in_code("/spark-logs/"));
        for (k, v) in extra {
            args.insert((*k).to_string(), v.clone());
        }
        props
    };
    let job1 = Job::new(
        app,
        stack,
        "RawToConformedJob",
        job_props(
            RAW_TO_CONFORMED,
            "CSV files of the raw zone to Parquet in the conformed zone",
            &[("--target_bucket", conformed.bucket_name())],
        ),
    )?;
    let job2 = Job::new(
        app,
        stack,
        "ConformedToPurposeBuiltJob",
        job_props(
            CONFORMED_TO_PURPOSE_BUILT,
            "The rules: conformed Parquet to the purpose-built zone and the catalog",
            &[
                ("--source_bucket", conformed.bucket_name()),
                ("--target_bucket", purpose_built.bucket_name()),
                ("--database", database.database_name()),
            ],
        ),
    )?;
    raw.grant_read(app, &job1)?;
    conformed.grant_write(app, &job1)?;
    conformed.grant_read(app, &job2)?;
    purpose_built.grant_read_write(app, &job2)?;
    for j in [&job1, &job2] {
        code.grant_read_write(app, j)?;
    }

    // Lake Formation: administrators, the zones as data locations, the Glue roles.
    let settings = DataLakeSettings::new(
        app,
        stack,
        "LakeFormationSettings",
        DataLakeSettingsProps::new(cfg.lake_admins.iter().map(|a| Value::from(a.as_str())).collect()),
    )?;
    let mut locations = Vec::new();
    for (id, bucket) in [
        ("ConformedLocation", &conformed),
        ("PurposeBuiltLocation", &purpose_built),
    ] {
        let loc = DataLakeLocation::new(app, stack, id, DataLakeLocationProps::new(bucket))?;
        locations.push((loc, *bucket));
    }
    // Lake Formation's service-linked role reads the registered zones for its grantees.
    key.add_to_resource_policy(
        app,
        iam::PolicyStatement::allow()
            .principal(Principal::arn(Value::sub(
                "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/lakeformation.amazonaws.com/AWSServiceRoleForLakeFormationDataAccess",
            )))
            .actions(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"])
            .resource("*"),
    )?;
    let grants: [(&str, Role, LfResource, Vec<Permission>); 5] = [
        (
            "CrawlerDatabase",
            crawler.role(),
            LfResource::database(&database),
            vec![Permission::CreateTable, Permission::Describe, Permission::Alter],
        ),
        (
            "CrawlerTables",
            crawler.role(),
            LfResource::all_tables(&database),
            vec![Permission::All],
        ),
        (
            "PurposeBuiltJobDatabase",
            job2.role(),
            LfResource::database(&database),
            vec![Permission::CreateTable, Permission::Describe, Permission::Alter],
        ),
        (
            "PurposeBuiltJobTables",
            job2.role(),
            LfResource::all_tables(&database),
            vec![Permission::All],
        ),
        (
            "PurposeBuiltJobLocation",
            job2.role(),
            LfResource::bucket(&purpose_built),
            vec![Permission::DataLocationAccess],
        ),
    ];
    for (id, role, resource, perms) in grants {
        let p = Permissions::new(app, stack, id, PermissionsProps::new(role.arn(), resource, perms))?;
        p.depends_on_settings(app, &settings)?;
        for (loc, _) in &locations {
            p.depends_on(app, loc.resource().node())?;
        }
    }
    let p = Permissions::new(
        app,
        stack,
        "CrawlerLocation",
        PermissionsProps::new(
            crawler.role().arn(),
            LfResource::bucket(&conformed),
            [Permission::DataLocationAccess],
        ),
    )?;
    p.depends_on_settings(app, &settings)?;
    for (loc, _) in &locations {
        p.depends_on(app, loc.resource().node())?;
    }
    grant_data_access(app, &crawler)?;
    grant_data_access(app, &job2)?;

    // ETL state and notifications.
    let table = Table::new(
        app,
        stack,
        "EtlState",
        TableProps {
            encryption: TableEncryption::CustomerManaged(key),
            ..TableProps::new(Attribute::string(STATE_TABLE_KEY))
        },
    )?;
    let topic = Topic::new(
        app,
        stack,
        "EtlNotifications",
        TopicProps {
            display_name: Some(format!("Data lake ETL ({})", cfg.name)),
            master_key: Some(key),
            ..TopicProps::default()
        },
    )?;
    if let Some(email) = &cfg.notification_email {
        topic.add_subscription(
            app,
            Subscriber::Email(email.clone()),
            SubscriptionProps::default(),
        )?;
    }

    // The state machine.
    let definition =
        etl_definition(&job1, &job2, &table, &topic).map_err(|e| invalid(app, stack, e.to_string()))?;
    let machine = StateMachine::new(
        app,
        stack,
        "EtlStateMachine",
        StateMachineProps {
            timeout: Some(Duration::from_secs(3 * 3600)),
            logs: Some(LogOptions {
                level: LogLevel::All,
                ..LogOptions::default()
            }),
            tracing: true,
            ..StateMachineProps::new(definition)
        },
    )?;
    // The status updates and notifications go through the lake's key.
    key.grant(app, &machine, KEY_WRITE_ACTIONS.iter().copied())?;
    if cfg.name == SMOKE_TESTED_STAGE {
        smoke_test_role(app, stack, &machine)?;
    }

    // The trigger: object created in the raw zone -> record the file, start the flow.
    // S3 invokes it asynchronously: the notifications Lambda gives up on are kept.
    let trigger_failures = crate::dead_letter_queue(app, stack, "EtlTriggerFailures")?;
    let trigger = Function::new(
        app,
        stack,
        "EtlTrigger",
        FunctionProps {
            description: Some(
                "Records a raw file in the state table and starts the ETL state machine".into(),
            ),
            timeout: Some(Duration::from_secs(30)),
            memory_size: Some(256),
            dead_letter_queue: Some(trigger_failures.into()),
            environment: [
                ("STATE_TABLE".to_string(), table.table_name()),
                ("STATE_MACHINE_ARN".to_string(), machine.state_machine_arn()),
            ]
            .into_iter()
            .collect(),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "trigger.handler",
                Code::from_asset(assets_dir().join(TRIGGER_CODE)),
            )
        },
    )?;
    // Least privilege: one item write on the table (and its key), starting this machine.
    iam::grant(app, &trigger, ["dynamodb:PutItem"], [table.table_arn()])?;
    key.grant(app, &trigger, ["kms:Decrypt", "kms:GenerateDataKey*"])?;
    machine.grant_start_execution(app, &trigger)?;
    trigger.add_event_source(
        app,
        S3EventSource {
            bucket: raw,
            events: vec![EventType::ObjectCreated],
            filter: NotificationKeyFilter {
                prefix: None,
                suffix: Some(".csv".into()),
            },
        },
    )?;

    // checkov's checks that this system answers rather than fixes.
    crate::answer_checks(
        app,
        trigger.node(),
        &[
            ("CKV_AWS_117", crate::lambda_reasons::OUTSIDE_VPC),
            ("CKV_AWS_115", crate::lambda_reasons::NO_RESERVED_CONCURRENCY),
            ("CKV_AWS_173", crate::lambda_reasons::ENV_WITHOUT_CMK),
        ],
    )?;
    // The stack's bucket notifications handler (the raw zone's notifications resource).
    if let Some(handler) = app.node(stack.node()).child(cairn::s3::NOTIFICATIONS_HANDLER_ID) {
        crate::answer_checks(
            app,
            handler,
            &[
                (
                    "CKV_AWS_116",
                    "Called by CloudFormation for the bucket's Custom::S3BucketNotifications resource: the handler answers every request, a failure included, to CloudFormation, which fails and rolls back the deployment; a dead-letter queue would keep a request nobody replays",
                ),
                ("CKV_AWS_117", crate::lambda_reasons::OUTSIDE_VPC),
                ("CKV_AWS_115", crate::lambda_reasons::NO_RESERVED_CONCURRENCY),
            ],
        )?;
    }
    crate::answer_checks(
        app,
        access_logs.node(),
        &[(
            "CKV_AWS_18",
            "This bucket is the destination of the zones' server access logs: logging access to it would need another bucket whose own access goes unlogged, so the chain ends at this log bucket",
        )],
    )?;

    for (id, value, description) in [
        (
            "RawBucketName",
            raw.bucket_name(),
            "Upload CSV files here (under <dataset>/) to run the ETL",
        ),
        (
            "StateMachineArn",
            machine.state_machine_arn(),
            "The ETL state machine",
        ),
        ("StateTableName", table.table_name(), "One item per ETL run"),
    ] {
        app.output(stack, id, Output::new(value).description(description))?;
    }
    Ok(Lake { key, database })
}

// -------------------------------------------------------------------- analytics ----

fn analytics_stack(app: &mut App, stage: Stage, cfg: &EnvConfig, lake: &Lake) -> Result<()> {
    let stack = stack(
        app,
        stage,
        STACKS[2],
        cfg,
        "the data-analyst role and the Athena workgroup",
    )?;
    let results = Bucket::new(
        app,
        stack,
        "QueryResults",
        BucketProps {
            encryption: BucketEncryption::Kms(lake.key),
            lifecycle_rules: vec![LifecycleRule {
                id: Some("ExpireResults".into()),
                expiration_days: Some(30),
                ..housekeeping()
            }],
            ..BucketProps::default()
        },
    )?;
    crate::answer_checks(
        app,
        results.node(),
        &[(
            "CKV_AWS_18",
            "Athena query results, expiring after 30 days, written and read only through the analysts' workgroup with the lake's key; Athena's query history and CloudTrail record who ran which query, which is the audit trail of these objects",
        )],
    )?;
    let workgroup = WorkGroup::new(
        app,
        stack,
        "AnalystWorkGroup",
        WorkGroupProps {
            description: Some(format!(
                "Data analysts ({}): results encrypted with the lake's key",
                cfg.name
            )),
            key: Some(lake.key),
            bytes_scanned_cutoff_per_query: Some(100_000_000_000),
            ..WorkGroupProps::new(&cfg.workgroup_name(), &results)
        },
    )?;
    let analyst = Role::new(
        app,
        stack,
        "DataAnalystRole",
        RoleProps {
            description: Some("Data analysts: query the purpose-built tables with Athena".into()),
            max_session_duration: Some(4 * 3600),
            ..RoleProps::new(Principal::account(cfg.account.as_str()))
        },
    )?;
    workgroup.grant_query(app, &analyst)?;
    lake.database.grant_read(app, &analyst)?;
    grant_data_access(app, &analyst)?;
    let lf = [
        (
            "AnalystDatabase",
            LfResource::database(&lake.database),
            vec![Permission::Describe],
        ),
        (
            "AnalystTables",
            LfResource::all_tables(&lake.database),
            vec![Permission::Select, Permission::Describe],
        ),
    ];
    // The stack imports from DataLake, so the Lake Formation settings there come first.
    for (id, resource, perms) in lf {
        Permissions::new(
            app,
            stack,
            id,
            PermissionsProps::new(analyst.arn(), resource, perms),
        )?;
    }
    app.output(
        stack,
        "AnalystRoleArn",
        Output::new(analyst.arn()).description("Assume this role to query the data lake"),
    )?;
    app.output(stack, "WorkGroupName", Output::new(workgroup.work_group_name()))?;
    Ok(())
}

/// Adds one environment's stage (its three stacks) to `app`.
pub fn add_data_lake_stage(app: &mut App, cfg: &EnvConfig) -> Result<Stage> {
    let root = app.root();
    let stage = app.stage(root, &cfg.name, Environment::new(&cfg.account, &cfg.region))?;
    let vpc = network_stack(app, stage, cfg)?;
    let lake = data_lake_stack(app, stage, cfg, &vpc)?;
    analytics_stack(app, stage, cfg, &lake)?;
    Ok(stage)
}

/// The stack of the delivery pipeline.
pub const PIPELINE_STACK: &str = "DataLakePipeline";
/// The account the pipeline runs in (each environment's bootstrap trusts it:
/// `cairn bootstrap --trust 444444444444`).
pub const TOOLING_ACCOUNT: &str = "444444444444";
/// The CodeCommit repository (and branch) the pipeline builds.
pub const REPOSITORY: (&str, &str) = ("data-lake", "main");

/// Adds the delivery pipeline of the environments' stages (in the order given, one wave
/// each; a stage named `Prod` waits for a manual approval, one named `Test` is followed
/// by a smoke test) to a [`PIPELINE_STACK`] stack in the tooling account.
pub fn add_delivery_pipeline(app: &mut App, stages: &[(EnvConfig, Stage)]) -> Result<Pipeline> {
    let root = app.root();
    let stack = app.stack_with(
        root,
        PIPELINE_STACK,
        StackProps {
            env: Some(Environment::new(TOOLING_ACCOUNT, "us-east-1")),
            description: Some("data-lake: the delivery pipeline of the dev, test and prod stages".into()),
            ..StackProps::default()
        },
    )?;
    let pipeline = Pipeline::new(
        app,
        stack,
        "Pipeline",
        PipelineProps::new(Source::codecommit(REPOSITORY.0, REPOSITORY.1), "data-lake"),
    )?;
    for (cfg, stage) in stages {
        let wave = pipeline.add_wave(app, &cfg.name)?;
        if cfg.name == "Prod" {
            wave.add_pre(app, Step::approval("PromoteToProd"))?;
        }
        wave.add_stage(app, *stage)?;
        if cfg.name == SMOKE_TESTED_STAGE {
            wave.add_post(app, smoke_test_step(cfg))?;
        }
    }
    crate::answer_pipeline_checks(app, &pipeline)?;
    Ok(pipeline)
}

/// The smoke test of the stage `cfg` (run in the tooling account by a project whose role
/// is [`SMOKE_TEST_PROJECT_ROLE`]): assumes [`SMOKE_TEST_ROLE`] in the stage's account,
/// checks the credentials are that account's, then fails unless the ETL state machine
/// is `ACTIVE` and both Glue jobs exist.
pub fn smoke_test_step(cfg: &EnvConfig) -> Step {
    let role_arn = Value::sub(&format!(
        "arn:${{AWS::Partition}}:iam::{}:role/{SMOKE_TEST_ROLE}",
        cfg.account
    ));
    let commands = [
        "set -eu",
        "CREDS=$(aws sts assume-role --role-arn \"$SMOKE_TEST_ROLE_ARN\" --role-session-name data-lake-smoke-test --query Credentials --output text)",
        "export AWS_ACCESS_KEY_ID=$(echo \"$CREDS\" | cut -f1) AWS_SECRET_ACCESS_KEY=$(echo \"$CREDS\" | cut -f3) AWS_SESSION_TOKEN=$(echo \"$CREDS\" | cut -f4)",
        "ACCOUNT=$(aws sts get-caller-identity --query Account --output text); echo \"smoke test in $ACCOUNT\"; [ \"$ACCOUNT\" = \"$TARGET_ACCOUNT\" ]",
        "MACHINE=$(aws stepfunctions list-state-machines --region \"$TARGET_REGION\" --query \"stateMachines[?contains(name, 'EtlStateMachine')].stateMachineArn | [0]\" --output text); echo \"state machine $MACHINE\"; [ -n \"$MACHINE\" ] && [ \"$MACHINE\" != None ]",
        "STATUS=$(aws stepfunctions describe-state-machine --region \"$TARGET_REGION\" --state-machine-arn \"$MACHINE\" --query status --output text); echo \"status $STATUS\"; [ \"$STATUS\" = ACTIVE ]",
        "JOBS=$(aws glue get-jobs --region \"$TARGET_REGION\" --query 'Jobs[].Name' --output text); echo \"jobs $JOBS\"; for JOB in RawToConformed ConformedToPurposeBuilt; do echo \"$JOBS\" | tr '\\t' '\\n' | grep -q \"$JOB\"; done",
    ];
    Step::Shell {
        name: "SmokeTest".into(),
        commands: commands.iter().map(|c| c.to_string()).collect(),
        env: [
            ("SMOKE_TEST_ROLE_ARN".to_string(), role_arn.clone()),
            ("TARGET_ACCOUNT".to_string(), Value::from(cfg.account.as_str())),
            ("TARGET_REGION".to_string(), Value::from(cfg.region.as_str())),
        ]
        .into_iter()
        .collect(),
        statements: vec![iam::PolicyStatement::allow()
            .actions(["sts:AssumeRole"])
            .resource(role_arn)],
        role_name: Some(SMOKE_TEST_PROJECT_ROLE.into()),
    }
}

/// Builds the `data-lake` app: one stage per environment, the pipeline that delivers
/// them, the recommended rules over all.
pub fn build() -> Result<App> {
    build_with(cairn::Context::from_env()?)
}

/// The context committed with the example (`examples/data-lake/cdk.context.json`: the zones
/// of its environments, as `cairn synth` there looked them up), for tests that synthesize
/// it without the CLI.
pub fn committed_context() -> Result<cairn::Context> {
    cairn::Context::from_json(include_str!("../data-lake/cdk.context.json"))
}

/// [`build`] with a given context (the zones of the concrete environments are looked up).
pub fn build_with(context: cairn::Context) -> Result<App> {
    let mut app = context.into_app();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());
    let mut stages = Vec::new();
    for cfg in environments() {
        let stage = add_data_lake_stage(&mut app, &cfg)?;
        stages.push((cfg, stage));
    }
    add_delivery_pipeline(&mut app, &stages)?;
    let root = app.root();
    RuleSet::recommended().apply(&mut app, root);
    Ok(app)
}
