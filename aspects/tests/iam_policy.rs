//! The offline IAM policy check at synthesis: errors stop synthesis through the
//! `PolicyValidator` (construct path, statement, fix); warnings are `CAIRN-IAM-*` findings
//! of the recommended rules, reported and suppressible.

use cairn_aspects::{RuleSet, Status, Suppressions};
use cairn_cfn::policy::PolicyValidator;
use cairn_core::{App, CfnResource, Error, Level, Value};
use serde_json::json;

fn resource(ty: &str, props: serde_json::Value) -> CfnResource {
    let mut r = CfnResource::new(ty);
    for (k, v) in props.as_object().unwrap() {
        r = r.with(k, Value::from_json(v));
    }
    r
}

fn trust() -> serde_json::Value {
    json!({ "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole"
    }]})
}

#[test]
fn a_misspelled_action_and_a_trust_policy_with_a_resource_stop_synthesis() {
    let mut app = App::new();
    app.add_validator_once(PolicyValidator::new());
    let stack = app.stack("Jobs").unwrap();
    let mut bad_trust = trust();
    bad_trust["Statement"][0]["Resource"] = json!("*");
    bad_trust["Statement"][0]["Sid"] = json!("AssumeByLambda");
    app.add(
        stack,
        "Worker",
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": bad_trust,
                "Policies": [{ "PolicyName": "read", "PolicyDocument": { "Version": "2012-10-17", "Statement": [
                    { "Effect": "Allow", "Action": ["sqs:ReceiveMessages", "sqs:DeleteMessage"], "Resource": "*" }
                ]}}]
            }),
        ),
    )
    .unwrap();
    let Err(Error::Validation { errors }) = app.synth() else {
        panic!("synthesis must fail");
    };
    let text: Vec<String> = errors
        .iter()
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect();
    assert_eq!(errors.len(), 2, "{text:#?}");
    assert!(errors.iter().all(|d| d.level == Level::Error));
    assert!(
        text[0].starts_with("Jobs/Worker: Properties.AssumeRolePolicyDocument.Statement[0]: statement \"AssumeByLambda\": a trust policy statement has Resource"),
        "{}",
        text[0]
    );
    assert!(text[0].contains("remove it"), "{}", text[0]);
    assert!(
        text[1].starts_with("Jobs/Worker: Properties.Policies[0].PolicyDocument.Statement[0]: statement #0: unknown action sqs:ReceiveMessages; did you mean sqs:ReceiveMessage?"),
        "{}",
        text[1]
    );
}

#[test]
fn correct_policies_synthesize() {
    let mut app = App::new();
    app.add_validator_once(PolicyValidator::new());
    let stack = app.stack("Jobs").unwrap();
    app.add(
        stack,
        "Worker",
        resource("AWS::IAM::Role", json!({ "AssumeRolePolicyDocument": trust() })),
    )
    .unwrap();
    let root = app.root();
    let findings = RuleSet::recommended().apply(&mut app, root);
    app.synth().unwrap();
    assert!(
        findings
            .borrow()
            .iter()
            .all(|f| !f.rule.starts_with("CAIRN-IAM-")),
        "{:?}",
        findings.borrow()
    );
}

fn key_policy_app(suppress: bool) -> (App, cairn_aspects::Findings) {
    let mut app = App::new();
    app.add_validator_once(PolicyValidator::new());
    let stack = app.stack("Keys").unwrap();
    let policy = app
        .add(
            stack,
            "Policy",
            resource(
                "AWS::IAM::ManagedPolicy",
                json!({ "PolicyDocument": { "Version": "2012-10-17", "Statement": [
                    { "Sid": "Describe", "Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*",
                      "Condition": { "ArnLike": { "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*" } } },
                    { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports" },
                    { "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*" },
                    { "Effect": "Allow", "NotAction": "iam:*", "Resource": "*" }
                ]}}),
            ),
        )
        .unwrap();
    if suppress {
        Suppressions::of(&mut app, policy)
            .add(
                "CAIRN-IAM-CONDITION-KEY",
                "kept for the log service's calls, reviewed in SEC-12",
            )
            .unwrap();
    }
    let root = app.root();
    let findings = RuleSet::recommended().apply(&mut app, root);
    (app, findings)
}

#[test]
fn warnings_are_findings_with_the_statement_and_synthesis_goes_on() {
    let (mut app, findings) = key_policy_app(false);
    let asm = app.synth().unwrap();
    let f = findings.borrow();
    let iam: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.rule.starts_with("CAIRN-IAM-"))
        .map(|f| (f.rule.as_str(), f.message.as_str()))
        .collect();
    let rules: Vec<&str> = iam.iter().map(|(r, _)| *r).collect();
    assert_eq!(
        rules,
        [
            "CAIRN-IAM-PASSROLE",
            "CAIRN-IAM-CONDITION-KEY",
            "CAIRN-IAM-RESOURCE-TYPE",
            "CAIRN-IAM-NOT-ACTION"
        ],
        "{iam:#?}"
    );
    assert!(
        iam[0]
            .1
            .starts_with("SECURITY_WARNING PolicyDocument.Statement[2]: statement #2: "),
        "{}",
        iam[0].1
    );
    assert!(
        iam[1].1.contains("statement \"Describe\": condition key kms:EncryptionContext:aws:logs:arn applies to none of the actions (kms:DescribeKey)"),
        "{}",
        iam[1].1
    );
    assert!(
        iam[2].1.contains("Resource[0] arn:aws:s3:::reports"),
        "{}",
        iam[2].1
    );
    assert!(f
        .iter()
        .filter(|f| f.rule.starts_with("CAIRN-IAM-"))
        .all(|f| f.status == Status::Open(Level::Warning)));
    // The warnings reach the report files.
    let reports = app.reports(Some(&asm));
    let json = reports
        .iter()
        .flat_map(|r| &r.files)
        .find(|(name, _)| name == "cairn-report.json")
        .map(|(_, text)| text.clone())
        .unwrap();
    assert!(json.contains("CAIRN-IAM-CONDITION-KEY"), "{json}");
}

#[test]
fn a_reasoned_suppression_answers_a_warning() {
    let (mut app, findings) = key_policy_app(true);
    app.synth().unwrap();
    let f = findings.borrow();
    let key = f.iter().find(|f| f.rule == "CAIRN-IAM-CONDITION-KEY").unwrap();
    assert_eq!(
        key.status,
        Status::Suppressed("kept for the log service's calls, reviewed in SEC-12".into())
    );
}

#[test]
fn the_warnings_fail_a_strict_synthesis() {
    let (mut app, _) = key_policy_app(false);
    let r = app.synth_with(&cairn_core::SynthOptions { strict: true });
    assert!(matches!(r, Err(Error::Validation { .. })));
}

/// The four `CAIRN-IAM-*` rules share one check per resource: each resource's findings are
/// its own (never the previous resource's), and rules registered in another order find
/// the same.
#[test]
fn each_resource_is_checked_for_itself_whatever_the_rule_order() {
    let build = |reversed: bool| {
        let mut app = App::new();
        let stack = app.stack("Keys").unwrap();
        app.add(
            stack,
            "Policy",
            resource(
                "AWS::IAM::ManagedPolicy",
                json!({ "PolicyDocument": { "Version": "2012-10-17", "Statement": [
                    { "Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*",
                      "Condition": { "ArnLike": { "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*" } } },
                    { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports" },
                    { "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*" },
                    { "Effect": "Allow", "NotAction": "iam:*", "Resource": "*" }
                ]}}),
            ),
        )
        .unwrap();
        for id in ["Clean", "AlsoClean"] {
            app.add(
                stack,
                id,
                resource(
                    "AWS::IAM::ManagedPolicy",
                    json!({ "PolicyDocument": { "Version": "2012-10-17", "Statement": [
                        { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*" }
                    ]}}),
                ),
            )
            .unwrap();
        }
        let mut rules = cairn_aspects::rules::IamPolicyCheck::all();
        if reversed {
            rules.reverse();
        }
        let set = rules
            .into_iter()
            .fold(RuleSet::empty(), |set, r| set.rule(r, cairn_aspects::Mode::Warn));
        let root = app.root();
        let findings = set.apply(&mut app, root);
        app.synth().unwrap();
        let mut found: Vec<(String, String)> = findings
            .borrow()
            .iter()
            .map(|f| (f.path.clone(), f.rule.clone()))
            .collect();
        found.sort();
        found
    };
    let in_order = build(false);
    assert_eq!(
        in_order,
        [
            ("Keys/Policy", "CAIRN-IAM-CONDITION-KEY"),
            ("Keys/Policy", "CAIRN-IAM-NOT-ACTION"),
            ("Keys/Policy", "CAIRN-IAM-PASSROLE"),
            ("Keys/Policy", "CAIRN-IAM-RESOURCE-TYPE"),
        ]
        .map(|(p, r)| (p.to_string(), r.to_string()))
    );
    assert_eq!(build(true), in_order);
}
