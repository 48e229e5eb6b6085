// Context lookups (aws-cdk-lib side): the keys and props its app reports missing, compared
// with cairn's by synth-tests/tests/lookup_keys.rs (same lookups, same order).
const cdk = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const route53 = require('aws-cdk-lib/aws-route53');
const ssm = require('aws-cdk-lib/aws-ssm');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'Net', { env: { account: '123456789012', region: 'eu-west-1' } });
const vpc = ec2.Vpc.fromLookup(stack, 'Shared', { tags: { team: 'core' }, vpcName: 'main:blue$1' });
ec2.Vpc.fromLookup(stack, 'Default', { isDefault: true, region: 'eu-west-2', subnetGroupNameTag: 'tier' });
new ec2.Instance(stack, 'Web', {
  vpc,
  instanceType: new ec2.InstanceType('t3.micro'),
  machineImage: ec2.MachineImage.lookup({ name: 'al2023-ami-*', owners: ['amazon'], windows: true }),
});
ssm.StringParameter.valueFromLookup(stack, '/app/color', 'blue');
ssm.StringParameter.valueFromLookup(stack, '/app/size');
route53.HostedZone.fromLookup(stack, 'Zone', { domainName: 'example.com' });
route53.HostedZone.fromLookup(stack, 'Internal', { domainName: 'corp.internal', privateZone: true, vpcId: 'vpc-0abc' });
new ec2.Vpc(stack, 'Own');
app.synth();
