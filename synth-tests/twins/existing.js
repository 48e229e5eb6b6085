// Twin pair "existing" (aws-cdk-lib side): resources the app did not create (a bucket, a
// topic, a queue, a role, a key, a table, a VPC with a security group, a function),
// referenced, granted to and read (an SQS event source) from a few it creates. The cairn side is existing.rs.
const cdk = require('aws-cdk-lib');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const ec2 = require('aws-cdk-lib/aws-ec2');
const events = require('aws-cdk-lib/aws-events');
const targets = require('aws-cdk-lib/aws-events-targets');
const iam = require('aws-cdk-lib/aws-iam');
const kms = require('aws-cdk-lib/aws-kms');
const lambda = require('aws-cdk-lib/aws-lambda');
const sources = require('aws-cdk-lib/aws-lambda-event-sources');
const s3 = require('aws-cdk-lib/aws-s3');
const sns = require('aws-cdk-lib/aws-sns');
const subs = require('aws-cdk-lib/aws-sns-subscriptions');
const sqs = require('aws-cdk-lib/aws-sqs');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'Existing');

const archive = s3.Bucket.fromBucketName(stack, 'Archive', 'corp-archive');
const alerts = sns.Topic.fromTopicArn(stack, 'Alerts', 'arn:aws:sns:eu-west-1:123456789012:alerts');
const jobs = sqs.Queue.fromQueueArn(stack, 'Jobs', 'arn:aws:sqs:eu-west-1:123456789012:jobs');
const ops = iam.Role.fromRoleArn(stack, 'Ops', 'arn:aws:iam::123456789012:role/ops');
const key = kms.Key.fromKeyArn(stack, 'SharedKey',
  'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
const orders = dynamodb.Table.fromTableName(stack, 'Orders', 'orders');
const network = ec2.Vpc.fromVpcAttributes(stack, 'Network', {
  vpcId: 'vpc-0abc',
  availabilityZones: ['eu-west-1a', 'eu-west-1b'],
  privateSubnetIds: ['subnet-0a', 'subnet-0b'],
  privateSubnetRouteTableIds: ['rtb-0a', 'rtb-0b'],
});
const database = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Database', 'sg-0database');
const resize = lambda.Function.fromFunctionName(stack, 'Resize', 'resize');

const handler = new lambda.Function(stack, 'Handler', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'index.handler',
  code: lambda.Code.fromInline('def handler(event, context):\n    return event\n'),
  environment: { TABLE: orders.tableName },
});
archive.grantRead(handler);
alerts.grantPublish(handler);
jobs.grantSendMessages(handler);
key.grantDecrypt(handler);
orders.grantReadWriteData(handler);
resize.grantInvoke(handler);
handler.addEventSource(new sources.SqsEventSource(jobs));

const results = new sqs.Queue(stack, 'Results');
results.grantSendMessages(ops);
archive.grantPut(ops);
alerts.addSubscription(new subs.SqsSubscription(results));

const app_sg = new ec2.SecurityGroup(stack, 'AppSg', { vpc: network });
database.connections.allowFrom(app_sg, ec2.Port.tcp(5432));
database.addIngressRule(ec2.Peer.ipv4('10.8.0.0/16'), ec2.Port.tcp(5432));

new events.Rule(stack, 'Hourly', {
  schedule: events.Schedule.rate(cdk.Duration.hours(1)),
  targets: [new targets.LambdaFunction(resize)],
});

app.synth();
