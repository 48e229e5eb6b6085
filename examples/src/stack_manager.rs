//! `stack-manager`: the AEM Stack Manager, cloud-native (the design of Shine Solutions'
//! aem-stack-manager-cloud), with the ordered offline tasks in Step Functions.
//!
//! Operators (or CI jobs) publish the messages of `aem-stack-manager-messenger` to an SNS
//! topic: `{"externalId", "task", "stack_prefix", "details": {"component": [...],
//! "comment", "parameters": {...}}}`. A Lambda function runs the task's SSM Command
//! document on the AEM instances tagged with the stack prefix and one of the components,
//! with the parameters the document declares (the others, such as the messenger's
//! `executionTimeout`, are recorded as ignored), and records the task in DynamoDB under
//! the SNS message id, with the caller's `externalId`. Run Command's status-change events
//! (EventBridge) bring the command's final status into the task (`Success` or `Failed`,
//! what the messenger polls for). A second function answers "what became of my task?",
//! by message id or by the caller's `externalId`. The two ordered, stateful tasks (`offline-snapshot-full-set` and
//! `offline-compaction-snapshot-full-set`: stop the authors, snapshot, start them again)
//! are state machines instead of the original Lambda + DynamoDB choreography.
//!
//! Two stacks:
//!
//! - `AemSsmCommands`: one SSM Command document per task, read from
//!   `assets/stack-manager/documents/*.yaml`, whose steps share include fragments
//!   (`fragments/generate-task-facts.yaml` is the first step of every document); with
//!   [`StackManagerProps::share_documents_with`] the documents are shared with other
//!   accounts (an AWS custom resource per document and account: `ModifyDocumentPermission`).
//! - `AemStackManager` (parameter `StackManagerVersion`): the topics
//!   `AemStackManager<version>` and `AemOfflineBackup<version>`, both subscribed by the
//!   stack-manager function; the task table (key `message_id`, TTL `ttl`, point-in-time
//!   recovery, KMS, indexes by `externalId` and `command_id`); the command-status
//!   function and its EventBridge rule; the task-status query function `AemTaskQuery<version>`; the two
//!   offline state machines and a notifications topic their failure paths publish to; and
//!   the scheduled snapshot purge. The document names and ARNs cross stacks as exports.
//!
//! Permissions are least privilege: the stack-manager function may `ssm:SendCommand` only
//! with its documents and only on instances tagged `StackPrefix` with one of the managed
//! prefixes (parameter `ManagedStackPrefixes`), and may only put and update items of its
//! table; the purge may delete only snapshots tagged for the managed stacks.
//!
//! The recommended rules run over the whole app and every property is checked against its
//! schema; the app synthesizes with nothing left to fix.

use std::path::PathBuf;
use std::time::Duration;

use cairn::custom_resources::{
    AwsCustomResource, AwsCustomResourcePolicy, AwsCustomResourceProps, AwsSdkCall, PhysicalResourceId,
};
use cairn::dynamodb::{Attribute, GlobalSecondaryIndexProps, Table, TableProps};
use cairn::events::{CronOptions, EventPattern, Rule, RuleProps, Schedule};
use cairn::iam::PolicyStatement;
use cairn::lambda::{CfnFunction, Code, Function, FunctionProps, Runtime, SnsEventSource};
use cairn::sns::{Subscriber, SubscriptionProps, Topic, TopicProps};
use cairn::ssm::{Document, DocumentProps};
use cairn::stepfunctions::{
    errors, Catch, Choice, Condition, Definition, DefinitionError, Fail, Instances, Params, Pass, Retry,
    SendCommand, StateId, StateMachine, StateMachineProps, StateRef, Succeed, Task, Wait,
};
use cairn::{App, Error, Intrinsic, Output, Parameter, ParameterType, Result, Stack, Value};
use cairn_aspects::{RuleSet, Tags};

/// The stack holding the SSM Command documents.
pub const COMMANDS_STACK: &str = "AemSsmCommands";
/// The stack holding the topics, functions, table and state machines.
pub const MANAGER_STACK: &str = "AemStackManager";
/// The version parameter: topic and query function names end with it.
pub const VERSION_PARAMETER: &str = "StackManagerVersion";

/// The tasks run as SSM Command documents by the stack-manager function: task name,
/// construct id of its document, and the document file under `documents/`.
pub const COMMAND_TASKS: &[(&str, &str, &str)] = &[
    ("promote-author", "PromoteAuthor", "promote-author.yaml"),
    ("deploy-artifact", "DeployArtifact", "deploy-artifact.yaml"),
    ("deploy-artifacts", "DeployArtifacts", "deploy-artifacts.yaml"),
    ("export-package", "ExportPackage", "export-package.yaml"),
    ("import-package", "ImportPackage", "import-package.yaml"),
    ("offline-snapshot", "OfflineSnapshot", "offline-snapshot.yaml"),
    (
        "offline-compaction-snapshot",
        "OfflineCompactionSnapshot",
        "offline-compaction-snapshot.yaml",
    ),
    ("manage-service", "ManageService", "manage-service.yaml"),
    ("enable-crxde", "EnableCrxde", "enable-crxde.yaml"),
    ("disable-crxde", "DisableCrxde", "disable-crxde.yaml"),
    ("run-adhoc-puppet", "RunAdhocPuppet", "run-adhoc-puppet.yaml"),
    ("live-snapshot", "LiveSnapshot", "live-snapshot.yaml"),
    (
        "flush-dispatcher-cache",
        "FlushDispatcherCache",
        "flush-dispatcher-cache.yaml",
    ),
];

/// The document only the state machines run (construct id, file): compaction while AEM
/// is stopped. It is not a task of its own, so the function may not send it.
pub const OFFLINE_COMPACTION_DOCUMENT: (&str, &str) = ("OfflineCompaction", "offline-compaction.yaml");

/// The ordered tasks run as state machines: task name and construct id.
pub const STATE_MACHINE_TASKS: &[(&str, &str)] = &[
    ("offline-snapshot-full-set", "OfflineSnapshotFullSet"),
    (
        "offline-compaction-snapshot-full-set",
        "OfflineCompactionSnapshotFullSet",
    ),
];

/// The parameter naming the bucket of exported packages (the `backupBucket` of the
/// export-package and import-package documents when a message passes none).
pub const PACKAGE_BUCKET_PARAMETER: &str = "PackageBucketName";

/// The index of the task table by the caller's identifier (the messenger's `externalId`).
pub const EXTERNAL_ID_INDEX: &str = "externalId";
/// The index of the task table by Run Command command id.
pub const COMMAND_ID_INDEX: &str = "command_id";
/// The Run Command statuses that still change: the command-status rule forwards every
/// other (final) status (Success, Failed, Cancelled, TimedOut, DeliveryTimedOut,
/// Undeliverable, Incomplete, AccessDenied ...).
pub const RUNNING_COMMAND_STATUSES: &[&str] = &["Pending", "InProgress", "Delayed", "Cancelling"];

/// The default schedule of the snapshot purge: daily at 03:00 UTC.
pub fn default_purge_schedule() -> Schedule {
    Schedule::cron(CronOptions {
        minute: Some("0".into()),
        hour: Some("3".into()),
        ..Default::default()
    })
}

/// Settings of the app; [`StackManagerProps::default`] is what the binary deploys.
#[derive(Debug, Clone, PartialEq)]
pub struct StackManagerProps {
    /// The default of the `StackManagerVersion` parameter.
    pub default_version: String,
    /// When the snapshot purge runs (default: [`default_purge_schedule`]).
    pub purge_schedule: Schedule,
    /// The default of the `SnapshotRetentionDays` parameter.
    pub snapshot_retention_days: u32,
    /// Accounts (12-digit ids) the SSM documents are shared with; none by default.
    /// CloudFormation cannot share documents: each document gets an AWS call per account
    /// (`<Doc>/Share<account>`, `cairn::custom_resources::AwsCustomResource`) that shares
    /// it on create and unshares it on delete, allowed on that document only.
    pub share_documents_with: Vec<String>,
    /// An email address subscribed to the failure notifications of the offline tasks.
    pub notification_email: Option<String>,
    /// The directory of the SSM Command documents (default: [`documents_dir`]). Each
    /// document is read as a typed Command document (`cairn::ssm::CommandDocument`): a
    /// malformed one fails the build, naming the file, the step and the line.
    pub documents_dir: PathBuf,
}

impl Default for StackManagerProps {
    fn default() -> Self {
        StackManagerProps {
            default_version: "v1".into(),
            purge_schedule: default_purge_schedule(),
            snapshot_retention_days: 30,
            share_documents_with: Vec::new(),
            notification_email: None,
            documents_dir: documents_dir(),
        }
    }
}

/// Builds the `stack-manager` app with the default settings.
pub fn build() -> Result<App> {
    build_with(StackManagerProps::default())
}

/// Builds the `stack-manager` app.
pub fn build_with(props: StackManagerProps) -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());

    let commands = app.stack(COMMANDS_STACK)?;
    app.stack_props_mut(commands).description =
        Some("AEM Stack Manager: the SSM Command documents of the AEM tasks".into());
    let documents = documents(&mut app, commands, &props)?;

    let manager = app.stack(MANAGER_STACK)?;
    app.stack_props_mut(manager).description = Some(
        "AEM Stack Manager: task topics, the stack-manager and task-query functions, the task table, the offline snapshot state machines and the snapshot purge"
            .into(),
    );
    manager_stack(&mut app, manager, &documents, &props)?;

    let root = app.root();
    Tags::of(&mut app, root).add("Application", "aem-stack-manager");
    RuleSet::recommended().apply(&mut app, root);
    Ok(app)
}

/// The documents of the commands stack.
struct Documents {
    /// (task, document) of every command task, in [`COMMAND_TASKS`] order.
    tasks: Vec<(&'static str, Document)>,
    /// `{"<task>": {"<parameter>": <required>, ...}, ...}`: what each task's document
    /// declares, read from the typed documents (the function's `TASK_PARAMETERS`).
    parameters: String,
    /// The compaction-only document of the state machines.
    offline_compaction: Document,
}

impl Documents {
    fn task(&self, name: &str) -> Option<Document> {
        self.tasks.iter().find(|(t, _)| *t == name).map(|(_, d)| *d)
    }
}

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/stack-manager")
}

/// The SSM Command documents of the example: `assets/stack-manager/documents`.
pub fn documents_dir() -> PathBuf {
    assets().join("documents")
}

/// The document of `file` (under `dir`): its errors name the construct, the file, the
/// step and the line.
fn document(app: &mut App, stack: Stack, id: &str, dir: &std::path::Path, file: &str) -> Result<Document> {
    let props = DocumentProps {
        target_type: Some("/AWS::EC2::Instance".into()),
        ..DocumentProps::new(dir.join(file))
    };
    Document::new(app, stack, id, props)
}

fn documents(app: &mut App, stack: Stack, props: &StackManagerProps) -> Result<Documents> {
    let dir = &props.documents_dir;
    let mut tasks = Vec::new();
    for (task, id, file) in COMMAND_TASKS {
        tasks.push((*task, document(app, stack, id, dir, file)?));
    }
    let (id, file) = OFFLINE_COMPACTION_DOCUMENT;
    let offline_compaction = document(app, stack, id, dir, file)?;
    let parameters = task_parameters(dir)?;
    let mapping: Vec<(&str, Value)> = tasks
        .iter()
        .map(|(task, doc)| (*task, doc.document_name()))
        .collect();
    app.output(
        stack,
        "TaskDocumentMapping",
        Output::new(json_object(&mapping)).description("Task to SSM Command document name (JSON)"),
    )?;
    let all = tasks.iter().map(|(_, d)| *d).chain([offline_compaction]);
    for doc in all.collect::<Vec<_>>() {
        app.output(
            stack,
            &format!("{}Name", app.node(doc.node()).id()),
            Output::new(doc.document_name()).description("SSM Command document name"),
        )?;
        for account in &props.share_documents_with {
            share_document(app, doc, account)?;
        }
    }
    Ok(Documents {
        tasks,
        parameters,
        offline_compaction,
    })
}

/// Shares `doc` with `account` (the seed's `manage_document_permisson.py`, deployed): an
/// AWS call `<Doc>/Share<account>` adds the account on create
/// (`ssm:ModifyDocumentPermission`) and removes it on delete, so adding or removing an
/// account in [`StackManagerProps::share_documents_with`] shares or unshares the documents
/// at the next deploy. Its policy allows the call on this document only.
fn share_document(app: &mut App, doc: Document, account: &str) -> Result<AwsCustomResource> {
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(app.invalid_props(
            doc.node(),
            format!("share_documents_with: {account:?} is not an AWS account id (12 digits)"),
        ));
    }
    let permission = |name: Value, change: &str| AwsSdkCall {
        parameters: Some(Value::map([
            ("Name", name),
            ("PermissionType", Value::from("Share")),
            (change, Value::list([Value::from(account)])),
        ])),
        ..AwsSdkCall::new("SSM", "modifyDocumentPermission")
    };
    AwsCustomResource::new(
        app,
        doc,
        &format!("Share{account}"),
        AwsCustomResourceProps {
            on_create: Some(AwsSdkCall {
                physical_resource_id: Some(PhysicalResourceId::of(Value::join(
                    "",
                    [doc.document_name(), Value::from(format!(":{account}"))],
                ))),
                ..permission(doc.document_name(), "AccountIdsToAdd")
            }),
            on_delete: Some(permission(doc.document_name(), "AccountIdsToRemove")),
            ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls([doc.document_arn()]))
        },
    )
}

/// The parameters each task's document declares, and whether a caller must pass them
/// (no default), as JSON: `{"deploy-artifacts": {"descriptorFile": true}, ...}`.
pub fn task_parameters(dir: &std::path::Path) -> Result<String> {
    let mut tasks = serde_json::Map::new();
    for (task, id, file) in COMMAND_TASKS {
        let doc =
            cairn::ssm::CommandDocument::from_file(dir.join(file)).map_err(|e| Error::InvalidProps {
                path: format!("{COMMANDS_STACK}/{id}"),
                problem: e.to_string(),
            })?;
        let declared: serde_json::Map<String, serde_json::Value> = doc
            .parameters
            .iter()
            .map(|(name, p)| (name.clone(), serde_json::Value::Bool(p.is_required())))
            .collect();
        tasks.insert((*task).to_string(), serde_json::Value::Object(declared));
    }
    Ok(serde_json::Value::Object(tasks).to_string())
}

/// `{"<key>":"<value>",...}` as a value: a JSON object of strings whose values may be
/// references (document names, ARNs), joined at deploy time.
fn json_object(entries: &[(&str, Value)]) -> Value {
    let mut parts = Vec::new();
    let mut text = String::from("{");
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!("\"{key}\":\""));
        parts.push(Value::from(std::mem::take(&mut text)));
        parts.push(value.clone());
        text.push('"');
    }
    text.push('}');
    parts.push(Value::from(text));
    Value::join("", parts)
}

fn sfn_error(stack: &'static str, id: &'static str) -> impl Fn(DefinitionError) -> Error {
    move |e| Error::InvalidProps {
        path: format!("{stack}/{id}"),
        problem: e.to_string(),
    }
}

fn manager_stack(
    app: &mut App,
    stack: Stack,
    documents: &Documents,
    props: &StackManagerProps,
) -> Result<()> {
    app.parameter(
        stack,
        VERSION_PARAMETER,
        Parameter::string()
            .default_value(props.default_version.as_str())
            .description("AEM Stack Manager version: the suffix of the topic and query function names")
            .allowed_pattern("^[A-Za-z0-9-]{1,16}$")
            .constraint_description("1 to 16 letters, digits and '-'"),
    )?;
    let prefixes = app.parameter(
        stack,
        "ManagedStackPrefixes",
        Parameter::new(ParameterType::CommaDelimitedList)
            .default_value("*")
            .description(
                "StackPrefix tag values (wildcards allowed) of the AEM stacks this stack manager may run commands on and purge snapshots of",
            ),
    )?;
    let retention = app.parameter(
        stack,
        "SnapshotRetentionDays",
        Parameter::number()
            .default_value(i64::from(props.snapshot_retention_days))
            .description("How many days the snapshot purge keeps offline and live snapshots")
            .range(1.0, 3650.0),
    )?;
    let package_bucket = app.parameter(
        stack,
        PACKAGE_BUCKET_PARAMETER,
        Parameter::string()
            .default_value("")
            .description(
                "Bucket the export-package and import-package tasks use when a message names none (the messenger's messages do not); empty: the message must pass backupBucket",
            )
            .allowed_pattern("^$|^[a-z0-9.-]{3,63}$")
            .constraint_description("empty, or a bucket name"),
    )?;
    let managed_prefixes = prefixes.value();

    // Topics, named after the version.
    let stack_manager_topic = Topic::new(
        app,
        stack,
        "StackManagerTopic",
        TopicProps {
            topic_name: Some(Value::sub("AemStackManager${StackManagerVersion}")),
            display_name: Some("AEM Stack Manager".into()),
            ..TopicProps::default()
        },
    )?;
    let offline_backup_topic = Topic::new(
        app,
        stack,
        "OfflineBackupTopic",
        TopicProps {
            topic_name: Some(Value::sub("AemOfflineBackup${StackManagerVersion}")),
            display_name: Some("AEM Offline Backup".into()),
            ..TopicProps::default()
        },
    )?;
    let notifications = Topic::new(
        app,
        stack,
        "NotificationsTopic",
        TopicProps {
            topic_name: Some(Value::sub("AemStackManagerNotifications${StackManagerVersion}")),
            display_name: Some("AEM Stack Manager notifications".into()),
            ..TopicProps::default()
        },
    )?;
    if let Some(email) = &props.notification_email {
        notifications.add_subscription(
            app,
            Subscriber::Email(email.clone()),
            SubscriptionProps::default(),
        )?;
    }

    let table = Table::new(
        app,
        stack,
        "TaskTable",
        TableProps {
            time_to_live_attribute: Some("ttl".into()),
            global_secondary_indexes: vec![
                GlobalSecondaryIndexProps::new(EXTERNAL_ID_INDEX, Attribute::string("externalId")),
                GlobalSecondaryIndexProps::new(COMMAND_ID_INDEX, Attribute::string("command_id")),
            ],
            ..TableProps::new(Attribute::string("message_id"))
        },
    )?;

    // SendCommand on AEM instances: only those tagged with a managed stack prefix.
    let instances_statement = PolicyStatement::allow()
        .actions(["ssm:SendCommand"])
        .resource(Value::sub(
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*",
        ))
        .condition(
            "StringLike",
            "ssm:resourceTag/StackPrefix",
            managed_prefixes.clone(),
        );

    let machines = offline_state_machines(
        app,
        stack,
        documents,
        table,
        notifications,
        &instances_statement,
        &managed_prefixes,
    )?;

    // The stack-manager function.
    let task_documents: Vec<(&str, Value)> = documents
        .tasks
        .iter()
        .map(|(task, doc)| (*task, doc.document_name()))
        .collect();
    let machine_mapping: Vec<(&str, Value)> = machines
        .iter()
        .map(|(task, m)| (*task, m.state_machine_arn()))
        .collect();
    let code = assets().join("lambda");
    // Invoked asynchronously by SNS: what Lambda gives up on after its retries is kept.
    let manager_failures = crate::dead_letter_queue(app, stack, "StackManagerFailures")?;
    let manager = Function::new(
        app,
        stack,
        "StackManagerFunction",
        FunctionProps {
            description: Some(
                "AEM Stack Manager: runs the task of an SNS message on the AEM instances".into(),
            ),
            timeout: Some(Duration::from_secs(60)),
            memory_size: Some(256),
            dead_letter_queue: Some(manager_failures.into()),
            environment: [
                ("TABLE_NAME".to_string(), table.table_name()),
                ("TASK_DOCUMENTS".to_string(), json_object(&task_documents)),
                (
                    "TASK_PARAMETERS".to_string(),
                    Value::from(documents.parameters.as_str()),
                ),
                (
                    "PARAMETER_DEFAULTS".to_string(),
                    json_object(&[("backupBucket", package_bucket.value())]),
                ),
                ("STATE_MACHINES".to_string(), json_object(&machine_mapping)),
                ("TASK_TTL_DAYS".to_string(), Value::from("7")),
            ]
            .into_iter()
            .collect(),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "stack_manager.handler",
                Code::from_asset(code.join("stack_manager")),
            )
        },
    )?;
    manager.add_event_source(app, SnsEventSource::new(stack_manager_topic))?;
    manager.add_event_source(app, SnsEventSource::new(offline_backup_topic))?;
    let role = manager.role();
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("FindAemInstances")
            .actions(["ec2:DescribeInstances"])
            .resource("*"),
    )?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("SendTaskDocuments")
            .actions(["ssm:SendCommand"])
            .resources(documents.tasks.iter().map(|(_, d)| d.document_arn())),
    )?;
    role.add_to_policy(app, instances_statement.clone().sid("SendToManagedInstances"))?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("RecordTasks")
            .actions(["dynamodb:PutItem", "dynamodb:UpdateItem"])
            .resource(table.table_arn()),
    )?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("StartOfflineTasks")
            .actions(["states:StartExecution"])
            .resources(machines.iter().map(|(_, m)| m.state_machine_arn())),
    )?;

    command_status(app, stack, table, &code)?;

    // The task-status query function.
    let query = Function::new(
        app,
        stack,
        "TaskQueryFunction",
        FunctionProps {
            description: Some(
                "AEM Stack Manager: the state of a task, by SNS message id or the caller's externalId".into(),
            ),
            timeout: Some(Duration::from_secs(15)),
            environment: [
                ("TABLE_NAME".to_string(), table.table_name()),
                ("EXTERNAL_ID_INDEX".to_string(), Value::from(EXTERNAL_ID_INDEX)),
            ]
            .into_iter()
            .collect(),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "task_query.handler",
                Code::from_asset(code.join("task_query")),
            )
        },
    )?;
    // The name users invoke, after the version (FunctionProps takes literal names only).
    if let Some(f) = app
        .node_mut(query.resource().node())
        .resource_mut::<CfnFunction>()
    {
        f.function_name = Some(Value::sub("AemTaskQuery${StackManagerVersion}").into());
    }
    query.role().add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("ReadTasks")
            .actions(["dynamodb:GetItem"])
            .resource(table.table_arn()),
    )?;
    query.role().add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("FindTasksByExternalId")
            .actions(["dynamodb:Query"])
            .resource(index_arn(table, EXTERNAL_ID_INDEX)),
    )?;
    query.role().add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("ReadCommandStatus")
            .actions(["ssm:ListCommands"])
            .resource("*"),
    )?;

    // The scheduled snapshot purge, invoked asynchronously by its schedule.
    let purge_failures = crate::dead_letter_queue(app, stack, "SnapshotPurgeFailures")?;
    let purge = Function::new(
        app,
        stack,
        "SnapshotPurgeFunction",
        FunctionProps {
            description: Some(
                "AEM Stack Manager: deletes the stacks' EBS snapshots older than the retention".into(),
            ),
            timeout: Some(Duration::from_secs(300)),
            dead_letter_queue: Some(purge_failures.into()),
            environment: [
                ("RETENTION_DAYS".to_string(), retention.value()),
                (
                    "STACK_PREFIXES".to_string(),
                    // Fn::Join of the list parameter itself
                    Intrinsic::Join(",".into(), managed_prefixes.clone()).into(),
                ),
                ("SNAPSHOT_TYPES".to_string(), Value::from("offline,live")),
            ]
            .into_iter()
            .collect(),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "snapshot_purge.handler",
                Code::from_asset(code.join("snapshot_purge")),
            )
        },
    )?;
    purge.add_event_source(app, props.purge_schedule.clone())?;

    // checkov's checks that this system answers rather than fixes.
    crate::answer_checks(
        app,
        query.node(),
        &[(
            "CKV_AWS_116",
            "Invoked synchronously by its users (lambda:InvokeFunction, RequestResponse) to read a task's state: errors return to the caller, and a dead-letter queue only receives failed asynchronous invocations",
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
    purge.role().add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("FindSnapshots")
            .actions(["ec2:DescribeSnapshots"])
            .resource("*"),
    )?;
    purge.role().add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("DeleteManagedSnapshots")
            .actions(["ec2:DeleteSnapshot"])
            .resource(Value::sub("arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*"))
            .condition("StringLike", "aws:ResourceTag/StackPrefix", managed_prefixes)
            .condition(
                "StringEquals",
                "aws:ResourceTag/SnapshotType",
                Value::list([Value::from("offline"), Value::from("live")]),
            ),
    )?;

    // Outputs.
    let outputs = [
        (
            "StackManagerTopicName",
            stack_manager_topic.topic_name(),
            "Publish AEM tasks here",
        ),
        (
            "StackManagerTopicArn",
            stack_manager_topic.topic_arn(),
            "ARN of the stack manager topic",
        ),
        (
            "OfflineBackupTopicName",
            offline_backup_topic.topic_name(),
            "Publish offline backup tasks here",
        ),
        (
            "OfflineBackupTopicArn",
            offline_backup_topic.topic_arn(),
            "ARN of the offline backup topic",
        ),
        (
            "NotificationsTopicArn",
            notifications.topic_arn(),
            "Failures of the offline tasks are published here",
        ),
        (
            "TaskQueryFunctionName",
            query.function_name(),
            "Invoke with {\"externalId\": ...} or {\"message_id\": ...} for the state of a task",
        ),
        ("TaskTableName", table.table_name(), "The task table"),
    ];
    for (id, value, description) in outputs {
        app.output(stack, id, Output::new(value).description(description))?;
    }
    for (task, machine) in &machines {
        let id = STATE_MACHINE_TASKS
            .iter()
            .find(|(t, _)| t == task)
            .map(|(_, id)| *id)
            .unwrap_or("StateMachine");
        app.output(
            stack,
            &format!("{id}StateMachineArn"),
            Output::new(machine.state_machine_arn()).description("State machine of the ordered offline task"),
        )?;
    }
    Ok(())
}

/// The ARN of an index of the table.
fn index_arn(table: Table, index: &str) -> Value {
    Value::join("", [table.table_arn(), Value::from(format!("/index/{index}"))])
}

/// Run Command's final statuses into the task table: an EventBridge rule on the
/// status-change events of commands, and a function (the stack-manager code, handler
/// `command_status_handler`) that finds the task by command id and sets its state.
fn command_status(app: &mut App, stack: Stack, table: Table, code: &std::path::Path) -> Result<()> {
    // Invoked asynchronously by the EventBridge rule below.
    let failures = crate::dead_letter_queue(app, stack, "CommandStatusFailures")?;
    let function = Function::new(
        app,
        stack,
        "CommandStatusFunction",
        FunctionProps {
            description: Some(
                "AEM Stack Manager: records the final status of a task's Run Command command".into(),
            ),
            timeout: Some(Duration::from_secs(30)),
            dead_letter_queue: Some(failures.into()),
            environment: [
                ("TABLE_NAME".to_string(), table.table_name()),
                ("COMMAND_ID_INDEX".to_string(), Value::from(COMMAND_ID_INDEX)),
            ]
            .into_iter()
            .collect(),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "stack_manager.command_status_handler",
                Code::from_asset(code.join("stack_manager")),
            )
        },
    )?;
    let role = function.role();
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("FindTasksByCommand")
            .actions(["dynamodb:Query"])
            .resource(index_arn(table, COMMAND_ID_INDEX)),
    )?;
    role.add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("RecordCommandStatus")
            .actions(["dynamodb:UpdateItem"])
            .resource(table.table_arn()),
    )?;
    let rule = Rule::new(
        app,
        stack,
        "CommandStatusRule",
        RuleProps {
            description: Some("AEM Stack Manager: final statuses of Run Command commands".into()),
            ..RuleProps::pattern(EventPattern {
                source: vec!["aws.ssm".into()],
                detail_type: vec!["EC2 Command Status-change Notification".into()],
                detail: Some(serde_json::json!({ "status": [{ "anything-but": RUNNING_COMMAND_STATUSES }] })),
                ..EventPattern::default()
            })
        },
    )?;
    rule.add_target(app, function)?;
    Ok(())
}

/// Which author instance a step runs on.
#[derive(Clone, Copy)]
enum Author {
    Primary,
    Standby,
}

impl Author {
    /// Where the instance ids are in the state (from `describeInstances`).
    fn ids_path(self) -> &'static str {
        match self {
            Author::Primary => "$.authors.primary.ids",
            Author::Standby => "$.authors.standby.ids",
        }
    }
}

/// One step of an offline task, in order.
enum Step {
    /// Runs a document on an author and waits for it: send, wait, poll, check.
    Command {
        name: &'static str,
        document: Document,
        /// The `action` parameter of manage-service.
        action: Option<&'static str>,
        on: Author,
        poll_seconds: u32,
    },
    /// Snapshots the author primary's data volumes (EC2 `CreateSnapshots`; the snapshot is
    /// the volumes' state when the call returns, so AEM can start right after).
    Snapshot,
}

/// The states of a command step.
struct CommandStates {
    send: StateRef<Task>,
    wait: StateRef<Wait>,
    poll: StateRef<Task>,
    check: StateRef<Choice>,
}

/// The entry of a step and how it is finished once the next state is known.
enum StepStates {
    Command(CommandStates),
    Snapshot(StateRef<Task>),
}

impl StepStates {
    fn entry(&self) -> StateId {
        match self {
            StepStates::Command(c) => c.send.into(),
            StepStates::Snapshot(t) => (*t).into(),
        }
    }
}

type DefResult<T> = std::result::Result<T, DefinitionError>;

const STATUS: &str = "$.command.invocation.Status";

fn arn(resource: &str) -> Value {
    Value::sub(&format!(
        "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:{resource}"
    ))
}

/// `describeInstances` of the running author instances with a component tag.
fn find_author(name: &str, component: &str, result_path: &str) -> Task {
    Task::aws_sdk(name, "ec2", "describeInstances", [Value::from("*")])
        .parameters(
            Params::new().set(
                "Filters",
                Value::list([
                    Params::new()
                        .set("Name", "tag:StackPrefix")
                        .path("Values", "States.Array($.stack_prefix)")
                        .into(),
                    Params::new()
                        .set("Name", "tag:Component")
                        .set("Values", Value::list([Value::from(component)]))
                        .into(),
                    Params::new()
                        .set("Name", "instance-state-name")
                        .set("Values", Value::list([Value::from("running")]))
                        .into(),
                ]),
            ),
        )
        .result_selector(Params::new().path("ids", "$.Reservations[*].Instances[*].InstanceId"))
        .result_path(result_path)
}

fn add_command_step(
    def: &mut Definition,
    name: &str,
    document: Document,
    action: Option<&str>,
    on: Author,
    poll_seconds: u32,
    instances_statement: &PolicyStatement,
) -> DefResult<CommandStates> {
    let mut parameters = Params::new();
    if let Some(action) = action {
        parameters = parameters.set("action", Value::list([Value::from(action)]));
    }
    let send = def.add(
        Task::ssm_send_command(
            name,
            SendCommand::new(document.document_name(), Instances::path(on.ids_path()))
                .parameters(parameters)
                .comment(&format!("AEM Stack Manager offline task: {name}")),
        )
        // The document only; the instances by tag, below.
        .iam_resources([document.document_arn()])
        .add_policy_statement(instances_statement.clone())
        .result_selector(
            Params::new()
                .set("Step", name)
                .path("CommandId", "$.Command.CommandId"),
        )
        .result_path("$.command")
        .retry(
            Retry::on(["Ssm.InternalServerErrorException", "Ssm.SsmException"])
                .interval_seconds(5)
                .max_attempts(3)
                .backoff_rate(2.0),
        ),
    )?;
    let wait = def.add(Wait::seconds(&format!("Wait{name}"), poll_seconds))?;
    let poll = def.add(
        // GetCommandInvocation takes no resource: its IAM resource is "*".
        Task::aws_sdk(
            &format!("Poll{name}"),
            "ssm",
            "getCommandInvocation",
            [Value::from("*")],
        )
        .parameters(
            Params::new()
                .path("CommandId", "$.command.CommandId")
                .path("InstanceId", &format!("{}[0]", on.ids_path())),
        )
        .result_selector(
            Params::new()
                .path("Status", "$.Status")
                .path("StatusDetails", "$.StatusDetails"),
        )
        .result_path("$.command.invocation")
        .retry(
            // The invocation appears a few seconds after SendCommand returns.
            Retry::on(["Ssm.InvocationDoesNotExistException"])
                .interval_seconds(5)
                .max_attempts(6)
                .backoff_rate(1.5),
        ),
    )?;
    let check = def.add(Choice::new(&format!("Is{name}Done")))?;
    def.chain(send).next(wait)?.next(poll)?.next(check)?;
    Ok(CommandStates {
        send,
        wait,
        poll,
        check,
    })
}

/// The definition of an ordered offline task: validate the input, find the authors,
/// run the steps in order (each command polled until it ends), record the outcome in the
/// task table; any failure is recorded, the authors are started again (best effort),
/// the failure is notified, and the execution fails.
fn offline_definition(
    task: &str,
    steps: &[Step],
    manage: Document,
    table: Table,
    notifications: Topic,
    instances_statement: &PolicyStatement,
    managed_prefixes: &Value,
) -> DefResult<Definition> {
    let mut def = Definition::new();
    def.set_comment(&format!(
        "AEM Stack Manager {task}: stop the authors, snapshot, start them again"
    ));
    let validate = def.add(Choice::new("ValidateInput"))?;
    let find_primary = def.add(find_author(
        "FindAuthorPrimary",
        "author-primary",
        "$.authors.primary",
    ))?;
    let find_standby = def.add(find_author(
        "FindAuthorStandby",
        "author-standby",
        "$.authors.standby",
    ))?;
    let found = def.add(Choice::new("AreAuthorsFound"))?;

    let mut added = Vec::new();
    for step in steps {
        added.push(match step {
            Step::Command {
                name,
                document,
                action,
                on,
                poll_seconds,
            } => StepStates::Command(add_command_step(
                &mut def,
                name,
                *document,
                *action,
                *on,
                *poll_seconds,
                instances_statement,
            )?),
            Step::Snapshot => StepStates::Snapshot(def.add(snapshot_task(managed_prefixes))?),
        });
    }

    let record_success = def.add(
        Task::service("RecordSuccess", "dynamodb", "updateItem", [table.table_arn()])
            .parameters(record_update(
                table,
                "SET #state = :state, snapshot_ids = :snapshots, updated_at = :at",
                Params::new()
                    .set(":state", Params::new().set("S", "Success"))
                    .set(
                        ":snapshots",
                        Params::new().path("S", "States.JsonToString($.snapshot.ids)"),
                    )
                    .set(":at", Params::new().path("S", "$$.State.EnteredTime")),
            ))
            .discard_result()
            .retry(dynamodb_retry()),
    )?;
    let succeeded = def.add(Succeed::new("Succeeded"))?;

    // The failure path.
    let invalid_input = def.add(
        Pass::new("InvalidInput")
            .parameters(
                Params::new()
                    .set("Error", "AEM.InvalidInput")
                    .set("Cause", "the input needs message_id and stack_prefix (strings)"),
            )
            .result_path("$.error"),
    )?;
    let authors_not_found = def.add(
        Pass::new("AuthorsNotFound")
            .parameters(Params::new().set("Error", "AEM.UnhealthyStack").path(
                "Cause",
                "States.Format('expected one running author-primary and one author-standby tagged StackPrefix={}, found {} and {}', $.stack_prefix, States.ArrayLength($.authors.primary.ids), States.ArrayLength($.authors.standby.ids))",
            ))
            .result_path("$.error"),
    )?;
    let command_failed = def.add(
        Pass::new("CommandFailed")
            .parameters(Params::new().set("Error", "AEM.CommandFailed").path(
                "Cause",
                "States.Format('step {} ended with status {}: {}', $.command.Step, $.command.invocation.Status, $.command.invocation.StatusDetails)",
            ))
            .result_path("$.error"),
    )?;
    let record_failure = def.add(
        Task::service("RecordFailure", "dynamodb", "updateItem", [table.table_arn()])
            .parameters(record_update(
                table,
                "SET #state = :state, failure = :failure, updated_at = :at",
                Params::new()
                    .set(":state", Params::new().set("S", "Failed"))
                    .set(
                        ":failure",
                        Params::new().path("S", "States.JsonToString($.error)"),
                    )
                    .set(":at", Params::new().path("S", "$$.State.EnteredTime")),
            ))
            .discard_result()
            .retry(dynamodb_retry()),
    )?;
    // Best effort: a failed task must not leave the authors down. Starting a running
    // AEM is a no-op; without found authors the ids do not resolve and the catch skips it.
    let restart_authors = def.add(
        Task::ssm_send_command(
            "RestartAuthors",
            SendCommand::new(
                manage.document_name(),
                Instances::path(Author::Primary.ids_path()),
            )
            .parameters(Params::new().set("action", Value::list([Value::from("start")])))
            .comment("AEM Stack Manager: restart the authors after a failed offline task"),
        )
        // Both authors in one command (replaces the InstanceIds the integration renders).
        .parameters(Params::new().path(
            "InstanceIds",
            "States.Array($.authors.primary.ids[0], $.authors.standby.ids[0])",
        ))
        .iam_resources([manage.document_arn()])
        .add_policy_statement(instances_statement.clone())
        .result_selector(Params::new().path("CommandId", "$.Command.CommandId"))
        .result_path("$.restart"),
    )?;
    let notify_failure = def.add(
        Task::service("NotifyFailure", "sns", "publish", [notifications.topic_arn()])
            .parameters(
                Params::new()
                    .set("TopicArn", notifications.topic_arn())
                    .set("Subject", format!("AEM Stack Manager: {task} failed"))
                    .path(
                        "Message",
                        "States.Format('The AEM offline task of execution {} failed. Its state: {}', $$.Execution.Id, States.JsonToString($))",
                    ),
            )
            .discard_result()
            .retry(
                Retry::on([errors::TASK_FAILED])
                    .interval_seconds(2)
                    .max_attempts(3)
                    .backoff_rate(2.0),
            ),
    )?;
    let failed = def.add(
        Fail::new("Failed")
            .error("AEM.OfflineTaskFailed")
            .cause("the task failed; see the notification and the execution history"),
    )?;

    // Transitions.
    def.when(
        validate,
        Condition::and([
            Condition::is_string("$.message_id"),
            Condition::is_string("$.stack_prefix"),
        ]),
        find_primary,
    )?;
    def.otherwise(validate, invalid_input)?;
    def.chain(find_primary).next(find_standby)?.next(found)?;
    let first = added
        .first()
        .map(StepStates::entry)
        .unwrap_or_else(|| record_success.into());
    def.when(
        found,
        Condition::and([
            Condition::is_present("$.authors.primary.ids[0]"),
            Condition::is_not_present("$.authors.primary.ids[1]"),
            Condition::is_present("$.authors.standby.ids[0]"),
            Condition::is_not_present("$.authors.standby.ids[1]"),
        ]),
        first,
    )?;
    def.otherwise(found, authors_not_found)?;
    for (i, states) in added.iter().enumerate() {
        let next = added
            .get(i + 1)
            .map(StepStates::entry)
            .unwrap_or_else(|| record_success.into());
        match states {
            StepStates::Command(c) => {
                def.when(c.check, Condition::string_equals(STATUS, "Success"), next)?;
                def.when(
                    c.check,
                    Condition::or(
                        ["Pending", "InProgress", "Delayed"]
                            .into_iter()
                            .map(|s| Condition::string_equals(STATUS, s)),
                    ),
                    c.wait,
                )?;
                def.otherwise(c.check, command_failed)?;
                def.add_catch(c.send, Catch::all(record_failure).result_path("$.error"))?;
                def.add_catch(c.poll, Catch::all(record_failure).result_path("$.error"))?;
            }
            StepStates::Snapshot(t) => {
                def.next(*t, next)?;
                def.add_catch(*t, Catch::all(record_failure).result_path("$.error"))?;
            }
        }
    }
    def.chain(record_success).next(succeeded)?;
    for find in [find_primary, find_standby] {
        def.add_catch(find, Catch::all(record_failure).result_path("$.error"))?;
    }
    // Recording success can fail after the work is done: notify, do not record a failure.
    def.add_catch(record_success, Catch::all(notify_failure).result_path("$.error"))?;
    def.chain(invalid_input).next(notify_failure)?;
    def.chain(authors_not_found).next(record_failure)?;
    def.chain(command_failed).next(record_failure)?;
    def.chain(record_failure)
        .next(restart_authors)?
        .next(notify_failure)?
        .next(failed)?;
    def.add_catch(
        record_failure,
        Catch::all(restart_authors).result_path("$.recordError"),
    )?;
    def.add_catch(
        restart_authors,
        Catch::all(notify_failure).result_path("$.restartError"),
    )?;
    def.add_catch(notify_failure, Catch::all(failed).result_path("$.notifyError"))?;
    Ok(def)
}

fn dynamodb_retry() -> Retry {
    Retry::on([
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.RequestLimitExceeded",
        "DynamoDB.InternalServerErrorException",
    ])
    .interval_seconds(2)
    .max_attempts(4)
    .backoff_rate(2.0)
}

/// `UpdateItem` parameters for the task's record (`message_id` from the input).
fn record_update(table: Table, expression: &str, values: Params) -> Params {
    Params::new()
        .set("TableName", table.table_name())
        .set(
            "Key",
            Params::new().set("message_id", Params::new().path("S", "$.message_id")),
        )
        .set("UpdateExpression", expression)
        .set("ExpressionAttributeNames", Params::new().set("#state", "state"))
        .set("ExpressionAttributeValues", values)
}

/// `CreateSnapshots` of the author primary's data volumes, tagged for the purge.
fn snapshot_task(managed_prefixes: &Value) -> Task {
    let tag = |key: &str, value: &str| Value::from(Params::new().set("Key", key).set("Value", value));
    let tag_path = |key: &str, path: &str| Value::from(Params::new().set("Key", key).path("Value", path));
    Task::aws_sdk(
        "SnapshotAuthorPrimary",
        "ec2",
        "createSnapshots",
        [
            arn("${AWS::AccountId}:volume/*"),
            arn(":snapshot/*"),
        ],
    )
    .parameters(
        Params::new()
            .set(
                "InstanceSpecification",
                Params::new()
                    .path("InstanceId", "$.authors.primary.ids[0]")
                    .set("ExcludeBootVolume", true),
            )
            .path(
                "Description",
                "States.Format('AEM offline snapshot of {} author-primary (task {})', $.stack_prefix, $.message_id)",
            )
            .set(
                "TagSpecifications",
                Value::list([Params::new()
                    .set("ResourceType", "snapshot")
                    .set(
                        "Tags",
                        Value::list([
                            tag_path("StackPrefix", "$.stack_prefix"),
                            tag("Component", "author-primary"),
                            tag("SnapshotType", "offline"),
                            tag_path("MessageId", "$.message_id"),
                        ]),
                    )
                    .into()]),
            ),
    )
    .add_policy_statement(
        PolicyStatement::allow()
            .actions(["ec2:CreateSnapshots"])
            .resource(arn("${AWS::AccountId}:instance/*"))
            .condition("StringLike", "aws:ResourceTag/StackPrefix", managed_prefixes.clone()),
    )
    .add_policy_statement(
        PolicyStatement::allow()
            .actions(["ec2:CreateTags"])
            .resource(arn(":snapshot/*"))
            .condition("StringEquals", "ec2:CreateAction", "CreateSnapshots"),
    )
    .result_selector(Params::new().path("ids", "$.Snapshots[*].SnapshotId"))
    .result_path("$.snapshot")
}

/// The two ordered offline tasks as state machines.
fn offline_state_machines(
    app: &mut App,
    stack: Stack,
    documents: &Documents,
    table: Table,
    notifications: Topic,
    instances_statement: &PolicyStatement,
    managed_prefixes: &Value,
) -> Result<Vec<(&'static str, StateMachine)>> {
    let manage = documents
        .task("manage-service")
        .ok_or_else(|| Error::InvalidProps {
            path: COMMANDS_STACK.into(),
            problem: "the offline tasks need the manage-service document".into(),
        })?;
    let command = |name, document, action, on, poll_seconds| Step::Command {
        name,
        document,
        action,
        on,
        poll_seconds,
    };
    let mut out = Vec::new();
    for (task, id) in STATE_MACHINE_TASKS {
        let mut steps = vec![
            command("StopAuthorStandby", manage, Some("stop"), Author::Standby, 30),
            command("StopAuthorPrimary", manage, Some("stop"), Author::Primary, 30),
        ];
        if *task == "offline-compaction-snapshot-full-set" {
            let compaction = documents.offline_compaction;
            steps.push(command(
                "CompactAuthorPrimary",
                compaction,
                None,
                Author::Primary,
                120,
            ));
            steps.push(command(
                "CompactAuthorStandby",
                compaction,
                None,
                Author::Standby,
                120,
            ));
        }
        steps.push(Step::Snapshot);
        steps.push(command(
            "StartAuthorPrimary",
            manage,
            Some("start"),
            Author::Primary,
            60,
        ));
        steps.push(command(
            "StartAuthorStandby",
            manage,
            Some("start"),
            Author::Standby,
            60,
        ));
        let definition = offline_definition(
            task,
            &steps,
            manage,
            table,
            notifications,
            instances_statement,
            managed_prefixes,
        )
        .map_err(sfn_error(MANAGER_STACK, id))?;
        let machine = StateMachine::new(
            app,
            stack,
            id,
            StateMachineProps {
                timeout: Some(Duration::from_secs(12 * 3600)),
                ..StateMachineProps::new(definition)
            },
        )?;
        out.push((*task, machine));
    }
    Ok(out)
}
