//! Twin pair `custom_resources` (cairn side of `custom_resources.js`): a custom resource
//! served by a provider with an is-complete function (waiter state machine), one served by
//! a provider without, and two AWS API calls (an SSM parameter written and deleted; one
//! read back, its value an output).

use std::time::Duration;

use cairn::custom_resources::{
    AwsCustomResource, AwsCustomResourcePolicy, AwsCustomResourceProps, AwsSdkCall, CustomResource,
    CustomResourceProps, PhysicalResourceId, Provider, ProviderProps,
};
use cairn::lambda::{Code, Function, FunctionProps, Runtime};
use cairn::{App, Output, Value};

fn function(
    app: &mut App,
    stack: cairn::Stack,
    id: &str,
    handler: &str,
    code: &str,
) -> cairn::Result<Function> {
    Function::new(
        app,
        stack,
        id,
        FunctionProps::new(Runtime::Python3_12, handler, Code::inline(code)),
    )
}

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("CustomResources")?;

    let on_event = function(
        &mut app,
        stack,
        "OnEvent",
        "index.on_event",
        "def on_event(event, context):\n    return {}\n",
    )?;
    let is_complete = function(
        &mut app,
        stack,
        "IsComplete",
        "index.is_complete",
        "def is_complete(event, context):\n    return {\"IsComplete\": True}\n",
    )?;
    let provider = Provider::new(
        &mut app,
        stack,
        "Provider",
        ProviderProps {
            is_complete_handler: Some(is_complete),
            query_interval: Duration::from_secs(2),
            total_timeout: Duration::from_secs(300),
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

    let sync = Provider::new(&mut app, stack, "SyncProvider", ProviderProps::new(on_event))?;
    CustomResource::new(
        &mut app,
        stack,
        "Plain",
        CustomResourceProps::new(sync.service_token()),
    )?;

    let put = |value: &str, overwrite: bool| {
        let mut parameters = vec![
            ("Name", Value::from("/demo/p")),
            ("Value", Value::from(value)),
            ("Type", Value::from("String")),
        ];
        if overwrite {
            parameters.push(("Overwrite", Value::Bool(true)));
        }
        AwsSdkCall {
            parameters: Some(Value::map(parameters)),
            physical_resource_id: Some(PhysicalResourceId::of("/demo/p")),
            ..AwsSdkCall::new("SSM", "putParameter")
        }
    };
    AwsCustomResource::new(
        &mut app,
        stack,
        "PutParameter",
        AwsCustomResourceProps {
            on_create: Some(put("v", false)),
            on_update: Some(put("v2", true)),
            on_delete: Some(AwsSdkCall {
                parameters: Some(Value::map([("Name", Value::from("/demo/p"))])),
                ..AwsSdkCall::new("SSM", "deleteParameter")
            }),
            ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls(
                AwsCustomResourcePolicy::any_resource(),
            ))
        },
    )?;
    let get = AwsCustomResource::new(
        &mut app,
        stack,
        "GetParameter",
        AwsCustomResourceProps {
            on_update: Some(AwsSdkCall {
                parameters: Some(Value::map([("Name", Value::from("/demo/p"))])),
                physical_resource_id: Some(PhysicalResourceId::from_response("Parameter.ARN")),
                ..AwsSdkCall::new("SSM", "getParameter")
            }),
            ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls([
                "arn:aws:ssm:*:*:parameter/demo/p",
            ]))
        },
    )?;
    app.output(
        stack,
        "Val",
        Output::new(get.get_response_field("Parameter.Value")),
    )?;
    Ok(app)
}
