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

use cairn::integ::{Expected, HttpRequest, IntegCase, IntegError, IntegRun, Probe, Report};
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
