//! Each phase of `deploy` against the in-memory fake (no server).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::plan::{plan, DeployPlan};
use super::report::Deployment;
use super::{deploy, deploy_stack, DeployOptions};
use crate::assembly::{Assembly, Stack, Synthesizer};
use crate::diff::Replacement;
use crate::error::Error;
use crate::fake::{Answer, Harness, ACCOUNT};
use crate::{DeployArgs, DeployMethod, RequireApproval};

pub(crate) fn stack(id: &str, template: Json, deps: &[&str]) -> Stack {
    Stack {
        artifact_id: id.into(),
        stack_name: id.into(),
        display_name: id.into(),
        account: None,
        region: None,
        dependencies: deps.iter().map(|d| d.to_string()).collect(),
        template_file: PathBuf::from(format!("{id}.template.json")),
        template_body: serde_json::to_string_pretty(&template).unwrap(),
        template,
        tags: vec![],
        termination_protection: false,
        asset_manifests: vec![],
        synthesizer: crate::assembly::Synthesizer::default(),
    }
}

fn queue(visibility: u32) -> Json {
    json!({
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility}}},
        "Outputs": {"QueueName": {"Value": "jobs"}}
    })
}

fn bucket(name: &str) -> Json {
    json!({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}}}})
}

pub(crate) fn args() -> DeployArgs {
    DeployArgs {
        all: true,
        concurrency: 1,
        require_approval: RequireApproval::Never,
        ..DeployArgs::default()
    }
}

pub(crate) fn plan_of(stacks: Vec<Stack>, args: &DeployArgs) -> DeployPlan {
    let asm = Assembly {
        dir: PathBuf::from("cdk.out"),
        stacks,
    };
    plan(&asm, args).unwrap()
}

async fn deploy_one(h: &Harness, s: &Stack, args: &DeployArgs) -> Result<Deployment, Error> {
    let options: DeployOptions = plan_of(vec![s.clone()], args).options;
    deploy_stack(&h.ctx, s, &[], &options).await
}

#[tokio::test]
async fn creates_a_stack_through_a_change_set() {
    let h = Harness::new();
    let plan = plan_of(vec![stack("Hello", queue(30), &[])], &args());
    let done = deploy(&h.ctx, plan, None).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].result, "deployed");
    assert_eq!(done[0].status, "CREATE_COMPLETE");
    assert_eq!(done[0].outputs.get("QueueName").map(String::as_str), Some("jobs"));

    {
        let w = h.world();
        assert_eq!(w.calls_of("CreateChangeSet"), ["Hello"]);
        assert_eq!(w.calls_of("ExecuteChangeSet").len(), 1);
        assert_eq!(w.calls_of("ValidateTemplate"), ["body"]);
        assert!(w.calls_of("CreateStack").is_empty());
        // The change set was polled until computed.
        assert_eq!(w.calls_of("DescribeChangeSet").len(), 2);
        assert_eq!(w.stack("Hello").unwrap().status, "CREATE_COMPLETE");
    }

    let err = h.err.text();
    assert!(err.contains("Hello: deploying (Hello, us-east-1)"), "{err}");
    assert!(err.contains("Add AWS::SQS::Queue Queue"), "{err}");
    assert!(
        err.contains("Hello | 1/1 | 12:00:"),
        "events are streamed with progress: {err}"
    );
    assert!(
        err.contains("CREATE_COMPLETE          | AWS::SQS::Queue | Queue"),
        "{err}"
    );
    assert!(err.contains("✅ Hello (CREATE_COMPLETE)"), "{err}");
    let out = h.out.text();
    assert!(out.contains("Outputs:\nHello.QueueName = jobs\n"), "{out}");
    assert!(out.contains("Stack ARN: arn:aws:cloudformation:"), "{out}");
}

#[tokio::test]
async fn updates_a_stack_with_changes() {
    let h = Harness::new();
    h.world().put_stack("Hello", &queue(30), "CREATE_COMPLETE");
    let d = deploy_one(&h, &stack("Hello", queue(45), &[]), &args())
        .await
        .unwrap();
    assert_eq!((d.result, d.status.as_str()), ("deployed", "UPDATE_COMPLETE"));
    assert_eq!(d.diff.resources.len(), 1);
    {
        let w = h.world();
        let deployed: Json = serde_json::from_str(&w.stack("Hello").unwrap().template).unwrap();
        assert_eq!(deployed, queue(45));
    }
    let err = h.err.text();
    assert!(err.contains("[~] VisibilityTimeout"), "the diff is shown: {err}");
    assert!(
        err.contains("Modify AWS::SQS::Queue Queue"),
        "the change set is shown: {err}"
    );
    assert!(err.contains("UPDATE_COMPLETE"), "{err}");
}

#[tokio::test]
async fn an_unchanged_stack_costs_no_validation_and_no_change_set() {
    let h = Harness::new();
    h.world().put_stack("Hello", &queue(30), "UPDATE_COMPLETE");
    let d = deploy_one(&h, &stack("Hello", queue(30), &[]), &args())
        .await
        .unwrap();
    assert_eq!(d.result, "no-changes");
    assert_eq!(d.outputs.get("QueueName").map(String::as_str), Some("jobs"));
    {
        let w = h.world();
        for op in [
            "ValidateTemplate",
            "CreateChangeSet",
            "ExecuteChangeSet",
            "DescribeStackEvents",
        ] {
            assert!(w.calls_of(op).is_empty(), "{op}: {:?}", w.calls);
        }
        // The bootstrap check (the version parameter), the state and the template: three
        // reads.
        assert_eq!(w.calls.len(), 3, "{:?}", w.calls);
    }
    assert!(h.err.text().contains("Hello: no changes"));
}

#[tokio::test]
async fn the_bootstrap_check_is_made_once_per_region() {
    let h = Harness::new();
    for name in ["A", "B", "C"] {
        h.world().put_stack(name, &queue(30), "CREATE_COMPLETE");
    }
    let stacks = ["A", "B", "C"].map(|n| stack(n, queue(30), &[])).to_vec();
    deploy(&h.ctx, plan_of(stacks, &args()), None).await.unwrap();
    assert_eq!(h.world().calls_of("GetParameter").len(), 1);
}

#[tokio::test]
async fn a_change_set_without_changes_is_deleted_and_reported() {
    // After a rolled-back update the local check does not trust the state, and asks.
    let h = Harness::new();
    h.world()
        .put_stack("Hello", &queue(30), "UPDATE_ROLLBACK_COMPLETE");
    let d = deploy_one(&h, &stack("Hello", queue(30), &[]), &args())
        .await
        .unwrap();
    assert_eq!(d.result, "no-changes");
    {
        let w = h.world();
        assert_eq!(w.calls_of("CreateChangeSet").len(), 1);
        assert_eq!(w.calls_of("DeleteChangeSet").len(), 1, "{:?}", w.calls);
        assert!(w.calls_of("ExecuteChangeSet").is_empty());
    }
    assert!(h.err.text().contains("Hello: no changes"));

    // An endpoint that refuses the unchanged update at once (as moto does).
    let h = Harness::new();
    h.world().refuse_unchanged_at_create = true;
    h.world()
        .put_stack("Hello", &queue(30), "UPDATE_ROLLBACK_COMPLETE");
    let d = deploy_one(&h, &stack("Hello", queue(30), &[]), &args())
        .await
        .unwrap();
    assert_eq!(d.result, "no-changes");
    assert!(h.world().calls_of("DescribeChangeSet").is_empty());
}

#[tokio::test]
async fn a_failed_change_set_is_deleted_and_its_reason_shown() {
    let h = Harness::new();
    h.world().put_stack("Hello", &queue(30), "CREATE_COMPLETE");
    h.world().fail_change_set.insert(
        "Hello".into(),
        "Unresolved resource dependencies [Missing] in the Resources block".into(),
    );
    let e = deploy_one(&h, &stack("Hello", queue(45), &[]), &args())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Hello: the template is invalid: the change set failed: Unresolved resource dependencies [Missing] in the Resources block"
    );
    let w = h.world();
    assert_eq!(w.calls_of("DeleteChangeSet").len(), 1);
    assert!(w.calls_of("ExecuteChangeSet").is_empty());
    assert_eq!(w.stack("Hello").unwrap().status, "CREATE_COMPLETE");
}

#[tokio::test]
async fn a_template_the_service_refuses_is_reported_as_invalid() {
    let h = Harness::new();
    h.world().invalid_template = Some("Template format error: Unresolved resource dependencies [X]".into());
    let e = deploy_one(&h, &stack("Hello", queue(30), &[]), &args())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTemplate { .. }), "{e}");
    assert!(e.to_string().contains("Unresolved resource dependencies [X]"));
    assert!(h.world().calls_of("CreateChangeSet").is_empty());
}

#[tokio::test]
async fn a_failed_creation_rolls_back_and_the_next_deploy_creates_it_again() {
    let h = Harness::new();
    h.world().fail_resource.insert(
        "Hello".into(),
        ("Queue".into(), "Invalid parameter: VisibilityTimeout".into()),
    );
    let s = stack("Hello", queue(30), &[]);
    let e = deploy_one(&h, &s, &args()).await.unwrap_err();
    let Error::OperationFailed { status, reasons, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(status, "ROLLBACK_COMPLETE");
    assert!(
        reasons.contains("Queue (AWS::SQS::Queue) CREATE_FAILED: Invalid parameter: VisibilityTimeout"),
        "{reasons}"
    );
    assert!(reasons.contains("the next deploy deletes the stack and creates it again"));
    let err = h.err.text();
    assert!(err.contains("CREATE_FAILED"), "{err}");
    assert!(err.contains("ROLLBACK_IN_PROGRESS"), "{err}");

    let again = h.again();
    let d = deploy_one(&again, &s, &args()).await.unwrap();
    assert_eq!(d.status, "CREATE_COMPLETE");
    assert!(again.err.text().contains("deleting it before creating it again"));
    assert_eq!(again.world().calls_of("DeleteStack").len(), 1);
}

#[tokio::test]
async fn a_failed_update_rolls_back_to_the_deployed_template() {
    let h = Harness::new();
    h.world().put_stack("Hello", &queue(30), "CREATE_COMPLETE");
    h.world()
        .fail_resource
        .insert("Hello".into(), ("Queue".into(), "Rate exceeded".into()));
    let e = deploy_one(&h, &stack("Hello", queue(45), &[]), &args())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::OperationFailed { status, .. } if status == "UPDATE_ROLLBACK_COMPLETE"),
        "{e}"
    );
    {
        let w = h.world();
        let deployed: Json = serde_json::from_str(&w.stack("Hello").unwrap().template).unwrap();
        assert_eq!(deployed, queue(30));

        // With --no-rollback the stack stays failed, and the message says how to go on.
    }
    let h = Harness::new();
    h.world().put_stack("Hello", &queue(30), "CREATE_COMPLETE");
    h.world()
        .fail_resource
        .insert("Hello".into(), ("Queue".into(), "Rate exceeded".into()));
    let no_rollback = DeployArgs {
        no_rollback: true,
        ..args()
    };
    let e = deploy_one(&h, &stack("Hello", queue(45), &[]), &no_rollback)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("UPDATE_FAILED"), "{e}");
    assert!(e.to_string().contains("rollback is disabled"), "{e}");
}

#[tokio::test]
async fn a_change_that_destroys_data_is_refused_unless_forced() {
    let h = Harness::new();
    h.world()
        .put_stack("Hello", &bucket("old-name"), "CREATE_COMPLETE");
    h.world()
        .replacements
        .insert("Bucket".into(), Replacement::Always);
    let e = deploy_one(&h, &stack("Hello", bucket("new-name"), &[]), &args())
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("refusing to deploy: the change destroys data in Bucket (AWS::S3::Bucket, replaced)"),
        "{e}"
    );
    {
        let w = h.world();
        assert_eq!(
            w.calls_of("DeleteChangeSet").len(),
            1,
            "the change set is dropped"
        );
        assert!(w.calls_of("ExecuteChangeSet").is_empty());
    }

    let forced = DeployArgs {
        force: true,
        ..args()
    };
    let again = h.again();
    let d = deploy_one(&again, &stack("Hello", bucket("new-name"), &[]), &forced)
        .await
        .unwrap();
    assert_eq!(d.status, "UPDATE_COMPLETE");
    assert!(again
        .err
        .text()
        .contains("--force: destroying data in Bucket (AWS::S3::Bucket, replaced)"));
}

fn role() -> Json {
    json!({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }}}}})
}

#[tokio::test]
async fn broadening_security_asks_or_is_refused_without_a_terminal() {
    let broadening = DeployArgs {
        require_approval: RequireApproval::Broadening,
        ..args()
    };
    let h = Harness::new();
    let e = deploy_one(&h, &stack("Hello", role(), &[]), &broadening)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("pass --require-approval never"), "{e}");
    assert_eq!(h.world().calls_of("DeleteChangeSet").len(), 1);

    let no = Arc::new(Answer {
        yes: false,
        asked: Mutex::new(vec![]),
        ..Answer::default()
    });
    let h = Harness::build(Some(no.clone()), false);
    let e = deploy_one(&h, &stack("Hello", role(), &[]), &broadening)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotApproved { .. }), "{e}");
    assert_eq!(no.asked.lock().unwrap().len(), 1);

    let yes = Arc::new(Answer {
        yes: true,
        asked: Mutex::new(vec![]),
        ..Answer::default()
    });
    let h = Harness::build(Some(yes.clone()), false);
    let d = deploy_one(&h, &stack("Hello", role(), &[]), &broadening)
        .await
        .unwrap();
    assert_eq!(d.status, "CREATE_COMPLETE");
    assert!(yes.asked.lock().unwrap()[0].contains("it widens IAM permissions"));
}

/// A temporary assembly directory with one file asset shared by two stacks.
struct AssetDir(PathBuf);

impl AssetDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cairn-toolkit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("asset.abc.zip"), b"PK zip bytes").unwrap();
        std::fs::write(
            dir.join("shared.assets.json"),
            r#"{"version": "36.0.0", "files": {"abc": {"source": {"path": "asset.abc.zip", "packaging": "file"},
              "destinations": {"current": {"bucketName": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}", "objectKey": "abc.zip",
                "assumeRoleArn": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-file-publishing-role-${AWS::AccountId}-${AWS::Region}"}}}}}"#,
        )
        .unwrap();
        AssetDir(dir)
    }
}

impl Drop for AssetDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn assets_are_uploaded_once() {
    let dir = AssetDir::new("assets-once");
    let with_asset = |id: &str| {
        let mut s = stack(id, queue(30), &[]);
        s.asset_manifests = vec![dir.0.join("shared.assets.json")];
        s
    };
    let concurrent = DeployArgs {
        concurrency: 2,
        ..args()
    };
    let h = Harness::new();
    // Slow enough for the two stacks to publish at the same time.
    h.world().latency = Duration::from_millis(5);
    let plan = plan_of(vec![with_asset("A"), with_asset("B")], &concurrent);
    assert_eq!(plan.stacks[0].assets.len(), 1, "the plan read the manifest");
    deploy(&h.ctx, plan, None).await.unwrap();
    let bucket = format!("cdk-hnb659fds-assets-{ACCOUNT}-us-east-1");
    {
        let w = h.world();
        assert_eq!(
            w.calls_of("PutObject"),
            [format!("{bucket}/abc.zip")],
            "two stacks, one upload"
        );
        assert_eq!(
            w.calls_of("HeadObject").len(),
            1,
            "the second stack waits for the first"
        );
        assert_eq!(
            w.objects
                .get(&(bucket.clone(), "abc.zip".into()))
                .map(Vec::as_slice),
            Some(&b"PK zip bytes"[..])
        );
    }

    // Another run finds it in the bucket.
    let again = h.again();
    let plan = plan_of(vec![with_asset("A")], &concurrent);
    deploy(&again.ctx, plan, None).await.unwrap();
    assert_eq!(again.world().calls_of("PutObject").len(), 1, "no second upload");
    assert!(again
        .err
        .text()
        .contains("A: assets: 0 uploaded, 1 already published"));
}

#[tokio::test]
async fn a_missing_asset_file_is_refused_by_the_plan() {
    let dir = AssetDir::new("assets-missing");
    std::fs::remove_file(dir.0.join("asset.abc.zip")).unwrap();
    let mut s = stack("A", queue(30), &[]);
    s.asset_manifests = vec![dir.0.join("shared.assets.json")];
    let asm = Assembly {
        dir: dir.0.clone(),
        stacks: vec![s],
    };
    let e = plan(&asm, &args()).unwrap_err();
    assert!(e.to_string().starts_with("A: cannot publish asset abc: "), "{e}");
    assert!(e.to_string().contains("asset.abc.zip"), "{e}");
}

#[tokio::test]
async fn a_large_template_is_staged_at_the_partitions_s3_endpoint() {
    let h = Harness::new();
    h.world().bootstrap("cn-north-1");
    let mut resources = serde_json::Map::new();
    for i in 0..400 {
        resources.insert(
            format!("Queue{i:03}"),
            json!({"Type": "AWS::SQS::Queue", "Properties": {"QueueName": format!("a-rather-long-queue-name-{i:03}-{}", "x".repeat(60))}}),
        );
    }
    let mut s = stack("Big", json!({ "Resources": resources }), &[]);
    s.region = Some("cn-north-1".into());
    assert!(s.template_body.len() > super::assets::MAX_INLINE_TEMPLATE);
    let d = deploy_one(&h, &s, &args()).await.unwrap();
    assert_eq!(d.status, "CREATE_COMPLETE");
    let w = h.world();
    let urls = w.calls_of("ValidateTemplate");
    assert_eq!(urls.len(), 1);
    assert!(
        urls[0].starts_with(&format!(
            "https://s3.cn-north-1.amazonaws.com.cn/cdk-hnb659fds-assets-{ACCOUNT}-cn-north-1/cairn/templates/Big-"
        )),
        "{urls:?}"
    );
}

#[tokio::test]
async fn dependencies_deploy_first_and_a_failure_skips_the_dependents() {
    let h = Harness::new();
    let stacks = vec![
        stack("C", queue(1), &["B"]),
        stack("B", queue(2), &["A"]),
        stack("A", queue(3), &[]),
    ];
    let many = DeployArgs {
        concurrency: 3,
        ..args()
    };
    deploy(&h.ctx, plan_of(stacks.clone(), &many), None)
        .await
        .unwrap();
    assert_eq!(h.world().calls_of("CreateChangeSet"), ["A", "B", "C"]);

    let h = Harness::new();
    h.world()
        .fail_resource
        .insert("A".into(), ("Queue".into(), "boom".into()));
    let e = deploy(&h.ctx, plan_of(stacks, &many), None).await.unwrap_err();
    assert_eq!(e.to_string(), "3 of 3 stack(s) failed: A, B, C");
    assert_eq!(h.world().calls_of("CreateChangeSet"), ["A"]);
    let err = h.err.text();
    assert!(
        err.contains("B: skipped: the stack it depends on (A) failed"),
        "{err}"
    );
    assert!(
        err.contains("C: skipped: the stack it depends on (B) failed"),
        "{err}"
    );
}

#[tokio::test]
async fn independent_stacks_deploy_at_most_concurrency_at_once() {
    for (concurrency, expected) in [(1, 1), (2, 2)] {
        let h = Harness::new();
        h.world().latency = Duration::from_millis(5);
        let stacks = ["A", "B", "C", "D"].map(|n| stack(n, queue(30), &[])).to_vec();
        let a = DeployArgs {
            concurrency,
            ..args()
        };
        let done = deploy(&h.ctx, plan_of(stacks, &a), None).await.unwrap();
        assert_eq!(done.len(), 4);
        assert_eq!(h.world().max_in_flight, expected, "--concurrency {concurrency}");
    }
}

#[tokio::test]
async fn the_direct_method_creates_and_updates_without_a_change_set() {
    let direct = DeployArgs {
        method: DeployMethod::Direct,
        ..args()
    };
    let h = Harness::new();
    let d = deploy_one(&h, &stack("Hello", queue(30), &[]), &direct)
        .await
        .unwrap();
    assert_eq!(d.status, "CREATE_COMPLETE");
    let d = deploy_one(&h, &stack("Hello", queue(45), &[]), &direct)
        .await
        .unwrap();
    assert_eq!(d.status, "UPDATE_COMPLETE");
    let w = h.world();
    assert_eq!(w.calls_of("CreateStack"), ["Hello"]);
    assert_eq!(w.calls_of("UpdateStack").len(), 1);
    assert!(w.calls_of("CreateChangeSet").is_empty());
}

#[tokio::test]
async fn parameters_keep_their_previous_values_and_tags_apply() {
    let template = json!({
        "Parameters": {"Env": {"Type": "String"}, "Size": {"Type": "String"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}
    });
    let h = Harness::new();
    let id = h.world().put_stack("Hello", &template, "CREATE_COMPLETE");
    {
        let mut w = h.world();
        let s = w.stacks.iter_mut().find(|s| s.id == id).unwrap();
        s.parameters.insert("Env".into(), "prod".into());
        s.parameters.insert("Size".into(), "1".into());
    }
    let a = DeployArgs {
        parameters: vec!["Hello:Size=2".into()],
        tags: vec!["team=core".into()],
        ..args()
    };
    let d = deploy_one(&h, &stack("Hello", template, &[]), &a).await.unwrap();
    assert_eq!(d.status, "UPDATE_COMPLETE");
    let w = h.world();
    let s = w.stack("Hello").unwrap();
    assert_eq!(s.parameters.get("Env").map(String::as_str), Some("prod"));
    assert_eq!(s.parameters.get("Size").map(String::as_str), Some("2"));
    assert_eq!(s.tags, [("team".to_string(), "core".to_string())]);
}

#[tokio::test]
async fn json_output_keeps_standard_output_for_the_document() {
    let h = Harness::build(None, true);
    let plan = plan_of(vec![stack("Hello", queue(30), &[])], &args());
    deploy(&h.ctx, plan, None).await.unwrap();
    let doc: Json = serde_json::from_str(&h.out.text()).unwrap();
    assert_eq!(doc["stacks"][0]["result"], "deployed");
    assert_eq!(doc["stacks"][0]["outputs"]["QueueName"], "jobs");
    assert!(h.err.text().contains("Hello.QueueName = jobs"));
}

/// `stack` with the fields the CDK's `DefaultStackSynthesizer` (and cairn's synthesis) writes,
/// for `qualifier`.
pub(crate) fn synthesized(id: &str, qualifier: &str, template: Json) -> Stack {
    let names = cairn_core::BootstrapNames::new(qualifier);
    Stack {
        synthesizer: Synthesizer {
            assume_role_arn: Some(names.deploy_role_arn()),
            execution_role_arn: Some(names.cfn_exec_role_arn()),
            lookup_role_arn: Some(names.lookup_role_arn()),
            required_version: Some(cairn_core::REQUIRED_BOOTSTRAP_VERSION),
            version_parameter: Some(names.version_parameter()),
        },
        ..stack(id, template, &[])
    }
}

/// The ARN of a bootstrap role of the fake's account in us-east-1.
pub(crate) fn bootstrap_role(qualifier: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/cdk-{qualifier}-{name}-role-{ACCOUNT}-us-east-1")
}

#[tokio::test]
async fn deploys_through_the_bootstrap_roles_the_manifest_names() {
    let dir = AssetDir::new("assets-roles");
    let h = Harness::new();
    let mut s = synthesized("Hello", "hnb659fds", queue(30));
    s.asset_manifests = vec![dir.0.join("shared.assets.json")];
    let plan = plan_of(vec![s], &args());
    deploy(&h.ctx, plan, None).await.unwrap();
    let w = h.world();
    // Each role assumed once, with the placeholders of the stack's environment replaced.
    assert_eq!(
        w.calls_of("AssumeRole"),
        [
            bootstrap_role("hnb659fds", "deploy"),
            bootstrap_role("hnb659fds", "file-publishing")
        ]
    );
    let as_role = |operation: &str| -> Vec<String> {
        w.calls_as
            .iter()
            .filter(|(call, _)| call.starts_with(&format!("{operation} ")))
            .map(|(_, r)| r.clone())
            .collect()
    };
    // The version check, the change set and its execution go through the deploy role ...
    assert_eq!(as_role("GetParameter"), [bootstrap_role("hnb659fds", "deploy")]);
    assert_eq!(w.calls_of("GetParameter"), ["/cdk-bootstrap/hnb659fds/version"]);
    assert_eq!(
        as_role("CreateChangeSet"),
        [bootstrap_role("hnb659fds", "deploy")]
    );
    assert_eq!(
        as_role("ExecuteChangeSet"),
        [bootstrap_role("hnb659fds", "deploy")]
    );
    // ... the asset is published through the file-publishing role ...
    assert_eq!(
        as_role("PutObject"),
        [bootstrap_role("hnb659fds", "file-publishing")]
    );
    // ... and CloudFormation deploys with the execution role.
    assert_eq!(
        w.stack("Hello").unwrap().role_arn.as_deref(),
        Some(bootstrap_role("hnb659fds", "cfn-exec").as_str())
    );
}

#[tokio::test]
async fn an_unassumable_role_falls_back_to_the_credentials_of_the_same_account() {
    let h = Harness::new();
    h.world()
        .unassumable
        .insert(bootstrap_role("hnb659fds", "deploy"));
    let d = deploy_one(&h, &synthesized("Hello", "hnb659fds", queue(30)), &args())
        .await
        .unwrap();
    assert_eq!(d.status, "CREATE_COMPLETE");
    let w = h.world();
    assert!(
        w.calls_as.iter().all(|(c, _)| !c.starts_with("CreateChangeSet")),
        "the change set is made with the configured credentials: {:?}",
        w.calls_as
    );
    // The execution role is still passed to CloudFormation.
    assert_eq!(
        w.stack("Hello").unwrap().role_arn.as_deref(),
        Some(bootstrap_role("hnb659fds", "cfn-exec").as_str())
    );
    let err = h.err.text();
    assert!(
        err.contains(&format!(
            "Hello: could not assume {} (AccessDenied: not authorized to perform sts:AssumeRole",
            bootstrap_role("hnb659fds", "deploy")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("using the current credentials (account {ACCOUNT})")),
        "{err}"
    );
}

#[tokio::test]
async fn an_unassumable_role_of_another_account_is_an_error_that_names_trust() {
    let h = Harness::new();
    let other = "210987654321";
    let mut s = synthesized("Hello", "hnb659fds", queue(30));
    s.account = Some(other.into());
    let deploy_role = format!("arn:aws:iam::{other}:role/cdk-hnb659fds-deploy-role-{other}-us-east-1");
    h.world().unassumable.insert(deploy_role.clone());
    let e = deploy_one(&h, &s, &args()).await.unwrap_err().to_string();
    assert!(e.starts_with("Hello: AssumeRole failed: "), "{e}");
    assert!(e.contains(&format!("cannot assume {deploy_role}")), "{e}");
    assert!(
        e.contains(&format!("bootstrap that account with --trust {ACCOUNT}")),
        "{e}"
    );
    assert!(h.world().calls_of("CreateChangeSet").is_empty());
}

#[tokio::test]
async fn the_bootstrap_version_is_read_from_the_qualifiers_parameter() {
    // Bootstrapped with the default qualifier only: a stack of qualifier "other" is refused
    // with the command that bootstraps it.
    let h = Harness::new();
    let e = deploy_one(&h, &synthesized("Hello", "other", queue(30)), &args())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the SSM parameter /cdk-bootstrap/other/version does not exist"),
        "{e}"
    );
    assert!(e.contains("--qualifier other` (or `cdk bootstrap`) first"), "{e}");

    // A version older than the stack requires.
    let h = Harness::new();
    h.world()
        .parameters
        .insert("/cdk-bootstrap/hnb659fds/version".into(), "5".into());
    let e = deploy_one(&h, &synthesized("Hello", "hnb659fds", queue(30)), &args())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "the bootstrap version in /cdk-bootstrap/hnb659fds/version is \"5\"; the stack needs 6 or later"
        ),
        "{e}"
    );
    assert!(h.world().calls_of("CreateChangeSet").is_empty());
}
