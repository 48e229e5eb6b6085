// Twin pair "events" (aws-cdk-lib side): a function fed by a queue, subscribed to a topic,
// allowed to read a bucket and publish to the topic. The cairn side is events.rs.
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const sources = require('aws-cdk-lib/aws-lambda-event-sources');
const s3 = require('aws-cdk-lib/aws-s3');
const sns = require('aws-cdk-lib/aws-sns');
const subs = require('aws-cdk-lib/aws-sns-subscriptions');
const sqs = require('aws-cdk-lib/aws-sqs');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'Events');

const uploads = new s3.Bucket(stack, 'Uploads');
const jobs = new sqs.Queue(stack, 'Jobs', { visibilityTimeout: cdk.Duration.seconds(60) });
const done = new sns.Topic(stack, 'Done');

const processor = new lambda.Function(stack, 'Processor', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'index.handler',
  code: lambda.Code.fromInline('def handler(event, context):\n    return event\n'),
  timeout: cdk.Duration.seconds(30),
  environment: { TOPIC_ARN: done.topicArn },
});
processor.addEventSource(new sources.SqsEventSource(jobs, { batchSize: 5 }));
done.addSubscription(new subs.SqsSubscription(jobs));
uploads.grantRead(processor);
done.grantPublish(processor);

app.synth();
