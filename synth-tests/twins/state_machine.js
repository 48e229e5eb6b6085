// Twin pair "state_machine" (aws-cdk-lib side): a state machine that checks its input
// (Choice), runs a function over each item (Map, the Lambda invoke task retried), fans out
// to two branches (Parallel), catches any error into a Fail state, and logs to a log group.
// The cairn side is state_machine.rs.
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const logs = require('aws-cdk-lib/aws-logs');
const sfn = require('aws-cdk-lib/aws-stepfunctions');
const tasks = require('aws-cdk-lib/aws-stepfunctions-tasks');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'StateMachine');

const worker = new lambda.Function(stack, 'Worker', {
  runtime: lambda.Runtime.PYTHON_3_12,
  handler: 'index.handler',
  code: lambda.Code.fromInline('def handler(event, context):\n    return {"done": event}\n'),
  timeout: cdk.Duration.seconds(30),
});

const failed = new sfn.Fail(stack, 'Failed', { error: 'ProcessingFailed', cause: 'an item failed' });
const process = new tasks.LambdaInvoke(stack, 'ProcessItem', {
  lambdaFunction: worker,
  outputPath: '$.Payload',
});
const eachItem = new sfn.Map(stack, 'EachItem', { itemsPath: '$.items', maxConcurrency: 4 });
eachItem.itemProcessor(process);
eachItem.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

const finish = new sfn.Parallel(stack, 'Finish', { resultPath: sfn.JsonPath.DISCARD });
finish.branch(new sfn.Pass(stack, 'Audit', { result: sfn.Result.fromObject({ audited: true }) }));
finish.branch(new sfn.Wait(stack, 'Settle', { time: sfn.WaitTime.duration(cdk.Duration.seconds(5)) }));

const definition = new sfn.Choice(stack, 'HasItems')
  .when(sfn.Condition.isPresent('$.items'), eachItem.next(finish).next(new sfn.Succeed(stack, 'Done')))
  .otherwise(new sfn.Succeed(stack, 'Nothing'));

const logGroup = new logs.LogGroup(stack, 'MachineLogs', { retention: logs.RetentionDays.ONE_MONTH });
new sfn.StateMachine(stack, 'Machine', {
  definitionBody: sfn.DefinitionBody.fromChainable(definition),
  timeout: cdk.Duration.minutes(15),
  logs: { destination: logGroup, level: sfn.LogLevel.ALL },
});

app.synth();
