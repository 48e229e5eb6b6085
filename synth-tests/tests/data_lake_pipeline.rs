//! The data lake's delivery pipeline: one wave per environment, in order, each deploying
//! exactly its stage's stacks into its own account and region through that environment's
//! bootstrap deploy role; a smoke test after Test; Prod behind a manual approval.

use examples::data_lake::{self, environments, PIPELINE_STACK, STACKS, TOOLING_ACCOUNT};
use serde_json::Value as Json;
use synth_tests::synth;

fn pipeline_stages() -> Vec<Json> {
    let asm = synth(|| data_lake::build_with(data_lake::committed_context()?));
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

/// The role the smoke test assumes is in the Test stage's DataLake stack (and nowhere
/// else): trusted by the tooling account for the smoke test's project role only, allowed
/// to find and describe the ETL state machine and read the Glue jobs.
#[test]
fn the_test_stage_has_a_role_only_the_smoke_test_may_assume() {
    let asm = synth(|| data_lake::build_with(data_lake::committed_context()?));
    for cfg in environments() {
        let stack = asm
            .stacks()
            .iter()
            .find(|s| s.display_name == format!("{}/{}", cfg.name, STACKS[1]))
            .unwrap_or_else(|| panic!("no {}/DataLake", cfg.name));
        let t = &stack.template;
        let roles: Vec<(&String, &Json)> = t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| {
                r["Type"] == "AWS::IAM::Role" && r["Properties"]["RoleName"] == data_lake::SMOKE_TEST_ROLE
            })
            .collect();
        if cfg.name != data_lake::SMOKE_TESTED_STAGE {
            assert!(roles.is_empty(), "{}: {roles:?}", cfg.name);
            continue;
        }
        assert_eq!(roles.len(), 1, "the Test stage's smoke-test role");
        let (id, role) = roles[0];
        let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
        assert_eq!(trust.as_array().unwrap().len(), 1);
        assert_eq!(trust[0]["Action"], "sts:AssumeRole");
        let principal = trust[0]["Principal"]["AWS"].to_string();
        assert!(
            principal.contains(&format!(":iam::{TOOLING_ACCOUNT}:root")),
            "{principal}"
        );
        assert_eq!(
            trust[0]["Condition"],
            serde_json::json!({ "ArnEquals": { "aws:PrincipalArn": {
                "Fn::Sub": format!("arn:${{AWS::Partition}}:iam::{TOOLING_ACCOUNT}:role/{}", data_lake::SMOKE_TEST_PROJECT_ROLE)
            } } })
        );
        let statements: Vec<Json> = t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|p| p["Type"] == "AWS::IAM::Policy" && p["Properties"]["Roles"][0]["Ref"] == id.as_str())
            .flat_map(|p| {
                p["Properties"]["PolicyDocument"]["Statement"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .collect();
        let all = serde_json::to_string(&statements).unwrap();
        for action in [
            "states:ListStateMachines",
            "states:DescribeStateMachine",
            "glue:GetJobs",
        ] {
            assert!(all.contains(action), "{action}: {all}");
        }
        let machine = stack.resources_of_type("AWS::StepFunctions::StateMachine");
        let describe = statements
            .iter()
            .find(|s| s.to_string().contains("states:DescribeStateMachine"))
            .unwrap();
        assert_eq!(describe["Resource"], serde_json::json!({ "Ref": machine[0] }));
    }
}

/// The smoke test's project has the named role the Test role trusts, may assume that
/// role only, and its script assumes it before calling anything: run against a fake
/// `aws` that answers the Test account's resources only to the assumed credentials.
#[test]
fn the_smoke_test_assumes_the_test_role_and_checks_the_etl() {
    let asm = synth(|| data_lake::build_with(data_lake::committed_context()?));
    let pipeline = asm.stack(PIPELINE_STACK).unwrap();
    let t = &pipeline.template;
    let resources = t["Resources"].as_object().unwrap();
    let (_, project) = resources
        .iter()
        .find(|(id, r)| r["Type"] == "AWS::CodeBuild::Project" && id.contains("SmokeTest"))
        .expect("the smoke test project");
    let role_id = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    assert_eq!(
        resources[role_id]["Properties"]["RoleName"],
        data_lake::SMOKE_TEST_PROJECT_ROLE
    );
    let test = environments().into_iter().find(|c| c.name == "Test").unwrap();
    let role_arn = format!(
        "arn:${{AWS::Partition}}:iam::{}:role/{}",
        test.account,
        data_lake::SMOKE_TEST_ROLE
    );
    let policy = resources
        .values()
        .filter(|p| p["Type"] == "AWS::IAM::Policy" && p["Properties"]["Roles"][0]["Ref"] == role_id)
        .map(|p| p["Properties"]["PolicyDocument"]["Statement"].to_string())
        .collect::<String>();
    assert!(
        policy.contains("sts:AssumeRole") && policy.contains(&role_arn),
        "{policy}"
    );
    let variables = project["Properties"]["Environment"]["EnvironmentVariables"]
        .as_array()
        .unwrap();
    let var = |name: &str| {
        variables
            .iter()
            .find(|v| v["Name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["Value"]
            .clone()
    };
    assert_eq!(
        var("SMOKE_TEST_ROLE_ARN"),
        serde_json::json!({ "Fn::Sub": role_arn })
    );
    assert_eq!(var("TARGET_ACCOUNT"), test.account.as_str());

    // The commands the template's buildspec runs, run against a fake aws CLI.
    let cairn::pipelines::Step::Shell { commands, .. } = data_lake::smoke_test_step(&test) else {
        panic!("a shell step")
    };
    let spec = project["Properties"]["Source"]["BuildSpec"].as_str().unwrap();
    for c in &commands {
        assert!(
            spec.contains(c.as_str()) || spec.contains(&c.replace('\\', "\\\\")),
            "{c} not in {spec}"
        );
    }
    let dir = std::env::temp_dir().join(format!("data-lake-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("calls.log");
    // Without the assumed role's credentials the caller is the tooling account, which
    // has no ETL (and no states:/glue: permissions).
    let fake = r#"#!/bin/sh
echo "$* token=${AWS_SESSION_TOKEN:-none}" >> "$FAKE_AWS_LOG"
assumed() { [ "${AWS_SESSION_TOKEN:-}" = TEST-SESSION ]; }
case "$1 $2" in
  "sts assume-role")
    [ "$4" = "arn:aws:iam::222222222222:role/data-lake-smoke-test" ] || exit 254
    printf 'ASIATEST\t2030-01-01T00:00:00Z\tSECRET\tTEST-SESSION\n';;
  "sts get-caller-identity") if assumed; then echo 222222222222; else echo 444444444444; fi;;
  "stepfunctions list-state-machines")
    if assumed; then echo "arn:aws:states:us-east-2:222222222222:stateMachine:EtlStateMachine1A2B-x"; else echo "An error occurred (AccessDeniedException)" >&2; exit 254; fi;;
  "stepfunctions describe-state-machine") assumed && echo "${FAKE_STATUS:-ACTIVE}" || exit 254;;
  "glue get-jobs") assumed && printf 'RawToConformedJob-a\tConformedToPurposeBuiltJob-b\n' || exit 254;;
  *) echo "unexpected call: $*" >&2; exit 2;;
esac
"#;
    let aws = dir.join("aws");
    std::fs::write(&aws, fake).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |status: &str| {
        let _ = std::fs::remove_file(&log);
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(commands.join("\n"))
            .env(
                "PATH",
                format!("{}:{}", dir.display(), std::env::var("PATH").unwrap()),
            )
            .env("FAKE_AWS_LOG", &log)
            .env("FAKE_STATUS", status)
            .env(
                "SMOKE_TEST_ROLE_ARN",
                role_arn.replace("${AWS::Partition}", "aws"),
            )
            .env("TARGET_ACCOUNT", &test.account)
            .env("TARGET_REGION", &test.region)
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .unwrap();
        (out, std::fs::read_to_string(&log).unwrap_or_default())
    };
    let (out, calls) = run("ACTIVE");
    assert!(
        out.status.success(),
        "{}{}\n{calls}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let calls: Vec<&str> = calls.lines().collect();
    assert!(calls[0].starts_with("sts assume-role"), "{calls:?}");
    assert!(
        calls[1..].iter().all(|c| c.ends_with("token=TEST-SESSION")),
        "{calls:?}"
    );
    assert_eq!(calls.len(), 5, "{calls:?}");
    // A state machine that is not ACTIVE fails the step.
    let (out, _) = run("DELETING");
    assert!(!out.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
