// The synthesis benchmark's app for aws-cdk-lib 2.x, the same app as cairn's
// examples/src/bench_app.rs: BENCH_GROUPS groups (default 1000) of a versioned, SSE-S3,
// public-access-blocked, TLS-only (its bucket policy), retained bucket; a KMS-managed
// (alias/aws/sqs) queue; a role assumed by Lambda to which the bucket grants read and the
// queue grants send (the role's default policy). Five resources a group, 100 groups per
// stack, a tag on every stack.
//
//   CDK_OUTDIR=out BENCH_GROUPS=1000 node bench/cdk/app.js      (or: node app.js OUTDIR)
//
// Settings, so that both sides write the same resources and comparable metadata:
// - analyticsReporting: false: no AWS::CDK::Metadata resource (version reporting);
// - generateBootstrapVersionRule: false: no BootstrapVersion parameter and rule;
// - aws:cdk:enable-path-metadata: every resource gets Metadata aws:cdk:path, as the CDK
//   CLI asks for by default and as cairn always writes;
// - aws:cdk:disable-creation-stack-traces: no stack trace per construct in the manifest
//   (cairn records none; the CDK's default captures one per resource, which is slower).
//   BENCH_CDK_STACK_TRACES=1 keeps the CDK default.
'use strict';

const cdk = require('aws-cdk-lib');
const s3 = require('aws-cdk-lib/aws-s3');
const sqs = require('aws-cdk-lib/aws-sqs');
const iam = require('aws-cdk-lib/aws-iam');
const { Construct } = require('constructs');

const GROUPS_PER_STACK = 100;
const groups = Number.parseInt(process.env.BENCH_GROUPS ?? '1000', 10);
if (!Number.isInteger(groups) || groups < 0) {
  throw new Error(`BENCH_GROUPS must be a non-negative integer, got ${process.env.BENCH_GROUPS}`);
}
const outdir = process.argv[2] ?? process.env.CDK_OUTDIR ?? 'cdk.out';
const context = { 'aws:cdk:enable-path-metadata': true };
if (process.env.BENCH_CDK_STACK_TRACES !== '1') {
  context['aws:cdk:disable-creation-stack-traces'] = true;
}

const app = new cdk.App({ outdir, analyticsReporting: false, autoSynth: false, context });
const stacks = Math.ceil(groups / GROUPS_PER_STACK);
for (let s = 0; s < stacks; s++) {
  const stack = new cdk.Stack(app, `Bench${s}`, {
    synthesizer: new cdk.DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
  });
  cdk.Tags.of(stack).add('bench-stack', `${s}`);
  const first = s * GROUPS_PER_STACK;
  for (let g = first; g < Math.min(groups, first + GROUPS_PER_STACK); g++) {
    const group = new Construct(stack, `Group${g}`);
    const bucket = new s3.Bucket(group, 'Bucket', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    const queue = new sqs.Queue(group, 'Queue', { encryption: sqs.QueueEncryption.KMS_MANAGED });
    const role = new iam.Role(group, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    bucket.grantRead(role);
    queue.grantSendMessages(role);
  }
}
app.synth();
