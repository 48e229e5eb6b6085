//! events::Rule: schedules, patterns, targets, inputs and their permissions, with the
//! schema validator and the recommended rules.

mod common;
use common::{cfn_lint, checked_app, of_type, synth};

use std::time::Duration;

use cairn_constructs::events::{
    CronOptions, EventPattern, Rule, RuleProps, RuleTarget, Schedule, TargetConfig, TargetInput,
};
use cairn_constructs::events_targets::{SfnStateMachine, SnsTopic};
use cairn_constructs::iam::PolicyStatement;
use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
use cairn_core::{App, Error, Stack, TemplateFormat, Value};
use serde_json::{json, Value as Json};

fn rule_props(app: &App, t: &Json, rule: Rule) -> Json {
    let path = app.path(rule.resource().node());
    let (_, r) = of_type(t, "AWS::Events::Rule")
        .into_iter()
        .find(|(_, r)| r["Metadata"]["aws:cdk:path"] == path)
        .unwrap();
    r["Properties"].clone()
}

fn function(app: &mut App, stack: Stack, id: &str) -> Function {
    Function::new(
        app,
        stack,
        id,
        FunctionProps::new(
            Runtime::Python3_13,
            "index.handler",
            Code::inline("def handler(e, c):\n    return e\n"),
        ),
    )
    .unwrap()
}

#[test]
fn rates_use_the_largest_exact_unit() {
    for (schedule, expected) in [
        (Schedule::minutes(1), "rate(1 minute)"),
        (Schedule::minutes(5), "rate(5 minutes)"),
        (Schedule::minutes(90), "rate(90 minutes)"),
        (Schedule::minutes(120), "rate(2 hours)"),
        (Schedule::hours(1), "rate(1 hour)"),
        (Schedule::hours(36), "rate(36 hours)"),
        (Schedule::hours(48), "rate(2 days)"),
        (Schedule::days(1), "rate(1 day)"),
        (Schedule::rate(Duration::from_secs(600)), "rate(10 minutes)"),
    ] {
        assert_eq!(schedule.expression().unwrap(), expected);
    }
    for bad in [
        Schedule::minutes(0),
        Schedule::rate(Duration::from_secs(90)),
        Schedule::rate(Duration::from_millis(60_500)),
    ] {
        assert!(
            bad.expression().unwrap_err().contains("whole number of minutes"),
            "{bad:?}"
        );
    }
}

#[test]
fn cron_fields_follow_eventbridge_rules() {
    let cron = |o: CronOptions| Schedule::cron(o).expression();
    assert_eq!(cron(CronOptions::default()).unwrap(), "cron(* * * * ? *)");
    assert_eq!(
        cron(CronOptions {
            minute: Some("0".into()),
            hour: Some("12".into()),
            ..Default::default()
        })
        .unwrap(),
        "cron(0 12 * * ? *)"
    );
    assert_eq!(
        cron(CronOptions {
            minute: Some("15".into()),
            hour: Some("10".into()),
            day: Some("L".into()),
            month: Some("JAN,JUL".into()),
            year: Some("2030".into()),
            ..Default::default()
        })
        .unwrap(),
        "cron(15 10 L JAN,JUL ? 2030)"
    );
    assert_eq!(
        cron(CronOptions {
            minute: Some("0/5".into()),
            week_day: Some("MON-FRI".into()),
            ..Default::default()
        })
        .unwrap(),
        "cron(0/5 * ? * MON-FRI *)"
    );
    let both = cron(CronOptions {
        day: Some("1".into()),
        week_day: Some("MON".into()),
        ..Default::default()
    });
    assert!(both.unwrap_err().contains("both day"));
    let spaced = cron(CronOptions {
        hour: Some("1 2".into()),
        ..Default::default()
    });
    assert!(spaced.unwrap_err().contains("hour"));
}

#[test]
fn pattern_rules_render_the_pattern_state_and_names() {
    let (mut app, stack, findings) = checked_app();
    let rule = Rule::new(
        &mut app,
        stack,
        "Uploads",
        RuleProps {
            enabled: false,
            description: Some("objects created in the uploads bucket".into()),
            rule_name: Some("uploads".into()),
            ..RuleProps::pattern(EventPattern {
                source: vec!["aws.s3".into()],
                detail_type: vec!["Object Created".into()],
                detail: Some(json!({ "bucket": { "name": ["uploads"] } })),
                ..Default::default()
            })
        },
    )
    .unwrap();
    rule.add_target(
        &mut app,
        SnsTopic::new(Value::from("arn:aws:sns:us-east-1:123456789012:t")),
    )
    .unwrap();
    let asm = synth(&mut app, &findings);
    let t = asm.stack("S").unwrap().template.json().clone();
    assert_eq!(
        rule_props(&app, &t, rule),
        json!({
            "Description": "objects created in the uploads bucket",
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": { "bucket": { "name": ["uploads"] } }
            },
            "Name": "uploads",
            "State": "DISABLED",
            "Targets": [{ "Arn": "arn:aws:sns:us-east-1:123456789012:t", "Id": "Target0" }]
        })
    );
    assert_eq!(rule.name(), Value::reference(rule.resource().node()));
}

#[test]
fn a_lambda_target_gets_a_permission_scoped_to_the_rule() {
    let (mut app, stack, findings) = checked_app();
    let f = function(&mut app, stack, "F");
    let rule = Rule::new(
        &mut app,
        stack,
        "Tick",
        RuleProps::schedule(Schedule::minutes(10)),
    )
    .unwrap();
    rule.add_target(&mut app, f).unwrap();
    rule.add_target(&mut app, f.with_input(TargetInput::path("$.detail")))
        .unwrap();
    let asm = synth(&mut app, &findings);
    let t = asm.stack("S").unwrap().template.json().clone();
    let fid = asm.stack("S").unwrap().resources_of_type("AWS::Lambda::Function")[0].to_string();
    let props = rule_props(&app, &t, rule);
    assert_eq!(props["ScheduleExpression"], "rate(10 minutes)");
    assert_eq!(
        props["Targets"],
        json!([
            { "Arn": { "Fn::GetAtt": [fid, "Arn"] }, "Id": "Target0" },
            { "Arn": { "Fn::GetAtt": [fid, "Arn"] }, "Id": "Target1", "InputPath": "$.detail" }
        ])
    );
    let perms = of_type(&t, "AWS::Lambda::Permission");
    assert_eq!(perms.len(), 1, "one permission per rule and function");
    let rule_id = asm.stack("S").unwrap().resources_of_type("AWS::Events::Rule")[0].to_string();
    assert_eq!(
        perms[0].1["Properties"],
        json!({
            "Action": "lambda:InvokeFunction",
            "FunctionName": { "Fn::GetAtt": [fid, "Arn"] },
            "Principal": "events.amazonaws.com",
            "SourceArn": { "Fn::GetAtt": [rule_id, "Arn"] }
        })
    );
}

#[test]
fn a_state_machine_target_gets_a_role_allowed_to_start_executions() {
    let (mut app, stack, findings) = checked_app();
    let rule = Rule::new(
        &mut app,
        stack,
        "Orders",
        RuleProps::pattern(EventPattern {
            source: vec!["com.acme.orders".into()],
            ..Default::default()
        }),
    )
    .unwrap();
    let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:fulfil";
    rule.add_target(
        &mut app,
        SfnStateMachine::new(Value::from(sm)).with_input(TargetInput::transformer(
            [("order", "$.detail.id"), ("at", "$.time")],
            "{\"order\": <order>, \"received\": <at>}",
        )),
    )
    .unwrap();
    rule.add_target(
        &mut app,
        SnsTopic::new(Value::from("arn:aws:sns:us-east-1:123456789012:audit"))
            .with_input(TargetInput::json(json!({ "kind": "order" }))),
    )
    .unwrap();
    let asm = synth(&mut app, &findings);
    let t = asm.stack("S").unwrap().template.json().clone();
    let roles = of_type(&t, "AWS::IAM::Role");
    assert_eq!(roles.len(), 1);
    let (role_id, role) = roles[0];
    assert!(role_id.starts_with("OrdersTarget0Role"), "{role_id}");
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"],
        json!([{ "Effect": "Allow", "Principal": { "Service": "events.amazonaws.com" }, "Action": "sts:AssumeRole" }])
    );
    let policies = of_type(&t, "AWS::IAM::Policy");
    assert_eq!(
        policies[0].1["Properties"]["PolicyDocument"]["Statement"],
        json!([{ "Effect": "Allow", "Action": "states:StartExecution", "Resource": sm }])
    );
    let props = rule_props(&app, &t, rule);
    assert_eq!(
        props["Targets"],
        json!([
            {
                "Arn": sm,
                "Id": "Target0",
                "InputTransformer": {
                    "InputPathsMap": { "order": "$.detail.id", "at": "$.time" },
                    "InputTemplate": "{\"order\": <order>, \"received\": <at>}"
                },
                "RoleArn": { "Fn::GetAtt": [role_id, "Arn"] }
            },
            {
                "Arn": "arn:aws:sns:us-east-1:123456789012:audit",
                "Id": "Target1",
                "Input": "{\"kind\":\"order\"}"
            }
        ])
    );
    let out = std::env::temp_dir().join(format!("cairn-l2-events-{}", std::process::id()));
    asm.write(&out, TemplateFormat::Json).unwrap();
    cfn_lint(&[out.join("S.template.json")]);
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn invalid_rules_are_errors_naming_the_rule() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let cases = [
        ("None", RuleProps::default(), "schedule or an event pattern"),
        (
            "Rate",
            RuleProps::schedule(Schedule::rate(Duration::from_secs(30))),
            "whole number of minutes",
        ),
        (
            "Empty",
            RuleProps::pattern(EventPattern::default()),
            "matches on nothing",
        ),
        (
            "Blank",
            RuleProps::schedule(Schedule::Expression(" ".into())),
            "empty",
        ),
    ];
    for (id, props, needle) in cases {
        let err = Rule::new(&mut app, stack, id, props).unwrap_err();
        assert!(matches!(err, Error::InvalidProps { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("'S/{id}'")) && msg.contains(needle),
            "{msg}"
        );
    }
}

/// A target written outside the crate: an SQS queue, reached through a role the rule
/// creates for it, with its input; bound like the built-in ones.
struct QueueTarget {
    arn: Value,
}

impl RuleTarget for QueueTarget {
    fn bind(&self, app: &mut App, rule: &Rule, id: &str) -> cairn_core::Result<TargetConfig> {
        let role = rule.target_role(app, id)?;
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(["sqs:SendMessage"])
                .resource(self.arn.clone()),
        )?;
        Ok(TargetConfig::new(self.arn.clone()).role_arn(role.arn()))
    }
}

#[test]
fn a_user_defined_target_is_bound_like_the_built_in_ones() {
    let (mut app, stack, findings) = checked_app();
    let f = function(&mut app, stack, "F");
    let rule = Rule::new(&mut app, stack, "Tick", RuleProps::schedule(Schedule::hours(1))).unwrap();
    let queue = "arn:aws:sqs:us-east-1:123456789012:jobs";
    let targets: Vec<Box<dyn RuleTarget>> = vec![
        Box::new(f),
        Box::new(
            QueueTarget {
                arn: Value::from(queue),
            }
            .with_input(TargetInput::json(json!({ "job": "tick" }))),
        ),
    ];
    for target in targets {
        rule.add_target(&mut app, target).unwrap();
    }
    assert!(
        app.find("S/Tick/Target1Role").is_some(),
        "the role is named after the target id"
    );
    let asm = synth(&mut app, &findings);
    let t = asm.stack("S").unwrap().template.clone();
    let (role_id, _) = of_type(&t, "AWS::IAM::Role")
        .into_iter()
        .find(|(id, _)| id.starts_with("TickTarget1Role"))
        .unwrap();
    let fid = asm.stack("S").unwrap().resources_of_type("AWS::Lambda::Function")[0].to_string();
    assert_eq!(
        rule_props(&app, &t, rule)["Targets"],
        json!([
            { "Arn": { "Fn::GetAtt": [fid, "Arn"] }, "Id": "Target0" },
            {
                "Arn": queue,
                "Id": "Target1",
                "Input": "{\"job\":\"tick\"}",
                "RoleArn": { "Fn::GetAtt": [role_id, "Arn"] }
            }
        ])
    );
    let (_, policy) = of_type(&t, "AWS::IAM::Policy")
        .into_iter()
        .find(|(id, _)| id.starts_with("TickTarget1Role"))
        .unwrap();
    assert_eq!(
        policy["Properties"]["PolicyDocument"]["Statement"],
        json!([{ "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue }])
    );
}
