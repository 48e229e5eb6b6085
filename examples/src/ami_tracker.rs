//! `ami-tracker`: an EC2 Image Builder pipeline whose new AMIs are tracked in an SSM
//! parameter that other stacks launch from, and a storage-first HTTP API.
//!
//! - [`TRACKER_STACK`] (`AmiTracker`): a minimal Image Builder pipeline (an image recipe
//!   on Amazon Linux 2023 with the managed `update-linux` component and an encrypted root
//!   volume, an infrastructure configuration with its instance profile, IMDSv2 and the
//!   notification topic, a distribution configuration in the stack's Region, a weekly
//!   pipeline), the SNS topic Image Builder notifies (encrypted with a customer managed
//!   key whose policy lets the Image Builder service-linked role use it, as the Image
//!   Builder guide asks for encrypted topics), the SSM parameter [`LATEST_AMI_PARAMETER`]
//!   (its initial value the latest Amazon Linux 2023 AMI, resolved at deploy), and a
//!   Python 3.12 Lambda with 256 MB, as the seed's (`examples/assets/ami-tracker/lambda`)
//!   subscribed to the topic: for each AVAILABLE image it writes the AMI id to the
//!   parameter and tags the parameter with the image (the seed checks with
//!   `list-tags-for-resource --resource-type Parameter`). Its role may `ssm:PutParameter`
//!   and `ssm:AddTagsToResource` on that one parameter's ARN, besides writing its logs and
//!   sending failed notifications to its dead-letter queue.
//! - [`CONSUMER_STACK`] (`AmiConsumer`): the template parameter `LatestAmiId` of type
//!   `AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>` defaulting to the parameter's
//!   name, so every deploy launches from the latest tracked AMI, and an instance using it
//!   (encrypted gp3 root volume, IMDSv2, Session Manager role, no inbound rules) in an
//!   existing subnet (the `VpcId` and `SubnetId` parameters). The AMI parameter is read by
//!   name: the template imports nothing. The stack depends on the tracker in the manifest
//!   only, so `deploy --all` creates the parameter first.
//! - [`EVENTS_STACK`] (`AmiEventsApi`): a storage-first HTTP API with the seed's contract.
//!   `POST /` (IAM authorization) is an `AWS_PROXY` integration of subtype `SQS-SendMessage`
//!   that puts the request body's `MessageBody` (`$request.body.MessageBody`) on an
//!   encrypted queue (with a dead-letter queue) through a role that
//!   may only `sqs:SendMessage` to that queue; the `$default` stage deploys automatically
//!   and writes JSON access logs to an encrypted log group. A Python 3.12 Lambda
//!   (`examples/assets/ami-tracker/events`) consumes the queue and reports invalid
//!   messages as batch item failures, so they alone are retried and then dead-lettered.
//!
//! The recommended compliance rules run over the whole app in fix mode and every property
//! is checked against its CloudFormation schema.

use std::path::PathBuf;
use std::time::Duration;

use cairn::cfn::apigatewayv2::{stage, CfnApi, CfnIntegration, CfnRoute, CfnStage};
use cairn::cfn::imagebuilder::{
    distribution_configuration, image_pipeline, image_recipe, infrastructure_configuration,
    CfnDistributionConfiguration, CfnImagePipeline, CfnImageRecipe, CfnInfrastructureConfiguration,
};
use cairn::cfn::lambda::{event_source_mapping, CfnEventSourceMapping};
use cairn::cfn::IndexMap;
use cairn::ec2::{instance, CfnInstance, SecurityGroup, SecurityGroupProps};
use cairn::iam::{CfnInstanceProfile, PolicyStatement, Principal, Role, RoleProps};
use cairn::kms::{Key, KeyProps};
use cairn::lambda::{Code, Function, FunctionProps, Runtime, SnsEventSource, SqsEventSource};
use cairn::logs::{LogGroup, LogGroupProps, RetentionDays};
use cairn::sns::{Topic, TopicProps};
use cairn::sqs::{DeadLetterQueue, Queue, QueueProps};
use cairn::ssm::{StringParameter, StringParameterProps};
use cairn::{App, Error, Output, Parameter, ParameterType, Result, Stack, Val, Value};
use cairn_aspects::RuleSet;

/// The stack with the Image Builder pipeline, its topic, the parameter and the tracker.
pub const TRACKER_STACK: &str = "AmiTracker";
/// The stack that launches an instance from the tracked AMI.
pub const CONSUMER_STACK: &str = "AmiConsumer";
/// The stack with the storage-first HTTP API.
pub const EVENTS_STACK: &str = "AmiEventsApi";
/// The SSM parameter holding the latest AMI id the pipeline built.
pub const LATEST_AMI_PARAMETER: &str = "/ec2-imagebuilder/latest";
/// The consumer's template parameter that resolves [`LATEST_AMI_PARAMETER`] at deploy.
pub const LATEST_AMI_TEMPLATE_PARAMETER: &str = "LatestAmiId";
/// The public parameter of the latest Amazon Linux 2023 AMI: the tracked parameter's
/// initial value, until the first build.
pub const AMAZON_LINUX_2023_PARAMETER: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/// Where the Lambda handlers live (`lambda/` the tracker, `events/` the queue consumer).
pub fn assets_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join("ami-tracker")
}

/// Builds the `ami-tracker` app: the three stacks, the recommended rules over all of
/// them, and the schema validator.
pub fn build() -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());

    let tracker = tracker_stack(&mut app)?;
    let consumer = consumer_stack(&mut app)?;
    // Deploy order only: the consumer reads the parameter by name, it imports nothing.
    app.add_dependency(consumer, tracker)?;
    events_stack(&mut app)?;

    let root = app.root();
    RuleSet::recommended().apply(&mut app, root);
    Ok(app)
}

fn tracker_stack(app: &mut App) -> Result<Stack> {
    let stack = app.stack(TRACKER_STACK)?;

    // The topic Image Builder notifies. Image Builder publishes through its service-linked
    // role, which the key policy must let use the key; the role may not exist yet when the
    // key is created (a policy naming a missing principal is refused), so the statement
    // names it in a condition.
    let image_builder_role =
        Value::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/imagebuilder.amazonaws.com/AWSServiceRoleForImageBuilder");
    let key = Key::new(
        app,
        stack,
        "TopicKey",
        KeyProps {
            description: Some("Encrypts the Image Builder notification topic".into()),
            policy_statements: vec![PolicyStatement::allow()
                .sid("ImageBuilderPublishes")
                .principal(Principal::Any)
                .actions(["kms:Decrypt", "kms:GenerateDataKey"])
                .resource("*")
                .condition("ArnEquals", "aws:PrincipalArn", image_builder_role)
                .condition(
                    "StringEquals",
                    "kms:ViaService",
                    Value::sub("sns.${AWS::Region}.amazonaws.com"),
                )],
            ..KeyProps::default()
        },
    )?;
    let topic = Topic::new(
        app,
        stack,
        "ImageNotifications",
        TopicProps {
            display_name: Some("Image Builder image status".into()),
            master_key: Some(key),
            ..TopicProps::default()
        },
    )?;

    // The pipeline: recipe, infrastructure, distribution.
    let recipe = app.add(
        stack,
        "Recipe",
        CfnImageRecipe {
            description: Some("Amazon Linux 2023, updated".into()),
            components: Some(
                vec![image_recipe::ComponentConfiguration {
                    component_arn: Some(
                        Value::sub("arn:${AWS::Partition}:imagebuilder:${AWS::Region}:aws:component/update-linux/x.x.x").into(),
                    ),
                    ..Default::default()
                }
                .into()]
                .into(),
            ),
            block_device_mappings: Some(
                vec![image_recipe::InstanceBlockDeviceMapping {
                    device_name: Some("/dev/xvda".into()),
                    ebs: Some(
                        image_recipe::EbsInstanceBlockDeviceSpecification {
                            encrypted: Some(true.into()),
                            delete_on_termination: Some(true.into()),
                            volume_type: Some(image_recipe::VolumeType::Gp3.into()),
                            volume_size: Some(8.into()),
                            ..Default::default()
                        }
                        .into(),
                    ),
                    ..Default::default()
                }
                .into()]
                .into(),
            ),
            ..CfnImageRecipe::new(
                Value::sub("${AWS::StackName}-al2023"),
                Value::sub("arn:${AWS::Partition}:imagebuilder:${AWS::Region}:aws:image/amazon-linux-2023-x86/x.x.x"),
                "1.0.0",
            )
        },
    )?;

    let build_role = Role::new(
        app,
        stack,
        "BuildInstanceRole",
        RoleProps {
            description: Some("Image Builder build and test instances".into()),
            managed_policies: vec![
                Role::aws_managed_policy("AmazonSSMManagedInstanceCore"),
                Role::aws_managed_policy("EC2InstanceProfileForImageBuilder"),
            ],
            ..RoleProps::new(Principal::service("ec2.amazonaws.com"))
        },
    )?;
    let profile = app.add(
        stack,
        "BuildInstanceProfile",
        CfnInstanceProfile::new(vec![Val::from(build_role.name())]),
    )?;
    let infrastructure = app.add(
        stack,
        "Infrastructure",
        CfnInfrastructureConfiguration {
            description: Some("Build instances; notifies the topic".into()),
            instance_types: Some(vec![Val::from("t3.small")].into()),
            instance_metadata_options: Some(
                infrastructure_configuration::InstanceMetadataOptions {
                    http_tokens: Some(infrastructure_configuration::HttpTokens::Required.into()),
                    http_put_response_hop_limit: Some(2.into()),
                }
                .into(),
            ),
            sns_topic_arn: Some(topic.topic_arn().into()),
            terminate_instance_on_failure: Some(true.into()),
            ..CfnInfrastructureConfiguration::new(profile.ref_(), Value::sub("${AWS::StackName}-build"))
        },
    )?;

    let mut ami_tags = IndexMap::new();
    ami_tags.insert(
        "cairn:built-by".to_string(),
        Val::from(Value::sub("${AWS::StackName}")),
    );
    let distribution = app.add(
        stack,
        "Distribution",
        CfnDistributionConfiguration {
            description: Some("The AMI in this Region".into()),
            ..CfnDistributionConfiguration::new(
                vec![distribution_configuration::Distribution {
                    ami_distribution_configuration: Some(
                        distribution_configuration::AmiDistributionConfiguration {
                            name: Some(Value::sub("${AWS::StackName}-{{ imagebuilder:buildDate }}").into()),
                            ami_tags: Some(ami_tags.into()),
                            ..Default::default()
                        }
                        .into(),
                    ),
                    ..distribution_configuration::Distribution::new(Value::pseudo(cairn::Pseudo::Region))
                }
                .into()],
                Value::sub("${AWS::StackName}-distribution"),
            )
        },
    )?;

    let pipeline = app.add(
        stack,
        "Pipeline",
        CfnImagePipeline {
            name: Some(Value::sub("${AWS::StackName}-al2023").into()),
            description: Some("Weekly Amazon Linux 2023 build; new AMIs land in the SSM parameter".into()),
            image_recipe_arn: Some(recipe.attr_arn().into()),
            infrastructure_configuration_arn: Some(infrastructure.attr_arn().into()),
            distribution_configuration_arn: Some(distribution.attr_arn().into()),
            image_tests_configuration: Some(
                image_pipeline::ImageTestsConfiguration {
                    image_tests_enabled: Some(true.into()),
                    timeout_minutes: Some(60.into()),
                }
                .into(),
            ),
            schedule: Some(
                image_pipeline::Schedule {
                    schedule_expression: Some("cron(0 4 ? * mon *)".into()),
                    pipeline_execution_start_condition: Some(
                        image_pipeline::PipelineExecutionStartCondition::ExpressionMatchAndDependencyUpdatesAvailable
                            .into(),
                    ),
                    ..Default::default()
                }
                .into(),
            ),
            status: Some(image_pipeline::Status::Enabled.into()),
            ..CfnImagePipeline::default()
        },
    )?;

    // The parameter consumers launch from; the tracker overwrites it after each build.
    let latest = StringParameter::new(
        app,
        stack,
        "LatestAmi",
        StringParameterProps {
            parameter_name: Some(LATEST_AMI_PARAMETER.into()),
            description: Some(
                "The latest AMI built by the AmiTracker Image Builder pipeline (initially Amazon Linux 2023)"
                    .into(),
            ),
            ..StringParameterProps::new(format!("{{{{resolve:ssm:{AMAZON_LINUX_2023_PARAMETER}}}}}"))
        },
    )?;

    // SNS invokes the tracker asynchronously: notifications it failed on (after Lambda's
    // two retries) are kept here instead of being dropped.
    let failures = Queue::new(
        app,
        stack,
        "TrackerFailures",
        QueueProps {
            retention_period: Some(Duration::from_secs(14 * 24 * 3600)),
            ..QueueProps::default()
        },
    )?;
    let tracker = Function::new(
        app,
        stack,
        "Tracker",
        FunctionProps {
            description: Some(
                "Writes each new Image Builder AMI to the SSM parameter and tags the parameter".into(),
            ),
            timeout: Some(Duration::from_secs(30)),
            // The seed's SAM template: 256 MB.
            memory_size: Some(256),
            dead_letter_queue: Some(failures.into()),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "index.handler",
                Code::from_asset(assets_dir().join("lambda")),
            )
        },
    )?;
    tracker.add_environment(app, "PARAMETER_NAME", latest.parameter_name())?;
    latest.grant_write(app, &tracker)?;
    // The seed tags the parameter (verified with `aws ssm list-tags-for-resource
    // --resource-type Parameter`), not the AMI.
    tracker.role().add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["ssm:AddTagsToResource"])
            .resource(latest.parameter_arn()),
    )?;
    tracker.add_event_source(app, SnsEventSource::new(topic))?;
    depend_on_policy_only(app, tracker)?;

    // checkov's checks that this system answers rather than fixes.
    crate::answer_checks(
        app,
        key.node(),
        &[(
            "CKV_AWS_33",
            "The '*' principal is narrowed to one role by conditions: aws:PrincipalArn must be Image Builder's service-linked role (which may not exist when the key is created, and a key policy naming a missing principal is refused) and kms:ViaService must be SNS in this region",
        )],
    )?;
    crate::answer_checks(
        app,
        tracker.node(),
        &[
            ("CKV_AWS_117", crate::lambda_reasons::OUTSIDE_VPC),
            ("CKV_AWS_115", crate::lambda_reasons::NO_RESERVED_CONCURRENCY),
            (
                "CKV_AWS_173",
                "The environment holds only the SSM parameter's name; Lambda encrypts it at rest with the AWS managed key, and a customer-managed key would add cost and a key policy without protecting anything confidential",
            ),
        ],
    )?;

    app.output(
        stack,
        "TopicArn",
        Output::new(topic.topic_arn()).description("The topic Image Builder notifies"),
    )?;
    app.output(
        stack,
        "PipelineArn",
        Output::new(pipeline.attr_arn())
            .description("Start a build: aws imagebuilder start-image-pipeline-execution"),
    )?;
    app.output(
        stack,
        "LatestAmiParameter",
        Output::new(latest.parameter_name()).description("The SSM parameter with the latest AMI id"),
    )?;
    app.output(
        stack,
        "TrackerFunction",
        Output::new(tracker.function_name()).description("The function that tracks new AMIs"),
    )?;
    Ok(stack)
}

fn consumer_stack(app: &mut App) -> Result<Stack> {
    let stack = app.stack(CONSUMER_STACK)?;
    let latest = app.parameter(
        stack,
        LATEST_AMI_TEMPLATE_PARAMETER,
        Parameter::ssm_value("AWS::EC2::Image::Id")
            .default_value(LATEST_AMI_PARAMETER)
            .description("The SSM parameter with the AMI to launch (kept current by the AmiTracker stack)"),
    )?;
    // The instance joins an existing network: no VPC, NAT gateway or routes of its own.
    let vpc_id = app.parameter(
        stack,
        "VpcId",
        Parameter::new(ParameterType::AwsSpecific("AWS::EC2::VPC::Id".into()))
            .description("The VPC of the subnet"),
    )?;
    let subnet_id = app.parameter(
        stack,
        "SubnetId",
        Parameter::new(ParameterType::AwsSpecific("AWS::EC2::Subnet::Id".into()))
            .description("The subnet to launch in (with a route to Systems Manager for Session Manager)"),
    )?;

    let group = SecurityGroup::new(
        app,
        stack,
        "ServerSecurityGroup",
        SecurityGroupProps {
            vpc_id: vpc_id.value(),
            description: "AmiConsumer server: no inbound, all outbound".into(),
            allow_all_outbound: true,
            group_name: None,
        },
    )?;
    let role = Role::new(
        app,
        stack,
        "ServerRole",
        RoleProps {
            description: Some("The AmiConsumer server (Session Manager access)".into()),
            managed_policies: vec![Role::aws_managed_policy("AmazonSSMManagedInstanceCore")],
            ..RoleProps::new(Principal::service("ec2.amazonaws.com"))
        },
    )?;
    let profile = app.add(
        stack,
        "ServerInstanceProfile",
        CfnInstanceProfile::new(vec![Val::from(role.name())]),
    )?;
    let root_volume = instance::BlockDeviceMapping {
        ebs: Some(
            instance::Ebs {
                encrypted: Some(true.into()),
                volume_type: Some(instance::VolumeType::Gp3.into()),
                volume_size: Some(8.into()),
                delete_on_termination: Some(true.into()),
                ..Default::default()
            }
            .into(),
        ),
        // The root device of Amazon Linux (and of the images built from it).
        ..instance::BlockDeviceMapping::new("/dev/xvda")
    };
    let server = app.add(
        stack,
        "Server",
        CfnInstance {
            image_id: Some(latest.value().into()),
            instance_type: Some("t3.micro".into()),
            subnet_id: Some(subnet_id.value().into()),
            security_group_ids: Some(vec![Val::from(group.security_group_id())].into()),
            iam_instance_profile: Some(profile.ref_().into()),
            block_device_mappings: Some(vec![root_volume.into()].into()),
            metadata_options: Some(
                instance::MetadataOptions {
                    http_tokens: Some(instance::HttpTokens::Required.into()),
                    http_endpoint: Some(instance::HttpEndpoint::Enabled.into()),
                    ..Default::default()
                }
                .into(),
            ),
            tags: Some(vec![instance::Tag::new("Name", "AmiConsumer/Server").into()].into()),
            ..CfnInstance::default()
        },
    )?;

    app.output(
        stack,
        "InstanceId",
        Output::new(server.ref_()).description("The instance launched from the tracked AMI"),
    )?;
    app.output(
        stack,
        "ImageId",
        Output::new(latest.value()).description("The AMI id the parameter resolved to at this deploy"),
    )?;
    Ok(stack)
}

fn events_stack(app: &mut App) -> Result<Stack> {
    let stack = app.stack(EVENTS_STACK)?;

    let dead_letters = Queue::new(
        app,
        stack,
        "DeadLetters",
        QueueProps {
            retention_period: Some(Duration::from_secs(14 * 24 * 3600)),
            ..QueueProps::default()
        },
    )?;
    let queue = Queue::new(
        app,
        stack,
        "Events",
        QueueProps {
            // Six times the consumer's timeout, as Lambda advises for SQS sources.
            visibility_timeout: Some(Duration::from_secs(180)),
            dead_letter_queue: Some(DeadLetterQueue {
                queue: dead_letters.into(),
                max_receive_count: 5,
            }),
            ..QueueProps::default()
        },
    )?;

    // API Gateway sends to the queue as this role, which may do exactly that.
    let sender = Role::new(
        app,
        stack,
        "ApiSendRole",
        RoleProps {
            description: Some("API Gateway puts the MessageBody of POST / on the events queue".into()),
            ..RoleProps::new(Principal::service("apigateway.amazonaws.com"))
        },
    )?;
    sender.add_to_policy(
        app,
        PolicyStatement::allow()
            .actions(["sqs:SendMessage"])
            .resource(queue.queue_arn()),
    )?;

    let api = app.add(
        stack,
        "HttpApi",
        CfnApi {
            name: Some(Value::sub("${AWS::StackName}-events").into()),
            description: Some("Storage first: POST / puts its MessageBody straight on SQS".into()),
            protocol_type: Some("HTTP".into()),
            ..CfnApi::default()
        },
    )?;
    let mut request = IndexMap::new();
    request.insert("QueueUrl".to_string(), Val::from(queue.queue_url()));
    // The seed's contract: its clients POST {"MessageBody": "..."} to /.
    request.insert("MessageBody".to_string(), Val::from("$request.body.MessageBody"));
    let integration = app.add(
        stack,
        "SendToQueue",
        CfnIntegration {
            description: Some("SQS SendMessage with the request body's MessageBody".into()),
            integration_subtype: Some("SQS-SendMessage".into()),
            credentials_arn: Some(sender.arn().into()),
            payload_format_version: Some("1.0".into()),
            request_parameters: Some(request.into()),
            ..CfnIntegration::new(api.ref_(), "AWS_PROXY")
        },
    )?;
    app.add(
        stack,
        "PostEvents",
        CfnRoute {
            authorization_type: Some("AWS_IAM".into()),
            target: Some(Value::join("/", [Value::from("integrations"), integration.ref_()]).into()),
            ..CfnRoute::new(api.ref_(), "POST /")
        },
    )?;

    let access_logs = LogGroup::new(
        app,
        stack,
        "AccessLogs",
        LogGroupProps {
            retention: RetentionDays::OneYear,
            ..LogGroupProps::default()
        },
    )?;
    let format = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","caller":"$context.identity.caller","requestTime":"$context.requestTime","routeKey":"$context.routeKey","status":"$context.status","responseLength":"$context.responseLength","integrationError":"$context.integrationErrorMessage"}"#;
    app.add(
        stack,
        "DefaultStage",
        CfnStage {
            auto_deploy: Some(true.into()),
            access_log_settings: Some(
                stage::AccessLogSettings {
                    destination_arn: Some(access_logs.log_group_arn().into()),
                    format: Some(format.into()),
                }
                .into(),
            ),
            ..CfnStage::new(api.ref_(), "$default")
        },
    )?;

    let consumer = Function::new(
        app,
        stack,
        "Consumer",
        FunctionProps {
            description: Some("Processes the events stored by POST /".into()),
            timeout: Some(Duration::from_secs(30)),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "index.handler",
                Code::from_asset(assets_dir().join("events")),
            )
        },
    )?;
    consumer.add_event_source(app, SqsEventSource::new(queue).batch_size(10))?;
    report_batch_item_failures(app, consumer)?;
    depend_on_policy_only(app, consumer)?;
    crate::answer_checks(
        app,
        consumer.node(),
        &[
            (
                "CKV_AWS_116",
                "Invoked by an SQS event source mapping, which Lambda polls and invokes synchronously: a failed message returns to the queue, whose redrive policy moves it to the DeadLetters queue after five receives; a function's dead-letter queue is never used for queue invocations",
            ),
            ("CKV_AWS_117", crate::lambda_reasons::OUTSIDE_VPC),
            (
                "CKV_AWS_115",
                "No reserved concurrency: the event source mapping already bounds the consumer (batches of 10 from one queue), and a reservation would only carve capacity out of the account's shared regional pool",
            ),
        ],
    )?;

    app.output(
        stack,
        "ApiEndpoint",
        Output::new(api.attr_api_endpoint())
            .description("POST / (SigV4-signed) with {\"MessageBody\": ...} stores the message"),
    )?;
    app.output(
        stack,
        "QueueUrl",
        Output::new(queue.queue_url()).description("Where the events wait"),
    )?;
    app.output(
        stack,
        "DeadLetterQueueUrl",
        Output::new(dead_letters.queue_url()).description("Events the consumer rejected five times"),
    )?;
    Ok(stack)
}

/// The consumer returns `batchItemFailures`: the SQS mapping must say so, or Lambda
/// ignores the answer and deletes the whole batch.
fn report_batch_item_failures(app: &mut App, function: Function) -> Result<()> {
    let path = app.path(function.node());
    let missing = || Error::InvalidProps {
        path: path.clone(),
        problem: "the function has no SQS event source mapping (child SqsEventSource:<queue>)".into(),
    };
    let node = app
        .node(function.node())
        .children()
        .find(|c| app.node(*c).id().starts_with("SqsEventSource:"))
        .and_then(|c| app.node(c).child("Resource"))
        .ok_or_else(missing)?;
    let mapping = app
        .node_mut(node)
        .resource_mut::<CfnEventSourceMapping>()
        .ok_or_else(missing)?;
    mapping.function_response_types = Some(
        vec![Val::from(
            event_source_mapping::FunctionResponseTypesItem::ReportBatchItemFailures,
        )]
        .into(),
    );
    Ok(())
}

/// The function construct makes its resource depend on the whole role construct; the
/// role itself is already ordered by `Role: Fn::GetAtt`, which cfn-lint reports (W3005,
/// and CloudFormation emulators that validate with cfn-lint refuse the template). Keep
/// only the dependency that matters: the role's default policy, once all grants are in.
fn depend_on_policy_only(app: &mut App, function: Function) -> Result<()> {
    let role = function.role();
    let policy = role.default_policy(app);
    let deps = &mut app.resource_options_mut(function.resource())?.depends_on;
    deps.retain(|d| *d != role.node());
    deps.extend(policy);
    Ok(())
}
