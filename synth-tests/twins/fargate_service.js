// Twin pair "fargate_service" (aws-cdk-lib side): a Fargate service of two tasks in a
// VPC's private subnets behind an internet-facing ALB, its container logging to
// CloudWatch Logs. The cairn side is fargate_service.rs.
const cdk = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const ecs = require('aws-cdk-lib/aws-ecs');
const elbv2 = require('aws-cdk-lib/aws-elasticloadbalancingv2');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'FargateService');

const vpc = new ec2.Vpc(stack, 'Vpc', {
  maxAzs: 2,
  natGateways: 1,
});
const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });

const task = new ecs.FargateTaskDefinition(stack, 'Task', { cpu: 512, memoryLimitMiB: 1024 });
task.addContainer('web', {
  image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27'),
  portMappings: [{ containerPort: 80 }],
  logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'web' }),
});

const service = new ecs.FargateService(stack, 'Service', {
  cluster,
  taskDefinition: task,
  desiredCount: 2,
});

const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true });
const listener = alb.addListener('Http', { port: 80 });
listener.addTargets('Web', {
  port: 80,
  targets: [service],
  healthCheck: { path: '/' },
});

app.synth();
