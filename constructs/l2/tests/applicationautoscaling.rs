//! applicationautoscaling: scalable targets and target tracking policies; schema-checked,
//! rule-clean, cfn-lint-clean; bad bounds and targets refused naming the construct.

mod common;
use common::{logical, of_type, synth_clean};

use std::time::Duration;

use cairn_core::{App, Value};
use serde_json::json;

use cairn_constructs::applicationautoscaling::scalable_target::{ScalableDimension, ServiceNamespace};
use cairn_constructs::applicationautoscaling::scaling_policy::PredefinedMetricSpecificationPredefinedMetricType as Metric;
use cairn_constructs::applicationautoscaling::{
    PredefinedMetric, ScalableTarget, ScalableTargetProps, TargetTrackingProps,
};

fn table_props(min: u32, max: u32) -> ScalableTargetProps {
    ScalableTargetProps::new(
        ServiceNamespace::Dynamodb,
        "table/orders",
        ScalableDimension::DynamodbTableReadCapacityUnits,
        min,
        max,
    )
}

#[test]
fn a_target_with_policies_synthesizes_clean() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let target = ScalableTarget::new(
        &mut app,
        s,
        "Reads",
        ScalableTargetProps {
            role_arn: Some(Value::from("arn:aws:iam::123456789012:role/scaler")),
            ..table_props(5, 50)
        },
    )
    .unwrap();
    target
        .scale_to_track_metric(
            &mut app,
            "Tracking",
            TargetTrackingProps {
                scale_in_cooldown: Some(Duration::from_secs(120)),
                scale_out_cooldown: Some(Duration::from_secs(30)),
                disable_scale_in: true,
                ..TargetTrackingProps::new(
                    PredefinedMetric::Other(Metric::DynamoDbReadCapacityUtilization, None),
                    70.0,
                )
            },
        )
        .unwrap();
    target
        .scale_to_track_metric(
            &mut app,
            "Named",
            TargetTrackingProps {
                policy_name: Some("reads-70".into()),
                ..TargetTrackingProps::new(
                    PredefinedMetric::Other(Metric::DynamoDbReadCapacityUtilization, None),
                    70.0,
                )
            },
        )
        .unwrap();
    let t = synth_clean(app, "S", &[], "appautoscaling");
    let id = logical(&t, "Reads");
    let p = &t["Resources"][&id]["Properties"];
    assert_eq!(p["MinCapacity"], 5);
    assert_eq!(p["MaxCapacity"], 50);
    assert_eq!(p["ServiceNamespace"], "dynamodb");
    assert_eq!(p["ScalableDimension"], "dynamodb:table:ReadCapacityUnits");
    assert_eq!(p["RoleARN"], "arn:aws:iam::123456789012:role/scaler");
    let tracking = &t["Resources"][&logical(&t, "ReadsTracking")]["Properties"];
    // Derived from the path, as the CDK names policies: `SReadsTracking<hash>`.
    let name = tracking["PolicyName"].as_str().unwrap();
    assert!(
        name.starts_with("SReadsTracking") && name.len() == "SReadsTracking".len() + 8,
        "{name}"
    );
    assert_eq!(tracking["ScalingTargetId"], json!({ "Ref": id }));
    assert_eq!(
        tracking["TargetTrackingScalingPolicyConfiguration"],
        json!({
            "DisableScaleIn": true,
            "PredefinedMetricSpecification": { "PredefinedMetricType": "DynamoDBReadCapacityUtilization" },
            "ScaleInCooldown": 120,
            "ScaleOutCooldown": 30,
            "TargetValue": 70.0
        })
    );
    let named = &t["Resources"][&logical(&t, "ReadsNamed")]["Properties"];
    assert_eq!(named["PolicyName"], "reads-70");
    assert_eq!(of_type(&t, "AWS::ApplicationAutoScaling::ScalingPolicy").len(), 2);
}

#[test]
fn request_count_tracking_carries_its_resource_label() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let target = ScalableTarget::new(
        &mut app,
        s,
        "Tasks",
        ScalableTargetProps::new(
            ServiceNamespace::Ecs,
            "service/prod/web",
            ScalableDimension::EcsServiceDesiredCount,
            1,
            3,
        ),
    )
    .unwrap();
    let label = "app/web/50dc6c495c0c9188/targetgroup/web/73e2d6bc24d8a067";
    target
        .scale_to_track_metric(
            &mut app,
            "Requests",
            TargetTrackingProps::new(
                PredefinedMetric::AlbRequestCountPerTarget {
                    resource_label: Value::from(label),
                },
                300.0,
            ),
        )
        .unwrap();
    let t = synth_clean(app, "S", &[], "appautoscaling-requests");
    let p = &t["Resources"][&logical(&t, "TasksRequests")]["Properties"];
    assert_eq!(
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"],
        json!({ "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": label })
    );
    assert!(t["Resources"][&logical(&t, "Tasks")]["Properties"]
        .get("RoleARN")
        .is_none());
}

#[test]
fn bad_bounds_and_targets_are_refused() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let err = ScalableTarget::new(&mut app, s, "Inverted", table_props(10, 2))
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("S/Inverted") && err.contains("max_capacity 2 is below min_capacity 10"),
        "{err}"
    );
    let target = ScalableTarget::new(&mut app, s, "Ok", table_props(1, 1)).unwrap();
    for (id, v) in [("Zero", 0.0), ("Negative", -5.0), ("Nan", f64::NAN)] {
        let err = target
            .scale_to_track_metric(
                &mut app,
                id,
                TargetTrackingProps::new(PredefinedMetric::EcsServiceAverageCpuUtilization, v),
            )
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains(&format!("S/Ok/{id}")) && err.contains("positive"),
            "{err}"
        );
    }
}
