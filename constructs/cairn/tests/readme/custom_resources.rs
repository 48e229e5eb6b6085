use std::time::Duration;

use cairn::custom_resources::{
    AwsCustomResource, AwsCustomResourcePolicy, AwsCustomResourceProps, AwsSdkCall, CustomResource,
    CustomResourceProps, PhysicalResourceId, Provider, ProviderProps, PHYSICAL_RESOURCE_ID,
};
use cairn::lambda::{Code, Function, FunctionProps, Runtime};
use cairn::{App, Output, Value};

pub fn main() -> cairn::Result<()> {
    let mut app = App::new();
    let stack = app.stack("Widgets")?;

    // Your functions return values (or raise); the provider speaks CloudFormation.
    let python = |id: &str, code: &str| {
        FunctionProps::new(Runtime::Python3_13, &format!("index.{id}"), Code::inline(code))
    };
    let on_event = Function::new(&mut app, stack, "OnEvent", python("on_event",
        "def on_event(event, context):\n    return {'PhysicalResourceId': 'widget-1', 'Data': {'Name': 'w1'}}\n"))?;
    let is_complete = Function::new(
        &mut app,
        stack,
        "IsComplete",
        python(
            "is_complete",
            "def is_complete(event, context):\n    return {'IsComplete': True}\n",
        ),
    )?;
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
    )?;
    let widget = CustomResource::new(
        &mut app,
        stack,
        "Widget",
        CustomResourceProps {
            resource_type: Some("Custom::Widget".into()),
            properties: [("Size".to_string(), Value::from(3))].into_iter().collect(),
            ..CustomResourceProps::new(provider.service_token())
        },
    )?;
    app.output(stack, "WidgetName", Output::new(widget.get_att("Name")))?;

    // One AWS API call per event: share a document on create, unshare it on delete.
    let document = Value::sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/runbook");
    let permission = |key: &str, name: Value| AwsSdkCall {
        parameters: Some(Value::map([
            ("Name", name),
            ("PermissionType", Value::from("Share")),
            (key, Value::list([Value::from("111111111111")])),
        ])),
        ..AwsSdkCall::new("SSM", "modifyDocumentPermission")
    };
    AwsCustomResource::new(
        &mut app,
        stack,
        "ShareRunbook",
        AwsCustomResourceProps {
            on_create: Some(AwsSdkCall {
                physical_resource_id: Some(PhysicalResourceId::of("runbook")),
                ..permission("AccountIdsToAdd", Value::from("runbook"))
            }),
            on_delete: Some(permission(
                "AccountIdsToRemove",
                Value::from(PHYSICAL_RESOURCE_ID),
            )),
            ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls([document]))
        },
    )?;

    let asm = app.synth()?;
    let widgets = asm.stack("Widgets").unwrap();
    assert_eq!(widgets.template["Resources"]["Widget"]["Type"], "Custom::Widget");
    assert_eq!(widgets.resources_of_type("Custom::AWS").len(), 1);
    Ok(())
}
