//! iam::Policy: the generated name, statements, attachments to created and imported roles,
//! users and groups, grants to a policy, and the synthesis check of unattached or empty
//! policies.

use cairn_constructs::assertions::Template;
use cairn_constructs::iam::{
    Policy, PolicyProps, PolicyStatement, Principal, Role, RoleImportOptions, RoleProps,
};
use cairn_constructs::sqs::{Queue, QueueProps};
use cairn_core::{App, Error};
use serde_json::json;

fn read_config() -> PolicyStatement {
    PolicyStatement::allow()
        .actions(["ssm:GetParameter"])
        .resource("arn:aws:ssm:eu-west-1:123456789012:parameter/app")
}

#[test]
fn the_policy_is_named_as_aws_cdk_lib_names_it_and_attached_once_to_each_identity() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let scope = app.construct(stack, "Service").unwrap();
    let role = Role::new(
        &mut app,
        stack,
        "Worker",
        RoleProps::new(Principal::service("ec2.amazonaws.com")),
    )
    .unwrap();
    let ops = Role::from_role_arn(
        &mut app,
        stack,
        "Ops",
        "arn:aws:iam::123456789012:role/ops",
        RoleImportOptions::default(),
    )
    .unwrap();
    let policy = Policy::new(
        &mut app,
        scope,
        "ReadConfig",
        PolicyProps {
            statements: vec![read_config()],
            users: vec!["alice".into()],
            ..PolicyProps::default()
        },
    )
    .unwrap();
    policy.attach_to_role(&mut app, &role).unwrap();
    policy.attach_to_role(&mut app, &role).unwrap();
    policy.attach_to_role(&mut app, &ops).unwrap();
    policy.attach_to_group(&mut app, "admins").unwrap();
    policy.add_statements(&mut app, [read_config()]).unwrap();
    let queue = Queue::new(&mut app, stack, "Jobs", QueueProps::default()).unwrap();
    queue.grant_purge(&mut app, &policy).unwrap();
    let named = Policy::new(
        &mut app,
        stack,
        "Named",
        PolicyProps {
            policy_name: Some("named-policy".into()),
            statements: vec![read_config()],
            ..PolicyProps::default()
        },
    )
    .unwrap();
    named.attach_to_role(&mut app, &ops).unwrap();
    assert_eq!(named.policy_name(&app), "named-policy".into());
    let t = Template::from_stack(&mut app, stack).unwrap();
    let (id, p) = t
        .find_resources("AWS::IAM::Policy", json!({"Properties": {"Users": ["alice"]}}))
        .remove(0);
    assert!(id.starts_with("ServiceReadConfig"), "{id}");
    assert_eq!(p["Properties"]["PolicyName"], json!(id));
    assert_eq!(
        p["Properties"]["Roles"],
        json!([{"Ref": "Worker11F36D0F"}, "ops"])
    );
    assert_eq!(p["Properties"]["Groups"], json!(["admins"]));
    let statements = &p["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(statements.as_array().map(Vec::len), Some(2), "{statements}");
    assert_eq!(statements[1]["Action"][0], json!("sqs:PurgeQueue"));
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({"PolicyName": "named-policy", "Roles": ["ops"]}),
    );
}

#[test]
fn an_unattached_or_empty_policy_stops_synthesis_with_the_fix() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    Policy::new(
        &mut app,
        stack,
        "Orphan",
        PolicyProps {
            statements: vec![read_config()],
            ..PolicyProps::default()
        },
    )
    .unwrap();
    let role = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("ec2.amazonaws.com")),
    )
    .unwrap();
    let empty = Policy::new(
        &mut app,
        stack,
        "Empty",
        PolicyProps {
            force: true,
            ..PolicyProps::default()
        },
    )
    .unwrap();
    empty.attach_to_role(&mut app, &role).unwrap();
    let err = app.synth().unwrap_err().to_string();
    assert!(
        err.contains("S/Orphan") && err.contains("attached to no role, user or group"),
        "{err}"
    );
    assert!(
        err.contains("S/Empty") && err.contains("has no statement"),
        "{err}"
    );
}

#[test]
fn an_empty_policy_name_is_invalid_props() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let err = Policy::new(
        &mut app,
        stack,
        "P",
        PolicyProps {
            policy_name: Some(" ".into()),
            ..PolicyProps::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidProps { path, problem } if path == "S/P" && problem.contains("policy name is empty")),
        "{err:?}"
    );
}
