use cairn_core::{Intrinsic, Pseudo, Value};

use super::*;

fn statement(fields: &[(&str, Value)]) -> Value {
    Value::Map(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

fn doc(statements: Vec<Value>) -> Value {
    Value::map([
        ("Version", Value::from("2012-10-17")),
        ("Statement", Value::List(statements)),
    ])
}

fn allow(action: &str, resource: Value) -> Value {
    statement(&[
        ("Effect", Value::from("Allow")),
        ("Action", Value::from(action)),
        ("Resource", resource),
    ])
}

fn check(d: &Value, kind: PolicyKind) -> Vec<PolicyFinding> {
    PolicyChecker::new().check_document(d, kind)
}

fn kinds(f: &[PolicyFinding]) -> Vec<FindingKind> {
    f.iter().map(|f| f.kind).collect()
}

fn join(parts: Vec<Value>) -> Value {
    Value::Intrinsic(Box::new(Intrinsic::Join(String::new(), Value::List(parts))))
}

fn partition() -> Value {
    Value::Intrinsic(Box::new(Intrinsic::Pseudo(Pseudo::Partition)))
}

#[test]
fn a_misspelled_action_is_an_error_with_the_suggestion() {
    let f = check(
        &doc(vec![allow("sqs:ReceiveMessages", Value::from("*"))]),
        PolicyKind::Identity,
    );
    assert_eq!(kinds(&f), [FindingKind::UnknownAction]);
    assert_eq!(f[0].severity, Severity::Error);
    assert_eq!(f[0].path, "Statement[0]");
    assert!(
        f[0].message
            .starts_with("statement #0: unknown action sqs:ReceiveMessages"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].message.contains("did you mean sqs:ReceiveMessage?"),
        "{}",
        f[0].message
    );
}

#[test]
fn known_actions_in_any_case_pass() {
    let f = check(
        &doc(vec![
            allow("SQS:receivemessage", Value::from("*")),
            allow("s3:Get*", Value::from("*")),
        ]),
        PolicyKind::Identity,
    );
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn an_unknown_service_is_an_error_with_the_suggestion() {
    let f = check(
        &doc(vec![allow("sqss:ReceiveMessage", Value::from("*"))]),
        PolicyKind::Identity,
    );
    assert_eq!(kinds(&f), [FindingKind::UnknownService]);
    assert!(f[0].message.contains("did you mean sqs?"), "{}", f[0].message);
}

#[test]
fn a_wildcard_that_matches_nothing_is_an_error() {
    let f = check(
        &doc(vec![allow("s3:Fetch*", Value::from("*"))]),
        PolicyKind::Identity,
    );
    assert_eq!(kinds(&f), [FindingKind::WildcardMatchesNothing]);
}

#[test]
fn a_trust_policy_with_a_resource_is_an_error_and_the_sid_names_the_statement() {
    let s = statement(&[
        ("Sid", Value::from("Assume")),
        ("Effect", Value::from("Allow")),
        (
            "Principal",
            Value::map([("Service", Value::from("lambda.amazonaws.com"))]),
        ),
        ("Action", Value::from("sts:AssumeRole")),
        ("Resource", Value::from("*")),
    ]);
    let f = check(&doc(vec![s]), PolicyKind::Trust);
    assert_eq!(kinds(&f), [FindingKind::TrustPolicyResource]);
    assert!(
        f[0].message.starts_with("statement \"Assume\": "),
        "{}",
        f[0].message
    );
}

#[test]
fn malformed_statements_are_errors() {
    let no_effect = statement(&[
        ("Action", Value::from("s3:GetObject")),
        ("Resource", Value::from("*")),
    ]);
    let both = statement(&[
        ("Effect", Value::from("Deny")),
        ("Action", Value::from("s3:GetObject")),
        ("NotAction", Value::from("s3:PutObject")),
        ("Resource", Value::from("*")),
    ]);
    let principal = statement(&[
        ("Effect", Value::from("Deny")),
        ("Principal", Value::from("*")),
        ("Action", Value::from("s3:GetObject")),
        ("Resource", Value::from("*")),
    ]);
    let operator = statement(&[
        ("Effect", Value::from("Deny")),
        ("Action", Value::from("s3:GetObject")),
        ("Resource", Value::from("*")),
        (
            "Condition",
            Value::map([(
                "StringEqual",
                Value::map([("aws:SourceVpc", Value::from("vpc-1"))]),
            )]),
        ),
    ]);
    let f = check(
        &doc(vec![no_effect, both, principal, operator]),
        PolicyKind::Identity,
    );
    assert!(f.iter().all(|f| f.severity == Severity::Error), "{f:?}");
    let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["Statement[0]", "Statement[1]", "Statement[2]", "Statement[3]"],
        "{f:?}"
    );
    assert!(
        f[3].message.contains("did you mean StringEquals?"),
        "{}",
        f[3].message
    );
}

#[test]
fn pass_role_on_everything_without_passed_to_service_is_a_security_warning() {
    let f = check(
        &doc(vec![allow("iam:PassRole", Value::from("*"))]),
        PolicyKind::Identity,
    );
    assert_eq!(kinds(&f), [FindingKind::PassRoleToAnyService]);
    assert_eq!(f[0].severity, Severity::SecurityWarning);
    let scoped = statement(&[
        ("Effect", Value::from("Allow")),
        ("Action", Value::from("iam:PassRole")),
        ("Resource", Value::from("*")),
        (
            "Condition",
            Value::map([(
                "StringEquals",
                Value::map([("iam:PassedToService", Value::from("ecs-tasks.amazonaws.com"))]),
            )]),
        ),
    ]);
    assert!(check(&doc(vec![scoped]), PolicyKind::Identity).is_empty());
}

#[test]
fn a_wildcard_principal_without_condition_is_a_security_warning() {
    let s = statement(&[
        ("Effect", Value::from("Allow")),
        ("Principal", Value::map([("AWS", Value::from("*"))])),
        ("Action", Value::from("sqs:SendMessage")),
        ("Resource", Value::from("*")),
    ]);
    let f = check(&doc(vec![s]), PolicyKind::Resource);
    assert_eq!(kinds(&f), [FindingKind::WildcardPrincipal]);
}

#[test]
fn a_condition_key_that_applies_to_none_of_the_actions_is_a_warning() {
    let with = |action: &str, key: &str| {
        statement(&[
            ("Effect", Value::from("Allow")),
            ("Action", Value::from(action)),
            ("Resource", Value::from("*")),
            (
                "Condition",
                Value::map([("StringEquals", Value::map([(key, Value::from("x"))]))]),
            ),
        ])
    };
    let f = check(
        &doc(vec![with(
            "kms:DescribeKey",
            "kms:EncryptionContext:aws:logs:arn",
        )]),
        PolicyKind::Identity,
    );
    assert_eq!(kinds(&f), [FindingKind::ConditionKeyNotApplicable]);
    assert_eq!(f[0].severity, Severity::Warning);
    // Keys of the action, of the resource types it takes, global keys, and keys of
    // identity providers are fine.
    for (a, k) in [
        ("kms:Decrypt", "kms:EncryptionContext:aws:logs:arn"),
        ("kms:Decrypt", "kms:ViaService"),
        ("kms:Decrypt", "kms:ResourceAliases"),
        ("s3:GetObject", "aws:SecureTransport"),
        (
            "sts:AssumeRoleWithWebIdentity",
            "token.actions.githubusercontent.com:sub",
        ),
    ] {
        let f = check(&doc(vec![with(a, k)]), PolicyKind::Identity);
        assert!(f.is_empty(), "{a} {k}: {f:?}");
    }
}

#[test]
fn a_resource_of_a_type_the_actions_do_not_take_is_a_warning() {
    let f = check(
        &doc(vec![allow(
            "sqs:ReceiveMessage",
            Value::from("arn:aws:sns:us-east-1:123456789012:topic"),
        )]),
        PolicyKind::Identity,
    );
    assert_eq!(kinds(&f), [FindingKind::ResourceTypeMismatch]);
    // s3:GetObject on a bucket (not its objects), written with Fn::Join around references.
    let bucket = join(vec![
        Value::from("arn:"),
        partition(),
        Value::from(":s3:::"),
        Value::from("my-bucket"),
    ]);
    let f = check(
        &doc(vec![allow("s3:GetObject", bucket.clone())]),
        PolicyKind::Identity,
    );
    assert_eq!(kinds(&f), [FindingKind::ResourceTypeMismatch], "{f:?}");
    assert!(
        f[0].message
            .contains("arn:${Partition}:s3:::${BucketName}/${ObjectName}"),
        "{}",
        f[0].message
    );
    assert!(check(&doc(vec![allow("s3:ListBucket", bucket)]), PolicyKind::Identity).is_empty());
    let objects = join(vec![
        Value::from("arn:"),
        partition(),
        Value::from(":s3:::my-bucket/*"),
    ]);
    assert!(check(&doc(vec![allow("s3:GetObject", objects)]), PolicyKind::Identity).is_empty());
    // A Fn::Sub with references and a queue ARN fits.
    let queue = Value::Intrinsic(Box::new(Intrinsic::Sub(
        "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:jobs".into(),
        Default::default(),
    )));
    assert!(check(
        &doc(vec![allow("sqs:ReceiveMessage", queue)]),
        PolicyKind::Identity
    )
    .is_empty());
    // An ARN that is a reference as a whole says nothing about its type.
    let opaque = Value::Intrinsic(Box::new(Intrinsic::Pseudo(Pseudo::Region)));
    assert!(check(
        &doc(vec![allow("sqs:ReceiveMessage", opaque)]),
        PolicyKind::Identity
    )
    .is_empty());
}

#[test]
fn not_action_with_allow_is_a_warning() {
    let s = statement(&[
        ("Effect", Value::from("Allow")),
        ("NotAction", Value::from("iam:*")),
        ("Resource", Value::from("*")),
    ]);
    let f = check(&doc(vec![s]), PolicyKind::Identity);
    assert_eq!(kinds(&f), [FindingKind::NotWithAllow]);
}

#[test]
fn the_validator_reports_errors_under_the_property_path_and_leaves_warnings() {
    let props: IndexMap<String, Value> = [
        (
            "AssumeRolePolicyDocument".to_string(),
            doc(vec![statement(&[
                ("Effect", Value::from("Allow")),
                (
                    "Principal",
                    Value::map([("Service", Value::from("lambda.amazonaws.com"))]),
                ),
                ("Action", Value::from("sts:AssumeRole")),
                ("Resource", Value::from("*")),
            ])]),
        ),
        (
            "Policies".to_string(),
            Value::list([Value::map([
                ("PolicyName", Value::from("p")),
                (
                    "PolicyDocument",
                    doc(vec![
                        allow("sqs:ReceiveMessages", Value::from("*")),
                        allow("iam:PassRole", Value::from("*")),
                    ]),
                ),
            ])]),
        ),
    ]
    .into_iter()
    .collect();
    let errors = PolicyValidator::new().validate("AWS::IAM::Role", &props);
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Properties.AssumeRolePolicyDocument.Statement[0]",
            "Properties.Policies[0].PolicyDocument.Statement[0]"
        ]
    );
    assert!(PolicyValidator::new()
        .validate("AWS::SQS::Queue", &props)
        .is_empty());
}

#[test]
fn documents_written_as_json_text_are_checked() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},"Action":"logs:PutLogEvent","Resource":"*"}]}"#;
    let props: IndexMap<String, Value> = [("PolicyDocument".to_string(), Value::from(text))]
        .into_iter()
        .collect();
    let f = PolicyChecker::new().check_resource("AWS::Logs::ResourcePolicy", &props);
    assert_eq!(kinds(&f), [FindingKind::UnknownAction]);
    assert!(f[0].message.contains("logs:PutLogEvents"), "{}", f[0].message);
}

#[test]
fn arn_patterns_intersect_as_the_texts_they_match() {
    let p = |s: &str| arn_pattern(&Value::from(s)).unwrap();
    let f = format_pattern;
    assert!(intersects(
        &p("arn:aws:s3:::b/*"),
        &f("arn:${Partition}:s3:::${BucketName}/${ObjectName}")
    ));
    assert!(!intersects(
        &p("arn:aws:s3:::b"),
        &f("arn:${Partition}:s3:::${BucketName}/${ObjectName}")
    ));
    assert!(!intersects(
        &p("arn:aws:kms:us-east-1:1:alias/a"),
        &f("arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}")
    ));
    assert_eq!(arn_service(&p("arn:aws:sqs:r:a:q")).as_deref(), Some("sqs"));
    assert_eq!(arn_service(&p("arn:aws:*:r:a:q")), None);
}

#[test]
fn every_policy_type_is_listed_once() {
    let mut from_documents: Vec<&str> = POLICY_DOCUMENTS.iter().map(|(t, _, _)| *t).collect();
    from_documents.dedup();
    assert_eq!(from_documents, POLICY_RESOURCE_TYPES);
}
