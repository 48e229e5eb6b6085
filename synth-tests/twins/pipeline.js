// Twin pair "pipeline" (aws-cdk-lib side): a CodePipeline whose source is a zip in a
// versioned S3 bucket, built by a CodeBuild project, deployed through a CloudFormation
// change set (create, then execute). The cairn side is pipeline.rs.
const cdk = require('aws-cdk-lib');
const codebuild = require('aws-cdk-lib/aws-codebuild');
const codepipeline = require('aws-cdk-lib/aws-codepipeline');
const actions = require('aws-cdk-lib/aws-codepipeline-actions');
const s3 = require('aws-cdk-lib/aws-s3');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'Pipeline');

const sources = new s3.Bucket(stack, 'Sources', { versioned: true });
const build = new codebuild.PipelineProject(stack, 'Build', {
  buildSpec: codebuild.BuildSpec.fromObject({
    version: '0.2',
    phases: { build: { commands: ['make template'] } },
    artifacts: { files: ['template.json'] },
  }),
});

const source = new codepipeline.Artifact('Source');
const built = new codepipeline.Artifact('Built');
const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
  pipelineType: codepipeline.PipelineType.V2,
});
pipeline.addStage({
  stageName: 'Source',
  actions: [new actions.S3SourceAction({
    actionName: 'Zip',
    bucket: sources,
    bucketKey: 'app.zip',
    output: source,
    trigger: actions.S3Trigger.POLL,
  })],
});
pipeline.addStage({
  stageName: 'Build',
  actions: [new actions.CodeBuildAction({ actionName: 'Build', project: build, input: source, outputs: [built] })],
});
pipeline.addStage({
  stageName: 'Deploy',
  actions: [
    new actions.CloudFormationCreateReplaceChangeSetAction({
      actionName: 'Prepare',
      stackName: 'App',
      changeSetName: 'PipelineChange',
      templatePath: built.atPath('template.json'),
      adminPermissions: false,
      runOrder: 1,
    }),
    new actions.CloudFormationExecuteChangeSetAction({
      actionName: 'Deploy',
      stackName: 'App',
      changeSetName: 'PipelineChange',
      runOrder: 2,
    }),
  ],
});

app.synth();
