//! Every built-in rule on every type it covers: a violating resource gets the finding, a
//! compliant one does not, and the fix produces a template that cfn-lint accepts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

use cairn_aspects::rules::*;
use cairn_aspects::{Mode, Rule, RuleSet, Status, Suppressions};
use cairn_core::{App, CfnResource, Error, RemovalPolicy, TemplateFormat, Value};
use serde_json::json;

struct Case {
    resource_type: &'static str,
    bad: serde_json::Value,
    good: serde_json::Value,
}

fn case(resource_type: &'static str, bad: serde_json::Value, good: serde_json::Value) -> Case {
    Case {
        resource_type,
        bad,
        good,
    }
}

fn policy(statement: serde_json::Value) -> serde_json::Value {
    json!({ "Version": "2012-10-17", "Statement": [statement] })
}

fn table() -> serde_json::Value {
    json!({
        "KeySchema": [{ "AttributeName": "id", "KeyType": "HASH" }],
        "AttributeDefinitions": [{ "AttributeName": "id", "AttributeType": "S" }],
        "BillingMode": "PAY_PER_REQUEST"
    })
}

fn with(mut base: serde_json::Value, key: &str, v: serde_json::Value) -> serde_json::Value {
    base[key] = v;
    base
}

fn db_instance() -> serde_json::Value {
    json!({ "Engine": "mysql", "DBInstanceClass": "db.t3.micro", "AllocatedStorage": "20",
            "MasterUsername": "admin", "ManageMasterUserPassword": true })
}

fn db_cluster() -> serde_json::Value {
    json!({ "Engine": "aurora-mysql", "MasterUsername": "admin", "ManageMasterUserPassword": true })
}

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn admin() -> serde_json::Value {
    json!({ "Effect": "Allow", "Action": "*", "Resource": "*" })
}

fn scoped() -> serde_json::Value {
    json!({ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*" })
}

fn anyone(condition: bool) -> serde_json::Value {
    let mut s = json!({ "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
                        "Resource": "arn:aws:sqs:us-east-1:123456789012:q" });
    if condition {
        s["Condition"] = json!({ "StringEquals": { "aws:SourceAccount": "123456789012" } });
    }
    s
}

fn trust() -> serde_json::Value {
    policy(
        json!({ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }),
    )
}

/// Every rule, each with a violating and a compliant resource of every type it covers.
fn cases() -> Vec<(Rc<dyn Rule>, Vec<Case>)> {
    let ingress = |cidr: &str, v6: bool| {
        let key = if v6 { "CidrIpv6" } else { "CidrIp" };
        json!({ "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, key: cidr })
    };
    let bdm = |enc: bool| {
        let mut ebs = json!({ "VolumeSize": 20 });
        if enc {
            ebs["Encrypted"] = json!(true);
        }
        json!([{ "DeviceName": "/dev/xvda", "Ebs": ebs }])
    };
    let eks = json!({ "RoleArn": "arn:aws:iam::123456789012:role/eks",
                      "ResourcesVpcConfig": { "SubnetIds": ["subnet-12345678", "subnet-87654321"] } });
    let glue = |mode: &str, pw: bool| {
        json!({ "CatalogId": "123456789012", "DataCatalogEncryptionSettings": {
            "EncryptionAtRest": { "CatalogEncryptionMode": mode },
            "ConnectionPasswordEncryption": { "ReturnConnectionPasswordEncrypted": pw } } })
    };
    let ami = ApprovedAmi {
        image_ids: vec!["ami-0123456789abcdef0".into()],
        ssm_parameters: vec!["/golden/ami".into()],
    };
    vec![
        (
            Rc::new(S3Encryption::default()),
            vec![case(
                "AWS::S3::Bucket",
                json!({}),
                json!({ "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{ "ServerSideEncryptionByDefault": { "SSEAlgorithm": "aws:kms" } }] } }),
            )],
        ),
        (
            Rc::new(S3Versioning),
            vec![case(
                "AWS::S3::Bucket",
                json!({ "VersioningConfiguration": { "Status": "Suspended" } }),
                json!({ "VersioningConfiguration": { "Status": "Enabled" } }),
            )],
        ),
        (
            Rc::new(S3PublicAccessBlock),
            vec![case(
                "AWS::S3::Bucket",
                json!({ "PublicAccessBlockConfiguration": { "BlockPublicAcls": true } }),
                json!({ "PublicAccessBlockConfiguration": { "BlockPublicAcls": true, "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true, "RestrictPublicBuckets": true } }),
            )],
        ),
        (
            Rc::new(S3NoPublicAcl),
            vec![case(
                "AWS::S3::Bucket",
                json!({ "AccessControl": "PublicRead" }),
                json!({ "AccessControl": "Private" }),
            )],
        ),
        (
            Rc::new(SqsEncryption::default()),
            vec![case(
                "AWS::SQS::Queue",
                json!({ "SqsManagedSseEnabled": true }),
                json!({ "KmsMasterKeyId": "alias/aws/sqs" }),
            )],
        ),
        (
            Rc::new(SnsEncryption::default()),
            vec![case(
                "AWS::SNS::Topic",
                json!({}),
                json!({ "KmsMasterKeyId": KEY }),
            )],
        ),
        (
            Rc::new(DynamoDbEncryption::default()),
            vec![case(
                "AWS::DynamoDB::Table",
                table(),
                with(
                    table(),
                    "SSESpecification",
                    json!({ "SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": KEY }),
                ),
            )],
        ),
        (
            Rc::new(DynamoDbPitr),
            vec![case(
                "AWS::DynamoDB::Table",
                table(),
                with(
                    table(),
                    "PointInTimeRecoverySpecification",
                    json!({ "PointInTimeRecoveryEnabled": true }),
                ),
            )],
        ),
        (
            Rc::new(RdsEncryption),
            vec![
                case(
                    "AWS::RDS::DBInstance",
                    db_instance(),
                    with(db_instance(), "StorageEncrypted", json!(true)),
                ),
                case(
                    "AWS::RDS::DBCluster",
                    db_cluster(),
                    with(db_cluster(), "StorageEncrypted", json!(true)),
                ),
            ],
        ),
        (
            Rc::new(RdsNotPublic),
            vec![case(
                "AWS::RDS::DBInstance",
                with(db_instance(), "PubliclyAccessible", json!(true)),
                with(db_instance(), "PubliclyAccessible", json!(false)),
            )],
        ),
        (
            Rc::new(RdsDeletionProtection),
            vec![
                case(
                    "AWS::RDS::DBInstance",
                    db_instance(),
                    with(db_instance(), "DeletionProtection", json!(true)),
                ),
                case(
                    "AWS::RDS::DBCluster",
                    db_cluster(),
                    with(db_cluster(), "DeletionProtection", json!(true)),
                ),
            ],
        ),
        (
            Rc::new(EbsEncryption),
            vec![
                case(
                    "AWS::EC2::Volume",
                    json!({ "AvailabilityZone": "us-east-1a", "Size": 10 }),
                    json!({ "AvailabilityZone": "us-east-1a", "Size": 10, "Encrypted": true }),
                ),
                case(
                    "AWS::EC2::LaunchTemplate",
                    json!({ "LaunchTemplateData": { "BlockDeviceMappings": bdm(false) } }),
                    json!({ "LaunchTemplateData": { "BlockDeviceMappings": bdm(true) } }),
                ),
                case(
                    "AWS::EC2::Instance",
                    json!({ "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro", "BlockDeviceMappings": bdm(false) }),
                    json!({ "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro", "BlockDeviceMappings": bdm(true) }),
                ),
                case(
                    "AWS::AutoScaling::LaunchConfiguration",
                    json!({ "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro", "BlockDeviceMappings": bdm(false) }),
                    json!({ "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro", "BlockDeviceMappings": bdm(true) }),
                ),
            ],
        ),
        (
            Rc::new(EfsEncryption),
            vec![case(
                "AWS::EFS::FileSystem",
                json!({}),
                json!({ "Encrypted": true }),
            )],
        ),
        (
            Rc::new(KinesisEncryption),
            vec![case(
                "AWS::Kinesis::Stream",
                json!({ "ShardCount": 1 }),
                json!({ "ShardCount": 1, "StreamEncryption": { "EncryptionType": "KMS", "KeyId": KEY } }),
            )],
        ),
        (
            Rc::new(EcrEncryption),
            vec![case(
                "AWS::ECR::Repository",
                json!({ "EncryptionConfiguration": { "EncryptionType": "AES256" } }),
                json!({ "EncryptionConfiguration": { "EncryptionType": "KMS" } }),
            )],
        ),
        (
            Rc::new(LogGroupEncryption::default()),
            vec![case(
                "AWS::Logs::LogGroup",
                json!({ "RetentionInDays": 30 }),
                json!({ "RetentionInDays": 30, "KmsKeyId": KEY }),
            )],
        ),
        (
            Rc::new(LogGroupEncryption {
                kms_key: Some(Value::from(KEY)),
            }),
            vec![case(
                "AWS::Logs::LogGroup",
                json!({ "RetentionInDays": 30 }),
                json!({ "RetentionInDays": 30, "KmsKeyId": KEY }),
            )],
        ),
        (
            Rc::new(LogRetention::default()),
            vec![case(
                "AWS::Logs::LogGroup",
                json!({}),
                json!({ "RetentionInDays": 30 }),
            )],
        ),
        (
            Rc::new(EksSecretsEncryption {
                kms_key: Some(Value::from(KEY)),
            }),
            vec![case(
                "AWS::EKS::Cluster",
                eks.clone(),
                with(
                    eks,
                    "EncryptionConfig",
                    json!([{ "Provider": { "KeyArn": KEY }, "Resources": ["secrets"] }]),
                ),
            )],
        ),
        (
            Rc::new(GlueCatalogEncryption),
            vec![case(
                "AWS::Glue::DataCatalogEncryptionSettings",
                glue("DISABLED", false),
                glue("SSE-KMS", true),
            )],
        ),
        (
            Rc::new(NoPublicIngress::default()),
            vec![
                case(
                    "AWS::EC2::SecurityGroup",
                    json!({ "GroupDescription": "web", "SecurityGroupIngress": [ingress("0.0.0.0/0", false)] }),
                    json!({ "GroupDescription": "web", "SecurityGroupIngress": [ingress("10.0.0.0/8", false)] }),
                ),
                case(
                    "AWS::EC2::SecurityGroupIngress",
                    with(ingress("::/0", true), "GroupId", json!("sg-12345678")),
                    with(ingress("10.0.0.0/16", false), "GroupId", json!("sg-12345678")),
                ),
            ],
        ),
        (
            Rc::new(VpcCidrPrefix {
                prefixes: vec!["192.168.".into()],
            }),
            vec![case(
                "AWS::EC2::VPC",
                json!({ "CidrBlock": "10.0.0.0/16" }),
                json!({ "CidrBlock": "192.168.0.0/16" }),
            )],
        ),
        (
            Rc::new(ami),
            vec![
                case(
                    "AWS::EC2::Instance",
                    json!({ "ImageId": "ami-00000000000000000", "InstanceType": "t3.micro" }),
                    json!({ "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro" }),
                ),
                case(
                    "AWS::EC2::LaunchTemplate",
                    json!({ "LaunchTemplateData": { "ImageId": "{{resolve:ssm:/other/ami}}" } }),
                    json!({ "LaunchTemplateData": { "ImageId": "{{resolve:ssm:/golden/ami}}" } }),
                ),
            ],
        ),
        (
            Rc::new(IamNoAdmin),
            vec![
                case(
                    "AWS::IAM::Policy",
                    json!({ "PolicyName": "p", "Roles": ["r"], "PolicyDocument": policy(admin()) }),
                    json!({ "PolicyName": "p", "Roles": ["r"], "PolicyDocument": policy(scoped()) }),
                ),
                case(
                    "AWS::IAM::ManagedPolicy",
                    json!({ "PolicyDocument": policy(admin()) }),
                    json!({ "PolicyDocument": policy(scoped()) }),
                ),
                case(
                    "AWS::IAM::Role",
                    json!({ "AssumeRolePolicyDocument": trust(), "Policies": [{ "PolicyName": "p", "PolicyDocument": policy(admin()) }] }),
                    json!({ "AssumeRolePolicyDocument": trust(), "Policies": [{ "PolicyName": "p", "PolicyDocument": policy(scoped()) }] }),
                ),
                case(
                    "AWS::IAM::User",
                    json!({ "Policies": [{ "PolicyName": "p", "PolicyDocument": policy(admin()) }] }),
                    json!({ "Policies": [{ "PolicyName": "p", "PolicyDocument": policy(scoped()) }] }),
                ),
                case(
                    "AWS::IAM::Group",
                    json!({ "Policies": [{ "PolicyName": "p", "PolicyDocument": policy(admin()) }] }),
                    json!({ "Policies": [{ "PolicyName": "p", "PolicyDocument": policy(scoped()) }] }),
                ),
                case(
                    "AWS::S3::BucketPolicy",
                    json!({ "Bucket": "b", "PolicyDocument": policy(with(admin(), "Principal", json!({ "AWS": "arn:aws:iam::123456789012:root" }))) }),
                    json!({ "Bucket": "b", "PolicyDocument": policy(with(scoped(), "Principal", json!({ "AWS": "arn:aws:iam::123456789012:root" }))) }),
                ),
                case(
                    "AWS::SQS::QueuePolicy",
                    json!({ "Queues": ["https://sqs.us-east-1.amazonaws.com/123456789012/q"], "PolicyDocument": policy(with(admin(), "Principal", json!({ "AWS": "123456789012" }))) }),
                    json!({ "Queues": ["https://sqs.us-east-1.amazonaws.com/123456789012/q"], "PolicyDocument": policy(with(scoped(), "Principal", json!({ "AWS": "123456789012" }))) }),
                ),
                case(
                    "AWS::SNS::TopicPolicy",
                    json!({ "Topics": ["arn:aws:sns:us-east-1:123456789012:t"], "PolicyDocument": policy(with(admin(), "Principal", json!({ "AWS": "123456789012" }))) }),
                    json!({ "Topics": ["arn:aws:sns:us-east-1:123456789012:t"], "PolicyDocument": policy(with(scoped(), "Principal", json!({ "AWS": "123456789012" }))) }),
                ),
                case(
                    "AWS::KMS::Key",
                    json!({ "KeyPolicy": policy(with(admin(), "Principal", json!({ "AWS": "arn:aws:iam::123456789012:root" }))) }),
                    json!({ "KeyPolicy": policy(json!({ "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::123456789012:root" }, "Action": "kms:*", "Resource": "*" })) }),
                ),
            ],
        ),
        (
            Rc::new(IamNoWildcardPrincipal),
            vec![
                case(
                    "AWS::S3::BucketPolicy",
                    json!({ "Bucket": "b", "PolicyDocument": policy(anyone(false)) }),
                    json!({ "Bucket": "b", "PolicyDocument": policy(anyone(true)) }),
                ),
                case(
                    "AWS::SQS::QueuePolicy",
                    json!({ "Queues": ["https://sqs.us-east-1.amazonaws.com/123456789012/q"], "PolicyDocument": policy(anyone(false)) }),
                    json!({ "Queues": ["https://sqs.us-east-1.amazonaws.com/123456789012/q"], "PolicyDocument": policy(anyone(true)) }),
                ),
                case(
                    "AWS::SNS::TopicPolicy",
                    json!({ "Topics": ["arn:aws:sns:us-east-1:123456789012:t"], "PolicyDocument": policy(anyone(false)) }),
                    json!({ "Topics": ["arn:aws:sns:us-east-1:123456789012:t"], "PolicyDocument": policy(anyone(true)) }),
                ),
                case(
                    "AWS::KMS::Key",
                    json!({ "KeyPolicy": policy(with(anyone(false), "Action", json!("kms:Decrypt"))) }),
                    json!({ "KeyPolicy": policy(with(anyone(true), "Action", json!("kms:Decrypt"))) }),
                ),
                case(
                    "AWS::Lambda::Permission",
                    json!({ "Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*" }),
                    json!({ "Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*", "SourceAccount": "123456789012" }),
                ),
            ],
        ),
    ]
}

/// An app with one resource, every other rule off, and `rule` in `mode`.
fn app_with(rule: &Rc<dyn Rule>, mode: Mode, c: &Case, good: bool) -> App {
    let mut app = App::new();
    let stack = app.stack("Rules").unwrap();
    let props = if good { &c.good } else { &c.bad };
    let mut r = CfnResource::new(c.resource_type);
    if let Some(m) = props.as_object() {
        for (k, v) in m {
            r = r.with(k, Value::from_json(v));
        }
    }
    let node = app.add(stack, "Subject", r).unwrap();
    // Keep RetainStateful out of the way of other rules' templates.
    let o = app.resource_options_mut(node).unwrap();
    o.deletion_policy = Some(RemovalPolicy::Retain);
    o.update_replace_policy = Some(RemovalPolicy::Retain);
    let root = app.root();
    RuleSet::empty()
        .rule_boxed(rule.clone(), mode)
        .apply(&mut app, root);
    app
}

fn fixed_dir() -> PathBuf {
    std::env::temp_dir().join(format!("cairn-rules-fixed-{}", std::process::id()))
}

#[test]
fn every_rule_flags_violations_passes_compliance_and_fixes() {
    let out = fixed_dir();
    let mut fixed_templates = Vec::new();
    for (rule, cs) in cases() {
        let info = rule.info();
        let covered: Vec<&str> = cs.iter().map(|c| c.resource_type).collect();
        for t in info.resource_types {
            assert!(
                covered.contains(t),
                "{} declares {t} but has no test case for it",
                info.id
            );
        }
        for (i, c) in cs.iter().enumerate() {
            let label = format!("{} on {}", info.id, c.resource_type);
            // A violating resource gets the finding.
            let mut bad = app_with(&rule, Mode::Error, c, false);
            match bad.synth() {
                Err(Error::Validation { errors }) => {
                    assert!(
                        errors
                            .iter()
                            .all(|e| e.path == "Rules/Subject" && e.message.contains(info.id)),
                        "{label}: {errors:?}"
                    );
                }
                other => panic!("{label}: expected a finding, got {other:?}"),
            }
            // A compliant one does not.
            let mut good = app_with(&rule, Mode::Error, c, true);
            if let Err(e) = good.synth() {
                panic!("{label}: compliant resource flagged: {e}");
            }
            // Fix mode: fixable violations are fixed, the rest stay errors.
            let mut fix = app_with(&rule, Mode::Fix, c, false);
            let fixable = {
                let app = app_with(&rule, Mode::Fix, c, false);
                let node = app.find("Rules/Subject").unwrap();
                let entry = app.node(node).resource_entry().unwrap();
                let cx = cairn_aspects::Context {
                    app: &app,
                    node,
                    resource_type: c.resource_type,
                    entry,
                };
                rule.check(&cx).iter().all(|v| v.fix.is_some())
            };
            match fix.synth() {
                Ok(asm) if fixable => {
                    let stack = asm.stack("Rules").unwrap();
                    let dir = out.join(format!("{}-{i}", info.id));
                    asm.write(&dir, TemplateFormat::Json).unwrap();
                    fixed_templates.push(dir.join(format!("{}.template.json", stack.artifact_id)));
                }
                Err(Error::Validation { .. }) if !fixable => {}
                other => panic!("{label}: fixable={fixable}, got {other:?}"),
            }
        }
    }
    // Every fixable case above produced a template (24 of the 43 cases have a safe fix).
    assert_eq!(fixed_templates.len(), 24);
    cfn_lint(&fixed_templates);
    std::fs::remove_dir_all(&out).ok();
}

/// Runs cfn-lint (from `$CFN_LINT`) over templates; errors fail the test.
fn cfn_lint(templates: &[PathBuf]) {
    let Ok(bin) = std::env::var("CFN_LINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CFN_LINT is not set; the test command sets it (scripts/test)"
        );
        eprintln!("note: CFN_LINT not set, cfn-lint comparison skipped (run scripts/test)");
        return;
    };
    assert!(Path::new(&bin).exists(), "CFN_LINT={bin} does not exist");
    let out = Command::new(&bin)
        .args(templates)
        .output()
        .expect("cfn-lint runs");
    let code = out.status.code().unwrap_or(1);
    assert!(
        code & 2 == 0 && (code & !(2 | 4 | 8)) == 0,
        "cfn-lint found errors in fixed templates:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn tls_only_fix_adds_a_policy_and_extends_an_existing_one() {
    // No policy: one is added, denying non-TLS requests.
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let bucket = app.add(s, "Bucket", CfnResource::new("AWS::S3::Bucket")).unwrap();
    let root = app.root();
    RuleSet::empty().rule(S3TlsOnly, Mode::Fix).apply(&mut app, root);
    let asm = app.synth().unwrap();
    let t = &asm.stack("S").unwrap().template;
    let stmt = &t["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(stmt["Condition"]["Bool"]["aws:SecureTransport"], "false");
    assert_eq!(
        t["Resources"]["BucketPolicy"]["Properties"]["Bucket"],
        json!({ "Ref": "Bucket" })
    );

    // An existing policy without the statement gets it appended; a compliant one is left.
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let bucket2 = app.add(s, "Bucket", CfnResource::new("AWS::S3::Bucket")).unwrap();
    let existing = Value::map([
        ("Version", Value::from("2012-10-17")),
        (
            "Statement",
            Value::list([Value::map([
                ("Effect", Value::from("Allow")),
                (
                    "Principal",
                    Value::map([("AWS", Value::from("arn:aws:iam::123456789012:root"))]),
                ),
                ("Action", Value::from("s3:GetObject")),
                (
                    "Resource",
                    Value::join("", [bucket2.attr("Arn"), Value::from("/*")]),
                ),
            ])]),
        ),
    ]);
    app.add(
        s,
        "Policy",
        CfnResource::new("AWS::S3::BucketPolicy")
            .with("Bucket", bucket2.ref_())
            .with("PolicyDocument", existing),
    )
    .unwrap();
    let root = app.root();
    RuleSet::empty()
        .rule(S3TlsOnly, Mode::Error)
        .apply(&mut app, root);
    assert!(app.synth().unwrap_err().to_string().contains("CAIRN-S3-TLS-ONLY"));
    let _ = bucket;
}

#[test]
fn retain_stateful_sets_policies_unless_the_user_opted_out() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    app.add(s, "Table", CfnResource::new("AWS::DynamoDB::Table"))
        .unwrap();
    app.add(s, "Db", CfnResource::new("AWS::RDS::DBCluster")).unwrap();
    let logs = app
        .add(s, "Logs", CfnResource::new("AWS::Logs::LogGroup"))
        .unwrap();
    app.resource_options_mut(logs).unwrap().deletion_policy = Some(RemovalPolicy::Delete);
    app.resource_options_mut(logs).unwrap().update_replace_policy = Some(RemovalPolicy::Delete);
    let root = app.root();
    RuleSet::empty()
        .rule(RetainStateful, Mode::Fix)
        .apply(&mut app, root);
    let asm = app.synth().unwrap();
    let r = &asm.stack("S").unwrap().template["Resources"];
    assert_eq!(r["Table"]["DeletionPolicy"], "Retain");
    assert_eq!(r["Table"]["UpdateReplacePolicy"], "Retain");
    assert_eq!(r["Db"]["DeletionPolicy"], "Snapshot");
    assert_eq!(r["Logs"]["DeletionPolicy"], "Delete");
}

#[test]
fn allow_list_lets_a_public_alb_listen_on_443_only() {
    let sg = |port: i64| {
        CfnResource::new("AWS::EC2::SecurityGroup")
            .with("GroupDescription", "alb")
            .with(
                "SecurityGroupIngress",
                Value::list([Value::map([
                    ("IpProtocol", Value::from("tcp")),
                    ("FromPort", Value::from(port)),
                    ("ToPort", Value::from(port)),
                    ("CidrIp", Value::from("0.0.0.0/0")),
                ])]),
            )
    };
    let mut app = App::new();
    let s = app.stack("Web").unwrap();
    app.add(s, "AlbSg", sg(443)).unwrap();
    app.add(s, "Other", sg(443)).unwrap();
    app.add(s, "AlbSsh", sg(22)).unwrap();
    let root = app.root();
    RuleSet::empty()
        .rule(NoPublicIngress::default().allow(443, "Web/AlbSg"), Mode::Error)
        .apply(&mut app, root);
    let Err(Error::Validation { errors }) = app.synth() else {
        panic!("expected findings")
    };
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["Web/Other", "Web/AlbSsh"]);
    assert!(
        errors[1].message.contains("port 22 (tcp) is open to 0.0.0.0/0"),
        "{}",
        errors[1].message
    );
}

#[test]
fn suppressions_need_a_reason_and_reach_every_scanner() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let group = app.construct(s, "Legacy").unwrap();
    app.add(group, "Queue", CfnResource::new("AWS::SQS::Queue"))
        .unwrap();
    let refused = Suppressions::of(&mut app, group)
        .add("CAIRN-SQS-ENCRYPTION", "")
        .map(|_| ())
        .unwrap_err();
    // As an app's error (`?` in a build function): the path once, then the fix.
    let as_app_error = Error::from(refused).to_string();
    assert_eq!(as_app_error.matches("S/Legacy").count(), 1, "{as_app_error}");
    assert!(
        as_app_error.starts_with("'S/Legacy': suppressing CAIRN-SQS-ENCRYPTION needs a reason"),
        "{as_app_error}"
    );
    Suppressions::of(&mut app, group)
        .add(
            "CAIRN-SQS-ENCRYPTION",
            "messages are public events, encrypted by the producer",
        )
        .unwrap();
    let root = app.root();
    let findings = RuleSet::empty()
        .rule(SqsEncryption::default(), Mode::Error)
        .apply(&mut app, root);
    let asm = app.synth().unwrap();
    let md = &asm.stack("S").unwrap().template["Resources"]["LegacyQueueF40E18AD"]["Metadata"];
    assert_eq!(md["checkov"]["skip"][0]["id"], "CKV_AWS_27");
    assert_eq!(md["cfn_nag"]["rules_to_suppress"][0]["id"], "W48");
    assert_eq!(md["cairn"]["suppressions"][0]["rule"], "CAIRN-SQS-ENCRYPTION");
    let f = findings.borrow();
    assert_eq!(f.len(), 1);
    assert!(matches!(&f[0].status, Status::Suppressed(r) if r.starts_with("messages are public")));
}

#[test]
fn reports_are_written_in_json_and_sarif_with_locations() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    app.add(s, "Bucket", CfnResource::new("AWS::S3::Bucket")).unwrap();
    app.add(
        s,
        "Vpc",
        CfnResource::new("AWS::EC2::VPC").with("CidrBlock", "10.0.0.0/16"),
    )
    .unwrap();
    let root = app.root();
    RuleSet::empty()
        .rule(S3Versioning, Mode::Fix)
        .rule(
            VpcCidrPrefix {
                prefixes: vec!["192.168.".into()],
            },
            Mode::Error,
        )
        .apply(&mut app, root);
    assert!(app.synth().is_err());
    let reports = app.reports(None);
    let (name, sarif) = &reports[0].files[1];
    assert_eq!(name, "cairn-report.sarif");
    let sarif: serde_json::Value = serde_json::from_str(sarif).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(uri.ends_with("tests/rules.rs"), "{uri}");
    let summary = reports[0].summary.as_deref().unwrap();
    assert!(
        summary.starts_with("Compliance: 1 error(s), 0 warning(s), 1 fixed, 0 suppressed"),
        "{summary}"
    );
    let json: serde_json::Value = serde_json::from_str(&reports[0].files[0].1).unwrap();
    assert_eq!(json["findings"][0]["status"], "fixed");
    assert_eq!(json["findings"][1]["status"], "error");
}

#[test]
fn external_checkov_checks_are_skipped_on_the_types_they_read_merged_with_hand_written_skips() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let group = app.construct(s, "Handlers").unwrap();
    let f = app
        .add(group, "Fn", CfnResource::new("AWS::Lambda::Function"))
        .unwrap();
    app.add(group, "Topic", CfnResource::new("AWS::SNS::Topic"))
        .unwrap();
    app.resource_options_mut(f).unwrap().metadata.insert(
        "checkov".into(),
        Value::map([(
            "skip",
            Value::list([Value::map([
                ("id", Value::from("CKV_AWS_45")),
                ("comment", Value::from("written by hand")),
            ])]),
        )]),
    );
    // An unknown checkov id is refused: cairn could not say which resources it reads.
    assert!(matches!(
        Suppressions::of(&mut app, group).add("CKV_AWS_99999", "a reason long enough"),
        Err(cairn_aspects::SuppressionError::UnknownCheck { .. })
    ));
    // The nearest reason wins.
    Suppressions::of(&mut app, f)
        .add(
            "CKV_AWS_117",
            "calls only public AWS APIs; no VPC resources to reach",
        )
        .unwrap();
    Suppressions::of(&mut app, s)
        .add("CKV_AWS_117", "the stack-wide reason, shadowed on Fn")
        .unwrap()
        .add(
            "CKV_AWS_115",
            "bounded by its single trigger; no reservation needed",
        )
        .unwrap();
    let root = app.root();
    RuleSet::empty()
        .rule(SqsEncryption::default(), Mode::Error)
        .apply(&mut app, root);
    let asm = app.synth().unwrap();
    let resources = &asm.stack("S").unwrap().template["Resources"];
    let (fn_id, topic_id) = {
        let ids: Vec<&String> = resources.as_object().unwrap().keys().collect();
        (
            ids.iter()
                .find(|k| k.starts_with("HandlersFn"))
                .unwrap()
                .to_string(),
            ids.iter()
                .find(|k| k.starts_with("HandlersTopic"))
                .unwrap()
                .to_string(),
        )
    };
    let skip = resources[&fn_id]["Metadata"]["checkov"]["skip"]
        .as_array()
        .unwrap();
    let ids: Vec<&str> = skip.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["CKV_AWS_45", "CKV_AWS_117", "CKV_AWS_115"]);
    assert!(skip[1]["comment"]
        .as_str()
        .unwrap()
        .starts_with("calls only public"));
    // The topic is not a type either check reads: no metadata.
    let topic_md = &resources[&topic_id]["Metadata"];
    assert!(
        topic_md.get("checkov").is_none() && topic_md.get("cairn").is_none(),
        "{topic_md}"
    );
}
