//! Custom resources deployed and destroyed (`custom_resources`): a `Provider` with an
//! is-complete function (polled through the waiter state machine until it says complete)
//! serving a `Custom::Widget`, and `AwsCustomResource`s writing and reading SSM parameters.
//! The resources' answers are the stack's outputs; what the functions and calls did is read
//! from SSM; after the destroy (Delete requests handled: the functions and the delete call
//! remove what they made) the parameters are gone. An outer case (an observer stack with
//! one parameter) keeps a client for the checks after the inner case's destroy.

use std::time::Duration;

use cairn::custom_resources::{
    AwsCustomResource, AwsCustomResourcePolicy, AwsCustomResourceProps, AwsSdkCall, CustomResource,
    CustomResourceProps, PhysicalResourceId, Provider, ProviderProps,
};
use cairn::integ::{AwsCall, Expected, IntegCase, IntegRun, Probe};
use cairn::lambda::{Code, Function, FunctionProps, Runtime};
use cairn::ssm::{StringParameter, StringParameterProps};
use cairn::{format_arn, App, Output, Value};
use serde_json::json;

use super::{passed, require_target, unique};

const STACK: &str = "CustomResourcesInteg";
const OBSERVER: &str = "CustomResourcesObserver";

/// The on-event function: writes the parameter `Name` on Create and Update, deletes it (and
/// the poll counter) on Delete; answers with the name as physical id and in Data.
const ON_EVENT: &str = r#"import boto3

def handler(event, context):
    ssm = boto3.client("ssm")
    props = event["ResourceProperties"]
    name = props["Name"]
    if event["RequestType"] == "Delete":
        for n in (name, name + "-polls"):
            try:
                ssm.delete_parameter(Name=n)
            except ssm.exceptions.ParameterNotFound:
                pass
        return {}
    ssm.put_parameter(Name=name, Value=props["Value"], Type="String", Overwrite=True)
    return {"PhysicalResourceId": name, "Data": {"Name": name}}
"#;

/// The is-complete function: counts its calls in `<Name>-polls`; complete at the third (a
/// Delete at once).
const IS_COMPLETE: &str = r#"import boto3

def handler(event, context):
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    ssm = boto3.client("ssm")
    counter = event["ResourceProperties"]["Name"] + "-polls"
    try:
        polls = int(ssm.get_parameter(Name=counter)["Parameter"]["Value"]) + 1
    except ssm.exceptions.ParameterNotFound:
        polls = 1
    ssm.put_parameter(Name=counter, Value=str(polls), Type="String", Overwrite=True)
    if polls >= 3:
        return {"IsComplete": True, "Data": {"Polls": str(polls)}}
    return {"IsComplete": False}
"#;

fn parameter_arn(name: &str) -> Value {
    format_arn("ssm", format!("parameter{name}"))
}

fn build(prefix: &str) -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack(STACK)?;
    let python = |code: &str| FunctionProps {
        timeout: Some(Duration::from_secs(60)),
        ..FunctionProps::new(Runtime::Python3_12, "index.handler", Code::inline(code))
    };
    let on_event = Function::new(&mut app, stack, "OnEvent", python(ON_EVENT))?;
    let is_complete = Function::new(&mut app, stack, "IsComplete", python(IS_COMPLETE))?;
    let widget_name = format!("{prefix}/widget");
    for f in [on_event, is_complete] {
        cairn::iam::grant(
            &mut app,
            &f,
            ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter"],
            [
                parameter_arn(&widget_name),
                parameter_arn(&format!("{widget_name}-polls")),
            ],
        )?;
    }
    let provider = Provider::new(
        &mut app,
        stack,
        "Provider",
        ProviderProps {
            is_complete_handler: Some(is_complete),
            query_interval: Duration::from_secs(1),
            total_timeout: Duration::from_secs(60),
            ..ProviderProps::new(on_event)
        },
    )?;
    let widget = CustomResource::new(
        &mut app,
        stack,
        "Widget",
        CustomResourceProps {
            resource_type: Some("Custom::Widget".into()),
            properties: [
                ("Name".to_string(), Value::from(widget_name.as_str())),
                ("Value".to_string(), Value::from("made-by-on-event")),
            ]
            .into_iter()
            .collect(),
            ..CustomResourceProps::new(provider.service_token())
        },
    )?;
    app.output(stack, "WidgetName", Output::new(widget.get_att("Name")))?;
    app.output(stack, "WidgetPolls", Output::new(widget.get_att("Polls")))?;
    app.output(stack, "WidgetId", Output::new(widget.ref_()))?;

    let sdk_name = format!("{prefix}/sdk");
    let named = |pairs: Vec<(&str, Value)>| Some(Value::map(pairs));
    let put = AwsCustomResource::new(
        &mut app,
        stack,
        "PutParameter",
        AwsCustomResourceProps {
            on_create: Some(AwsSdkCall {
                parameters: named(vec![
                    ("Name", Value::from(sdk_name.as_str())),
                    ("Value", Value::from("made-by-sdk-call")),
                    ("Type", Value::from("String")),
                ]),
                physical_resource_id: Some(PhysicalResourceId::of(sdk_name.as_str())),
                ..AwsSdkCall::new("SSM", "putParameter")
            }),
            on_delete: Some(AwsSdkCall {
                parameters: named(vec![(
                    "Name",
                    Value::from(cairn::custom_resources::PHYSICAL_RESOURCE_ID),
                )]),
                ..AwsSdkCall::new("SSM", "deleteParameter")
            }),
            ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls([parameter_arn(
                &sdk_name,
            )]))
        },
    )?;
    // Read back what the provider wrote: after the widget (it names it), before nothing.
    let get = AwsCustomResource::new(
        &mut app,
        stack,
        "GetWidget",
        AwsCustomResourceProps {
            on_update: Some(AwsSdkCall {
                parameters: named(vec![("Name", widget.get_att("Name"))]),
                physical_resource_id: Some(PhysicalResourceId::from_response("Parameter.Name")),
                ..AwsSdkCall::new("@aws-sdk/client-ssm", "GetParameterCommand")
            }),
            ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls([parameter_arn(
                &widget_name,
            )]))
        },
    )?;
    app.output(
        stack,
        "WidgetValue",
        Output::new(get.get_response_field("Parameter.Value")),
    )?;
    app.output(stack, "SdkParameter", Output::new(put.ref_()))?;
    Ok(app)
}

fn observer(prefix: &str) -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack(OBSERVER)?;
    StringParameter::new(
        &mut app,
        stack,
        "Marker",
        StringParameterProps {
            parameter_name: Some(Value::from(format!("{prefix}/observer"))),
            ..StringParameterProps::new("observing")
        },
    )?;
    Ok(app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn custom_resources() {
    require_target();
    let prefix = format!("/integ-cr-{}", unique());
    let assembly = build(&prefix).and_then(|mut app| app.synth()).unwrap();
    let watcher = observer(&prefix).and_then(|mut app| app.synth()).unwrap();
    let case = IntegCase::from_assembly("custom-resources", &assembly)
        .unwrap()
        .stacks([STACK]);
    let outer = IntegCase::from_assembly("custom-resources-observer", &watcher)
        .unwrap()
        .stacks([OBSERVER]);
    let widget = format!("{prefix}/widget");
    let sdk = format!("{prefix}/sdk");
    passed(
        outer
            .run(async |observer: &mut IntegRun| {
                let inner = case
                    .run(async |run: &mut IntegRun| {
                        let outputs = json!({
                            "WidgetName": run.output(STACK, "WidgetName")?,
                            "WidgetId": run.output(STACK, "WidgetId")?,
                            "WidgetPolls": run.output(STACK, "WidgetPolls")?,
                            "WidgetValue": run.output(STACK, "WidgetValue")?,
                            "SdkParameter": run.output(STACK, "SdkParameter")?,
                        });
                        run.check(
                            "the provider answered after the third is-complete call; the AWS calls answered",
                            outputs
                                == json!({
                                    "WidgetName": widget, "WidgetId": widget, "WidgetPolls": "3",
                                    "WidgetValue": "made-by-on-event", "SdkParameter": sdk,
                                }),
                            format!("outputs: {outputs}"),
                        );
                        run.expect(
                            "the on-event function wrote the widget's parameter",
                            Probe::parameter(&widget),
                            Expected::like(json!({"Value": "made-by-on-event"})),
                        )
                        .await?;
                        run.expect(
                            "the create call wrote its parameter",
                            Probe::parameter(&sdk),
                            Expected::like(json!({"Value": "made-by-sdk-call"})),
                        )
                        .await?;
                        Ok(())
                    })
                    .await;
                let inner_passed = matches!(&inner, Ok(report) if report.passed());
                observer.check(
                    "the custom resources' stack deployed, answered and was destroyed",
                    inner_passed,
                    match &inner {
                        Ok(report) => report.summary(),
                        Err(e) => e.to_string(),
                    },
                );
                for (what, name) in [
                    (
                        "the Delete request removed the widget's parameter",
                        widget.clone(),
                    ),
                    (
                        "the Delete request removed the poll counter",
                        format!("{widget}-polls"),
                    ),
                    ("the delete call removed its parameter", sdk.clone()),
                ] {
                    let read = observer.read(&Probe::parameter(&name)).await;
                    let detail = match &read {
                        Ok(p) => format!("{name} still exists: {p}"),
                        Err(e) => format!("GetParameter {name}: {e}"),
                    };
                    observer.check(what, read.is_err(), detail);
                }
                Ok(())
            })
            .await,
    );
}

/// stack-manager's documents shared with another account
/// (`StackManagerProps::share_documents_with`): each document's permission lists it
/// (`DescribeDocumentPermission`); the destroy unshares before the documents go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn stack_manager_shares_documents() {
    use examples::stack_manager::{build_with, StackManagerProps, COMMANDS_STACK, COMMAND_TASKS};
    require_target();
    const ACCOUNT: &str = "111122223333";
    let assembly = build_with(StackManagerProps {
        share_documents_with: vec![ACCOUNT.into()],
        ..StackManagerProps::default()
    })
    .and_then(|mut app| app.synth())
    .unwrap();
    let case = IntegCase::from_assembly("stack-manager-sharing", &assembly)
        .unwrap()
        .stacks([COMMANDS_STACK]);
    passed(
        case.run(async |run: &mut IntegRun| {
            let ids = COMMAND_TASKS
                .iter()
                .map(|(_, id, _)| *id)
                .chain([examples::stack_manager::OFFLINE_COMPACTION_DOCUMENT.0]);
            for id in ids {
                let name = run.output(COMMANDS_STACK, &format!("{id}Name"))?;
                let permission = run
                    .read(&Probe::call(AwsCall::json(
                        "ssm",
                        "AmazonSSM",
                        "DescribeDocumentPermission",
                        json!({"Name": name, "PermissionType": "Share"}),
                    )))
                    .await;
                let accounts = match &permission {
                    Ok(p) => p["AccountIds"].clone(),
                    Err(e) => json!(format!("error: {e}")),
                };
                run.check(
                    &format!("{id} is shared with {ACCOUNT}"),
                    accounts == json!([ACCOUNT]),
                    format!("DescribeDocumentPermission {name}: {accounts}"),
                );
            }
            Ok(())
        })
        .await,
    );
}
