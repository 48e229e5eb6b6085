// Twin pair "custom_resources" (aws-cdk-lib side): a custom resource served by a provider
// with an is-complete function (waiter state machine), one served by a provider without,
// and two AWS API calls (an SSM parameter written on create/update and deleted on delete;
// one read back, its value an output). The cairn side is custom_resources.rs.
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const cr = require('aws-cdk-lib/custom-resources');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'CustomResources');

const onEvent = new lambda.Function(stack, 'OnEvent', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'index.on_event',
  code: lambda.Code.fromInline('def on_event(event, context):\n    return {}\n'),
});
const isComplete = new lambda.Function(stack, 'IsComplete', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'index.is_complete',
  code: lambda.Code.fromInline('def is_complete(event, context):\n    return {"IsComplete": True}\n'),
});
const provider = new cr.Provider(stack, 'Provider', {
  onEventHandler: onEvent,
  isCompleteHandler: isComplete,
  queryInterval: cdk.Duration.seconds(2),
  totalTimeout: cdk.Duration.minutes(5),
});
const widget = new cdk.CustomResource(stack, 'Widget', {
  serviceToken: provider.serviceToken,
  resourceType: 'Custom::Widget',
  properties: { Size: 3 },
});
new cdk.CfnOutput(stack, 'WidgetName', { value: widget.getAttString('Name') });

const sync = new cr.Provider(stack, 'SyncProvider', { onEventHandler: onEvent });
new cdk.CustomResource(stack, 'Plain', { serviceToken: sync.serviceToken });

new cr.AwsCustomResource(stack, 'PutParameter', {
  onCreate: {
    service: 'SSM',
    action: 'putParameter',
    parameters: { Name: '/demo/p', Value: 'v', Type: 'String' },
    physicalResourceId: cr.PhysicalResourceId.of('/demo/p'),
  },
  onUpdate: {
    service: 'SSM',
    action: 'putParameter',
    parameters: { Name: '/demo/p', Value: 'v2', Type: 'String', Overwrite: true },
    physicalResourceId: cr.PhysicalResourceId.of('/demo/p'),
  },
  onDelete: { service: 'SSM', action: 'deleteParameter', parameters: { Name: '/demo/p' } },
  policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
});
const get = new cr.AwsCustomResource(stack, 'GetParameter', {
  onUpdate: {
    service: 'SSM',
    action: 'getParameter',
    parameters: { Name: '/demo/p' },
    physicalResourceId: cr.PhysicalResourceId.fromResponse('Parameter.ARN'),
  },
  policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: ['arn:aws:ssm:*:*:parameter/demo/p'] }),
});
new cdk.CfnOutput(stack, 'Val', { value: get.getResponseField('Parameter.Value') });

app.synth();
