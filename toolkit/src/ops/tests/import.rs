//! `cairn import` against the fake (moto 5.2.5 does not execute `IMPORT` change sets as
//! CloudFormation does; scripts/e2e-deploy checks what is decided before the change set).

use serde_json::{json, Value as Json};

use super::{role, run, App};
use crate::error::Error;
use crate::fake::{Answer, Harness};
use crate::{Command, ImportArgs};

fn deployed() -> Json {
    json!({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}}})
}

/// The deployed queue, plus a bucket and a table to adopt.
fn synthesized() -> Json {
    json!({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "data-bucket"}},
        "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Snapshot",
                  "Properties": {"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}},
        "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
    }})
}

fn inline(mapping: Json) -> ImportArgs {
    ImportArgs {
        resource_mapping_inline: Some(mapping.to_string()),
        ..ImportArgs::default()
    }
}

#[tokio::test]
async fn the_mapped_resources_are_imported_retained_through_the_deploy_role() {
    let app = App::new("import-mapped", &[("Hello", synthesized())]);
    let h = Harness::new();
    let id = h.world().put_stack("Hello", &deployed(), "UPDATE_COMPLETE");
    let args = inline(json!({"Bucket": {"BucketName": "data-bucket"}}));
    run(&h, &app, Command::Import(args)).await.unwrap();
    let w = h.world();
    let s = w.stack("Hello").unwrap();
    assert_eq!(s.status, "IMPORT_COMPLETE");
    let t: Json = serde_json::from_str(&s.template).unwrap();
    assert_eq!(t["Resources"]["Bucket"]["DeletionPolicy"], "Retain");
    assert!(
        t["Resources"].get("Table").is_none(),
        "not in the mapping: not imported"
    );
    assert!(t["Resources"].get("CDKMetadata").is_none());
    assert_eq!(s.physical.get("Bucket").map(String::as_str), Some("data-bucket"));
    assert_eq!(s.role_arn.as_deref(), Some(role("cfn-exec").as_str()));
    assert_eq!(w.imports.len(), 1);
    assert_eq!(w.imports[0].1[0].logical_id, "Bucket");
    assert_eq!(w.imports[0].1[0].resource_type, "AWS::S3::Bucket");
    assert_eq!(w.imports[0].1[0].identifier["BucketName"], "data-bucket");
    assert!(
        w.calls_as
            .contains(&(format!("CreateChangeSet {id}"), role("deploy"))),
        "{:?}",
        w.calls_as
    );
    drop(w);
    let err = h.err.text();
    assert!(
        err.contains("Hello: Bucket (AWS::S3::Bucket): importing with BucketName=data-bucket"),
        "{err}"
    );
    assert!(
        err.contains("Hello: Table (AWS::DynamoDB::Table): not imported (the next deploy creates it)"),
        "{err}"
    );
    assert!(err.contains("IMPORT_COMPLETE"), "the events stream: {err}");
    assert!(h
        .out
        .text()
        .contains("Run `cairn deploy Hello` to apply the rest of the template"));
}

#[tokio::test]
async fn changes_to_existing_resources_are_refused_unless_forced() {
    let mut changed = synthesized();
    changed["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = json!(60);
    let app = App::new("import-changed", &[("Hello", changed)]);
    let h = Harness::new();
    h.world().put_stack("Hello", &deployed(), "UPDATE_COMPLETE");
    let mapping = json!({"Bucket": {"BucketName": "data-bucket"}});
    let e = run(&h, &app, Command::Import(inline(mapping.clone())))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ImportNotAdditive { .. }), "{e:?}");
    assert!(e.to_string().starts_with("Hello: an import cannot change or remove existing resources, and the template does: Queue (AWS::SQS::Queue, modified)"), "{e}");
    assert!(h.world().calls_of("CreateChangeSet").is_empty());

    let forced = ImportArgs {
        force: true,
        ..inline(mapping)
    };
    run(&h, &app, Command::Import(forced)).await.unwrap();
    let w = h.world();
    let t: Json = serde_json::from_str(&w.stack("Hello").unwrap().template).unwrap();
    assert_eq!(
        t["Resources"]["Queue"]["Properties"]["VisibilityTimeout"], 30,
        "the change is left for the next deploy"
    );
    assert_eq!(w.stack("Hello").unwrap().status, "IMPORT_COMPLETE");
}

#[tokio::test]
async fn without_a_mapping_or_a_terminal_import_is_a_usage_error() {
    let app = App::new("import-noninteractive", &[("Hello", synthesized())]);
    let h = Harness::new();
    let e = run(&h, &app, Command::Import(ImportArgs::default()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("pass --resource-mapping FILE or --resource-mapping-inline JSON"),
        "{e}"
    );
    assert!(h.world().calls.is_empty());
}

#[tokio::test]
async fn on_a_terminal_identifiers_are_confirmed_or_typed() {
    let app = App::new("import-terminal", &[("Hello", synthesized())]);
    let answer = Answer::new(true, &["orders"]);
    let h = Harness::build(Some(answer.clone()), false);
    h.world().put_stack("Hello", &deployed(), "UPDATE_COMPLETE");
    run(&h, &app, Command::Import(ImportArgs::default()))
        .await
        .unwrap();
    assert_eq!(
        answer.questions(),
        [
            "Bucket (AWS::S3::Bucket): import with BucketName=data-bucket?",
            "Table (AWS::DynamoDB::Table): enter TableName to import (empty to skip):",
        ]
    );
    let w = h.world();
    let ids: Vec<(String, String)> = w.imports[0]
        .1
        .iter()
        .map(|r| (r.logical_id.clone(), r.identifier.values().cloned().collect()))
        .collect();
    assert_eq!(
        ids,
        [
            ("Bucket".to_string(), "data-bucket".to_string()),
            ("Table".to_string(), "orders".to_string())
        ]
    );
    let t: Json = serde_json::from_str(&w.stack("Hello").unwrap().template).unwrap();
    assert_eq!(
        t["Resources"]["Table"]["DeletionPolicy"], "Snapshot",
        "a policy given is kept"
    );
}

#[tokio::test]
async fn record_resource_mapping_writes_the_mapping_and_imports_nothing() {
    let app = App::new("import-record", &[("Hello", synthesized())]);
    let h = Harness::new();
    h.world().put_stack("Hello", &deployed(), "UPDATE_COMPLETE");
    let file = app.0.join("recorded.json");
    let given = app.0.join("given.json");
    std::fs::write(&given, json!({"Table": {"TableName": "orders"}}).to_string()).unwrap();
    let args = ImportArgs {
        resource_mapping: Some(given),
        record_resource_mapping: Some(file.clone()),
        ..ImportArgs::default()
    };
    run(&h, &app, Command::Import(args)).await.unwrap();
    let written: Json = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, json!({"Table": {"TableName": "orders"}}));
    assert!(h.world().calls_of("CreateChangeSet").is_empty());
    assert!(h
        .out
        .text()
        .contains("import with `cairn import Hello --resource-mapping"));
}

#[tokio::test]
async fn a_mapping_must_give_the_types_identifier() {
    let app = App::new("import-badmap", &[("Hello", synthesized())]);
    let h = Harness::new();
    h.world().put_stack("Hello", &deployed(), "UPDATE_COMPLETE");
    let e = run(
        &h,
        &app,
        Command::Import(inline(json!({"Table": {"Name": "orders"}}))),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Hello: the mapping of Table (AWS::DynamoDB::Table) must give exactly TableName; it gives Name"
    );
    let both = ImportArgs {
        resource_mapping: Some(app.0.join("m.json")),
        ..inline(json!({}))
    };
    let e = run(&h, &app, Command::Import(both)).await.unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    let missing = ImportArgs {
        resource_mapping: Some(app.0.join("missing.json")),
        ..ImportArgs::default()
    };
    let e = run(&h, &app, Command::Import(missing)).await.unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(h.world().calls_of("CreateChangeSet").is_empty());
}

#[tokio::test]
async fn a_stack_not_deployed_yet_is_created_by_the_import() {
    let app = App::new("import-new", &[("Hello", synthesized())]);
    let h = Harness::new();
    let args =
        inline(json!({"Bucket": {"BucketName": "data-bucket"}, "Queue": {"QueueUrl": "https://sqs/q"}}));
    run(&h, &app, Command::Import(args)).await.unwrap();
    let w = h.world();
    let s = w.stack("Hello").unwrap();
    assert_eq!(s.status, "IMPORT_COMPLETE");
    let t: Json = serde_json::from_str(&s.template).unwrap();
    let mut ids: Vec<&String> = t["Resources"].as_object().unwrap().keys().collect();
    ids.sort();
    assert_eq!(ids, ["Bucket", "Queue"]);
}

#[tokio::test]
async fn a_stack_in_an_unstable_state_is_refused_with_what_to_do() {
    let app = App::new("import-unstable", &[("Hello", synthesized())]);
    for status in ["UPDATE_FAILED", "UPDATE_IN_PROGRESS", "ROLLBACK_COMPLETE"] {
        let h = Harness::new();
        h.world().put_stack("Hello", &deployed(), status);
        let e = run(
            &h,
            &app,
            Command::Import(inline(json!({"Bucket": {"BucketName": "b"}}))),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::StackState { .. }), "{status}: {e:?}");
        assert!(
            e.to_string().starts_with(&format!(
                "Hello: the stack is in {status}; an import needs a stack in a stable state"
            )),
            "{e}"
        );
        assert!(h.world().calls_of("CreateChangeSet").is_empty());
    }
}
