// Twin pair "eks_manifest" (aws-cdk-lib side): an EKS cluster (aws-eks-v2) with a kubectl
// provider (the kubectl layer of @aws-cdk/lambda-layer-kubectl-v33, the CDK's default AWS
// CLI layer), a Kubernetes manifest and a Helm chart. The cairn side is eks_manifest.rs.
const cdk = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const eks = require('aws-cdk-lib/aws-eks-v2');
const { KubectlV33Layer } = require('@aws-cdk/lambda-layer-kubectl-v33');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'EksManifest');

const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
const cluster = new eks.Cluster(stack, 'Cluster', {
  vpc,
  version: eks.KubernetesVersion.V1_33,
  defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
  defaultCapacity: 0,
  kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'KubectlLayer') },
});
cluster.addManifest('Namespace', {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'jenkins' },
});
cluster.addHelmChart('Jenkins', {
  chart: 'jenkins',
  repository: 'https://charts.jenkins.io',
  version: '5.8.0',
  namespace: 'jenkins',
  values: { controller: { serviceType: 'ClusterIP' } },
});

app.synth();
