//! Existing resources (`Kind::from_*`): references, grants on the grantee's side only,
//! rule targets, subnets and rules of imported networks, and the errors of bad input.

mod common;
use common::checked_app;

use cairn_constructs::assertions::{Match, Template};
use cairn_constructs::dynamodb::{Table, TableAttributes, TableRef};
use cairn_constructs::ec2::{
    Instance, InstanceProps, MachineImage, Peer, Port, SecurityGroup, SecurityGroupImportOptions,
    SecurityGroupProps, SecurityGroupRef, SubnetSelection, SubnetType, Vpc, VpcAttributes,
};
use cairn_constructs::ecs::{Cluster, ClusterAttributes};
use cairn_constructs::events::{Rule, RuleProps, Schedule};
use cairn_constructs::iam::{Principal, Role, RoleImportOptions, RoleProps, RoleRef};
use cairn_constructs::kms::{Key, KeyRef};
use cairn_constructs::lambda::{Code, Function, FunctionAttributes, FunctionProps, FunctionRef, Runtime};
use cairn_constructs::logs::{LogGroup, LogGroupRef};
use cairn_constructs::s3::{Bucket, BucketAttributes, BucketRef};
use cairn_constructs::secretsmanager::{Secret, SecretRef};
use cairn_constructs::sns::{Subscriber, SubscriptionProps, Topic, TopicRef};
use cairn_constructs::sqs::{Queue, QueueProps, QueueRef};
use cairn_constructs::ssm::{StringParameter, StringParameterRef};
use cairn_constructs::stepfunctions::{StateMachine, StateMachineRef};
use cairn_core::{App, Environment, Error, StackProps, Value};
use serde_json::json;

fn app() -> (App, cairn_core::Stack) {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    (app, stack)
}

fn worker(app: &mut App, stack: cairn_core::Stack) -> Role {
    Role::new(
        app,
        stack,
        "Worker",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap()
}

/// The statements of the worker's default policy.
fn worker_statements(t: &Template) -> serde_json::Value {
    let policies = t.find_resources("AWS::IAM::Policy", json!({}));
    assert_eq!(policies.len(), 1, "{policies:?}");
    policies[0].1["Properties"]["PolicyDocument"]["Statement"].clone()
}

fn invalid_props(e: Error) -> (String, String) {
    match e {
        Error::InvalidProps { path, problem } => (path, problem),
        other => panic!("expected InvalidProps, got {other:?}"),
    }
}

#[test]
fn imports_add_no_resources_and_pass_the_recommended_rules() {
    let (mut app, stack, findings) = checked_app();
    Bucket::from_bucket_name(&mut app, stack, "B", "logs").unwrap();
    Topic::from_topic_arn(&mut app, stack, "T", "arn:aws:sns:eu-west-1:123456789012:t").unwrap();
    Queue::from_queue_arn(&mut app, stack, "Q", "arn:aws:sqs:eu-west-1:123456789012:q").unwrap();
    Key::from_key_arn(&mut app, stack, "K", "arn:aws:kms:eu-west-1:123456789012:key/abc").unwrap();
    Role::from_role_name(&mut app, stack, "R", "ops").unwrap();
    Function::from_function_name(&mut app, stack, "F", "resize").unwrap();
    Table::from_table_name(&mut app, stack, "D", "orders").unwrap();
    Secret::from_secret_name_v2(&mut app, stack, "Sec", "prod/db").unwrap();
    LogGroup::from_log_group_name(&mut app, stack, "L", "/app").unwrap();
    StateMachine::from_state_machine_arn(
        &mut app,
        stack,
        "M",
        "arn:aws:states:eu-west-1:123456789012:stateMachine:m",
    )
    .unwrap();
    SecurityGroup::from_security_group_id(
        &mut app,
        stack,
        "G",
        "sg-1",
        SecurityGroupImportOptions::default(),
    )
    .unwrap();
    Vpc::from_attributes(&mut app, stack, "V", VpcAttributes::new("vpc-1", ["eu-west-1a"])).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    assert!(
        t.to_json()
            .get("Resources")
            .is_none_or(|r| r.as_object().is_none_or(|m| m.is_empty())),
        "{}",
        t.to_json()
    );
}

#[test]
fn bucket_imports_read_names_and_arns_and_grant_the_grantee_only() {
    let (mut app, stack) = app();
    let by_name = Bucket::from_bucket_name(&mut app, stack, "ByName", "logs").unwrap();
    let by_arn = Bucket::from_bucket_arn(&mut app, stack, "ByArn", "arn:aws:s3:::archive").unwrap();
    assert_eq!(by_arn.bucket_name(), Value::from("archive"));
    assert_eq!(by_name.bucket_name(), Value::from("logs"));
    let keyed = Bucket::from_bucket_attributes(
        &mut app,
        stack,
        "Keyed",
        BucketAttributes {
            bucket_name: Some("secure".into()),
            encryption_key_arn: Some("arn:aws:kms:eu-west-1:123456789012:key/k1".into()),
            ..BucketAttributes::default()
        },
    )
    .unwrap();
    let role = worker(&mut app, stack);
    by_name.grant_read(&mut app, &role).unwrap();
    keyed.grant_put(&mut app, &role).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_resource_count_is("AWS::S3::BucketPolicy", 0);
    let statements = worker_statements(&t);
    assert_eq!(
        statements[0]["Resource"][0],
        json!({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::logs"]]})
    );
    assert_eq!(
        statements[0]["Action"],
        json!(["s3:GetObject*", "s3:GetBucket*", "s3:List*"])
    );
    assert_eq!(
        statements[2]["Resource"],
        json!("arn:aws:kms:eu-west-1:123456789012:key/k1")
    );
    assert_eq!(statements.as_array().map(Vec::len), Some(3));
}

#[test]
fn bad_arns_and_names_are_invalid_props_naming_the_path_and_the_fix() {
    let (mut app, stack) = app();
    let (path, problem) = invalid_props(
        Bucket::from_bucket_arn(&mut app, stack, "B", "arn:aws:sqs:eu-west-1:1:q").unwrap_err(),
    );
    assert_eq!(path, "S/B");
    assert!(
        problem.contains("not an ARN of s3") && problem.contains("arn:aws:s3:::my-bucket"),
        "{problem}"
    );
    let (_, problem) = invalid_props(
        Bucket::from_bucket_attributes(&mut app, stack, "N", BucketAttributes::default()).unwrap_err(),
    );
    assert!(problem.contains("bucket_arn or bucket_name"), "{problem}");
    let (_, problem) = invalid_props(
        Role::from_role_arn(
            &mut app,
            stack,
            "R",
            "arn:aws:iam::1:user/x",
            RoleImportOptions::default(),
        )
        .unwrap_err(),
    );
    assert!(problem.contains("role/<name>"), "{problem}");
    let (_, problem) = invalid_props(Role::from_role_name(&mut app, stack, "E", " ").unwrap_err());
    assert!(problem.contains("role name is empty"), "{problem}");
    assert!(Queue::from_queue_arn(&mut app, stack, "Q", "not-an-arn").is_err());
    assert!(Topic::from_topic_arn(&mut app, stack, "T", "arn:aws:sqs:eu-west-1:1:t").is_err());
    assert!(Key::from_key_arn(&mut app, stack, "K", "arn:aws:kms:eu-west-1:1:alias/a").is_err());
    assert!(Function::from_function_arn(&mut app, stack, "F", "arn:aws:lambda:eu-west-1:1:layer:l").is_err());
    assert!(Table::from_table_arn(&mut app, stack, "D", "arn:aws:dynamodb:eu-west-1:1:other/o").is_err());
    assert!(Secret::from_secret_complete_arn(
        &mut app,
        stack,
        "S1",
        "arn:aws:secretsmanager:eu-west-1:1:secret:db"
    )
    .is_err());
    assert!(
        LogGroup::from_log_group_arn(&mut app, stack, "L", "arn:aws:logs:eu-west-1:1:destination:d").is_err()
    );
    assert!(StateMachine::from_state_machine_arn(
        &mut app,
        stack,
        "M",
        "arn:aws:states:eu-west-1:1:activity:a"
    )
    .is_err());
    assert!(StringParameter::from_string_parameter_name(&mut app, stack, "P", "").is_err());
    assert!(SecurityGroup::from_security_group_id(
        &mut app,
        stack,
        "G",
        "vpc-1",
        SecurityGroupImportOptions::default()
    )
    .is_err());
    let (_, problem) = invalid_props(
        Vpc::from_attributes(
            &mut app,
            stack,
            "V",
            VpcAttributes {
                private_subnet_ids: vec!["a".into(), "b".into(), "c".into()],
                private_subnet_route_table_ids: vec!["r".into()],
                ..VpcAttributes::new("vpc-1", ["eu-west-1a", "eu-west-1b"])
            },
        )
        .unwrap_err(),
    );
    assert!(
        problem.contains("2 problems") && problem.contains("multiple of the zones"),
        "{problem}"
    );
}

#[test]
fn an_imported_role_takes_grants_in_its_own_policy_and_an_immutable_one_none() {
    let mut app = App::new();
    let stack = app
        .stack_with(
            app.root(),
            "S",
            StackProps {
                env: Some(Environment::new("111111111111", "eu-west-1")),
                ..StackProps::default()
            },
        )
        .unwrap();
    let ci = Role::from_role_arn(
        &mut app,
        stack,
        "Ci",
        "arn:aws:iam::111111111111:role/service-role/ci",
        RoleImportOptions::default(),
    )
    .unwrap();
    assert_eq!(ci.role_name(), Value::from("ci"));
    let other = Role::from_role_arn(
        &mut app,
        stack,
        "Other",
        "arn:aws:iam::222222222222:role/x",
        RoleImportOptions::default(),
    )
    .unwrap();
    assert!(!other.is_mutable());
    let fixed = Role::from_role_arn(
        &mut app,
        stack,
        "Fixed",
        "arn:aws:iam::111111111111:role/f",
        RoleImportOptions { mutable: false },
    )
    .unwrap();
    let queue = Queue::new(&mut app, stack, "Jobs", QueueProps::default()).unwrap();
    queue.grant_send_messages(&mut app, &ci).unwrap();
    queue.grant_send_messages(&mut app, &other).unwrap();
    queue.grant_send_messages(&mut app, &fixed).unwrap();
    let warnings = app
        .diagnostics()
        .iter()
        .filter(|d| d.message.contains("immutable"))
        .count();
    assert_eq!(warnings, 2);
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_resource_count_is("AWS::IAM::Policy", 1);
    let (id, policy) = &t.find_resources("AWS::IAM::Policy", json!({}))[0];
    assert!(id.starts_with("CiPolicy"), "{id}");
    assert_eq!(policy["Properties"]["PolicyName"], json!(id));
    assert_eq!(policy["Properties"]["Roles"], json!(["ci"]));
    t.assert_resource_count_is("AWS::SQS::QueuePolicy", 0);
}

#[test]
fn topics_queues_keys_and_tables_grant_and_subscribe_by_their_imported_arns() {
    let (mut app, stack) = app();
    let topic = Topic::from_topic_arn(
        &mut app,
        stack,
        "Alerts",
        "arn:aws:sns:eu-west-1:123456789012:alerts",
    )
    .unwrap();
    assert_eq!(topic.topic_name(), Value::from("alerts"));
    let queue =
        Queue::from_queue_arn(&mut app, stack, "Jobs", "arn:aws:sqs:eu-west-1:123456789012:jobs").unwrap();
    assert_eq!(
        queue.queue_url(),
        Value::join(
            "",
            [
                Value::from("https://sqs.eu-west-1."),
                Value::pseudo(cairn_core::Pseudo::UrlSuffix),
                Value::from("/123456789012/jobs"),
            ]
        )
    );
    let key = Key::from_key_arn(&mut app, stack, "Key", "arn:aws:kms:eu-west-1:123456789012:key/k").unwrap();
    let table = Table::from_table_attributes(
        &mut app,
        stack,
        "Orders",
        TableAttributes {
            table_arn: Some("arn:aws:dynamodb:eu-west-1:123456789012:table/orders".into()),
            global_indexes: vec!["byCustomer".into()],
            ..TableAttributes::default()
        },
    )
    .unwrap();
    assert_eq!(table.table_name(), Value::from("orders"));
    let plain = Table::from_table_name(&mut app, stack, "Plain", "plain").unwrap();
    let role = worker(&mut app, stack);
    topic.grant_publish(&mut app, &role).unwrap();
    queue.grant_consume_messages(&mut app, &role).unwrap();
    key.grant_decrypt(&mut app, &role).unwrap();
    table.grant_read_data(&mut app, &role).unwrap();
    plain.grant_write_data(&mut app, &role).unwrap();
    assert!(plain.grant_stream_read(&mut app, &role).is_err());
    let own = Queue::new(&mut app, stack, "Own", QueueProps::default()).unwrap();
    topic
        .add_subscription(&mut app, Subscriber::Sqs(own), SubscriptionProps::default())
        .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    let s = worker_statements(&t);
    assert_eq!(
        s[0],
        json!({"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:eu-west-1:123456789012:alerts"})
    );
    assert_eq!(s[1]["Resource"], json!("arn:aws:sqs:eu-west-1:123456789012:jobs"));
    assert_eq!(
        s[2],
        json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k"})
    );
    assert_eq!(
        s[3]["Resource"],
        json!(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders", {"Fn::Join": ["", ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders", "/index/*"]]}])
    );
    // Without indexes, the grant names the table only (as aws-cdk-lib's import does).
    assert_eq!(
        s[4]["Resource"]["Fn::Join"][1].as_array().and_then(|a| a.last()),
        Some(&json!(":table/plain"))
    );
    t.assert_has_resource_properties(
        "AWS::SNS::Subscription",
        json!({"Protocol": "sqs", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:alerts"}),
    );
    t.assert_resource_count_is("AWS::SNS::TopicPolicy", 0);
}

#[test]
fn imported_functions_are_invoked_and_targeted_where_their_permissions_may_change() {
    let (mut app, stack) = app();
    let by_arn = Function::from_function_arn(
        &mut app,
        stack,
        "Remote",
        "arn:aws:lambda:eu-west-1:123456789012:function:remote:live",
    )
    .unwrap();
    assert_eq!(by_arn.function_name(), Value::from("remote"));
    let local = Function::from_function_name(&mut app, stack, "Local", "local").unwrap();
    let same = Function::from_function_attributes(
        &mut app,
        stack,
        "Same",
        FunctionAttributes {
            same_environment: true,
            ..FunctionAttributes::new("arn:aws:lambda:eu-west-1:123456789012:function:same")
        },
    )
    .unwrap();
    assert!(
        same.can_create_permissions() && local.can_create_permissions() && !by_arn.can_create_permissions()
    );
    let rule = Rule::new(
        &mut app,
        stack,
        "Nightly",
        RuleProps::schedule(Schedule::Rate(std::time::Duration::from_secs(3600))),
    )
    .unwrap();
    rule.add_target(&mut app, &local).unwrap();
    rule.add_target(&mut app, &by_arn).unwrap();
    let role = worker(&mut app, stack);
    by_arn.grant_invoke(&mut app, &role).unwrap();
    let warned = app
        .diagnostics()
        .iter()
        .any(|d| d.path.ends_with("Remote") && d.message.contains("same_environment"));
    assert!(warned);
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_resource_count_is("AWS::Lambda::Permission", 1);
    t.assert_has_resource_properties(
        "AWS::Lambda::Permission",
        Match::object_like(json!({"Principal": "events.amazonaws.com"}))
            .with("FunctionName", Match::any_value()),
    );
    let targets = &t.find_resources("AWS::Events::Rule", json!({}))[0].1["Properties"]["Targets"];
    assert_eq!(
        targets[1]["Arn"],
        json!("arn:aws:lambda:eu-west-1:123456789012:function:remote:live")
    );
    assert_eq!(
        worker_statements(&t)[0]["Resource"][1],
        json!("arn:aws:lambda:eu-west-1:123456789012:function:remote:live:*")
    );
    // The permission is the rule's (as aws-cdk-lib places it), named after the function.
    let permission = &t.find_resources("AWS::Lambda::Permission", json!({}))[0].0;
    assert!(
        permission.starts_with("NightlyAllowEventRuleSLocal"),
        "{permission}"
    );
}

#[test]
fn secrets_parameters_log_groups_and_state_machines_grant_their_arn_shapes() {
    let (mut app, stack) = app();
    let named = Secret::from_secret_name_v2(&mut app, stack, "Db", "prod/db").unwrap();
    let full = Secret::from_secret_complete_arn(
        &mut app,
        stack,
        "Api",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-AbCdEf",
    )
    .unwrap()
    .with_encryption_key_arn("arn:aws:kms:eu-west-1:123456789012:key/s");
    let param = StringParameter::from_string_parameter_name(&mut app, stack, "Ami", "/app/ami").unwrap();
    let group = LogGroup::from_log_group_arn(
        &mut app,
        stack,
        "Audit",
        "arn:aws:logs:eu-west-1:123456789012:log-group:audit",
    )
    .unwrap();
    assert_eq!(
        group.log_group_arn(),
        Value::from("arn:aws:logs:eu-west-1:123456789012:log-group:audit:*")
    );
    let machine = StateMachine::from_state_machine_arn(
        &mut app,
        stack,
        "Flow",
        "arn:aws:states:eu-west-1:123456789012:stateMachine:flow",
    )
    .unwrap();
    let role = worker(&mut app, stack);
    named.grant_read(&mut app, &role).unwrap();
    full.grant_read(&mut app, &role).unwrap();
    param.grant_read(&mut app, &role).unwrap();
    group.grant_write(&mut app, &role).unwrap();
    machine.grant_start_execution(&mut app, &role).unwrap();
    assert_eq!(
        named.secret_value_from_json("password"),
        Value::join(
            "",
            [
                Value::from("{{resolve:secretsmanager:"),
                Value::from("prod/db"),
                Value::from(":SecretString:password::}}"),
            ]
        )
    );
    let t = Template::from_stack(&mut app, stack).unwrap();
    let s = worker_statements(&t);
    assert_eq!(
        s[0]["Resource"]["Fn::Join"][1].as_array().and_then(|a| a.last()),
        Some(&json!(":secret:prod/db-??????"))
    );
    assert_eq!(
        s[1]["Resource"],
        json!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-AbCdEf")
    );
    assert_eq!(
        s[2]["Condition"]["StringEquals"]["kms:ViaService"],
        json!({"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"})
    );
    assert_eq!(
        s[3]["Resource"]["Fn::Join"][1].as_array().and_then(|a| a.last()),
        Some(&json!(":parameter/app/ami"))
    );
    assert_eq!(
        s[4]["Resource"],
        json!("arn:aws:logs:eu-west-1:123456789012:log-group:audit:*")
    );
    assert_eq!(
        s[5],
        json!({"Effect": "Allow", "Action": "states:StartExecution", "Resource": "arn:aws:states:eu-west-1:123456789012:stateMachine:flow"})
    );
    t.assert_has_parameter(
        "AmiParameter",
        json!({"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/app/ami"}),
    );
}

#[test]
fn an_imported_vpc_places_instances_and_services_and_its_groups_take_rules_as_resources() {
    let (mut app, stack) = app();
    let vpc = Vpc::from_attributes(
        &mut app,
        stack,
        "Shared",
        VpcAttributes {
            public_subnet_ids: vec!["subnet-p1".into(), "subnet-p2".into()],
            private_subnet_ids: vec![
                "subnet-a1".into(),
                "subnet-b1".into(),
                "subnet-a2".into(),
                "subnet-b2".into(),
            ],
            private_subnet_names: vec!["App".into(), "Data".into()],
            private_subnet_route_table_ids: vec![
                "rtb-1".into(),
                "rtb-2".into(),
                "rtb-3".into(),
                "rtb-4".into(),
            ],
            ..VpcAttributes::new("vpc-0abc", ["eu-west-1a", "eu-west-1b"])
        },
    )
    .unwrap();
    assert_eq!(app.path(vpc.subnets()[5].node), "S/Shared/DataSubnet4");
    assert_eq!(
        vpc.select_subnets_by_group("Data"),
        vec![Value::from("subnet-a2"), Value::from("subnet-b2")]
    );
    let shared = SecurityGroup::from_security_group_id(
        &mut app,
        stack,
        "SharedSg",
        "sg-0shared",
        SecurityGroupImportOptions::default(),
    )
    .unwrap();
    let host = Instance::new(
        &mut app,
        stack,
        "Host",
        InstanceProps {
            vpc_subnets: Some(SubnetSelection {
                subnet_group_name: Some("Data".into()),
                availability_zones: vec!["eu-west-1b".into()],
                ..SubnetSelection::default()
            }),
            ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2023())
        },
    )
    .unwrap();
    let web = SecurityGroup::new(&mut app, stack, "Web", SecurityGroupProps::for_vpc(&vpc)).unwrap();
    shared.allow_from(&mut app, &web, Port::tcp(5432), "").unwrap();
    shared
        .add_ingress_rule(&mut app, Peer::ipv4("10.1.0.0/16"), Port::tcp(443), "")
        .unwrap();
    shared
        .add_egress_rule(&mut app, Peer::ipv4("10.1.0.0/16"), Port::tcp(443), "")
        .unwrap();
    let cluster =
        Cluster::from_cluster_attributes(&mut app, stack, "Cluster", ClusterAttributes::new("shared", &vpc))
            .unwrap();
    assert_eq!(cluster.vpc().vpc_id(), Value::from("vpc-0abc"));
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_has_resource_properties("AWS::EC2::Instance", json!({"SubnetId": "subnet-b2"}));
    t.assert_has_resource_properties("AWS::EC2::SecurityGroup", json!({"VpcId": "vpc-0abc"}));
    // Rules of the imported group are resources under it, with aws-cdk-lib's ids.
    let ingress = t.find_resources("AWS::EC2::SecurityGroupIngress", json!({}));
    let ids: Vec<&String> = ingress.iter().map(|(id, _)| id).collect();
    assert_eq!(ingress.len(), 2, "{ids:?}");
    assert!(
        ingress
            .iter()
            .any(|(id, r)| id.starts_with("SharedSgfrom1010016443")
                && r["Properties"]["CidrIp"] == "10.1.0.0/16"),
        "{ids:?}"
    );
    assert!(ingress
        .iter()
        .any(|(id, r)| id.starts_with("SharedSgfromSWeb") && r["Properties"]["GroupId"] == "sg-0shared"));
    // The imported group allows all outbound traffic: no egress rule is written.
    t.assert_resource_count_is("AWS::EC2::SecurityGroupEgress", 0);
    let _ = host;
}

#[test]
fn subnet_selection_by_group_zone_and_one_per_az_and_its_errors() {
    let (mut app, stack) = app();
    let vpc = Vpc::from_attributes(
        &mut app,
        stack,
        "V",
        VpcAttributes {
            private_subnet_ids: vec!["a1".into(), "b1".into(), "a2".into(), "b2".into()],
            isolated_subnet_ids: vec!["i1".into(), "i2".into()],
            ..VpcAttributes::new("vpc-1", ["eu-west-1a", "eu-west-1b"])
        },
    )
    .unwrap();
    let node = stack.node();
    let ids = |picked: Vec<&cairn_constructs::ec2::Subnet>| {
        picked.iter().map(|s| s.subnet_id()).collect::<Vec<_>>()
    };
    let default = vpc.select(&app, node, &SubnetSelection::default()).unwrap();
    assert_eq!(ids(default).len(), 4);
    let one = vpc
        .select(
            &app,
            node,
            &SubnetSelection {
                one_per_az: true,
                ..SubnetSelection::of_type(SubnetType::PrivateWithEgress)
            },
        )
        .unwrap();
    assert_eq!(ids(one), vec![Value::from("a1"), Value::from("b1")]);
    let zone = vpc
        .select(
            &app,
            node,
            &SubnetSelection {
                availability_zones: vec!["eu-west-1a".into()],
                ..SubnetSelection::of_group("Isolated")
            },
        )
        .unwrap();
    assert_eq!(ids(zone), vec![Value::from("i1")]);
    let (_, problem) = invalid_props(
        vpc.select(&app, node, &SubnetSelection::of_group("Nope"))
            .unwrap_err(),
    );
    assert!(
        problem.contains("Private (private-with-egress)") || problem.contains("Private ("),
        "{problem}"
    );
    let both = SubnetSelection {
        subnet_type: Some(SubnetType::Public),
        ..SubnetSelection::of_group("Private")
    };
    assert!(vpc.select(&app, node, &both).is_err());
    let created = Vpc::new(&mut app, stack, "Own", cairn_constructs::ec2::VpcProps::default()).unwrap();
    let (_, problem) = invalid_props(
        created
            .select(
                &app,
                node,
                &SubnetSelection {
                    availability_zones: vec!["eu-west-1a".into()],
                    ..SubnetSelection::default()
                },
            )
            .unwrap_err(),
    );
    assert!(problem.contains("only known at deploy time"), "{problem}");
}

#[test]
fn functions_take_an_imported_role_through_the_trait() {
    fn name_of(role: &impl RoleRef) -> Value {
        role.role_name()
    }
    let (mut app, stack) = app();
    let created = worker(&mut app, stack);
    let imported = Role::from_role_name(&mut app, stack, "Ops", "ops").unwrap();
    assert_eq!(name_of(&imported), Value::from("ops"));
    assert_eq!(name_of(&created), created.name());
    assert_eq!(
        imported.role_arn(),
        Value::join(
            "",
            [
                Value::from("arn:"),
                Value::pseudo(cairn_core::Pseudo::Partition),
                Value::from(":iam::"),
                Value::pseudo(cairn_core::Pseudo::AccountId),
                Value::from(":role/ops")
            ]
        )
    );
    let f = Function::new(
        &mut app,
        stack,
        "Fn",
        FunctionProps::new(
            Runtime::Python3_12,
            "index.handler",
            Code::inline("def handler(e, c): pass"),
        ),
    )
    .unwrap();
    let key = Key::from_key_arn(&mut app, stack, "K", "arn:aws:kms:eu-west-1:123456789012:key/k").unwrap();
    KeyRef::grant_encrypt(&key, &mut app, &f).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({"PolicyDocument": {"Statement": [{"Action": ["kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], "Resource": "arn:aws:kms:eu-west-1:123456789012:key/k"}]}}),
    );
}

#[test]
fn imported_queues_and_table_streams_are_event_sources_named_as_aws_cdk_lib_names_them() {
    use cairn_constructs::lambda::{DynamoDbEventSource, SqsEventSource};
    let (mut app, stack) = app();
    let jobs = Queue::from_queue_arn(&mut app, stack, "Jobs", "arn:aws:sqs:eu-west-1:123456789012:jobs")
        .unwrap()
        .with_encryption_key_arn("arn:aws:kms:eu-west-1:123456789012:key/q");
    let orders = Table::from_table_attributes(
        &mut app,
        stack,
        "Orders",
        TableAttributes {
            table_name: Some("orders".into()),
            table_stream_arn: Some("arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024".into()),
            ..TableAttributes::default()
        },
    )
    .unwrap();
    let plain = Table::from_table_name(&mut app, stack, "Plain", "plain").unwrap();
    let f = Function::new(
        &mut app,
        stack,
        "Fn",
        FunctionProps::new(
            Runtime::Python3_12,
            "index.handler",
            Code::inline("def handler(e, c): pass"),
        ),
    )
    .unwrap();
    f.add_event_source(&mut app, SqsEventSource::from_queue(&jobs))
        .unwrap();
    f.add_event_source(&mut app, DynamoDbEventSource::from_table(&orders))
        .unwrap();
    let (path, problem) = invalid_props(
        f.add_event_source(&mut app, DynamoDbEventSource::from_table(&plain))
            .unwrap_err(),
    );
    assert_eq!(path, "S/Plain");
    assert!(problem.contains("table_stream_arn"), "{problem}");
    let t = Template::from_stack(&mut app, stack).unwrap();
    let mappings = t.find_resources("AWS::Lambda::EventSourceMapping", json!({}));
    let ids: Vec<&String> = mappings.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.iter().any(|id| id.starts_with("FnSqsEventSourceSJobs")),
        "{ids:?}"
    );
    assert!(
        ids.iter()
            .any(|id| id.starts_with("FnDynamoDBEventSourceSOrders")),
        "{ids:?}"
    );
    let statements = t.find_resources("AWS::IAM::Policy", json!({}))[0].1["Properties"]["PolicyDocument"]
        ["Statement"]
        .clone();
    assert_eq!(
        statements[1],
        json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-west-1:123456789012:key/q"})
    );
    assert_eq!(
        statements[3]["Resource"],
        json!("arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024")
    );
}
