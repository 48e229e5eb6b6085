// Twin pair "web_tier" (aws-cdk-lib side): a VPC with flow logs, an ALB in front of two
// instances, an Aurora MySQL cluster whose credentials come from a secret, an SSM parameter.
// The cairn side is synth-tests/tests/twins/web_tier.rs: same construct ids, same intent.
const cdk = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const elbv2 = require('aws-cdk-lib/aws-elasticloadbalancingv2');
const targets = require('aws-cdk-lib/aws-elasticloadbalancingv2-targets');
const rds = require('aws-cdk-lib/aws-rds');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const ssm = require('aws-cdk-lib/aws-ssm');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'WebTier');

const vpc = new ec2.Vpc(stack, 'Vpc', {
  maxAzs: 2,
  natGateways: 1,
  flowLogs: { FlowLog: { trafficType: ec2.FlowLogTrafficType.REJECT } },
});

const albSg = new ec2.SecurityGroup(stack, 'AlbSg', { vpc });
albSg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP from anywhere');
const webSg = new ec2.SecurityGroup(stack, 'WebSg', { vpc });
webSg.addIngressRule(albSg, ec2.Port.tcp(80), 'HTTP from the ALB');
const dbSg = new ec2.SecurityGroup(stack, 'DbSg', { vpc, allowAllOutbound: false });
dbSg.addIngressRule(webSg, ec2.Port.tcp(3306), 'MySQL from the web tier');

const userData = ec2.UserData.forLinux();
userData.addCommands('yum install -y httpd', 'systemctl enable --now httpd');

const instances = ['Web1', 'Web2'].map((id) => new ec2.Instance(stack, id, {
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO),
  machineImage: ec2.MachineImage.latestAmazonLinux2(),
  securityGroup: webSg,
  userData,
}));

const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true, securityGroup: albSg });
const listener = alb.addListener('Http', { port: 80, open: false });
listener.addTargets('Web', {
  port: 80,
  targets: instances.map((i) => new targets.InstanceTarget(i, 80)),
  healthCheck: { path: '/' },
});

const dbSecret = new secretsmanager.Secret(stack, 'DbSecret', {
  generateSecretString: {
    secretStringTemplate: JSON.stringify({ username: 'admin' }),
    generateStringKey: 'password',
    excludePunctuation: true,
  },
});

new rds.DatabaseCluster(stack, 'Db', {
  engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_05_2 }),
  credentials: rds.Credentials.fromSecret(dbSecret),
  writer: rds.ClusterInstance.provisioned('Instance1', { instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MEDIUM) }),
  readers: [rds.ClusterInstance.provisioned('Instance2', { instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MEDIUM) })],
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  securityGroups: [dbSg],
  defaultDatabaseName: 'app',
});

new ssm.StringParameter(stack, 'DbEndpointParam', {
  parameterName: '/web-tier/db-secret-arn',
  stringValue: dbSecret.secretArn,
});

app.synth();
