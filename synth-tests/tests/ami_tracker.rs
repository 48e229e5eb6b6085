//! Snapshots of the `ami-tracker` example, and the wiring they must show: the tracker's
//! role writes exactly one parameter, the consumer reads it by name and imports nothing,
//! the HTTP API sends to its queue through a role that can do nothing else.

use cairn::assertions::{Match, Matcher, Template};
use examples::ami_tracker::{
    build, AMAZON_LINUX_2023_PARAMETER, CONSUMER_STACK, EVENTS_STACK, LATEST_AMI_PARAMETER,
    LATEST_AMI_TEMPLATE_PARAMETER, TRACKER_STACK,
};
use serde_json::{json, Value as Json};
use synth_tests::{actions, snapshot, stack_names, synth, target};

fn template(name: &str) -> Template {
    synth_tests::template(&synth(build), name)
}

/// The one resource of `resource_type` matching `matcher`: (logical id, resource).
fn only(t: &Template, resource_type: &str, matcher: impl Into<Matcher>) -> (String, Json) {
    let matcher = matcher.into();
    let found = t.find_resources(resource_type, matcher.clone());
    assert_eq!(found.len(), 1, "{resource_type} matching {matcher}: {found:?}");
    found.into_iter().next().unwrap()
}

/// Every statement of every `AWS::IAM::Policy` attached to the role `role_id`; the role
/// has no inline policies.
fn role_statements(t: &Template, role_id: &str) -> Vec<Json> {
    let role = &t.to_json()["Resources"][role_id];
    assert_eq!(role["Type"], "AWS::IAM::Role", "{role_id} is not a role");
    assert!(
        role["Properties"].get("Policies").is_none(),
        "{role_id} has inline policies"
    );
    synth_tests::role_statements(t, role_id)
}

#[test]
fn ami_tracker_templates() {
    let asm = synth(build);
    let names = stack_names(&asm);
    assert_eq!(names, [TRACKER_STACK, CONSUMER_STACK, EVENTS_STACK]);
    for s in asm.stacks() {
        let body = snapshot(&asm, &s.display_name);
        insta::assert_snapshot!(s.display_name.clone(), body);
    }
}

#[test]
fn the_pipeline_notifies_the_topic_the_tracker_is_subscribed_to() {
    let t = template(TRACKER_STACK);
    let (topic, _) = only(&t, "AWS::SNS::Topic", json!({}));
    let (infrastructure, _) = only(
        &t,
        "AWS::ImageBuilder::InfrastructureConfiguration",
        json!({ "Properties": {
            "SnsTopicArn": { "Ref": topic },
            "InstanceMetadataOptions": { "HttpTokens": "required" },
        } }),
    );
    let (recipe, _) = only(
        &t,
        "AWS::ImageBuilder::ImageRecipe",
        json!({ "Properties": {
            "ParentImage": { "Fn::Sub": "arn:${AWS::Partition}:imagebuilder:${AWS::Region}:aws:image/amazon-linux-2023-x86/x.x.x" },
            "BlockDeviceMappings": [{ "Ebs": { "Encrypted": true } }],
        } }),
    );
    let (distribution, _) = only(&t, "AWS::ImageBuilder::DistributionConfiguration", json!({}));
    t.assert_has_resource_properties(
        "AWS::ImageBuilder::ImagePipeline",
        json!({
            "ImageRecipeArn": { "Fn::GetAtt": [recipe, "Arn"] },
            "InfrastructureConfigurationArn": { "Fn::GetAtt": [infrastructure, "Arn"] },
            "DistributionConfigurationArn": { "Fn::GetAtt": [distribution, "Arn"] },
            "Status": "ENABLED",
        }),
    );
    // The topic's key lets (only) the Image Builder service-linked role use it through SNS.
    let (key, key_json) = only(
        &t,
        "AWS::KMS::Key",
        json!({ "Properties": { "Description": "Encrypts the Image Builder notification topic" } }),
    );
    assert_eq!(
        t.to_json()["Resources"][&topic]["Properties"]["KmsMasterKeyId"],
        json!({ "Fn::GetAtt": [key, "Arn"] })
    );
    let statement = &key_json["Properties"]["KeyPolicy"]["Statement"][1];
    assert_eq!(
        statement,
        &json!({
            "Sid": "ImageBuilderPublishes",
            "Effect": "Allow",
            "Principal": { "AWS": "*" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "ArnEquals": { "aws:PrincipalArn": { "Fn::Sub":
                    "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/imagebuilder.amazonaws.com/AWSServiceRoleForImageBuilder" } },
                "StringEquals": { "kms:ViaService": { "Fn::Sub": "sns.${AWS::Region}.amazonaws.com" } },
            },
        })
    );
    let (function, _) = only(
        &t,
        "AWS::Lambda::Function",
        json!({ "Properties": { "Runtime": "python3.12" } }),
    );
    t.assert_has_resource_properties(
        "AWS::SNS::Subscription",
        json!({ "Protocol": "lambda", "TopicArn": { "Ref": topic }, "Endpoint": { "Fn::GetAtt": [function, "Arn"] } }),
    );
    t.assert_has_resource_properties(
        "AWS::Lambda::Permission",
        json!({ "Principal": "sns.amazonaws.com", "SourceArn": { "Ref": topic } }),
    );
}

#[test]
fn the_tracker_may_put_only_the_latest_ami_parameter() {
    let t = template(TRACKER_STACK);
    let (parameter, _) = only(
        &t,
        "AWS::SSM::Parameter",
        json!({ "Properties": {
            "Name": LATEST_AMI_PARAMETER,
            "Type": "String",
            "Value": format!("{{{{resolve:ssm:{AMAZON_LINUX_2023_PARAMETER}}}}}"),
        } }),
    );
    let (_, function) = only(
        &t,
        "AWS::Lambda::Function",
        json!({ "Properties": { "Runtime": "python3.12" } }),
    );
    assert_eq!(
        function["Properties"]["Environment"]["Variables"]["PARAMETER_NAME"],
        json!({ "Ref": parameter })
    );
    let role = target(&function["Properties"]["Role"]);
    let statements = role_statements(&t, &role);

    // The parameter's ARN: arn:<partition>:ssm:<region>:<account>:parameter + its name
    // (which starts with '/').
    let parameter_arn = json!({ "Fn::Join": ["", [
        "arn:", { "Ref": "AWS::Partition" }, ":ssm:", { "Ref": "AWS::Region" }, ":",
        { "Ref": "AWS::AccountId" }, ":parameter", { "Ref": parameter },
    ]] });
    let ssm: Vec<&Json> = statements
        .iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("ssm:")))
        .collect();
    // The seed writes the parameter and tags it (not the AMI): both on that one parameter.
    let mut ssm_actions: Vec<String> = ssm
        .iter()
        .inspect(|s| {
            assert_eq!(
                s["Resource"], parameter_arn,
                "an SSM statement on another resource: {s}"
            )
        })
        .flat_map(|s| actions(s))
        .map(|a| a.to_string())
        .collect();
    ssm_actions.sort();
    assert_eq!(
        ssm_actions,
        ["ssm:AddTagsToResource", "ssm:PutParameter"],
        "the tracker's SSM permissions"
    );
    assert!(
        statements
            .iter()
            .all(|s| actions(s).iter().all(|a| !a.starts_with("ec2:"))),
        "the tracker needs no EC2 permission (it tags the parameter, not the AMI)"
    );
    // The seed's memory size.
    assert_eq!(function["Properties"]["MemorySize"], json!(256));
    // Nothing else but sending failed notifications to its own dead-letter queue.
    let (dlq, _) = only(&t, "AWS::SQS::Queue", json!({}));
    assert_eq!(
        function["Properties"]["DeadLetterConfig"]["TargetArn"],
        json!({ "Fn::GetAtt": [dlq, "Arn"] })
    );
    for s in &statements {
        assert_ne!(s["Resource"], json!("*"), "a statement on every resource: {s}");
        let a = actions(s);
        if !a.iter().any(|a| a.starts_with("ssm:") || a.starts_with("ec2:")) {
            assert!(
                a.iter().all(|a| a.starts_with("sqs:")),
                "unexpected statement {s}"
            );
            assert_eq!(s["Resource"], json!({ "Fn::GetAtt": [dlq, "Arn"] }));
        }
    }
    assert_eq!(
        t.to_json()["Resources"][&role]["Properties"]["ManagedPolicyArns"],
        json!([{ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]] }])
    );
}

#[test]
fn the_consumer_reads_the_parameter_by_name_and_imports_nothing() {
    let asm = synth(build);
    let consumer = asm.stack(CONSUMER_STACK).unwrap();
    let t = Template::from_json(consumer.template.json().clone());
    t.assert_has_parameter(
        LATEST_AMI_TEMPLATE_PARAMETER,
        Match::object_equals(json!({
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Default": LATEST_AMI_PARAMETER,
            "Description": "The SSM parameter with the AMI to launch (kept current by the AmiTracker stack)",
        })),
    );
    let parameters: Vec<&String> = consumer.template["Parameters"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(parameters, [LATEST_AMI_TEMPLATE_PARAMETER, "VpcId", "SubnetId"]);
    t.assert_has_parameter("VpcId", json!({ "Type": "AWS::EC2::VPC::Id" }));
    t.assert_has_parameter("SubnetId", json!({ "Type": "AWS::EC2::Subnet::Id" }));
    let text = consumer.template.to_string();
    assert!(
        !text.contains("Fn::ImportValue"),
        "the consumer imports something"
    );
    t.assert_has_resource_properties(
        "AWS::EC2::Instance",
        json!({
            "ImageId": { "Ref": LATEST_AMI_TEMPLATE_PARAMETER },
            "BlockDeviceMappings": [{ "DeviceName": "/dev/xvda", "Ebs": { "Encrypted": true } }],
            "MetadataOptions": { "HttpTokens": "required" },
            "SubnetId": { "Ref": "SubnetId" },
        }),
    );
    // Ordered after the tracker (which creates the parameter), without any export.
    assert_eq!(consumer.dependencies, [TRACKER_STACK]);
    let tracker = &asm.stack(TRACKER_STACK).unwrap().template;
    let exports = tracker["Outputs"]
        .as_object()
        .unwrap()
        .values()
        .filter(|o| o.get("Export").is_some())
        .count();
    assert_eq!(exports, 0, "the tracker exports nothing");
}

#[test]
fn the_http_api_sends_to_the_queue_through_a_role_limited_to_it() {
    let t = template(EVENTS_STACK);
    let (queue, queue_json) = only(
        &t,
        "AWS::SQS::Queue",
        json!({ "Properties": { "KmsMasterKeyId": "alias/aws/sqs", "RedrivePolicy": { "maxReceiveCount": 5 } } }),
    );
    let dlq = target(&queue_json["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]);
    assert_eq!(
        t.to_json()["Resources"][&dlq]["Properties"]["KmsMasterKeyId"],
        "alias/aws/sqs"
    );

    let (api, _) = only(
        &t,
        "AWS::ApiGatewayV2::Api",
        json!({ "Properties": { "ProtocolType": "HTTP" } }),
    );
    let (integration, integration_json) = only(
        &t,
        "AWS::ApiGatewayV2::Integration",
        json!({ "Properties": {
            "ApiId": { "Ref": api },
            "IntegrationType": "AWS_PROXY",
            "IntegrationSubtype": "SQS-SendMessage",
            "PayloadFormatVersion": "1.0",
        } }),
    );
    assert_eq!(
        integration_json["Properties"]["RequestParameters"],
        json!({ "QueueUrl": { "Ref": queue }, "MessageBody": "$request.body.MessageBody" }),
        "the seed's contract: the message is the body's MessageBody"
    );
    let role = target(&integration_json["Properties"]["CredentialsArn"]);
    assert_eq!(
        role_statements(&t, &role),
        [
            json!({ "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": { "Fn::GetAtt": [queue, "Arn"] } })
        ],
        "the integration role's permissions"
    );
    assert_eq!(
        t.to_json()["Resources"][&role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
            ["Principal"],
        json!({ "Service": "apigateway.amazonaws.com" })
    );
    assert!(t.to_json()["Resources"][&role]["Properties"]
        .get("ManagedPolicyArns")
        .is_none());

    t.assert_has_resource_properties(
        "AWS::ApiGatewayV2::Route",
        json!({
            "ApiId": { "Ref": api },
            "RouteKey": "POST /",
            "Target": { "Fn::Join": ["/", ["integrations", { "Ref": integration }]] },
        }),
    );
    let (_, stage) = only(
        &t,
        "AWS::ApiGatewayV2::Stage",
        json!({ "Properties": { "ApiId": { "Ref": api }, "StageName": "$default", "AutoDeploy": true } }),
    );
    let logs = target(&stage["Properties"]["AccessLogSettings"]["DestinationArn"]);
    assert_eq!(t.to_json()["Resources"][&logs]["Type"], "AWS::Logs::LogGroup");
    assert!(stage["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .is_some_and(|f| f.contains("$context.requestId")));

    let (function, _) = only(
        &t,
        "AWS::Lambda::Function",
        json!({ "Properties": { "Runtime": "python3.12" } }),
    );
    t.assert_has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        json!({
            "EventSourceArn": { "Fn::GetAtt": [queue, "Arn"] },
            "FunctionName": { "Ref": function },
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }),
    );
}

#[test]
fn ami_tracker_is_byte_identical_across_synths() {
    let dir = std::env::temp_dir().join(format!("cairn-ami-tracker-{}", std::process::id()));
    let (da, db) = (dir.join("a"), dir.join("b"));
    synth(build).write(&da, cairn::TemplateFormat::Json).unwrap();
    synth(build).write(&db, cairn::TemplateFormat::Json).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&da)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    files.sort();
    assert!(
        files
            .iter()
            .filter(|f| f.to_string_lossy().starts_with("asset."))
            .count()
            == 2
    );
    for f in files {
        let (a, b) = (da.join(&f), db.join(&f));
        if a.is_file() {
            assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{f:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The handlers' own tests (Python's unittest, boto3 replaced by fakes).
#[test]
fn lambda_handlers_pass_their_unit_tests() {
    let tests = examples::ami_tracker::assets_dir().join("tests");
    let out = std::process::Command::new("python3")
        .args(["-m", "unittest", "discover", "-s"])
        .arg(&tests)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs (the handlers' tests need it)");
    assert!(
        out.status.success(),
        "handler tests failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
