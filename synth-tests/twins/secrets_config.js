// Twin pair "secrets_config" (aws-cdk-lib side): a KMS key, a secret encrypted with it, an
// SSM parameter, and a role allowed to read both. The cairn side is secrets_config.rs.
const cdk = require('aws-cdk-lib');
const iam = require('aws-cdk-lib/aws-iam');
const kms = require('aws-cdk-lib/aws-kms');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const ssm = require('aws-cdk-lib/aws-ssm');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'SecretsConfig');

const key = new kms.Key(stack, 'ConfigKey', { enableKeyRotation: true, description: 'Application configuration' });
const apiKey = new secretsmanager.Secret(stack, 'ApiKey', {
  encryptionKey: key,
  description: 'Third-party API key',
});
const endpoint = new ssm.StringParameter(stack, 'Endpoint', {
  parameterName: '/app/endpoint',
  stringValue: 'https://api.example.com',
  description: 'The API endpoint',
});
const reader = new iam.Role(stack, 'Reader', {
  assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
});
apiKey.grantRead(reader);
endpoint.grantRead(reader);

app.synth();
