//! custom_resources: a provider with and without an is-complete function, custom resources
//! served by it, AWS API calls (one handler per stack, least-privilege policies), the
//! props checks, and the Python runtime's own tests.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cairn_constructs::custom_resources::{
    AwsCustomResource, AwsCustomResourcePolicy, AwsCustomResourceProps, AwsSdkCall, CustomResource,
    CustomResourceProps, PhysicalResourceId, Provider, ProviderProps, PHYSICAL_RESOURCE_ID,
};
use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
use cairn_core::{App, Error, Stack, Value};
use common::{checked_app, of_type, synth_clean};
use serde_json::json;

fn user_function(app: &mut App, stack: Stack, id: &str) -> Function {
    Function::new(
        app,
        stack,
        id,
        FunctionProps::new(
            Runtime::Python3_13,
            "index.handler",
            Code::inline("def handler(event, context):\n    return {}\n"),
        ),
    )
    .unwrap()
}

fn share(account: &str) -> AwsSdkCall {
    AwsSdkCall {
        parameters: Some(Value::map([
            ("Name", Value::from("doc")),
            ("PermissionType", Value::from("Share")),
            ("AccountIdsToAdd", Value::list([Value::from(account)])),
        ])),
        physical_resource_id: Some(PhysicalResourceId::of("doc-shared")),
        ..AwsSdkCall::new("SSM", "modifyDocumentPermission")
    }
}

fn doc_arn() -> Value {
    Value::sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/doc")
}

#[test]
fn a_provider_with_is_complete_polls_through_its_waiter_and_passes_the_checks() {
    let (mut app, stack, findings) = checked_app();
    drop(findings);
    let on_event = user_function(&mut app, stack, "OnEvent");
    let is_complete = user_function(&mut app, stack, "IsComplete");
    let provider = Provider::new(
        &mut app,
        stack,
        "Provider",
        ProviderProps {
            is_complete_handler: Some(is_complete),
            query_interval: Duration::from_secs(10),
            total_timeout: Duration::from_secs(600),
            ..ProviderProps::new(on_event)
        },
    )
    .unwrap();
    let widget = CustomResource::new(
        &mut app,
        stack,
        "Widget",
        CustomResourceProps {
            resource_type: Some("Custom::Widget".into()),
            ..CustomResourceProps::new(provider.service_token())
        },
    )
    .unwrap();
    app.output(stack, "Name", cairn_core::Output::new(widget.get_att("Name")))
        .unwrap();
    let t = synth_clean(app, "S", &[], "custom_resources_provider");
    let machines = of_type(&t, "AWS::StepFunctions::StateMachine");
    assert_eq!(machines.len(), 1);
    let (id, machine) = machines[0];
    assert_eq!(id, "Providerwaiterstatemachine5D4A9DF0");
    let head = machine["Properties"]["DefinitionString"]["Fn::Join"][1][0]
        .as_str()
        .unwrap();
    assert!(
        head.contains(r#""IntervalSeconds":10,"MaxAttempts":60,"BackoffRate":1"#),
        "{head}"
    );
    let entry = &t["Resources"]["ProviderframeworkonEvent83C1D0A7"]["Properties"];
    assert_eq!(entry["Handler"], "index.on_event");
    assert_eq!(entry["Timeout"], 900);
    let env = &entry["Environment"]["Variables"];
    assert_eq!(env["WAITER_STATE_MACHINE_ARN"], json!({"Ref": id}));
    assert_eq!(
        env["USER_IS_COMPLETE_FUNCTION_ARN"]["Fn::GetAtt"][0],
        "IsComplete544AE5AD"
    );
    let policy = &t["Resources"]["ProviderframeworkonEventServiceRoleDefaultPolicy48CD2133"]["Properties"]
        ["PolicyDocument"]["Statement"];
    let text = policy.to_string();
    for action in [
        "lambda:InvokeFunction",
        "lambda:GetFunction",
        "states:StartExecution",
    ] {
        assert!(text.contains(action), "{action} missing from {text}");
    }
    assert_eq!(t["Resources"]["Widget"]["DeletionPolicy"], "Delete");
    // The resource waits for the log group of the function it invokes, and that function
    // for the log groups of the functions it invokes.
    assert_eq!(
        t["Resources"]["Widget"]["DependsOn"],
        json!(["ProviderframeworkonEventLogGroup683073A3"])
    );
    let entry_depends = t["Resources"]["ProviderframeworkonEvent83C1D0A7"]["DependsOn"].to_string();
    for group in [
        "OnEventLogGroup",
        "IsCompleteLogGroup",
        "ProviderframeworkisCompleteLogGroup",
        "ProviderframeworkonTimeoutLogGroup",
    ] {
        assert!(entry_depends.contains(group), "{group} missing: {entry_depends}");
    }
    assert_eq!(
        t["Outputs"]["Name"]["Value"],
        json!({"Fn::GetAtt": ["Widget", "Name"]})
    );
}

#[test]
fn a_provider_without_is_complete_has_no_waiter() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let on_event = user_function(&mut app, stack, "OnEvent");
    let provider = Provider::new(&mut app, stack, "P", ProviderProps::new(on_event)).unwrap();
    CustomResource::new(
        &mut app,
        stack,
        "R",
        CustomResourceProps::new(provider.service_token()),
    )
    .unwrap();
    let asm = app.synth().unwrap();
    let t = asm.stack("S").unwrap().template.json().clone();
    assert!(of_type(&t, "AWS::StepFunctions::StateMachine").is_empty());
    assert_eq!(t["Resources"]["R"]["Type"], "AWS::CloudFormation::CustomResource");
    let env = &t["Resources"]["PframeworkonEvent0A1B2F8F"]["Properties"]["Environment"]["Variables"];
    assert!(env.get("USER_IS_COMPLETE_FUNCTION_ARN").is_none(), "{env}");
}

#[test]
fn aws_calls_share_one_handler_and_each_gets_a_policy_of_its_calls() {
    let (mut app, stack, findings) = checked_app();
    drop(findings);
    for (id, account) in [("ShareA", "111111111111"), ("ShareB", "222222222222")] {
        AwsCustomResource::new(
            &mut app,
            stack,
            id,
            AwsCustomResourceProps {
                on_create: Some(share(account)),
                on_delete: Some(AwsSdkCall {
                    parameters: Some(Value::map([
                        ("Name", Value::from(PHYSICAL_RESOURCE_ID)),
                        ("PermissionType", Value::from("Share")),
                        ("AccountIdsToRemove", Value::list([Value::from(account)])),
                    ])),
                    ..AwsSdkCall::new("SSM", "modifyDocumentPermission")
                }),
                ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls([doc_arn()]))
            },
        )
        .unwrap();
    }
    let t = synth_clean(app, "S", &[], "custom_resources_aws");
    let handlers: Vec<_> = of_type(&t, "AWS::Lambda::Function");
    assert_eq!(handlers.len(), 1, "one handler per stack");
    assert_eq!(handlers[0].0, "AWS679f53fac002430cb0da5b7982bd22872D164C4C");
    let resources = of_type(&t, "Custom::AWS");
    assert_eq!(resources.len(), 2);
    for (id, r) in resources {
        let create = r["Properties"]["Create"].as_str().unwrap();
        assert!(
            create.starts_with(
                r#"{"service":"SSM","action":"modifyDocumentPermission","parameters":{"Name":"doc""#
            ),
            "{create}"
        );
        let delete = r["Properties"]["Delete"].as_str().unwrap();
        assert!(delete.contains(r#""Name":"PHYSICAL:RESOURCEID:""#), "{delete}");
        // It waits for its policy, and for the handler's log group (Lambda would create
        // the group at the first invocation, and the log group resource would then fail).
        let depends: Vec<&str> = r["DependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d.as_str())
            .collect();
        assert_eq!(depends.len(), 2, "{id}: {depends:?}");
        assert!(
            depends
                .iter()
                .any(|d| d.starts_with(&format!("{}CustomResourcePolicy", &id[..6]))),
            "{id}: {depends:?}"
        );
        assert!(
            depends.contains(&"AWS679f53fac002430cb0da5b7982bd2287LogGroup449FB7C2"),
            "{id}: {depends:?}"
        );
    }
    let (_, policy) = of_type(&t, "AWS::IAM::Policy")
        .into_iter()
        .find(|(id, _)| id.starts_with("ShareACustomResourcePolicy"))
        .unwrap();
    let policy = &policy["Properties"];
    assert_eq!(
        policy["Roles"],
        json!([{"Ref": "AWS679f53fac002430cb0da5b7982bd2287ServiceRoleC1EA0FF2"}])
    );
    let statements = policy["PolicyDocument"]["Statement"].as_array().unwrap();
    assert!(
        statements
            .iter()
            .all(|s| s["Action"] == "ssm:ModifyDocumentPermission"),
        "{statements:?}"
    );
    assert!(statements.iter().all(|s| s["Resource"]["Fn::Sub"]
        .as_str()
        .unwrap()
        .ends_with("document/doc")));
}

#[test]
fn references_in_a_call_are_joined_into_its_json_and_an_assumed_role_is_what_the_policy_grants() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let role = Value::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/reader");
    AwsCustomResource::new(
        &mut app,
        stack,
        "Read",
        AwsCustomResourceProps {
            on_update: Some(AwsSdkCall {
                parameters: Some(Value::map([(
                    "Name",
                    Value::pseudo(cairn_core::Pseudo::StackName),
                )])),
                physical_resource_id: Some(PhysicalResourceId::from_response("Parameter.ARN")),
                assumed_role_arn: Some(role.clone()),
                ..AwsSdkCall::new("SSM", "getParameter")
            }),
            ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls(
                AwsCustomResourcePolicy::any_resource(),
            ))
        },
    )
    .unwrap();
    let asm = app.synth().unwrap();
    let t = asm.stack("S").unwrap().template.json().clone();
    let (_, r) = of_type(&t, "Custom::AWS")[0];
    let parts = &r["Properties"]["Create"]["Fn::Join"][1];
    assert_eq!(parts[1], json!({"Ref": "AWS::StackName"}));
    assert_eq!(
        r["Properties"]["Create"], r["Properties"]["Update"],
        "the update call stands in for create"
    );
    let (_, p) = of_type(&t, "AWS::IAM::Policy")
        .into_iter()
        .find(|(id, _)| id.starts_with("ReadCustomResourcePolicy"))
        .unwrap();
    assert_eq!(
        p["Properties"]["PolicyDocument"]["Statement"][0]["Action"],
        "sts:AssumeRole"
    );
}

#[test]
fn wrong_props_fail_naming_the_construct() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let on_event = user_function(&mut app, stack, "OnEvent");
    let message = |e: Error| e.to_string();
    let e = CustomResource::new(
        &mut app,
        stack,
        "Bad",
        CustomResourceProps {
            resource_type: Some("AWS::S3::Bucket".into()),
            ..CustomResourceProps::new("arn")
        },
    )
    .unwrap_err();
    assert!(message(e).contains("S/Bad"), "names the path");
    let e = Provider::new(
        &mut app,
        stack,
        "P",
        ProviderProps {
            query_interval: Duration::from_secs(7),
            total_timeout: Duration::from_secs(60),
            ..ProviderProps::new(on_event)
        },
    )
    .unwrap_err();
    assert!(message(e).contains("not a whole multiple"));
    let e = Provider::new(
        &mut app,
        stack,
        "P2",
        ProviderProps {
            total_timeout: Duration::from_secs(7200),
            ..ProviderProps::new(on_event)
        },
    )
    .unwrap_err();
    assert!(message(e).contains("1 hour"));
    let policy = || AwsCustomResourcePolicy::from_sdk_calls(AwsCustomResourcePolicy::any_resource());
    let e =
        AwsCustomResource::new(&mut app, stack, "None", AwsCustomResourceProps::new(policy())).unwrap_err();
    assert!(message(e).contains("at least one of on_create"));
    let e = AwsCustomResource::new(
        &mut app,
        stack,
        "NoId",
        AwsCustomResourceProps {
            on_create: Some(AwsSdkCall::new("SSM", "getParameter")),
            ..AwsCustomResourceProps::new(policy())
        },
    )
    .unwrap_err();
    assert!(message(e).contains("on_create needs a physical_resource_id"));
    let mut placeholder = share("111111111111");
    placeholder.parameters = Some(Value::map([("Name", Value::from(PHYSICAL_RESOURCE_ID))]));
    let e = AwsCustomResource::new(
        &mut app,
        stack,
        "Early",
        AwsCustomResourceProps {
            on_create: Some(placeholder),
            ..AwsCustomResourceProps::new(policy())
        },
    )
    .unwrap_err();
    assert!(message(e).contains("PHYSICAL:RESOURCEID:"));
}

fn python() -> String {
    std::env::var("CAIRN_PYTHON")
        .ok()
        .filter(|p| Path::new(p).exists())
        .unwrap_or_else(|| "python3".to_string())
}

/// The runtime's own tests (Python's unittest; boto3 and the response URL replaced by stubs).
#[test]
fn the_python_runtime_passes_its_own_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/custom_resources");
    let out = Command::new(python())
        .args(["-m", "unittest", "test_runtime", "-v"])
        .current_dir(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs (the custom resource runtime's tests need it)");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran 17 tests"), "{log}");
}

/// The CDK's `role` and `logRetention` of a provider: the framework functions run with the
/// given role (an existing one: no role is made for them, their permissions on the user's
/// functions go to its inline policy) and, without a retention, get no log group.
#[test]
fn a_provider_runs_its_framework_with_a_given_role_and_log_retention() {
    use cairn_constructs::iam::{Role, RoleImportOptions};
    use cairn_constructs::logs::RetentionDays;
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let on_event = user_function(&mut app, stack, "OnEvent");
    let is_complete = user_function(&mut app, stack, "IsComplete");
    let arn = "arn:aws:iam::123456789012:role/provider-framework";
    let role = Role::from_role_arn(
        &mut app,
        stack,
        "FrameworkRole",
        arn,
        RoleImportOptions::default(),
    )
    .unwrap();
    Provider::new(
        &mut app,
        stack,
        "Provider",
        ProviderProps {
            is_complete_handler: Some(is_complete),
            role: Some(role.into()),
            log_retention: None,
            ..ProviderProps::new(on_event)
        },
    )
    .unwrap();
    let other = user_function(&mut app, stack, "Other");
    Provider::new(
        &mut app,
        stack,
        "Kept",
        ProviderProps {
            log_retention: Some(RetentionDays::OneMonth),
            ..ProviderProps::new(other)
        },
    )
    .unwrap();
    let asm = app.synth().unwrap();
    let t = asm.stack("S").unwrap().template.json().clone();
    let functions = of_type(&t, "AWS::Lambda::Function");
    let framework: Vec<_> = functions
        .iter()
        .filter(|(id, _)| id.starts_with("Providerframework"))
        .collect();
    assert_eq!(framework.len(), 3);
    for (_, f) in &framework {
        assert_eq!(f["Properties"]["Role"], arn);
    }
    // Roles: the three user functions' and the waiter's, none for the framework.
    let roles: Vec<_> = of_type(&t, "AWS::IAM::Role")
        .into_iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert!(
        roles.iter().all(|id| !id.starts_with("Providerframework")),
        "{roles:?}"
    );
    let (_, policy) = of_type(&t, "AWS::IAM::Policy")
        .into_iter()
        .find(|(id, _)| id.starts_with("FrameworkRolePolicy"))
        .expect("the existing role's inline policy");
    assert_eq!(policy["Properties"]["Roles"], json!(["provider-framework"]));
    let statements = policy["Properties"]["PolicyDocument"]["Statement"].to_string();
    assert!(
        statements.contains("lambda:InvokeFunction") && statements.contains("states:StartExecution"),
        "{statements}"
    );
    // No log group for the first provider's framework, a month for the second's.
    let groups = of_type(&t, "AWS::Logs::LogGroup");
    assert!(groups.iter().all(|(id, _)| !id.starts_with("Providerframework")));
    let kept = groups
        .iter()
        .find(|(id, _)| id.starts_with("KeptframeworkonEvent"))
        .expect("the kept provider's log group");
    assert_eq!(kept.1["Properties"]["RetentionInDays"], 30);
}
