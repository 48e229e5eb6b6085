//! athena::WorkGroup: enforced encrypted results, validation, query grants.

mod common;
use common::{kms_bucket, logical_of, of_type, synth_clean};

use cairn_constructs::athena::{WorkGroup, WorkGroupProps, QUERY_ACTIONS};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::s3::{Bucket, BucketProps};
use cairn_core::App;
use serde_json::{json, Value as Json};

#[test]
fn a_kms_workgroup_enforces_encrypted_results_and_grants_queries() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let results = kms_bucket(&mut app, stack, "Results", key);
    let wg = WorkGroup::new(
        &mut app,
        stack,
        "Analysts",
        WorkGroupProps {
            key: Some(key),
            bytes_scanned_cutoff_per_query: Some(10_000_000_000),
            ..WorkGroupProps::new("analysts", &results)
        },
    )
    .unwrap();
    let analyst = Role::new(
        &mut app,
        stack,
        "Analyst",
        RoleProps::new(Principal::account("123456789012")),
    )
    .unwrap();
    wg.grant_query(&mut app, &analyst).unwrap();
    let t = synth_clean(app, "S", &[], "athena");
    let id = logical_of(&t, "Analysts", "AWS::Athena::WorkGroup");
    let key_id = logical_of(&t, "Key", "AWS::KMS::Key");
    let bucket = logical_of(&t, "Results", "AWS::S3::Bucket");
    let p = &t["Resources"][&id]["Properties"];
    assert_eq!(p["Name"], "analysts");
    assert_eq!(p["RecursiveDeleteOption"], true);
    let c = &p["WorkGroupConfiguration"];
    assert_eq!(c["EnforceWorkGroupConfiguration"], true);
    assert_eq!(c["PublishCloudWatchMetricsEnabled"], true);
    assert_eq!(c["BytesScannedCutoffPerQuery"], 10_000_000_000i64);
    assert_eq!(
        c["ResultConfiguration"],
        json!({
            "EncryptionConfiguration": { "EncryptionOption": "SSE_KMS", "KmsKey": { "Fn::GetAtt": [key_id, "Arn"] } },
            "ExpectedBucketOwner": { "Ref": "AWS::AccountId" },
            "OutputLocation": { "Fn::Join": ["", ["s3://", { "Ref": bucket }, "/athena-results/"]] },
        })
    );
    let st = of_type(&t, "AWS::IAM::Policy")[0].1["Properties"]["PolicyDocument"]["Statement"].clone();
    let st = st.as_array().unwrap();
    let actions = |s: &Json| -> Vec<String> {
        match &s["Action"] {
            Json::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            a => vec![a.as_str().unwrap().to_string()],
        }
    };
    assert_eq!(
        actions(&st[0]),
        QUERY_ACTIONS.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(
        st[0]["Resource"],
        json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":athena:", { "Ref": "AWS::Region" }, ":", { "Ref": "AWS::AccountId" }, ":workgroup/", { "Ref": id }]] })
    );
    // Objects only under the results prefix; the key once.
    assert_eq!(
        st[2]["Resource"],
        json!({ "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/athena-results/*"]] })
    );
    assert!(!actions(&st[2]).iter().any(|a| a.starts_with("s3:Delete")));
    let key_statements: Vec<&Json> = st
        .iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("kms:")))
        .collect();
    assert_eq!(key_statements.len(), 1);
    assert_eq!(
        key_statements[0]["Resource"],
        json!({ "Fn::GetAtt": [key_id, "Arn"] })
    );
}

#[test]
fn without_a_key_results_are_sse_s3_and_bad_props_are_errors() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let results = Bucket::new(&mut app, stack, "Results", BucketProps::default()).unwrap();
    WorkGroup::new(&mut app, stack, "Plain", WorkGroupProps::new("plain", &results)).unwrap();
    let t = synth_clean(app, "S", &[], "athena sse-s3");
    let id = logical_of(&t, "Plain", "AWS::Athena::WorkGroup");
    assert_eq!(
        t["Resources"][&id]["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]
            ["EncryptionConfiguration"],
        json!({ "EncryptionOption": "SSE_S3" })
    );

    // Each invalid setting is refused on its own, naming the path once.
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let results = Bucket::new(&mut app, stack, "Results", BucketProps::default()).unwrap();
    let base = WorkGroupProps::new("good", &results);
    for (i, (props, needle)) in [
        (
            WorkGroupProps::new("bad name!", &results),
            "workgroup name \"bad name!\"",
        ),
        (
            WorkGroupProps {
                bytes_scanned_cutoff_per_query: Some(1_000),
                ..base.clone()
            },
            "bytes_scanned_cutoff_per_query 1000 must be at least 10000000",
        ),
        (
            WorkGroupProps {
                enforce_configuration: false,
                ..base.clone()
            },
            "enforce_configuration is off",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("Bad{i}");
        let err = WorkGroup::new(&mut app, stack, &id, props)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("'S/{id}': ")), "{err}");
        assert!(err.contains(needle), "{needle} in {err}");
    }
}
