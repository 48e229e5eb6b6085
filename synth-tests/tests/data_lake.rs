//! Snapshots of the `data-lake` example, and the wiring they must show: every bucket
//! encrypted with the lake's key, versioned and TLS-only; the Glue jobs under the
//! security configuration; the state machine's order and failure paths; the trigger's
//! least-privilege grants; one environment per stage; the analyst's Lake Formation grants.

use std::collections::BTreeSet;

use cairn::assertions::Template;
use cairn::CloudAssembly;
use examples::data_lake::{self, environments, STACKS, STATE_TABLE_KEY};
use serde_json::{json, Value as Json};
use synth_tests::{
    definition, definition_substitutions, integration, only, role_policies, role_statements, snapshot, synth,
    template, with_prefix,
};

fn app() -> CloudAssembly {
    synth(|| data_lake::build_with(data_lake::committed_context()?))
}

/// The statements of the default policy of the role `role_id` (its only policy).
fn statements(t: &Template, role_id: &str) -> Vec<Json> {
    assert_eq!(role_policies(t, role_id).len(), 1, "one policy for {role_id}");
    role_statements(t, role_id)
}

/// A statement's actions, as a set.
fn actions(statement: &Json) -> BTreeSet<String> {
    synth_tests::actions(statement).into_iter().collect()
}

#[test]
fn data_lake_templates() {
    let asm = app();
    let names: Vec<&str> = asm.stacks().iter().map(|s| s.display_name.as_str()).collect();
    // The stages' stacks, then the delivery pipeline and its per-region support stacks.
    let expected: Vec<String> = environments()
        .iter()
        .flat_map(|e| STACKS.iter().map(move |s| format!("{}/{s}", e.name)))
        .chain(
            ["", "-support-us-east-2", "-support-us-west-2"]
                .iter()
                .map(|suffix| format!("{}{suffix}", data_lake::PIPELINE_STACK)),
        )
        .collect();
    assert_eq!(names, expected);
    for s in asm.stacks() {
        let body = snapshot(&asm, &s.display_name);
        insta::assert_snapshot!(s.display_name.replace('/', "-"), body);
    }
}

#[test]
fn each_environment_has_its_own_account_region_and_cidr() {
    let asm = app();
    let envs = environments();
    let accounts: BTreeSet<&str> = envs.iter().map(|e| e.account.as_str()).collect();
    let cidrs: BTreeSet<&str> = envs.iter().map(|e| e.vpc_cidr.as_str()).collect();
    assert_eq!(accounts.len(), 3);
    assert_eq!(cidrs.len(), 3);
    for e in &envs {
        for s in STACKS {
            let stack = asm.stack(&format!("{}/{s}", e.name)).unwrap();
            assert_eq!(stack.environment.account.as_deref(), Some(e.account.as_str()));
            assert_eq!(stack.environment.region.as_deref(), Some(e.region.as_str()));
        }
        let net = template(&asm, &format!("{}/Network", e.name));
        let vpc = only(&net, "AWS::EC2::VPC");
        assert_eq!(
            net.to_json()["Resources"][&vpc]["Properties"]["CidrBlock"],
            e.vpc_cidr.as_str()
        );
        // The Glue database is named per environment.
        let lake = template(&asm, &format!("{}/DataLake", e.name));
        lake.assert_has_resource_properties(
            "AWS::Glue::Database",
            json!({ "DatabaseInput": { "Name": e.database_name() } }),
        );
    }
    // Stacks depend within their stage only.
    let deps = |s: &str| -> Vec<String> { asm.stack(s).unwrap().dependencies.clone() };
    assert!(deps("Dev/Analytics").iter().any(|d| d.starts_with("DevDataLake")));
    assert!(deps("Dev/DataLake").iter().any(|d| d.starts_with("DevNetwork")));
    assert!(deps("Prod/DataLake").iter().all(|d| d.starts_with("Prod")));
}

#[test]
fn every_lake_bucket_uses_the_lake_key_is_versioned_and_tls_only() {
    let asm = app();
    for stack in ["Dev/DataLake", "Prod/Analytics"] {
        let t = template(&asm, stack);
        let lake = template(&asm, &stack.replace("Analytics", "DataLake"));
        let key = with_prefix(&lake, "AWS::KMS::Key", "DataLakeKey");
        let buckets = t.find_resources("AWS::S3::Bucket", json!({}));
        assert!(!buckets.is_empty());
        for (id, b) in &buckets {
            let p = &b["Properties"];
            assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled", "{stack} {id}");
            assert!(
                p["LifecycleConfiguration"]["Rules"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty()),
                "{id}"
            );
            let sse = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                ["ServerSideEncryptionByDefault"];
            if id.starts_with("AccessLogs") {
                // S3 server access logging delivers only to SSE-S3 buckets.
                assert_eq!(sse["SSEAlgorithm"], "AES256");
            } else {
                assert_eq!(sse["SSEAlgorithm"], "aws:kms", "{stack} {id}");
                let key_arn = &sse["KMSMasterKeyID"];
                if stack.ends_with("DataLake") {
                    assert_eq!(key_arn, &json!({ "Fn::GetAtt": [key, "Arn"] }), "{id}");
                } else {
                    // The Analytics stack imports the lake key's ARN.
                    assert!(key_arn["Fn::ImportValue"].is_string(), "{id}: {key_arn}");
                }
                assert!(
                    p["LoggingConfiguration"].is_object() || stack.ends_with("Analytics"),
                    "{id}"
                );
            }
            // TLS only: the bucket policy denies insecure transport.
            let policies = t.find_resources(
                "AWS::S3::BucketPolicy",
                json!({ "Properties": { "Bucket": { "Ref": id } } }),
            );
            assert_eq!(policies.len(), 1, "{id}");
            let st = &policies[0].1["Properties"]["PolicyDocument"]["Statement"];
            assert!(st
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"));
        }
        if stack.ends_with("DataLake") {
            let ids: Vec<&String> = buckets.iter().map(|(id, _)| id).collect();
            for zone in ["Raw", "Conformed", "PurposeBuilt", "Code", "AccessLogs"] {
                assert!(
                    buckets.iter().any(|(id, _)| id.starts_with(zone)),
                    "{zone} in {ids:?}"
                );
            }
            assert_eq!(buckets.len(), 5);
            // The state table and the topic use the key too.
            lake.assert_has_resource_properties(
                "AWS::DynamoDB::Table",
                json!({ "SSESpecification": { "SSEEnabled": true, "KMSMasterKeyId": { "Fn::GetAtt": [key, "Arn"] } } }),
            );
            lake.assert_has_resource_properties(
                "AWS::SNS::Topic",
                json!({ "KmsMasterKeyId": { "Fn::GetAtt": [key, "Arn"] } }),
            );
        }
    }
}

#[test]
fn glue_jobs_and_crawler_use_the_security_configuration() {
    let asm = app();
    let t = template(&asm, "Test/DataLake");
    let key = with_prefix(&t, "AWS::KMS::Key", "DataLakeKey");
    let sc = only(&t, "AWS::Glue::SecurityConfiguration");
    let config = &t.to_json()["Resources"][&sc]["Properties"]["EncryptionConfiguration"];
    let arn = json!({ "Fn::GetAtt": [key, "Arn"] });
    assert_eq!(config["S3Encryptions"][0]["S3EncryptionMode"], "SSE-KMS");
    assert_eq!(config["S3Encryptions"][0]["KmsKeyArn"], arn);
    assert_eq!(config["CloudWatchEncryption"]["KmsKeyArn"], arn);
    assert_eq!(
        config["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"],
        "CSE-KMS"
    );
    let jobs = t.find_resources("AWS::Glue::Job", json!({}));
    assert_eq!(jobs.len(), 2);
    let connection = only(&t, "AWS::Glue::Connection");
    for (id, j) in &jobs {
        let p = &j["Properties"];
        assert_eq!(p["SecurityConfiguration"], json!({ "Ref": sc }), "{id}");
        assert_eq!(
            p["Connections"]["Connections"],
            json!([{ "Ref": connection }]),
            "{id}"
        );
        assert_eq!(p["Command"]["Name"], "glueetl");
    }
    t.assert_has_resource_properties(
        "AWS::Glue::Crawler",
        json!({ "CrawlerSecurityConfiguration": { "Ref": sc } }),
    );
    t.assert_has_resource_properties(
        "AWS::Glue::DataCatalogEncryptionSettings",
        json!({ "DataCatalogEncryptionSettings": { "EncryptionAtRest": { "CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": arn } } }),
    );
    // The connection is in the Network stack's isolated subnet (imported).
    let c = &t.to_json()["Resources"][&connection]["Properties"]["ConnectionInput"];
    assert_eq!(c["ConnectionType"], "NETWORK");
    assert!(c["PhysicalConnectionRequirements"]["SubnetId"]["Fn::ImportValue"].is_string());
}

#[test]
fn the_state_machine_runs_job1_job2_status_notify_and_handles_failures() {
    let asm = app();
    let t = template(&asm, "Dev/DataLake");
    let d = definition(&t);
    let subs = definition_substitutions(&t);
    let states = &d["States"];
    assert_eq!(d["StartAt"], "RawToConformed");
    assert_eq!(
        integration(&subs, &states["RawToConformed"]),
        "glue:startJobRun.sync"
    );
    assert_eq!(states["RawToConformed"]["Next"], "ConformedToPurposeBuilt");
    assert_eq!(
        states["RawToConformed"]["Parameters"]["Arguments"],
        json!({
            "--source_bucket.$": "$.bucket",
            "--source_key.$": "$.key",
            "--dataset.$": "$.dataset",
            "--ingestion_id.$": "$.execution_name",
        })
    );
    assert_eq!(
        states["ConformedToPurposeBuilt"]["Parameters"]["Arguments"],
        json!({ "--dataset.$": "$.dataset", "--ingestion_id.$": "$.execution_name" })
    );
    assert_eq!(
        states["NotifyFailure"]["Parameters"]["Message.$"],
        "States.JsonToString($)"
    );
    assert_eq!(
        integration(&subs, &states["ConformedToPurposeBuilt"]),
        "glue:startJobRun.sync"
    );
    assert_eq!(states["ConformedToPurposeBuilt"]["Next"], "RecordSucceeded");
    assert_eq!(
        integration(&subs, &states["RecordSucceeded"]),
        "dynamodb:updateItem"
    );
    assert_eq!(
        states["RecordSucceeded"]["Parameters"]["ExpressionAttributeValues"][":status"]["S"],
        "SUCCEEDED"
    );
    assert_eq!(
        states["RecordSucceeded"]["Parameters"]["Key"][STATE_TABLE_KEY]["S.$"],
        "$.execution_name"
    );
    assert_eq!(states["RecordSucceeded"]["Next"], "NotifySuccess");
    assert_eq!(integration(&subs, &states["NotifySuccess"]), "sns:publish");
    assert_eq!(states["NotifySuccess"]["Next"], "Done");
    assert_eq!(states["Done"]["Type"], "Succeed");
    // Failure paths: both jobs and the status update are caught into RecordFailed.
    for s in ["RawToConformed", "ConformedToPurposeBuilt", "RecordSucceeded"] {
        assert_eq!(states[s]["Catch"][0]["ErrorEquals"], json!(["States.ALL"]), "{s}");
        assert_eq!(states[s]["Catch"][0]["Next"], "RecordFailed", "{s}");
    }
    assert_eq!(
        states["RecordFailed"]["Parameters"]["ExpressionAttributeValues"][":status"]["S"],
        "FAILED"
    );
    assert_eq!(states["RecordFailed"]["Next"], "NotifyFailure");
    assert_eq!(states["RecordFailed"]["Catch"][0]["Next"], "NotifyFailure");
    assert_eq!(integration(&subs, &states["NotifyFailure"]), "sns:publish");
    assert_eq!(states["NotifyFailure"]["Next"], "EtlFailed");
    assert_eq!(states["EtlFailed"]["Type"], "Fail");

    // The jobs started are this stack's jobs, by name.
    let job1 = with_prefix(&t, "AWS::Glue::Job", "RawToConformedJob");
    let job2 = with_prefix(&t, "AWS::Glue::Job", "ConformedToPurposeBuiltJob");
    let sm = only(&t, "AWS::StepFunctions::StateMachine");
    let subs = &t.to_json()["Resources"][&sm]["Properties"]["DefinitionSubstitutions"];
    let name_of = |state: &str| {
        let placeholder = states[state]["Parameters"]["JobName"].as_str().unwrap();
        let key = placeholder.trim_start_matches("${").trim_end_matches('}');
        subs[key].clone()
    };
    assert_eq!(name_of("RawToConformed"), json!({ "Ref": job1 }));
    assert_eq!(name_of("ConformedToPurposeBuilt"), json!({ "Ref": job2 }));

    // The machine's role: the .sync actions on the two jobs, UpdateItem, Publish.
    let role = t.to_json()["Resources"][&sm]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap()
        .to_string();
    let all: BTreeSet<String> = statements(&t, &role).iter().flat_map(actions).collect();
    for a in [
        "glue:StartJobRun",
        "glue:GetJobRun",
        "glue:BatchStopJobRun",
        "dynamodb:UpdateItem",
        "sns:Publish",
    ] {
        assert!(all.contains(a), "{a} in {all:?}");
    }
    assert!(!all.iter().any(|a| a.ends_with(":*") || a == "*"), "{all:?}");
}

#[test]
fn the_trigger_is_least_privilege_and_fires_on_csv_in_the_raw_zone() {
    let asm = app();
    let t = template(&asm, "Prod/DataLake");
    let f = with_prefix(&t, "AWS::Lambda::Function", "EtlTrigger");
    let props = &t.to_json()["Resources"][&f]["Properties"];
    let role = props["Role"]["Fn::GetAtt"][0].as_str().unwrap().to_string();
    let table = only(&t, "AWS::DynamoDB::Table");
    let key = with_prefix(&t, "AWS::KMS::Key", "DataLakeKey");
    let sm = only(&t, "AWS::StepFunctions::StateMachine");
    assert_eq!(
        props["Environment"]["Variables"]["STATE_TABLE"],
        json!({ "Ref": table })
    );
    assert_eq!(
        props["Environment"]["Variables"]["STATE_MACHINE_ARN"],
        json!({ "Ref": sm })
    );
    // S3 invokes the trigger asynchronously: what Lambda gives up on goes to its queue.
    let dlq = with_prefix(&t, "AWS::SQS::Queue", "EtlTriggerFailures");
    assert_eq!(
        props["DeadLetterConfig"]["TargetArn"],
        json!({ "Fn::GetAtt": [dlq, "Arn"] })
    );
    let st = statements(&t, &role);
    let got: Vec<(BTreeSet<String>, Json)> = st.iter().map(|s| (actions(s), s["Resource"].clone())).collect();
    let set = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        got,
        vec![
            (
                set(&["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]),
                json!({ "Fn::GetAtt": [dlq, "Arn"] })
            ),
            (
                set(&["dynamodb:PutItem"]),
                json!({ "Fn::GetAtt": [table, "Arn"] })
            ),
            (
                set(&["kms:Decrypt", "kms:GenerateDataKey*"]),
                json!({ "Fn::GetAtt": [key, "Arn"] })
            ),
            (set(&["states:StartExecution"]), json!({ "Ref": sm })),
        ],
        "{st:#?}"
    );
    // Raw bucket -> the trigger, for .csv objects (the bucket's notifications resource, as
    // aws-cdk-lib writes it), after the invoke permission exists.
    let raw = with_prefix(&t, "AWS::S3::Bucket", "Raw");
    let json = t.to_json();
    assert!(json["Resources"][&raw]["Properties"]
        .get("NotificationConfiguration")
        .is_none());
    let notifications = with_prefix(&t, "Custom::S3BucketNotifications", "RawNotifications");
    let n = &json["Resources"][&notifications];
    assert_eq!(n["Properties"]["BucketName"], json!({ "Ref": raw }));
    let conf = &n["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"];
    assert_eq!(conf.as_array().unwrap().len(), 1);
    assert_eq!(conf[0]["Events"], json!(["s3:ObjectCreated:*"]));
    assert_eq!(conf[0]["LambdaFunctionArn"], json!({ "Fn::GetAtt": [f, "Arn"] }));
    assert_eq!(
        conf[0]["Filter"]["Key"]["FilterRules"],
        json!([{ "Name": "suffix", "Value": ".csv" }])
    );
    let permission = with_prefix(&t, "AWS::Lambda::Permission", "RawAllowBucketNotificationsTo");
    assert_eq!(
        json["Resources"][&permission]["Properties"]["SourceArn"],
        json!({ "Fn::GetAtt": [raw, "Arn"] })
    );
    assert!(n["DependsOn"].as_array().unwrap().contains(&json!(permission)));
}

#[test]
fn lake_formation_names_the_analyst_role_and_athena_enforces_encryption() {
    let asm = app();
    let t = template(&asm, "Dev/Analytics");
    let analyst = with_prefix(&t, "AWS::IAM::Role", "DataAnalystRole");
    let grants = t.find_resources("AWS::LakeFormation::Permissions", json!({}));
    assert_eq!(grants.len(), 2);
    let principal = json!({ "DataLakePrincipalIdentifier": { "Fn::GetAtt": [analyst, "Arn"] } });
    let db_grant = grants
        .iter()
        .find(|(_, g)| g["Properties"]["Resource"]["DatabaseResource"].is_object())
        .expect("a database grant");
    assert_eq!(db_grant.1["Properties"]["DataLakePrincipal"], principal);
    assert_eq!(db_grant.1["Properties"]["Permissions"], json!(["DESCRIBE"]));
    let table_grant = grants
        .iter()
        .find(|(_, g)| g["Properties"]["Resource"]["TableResource"].is_object())
        .expect("a table grant");
    assert_eq!(table_grant.1["Properties"]["DataLakePrincipal"], principal);
    assert_eq!(
        table_grant.1["Properties"]["Permissions"],
        json!(["SELECT", "DESCRIBE"])
    );
    assert_eq!(
        table_grant.1["Properties"]["Resource"]["TableResource"]["TableWildcard"],
        json!({})
    );
    // The database named is the lake's, imported from the DataLake stack.
    assert!(
        table_grant.1["Properties"]["Resource"]["TableResource"]["DatabaseName"]["Fn::ImportValue"]
            .is_string()
    );

    let wg = only(&t, "AWS::Athena::WorkGroup");
    let c = &t.to_json()["Resources"][&wg]["Properties"]["WorkGroupConfiguration"];
    assert_eq!(c["EnforceWorkGroupConfiguration"], true);
    let enc = &c["ResultConfiguration"]["EncryptionConfiguration"];
    assert_eq!(enc["EncryptionOption"], "SSE_KMS");
    assert!(enc["KmsKey"]["Fn::ImportValue"].is_string());

    // The lake stack: settings with the configured admins and no IAM-only defaults.
    let lake = template(&asm, "Dev/DataLake");
    let cfg = &environments()[0];
    lake.assert_has_resource_properties(
        "AWS::LakeFormation::DataLakeSettings",
        json!({
            "Admins": cfg.lake_admins.iter().map(|a| json!({ "DataLakePrincipalIdentifier": a })).collect::<Vec<_>>(),
            "CreateDatabaseDefaultPermissions": [],
            "CreateTableDefaultPermissions": [],
        }),
    );
}

#[test]
fn the_network_has_the_endpoints_the_etl_needs() {
    let asm = app();
    let t = template(&asm, "Test/Network");
    let endpoints = t.find_resources("AWS::EC2::VPCEndpoint", json!({}));
    let mut services: Vec<(String, String)> = endpoints
        .iter()
        .map(|(_, e)| {
            let p = &e["Properties"];
            (
                p["ServiceName"]["Fn::Sub"].as_str().unwrap().to_string(),
                p["VpcEndpointType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    services.sort();
    let expected: Vec<(String, String)> = [
        ("dynamodb", "Gateway"),
        ("glue", "Interface"),
        ("kms", "Interface"),
        ("logs", "Interface"),
        ("monitoring", "Interface"),
        ("s3", "Gateway"),
        ("secretsmanager", "Interface"),
    ]
    .iter()
    .map(|(s, k)| (format!("com.amazonaws.${{AWS::Region}}.{s}"), k.to_string()))
    .collect();
    assert_eq!(services, expected);
    let cidr = &environments()[1].vpc_cidr;
    for (id, e) in &endpoints {
        let p = &e["Properties"];
        if p["VpcEndpointType"] == "Interface" {
            assert_eq!(p["PrivateDnsEnabled"], true, "{id}");
            let sg = p["SecurityGroupIds"][0]["Fn::GetAtt"][0].as_str().unwrap();
            let ingress = &t.to_json()["Resources"][sg]["Properties"]["SecurityGroupIngress"];
            assert_eq!(
                ingress,
                &json!([{ "CidrIp": cidr, "Description": format!("from {cidr}:443"), "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443 }])
            );
        } else {
            assert_eq!(p["RouteTableIds"].as_array().unwrap().len(), 2, "{id}");
        }
    }
}

#[test]
fn a_stage_can_be_added_for_any_environment_and_bad_configuration_names_the_construct() {
    let mut app = cairn::App::new();
    let custom = data_lake::EnvConfig {
        name: "Sandbox".into(),
        account: "444444444444".into(),
        region: "eu-west-1".into(),
        vpc_cidr: "10.99.0.0/16".into(),
        lake_admins: vec!["arn:aws:iam::444444444444:role/admin".into()],
        notification_email: None,
        raw_infrequent_access_days: 45,
        glue_workers: 3,
    };
    let stage = data_lake::add_data_lake_stage(&mut app, &custom).unwrap();
    assert_eq!(app.path(stage.node()), "Sandbox");
    let asm = app.synth().unwrap();
    let lake = template(&asm, "Sandbox/DataLake");
    assert_eq!(
        asm.stack("Sandbox/DataLake")
            .unwrap()
            .environment
            .region
            .as_deref(),
        Some("eu-west-1")
    );
    lake.assert_resource_count_is("AWS::SNS::Subscription", 0);
    for (_, j) in lake.find_resources("AWS::Glue::Job", json!({})) {
        assert_eq!(j["Properties"]["NumberOfWorkers"], 3);
    }
    let raw = with_prefix(&lake, "AWS::S3::Bucket", "Raw");
    let rules = &lake.to_json()["Resources"][&raw]["Properties"]["LifecycleConfiguration"]["Rules"];
    assert_eq!(rules[0]["Transitions"][0]["TransitionInDays"], 45);

    let mut app = cairn::App::new();
    let bad = data_lake::EnvConfig {
        vpc_cidr: "10.99.0.0/8".into(),
        ..custom
    };
    let err = data_lake::add_data_lake_stage(&mut app, &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Sandbox/Network/Vpc") && err.contains("10.99.0.0/8"),
        "{err}"
    );
}
