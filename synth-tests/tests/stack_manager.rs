//! Snapshots of the `stack-manager` example, and the wiring they must show: least
//! privilege for the functions and state machines, topic names after the version
//! parameter, the subscriptions, the purge schedule, and the order of the offline tasks.

use cairn::assertions::Template;
use examples::stack_manager::{
    build, build_with, StackManagerProps, COMMANDS_STACK, COMMAND_TASKS, MANAGER_STACK, STATE_MACHINE_TASKS,
};
use serde_json::{json, Value};
use synth_tests::{actions, integration, role_policies, snapshot, stack_names, synth};

fn template(stack: &str) -> Template {
    synth_tests::template(&synth(build), stack)
}

/// The logical id of the one resource of `ty` that is the L1 of the construct `path`
/// (below its stack, e.g. `StackManagerFunction/ServiceRole`).
fn logical_id(t: &Template, ty: &str, path: &str) -> String {
    let suffix = format!("/{path}/Resource");
    let found: Vec<String> = t
        .find_resources(ty, json!({}))
        .into_iter()
        .filter(|(_, r)| {
            r["Metadata"]["aws:cdk:path"]
                .as_str()
                .is_some_and(|p| p.ends_with(&suffix))
        })
        .map(|(id, _)| id)
        .collect();
    assert_eq!(found.len(), 1, "{ty} {path}: {found:?}");
    found[0].clone()
}

/// The statements of the default policy (the only policy) of the role at construct `path`.
fn role_statements(t: &Template, path: &str) -> Vec<Value> {
    let role = logical_id(t, "AWS::IAM::Role", path);
    assert_eq!(role_policies(t, &role).len(), 1, "one default policy for {role}");
    synth_tests::role_statements(t, &role)
}

fn resources(statement: &Value) -> Vec<Value> {
    match &statement["Resource"] {
        Value::Array(r) => r.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

fn statements_with(statements: &[Value], action: &str) -> Vec<Value> {
    statements
        .iter()
        .filter(|s| actions(s).iter().any(|a| a == action))
        .cloned()
        .collect()
}

/// (export name, document logical id) of every document the commands stack exports.
fn document_exports(commands: &Template) -> Vec<(String, String)> {
    let outputs = commands.to_json()["Outputs"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    outputs
        .values()
        .filter_map(|o| {
            Some((
                o["Export"]["Name"].as_str()?.to_string(),
                o["Value"]["Ref"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The logical id of the exported document a `document_arn_import` names.
fn exported_document(exports: &[(String, String)], export: &str) -> String {
    match exports.iter().find(|(name, _)| name == export) {
        Some((_, doc)) => doc.clone(),
        None => panic!("no export {export}"),
    }
}

fn document_id_of(id: &str, commands: &Template) -> String {
    logical_id(commands, "AWS::SSM::Document", id)
}

/// `Fn::Join ["", ["arn:", partition, ":ssm:", region, ":", account, ":document/", {ImportValue}]]`.
fn document_arn_import(resource: &Value) -> Option<String> {
    let parts = resource["Fn::Join"][1].as_array()?;
    if parts.get(6)? != &json!(":document/") {
        return None;
    }
    parts.get(7)?["Fn::ImportValue"].as_str().map(str::to_string)
}

#[test]
fn stack_manager_templates() {
    let asm = synth(build);
    let names = stack_names(&asm);
    assert_eq!(names, [COMMANDS_STACK, MANAGER_STACK]);
    for s in asm.stacks() {
        let body = snapshot(&asm, &s.display_name);
        insta::assert_snapshot!(s.display_name.clone(), body);
    }
    assert_eq!(asm.stack(MANAGER_STACK).unwrap().dependencies, [COMMANDS_STACK]);
}

#[test]
fn documents_come_from_yaml_with_shared_fragments() {
    let commands = template(COMMANDS_STACK);
    commands.assert_resource_count_is("AWS::SSM::Document", COMMAND_TASKS.len() + 1);
    // Every document starts with the shared generate fragment; offline-snapshot and
    // offline-compaction-snapshot share stop/snapshot/start, and start includes
    // wait-until-ready (a nested include).
    let steps = |id: &str| -> Vec<String> {
        let doc = document_id_of(id, &commands);
        commands.to_json()["Resources"][&doc]["Properties"]["Content"]["mainSteps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    for (_, id, _) in COMMAND_TASKS {
        assert_eq!(steps(id)[0], "generateTaskFacts", "{id}");
    }
    assert_eq!(
        steps("OfflineSnapshot"),
        [
            "generateTaskFacts",
            "stopAem",
            "snapshotVolumes",
            "startAem",
            "waitUntilReady"
        ]
    );
    assert_eq!(
        steps("OfflineCompactionSnapshot"),
        [
            "generateTaskFacts",
            "stopAem",
            "compactRepository",
            "snapshotVolumes",
            "startAem",
            "waitUntilReady"
        ]
    );
    commands.assert_has_resource_properties(
        "AWS::SSM::Document",
        json!({ "DocumentType": "Command", "TargetType": "/AWS::EC2::Instance", "Content": { "schemaVersion": "2.2" } }),
    );
}

#[test]
fn topic_names_use_the_version_parameter() {
    let t = template(MANAGER_STACK);
    t.assert_has_parameter(VERSION, json!({ "Type": "String", "Default": "v1" }));
    for name in ["AemStackManager", "AemOfflineBackup"] {
        t.assert_has_resource_properties(
            "AWS::SNS::Topic",
            json!({ "TopicName": { "Fn::Sub": format!("{name}${{StackManagerVersion}}") }, "KmsMasterKeyId": "alias/aws/sns" }),
        );
    }
    t.assert_has_resource_properties(
        "AWS::Lambda::Function",
        json!({ "FunctionName": { "Fn::Sub": "AemTaskQuery${StackManagerVersion}" } }),
    );
    for output in [
        "StackManagerTopicName",
        "OfflineBackupTopicName",
        "TaskQueryFunctionName",
    ] {
        t.assert_has_output(output, json!({}));
    }
}

const VERSION: &str = "StackManagerVersion";

#[test]
fn the_stack_manager_function_is_subscribed_to_both_topics() {
    let t = template(MANAGER_STACK);
    let function = logical_id(&t, "AWS::Lambda::Function", "StackManagerFunction");
    let arn = json!({ "Fn::GetAtt": [function, "Arn"] });
    for topic_prefix in ["StackManagerTopic", "OfflineBackupTopic"] {
        let topic = logical_id(&t, "AWS::SNS::Topic", topic_prefix);
        t.assert_has_resource_properties(
            "AWS::SNS::Subscription",
            json!({ "Protocol": "lambda", "TopicArn": { "Ref": topic }, "Endpoint": arn }),
        );
        t.assert_has_resource_properties(
            "AWS::Lambda::Permission",
            json!({ "Principal": "sns.amazonaws.com", "FunctionName": arn, "SourceArn": { "Ref": topic } }),
        );
    }
    // Only the stack-manager function is subscribed (to exactly those two topics).
    let subscriptions = t.find_resources("AWS::SNS::Subscription", json!({}));
    assert_eq!(subscriptions.len(), 2);
    assert!(subscriptions
        .iter()
        .all(|(_, s)| s["Properties"]["Endpoint"] == arn));
}

#[test]
fn the_stack_manager_function_sends_only_its_documents_to_managed_instances() {
    let manager = template(MANAGER_STACK);
    let commands = template(COMMANDS_STACK);
    let statements = role_statements(&manager, "StackManagerFunction/ServiceRole");
    let send = statements_with(&statements, "ssm:SendCommand");
    assert_eq!(send.len(), 2, "{send:#?}");
    for s in &send {
        assert_eq!(actions(s), ["ssm:SendCommand"], "SendCommand alone");
    }

    // 1. the documents of the command tasks, nothing else (not the compaction-only one)
    let exports = document_exports(&commands);
    let documents: Vec<String> = resources(&send[0])
        .iter()
        .map(|r| document_arn_import(r).unwrap_or_else(|| panic!("not a document ARN: {r}")))
        .map(|export| exported_document(&exports, &export))
        .collect();
    let expected: Vec<String> = COMMAND_TASKS
        .iter()
        .map(|(_, id, _)| document_id_of(id, &commands))
        .collect();
    assert_eq!(documents, expected);
    assert!(send[0]["Condition"].is_null());

    // 2. instances, only those tagged with a managed stack prefix
    assert_eq!(
        send[1]["Resource"],
        json!({ "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*" })
    );
    assert_eq!(
        send[1]["Condition"],
        json!({ "StringLike": { "ssm:resourceTag/StackPrefix": { "Ref": "ManagedStackPrefixes" } } })
    );

    // No other statement lets it run commands or touch other resources broadly.
    for s in &statements {
        for a in actions(s) {
            assert!(!a.contains('*'), "wildcard action {a}");
        }
        if resources(s).contains(&json!("*")) {
            assert_eq!(
                actions(s),
                ["ec2:DescribeInstances"],
                "only Describe takes no resource"
            );
        }
    }
}

#[test]
fn the_stack_manager_function_writes_only_its_table() {
    let t = template(MANAGER_STACK);
    let table = logical_id(&t, "AWS::DynamoDB::Table", "TaskTable");
    let statements = role_statements(&t, "StackManagerFunction/ServiceRole");
    let dynamodb: Vec<&Value> = statements
        .iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("dynamodb:")))
        .collect();
    assert_eq!(dynamodb.len(), 1);
    assert_eq!(actions(dynamodb[0]), ["dynamodb:PutItem", "dynamodb:UpdateItem"]);
    assert_eq!(resources(dynamodb[0]), [json!({ "Fn::GetAtt": [table, "Arn"] })]);

    // The query function only reads one item at a time.
    let query = role_statements(&t, "TaskQueryFunction/ServiceRole");
    let reads = statements_with(&query, "dynamodb:GetItem");
    assert_eq!(reads.len(), 1);
    assert_eq!(actions(&reads[0]), ["dynamodb:GetItem"]);
    assert_eq!(resources(&reads[0]), [json!({ "Fn::GetAtt": [table, "Arn"] })]);
    assert!(statements_with(&query, "dynamodb:PutItem").is_empty());
    assert!(statements_with(&query, "ssm:SendCommand").is_empty());

    t.assert_has_resource_properties(
        "AWS::DynamoDB::Table",
        json!({
            "KeySchema": [{ "AttributeName": "message_id", "KeyType": "HASH" }],
            "TimeToLiveSpecification": { "AttributeName": "ttl", "Enabled": true },
            "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
            "SSESpecification": { "SSEEnabled": true },
        }),
    );
    t.assert_has_resource("AWS::DynamoDB::Table", json!({ "DeletionPolicy": "Retain" }));
}

#[test]
fn the_task_mapping_names_every_command_document() {
    let manager = template(MANAGER_STACK);
    let commands = template(COMMANDS_STACK);
    let keys: String = COMMAND_TASKS
        .iter()
        .map(|(task, _, _)| format!("\"{task}\":\"\""))
        .collect::<Vec<_>>()
        .join(",");
    let expected_text = format!("{{{keys}}}");
    // The function's environment: literal pieces alternate with the imported names.
    let function = logical_id(&manager, "AWS::Lambda::Function", "StackManagerFunction");
    let env = &manager.to_json()["Resources"][&function]["Properties"]["Environment"]["Variables"];
    let parts = env["TASK_DOCUMENTS"]["Fn::Join"][1].as_array().unwrap();
    let text: String = parts.iter().filter_map(Value::as_str).collect();
    assert_eq!(text, expected_text);
    let exports = document_exports(&commands);
    let imported: Vec<String> = parts
        .iter()
        .filter_map(|p| p["Fn::ImportValue"].as_str())
        .map(|e| exported_document(&exports, e))
        .collect();
    let expected: Vec<String> = COMMAND_TASKS
        .iter()
        .map(|(_, id, _)| document_id_of(id, &commands))
        .collect();
    assert_eq!(imported, expected);
    // The output (in the stack of the documents) is the same mapping, with references.
    let output = &commands.to_json()["Outputs"]["TaskDocumentMapping"]["Value"]["Fn::Join"][1];
    let parts = output.as_array().unwrap();
    assert_eq!(
        parts.iter().filter_map(Value::as_str).collect::<String>(),
        expected_text
    );
    let referenced: Vec<String> = parts
        .iter()
        .filter_map(|p| p["Ref"].as_str().map(str::to_string))
        .collect();
    assert_eq!(referenced, expected);
}

#[test]
fn the_purge_runs_daily_and_deletes_only_tagged_snapshots() {
    let t = template(MANAGER_STACK);
    let function = logical_id(&t, "AWS::Lambda::Function", "SnapshotPurgeFunction");
    t.assert_has_resource_properties(
        "AWS::Events::Rule",
        json!({
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "State": "ENABLED",
            "Targets": [{ "Arn": { "Fn::GetAtt": [function, "Arn"] } }],
        }),
    );
    let statements = role_statements(&t, "SnapshotPurgeFunction/ServiceRole");
    let delete = statements_with(&statements, "ec2:DeleteSnapshot");
    assert_eq!(delete.len(), 1);
    assert_eq!(
        delete[0]["Condition"]["StringLike"]["aws:ResourceTag/StackPrefix"],
        json!({ "Ref": "ManagedStackPrefixes" })
    );
    assert_eq!(
        delete[0]["Condition"]["StringEquals"]["aws:ResourceTag/SnapshotType"],
        json!(["offline", "live"])
    );

    // The schedule is a prop.
    let asm = synth(|| {
        build_with(StackManagerProps {
            purge_schedule: cairn::events::Schedule::hours(12),
            ..StackManagerProps::default()
        })
    });
    let t = Template::from_json(asm.stack(MANAGER_STACK).unwrap().template.json().clone());
    t.assert_has_resource_properties(
        "AWS::Events::Rule",
        json!({ "ScheduleExpression": "rate(12 hours)" }),
    );
}

/// The ASL of a state machine, parsed from its `DefinitionString`.
fn asl(t: &Template, id: &str) -> (Value, Value) {
    let logical = logical_id(t, "AWS::StepFunctions::StateMachine", id);
    let props = &t.to_json()["Resources"][&logical]["Properties"];
    let text = props["DefinitionString"].as_str().unwrap();
    (
        serde_json::from_str(text).unwrap(),
        props["DefinitionSubstitutions"].clone(),
    )
}

/// The states visited from `from` following `Next` and the Choice's first (success)
/// branch, until a terminal state.
fn happy_path(asl: &Value, from: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = Some(from.to_string());
    while let Some(name) = cur {
        assert!(out.len() < 100, "loop: {out:?}");
        let state = &asl["States"][&name];
        out.push(name);
        cur = match state["Type"].as_str() {
            Some("Choice") => state["Choices"][0]["Next"].as_str().map(str::to_string),
            _ => state["Next"].as_str().map(str::to_string),
        };
    }
    out
}

#[test]
fn the_offline_tasks_stop_snapshot_and_start_in_order() {
    let t = template(MANAGER_STACK);
    let expected_snapshot = [
        "ValidateInput",
        "FindAuthorPrimary",
        "FindAuthorStandby",
        "AreAuthorsFound",
        "StopAuthorStandby",
        "WaitStopAuthorStandby",
        "PollStopAuthorStandby",
        "IsStopAuthorStandbyDone",
        "StopAuthorPrimary",
        "WaitStopAuthorPrimary",
        "PollStopAuthorPrimary",
        "IsStopAuthorPrimaryDone",
        "SnapshotAuthorPrimary",
        "StartAuthorPrimary",
        "WaitStartAuthorPrimary",
        "PollStartAuthorPrimary",
        "IsStartAuthorPrimaryDone",
        "StartAuthorStandby",
        "WaitStartAuthorStandby",
        "PollStartAuthorStandby",
        "IsStartAuthorStandbyDone",
        "RecordSuccess",
        "Succeeded",
    ];
    let (snapshot, snapshot_subs) = asl(&t, STATE_MACHINE_TASKS[0].1);
    assert_eq!(snapshot["StartAt"], "ValidateInput");
    assert_eq!(happy_path(&snapshot, "ValidateInput"), expected_snapshot);

    let (compaction, compaction_subs) = asl(&t, STATE_MACHINE_TASKS[1].1);
    let path = happy_path(&compaction, "ValidateInput");
    let pos = |s: &str| {
        path.iter()
            .position(|p| p == s)
            .unwrap_or_else(|| panic!("{s} not in {path:?}"))
    };
    assert!(pos("IsStopAuthorPrimaryDone") < pos("CompactAuthorPrimary"));
    assert!(pos("IsCompactAuthorPrimaryDone") < pos("CompactAuthorStandby"));
    assert!(pos("IsCompactAuthorStandbyDone") < pos("SnapshotAuthorPrimary"));
    assert!(pos("SnapshotAuthorPrimary") < pos("StartAuthorPrimary"));

    for (asl, subs) in [(&snapshot, &snapshot_subs), (&compaction, &compaction_subs)] {
        let states = &asl["States"];
        // Each command is sent through the SDK integration and polled until it ends.
        assert_eq!(
            integration(subs, &states["StopAuthorPrimary"]),
            "aws-sdk:ssm:sendCommand"
        );
        assert_eq!(
            states["StopAuthorPrimary"]["Parameters"]["Parameters"],
            json!({ "action": ["stop"] })
        );
        assert_eq!(
            integration(subs, &states["PollStopAuthorPrimary"]),
            "aws-sdk:ssm:getCommandInvocation"
        );
        assert_eq!(states["WaitStopAuthorPrimary"]["Type"], "Wait");
        assert_eq!(states["WaitStopAuthorPrimary"]["Next"], "PollStopAuthorPrimary");
        let check = &states["IsStopAuthorPrimaryDone"];
        assert_eq!(check["Choices"][0]["StringEquals"], "Success");
        assert_eq!(check["Choices"][1]["Next"], "WaitStopAuthorPrimary");
        assert_eq!(check["Default"], "CommandFailed");
        assert!(states["PollStopAuthorPrimary"]["Retry"][0]["ErrorEquals"]
            .as_array()
            .unwrap()
            .contains(&json!("Ssm.InvocationDoesNotExistException")));
        // Every command and call fails over to the failure path: record, notify, fail.
        for (name, state) in states.as_object().unwrap() {
            if state["Type"] == "Task"
                && ![
                    "RecordSuccess",
                    "RecordFailure",
                    "RestartAuthors",
                    "NotifyFailure",
                ]
                .contains(&name.as_str())
            {
                assert_eq!(state["Catch"][0]["Next"], "RecordFailure", "{name}");
            }
        }
        assert_eq!(states["CommandFailed"]["Next"], "RecordFailure");
        assert_eq!(states["AuthorsNotFound"]["Next"], "RecordFailure");
        assert_eq!(states["RecordFailure"]["Next"], "RestartAuthors");
        // a failed task does not leave the authors down
        assert_eq!(
            states["RestartAuthors"]["Parameters"]["Parameters"],
            json!({ "action": ["start"] })
        );
        assert_eq!(states["RestartAuthors"]["Next"], "NotifyFailure");
        assert_eq!(states["RestartAuthors"]["Catch"][0]["Next"], "NotifyFailure");
        assert_eq!(integration(subs, &states["NotifyFailure"]), "sns:publish");
        assert_eq!(states["NotifyFailure"]["Next"], "Failed");
        assert_eq!(states["Failed"]["Type"], "Fail");
    }
}

#[test]
fn the_state_machines_send_only_their_documents_to_managed_instances() {
    let manager = template(MANAGER_STACK);
    let commands = template(COMMANDS_STACK);
    let exports = document_exports(&commands);
    for (_, id) in STATE_MACHINE_TASKS {
        let statements = role_statements(&manager, &format!("{id}/Role"));
        let send = statements_with(&statements, "ssm:SendCommand");
        let mut documents: Vec<String> = Vec::new();
        for s in &send {
            for r in resources(s) {
                if let Some(export) = document_arn_import(&r) {
                    documents.push(exported_document(&exports, &export));
                }
            }
        }
        documents.sort();
        documents.dedup();
        let mut expected = vec![document_id_of("ManageService", &commands)];
        if *id == "OfflineCompactionSnapshotFullSet" {
            expected.push(document_id_of("OfflineCompaction", &commands));
        }
        expected.sort();
        assert_eq!(documents, expected, "{id}");
        let instances: Vec<&Value> = send.iter().filter(|s| !s["Condition"].is_null()).collect();
        assert_eq!(instances.len(), 1, "{id}");
        assert_eq!(
            instances[0]["Condition"],
            json!({ "StringLike": { "ssm:resourceTag/StackPrefix": { "Ref": "ManagedStackPrefixes" } } })
        );
        let table = logical_id(&manager, "AWS::DynamoDB::Table", "TaskTable");
        let update = statements_with(&statements, "dynamodb:UpdateItem");
        assert_eq!(resources(&update[0]), [json!({ "Fn::GetAtt": [table, "Arn"] })]);
        let notifications = logical_id(&manager, "AWS::SNS::Topic", "NotificationsTopic");
        let publish = statements_with(&statements, "sns:Publish");
        assert_eq!(resources(&publish[0]), [json!({ "Ref": notifications })]);
    }
}

#[test]
fn documents_are_shared_only_when_asked() {
    let commands = template(COMMANDS_STACK);
    assert!(commands.find_resources("Custom::AWS", json!({})).is_empty());
    assert!(commands
        .find_resources("AWS::Lambda::Function", json!({}))
        .is_empty());

    let shared = |accounts: &[&str]| {
        let accounts = accounts.iter().map(|a| a.to_string()).collect();
        let app = build_with(StackManagerProps {
            share_documents_with: accounts,
            ..StackManagerProps::default()
        });
        app.and_then(|mut app| app.synth())
    };
    let asm = shared(&["111122223333", "444455556666"]).unwrap();
    let t = synth_tests::template(&asm, COMMANDS_STACK);
    let resources = synth_tests::template_json(&asm, COMMANDS_STACK)["Resources"].clone();
    let calls = t.find_resources("Custom::AWS", json!({}));
    let documents = COMMAND_TASKS.len() + 1;
    assert_eq!(calls.len(), documents * 2, "one call per document and account");
    assert_eq!(
        t.find_resources("AWS::Lambda::Function", json!({})).len(),
        1,
        "one handler"
    );
    for (id, call) in &calls {
        let path = call["Metadata"]["aws:cdk:path"].as_str().unwrap();
        let account = path.rsplit('/').nth(2).unwrap().trim_start_matches("Share");
        let document = path.split('/').nth(1).unwrap();
        // The calls name the document by its Ref: their JSON is an Fn::Join around it.
        let create = call["Properties"]["Create"].to_string();
        assert!(
            create.contains("modifyDocumentPermission") && create.contains("AccountIdsToAdd"),
            "{id}: {create}"
        );
        assert!(create.contains(account), "{id}: {create}");
        let delete = call["Properties"]["Delete"].to_string();
        assert!(
            delete.contains("AccountIdsToRemove") && delete.contains(account),
            "{id}: {delete}"
        );
        // The policy allows the call on this document only.
        let policy_id = call["DependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d.as_str())
            .find(|d| d.contains("CustomResourcePolicy"))
            .unwrap();
        let statements = &resources[policy_id]["Properties"]["PolicyDocument"]["Statement"];
        let text = statements.to_string();
        assert_eq!(statements.as_array().unwrap().len(), 1, "{policy_id}: {text}");
        assert!(
            statements
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["Action"] == "ssm:ModifyDocumentPermission"),
            "{text}"
        );
        let document_id = logical_id(&t, "AWS::SSM::Document", document);
        assert!(
            text.contains("document/") && text.contains(&format!("\"Ref\":\"{document_id}\"")),
            "{policy_id} {document}: {text}"
        );
    }

    let bad = shared(&["not-an-account"]);
    let Err(e) = bad else {
        panic!("an account id that is not 12 digits is refused")
    };
    assert!(e.to_string().contains("not an AWS account id"), "{e}");
}

#[test]
fn stack_manager_is_byte_identical_across_synths() {
    let a = synth(build);
    let b = synth(build);
    for (x, y) in a.stacks().iter().zip(b.stacks()) {
        assert_eq!(x.template_json(), y.template_json());
    }
}

/// A copy of the documents directory with the fragment `generate-task-facts.yaml` as it
/// was before its fix (`fixtures/stack-manager/generate-task-facts.unquoted.yaml`: two
/// unquoted lines containing ": ", which YAML reads as maps).
fn documents_with_unquoted_fragment() -> std::path::PathBuf {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("stack-manager-documents-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy(&examples::stack_manager::documents_dir(), &dir);
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stack-manager/generate-task-facts.unquoted.yaml");
    std::fs::copy(fixture, dir.join("fragments/generate-task-facts.yaml")).unwrap();
    dir
}

#[test]
fn a_run_command_line_read_as_a_map_fails_synthesis_naming_file_step_and_line() {
    let dir = documents_with_unquoted_fragment();
    let Err(e) = build_with(StackManagerProps {
        documents_dir: dir.clone(),
        ..StackManagerProps::default()
    }) else {
        panic!("the unquoted fragment must fail the build");
    };
    let text = e.to_string();
    assert!(matches!(e, cairn::Error::InvalidProps { .. }), "{text}");
    assert!(text.starts_with("'AemSsmCommands/PromoteAuthor': "), "{text}");
    assert_eq!(text.matches("AemSsmCommands/PromoteAuthor").count(), 1, "{text}");
    assert!(
        text.contains("fragments/generate-task-facts.yaml:12: step \"generateTaskFacts\""),
        "{text}"
    );
    assert!(text.contains("runCommand[4] is a map, not a string"), "{text}");

    // Every document of the example includes the fragment: every one is refused.
    let files: Vec<&str> = COMMAND_TASKS
        .iter()
        .map(|(_, _, file)| *file)
        .chain([examples::stack_manager::OFFLINE_COMPACTION_DOCUMENT.1])
        .collect();
    assert_eq!(files.len(), COMMAND_TASKS.len() + 1);
    for file in files {
        let mut app = cairn::App::new();
        let stack = app.stack("S").unwrap();
        let props = cairn::ssm::DocumentProps::new(dir.join(file));
        let e = cairn::ssm::Document::new(&mut app, stack, "Doc", props).unwrap_err();
        assert!(
            e.to_string().contains("generate-task-facts.yaml:12:"),
            "{file}: {e}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // The fixed fragment holds only strings, and the example builds.
    assert!(build().is_ok());
}

/// The tasks `aem-stack-manager-messenger` sends that this stack manager runs (its
/// `templates/sns/*.json`; the others, such as enable-saml or list-packages, are not
/// tasks of the cloud stack manager).
const MESSENGER_TASKS: &[&str] = &[
    "deploy-artifact",
    "deploy-artifacts",
    "disable-crxde",
    "enable-crxde",
    "export-package",
    "flush-dispatcher-cache",
    "import-package",
    "live-snapshot",
    "offline-compaction-snapshot-full-set",
    "offline-snapshot-full-set",
    "promote-author",
    "run-adhoc-puppet",
];

/// The literal environment variable `name` of the function at construct `path`.
fn environment(t: &Template, path: &str, name: &str) -> Value {
    let function = logical_id(t, "AWS::Lambda::Function", path);
    t.to_json()["Resources"][&function]["Properties"]["Environment"]["Variables"][name].clone()
}

#[test]
fn every_task_the_messenger_sends_has_a_document_or_a_state_machine() {
    let t = template(MANAGER_STACK);
    let parameters: Value = serde_json::from_str(
        environment(&t, "StackManagerFunction", "TASK_PARAMETERS")
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for task in MESSENGER_TASKS {
        let is_command = COMMAND_TASKS.iter().any(|(t, _, _)| t == task);
        let is_machine = STATE_MACHINE_TASKS.iter().any(|(t, _)| t == task);
        assert!(is_command ^ is_machine, "{task}");
        // The function knows the parameters of every command task's document.
        assert_eq!(parameters[task].is_object(), is_command, "{task}");
    }
    assert_eq!(parameters["deploy-artifacts"], json!({ "descriptorFile": true }));
    assert_eq!(parameters["disable-crxde"], json!({}));
    // The messenger's export-package and import-package name no bucket: the stack's does.
    assert_eq!(parameters["export-package"]["backupBucket"], json!(true));
    assert_eq!(
        environment(&t, "StackManagerFunction", "PARAMETER_DEFAULTS"),
        json!({ "Fn::Join": ["", ["{\"backupBucket\":\"", { "Ref": "PackageBucketName" }, "\"}"]] })
    );
    t.assert_has_parameter("PackageBucketName", json!({ "Type": "String", "Default": "" }));
    assert_eq!(parameters["deploy-artifact"]["force"], json!(false));
}

#[test]
fn command_statuses_reach_the_task_table_and_callers_find_tasks_by_external_id() {
    let t = template(MANAGER_STACK);
    let table = logical_id(&t, "AWS::DynamoDB::Table", "TaskTable");
    t.assert_has_resource_properties(
        "AWS::DynamoDB::Table",
        json!({ "GlobalSecondaryIndexes": [
            { "IndexName": "externalId", "KeySchema": [{ "AttributeName": "externalId", "KeyType": "HASH" }] },
            { "IndexName": "command_id", "KeySchema": [{ "AttributeName": "command_id", "KeyType": "HASH" }] },
        ] }),
    );
    let index = |name: &str| json!({ "Fn::Join": ["", [{ "Fn::GetAtt": [table, "Arn"] }, format!("/index/{name}")]] });

    // Run Command's final statuses go to the command-status function.
    let function = logical_id(&t, "AWS::Lambda::Function", "CommandStatusFunction");
    t.assert_has_resource_properties(
        "AWS::Lambda::Function",
        json!({ "Handler": "stack_manager.command_status_handler" }),
    );
    t.assert_has_resource_properties(
        "AWS::Events::Rule",
        json!({
            "EventPattern": {
                "source": ["aws.ssm"],
                "detail-type": ["EC2 Command Status-change Notification"],
                "detail": { "status": [{ "anything-but": ["Pending", "InProgress", "Delayed", "Cancelling"] }] },
            },
            "Targets": [{ "Arn": { "Fn::GetAtt": [function, "Arn"] } }],
        }),
    );
    let statements = role_statements(&t, "CommandStatusFunction/ServiceRole");
    let query = statements_with(&statements, "dynamodb:Query");
    assert_eq!(resources(&query[0]), [index("command_id")]);
    let update = statements_with(&statements, "dynamodb:UpdateItem");
    assert_eq!(resources(&update[0]), [json!({ "Fn::GetAtt": [table, "Arn"] })]);
    assert!(statements_with(&statements, "dynamodb:PutItem").is_empty());
    assert!(statements_with(&statements, "ssm:SendCommand").is_empty());

    // The query function looks tasks up by the caller's externalId, through its index only.
    let statements = role_statements(&t, "TaskQueryFunction/ServiceRole");
    let query = statements_with(&statements, "dynamodb:Query");
    assert_eq!(query.len(), 1);
    assert_eq!(resources(&query[0]), [index("externalId")]);
    assert_eq!(
        environment(&t, "TaskQueryFunction", "EXTERNAL_ID_INDEX"),
        json!("externalId")
    );
}

/// The handlers' own tests (`assets/stack-manager/tests/test_handlers.py`: the messenger's
/// messages, Run Command status events and the query by `externalId`, boto3 replaced by
/// in-memory fakes), with the document parameters this synthesis gives the function.
/// Runs with `CAIRN_PYTHON` (the test command's virtualenv), else `python3`.
#[test]
fn the_handlers_run_the_messengers_messages_to_a_final_state() {
    use std::process::Command;
    let t = template(MANAGER_STACK);
    let parameters = environment(&t, "StackManagerFunction", "TASK_PARAMETERS");
    let file = std::env::temp_dir().join(format!(
        "stack-manager-task-parameters-{}.json",
        std::process::id()
    ));
    std::fs::write(&file, parameters.as_str().unwrap()).unwrap();
    let python = std::env::var("CAIRN_PYTHON")
        .ok()
        .filter(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| "python3".to_string());
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/assets/stack-manager");
    let out = Command::new(&python)
        .args(["-m", "unittest", "discover", "-s", "tests", "-v"])
        .current_dir(&assets)
        // No __pycache__ in the function code directories (they are Lambda assets).
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("TASK_PARAMETERS_FILE", &file)
        .output()
        .expect("python3 runs (the handlers' tests need it)");
    let _ = std::fs::remove_file(&file);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran 9 tests"), "{log}");
}
