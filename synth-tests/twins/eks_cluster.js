// Twin pair "eks_cluster" (aws-cdk-lib side): an EKS cluster (aws-eks-v2: the native
// AWS::EKS::Cluster, access entries) in a VPC's private subnets, with a managed node group.
// The cairn side is eks_cluster.rs.
const cdk = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const eks = require('aws-cdk-lib/aws-eks-v2');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'EksCluster');

const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
const cluster = new eks.Cluster(stack, 'Cluster', {
  vpc,
  version: eks.KubernetesVersion.V1_33,
  defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
  defaultCapacity: 0,
});
cluster.addNodegroupCapacity('Nodes', {
  instanceTypes: [new ec2.InstanceType('t3.medium')],
  amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
  minSize: 1,
  maxSize: 3,
});

app.synth();
