//! cloudformation::StackSet (properties, tags, validation, grants) and the StackSet order:
//! topological order over random DAGs, cycles listed, antidependson conflicts, the order
//! JSON in SSM.

mod common;
use common::{logical, of_type, synth_clean};

use std::collections::{BTreeMap, BTreeSet};

use cairn_constructs::cloudformation::{
    plan_order, DeploymentTarget, OrderError, PermissionModel, StackSet, StackSetOrder, StackSetOrderProps,
    StackSetProps, StackSetSpec, StackSetTags, StackSetTemplate,
};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_core::{App, Error, Level, Stack};
use serde_json::{json, Value as Json};

const BODY: &str =
    r#"{"Parameters":{"Env":{"Type":"String"}},"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#;
const OU: &str = "ou-ab12-cdef3456";
const OTHER_OU: &str = "ou-ab12-99998888";

// ------------------------------------------------------------ random DAGs ----

/// xorshift64*: deterministic pseudo-random numbers, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

fn spec(name: &str, deps: &[String]) -> StackSetSpec {
    StackSetSpec::new(
        name,
        &format!("Org/{name}"),
        StackSetTags::default().depends_on(deps.iter().cloned()),
    )
}

/// A random DAG over `n` StackSets named `s<i>` (an edge only from a later to an earlier
/// index before the names are shuffled, so it is acyclic), as specs in random order.
fn random_dag(rng: &mut Rng, n: usize) -> Vec<StackSetSpec> {
    let mut names: Vec<String> = (0..n).map(|i| format!("s{i:02}")).collect();
    rng.shuffle(&mut names);
    let mut specs = Vec::new();
    for i in 0..n {
        let mut deps = BTreeSet::new();
        for earlier in names.iter().take(i) {
            if rng.below(4) == 0 {
                deps.insert(earlier.clone());
            }
        }
        specs.push(spec(&names[i], &deps.into_iter().collect::<Vec<_>>()));
    }
    rng.shuffle(&mut specs);
    specs
}

#[test]
fn the_order_respects_every_dependson_over_random_dags() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..300 {
        let n = 1 + rng.below(14);
        let mut specs = random_dag(&mut rng, n);
        let plan = plan_order(&specs).unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        // A permutation of the StackSets ...
        let mut sorted = plan.order.clone();
        sorted.sort();
        let mut names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        names.sort();
        assert_eq!(sorted, names, "round {round}");
        // ... in which every StackSet comes after each StackSet it depends on ...
        let pos: BTreeMap<&str, usize> = plan
            .order
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        for s in &specs {
            for d in &s.tags.depends_on {
                assert!(
                    pos[d.as_str()] < pos[s.name.as_str()],
                    "round {round}: {d} must precede {}",
                    s.name
                );
            }
        }
        // ... waves hold only StackSets whose dependencies are in earlier waves ...
        let wave_of: BTreeMap<&str, usize> = plan
            .waves
            .iter()
            .enumerate()
            .flat_map(|(w, names)| names.iter().map(move |n| (n.as_str(), w)))
            .collect();
        for s in &specs {
            for d in &s.tags.depends_on {
                assert!(wave_of[d.as_str()] < wave_of[s.name.as_str()]);
            }
        }
        // ... and the same StackSets in another order give the same order (tie-break by name).
        rng.shuffle(&mut specs);
        assert_eq!(plan_order(&specs).unwrap().order, plan.order, "round {round}");
    }
}

#[test]
fn a_back_edge_gives_a_cycle_error_listing_a_real_cycle() {
    let mut rng = Rng(42);
    let mut checked = 0;
    for _ in 0..300 {
        let n = 2 + rng.below(12);
        let mut specs = random_dag(&mut rng, n);
        let plan = plan_order(&specs).unwrap();
        // Make the first StackSet in the order depend on the last one that (transitively)
        // depends on it: any StackSet with a dependency path to it closes a cycle.
        let first = plan.order[0].clone();
        let Some(dependent) = specs
            .iter()
            .find(|s| s.tags.depends_on.contains(&first))
            .map(|s| s.name.clone())
        else {
            continue;
        };
        let i = specs.iter().position(|s| s.name == first).unwrap();
        specs[i].tags.depends_on.push(dependent.clone());
        let errors = plan_order(&specs).unwrap_err();
        let cycle = errors
            .iter()
            .find_map(|e| match e {
                OrderError::Cycle { cycle } => Some(cycle.clone()),
                _ => None,
            })
            .expect("a cycle error");
        assert!(cycle.len() >= 3, "{cycle:?}");
        assert_eq!(cycle.first(), cycle.last());
        for pair in cycle.windows(2) {
            let from = specs.iter().find(|s| s.name == pair[0].0).unwrap();
            assert!(
                from.tags.depends_on.contains(&pair[1].0),
                "{cycle:?} is not a dependson path"
            );
            assert_eq!(pair[0].1, format!("Org/{}", pair[0].0));
        }
        checked += 1;
    }
    assert!(checked > 100, "only {checked} graphs had an edge to close");
}

#[test]
fn a_cycle_stops_synthesis_and_names_the_construct_paths() {
    let mut app = App::new();
    let stack = app.stack("Org").unwrap();
    let mut sets = Vec::new();
    for (name, dep) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        sets.push(
            StackSet::new(
                &mut app,
                stack,
                &name.to_uppercase(),
                StackSetProps {
                    tags: StackSetTags::default().depends_on([dep]),
                    ..props(name)
                },
            )
            .unwrap(),
        );
    }
    let err = StackSetOrder::new(&mut app, stack, "Order", StackSetOrderProps::new("/o", &sets))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("StackSet dependson cycle: a ('Org/A') -> b ('Org/B') -> c ('Org/C') -> a ('Org/A')"),
        "{err}"
    );
    assert!(err.contains("Org/Order"), "{err}");
}

#[test]
fn unknown_self_and_contradicting_names_are_errors() {
    let specs = [
        StackSetSpec::new("a", "Org/A", StackSetTags::default().depends_on(["nope"])),
        StackSetSpec::new("b", "Org/B", StackSetTags::default().depends_on(["b"])),
        StackSetSpec::new(
            "c",
            "Org/C",
            StackSetTags::default().depends_on(["a"]).anti_depends_on(["a"]),
        ),
        StackSetSpec::new("a", "Org/A2", StackSetTags::default()),
    ];
    let errors = plan_order(&specs).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("'Org/A': tag dependson names StackSet \"nope\"")),
        "{text:#?}"
    );
    assert!(text
        .iter()
        .any(|t| t.contains("'Org/B': tag dependson names the StackSet itself")));
    assert!(text
        .iter()
        .any(|t| t.contains("'Org/C': \"a\" is in both dependson and antidependson")));
    assert!(text
        .iter()
        .any(|t| t.contains("\"a\" is used by 'Org/A' and 'Org/A2'")));
}

// -------------------------------------------------------- antidependson ----

fn conflict_specs(a_mandatory: bool, b_mandatory: bool, b_target: &str) -> Vec<StackSetSpec> {
    vec![
        StackSetSpec::new(
            "a",
            "Org/A",
            StackSetTags {
                mandatory: a_mandatory,
                ..StackSetTags::default()
            }
            .anti_depends_on(["b"]),
        )
        .targets([(OU, "us-east-1"), (OU, "eu-west-1")]),
        StackSetSpec::new(
            "b",
            "Org/B",
            StackSetTags {
                mandatory: b_mandatory,
                ..StackSetTags::default()
            },
        )
        .targets([(b_target, "eu-west-1")]),
    ]
}

#[test]
fn two_mandatory_stack_sets_excluding_each_other_where_both_deploy_are_an_error() {
    let errors = plan_order(&conflict_specs(true, true, OU)).unwrap_err();
    assert_eq!(
        errors,
        [OrderError::MandatoryConflict {
            path: "Org/A".into(),
            name: "a".into(),
            other: "b".into(),
            other_path: "Org/B".into(),
            target: OU.into(),
            region: "eu-west-1".into(),
        }]
    );
    let text = errors[0].to_string();
    assert!(text.contains("both are mandatory") && text.contains(OU) && text.contains("eu-west-1"));
    // The organization root overlaps every OU.
    assert!(plan_order(&conflict_specs(true, true, "r-ab12")).is_err());
    // No shared OU and Region: nothing to resolve.
    let plan = plan_order(&conflict_specs(true, true, OTHER_OU)).unwrap();
    assert!(plan.conflicts.is_empty());
}

#[test]
fn other_conflicts_skip_the_non_mandatory_or_the_declaring_stack_set() {
    let plan = plan_order(&conflict_specs(true, false, OU)).unwrap();
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].skipped, "b");
    assert_eq!(plan.conflicts[0].region, "eu-west-1");
    let plan = plan_order(&conflict_specs(false, true, OU)).unwrap();
    assert_eq!(plan.conflicts[0].skipped, "a");
    let plan = plan_order(&conflict_specs(false, false, OU)).unwrap();
    assert_eq!(plan.conflicts[0].skipped, "a", "the declaring StackSet gives way");
    // The JSON the workflow reads carries the conflict.
    assert_eq!(
        plan.to_json()["conflicts"],
        json!([{ "stackSet": "a", "excludes": "b", "target": OU, "region": "eu-west-1", "skipped": "a" }])
    );
}

#[test]
fn a_resolved_conflict_is_a_warning_on_the_order() {
    let mut app = App::new();
    let stack = app.stack("Org").unwrap();
    let a = StackSet::new(
        &mut app,
        stack,
        "A",
        StackSetProps {
            tags: StackSetTags {
                mandatory: true,
                ..StackSetTags::default()
            }
            .anti_depends_on(["b"]),
            ..props("a")
        },
    )
    .unwrap();
    let b = StackSet::new(&mut app, stack, "B", props("b")).unwrap();
    StackSetOrder::new(&mut app, stack, "Order", StackSetOrderProps::new("/o", &[a, b])).unwrap();
    let warnings: Vec<_> = app
        .diagnostics()
        .into_iter()
        .filter(|d| d.level == Level::Warning && d.message.contains("antidependson"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("the workflow skips b there"));
    app.synth().unwrap();
}

// ------------------------------------------------------- order parameter ----

fn props(name: &str) -> StackSetProps {
    StackSetProps::new(
        name,
        StackSetTemplate::body(BODY),
        vec![DeploymentTarget::new([OU], ["us-east-1"])],
    )
}

fn order_app() -> (App, Stack, Vec<StackSet>, StackSetOrder) {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let mut sets = Vec::new();
    for (id, name, deps, mandatory) in [
        ("Apps", "apps", &["network", "baseline"][..], false),
        ("Network", "network", &["baseline"][..], true),
        ("Baseline", "baseline", &[][..], true),
        ("Audit", "audit", &[][..], false),
    ] {
        sets.push(
            StackSet::new(
                &mut app,
                stack,
                id,
                StackSetProps {
                    tags: StackSetTags {
                        mandatory,
                        self_healing: true,
                        ..StackSetTags::default()
                    }
                    .depends_on(deps.iter().copied()),
                    ..props(name)
                },
            )
            .unwrap(),
        );
    }
    let order = StackSetOrder::new(
        &mut app,
        stack,
        "Order",
        StackSetOrderProps::new("/stacksets/order", &sets),
    )
    .unwrap();
    (app, stack, sets, order)
}

#[test]
fn the_ssm_parameter_holds_the_order_json() {
    let (app, _, _, order) = order_app();
    assert_eq!(order.order(), ["audit", "baseline", "network", "apps"]);
    let expected = order.plan().to_json();
    let t = synth_clean(app, "S", &[], "stackset-order");
    let params = of_type(&t, "AWS::SSM::Parameter");
    assert_eq!(params.len(), 1);
    let p = &params[0].1["Properties"];
    assert_eq!(p["Name"], "/stacksets/order");
    assert_eq!(p["Type"], "String");
    let value: Json = serde_json::from_str(p["Value"].as_str().unwrap()).unwrap();
    assert_eq!(value, expected);
    assert_eq!(value["order"], json!(["audit", "baseline", "network", "apps"]));
    assert_eq!(
        value["waves"],
        json!([["audit", "baseline"], ["network"], ["apps"]])
    );
    let network = value["stackSets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "network")
        .unwrap();
    assert_eq!(
        network,
        &json!({
            "name": "network", "mandatory": true, "selfHealing": true,
            "dependsOn": ["baseline"], "antiDependsOn": [], "regions": ["us-east-1"],
            "targets": [{ "target": OU, "region": "us-east-1" }]
        })
    );
    // StackSets of one stack are created in order on a first deployment.
    assert_eq!(
        t["Resources"][logical(&t, "Network")]["DependsOn"],
        json!([logical(&t, "Baseline")])
    );
    let apps_deps = t["Resources"][logical(&t, "Apps")]["DependsOn"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(apps_deps.len(), 2);
}

#[test]
fn a_large_order_moves_to_the_advanced_tier() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let regions = [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "eu-west-1",
        "eu-west-2",
    ];
    let sets: Vec<StackSet> = (0..12)
        .map(|i| {
            let name = format!("set-number-{i:02}");
            StackSet::new(
                &mut app,
                stack,
                &format!("Set{i}"),
                StackSetProps::new(
                    &name,
                    StackSetTemplate::body(BODY),
                    vec![DeploymentTarget::new([OU], regions)],
                ),
            )
            .unwrap()
        })
        .collect();
    let order = StackSetOrder::new(&mut app, stack, "Order", StackSetOrderProps::new("/o", &sets)).unwrap();
    let len = order.plan().to_json().to_string().len();
    assert!(len > 4096 && len <= 8192, "{len}");
    let asm = app.synth().unwrap();
    let t = &asm.stack("S").unwrap().template;
    assert_eq!(
        of_type(t, "AWS::SSM::Parameter")[0].1["Properties"]["Tier"],
        "Advanced"
    );
}

// ------------------------------------------------------------- StackSet ----

#[test]
fn a_stack_set_renders_service_managed_targets_preferences_and_tags() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    StackSet::new(
        &mut app,
        stack,
        "Queues",
        StackSetProps {
            parameters: [("Env".to_string(), "prod".to_string())].into_iter().collect(),
            tags: StackSetTags {
                mandatory: true,
                self_healing: false,
                ..StackSetTags::default()
            },
            extra_tags: [("team".to_string(), "platform".to_string())]
                .into_iter()
                .collect(),
            ..StackSetProps::new(
                "queues",
                StackSetTemplate::body(BODY),
                vec![
                    DeploymentTarget::new([OU], ["us-east-1", "eu-west-1"]),
                    DeploymentTarget::new([OTHER_OU], ["eu-west-1"]).parameter_override("Env", "dev"),
                ],
            )
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "stackset");
    let p = &t["Resources"][logical(&t, "Queues")]["Properties"];
    assert_eq!(p["PermissionModel"], "SERVICE_MANAGED");
    assert_eq!(p["StackSetName"], "queues");
    assert_eq!(p["TemplateBody"], BODY);
    assert_eq!(
        p["AutoDeployment"],
        json!({ "Enabled": true, "RetainStacksOnAccountRemoval": false })
    );
    assert_eq!(p["ManagedExecution"], json!({ "Active": true }));
    assert_eq!(
        p["OperationPreferences"],
        json!({
            "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
            "FailureTolerancePercentage": 10,
            "MaxConcurrentPercentage": 25,
            "RegionConcurrencyType": "PARALLEL"
        })
    );
    assert_eq!(
        p["Parameters"],
        json!([{ "ParameterKey": "Env", "ParameterValue": "prod" }])
    );
    assert_eq!(
        p["StackInstancesGroup"],
        json!([
            { "DeploymentTargets": { "OrganizationalUnitIds": [OU] }, "Regions": ["us-east-1", "eu-west-1"] },
            {
                "DeploymentTargets": { "OrganizationalUnitIds": [OTHER_OU] },
                "ParameterOverrides": [{ "ParameterKey": "Env", "ParameterValue": "dev" }],
                "Regions": ["eu-west-1"]
            }
        ])
    );
    assert_eq!(
        p["Tags"],
        json!([
            { "Key": "mandatory", "Value": "true" },
            { "Key": "selfhealing", "Value": "false" },
            { "Key": "region", "Value": "us-east-1:eu-west-1" },
            { "Key": "team", "Value": "platform" }
        ])
    );
}

#[test]
fn a_template_file_is_embedded_and_a_missing_one_is_an_error() {
    let dir = std::env::temp_dir().join(format!("cairn-l2-stackset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.yaml");
    std::fs::write(
        &file,
        "Parameters:\n  Env:\n    Type: String\nResources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: !Ref Env\n",
    )
    .unwrap();
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    StackSet::new(
        &mut app,
        stack,
        "FromFile",
        StackSetProps {
            parameters: [("Env".to_string(), "x".to_string())].into_iter().collect(),
            ..StackSetProps::new(
                "from-file",
                StackSetTemplate::file(&file),
                vec![DeploymentTarget::new([OU], ["us-east-1"])],
            )
        },
    )
    .unwrap();
    let missing = StackSet::new(
        &mut app,
        stack,
        "Missing",
        StackSetProps::new(
            "missing",
            StackSetTemplate::file(dir.join("nope.yaml")),
            vec![DeploymentTarget::new([OU], ["us-east-1"])],
        ),
    );
    match missing {
        Err(Error::InvalidProps { path, problem }) => {
            assert_eq!(path, "S/Missing");
            assert!(problem.contains("nope.yaml"), "{problem}");
        }
        other => panic!("expected InvalidProps, got {other:?}"),
    }
    let asm = app.synth().unwrap();
    let t = &asm.stack("S").unwrap().template;
    let body = t["Resources"][logical(t, "FromFile")]["Properties"]["TemplateBody"]
        .as_str()
        .unwrap();
    assert!(body.contains("!Ref Env"));
}

/// The problems one StackSet's props are refused for (none: it was created).
fn errors_of(props: StackSetProps) -> Vec<String> {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    match StackSet::new(&mut app, stack, "Set", props) {
        Ok(_) => Vec::new(),
        Err(Error::InvalidProps { path, problem }) => {
            assert_eq!(path, "S/Set");
            match problem.split_once(" problems:\n- ") {
                Some((_, list)) => list.split("\n- ").map(str::to_string).collect(),
                None => vec![problem],
            }
        }
        Err(other) => panic!("expected InvalidProps, got {other}"),
    }
}

#[test]
fn tag_values_are_validated() {
    let errors = errors_of(StackSetProps {
        tags: StackSetTags::default().depends_on(["a,b"]),
        ..props("x")
    });
    assert!(
        errors
            .iter()
            .any(|e| e.contains("holds ','") && e.contains("separate list items with ':'")),
        "{errors:?}"
    );
    let long: Vec<String> = (0..30).map(|i| format!("stack-set-{i:03}")).collect();
    let errors = errors_of(StackSetProps {
        tags: StackSetTags::default().depends_on(long),
        ..props("x")
    });
    assert!(
        errors.iter().any(|e| e.contains("over the limit of 256")),
        "{errors:?}"
    );
    let errors = errors_of(StackSetProps {
        extra_tags: [("mandatory".to_string(), "yes".to_string())]
            .into_iter()
            .collect(),
        ..props("x")
    });
    assert!(
        errors.iter().any(|e| e.contains("is an ordering tag")),
        "{errors:?}"
    );
    let errors = errors_of(StackSetProps {
        extra_tags: [("owner".to_string(), "a;b".to_string())].into_iter().collect(),
        ..props("x")
    });
    assert!(errors.iter().any(|e| e.contains("holds ';'")), "{errors:?}");
    assert!(errors_of(props("x")).is_empty());
}

#[test]
fn invalid_stack_set_settings_are_errors_naming_the_fix() {
    let errors = errors_of(props("1-bad_name"));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("StackSet name \"1-bad_name\" is invalid")),
        "{errors:?}"
    );
    let errors = errors_of(StackSetProps::new("x", StackSetTemplate::body(BODY), vec![]));
    assert!(errors
        .iter()
        .any(|e| e.contains("at least one deployment target")));
    let errors = errors_of(StackSetProps {
        permission_model: PermissionModel::SelfManaged {
            administration_role_arn: None,
            execution_role_name: None,
        },
        ..props("x")
    });
    assert!(
        errors.iter().any(|e| e.contains("deploys to accounts, not OUs")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("set auto_deployment: false")),
        "{errors:?}"
    );
    let errors = errors_of(StackSetProps::new(
        "x",
        StackSetTemplate::body(BODY),
        vec![DeploymentTarget::new(["ou-bad"], ["moon-1"]).parameter_override("Nope", "1")],
    ));
    assert!(
        errors.iter().any(|e| e.contains("\"ou-bad\" is not an OU id")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("\"moon-1\" is not a Region name")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("parameter override \"Nope\" is not a parameter of the template")),
        "{errors:?}"
    );
    let big = format!(
        "{{\"Resources\":{{\"T\":{{\"Type\":\"AWS::SNS::Topic\"}}}},\"Description\":\"{}\"}}",
        "x".repeat(60_000)
    );
    let errors = errors_of(StackSetProps::new(
        "x",
        StackSetTemplate::body(big),
        vec![DeploymentTarget::new([OU], ["us-east-1"])],
    ));
    assert!(
        errors.iter().any(|e| e.contains("StackSetTemplate::Url")),
        "{errors:?}"
    );
}

#[test]
fn a_self_managed_stack_set_targets_accounts() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    StackSet::new(
        &mut app,
        stack,
        "Accounts",
        StackSetProps {
            permission_model: PermissionModel::SelfManaged {
                administration_role_arn: Some("arn:aws:iam::111111111111:role/Admin".into()),
                execution_role_name: Some("Exec".into()),
            },
            auto_deployment: false,
            ..StackSetProps::new(
                "accounts",
                StackSetTemplate::body(BODY),
                vec![DeploymentTarget::accounts(["222222222222"], ["us-east-1"])],
            )
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "stackset-self-managed");
    let p = &t["Resources"][logical(&t, "Accounts")]["Properties"];
    assert_eq!(p["PermissionModel"], "SELF_MANAGED");
    assert_eq!(p["ExecutionRoleName"], "Exec");
    assert!(p.get("AutoDeployment").is_none());
    assert_eq!(
        p["StackInstancesGroup"][0]["DeploymentTargets"],
        json!({ "Accounts": ["222222222222"] })
    );
}

#[test]
fn grants_name_only_the_stack_set() {
    let (mut app, stack, sets, order) = order_app();
    let role = Role::new(
        &mut app,
        stack,
        "Worker",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    sets[1].grant_detect_drift(&mut app, &role).unwrap();
    sets[1].grant_create_instances(&mut app, &role).unwrap();
    order.grant_read(&mut app, &role).unwrap();
    let asm = app.synth().unwrap();
    let t = &asm.stack("S").unwrap().template;
    let statements =
        &t["Resources"][logical(t, "WorkerDefaultPolicy")]["Properties"]["PolicyDocument"]["Statement"];
    let arn = json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":cloudformation:", { "Ref": "AWS::Region" },
        ":", { "Ref": "AWS::AccountId" }, ":stackset/network:*"]] });
    assert_eq!(
        statements[0],
        json!({ "Effect": "Allow", "Action": "cloudformation:DetectStackSetDrift", "Resource": arn })
    );
    assert_eq!(statements[1]["Action"], "cloudformation:CreateStackInstances");
    let resources = statements[1]["Resource"].as_array().unwrap();
    assert_eq!(resources[0], arn);
    assert_eq!(
        resources[1]["Fn::Join"][1][6], ":stackset-target/network:*",
        "{resources:?}"
    );
    assert_eq!(statements[2]["Action"][0], "ssm:DescribeParameters");
}

#[test]
fn dependson_across_stacks_orders_the_stacks() {
    let mut app = App::new();
    let base_stack = app.stack("Base").unwrap();
    let app_stack = app.stack("Apps").unwrap();
    let base = StackSet::new(&mut app, base_stack, "Baseline", props("baseline")).unwrap();
    let apps = StackSet::new(
        &mut app,
        app_stack,
        "Apps",
        StackSetProps {
            tags: StackSetTags::default().depends_on(["baseline"]),
            ..props("apps")
        },
    )
    .unwrap();
    StackSetOrder::new(
        &mut app,
        base_stack,
        "Order",
        StackSetOrderProps::new("/o", &[apps, base]),
    )
    .unwrap();
    let asm = app.synth().unwrap();
    assert_eq!(asm.stack("Apps").unwrap().dependencies, ["Base"]);
    let t = &asm.stack("Apps").unwrap().template;
    assert!(t["Resources"][logical(t, "Apps")].get("DependsOn").is_none());
}
