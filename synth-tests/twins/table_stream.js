// Twin pair "table_stream" (aws-cdk-lib side): a DynamoDB table with a stream read by a
// function. The cairn side is table_stream.rs.
const cdk = require('aws-cdk-lib');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const lambda = require('aws-cdk-lib/aws-lambda');
const sources = require('aws-cdk-lib/aws-lambda-event-sources');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'TableStream');

const orders = new dynamodb.Table(stack, 'Orders', {
  partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
  sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
});

const projector = new lambda.Function(stack, 'Projector', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'index.handler',
  code: lambda.Code.fromInline('def handler(event, context):\n    return len(event["Records"])\n'),
  environment: { TABLE_NAME: orders.tableName },
});
projector.addEventSource(new sources.DynamoEventSource(orders, {
  startingPosition: lambda.StartingPosition.TRIM_HORIZON,
  batchSize: 100,
}));
orders.grantReadWriteData(projector);

app.synth();
