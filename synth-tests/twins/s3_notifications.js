// Twin pair "s3_notifications" (aws-cdk-lib side): a bucket notifying a function (an event
// source), a queue and a topic, each with key filters, and a second bucket sending its
// events to EventBridge. The cairn side is s3_notifications.rs.
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const sources = require('aws-cdk-lib/aws-lambda-event-sources');
const s3 = require('aws-cdk-lib/aws-s3');
const s3n = require('aws-cdk-lib/aws-s3-notifications');
const sns = require('aws-cdk-lib/aws-sns');
const sqs = require('aws-cdk-lib/aws-sqs');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'S3Notifications');

const uploads = new s3.Bucket(stack, 'Uploads');
const audit = new s3.Bucket(stack, 'Audit', { eventBridgeEnabled: true });
const jobs = new sqs.Queue(stack, 'Jobs');
const done = new sns.Topic(stack, 'Done');

const processor = new lambda.Function(stack, 'Processor', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'index.handler',
  code: lambda.Code.fromInline('def handler(event, context):\n    return event\n'),
});
processor.addEventSource(new sources.S3EventSource(uploads, {
  events: [s3.EventType.OBJECT_CREATED],
  filters: [{ prefix: 'in/', suffix: '.csv' }],
}));
uploads.addEventNotification(s3.EventType.OBJECT_REMOVED, new s3n.SqsDestination(jobs), { prefix: 'in/' });
uploads.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SnsDestination(done), { suffix: '.json' });

app.synth();
