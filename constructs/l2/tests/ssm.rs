//! ssm::StringParameter ARNs and grants; ssm::Document files, includes and errors.

mod common;
use common::checked_app;

use std::path::PathBuf;

use cairn_constructs::assertions::Template;
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::ssm::{
    Document, DocumentProps, ParameterTier, StringParameter, StringParameterProps, SHARE_ACCOUNTS_METADATA,
};
use cairn_core::{App, Error, Level, Output, Value};
use serde_json::json;

/// A fresh directory with the given files.
fn files(name: &str, entries: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-l2-ssm-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in entries {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn arn(name_part: &str, id: &str) -> serde_json::Value {
    json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":ssm:", { "Ref": "AWS::Region" }, ":",
        { "Ref": "AWS::AccountId" }, name_part, { "Ref": id }]] })
}

#[test]
fn parameter_arns_for_slash_simple_and_generated_names() {
    let (mut app, stack, findings) = checked_app();
    let slash = StringParameter::new(
        &mut app,
        stack,
        "Slash",
        StringParameterProps {
            parameter_name: Some("/app/endpoint".into()),
            description: Some("endpoint".into()),
            tier: ParameterTier::Advanced,
            ..StringParameterProps::new("https://x")
        },
    )
    .unwrap();
    let simple = StringParameter::new(
        &mut app,
        stack,
        "Simple",
        StringParameterProps {
            parameter_name: Some("endpoint".into()),
            ..StringParameterProps::new("v")
        },
    )
    .unwrap();
    let generated =
        StringParameter::new(&mut app, stack, "Generated", StringParameterProps::new("v")).unwrap();
    let r = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    slash.grant_read(&mut app, &r).unwrap();
    simple.grant_write(&mut app, &r).unwrap();
    for (id, p) in [
        ("SlashArn", slash),
        ("SimpleArn", simple),
        ("GeneratedArn", generated),
    ] {
        app.output(stack, id, Output::new(p.parameter_arn())).unwrap();
    }
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let ids: Vec<String> = t
        .find_resources("AWS::SSM::Parameter", json!({}))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    t.assert_has_resource_properties(
        "AWS::SSM::Parameter",
        json!({ "Type": "String", "Name": "/app/endpoint", "Value": "https://x", "Tier": "Advanced", "Description": "endpoint" }),
    );
    t.assert_has_output("SlashArn", json!({ "Value": arn(":parameter", &ids[0]) }));
    t.assert_has_output("SimpleArn", json!({ "Value": arn(":parameter/", &ids[1]) }));
    t.assert_has_output("GeneratedArn", json!({ "Value": arn(":parameter/", &ids[2]) }));
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [
            { "Action": ["ssm:DescribeParameters", "ssm:GetParameters", "ssm:GetParameter", "ssm:GetParameterHistory"],
              "Resource": arn(":parameter", &ids[0]) },
            { "Action": "ssm:PutParameter", "Resource": arn(":parameter/", &ids[1]) }
        ] } }),
    );
}

#[test]
fn non_literal_names_need_simple_name() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let name = Value::sub("/${AWS::StackName}/flag");
    let err = StringParameter::new(
        &mut app,
        stack,
        "P",
        StringParameterProps {
            parameter_name: Some(name.clone()),
            ..StringParameterProps::new("on")
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("'S/P'") && err.contains("simple_name"), "{err}");
    StringParameter::new(
        &mut app,
        stack,
        "P",
        StringParameterProps {
            parameter_name: Some(name),
            simple_name: Some(false),
            ..StringParameterProps::new("on")
        },
    )
    .unwrap();
    let err = StringParameter::new(
        &mut app,
        stack,
        "Q",
        StringParameterProps {
            parameter_name: Some("/a".into()),
            simple_name: Some(true),
            ..StringParameterProps::new("on")
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("remove simple_name"), "{err}");
}

const FRAGMENT: &str =
    "- action: aws:runShellScript\n  name: generate\n  inputs:\n    runCommand: [\"./generate.sh\"]\n";

#[test]
fn documents_expand_shared_includes() {
    let dir = files("ok", &[
        ("install.yaml", "schemaVersion: '2.2'\ndescription: Install\nparameters:\n  Version: { type: String, default: '1' }\nmainSteps:\n  - include: fragments/generate.yaml\n  - action: aws:runShellScript\n    name: install\n    inputs: { runCommand: ['./install.sh'] }\n"),
        ("update.json", r#"{"schemaVersion":"2.2","description":"Update","mainSteps":[{"include":"fragments/generate.yaml"},{"include":"fragments/restart.json"}]}"#),
        ("fragments/generate.yaml", FRAGMENT),
        ("fragments/restart.json", r#"{"action":"aws:runShellScript","name":"restart","inputs":{"runCommand":["systemctl restart app"]}}"#),
    ]);
    let (mut app, stack, findings) = checked_app();
    let install = Document::new(
        &mut app,
        stack,
        "Install",
        DocumentProps {
            document_name: Some("InstallApp".into()),
            ..DocumentProps::new(dir.join("install.yaml"))
        },
    )
    .unwrap();
    Document::new(
        &mut app,
        stack,
        "Update",
        DocumentProps::new(dir.join("update.json")),
    )
    .unwrap();
    let r = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("ssm.amazonaws.com")),
    )
    .unwrap();
    install.grant(&mut app, &r, ["ssm:SendCommand"]).unwrap();
    install.add_share_accounts(&mut app, &["111122223333"]).unwrap();
    install
        .add_share_accounts(&mut app, &["111122223333", "444455556666"])
        .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let generate = json!({ "action": "aws:runShellScript", "name": "generate", "inputs": { "runCommand": ["./generate.sh"] } });
    t.assert_has_resource_properties(
        "AWS::SSM::Document",
        json!({
            "DocumentType": "Command", "Name": "InstallApp", "UpdateMethod": "NewVersion",
            "Content": { "schemaVersion": "2.2", "parameters": { "Version": { "type": "String", "default": "1" } },
                         "mainSteps": [generate, { "name": "install" }] }
        }),
    );
    t.assert_has_resource_properties(
        "AWS::SSM::Document",
        json!({ "Content": { "description": "Update", "mainSteps": [generate, { "name": "restart" }] } }),
    );
    let doc_id = t.find_resources(
        "AWS::SSM::Document",
        json!({ "Properties": { "Name": "InstallApp" } }),
    )[0]
    .0
    .clone();
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [{ "Action": "ssm:SendCommand", "Resource": arn(":document/", &doc_id) }] } }),
    );
    // sharing is recorded, not faked
    let node = app.node(install.node());
    assert_eq!(
        node.metadata()[SHARE_ACCOUNTS_METADATA],
        Value::list([Value::from("111122223333"), Value::from("444455556666")])
    );
    let warnings: Vec<_> = app
        .diagnostics()
        .into_iter()
        .filter(|d| d.level == Level::Warning && d.message.contains("modify-document-permission"))
        .collect();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("111122223333,444455556666"));
    assert!(install.add_share_accounts(&mut app, &["12"]).is_err());
}

#[test]
fn document_errors_name_the_file_and_the_construct() {
    let dir = files(
        "errors",
        &[
            ("bad.yaml", "schemaVersion: '2.2'\nmainSteps: [\n"),
            (
                "a.yaml",
                "schemaVersion: '2.2'\nmainSteps:\n  - include: b.yaml\n",
            ),
            ("b.yaml", "- include: c.yaml\n"),
            ("c.yaml", "- include: b.yaml\n"),
            (
                "missing.yaml",
                "schemaVersion: '2.2'\nmainSteps:\n  - include: nowhere.yaml\n",
            ),
            (
                "dup.yaml",
                "schemaVersion: '2.2'\nmainSteps:\n  - include: gen.yaml\n  - include: gen.yaml\n",
            ),
            ("gen.yaml", FRAGMENT),
            ("list.yaml", "- 1\n"),
        ],
    );
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let mut err =
        |file: &str| Document::new(&mut app, stack, "Doc", DocumentProps::new(dir.join(file))).unwrap_err();

    let e = err("absent.yaml");
    assert!(matches!(e, Error::InvalidProps { .. }), "{e}");
    assert!(e.to_string().contains("cannot read the SSM document file"), "{e}");
    assert!(
        e.to_string().contains("'S/Doc'") && e.to_string().contains("absent.yaml"),
        "{e}"
    );

    let e = err("bad.yaml");
    assert!(e.to_string().contains("is not a valid YAML document"), "{e}");
    assert!(
        e.to_string().contains("bad.yaml") && e.to_string().contains("YAML"),
        "{e}"
    );

    let e = err("a.yaml");
    assert!(e.to_string().contains("include cycle: "), "{e}");
    assert_eq!(e.to_string().matches(" -> ").count(), 2, "{e}");
    assert!(
        e.to_string().contains("b.yaml -> ") && e.to_string().contains("c.yaml"),
        "{e}"
    );

    let e = err("missing.yaml");
    assert!(e.to_string().contains("nowhere.yaml"), "{e}");

    let e = err("dup.yaml");
    assert!(e.to_string().contains("\"generate\" appears twice"), "{e}");

    let e = err("list.yaml");
    assert!(
        e.to_string().contains("list.yaml: an SSM document is a map"),
        "{e}"
    );
    assert_eq!(e.to_string().matches("S/Doc").count(), 1, "the path once: {e}");
    // nothing was added
    assert!(app.find("S/Doc").is_none());
}

/// The error of `Document::new` for `file` of `dir` (of `document_type`).
fn typed_error(
    dir: &std::path::Path,
    file: &str,
    document_type: Option<cairn_constructs::ssm::document::DocumentType>,
) -> String {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let mut props = DocumentProps::new(dir.join(file));
    if let Some(t) = document_type {
        props.document_type = t;
    }
    let e = Document::new(&mut app, stack, "Doc", props).unwrap_err();
    assert!(matches!(e, Error::InvalidProps { .. }), "{e}");
    assert!(app.find("S/Doc").is_none(), "nothing added");
    let text = e.to_string();
    assert_eq!(text.matches("S/Doc").count(), 1, "the path once: {text}");
    text
}

#[test]
fn command_documents_are_typed_and_their_errors_name_file_step_and_line() {
    let head = "schemaVersion: '2.2'\nparameters:\n  who: { type: String, default: world }\nmainSteps:\n";
    let dir = files(
        "typed",
        &[
            // line 5 of the fragment is the map: an unquoted ': ' inside the line
            (
                "fragments/facts.yaml",
                "action: aws:runShellScript\nname: facts\ninputs:\n  runCommand:\n    - set -e\n    - TOKEN=$(curl -H 'X-ttl: 300')\n",
            ),
            ("unquoted.yaml", &format!("{head}  - include: fragments/facts.yaml\n")),
            (
                "list-fragment.yaml",
                &format!("{head}  - include: fragments/list.yaml\n"),
            ),
            (
                "fragments/list.yaml",
                "- action: aws:runShellScript\n  name: ok\n  inputs: {runCommand: [ls]}\n- action: aws:runShellScript\n  name: bad\n  inputs:\n    runCommand:\n      - echo\n      - 42\n",
            ),
            (
                "unknown-action.yaml",
                &format!("{head}  - action: aws:runShelScript\n    name: typo\n    inputs: {{runCommand: [ls]}}\n"),
            ),
            (
                "missing-input.yaml",
                &format!("{head}  - action: aws:runShellScript\n    name: empty\n    inputs:\n      workingDirectory: /tmp\n"),
            ),
            (
                "undeclared.yaml",
                &format!("{head}  - action: aws:runShellScript\n    name: greet\n    inputs:\n      runCommand: ['echo {{{{ who }}}} {{{{ whom }}}}']\n"),
            ),
            (
                "bad-default.yaml",
                "schemaVersion: '2.2'\nparameters:\n  mode:\n    type: String\n    default: fast\n    allowedValues: [slow, safe]\nmainSteps:\n  - action: aws:runShellScript\n    name: run\n    inputs: {runCommand: [ls]}\n",
            ),
            (
                "unknown-input.yaml",
                &format!("{head}  - action: aws:runShellScript\n    name: run\n    inputs: {{runCommand: [ls], runCommands: [ls]}}\n"),
            ),
            ("old-schema.yaml", "schemaVersion: '1.2'\nruntimeConfig: {}\n"),
            (
                "ssm-reference.yaml",
                &format!("{head}  - action: aws:runShellScript\n    name: run\n    inputs:\n      runCommand: 'echo {{{{ssm:/app/name}}}} {{{{ who }}}}'\n      timeoutSeconds: 60\n"),
            ),
        ],
    );

    let e = typed_error(&dir, "unquoted.yaml", None);
    assert!(e.contains("fragments/facts.yaml:6: step \"facts\""), "{e}");
    assert!(e.contains("runCommand[1] is a map, not a string"), "{e}");

    let e = typed_error(&dir, "list-fragment.yaml", None);
    assert!(e.contains("fragments/list.yaml:9: step \"bad\""), "{e}");
    assert!(e.contains("runCommand[1] is a number"), "{e}");

    let e = typed_error(&dir, "unknown-action.yaml", None);
    assert!(e.contains("unknown-action.yaml:5: step \"typo\""), "{e}");
    assert!(e.contains("unknown variant `aws:runShelScript`"), "{e}");

    let e = typed_error(&dir, "missing-input.yaml", None);
    assert!(e.contains("missing-input.yaml:5: step \"empty\""), "{e}");
    assert!(e.contains("missing required input \"runCommand\""), "{e}");

    let e = typed_error(&dir, "undeclared.yaml", None);
    assert!(e.contains("undeclared.yaml:5: step \"greet\""), "{e}");
    assert!(
        e.contains("{{ whom }}, which is not a declared parameter (declared: who)"),
        "{e}"
    );
    assert!(!e.contains("{{ who }},"), "{e}");

    let e = typed_error(&dir, "bad-default.yaml", None);
    assert!(e.contains("bad-default.yaml:4: parameter \"mode\""), "{e}");
    assert!(e.contains("not one of the allowedValues"), "{e}");

    let e = typed_error(&dir, "unknown-input.yaml", None);
    assert!(e.contains("unknown field `runCommands`"), "{e}");

    let e = typed_error(&dir, "old-schema.yaml", None);
    assert!(e.contains("old-schema.yaml: "), "{e}");
    assert!(e.contains("not a valid Command (schema 2.2) document"), "{e}");

    // {{ssm:...}} is left to SSM; one string is one line; a number of seconds is fine.
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    Document::new(
        &mut app,
        stack,
        "Doc",
        DocumentProps::new(dir.join("ssm-reference.yaml")),
    )
    .unwrap();
}

#[test]
fn automation_documents_are_typed() {
    use cairn_constructs::ssm::document::DocumentType;
    let ok = "schemaVersion: '0.3'\nassumeRole: '{{ AutomationAssumeRole }}'\nparameters:\n  AutomationAssumeRole: { type: String, default: '' }\n  InstanceId: { type: 'AWS::EC2::Instance::Id' }\nmainSteps:\n  - name: stop\n    action: aws:changeInstanceState\n    inputs: { InstanceIds: ['{{ InstanceId }}'], DesiredState: stopped }\n  - name: describe\n    action: aws:executeAwsApi\n    inputs: { Service: ec2, Api: DescribeInstances, InstanceIds: ['{{ InstanceId }}'] }\n    outputs: [{ Name: State, Selector: '$.Reservations[0].Instances[0].State.Name', Type: String }]\n  - name: report\n    action: aws:sleep\n    inputs: { Duration: PT1S }\n    onFailure: step:stop\n    description: '{{ describe.State }}'\n";
    let dir = files(
        "automation",
        &[
            ("ok.yaml", ok),
            (
                "missing.yaml",
                "schemaVersion: '0.3'\nmainSteps:\n  - name: call\n    action: aws:executeAwsApi\n    inputs: { Service: ec2 }\n",
            ),
            (
                "next.yaml",
                "schemaVersion: '0.3'\nmainSteps:\n  - name: wait\n    action: aws:sleep\n    inputs: { Duration: PT1S }\n    nextStep: nowhere\n",
            ),
            ("command.yaml", "schemaVersion: '2.2'\nmainSteps: []\n"),
        ],
    );
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    Document::new(
        &mut app,
        stack,
        "Ok",
        DocumentProps {
            document_type: DocumentType::Automation,
            ..DocumentProps::new(dir.join("ok.yaml"))
        },
    )
    .unwrap();

    let e = typed_error(&dir, "missing.yaml", Some(DocumentType::Automation));
    assert!(
        e.contains("missing.yaml:3: step \"call\": inputs: missing required input Api"),
        "{e}"
    );
    let e = typed_error(&dir, "next.yaml", Some(DocumentType::Automation));
    assert!(e.contains("\"nowhere\" names no step"), "{e}");
    let e = typed_error(&dir, "command.yaml", Some(DocumentType::Automation));
    assert!(e.contains("schema \"0.3\""), "{e}");
}
