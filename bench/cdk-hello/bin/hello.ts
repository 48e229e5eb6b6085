#!/usr/bin/env node
// The hello example (examples/hello/src/app.rs) with aws-cdk-lib: two stacks, a bucket and a queue
// in the producer, a topic with a name parameter and the queue's subscription in the consumer
// (the cross-stack reference). bench/build measures its first synth from a fresh copy and its
// edit -> synth loop beside cairn's.
import { App, CfnOutput, CfnParameter, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';

// Analytics off (no AWS::CDK::Metadata resource), so both sides write the same resources.
const app = new App({ analyticsReporting: false });

const producer = new Stack(app, 'HelloProducer');
const bucket = new s3.CfnBucket(producer, 'Bucket', {
  bucketEncryption: {
    serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
  },
  publicAccessBlockConfiguration: {
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  },
  versioningConfiguration: { status: 'Enabled' },
});
bucket.applyRemovalPolicy(RemovalPolicy.RETAIN);
// What cairn's recommended rules add to the bucket: a policy denying requests without TLS.
new s3.CfnBucketPolicy(producer, 'BucketPolicy', {
  bucket: bucket.ref,
  policyDocument: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:*',
        Resource: [bucket.attrArn, `${bucket.attrArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  },
});
const queue = new sqs.CfnQueue(producer, 'Queue', { messageRetentionPeriod: 1_209_600 });
new CfnOutput(producer, 'BucketName', { value: bucket.ref, description: "The producer's bucket" });

const consumer = new Stack(app, 'HelloConsumer');
const topicName = new CfnParameter(consumer, 'TopicName', {
  type: 'String',
  default: 'hello-events',
  description: 'Name of the topic',
  allowedPattern: '^[A-Za-z0-9_-]{1,256}$',
  constraintDescription: "letters, digits, '-' and '_' only",
});
const topic = new sns.CfnTopic(consumer, 'Topic', {
  topicName: topicName.valueAsString,
  kmsMasterKeyId: 'alias/aws/sns',
});
new sns.CfnSubscription(consumer, 'QueueSubscription', {
  protocol: 'sqs',
  topicArn: topic.ref,
  endpoint: queue.attrArn,
  rawMessageDelivery: true,
});
new CfnOutput(consumer, 'TopicArn', { value: topic.ref, description: 'Where to publish events' });
