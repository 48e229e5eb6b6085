//! `cairn drift` against the fake (moto 5.2.5 has no drift detection).

use serde_json::Value as Json;

use super::{role, run, template, App};
use crate::client::{PropertyDifference, ResourceDrift};
use crate::error::Error;
use crate::fake::Harness;
use crate::{Command, DriftArgs};

fn modified_queue() -> Vec<ResourceDrift> {
    vec![
        ResourceDrift {
            logical_id: "Queue".into(),
            physical_id: "https://sqs/queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            status: "MODIFIED".into(),
            differences: vec![PropertyDifference {
                path: "/VisibilityTimeout".into(),
                expected: "30".into(),
                actual: "45".into(),
                kind: "NOT_EQUAL".into(),
            }],
        },
        ResourceDrift {
            logical_id: "Bucket".into(),
            physical_id: "my-bucket".into(),
            resource_type: "AWS::S3::Bucket".into(),
            status: "DELETED".into(),
            differences: vec![],
        },
    ]
}

#[tokio::test]
async fn drifted_resources_are_shown_with_their_property_differences_and_fail_with_fail() {
    let app = App::new("drift-modified", &[("Hello", template())]);
    let h = Harness::new();
    let id = h.world().put_stack("Hello", &template(), "UPDATE_COMPLETE");
    h.world().drifts.insert("Hello".into(), modified_queue());
    run(&h, &app, Command::Drift(DriftArgs::default())).await.unwrap();
    let out = h.out.text();
    assert!(
        out.contains(
            "Modified Resources\n[~] AWS::SQS::Queue Queue https://sqs/queue\n └─ [~] /VisibilityTimeout\n       ├─ [-] 30\n       └─ [+] 45\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("Deleted Resources\n[-] AWS::S3::Bucket Bucket my-bucket\n"),
        "{out}"
    );
    assert!(
        out.contains("2 resources drifted (0 in sync, 0 not checked)"),
        "{out}"
    );
    assert!(out.contains("Number of stacks with drift: 1"), "{out}");
    {
        let w = h.world();
        assert_eq!(w.calls_of("DetectStackDrift"), std::slice::from_ref(&id));
        assert!(
            w.calls_as
                .contains(&(format!("DetectStackDrift {id}"), role("lookup"))),
            "through the lookup role"
        );
        assert_eq!(
            w.calls_of("DescribeStackDriftDetectionStatus").len(),
            2,
            "polled until the detection completes"
        );
    }

    let again = h.again();
    let e = run(
        &again,
        &app,
        Command::Drift(DriftArgs {
            fail: true,
            ..DriftArgs::default()
        }),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Drifted(_)), "{e:?}");
    assert_eq!(e.to_string(), "drift detected: Hello (2 resources)");
}

#[tokio::test]
async fn a_stack_in_sync_passes_fail_and_stacks_not_deployed_are_skipped() {
    let app = App::new("drift-sync", &[("Hello", template()), ("Later", template())]);
    let h = Harness::new();
    h.world().put_stack("Hello", &template(), "CREATE_COMPLETE");
    run(
        &h,
        &app,
        Command::Drift(DriftArgs {
            fail: true,
            ..DriftArgs::default()
        }),
    )
    .await
    .unwrap();
    let out = h.out.text();
    assert!(
        out.contains("Stack Hello\nNo drift detected (2 in sync, 0 not checked)"),
        "{out}"
    );
    assert!(out.contains("Stack Later\nThe stack is not deployed"), "{out}");
    assert!(h
        .err
        .text()
        .contains("Later: the stack Later is not deployed; nothing to check"));
    assert_eq!(h.world().calls_of("DetectStackDrift").len(), 1);
}

#[tokio::test]
async fn json_and_a_failed_detection_show_what_was_checked() {
    let app = App::new("drift-json", &[("Hello", template())]);
    let h = Harness::build(None, true);
    h.world().put_stack("Hello", &template(), "UPDATE_COMPLETE");
    h.world().drifts.insert("Hello".into(), modified_queue());
    h.world().drift_failure = Some("Failed to detect drift on resource [Topic]".into());
    run(&h, &app, Command::Drift(DriftArgs::default())).await.unwrap();
    let doc: Json = serde_json::from_str(&h.out.text()).unwrap();
    assert_eq!(doc["drifted"], 2);
    let s = &doc["stacks"][0];
    assert_eq!(s["detectionStatus"], "DETECTION_FAILED");
    assert_eq!(
        s["detectionStatusReason"],
        "Failed to detect drift on resource [Topic]"
    );
    assert_eq!(s["stackDriftStatus"], "DRIFTED");
    assert_eq!(s["resources"][1]["logicalId"], "Queue");
    assert_eq!(s["resources"][1]["differences"][0]["path"], "/VisibilityTimeout");
    assert_eq!(s["resources"][1]["differences"][0]["expected"], "30");
    assert_eq!(s["resources"][1]["differences"][0]["actual"], "45");
    assert_eq!(s["resources"][1]["differences"][0]["type"], "NOT_EQUAL");
    assert!(h
        .err
        .text()
        .contains("Hello: drift detection failed for some resources (Failed to detect drift on resource [Topic]); showing the resources that were checked"));
}

#[tokio::test]
async fn an_endpoint_that_refuses_detection_is_named() {
    let app = App::new("drift-down", &[("Hello", template())]);
    let h = Harness::new();
    h.world().unreachable = Some("http://127.0.0.1:4599".into());
    let e = run(&h, &app, Command::Drift(DriftArgs::default()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
}
