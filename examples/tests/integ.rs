//! Integration tests of the example systems (`cairn::integ`): each deploys its stacks,
//! drives the users' path, asserts on what the AWS APIs return, and destroys the stacks.
//!
//! They need somewhere to deploy, so `cargo test` lists them as ignored (with the reason)
//! instead of running them; `scripts/integ` (run by `scripts/test`) starts the local
//! environment (`scripts/lib/local-aws.py`: moto with Lambda handlers and state machines
//! executed), runs them with `--ignored`, prints per example the steps run, the
//! assertions passed and what the local environment could not run, and stops it. Run
//! with `--ignored` and neither `AWS_ENDPOINT_URL` nor `CAIRN_INTEG_ACCOUNT=1`, a test
//! fails at once and says so.
//!
//! Against an account (your credentials and region): `CAIRN_INTEG_ACCOUNT=1 cargo test -p
//! examples --test integ -- --ignored --nocapture hello` (the account bootstrapped with
//! `cairn bootstrap`).

use std::time::{SystemTime, UNIX_EPOCH};

use cairn::integ::{AwsCall, Expected, HttpRequest, IntegCase, IntegError, IntegRun, Probe, Report};
use serde_json::json;

/// Where the test deploys: the local environment (`AWS_ENDPOINT_URL`) or, when asked with
/// `CAIRN_INTEG_ACCOUNT=1`, the account of the credential chain.
fn require_target() {
    let local = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|e| !e.is_empty());
    let account = std::env::var("CAIRN_INTEG_ACCOUNT").is_ok_and(|v| v == "1");
    assert!(
        local || account,
        "no target for the integration tests: run scripts/integ (it starts the local environment and \
         sets AWS_ENDPOINT_URL), or set CAIRN_INTEG_ACCOUNT=1 to deploy into the account of your credentials"
    );
}

fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}", nanos % 0xffff_ffff)
}

fn region(run: &IntegRun) -> String {
    run.sdk_config()
        .region()
        .map(ToString::to_string)
        .unwrap_or_else(|| "us-east-1".into())
}

fn passed(result: Result<Report, IntegError>) {
    match result {
        Ok(report) => assert!(report.passed(), "{report}"),
        Err(e) => panic!("{e}"),
    }
}

/// hello: a message published to the consumer's topic reaches the producer's queue (the
/// subscription crosses the stacks), and the bucket takes an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn hello() {
    require_target();
    let assembly = examples::hello::build().and_then(|mut app| app.synth()).unwrap();
    let case = IntegCase::from_assembly("hello", &assembly)
        .unwrap()
        .stacks(["HelloProducer", "HelloConsumer"]);
    passed(
        case.run(async |run: &mut IntegRun| {
            let topic = run.output("HelloConsumer", "TopicArn")?;
            let queue = run.physical_id("HelloProducer", "Queue").await?;
            let bucket = run.output("HelloProducer", "BucketName")?;
            run.publish(&topic, r#"{"hello": "integ"}"#).await?;
            run.expect(
                "the topic delivers to the producer's queue",
                Probe::queue_depth(&queue),
                Expected::like(json!({"visible": 1})),
            )
            .await?;
            run.put_object(&bucket, "integ/hello.txt", "hello").await?;
            run.expect(
                "the bucket holds the object",
                Probe::objects(&bucket, "integ/"),
                Expected::exact(json!(["integ/hello.txt"])),
            )
            .await?;
            // The bucket is retained on delete (DeletionPolicy Retain): empty it, as a
            // user would before deleting it by hand.
            run.delete_object(&bucket, "integ/hello.txt").await?;
            Ok(())
        })
        .await,
    );
}

/// ami-tracker: Image Builder's notification of an AVAILABLE image updates the parameter
/// and tags it (the seed checks `list-tags-for-resource --resource-type Parameter`); the
/// tracker has the seed's 256 MB; the HTTP API takes the seed's `POST /` with
/// `{"MessageBody": ...}`, and the message reaches the queue and the consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn ami_tracker() {
    use examples::ami_tracker::{EVENTS_STACK, LATEST_AMI_PARAMETER, TRACKER_STACK};
    require_target();
    let assembly = examples::ami_tracker::build()
        .and_then(|mut app| app.synth())
        .unwrap();
    let case = IntegCase::from_assembly("ami-tracker", &assembly)
        .unwrap()
        .stacks([TRACKER_STACK, EVENTS_STACK]);
    passed(
        case.run(async |run: &mut IntegRun| {
            run.not_run_locally(
                "Image Builder builds (its resources are placeholders): the test publishes the notification \
                 Image Builder sends for an AVAILABLE image",
            );
            run.not_run_locally(
                "the AmiConsumer stack (it launches an instance from the parameter; scripts/e2e-deploy deploys it)",
            );
            run.not_run_locally(
                "partial batch responses (moto deletes a batch its function returned from): the consumer's \
                 rejection path is covered by its unit tests",
            );
            let tracker = run.output(TRACKER_STACK, "TrackerFunction")?;
            // Each defect's assertion is independent: verify() records a failure and goes on.
            run.verify(
                "the tracker has the seed's memory (256 MB)",
                Probe::function(&tracker),
                Expected::like(json!({"MemorySize": 256})),
            )
            .await;

            let ami = format!("ami-0{:0>16}", unique());
            let image_arn = format!(
                "arn:aws:imagebuilder:{}:123456789012:image/amitracker-al2023/1.0.0/{}",
                region(run),
                unique()
            );
            // Image Builder's message: the image, as JSON (the seed's Lambda reads the same).
            let notification = json!({
                "arn": image_arn,
                "name": "amitracker-al2023",
                "state": {"status": "AVAILABLE"},
                "outputResources": {"amis": [{"region": region(run), "image": ami, "name": "amitracker-al2023"}]},
            });
            let topic = run.output(TRACKER_STACK, "TopicArn")?;
            run.publish(&topic, &notification.to_string()).await?;
            run.verify(
                "the parameter holds the new AMI",
                Probe::parameter(LATEST_AMI_PARAMETER),
                Expected::like(json!({"Value": ami})),
            )
            .await;
            run.verify(
                "the parameter is tagged with the image (list-tags-for-resource --resource-type Parameter)",
                Probe::parameter(LATEST_AMI_PARAMETER),
                Expected::like(json!({"Tags": {"cairn:image-arn": image_arn}})),
            )
            .await;

            // The seed's client: POST / with the message in MessageBody (signed: the route
            // has IAM authorization; the local environment does not check it).
            let endpoint = run.output(EVENTS_STACK, "ApiEndpoint")?;
            let queue = run.output(EVENTS_STACK, "QueueUrl")?;
            let event = json!({"type": "integ", "id": unique()}).to_string();
            let answer = run
                .http(&HttpRequest::post_json(
                    format!("{}/", endpoint.trim_end_matches('/')),
                    &json!({"MessageBody": event}),
                )
                .signed())
                .await?;
            let message_id = answer
                .json()
                .and_then(|v| v["SendMessageResponse"]["SendMessageResult"]["MessageId"].as_str().map(str::to_string));
            if !run.check(
                "POST / with {\"MessageBody\": ...} is stored in the queue",
                answer.status == 200 && message_id.is_some(),
                format!("HTTP {}: {}", answer.status, answer.body),
            ) {
                return Ok(());
            }
            run.expect(
                "the consumer took the message off the queue",
                Probe::queue_depth(&queue),
                Expected::exact(json!({"visible": 0, "inFlight": 0})),
            )
            .await?;
            let dead = run.output(EVENTS_STACK, "DeadLetterQueueUrl")?;
            run.expect(
                "nothing was dead-lettered",
                Probe::queue_depth(&dead),
                Expected::exact(json!({"visible": 0, "inFlight": 0})),
            )
            .await?;
            Ok(())
        })
        .await,
    );
}

/// stack-manager: the messenger's message runs a task to a final status in the task table,
/// and the query function returns it by the caller's `externalId`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn stack_manager() {
    use examples::stack_manager::{COMMANDS_STACK, MANAGER_STACK};
    require_target();
    let mut app = examples::stack_manager::build().unwrap();
    let fixture = fixture_instances(&mut app).unwrap();
    let assembly = app.synth().unwrap();
    let case = IntegCase::from_assembly("stack-manager", &assembly)
        .unwrap()
        .stacks([fixture.as_str(), COMMANDS_STACK, MANAGER_STACK]);
    passed(
        case.run(async |run: &mut IntegRun| {
            run.not_run_locally(
                "Run Command runs nothing on the instances and emits no status events: the test sends the \
                 \"EC2 Command Status-change Notification\" event Run Command would (through EventBridge, \
                 whose rule invokes the function)",
            );
            let topic = run.output(MANAGER_STACK, "StackManagerTopicArn")?;
            let table = run.output(MANAGER_STACK, "TaskTableName")?;
            let query = run.output(MANAGER_STACK, "TaskQueryFunctionName")?;
            let external_id = format!("integ-{}", unique());
            // aem-stack-manager-messenger's templates/sns/disable-crxde.json, filled in.
            let message = json!({
                "externalId": external_id,
                "task": "disable-crxde",
                "stack_prefix": FIXTURE_PREFIX,
                "details": {
                    "component": ["author-primary"],
                    "comment": "integration test",
                    "parameters": {"executionTimeout": ["3600"]},
                },
            });
            run.publish(&topic, &message.to_string()).await?;
            let items = run
                .expect(
                    "the task is recorded in progress, with the command sent",
                    Probe::table_items(&table),
                    Expected::like(
                        json!([{"externalId": external_id, "state": "InProgress", "task": "disable-crxde"}]),
                    ),
                )
                .await?;
            let command_id = items
                .as_array()
                .and_then(|items| items.iter().find(|i| i["externalId"] == external_id.as_str()))
                .and_then(|i| i["command_id"].as_str())
                .map(str::to_string);
            let Some(command_id) = command_id else {
                run.check(
                    "the task names its Run Command command",
                    false,
                    format!("items: {items}"),
                );
                return Ok(());
            };
            run.put_event(
                "aws.ssm",
                "EC2 Command Status-change Notification",
                &json!({"command-id": command_id, "status": "Success", "document-name": "integ"}),
            )
            .await?;
            run.expect(
                "the command's final status ends the task",
                Probe::table_items(&table),
                Expected::like(
                    json!([{"externalId": external_id, "state": "Success", "command_status": "Success"}]),
                ),
            )
            .await?;
            let answer = run.invoke(&query, &json!({"externalId": external_id})).await?;
            run.check(
                "the query function returns the task by the caller's externalId",
                Expected::like(
                    json!({"externalId": external_id, "state": "Success", "task": "disable-crxde"}),
                )
                .matches(&answer),
                format!("answer: {answer}"),
            );
            Ok(())
        })
        .await,
    );
}

/// data-lake: a CSV file put in the raw zone runs the ETL: the trigger records the file and
/// starts the state machine, both Glue jobs run (`startJobRun.sync`), the state table says
/// `SUCCEEDED` and the notification topic publishes the run. One stage of the app, in the
/// account and region of the run (`CDK_DEFAULT_ACCOUNT`, else the local environment's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn data_lake() {
    use examples::data_lake::{add_data_lake_stage, environments};
    require_target();
    let mut cfg = environments().remove(0);
    cfg.account = std::env::var("CDK_DEFAULT_ACCOUNT").unwrap_or_else(|_| "123456789012".into());
    cfg.region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    // The stage's environment is concrete, so its VPC asks for the zones (a context
    // lookup): answered here, as cdk.context.json would.
    let zones = ["a", "b", "c"].map(|z| format!("{}{z}", cfg.region));
    let mut context = serde_json::Map::new();
    context.insert(
        format!("availability-zones:account={}:region={}", cfg.account, cfg.region),
        json!(zones),
    );
    let mut app = cairn::App::with_context(context);
    add_data_lake_stage(&mut app, &cfg).unwrap();
    let assembly = app.synth().unwrap();
    let lake = format!("{}-DataLake", cfg.name);
    let case = IntegCase::from_assembly("data-lake", &assembly)
        .unwrap()
        .stacks([format!("{}-Network", cfg.name), lake.clone()])
        .timeout(std::time::Duration::from_secs(120));
    passed(
        case.run(async |run: &mut IntegRun| {
            run.not_run_locally(
                "Glue runs no script: a job run goes STARTING, RUNNING, SUCCEEDED (the jobs' logic is covered by \
                 their unit tests); crawlers, connections, Lake Formation and VPC endpoints are recorded, not created",
            );
            let raw = run.output(&lake, "RawBucketName")?;
            let table = run.physical_id_at(&lake, "EtlState").await?;
            let topic = run.physical_id_at(&lake, "EtlNotifications").await?;
            let notifications = run.capture_topic(&topic).await?;
            // The bucket's notifications resource (Custom::S3BucketNotifications) put them.
            let trigger = run.physical_id_at(&lake, "EtlTrigger").await?;
            run.expect(
                "the raw zone notifies the trigger of new .csv files",
                Probe::bucket_notifications(&raw),
                Expected::like(json!({"LambdaFunctionConfigurations": [{
                    "Events": ["s3:ObjectCreated:*"],
                    "Arn": format!("arn:aws:lambda:{}:{}:function:{trigger}", cfg.region, cfg.account),
                    "FilterRules": [{"Name": "suffix", "Value": ".csv"}],
                }]})),
            )
            .await?;
            let key = format!("sales/integ-{}.csv", unique());
            run.put_object(&raw, &key, "id,amount\n1,10\n2,20\n").await?;
            run.expect(
                "the run is recorded and ends SUCCEEDED after both Glue jobs",
                Probe::table_items(&table),
                Expected::like(json!([{"object_key": key, "dataset": "sales", "status": "SUCCEEDED"}])),
            )
            .await?;
            run.expect(
                "the topic notifies the run",
                Probe::queue_depth(&notifications),
                Expected::like(json!({"visible": 1})),
            )
            .await?;
            // The raw zone is retained and versioned: empty it, as its owner would.
            run.delete_object(&raw, &key).await?;
            Ok(())
        })
        .await,
    );
}

/// web-jobnet: the stop job net puts the maintenance page on, stops httpd and the web
/// servers, backs each up and the database (waiting for each backup job), then stops the
/// database; the start job net brings it all back; a web server the stop net cannot stop
/// (terminated) ends the run in its named failure with the database left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn web_jobnet() {
    use examples::web_jobnet::STACKS;
    let [web, functions, stop_stack, start_stack] = STACKS;
    require_target();
    let assembly = examples::web_jobnet::build()
        .and_then(|mut app| app.synth())
        .unwrap();
    let case = IntegCase::from_assembly("web-jobnet", &assembly)
        .unwrap()
        .stacks(STACKS)
        // An execution runs a dozen Lambda calls and backup polls.
        .timeout(std::time::Duration::from_secs(300));
    passed(
        case.run(async |run: &mut IntegRun| {
            run.not_run_locally(
                "Run Command runs nothing on the web servers (the local environment reports every command \
                 Success): httpd's scripts are not run",
            );
            run.not_run_locally(
                "AWS Backup jobs are modelled by the local environment (CREATED -> RUNNING -> COMPLETED, FAILED \
                 for a missing resource); no AMI or snapshot is taken",
            );
            run.not_run_locally(
                "the scheduled rules never fire: the test starts each execution itself; the Slack notifier \
                 posts to a receiver of the test instead of Slack",
            );
            run.not_run_locally("Wait states and retry intervals are shortened to at most 1 s");
            let cluster = run.physical_id_at(web, "Database").await?;
            // The operator's step after deploying: the Slack webhook URL into the secret.
            let slack = run.webhook().await?;
            let secret = run.physical_id_at(functions, "SlackWebhookUrl").await?;
            run.call(&AwsCall::json(
                "secretsmanager",
                "secretsmanager",
                "PutSecretValue",
                json!({"SecretId": secret, "SecretString": slack}),
            ))
            .await?;
            let outcome = drive_web_jobnet(run, web, functions, [stop_stack, start_stack], &slack).await;
            // The cluster is deletion-protected (stateful resources are kept unless the user
            // opts out): the user turns the protection off before destroying the stacks.
            run.call(&AwsCall::query(
                "rds",
                "2014-10-31",
                "ModifyDBCluster",
                &[("DBClusterIdentifier", cluster.as_str()), ("DeletionProtection", "false")],
            ))
            .await?;
            outcome
        })
        .await,
    );
}

/// The web-jobnet's users' path: stop, start, and a stop that cannot complete.
async fn drive_web_jobnet(
    run: &mut IntegRun,
    web: &str,
    functions: &str,
    [stop_stack, start_stack]: [&str; 2],
    slack: &str,
) -> Result<(), IntegError> {
    let stop = run.output(stop_stack, "StateMachineArn")?;
    let start = run.output(start_stack, "StateMachineArn")?;
    let describe_instance = run.physical_id_at(functions, "DescribeInstance").await?;
    let describe_database = run.physical_id_at(functions, "DescribeDatabase").await?;
    let servers = [
        run.physical_id_at(web, "WebServer1").await?,
        run.physical_id_at(web, "WebServer2").await?,
    ];

    let stopped = execute(run, "the stop net", &stop).await?;
    run.check(
        "the stop net put the maintenance page on and backed the database up",
        stopped["output"]["maintenance"]["ruleArn"]
            .as_str()
            .is_some_and(|a| a.contains(":listener-rule/"))
            && stopped["output"]["backup"]["backupJobId"]
                .as_str()
                .is_some_and(|j| !j.is_empty()),
        format!("output: {}", stopped["output"]),
    );
    let system = System {
        describe_instance,
        describe_database,
        servers,
    };
    system.verify(run, "stopped", "stopped").await;
    slack_post(
        run,
        slack,
        "the stop net's success",
        &[":white_check_mark: job net *WebJobnetStop-", " SUCCEEDED"],
    )
    .await;

    execute(run, "the start net", &start).await?;
    system.verify(run, "running", "available").await;
    slack_post(
        run,
        slack,
        "the start net's success",
        &["job net *WebJobnetStart-", " SUCCEEDED"],
    )
    .await;

    // A web server terminated behind the job net's back: the stop net must stop
    // at it, in its named failure, and leave the database running.
    run.call(&AwsCall::query(
        "ec2",
        "2016-11-15",
        "TerminateInstances",
        &[("InstanceId.1", system.servers[1].as_str())],
    ))
    .await?;
    let arn = run.start_execution(&stop, &json!({})).await?;
    let failed = run.wait_for_execution(&arn).await?;
    run.check(
        "the stop net fails in StopFailed when a web server cannot be stopped",
        failed["status"] == "FAILED" && failed["error"] == "WebJobnet.StopFailed",
        format!("execution: {failed}"),
    );
    slack_post(
        run,
        slack,
        "the stop net's failure, with its error",
        &[":x: job net *WebJobnetStop-", " FAILED", "WebJobnet.StopFailed"],
    )
    .await;
    run.verify(
        "the database cluster was left running",
        Probe::invoke(&system.describe_database, json!({})),
        Expected::like(json!({"status": "available"})),
    )
    .await;
    Ok(())
}

/// The web-jobnet's servers and database, read through the job net's own describe
/// functions.
struct System {
    describe_instance: String,
    describe_database: String,
    servers: [String; 2],
}

impl System {
    /// Verifies that every web server is in `instances` state and the cluster in `database`.
    async fn verify(&self, run: &mut IntegRun, instances: &str, database: &str) {
        for id in &self.servers {
            run.verify(
                &format!("web server {id} is {instances}"),
                Probe::invoke(&self.describe_instance, json!({"instanceId": id})),
                Expected::like(json!({"state": instances})),
            )
            .await;
        }
        run.verify(
            &format!("the database cluster is {database}"),
            Probe::invoke(&self.describe_database, json!({})),
            Expected::like(json!({"status": database})),
        )
        .await;
    }
}

/// Runs a state machine with an empty input until it ends; checks that it succeeded and
/// returns its execution (status, output, error, cause).
async fn execute(
    run: &mut IntegRun,
    label: &str,
    state_machine: &str,
) -> Result<serde_json::Value, IntegError> {
    let arn = run.start_execution(state_machine, &json!({})).await?;
    let execution = run.wait_for_execution(&arn).await?;
    run.check(
        &format!("{label} succeeds"),
        execution["status"] == "SUCCEEDED",
        format!("execution: {execution}"),
    );
    Ok(execution)
}

/// Checks that the Slack notifier posted a message holding every one of `needles` to the
/// test's receiver at `url` (polled: the notifier runs when the execution's status change
/// event arrives); a missing post is recorded and the test goes on.
async fn slack_post(run: &mut IntegRun, url: &str, what: &str, needles: &[&str]) {
    run.verify(
        &format!("the Slack notifier posts {what}"),
        Probe::webhook(url),
        Expected::text_with(needles.iter().copied()),
    )
    .await;
}

/// The StackPrefix tag of the fixture's instances.
const FIXTURE_PREFIX: &str = "aem-integ";

/// A stack with the AEM instance the task targets: one running instance tagged as the
/// stack manager looks them up (StackPrefix, Component).
fn fixture_instances(app: &mut cairn::App) -> cairn::Result<String> {
    use cairn::ec2::{instance, CfnInstance};
    use cairn::Parameter;
    let stack = app.stack("AemIntegFixture")?;
    let image = app.parameter(
        stack,
        "ImageId",
        Parameter::ssm_value("AWS::EC2::Image::Id")
            .default_value(examples::ami_tracker::AMAZON_LINUX_2023_PARAMETER),
    )?;
    app.add(
        stack,
        "AuthorPrimary",
        CfnInstance {
            image_id: Some(image.value().into()),
            instance_type: Some("t3.micro".into()),
            metadata_options: Some(
                instance::MetadataOptions {
                    http_tokens: Some(instance::HttpTokens::Required.into()),
                    ..Default::default()
                }
                .into(),
            ),
            tags: Some(
                vec![
                    instance::Tag::new("StackPrefix", FIXTURE_PREFIX).into(),
                    instance::Tag::new("Component", "author-primary").into(),
                ]
                .into(),
            ),
            ..CfnInstance::default()
        },
    )?;
    Ok("AemIntegFixture".into())
}
#[path = "integ/custom_resources.rs"]
mod custom_resources;
#[path = "integ/pipelines.rs"]
mod pipelines;
#[path = "integ/stackset_healing.rs"]
mod stackset_healing;
