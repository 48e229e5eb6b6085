//! Hotswap against the in-memory fake: the classification per kind (with reasons), and each
//! apply path through `deploy --hotswap` / `--hotswap-fallback`.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::classify::{candidates, resolve, Hotswap};
use super::fake::{FakeFunction, FakeService};
use super::resolve::Evaluator;
use crate::client::{FunctionCode, FunctionConfiguration};
use crate::deploy::report::Deployment;
use crate::deploy::tests::{args, bootstrap_role, plan_of, stack, synthesized};
use crate::deploy::{deploy, deploy_stack};
use crate::error::Error;
use crate::fake::{Harness, ACCOUNT};
use crate::DeployArgs;

const ASSETS: &str = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}";
const TASK_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/main/web";
const MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:flow";

/// A stack with a function, a state machine calling it, a task definition and its service,
/// and a queue; `key`, `memory`, `image` and `visibility` vary.
fn app(key: &str, memory: u32, image: &str, visibility: u32) -> Json {
    json!({
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function",
                   "Metadata": {"aws:asset:path": format!("asset.{key}")},
                   "Properties": {
                       "Code": {"S3Bucket": {"Fn::Sub": ASSETS}, "S3Key": format!("{key}.zip")},
                       "Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": memory,
                       "Environment": {"Variables": {"QUEUE": {"Ref": "Queue"}, "KEY": key}}}},
            "Flow": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                "DefinitionString": {"Fn::Join": ["", ["{\"StartAt\":\"Call\",\"States\":{\"Call\":{\"Type\":\"Task\",\"Resource\":\"",
                    {"Fn::GetAtt": ["Fn", "Arn"]}, "\",\"Comment\":\"", key, "\",\"End\":true}}}"]]},
                "DefinitionSubstitutions": {"QueueUrl": {"Ref": "Queue"}}}},
            "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "Family": "web",
                "ContainerDefinitions": [{"Name": "web", "Image": image, "Essential": true}]}},
            "Service": {"Type": "AWS::ECS::Service", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "Task"}, "DesiredCount": 1}},
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility}}
        },
        "Outputs": {"FnArn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}}}
    })
}

fn base() -> Json {
    app("aaa", 128, "nginx:1", 30)
}

/// A harness with `base()` deployed as `Hello` and its resources in the services.
fn deployed() -> Harness {
    let h = Harness::new();
    let mut w = h.world();
    let id = w.put_stack("Hello", &base(), "CREATE_COMPLETE");
    let s = w.stacks.iter_mut().find(|s| s.id == id).unwrap();
    for (logical, physical) in [
        ("Fn", "hello-fn"),
        ("Flow", MACHINE_ARN),
        ("Task", TASK_ARN),
        ("Service", SERVICE_ARN),
        ("Cluster", "main"),
        ("Queue", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"),
    ] {
        s.physical.insert(logical.into(), physical.into());
    }
    w.services
        .functions
        .insert("hello-fn".into(), FakeFunction::default());
    w.services.state_machines.insert(MACHINE_ARN.into(), "{}".into());
    w.services.task_definitions.insert(
        TASK_ARN.into(),
        json!({"taskDefinitionArn": TASK_ARN, "family": "web", "revision": 1, "status": "ACTIVE",
               "containerDefinitions": [{"name": "web", "image": "nginx:1", "essential": true}],
               "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "networkMode": "awsvpc"}),
    );
    w.services.services.insert(
        ("main".into(), SERVICE_ARN.into()),
        FakeService {
            task_definition: TASK_ARN.into(),
            rolling: 0,
        },
    );
    drop(w);
    h
}

fn hotswap_args() -> DeployArgs {
    DeployArgs {
        hotswap: true,
        ..args()
    }
}

async fn run(h: &Harness, template: Json, args: &DeployArgs) -> Result<Deployment, Error> {
    let s = stack("Hello", template, &[]);
    let options = plan_of(vec![s.clone()], args).options;
    deploy_stack(&h.ctx, &s, &[], &options).await
}

fn eval() -> Evaluator {
    Evaluator {
        types: [
            ("Fn", "AWS::Lambda::Function"),
            ("Task", "AWS::ECS::TaskDefinition"),
            ("Service", "AWS::ECS::Service"),
            ("Cluster", "AWS::ECS::Cluster"),
            ("Queue", "AWS::SQS::Queue"),
            ("Flow", "AWS::StepFunctions::StateMachine"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
        physical: [
            ("Fn", "hello-fn"),
            ("Task", TASK_ARN),
            ("Service", SERVICE_ARN),
            ("Cluster", "main"),
            ("Queue", "https://q/123456789012/jobs"),
            ("Flow", MACHINE_ARN),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
        account: ACCOUNT.into(),
        region: "us-east-1".into(),
        ..Evaluator::default()
    }
}

/// The rejected changes as `logical: properties: reason`.
fn rejected(old: &Json, new: &Json) -> Vec<String> {
    let c = candidates(old, new);
    let r = resolve(c.hotswaps, new, &eval());
    c.rejected
        .iter()
        .chain(&r.rejected)
        .map(|r| format!("{}: {}: {}", r.logical_id, r.properties.join(","), r.reason))
        .collect()
}

#[test]
fn lambda_code_and_configuration_are_hotswappable_other_properties_are_not() {
    let (old, new) = (base(), app("bbb", 256, "nginx:1", 30));
    let c = candidates(&old, &new);
    assert!(c.rejected.is_empty(), "{:?}", c.rejected);
    let r = resolve(c.hotswaps, &new, &eval());
    assert_eq!(
        r.hotswaps,
        [
            Hotswap::StateMachine {
                logical_id: "Flow".into(),
                arn: MACHINE_ARN.into(),
                definition: "{\"StartAt\":\"Call\",\"States\":{\"Call\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:lambda:us-east-1:123456789012:function:hello-fn\",\"Comment\":\"bbb\",\"End\":true}}}".into(),
            },
            Hotswap::Function {
                logical_id: "Fn".into(),
                name: "hello-fn".into(),
                code: Some(FunctionCode::S3 {
                    bucket: "cdk-hnb659fds-assets-123456789012-us-east-1".into(),
                    key: "bbb.zip".into(),
                    version: None
                }),
                config: Some(FunctionConfiguration {
                    environment: Some(BTreeMap::from([
                        ("KEY".to_string(), "bbb".to_string()),
                        ("QUEUE".to_string(), "https://q/123456789012/jobs".to_string())
                    ])),
                    memory_size: Some(256),
                    ..FunctionConfiguration::default()
                }),
            },
        ]
    );
    let mut runtime = base();
    runtime["Resources"]["Fn"]["Properties"]["Runtime"] = json!("python3.12");
    runtime["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] = json!("ccc.zip");
    assert_eq!(
        rejected(&old, &runtime),
        ["Fn: Runtime: only Code, Environment, Description, MemorySize, Timeout of a AWS::Lambda::Function are hotswappable"]
    );
    let mut inline = base();
    inline["Resources"]["Fn"]["Properties"]["Code"] = json!({"ZipFile": "exports.handler = 1"});
    assert_eq!(
        rejected(&old, &inline),
        ["Fn: Code: inline code (Code.ZipFile) is not hotswapped: use a file asset (Code.S3Bucket/S3Key)"]
    );
    let mut removed = base();
    removed["Resources"]["Fn"]["Properties"]
        .as_object_mut()
        .unwrap()
        .remove("MemorySize");
    let r = resolve(candidates(&old, &removed).hotswaps, &removed, &eval());
    assert!(
        matches!(&r.hotswaps[..], [Hotswap::Function { config: Some(c), code: None, .. }] if c.memory_size == Some(128)),
        "a removed MemorySize goes back to Lambda's default: {r:?}"
    );
}

#[test]
fn other_changes_are_not_hotswappable_and_say_why() {
    let old = base();
    assert_eq!(
        rejected(&old, &app("aaa", 128, "nginx:1", 60)),
        ["Queue: VisibilityTimeout: a AWS::SQS::Queue is not hotswappable (hotswapped: a Lambda function's code and configuration, a state machine's definition, an ECS task definition's container images)"]
    );
    let mut added = base();
    added["Resources"]["Topic"] = json!({"Type": "AWS::SNS::Topic"});
    added["Resources"].as_object_mut().unwrap().remove("Queue");
    assert_eq!(
        rejected(&old, &added),
        [
            "Queue: : removed: only CloudFormation deletes resources",
            "Topic: : added: only CloudFormation creates resources"
        ]
    );
    let mut policy = base();
    policy["Resources"]["Fn"]["DeletionPolicy"] = json!("Retain");
    assert_eq!(
        rejected(&old, &policy),
        ["Fn: DeletionPolicy: resource attributes are not hotswappable"]
    );
    let mut metadata = base();
    metadata["Resources"]["Fn"]["Metadata"] = json!({"aws:asset:path": "elsewhere"});
    metadata["Resources"]["CDKMetadata"] =
        json!({"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "x"}});
    metadata["Outputs"] = json!({});
    let c = candidates(&old, &metadata);
    assert!(
        c.hotswaps.is_empty() && c.rejected.is_empty(),
        "metadata and outputs are ignored: {c:?}"
    );
    let mut unresolvable = base();
    unresolvable["Resources"]["Flow"]["Properties"]["DefinitionString"] =
        json!({"Fn::Join": ["", ["{\"Comment\":\"", {"Fn::ImportValue": "Shared"}, "\"}"]]});
    assert_eq!(
        rejected(&old, &unresolvable),
        ["Flow: DefinitionString: DefinitionString cannot be evaluated: Fn::ImportValue cannot be evaluated without deploying"]
    );
}

#[test]
fn only_container_images_of_a_task_definition_used_by_services_are_hotswappable() {
    let old = base();
    let new = app("aaa", 128, "nginx:2", 30);
    let r = resolve(candidates(&old, &new).hotswaps, &new, &eval());
    assert_eq!(
        r.hotswaps,
        [Hotswap::TaskImage {
            logical_id: "Task".into(),
            task_definition: TASK_ARN.into(),
            images: BTreeMap::from([("web".to_string(), "nginx:2".to_string())]),
            services: vec![("main".into(), SERVICE_ARN.into(), "Service".into())],
        }]
    );
    let mut port = new.clone();
    port["Resources"]["Task"]["Properties"]["ContainerDefinitions"][0]["PortMappings"] =
        json!([{"ContainerPort": 80}]);
    assert_eq!(
        rejected(&old, &port),
        ["Task: ContainerDefinitions: container properties other than Image changed (PortMappings): only a container's Image is hotswappable"]
    );
    let mut cpu = new.clone();
    cpu["Resources"]["Task"]["Properties"]["Cpu"] = json!("512");
    assert_eq!(
        rejected(&old, &cpu),
        ["Task: Cpu: only ContainerDefinitions of a AWS::ECS::TaskDefinition are hotswappable"]
    );
    let mut other_user = new.clone();
    other_user["Resources"]["Rule"] = json!({"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"EcsParameters": {"TaskDefinitionArn": {"Ref": "Task"}}}]}});
    other_user["Resources"]["Rule"]["Properties"]["Name"] = json!("r");
    let mut old_with_rule = old.clone();
    old_with_rule["Resources"]["Rule"] = other_user["Resources"]["Rule"].clone();
    assert_eq!(
        rejected(&old_with_rule, &other_user),
        ["Task: : Rule (AWS::Events::Rule) refers to the task definition, and only ECS services using it as their TaskDefinition are updated by a hotswap"]
    );
    let mut other_kind = new.clone();
    other_kind["Resources"]["Other"] =
        json!({"Type": "Custom::Runner", "Properties": {"TaskDefinition": {"Ref": "Task"}}});
    let mut old_with_other = old.clone();
    old_with_other["Resources"]["Other"] = other_kind["Resources"]["Other"].clone();
    assert_eq!(
        rejected(&old_with_other, &other_kind),
        ["Task: : Other (Custom::Runner) refers to the task definition, and only ECS services using it as their TaskDefinition are updated by a hotswap"]
    );
}

#[tokio::test]
async fn hotswaps_lambda_code_and_configuration_without_a_change_set() {
    let h = deployed();
    h.world().services.update_polls = 2;
    let mut new = base();
    new["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] = json!("bbb.zip");
    new["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]["KEY"] = json!("bbb");
    new["Resources"]["Fn"]["Properties"]["Timeout"] = json!(30);
    new["Resources"]["Fn"]["Properties"]["Description"] = json!("v2");
    let done = run(&h, new, &hotswap_args()).await.unwrap();
    assert_eq!(done.result, "hotswapped");
    let w = h.world();
    let f = &w.services.functions["hello-fn"];
    assert_eq!(
        f.code,
        Some(FunctionCode::S3 {
            bucket: "cdk-hnb659fds-assets-123456789012-us-east-1".into(),
            key: "bbb.zip".into(),
            version: None
        })
    );
    assert_eq!(
        f.config.environment.as_ref().map(|e| e["KEY"].as_str()),
        Some("bbb")
    );
    assert_eq!(
        (f.config.timeout, f.config.description.as_deref()),
        (Some(30), Some("v2"))
    );
    // Each update waited for (two polls in progress, then done): the configuration update
    // came after the code update was over, or the fake would have refused it.
    assert_eq!(w.calls_of("GetFunctionConfiguration").len(), 6, "{:?}", w.calls);
    assert!(w.calls_of("CreateChangeSet").is_empty() && w.calls_of("UpdateStack").is_empty());
    assert!(
        w.stack("Hello").unwrap().template.contains("aaa.zip"),
        "the stack's template is left as it was"
    );
    drop(w);
    let err = h.err.text();
    assert!(err.contains("Hello: hotswap deployment (no change set)"), "{err}");
    assert!(
        err.contains(
            "Hello: hotswapping Lambda function Fn (hello-fn): code, Environment, Description, Timeout"
        ),
        "{err}"
    );
    assert!(
        err.contains("Hello: the stack has drifted from its template"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failed_lambda_update_fails_the_stack_with_the_reason() {
    let h = deployed();
    h.world().services.fail_function_update = Some("image not found".into());
    let mut new = base();
    new["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] = json!("bbb.zip");
    let err = run(&h, new, &hotswap_args()).await.unwrap_err().to_string();
    assert!(
        err.contains(
            "the update of Lambda function hello-fn failed (LastUpdateStatus Failed): image not found"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn hotswaps_a_state_machine_definition_resolved_against_the_stack() {
    let h = deployed();
    let mut new = app("bbb", 128, "nginx:1", 30);
    // Only the definition: the function is unchanged.
    new["Resources"]["Fn"] = base()["Resources"]["Fn"].clone();
    new["Resources"]["Flow"]["Properties"]["DefinitionString"] = json!({"Fn::Join": ["", [
            "{\"StartAt\":\"S\",\"States\":{\"S\":{\"Type\":\"Pass\",\"Result\":\"${QueueUrl} ",
            {"Fn::GetAtt": ["Fn", "Arn"]}, "\",\"End\":true}}}"]]});
    run(&h, new, &hotswap_args()).await.unwrap();
    let w = h.world();
    assert_eq!(
        w.services.state_machines[MACHINE_ARN],
        "{\"StartAt\":\"S\",\"States\":{\"S\":{\"Type\":\"Pass\",\"Result\":\"https://sqs.us-east-1.amazonaws.com/123456789012/jobs arn:aws:lambda:us-east-1:123456789012:function:hello-fn\",\"End\":true}}}"
    );
    assert_eq!(w.calls_of("UpdateStateMachine"), [MACHINE_ARN]);
    assert!(w.calls_of("UpdateFunctionCode").is_empty());
    assert!(w.calls_of("CreateChangeSet").is_empty());
}

#[tokio::test]
async fn hotswaps_an_ecs_image_through_a_new_task_definition_revision() {
    let h = deployed();
    h.world().services.rollout_polls = 2;
    run(&h, app("aaa", 128, "nginx:2", 30), &hotswap_args())
        .await
        .unwrap();
    let w = h.world();
    let new_arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";
    let revision = &w.services.task_definitions[new_arn];
    assert_eq!(revision["containerDefinitions"][0]["image"], "nginx:2");
    assert_eq!(
        revision["cpu"], "256",
        "the rest of the revision is the deployed one's"
    );
    assert!(
        revision.get("status").is_none(),
        "read-only fields are not sent back"
    );
    assert_eq!(
        w.services.services[&("main".to_string(), SERVICE_ARN.to_string())].task_definition,
        new_arn
    );
    assert_eq!(
        w.calls_of("DescribeServices").len(),
        3,
        "the rollout is waited for: {:?}",
        w.calls
    );
    assert!(w.calls_of("CreateChangeSet").is_empty());
}

#[tokio::test]
async fn hotswap_leaves_out_what_it_cannot_change_and_says_so() {
    let h = deployed();
    let mut new = app("aaa", 128, "nginx:1", 60);
    new["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] = json!("bbb.zip");
    let done = run(&h, new.clone(), &hotswap_args()).await.unwrap();
    assert_eq!(done.result, "hotswapped");
    {
        let w = h.world();
        assert_eq!(w.calls_of("UpdateFunctionCode"), ["hello-fn"]);
        assert!(w.calls_of("CreateChangeSet").is_empty());
    }
    let err = h.err.text();
    assert!(err.contains("Hello: not hotswappable, left as deployed (deploy without --hotswap, or with --hotswap-fallback, to apply):\n  Queue (AWS::SQS::Queue) VisibilityTimeout: a AWS::SQS::Queue is not hotswappable"), "{err}");

    // Only a non-hotswappable change: nothing done.
    let h = deployed();
    let done = run(&h, app("aaa", 128, "nginx:1", 60), &hotswap_args())
        .await
        .unwrap();
    assert_eq!(done.result, "hotswap-nothing");
    assert!(h
        .err
        .text()
        .contains("Hello: hotswap deployment: nothing hotswappable changed"));
    assert!(h.world().calls_of("CreateChangeSet").is_empty());
}

#[tokio::test]
async fn hotswap_fallback_deploys_in_full_when_something_is_not_hotswappable() {
    let fallback = DeployArgs {
        hotswap_fallback: true,
        ..args()
    };
    let h = deployed();
    let mut new = app("aaa", 128, "nginx:1", 60);
    new["Resources"]["Fn"]["Properties"]["Code"]["S3Key"] = json!("bbb.zip");
    let done = run(&h, new, &fallback).await.unwrap();
    assert_eq!(done.result, "deployed");
    {
        let w = h.world();
        assert_eq!(w.calls_of("CreateChangeSet").len(), 1);
        assert!(w.calls_of("UpdateFunctionCode").is_empty());
    }
    assert!(h
        .err
        .text()
        .contains("Hello: falling back to a full deployment (--hotswap-fallback)"));
    assert!(
        h.world().calls_of("DescribeStackResources").is_empty(),
        "a change the templates show is not hotswappable costs no evaluation"
    );

    // A definition that cannot be evaluated (found while resolving): a full deployment too.
    let h = deployed();
    let mut new = base();
    new["Resources"]["Flow"]["Properties"]["DefinitionString"] =
        json!({"Fn::Join": ["", ["{\"Comment\":\"", {"Fn::ImportValue": "Shared"}, "\"}"]]});
    let done = run(&h, new, &fallback).await.unwrap();
    assert_eq!(done.result, "deployed");
    assert_eq!(h.world().calls_of("CreateChangeSet").len(), 1);
    let err = h.err.text();
    assert!(
        err.contains("Flow (AWS::StepFunctions::StateMachine) DefinitionString: DefinitionString cannot be evaluated: Fn::ImportValue"),
        "{err}"
    );

    // Everything hotswappable: no change set.
    let h = deployed();
    let done = run(&h, app("bbb", 128, "nginx:1", 30), &fallback).await.unwrap();
    assert_eq!(done.result, "hotswapped");
    assert!(h.world().calls_of("CreateChangeSet").is_empty());
}

#[tokio::test]
async fn a_stack_not_deployed_yet_is_deployed_in_full_and_the_run_warns_of_drift() {
    let h = Harness::new();
    let plan = plan_of(vec![stack("Hello", base(), &[])], &hotswap_args());
    let done = deploy(&h.ctx, plan, None).await.unwrap();
    assert_eq!(done[0].result, "deployed");
    assert_eq!(h.world().calls_of("CreateChangeSet").len(), 1);
    let err = h.err.text();
    assert!(
        err.contains("deliberately introduce CloudFormation drift"),
        "{err}"
    );
    assert!(
        err.contains("Hello: not deployed yet, and a hotswap needs a deployed stack: full deployment"),
        "{err}"
    );

    // A stack that only holds a change set under review is not deployed either.
    let h = Harness::new();
    h.world().put_stack("Hello", &json!({}), "REVIEW_IN_PROGRESS");
    let done = run(&h, base(), &hotswap_args()).await.unwrap();
    assert_eq!(done.result, "deployed");
    assert!(h.err.text().contains("Hello: not deployed yet"));
}

#[tokio::test]
async fn the_services_are_called_with_the_configured_credentials_not_the_deploy_role() {
    let h = deployed();
    let s = synthesized("Hello", "hnb659fds", app("bbb", 128, "nginx:1", 30));
    let options = plan_of(vec![s.clone()], &hotswap_args()).options;
    let done = deploy_stack(&h.ctx, &s, &[], &options).await.unwrap();
    assert_eq!(done.result, "hotswapped");
    let w = h.world();
    let as_deploy_role = |operation: &str| {
        w.calls_as
            .iter()
            .any(|(call, role)| call.starts_with(operation) && *role == bootstrap_role("hnb659fds", "deploy"))
    };
    // The stack is read through the deploy role, as a full deployment reads it ...
    assert!(as_deploy_role("GetTemplate") && as_deploy_role("DescribeStackResources"));
    // ... the functions and state machines are updated with the CLI's own credentials.
    assert_eq!(w.calls_of("UpdateFunctionCode"), ["hello-fn"]);
    assert_eq!(w.calls_of("UpdateStateMachine"), [MACHINE_ARN]);
    assert!(!as_deploy_role("UpdateFunctionCode") && !as_deploy_role("UpdateStateMachine"));
}
