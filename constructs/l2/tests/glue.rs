//! glue: databases, security configurations, catalog encryption, connections, jobs,
//! crawlers, the startJobRun.sync task; validation and grants.

mod common;
use common::{kms_bucket, logical_of, of_type, synth_clean};

use std::path::PathBuf;

use cairn_constructs::ec2::{SubnetConfiguration, Vpc, VpcProps};
use cairn_constructs::glue::{
    Connection, Crawler, CrawlerProps, DataCatalogEncryption, DataCatalogEncryptionProps, Database,
    DatabaseProps, Job, JobProps, JobScript, S3Target, SecurityConfiguration, SecurityConfigurationProps,
};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::s3::{Bucket, BucketProps};
use cairn_constructs::stepfunctions::{Definition, Params, StateMachine, StateMachineProps};
use cairn_core::App;
use serde_json::{json, Value as Json};

fn script() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-glue-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("job.py");
    std::fs::write(&path, "import sys\nprint(sys.argv)\n").unwrap();
    path
}

fn statements(t: &Json, role_prefix: &str) -> Vec<Json> {
    let role = logical_of(t, role_prefix, "AWS::IAM::Role");
    of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .find(|(_, p)| p["Properties"]["Roles"][0]["Ref"] == role.as_str())
        .map(|(_, p)| {
            p["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone()
        })
        .unwrap_or_default()
}

fn has(statements: &[Json], action: &str, resource: &Json) -> bool {
    statements.iter().any(|s| {
        let acts = match &s["Action"] {
            Json::Array(a) => a.clone(),
            a => vec![a.clone()],
        };
        let res = match &s["Resource"] {
            Json::Array(r) => r.clone(),
            r => vec![r.clone()],
        };
        acts.iter().any(|a| a == action) && res.iter().any(|r| r == resource)
    })
}

#[test]
fn a_job_under_a_security_configuration_passes_the_rules_and_cfn_lint() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let data = kms_bucket(&mut app, stack, "Data", key);
    let sc = SecurityConfiguration::new(&mut app, stack, "Security", SecurityConfigurationProps::new(key))
        .unwrap();
    DataCatalogEncryption::new(
        &mut app,
        stack,
        "CatalogEncryption",
        DataCatalogEncryptionProps::new(key),
    )
    .unwrap();
    let job = Job::new(
        &mut app,
        stack,
        "Etl",
        JobProps {
            security_configuration: Some(sc),
            number_of_workers: 4,
            ..JobProps::new(JobScript::from_asset(script()))
        },
    )
    .unwrap();
    data.grant_read(&mut app, &job).unwrap();
    let t = synth_clean(app, "S", &[], "glue job");

    let key_id = logical_of(&t, "Key", "AWS::KMS::Key");
    let sc_id = logical_of(&t, "Security", "AWS::Glue::SecurityConfiguration");
    let job_id = logical_of(&t, "Etl", "AWS::Glue::Job");
    let p = &t["Resources"][&job_id]["Properties"];
    assert_eq!(p["SecurityConfiguration"], json!({ "Ref": sc_id }));
    assert_eq!(
        p["Command"],
        json!({
            "Name": "glueetl",
            "PythonVersion": "3",
            "ScriptLocation": p["Command"]["ScriptLocation"].clone(),
        })
    );
    assert!(p["Command"]["ScriptLocation"]["Fn::Join"].is_array());
    assert_eq!(p["GlueVersion"], "5.0");
    assert_eq!(p["WorkerType"], "G.1X");
    assert_eq!(p["NumberOfWorkers"], 4);
    assert_eq!(p["Timeout"], 60);
    assert_eq!(
        p["DefaultArguments"]["--job-bookmark-option"],
        "job-bookmark-disable"
    );
    assert_eq!(
        p["DefaultArguments"]["--enable-continuous-cloudwatch-log"],
        "true"
    );
    // No DependsOn on the role's policy (see Job::new).
    assert!(t["Resources"][&job_id].get("DependsOn").is_none());

    let sc = &t["Resources"][&sc_id]["Properties"]["EncryptionConfiguration"];
    let arn = json!({ "Fn::GetAtt": [key_id, "Arn"] });
    assert_eq!(
        sc["S3Encryptions"],
        json!([{ "KmsKeyArn": arn, "S3EncryptionMode": "SSE-KMS" }])
    );
    assert_eq!(
        sc["CloudWatchEncryption"],
        json!({ "CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": arn })
    );
    assert_eq!(
        sc["JobBookmarksEncryption"],
        json!({ "JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": arn })
    );
    // The key lets CloudWatch Logs use it for the Glue log groups only.
    let policy = &t["Resources"][&key_id]["Properties"]["KeyPolicy"]["Statement"];
    let logs = policy
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Principal"]["Service"].is_object())
        .unwrap();
    assert_eq!(
        logs["Principal"]["Service"],
        json!({ "Fn::Sub": "logs.${AWS::Region}.amazonaws.com" })
    );
    assert_eq!(
        logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"],
        json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":logs:", { "Ref": "AWS::Region" }, ":", { "Ref": "AWS::AccountId" }, ":log-group:/aws-glue/*"]] })
    );

    // The role: the Glue managed policy, the script object, the key, the log association, the data.
    let role = logical_of(&t, "EtlServiceRole", "AWS::IAM::Role");
    assert!(
        t["Resources"][&role]["Properties"]["ManagedPolicyArns"][0]["Fn::Join"][1][2]
            .as_str()
            .unwrap()
            .ends_with("service-role/AWSGlueServiceRole")
    );
    let st = statements(&t, "EtlServiceRole");
    assert!(st
        .iter()
        .any(|s| s["Action"] == "s3:GetObject" && s["Resource"]["Fn::Join"].is_array()));
    assert!(has(&st, "kms:GenerateDataKey*", &arn));
    assert!(has(
        &st,
        "logs:AssociateKmsKey",
        &json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":logs:", { "Ref": "AWS::Region" }, ":", { "Ref": "AWS::AccountId" }, ":log-group:/aws-glue/*"]] })
    ));
    let data_id = logical_of(&t, "Data", "AWS::S3::Bucket");
    assert!(has(
        &st,
        "s3:GetObject*",
        &json!({ "Fn::GetAtt": [data_id, "Arn"] })
    ));
    assert_eq!(of_type(&t, "AWS::Glue::DataCatalogEncryptionSettings").len(), 1);
}

#[test]
fn invalid_job_and_database_props_are_errors_naming_the_construct() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let code = Bucket::new(&mut app, stack, "Code", BucketProps::default()).unwrap();
    let err = Job::new(
        &mut app,
        stack,
        "Tiny",
        JobProps {
            number_of_workers: 1,
            timeout_minutes: 0,
            max_retries: 11,
            ..JobProps::new(JobScript::s3(&code, "job.py"))
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("'S/Tiny': 3 problems:"), "{err}");
    for needle in [
        "number_of_workers 1 must be at least 2",
        "timeout_minutes 0 must be 1 to 10080",
        "max_retries 11 must be 0 to 10",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
    let err = Database::new(&mut app, stack, "Db", DatabaseProps::new("Sales-Data"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("'S/Db': ") && err.contains("database_name \"Sales-Data\""),
        "{err}"
    );
    // A script file that does not exist is an error too.
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let missing = Job::new(
        &mut app,
        stack,
        "Missing",
        JobProps::new(JobScript::from_asset("/nonexistent/job.py")),
    );
    assert!(missing.unwrap_err().to_string().contains("S/Missing"));
}

#[test]
fn a_bucket_script_is_readable_by_the_job_only_at_its_key() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let code = kms_bucket(&mut app, stack, "Code", key);
    let key2 = Key::new(&mut app, stack, "Other", KeyProps::default()).unwrap();
    let sc =
        SecurityConfiguration::new(&mut app, stack, "Sc", SecurityConfigurationProps::new(key2)).unwrap();
    Job::new(
        &mut app,
        stack,
        "Job",
        JobProps {
            security_configuration: Some(sc),
            ..JobProps::new(JobScript::s3(&code, "scripts/job.py"))
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "bucket script");
    let code_id = logical_of(&t, "Code", "AWS::S3::Bucket");
    let job = logical_of(&t, "Job", "AWS::Glue::Job");
    assert_eq!(
        t["Resources"][&job]["Properties"]["Command"]["ScriptLocation"],
        json!({ "Fn::Join": ["", ["s3://", { "Ref": code_id }, "/scripts/job.py"]] })
    );
    let st = statements(&t, "JobServiceRole");
    assert!(has(
        &st,
        "s3:GetObject",
        &json!({ "Fn::Join": ["", [{ "Fn::GetAtt": [code_id, "Arn"] }, "/scripts/job.py"]] })
    ));
    let key_id = logical_of(&t, "Key", "AWS::KMS::Key");
    assert!(has(&st, "kms:Decrypt", &json!({ "Fn::GetAtt": [key_id, "Arn"] })));
}

#[test]
fn crawlers_read_only_their_targets() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let zone = kms_bucket(&mut app, stack, "Zone", key);
    let db = Database::new(&mut app, stack, "Db", DatabaseProps::new("sales")).unwrap();
    let sc = SecurityConfiguration::new(&mut app, stack, "Sc", SecurityConfigurationProps::new(key)).unwrap();
    Crawler::new(
        &mut app,
        stack,
        "Crawler",
        CrawlerProps {
            schedule: Some("cron(0 3 * * ? *)".into()),
            security_configuration: Some(sc),
            table_prefix: Some("raw_".into()),
            ..CrawlerProps::new(db, vec![S3Target::new(&zone, "sales/")])
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "crawler");
    let zone_id = logical_of(&t, "Zone", "AWS::S3::Bucket");
    let db_id = logical_of(&t, "Db", "AWS::Glue::Database");
    let c = logical_of(&t, "Crawler", "AWS::Glue::Crawler");
    let p = &t["Resources"][&c]["Properties"];
    assert_eq!(p["DatabaseName"], json!({ "Ref": db_id }));
    assert_eq!(
        p["Targets"]["S3Targets"][0]["Path"],
        json!({ "Fn::Join": ["", ["s3://", { "Ref": zone_id }, "/sales/"]] })
    );
    assert_eq!(p["Schedule"]["ScheduleExpression"], "cron(0 3 * * ? *)");
    assert_eq!(p["RecrawlPolicy"]["RecrawlBehavior"], "CRAWL_NEW_FOLDERS_ONLY");
    assert_eq!(
        p["SchemaChangePolicy"],
        json!({ "DeleteBehavior": "LOG", "UpdateBehavior": "LOG" })
    );
    let st = statements(&t, "CrawlerServiceRole");
    assert!(has(
        &st,
        "s3:GetObject",
        &json!({ "Fn::Join": ["", [{ "Fn::GetAtt": [zone_id, "Arn"] }, "/sales/*"]] })
    ));
    assert!(has(
        &st,
        "s3:ListBucket",
        &json!({ "Fn::GetAtt": [zone_id, "Arn"] })
    ));
    assert!(!st.iter().any(|s| s["Action"] == "s3:PutObject"));

    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let db = Database::new(&mut app, stack, "Db", DatabaseProps::new("sales")).unwrap();
    let err = Crawler::new(&mut app, stack, "Empty", CrawlerProps::new(db, vec![]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("S/Empty") && err.contains("at least one S3 target"),
        "{err}"
    );
}

#[test]
fn start_job_run_task_waits_for_the_job_and_grants_the_sync_actions() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let code = Bucket::new(&mut app, stack, "Code", BucketProps::default()).unwrap();
    let job = Job::new(
        &mut app,
        stack,
        "Job",
        JobProps::new(JobScript::s3(&code, "job.py")),
    )
    .unwrap();
    let mut def = Definition::new();
    let run = def
        .add(job.start_job_run_task("Run", Params::new().path("--input", "$.key")))
        .unwrap();
    def.end(run).unwrap();
    def.start_at(run).unwrap();
    StateMachine::new(&mut app, stack, "Flow", StateMachineProps::new(def)).unwrap();
    let t = synth_clean(app, "S", &[], "sync task");
    let sm = logical_of(&t, "Flow", "AWS::StepFunctions::StateMachine");
    let asl: Json = serde_json::from_str(
        t["Resources"][&sm]["Properties"]["DefinitionString"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let state = &asl["States"]["Run"];
    // The integration's ARN is in the stack's partition, through a substitution.
    assert_eq!(state["Resource"], "${GlueStartJobRunSync}");
    assert_eq!(
        t["Resources"][&sm]["Properties"]["DefinitionSubstitutions"]["GlueStartJobRunSync"],
        json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":states:::glue:startJobRun.sync"]] })
    );
    assert_eq!(state["Parameters"]["Arguments"], json!({ "--input.$": "$.key" }));
    let job_id = logical_of(&t, "Job", "AWS::Glue::Job");
    let placeholder = state["Parameters"]["JobName"]
        .as_str()
        .unwrap()
        .trim_start_matches("${")
        .trim_end_matches('}')
        .to_string();
    assert_eq!(
        t["Resources"][&sm]["Properties"]["DefinitionSubstitutions"][&placeholder],
        json!({ "Ref": job_id })
    );
    let st = statements(&t, "FlowRole");
    // Every glue action is on this job's ARN, nothing wider.
    let mut glue_actions = Vec::new();
    for stmt in &st {
        let acts: Vec<String> = match &stmt["Action"] {
            Json::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            a => vec![a.as_str().unwrap().to_string()],
        };
        if acts.iter().any(|a| a.starts_with("glue:")) {
            assert_eq!(
                stmt["Resource"],
                json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":glue:", { "Ref": "AWS::Region" }, ":", { "Ref": "AWS::AccountId" }, ":job/", { "Ref": job_id }]] }),
                "{stmt}"
            );
            glue_actions.extend(acts);
        }
    }
    for a in [
        "glue:StartJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:BatchStopJobRun",
    ] {
        assert!(glue_actions.iter().any(|x| x == a), "{a} in {glue_actions:?}");
    }
}

#[test]
fn a_network_connection_has_a_self_referencing_security_group() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let vpc = Vpc::new(
        &mut app,
        stack,
        "Vpc",
        VpcProps {
            subnet_configuration: vec![SubnetConfiguration::isolated("Private")],
            nat_gateways: Some(0),
            ..VpcProps::default()
        },
    )
    .unwrap();
    let subnet = vpc.subnets()[0].clone();
    let conn = Connection::network(&mut app, stack, "Conn", &vpc, &subnet).unwrap();
    let _ = conn.security_group();
    let t = synth_clean(app, "S", &[], "connection");
    let c = logical_of(&t, "Conn", "AWS::Glue::Connection");
    let input = &t["Resources"][&c]["Properties"]["ConnectionInput"];
    assert_eq!(input["ConnectionType"], "NETWORK");
    let sg = logical_of(&t, "ConnSecurityGroup", "AWS::EC2::SecurityGroup");
    assert_eq!(
        input["PhysicalConnectionRequirements"]["SecurityGroupIdList"],
        json!([{ "Fn::GetAtt": [sg, "GroupId"] }])
    );
    let ingress = of_type(&t, "AWS::EC2::SecurityGroupIngress");
    assert_eq!(ingress.len(), 1);
    let i = &ingress[0].1["Properties"];
    assert_eq!(
        i["SourceSecurityGroupId"],
        json!({ "Fn::GetAtt": [sg, "GroupId"] })
    );
    assert_eq!(i["GroupId"], json!({ "Fn::GetAtt": [sg, "GroupId"] }));
    assert_eq!(
        (i["FromPort"].clone(), i["ToPort"].clone()),
        (json!(0), json!(65535))
    );
}
