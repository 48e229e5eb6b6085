//! The data lake's delivery pipeline: one wave per environment, in order, each deploying
//! exactly its stage's stacks into its own account and region through that environment's
//! bootstrap deploy role; a smoke test after Test; Prod behind a manual approval.

use examples::data_lake::{self, environments, PIPELINE_STACK, STACKS, TOOLING_ACCOUNT};
use serde_json::Value as Json;
use synth_tests::synth;

fn pipeline_stages() -> Vec<Json> {
    let asm = synth(data_lake::build);
    let stack = asm.stack(PIPELINE_STACK).expect("the pipeline stack");
    assert_eq!(stack.environment.account.as_deref(), Some(TOOLING_ACCOUNT));
    let id = stack.resources_of_type("AWS::CodePipeline::Pipeline");
    assert_eq!(id.len(), 1, "one pipeline");
    stack.template["Resources"][id[0]]["Properties"]["Stages"]
        .as_array()
        .expect("stages")
        .clone()
}

fn actions(stage: &Json) -> &Vec<Json> {
    stage["Actions"].as_array().expect("actions")
}

fn stage<'a>(stages: &'a [Json], name: &str) -> &'a Json {
    stages
        .iter()
        .find(|s| s["Name"] == name)
        .unwrap_or_else(|| panic!("no pipeline stage {name}"))
}

#[test]
fn one_wave_per_environment_after_the_pipeline_updates_itself() {
    let stages = pipeline_stages();
    let names: Vec<&str> = stages.iter().filter_map(|s| s["Name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "Source",
            "Build",
            "UpdatePipeline",
            "Assets",
            "Dev",
            "Test",
            "Prod"
        ]
    );
}

#[test]
fn each_wave_deploys_its_stacks_in_its_account_and_region_in_order() {
    let stages = pipeline_stages();
    for env in environments() {
        let wave = stage(&stages, &env.name);
        let deploys: Vec<&Json> = actions(wave)
            .iter()
            .filter(|a| a["ActionTypeId"]["Provider"] == "CloudFormation")
            .collect();
        // Change set created, then executed, stack by stack in dependency order.
        let expected: Vec<(String, &str)> = STACKS
            .iter()
            .flat_map(|s| {
                let name = format!("{}-{s}", env.name);
                [(name.clone(), "CHANGE_SET_REPLACE"), (name, "CHANGE_SET_EXECUTE")]
            })
            .collect();
        let got: Vec<(String, &str)> = deploys
            .iter()
            .map(|a| {
                (
                    a["Configuration"]["StackName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    a["Configuration"]["ActionMode"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{}", env.name);
        let orders: Vec<i64> = deploys.iter().filter_map(|a| a["RunOrder"].as_i64()).collect();
        assert!(orders.windows(2).all(|w| w[0] < w[1]), "{}: {orders:?}", env.name);
        for a in &deploys {
            let role = a["RoleArn"].to_string();
            let want = format!("cdk-hnb659fds-deploy-role-{}-{}", env.account, env.region);
            assert!(role.contains(&want), "{}: {role}", env.name);
            // The change set is created with the environment's execution role.
            if a["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE" {
                let exec = a["Configuration"]["RoleArn"].to_string();
                assert!(
                    exec.contains(&format!(
                        "cdk-hnb659fds-cfn-exec-role-{}-{}",
                        env.account, env.region
                    )),
                    "{}: {exec}",
                    env.name
                );
            }
            // Actions outside the pipeline's region name their region.
            if env.region != "us-east-1" {
                assert_eq!(a["Region"], env.region.as_str());
            }
        }
    }
}

#[test]
fn test_is_smoke_tested_and_prod_waits_for_approval() {
    let stages = pipeline_stages();
    let test = actions(stage(&stages, "Test"));
    let last = test.last().expect("Test actions");
    assert_eq!(last["Name"], "SmokeTest");
    assert_eq!(last["ActionTypeId"]["Provider"], "CodeBuild");
    let deploy_max = test
        .iter()
        .filter(|a| a["ActionTypeId"]["Provider"] == "CloudFormation")
        .filter_map(|a| a["RunOrder"].as_i64())
        .max()
        .expect("deploys");
    assert!(
        last["RunOrder"].as_i64() > Some(deploy_max),
        "the smoke test runs after the deploys"
    );

    let prod = actions(stage(&stages, "Prod"));
    assert_eq!(prod[0]["Name"], "PromoteToProd");
    assert_eq!(prod[0]["ActionTypeId"]["Category"], "Approval");
    let approval = prod[0]["RunOrder"].as_i64().expect("run order");
    assert!(prod[1..]
        .iter()
        .all(|a| a["RunOrder"].as_i64().is_some_and(|o| o > approval)));
    // Dev has neither.
    let dev = actions(stage(&stages, "Dev"));
    assert!(dev
        .iter()
        .all(|a| a["ActionTypeId"]["Provider"] == "CloudFormation"));
}
