//! `cairn rollback` against the fake.

use super::{role, run, template, App};
use crate::error::Error;
use crate::fake::Harness;
use crate::{Command, RollbackArgs};

fn rollback(args: RollbackArgs) -> Command {
    Command::Rollback(args)
}

#[tokio::test]
async fn a_failed_update_is_rolled_back_through_the_deploy_role_with_the_execution_role() {
    let app = App::new("rb-update", &[("Hello", template())]);
    let h = Harness::new();
    let id = h.world().put_stack("Hello", &template(), "UPDATE_FAILED");
    run(&h, &app, rollback(RollbackArgs::default())).await.unwrap();
    let w = h.world();
    assert_eq!(w.stack("Hello").unwrap().status, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(w.calls_of("RollbackStack"), std::slice::from_ref(&id));
    assert!(
        w.calls_as
            .contains(&(format!("RollbackStack {id}"), role("deploy"))),
        "{:?}",
        w.calls_as
    );
    assert_eq!(
        w.stack("Hello").unwrap().role_arn.as_deref(),
        Some(role("cfn-exec").as_str())
    );
    assert!(w.calls_of("ContinueUpdateRollback").is_empty());
    assert_eq!(
        w.calls_of("GetParameter"),
        ["/cdk-bootstrap/hnb659fds/version"],
        "the bootstrap version is checked"
    );
    drop(w);
    let err = h.err.text();
    assert!(
        err.contains("Hello: rolling back (Hello, UPDATE_FAILED)"),
        "{err}"
    );
    assert!(
        err.contains("UPDATE_ROLLBACK_IN_PROGRESS"),
        "the events stream: {err}"
    );
    assert!(
        err.contains("✅ Hello: rolled back (UPDATE_ROLLBACK_COMPLETE)"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failed_creation_is_rolled_back_and_the_next_deploy_is_explained() {
    let app = App::new("rb-create", &[("Hello", template())]);
    let h = Harness::build(None, true);
    h.world().put_stack("Hello", &template(), "CREATE_FAILED");
    run(&h, &app, rollback(RollbackArgs::default())).await.unwrap();
    assert_eq!(h.world().stack("Hello").unwrap().status, "ROLLBACK_COMPLETE");
    assert!(h
        .err
        .text()
        .contains("the next deploy deletes the stack and creates it again"));
    let doc: serde_json::Value = serde_json::from_str(&h.out.text()).unwrap();
    assert_eq!(
        crate::ops::rollback::result_of(&doc, "Hello").as_deref(),
        Some("rolled-back")
    );
    assert_eq!(doc["stacks"][0]["status"], "ROLLBACK_COMPLETE");
}

#[tokio::test]
async fn stacks_that_need_no_rollback_are_named_with_what_to_do() {
    let app = App::new(
        "rb-none",
        &[("Hello", template()), ("World", template()), ("Gone", template())],
    );
    let h = Harness::new();
    h.world().put_stack("Hello", &template(), "UPDATE_COMPLETE");
    h.world().put_stack("World", &template(), "ROLLBACK_FAILED");
    let e = run(
        &h,
        &app,
        rollback(RollbackArgs {
            all: true,
            ..RollbackArgs::default()
        }),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::NothingToRollBack(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.starts_with("no stack could be rolled back: Hello (the stack does not need a rollback: it is in UPDATE_COMPLETE"), "{text}");
    assert!(text.contains("World (the stack is in ROLLBACK_FAILED"), "{text}");
    assert!(
        text.contains("delete it (`cairn destroy`) and deploy again"),
        "{text}"
    );
    assert!(
        text.contains("Gone (the stack Gone is not deployed; there is nothing to roll back)"),
        "{text}"
    );
    assert!(h.world().calls_of("RollbackStack").is_empty());

    // One stack that needs it is enough: the others are warnings.
    h.world().put_stack("Gone", &template(), "UPDATE_FAILED");
    let again = h.again();
    run(
        &again,
        &app,
        rollback(RollbackArgs {
            all: true,
            ..RollbackArgs::default()
        }),
    )
    .await
    .unwrap();
    assert!(again
        .err
        .text()
        .contains("Hello: the stack does not need a rollback"));
    assert_eq!(
        h.world().stack("Gone").unwrap().status,
        "UPDATE_ROLLBACK_COMPLETE"
    );
}

#[tokio::test]
async fn several_stacks_need_names_or_all_and_force_excludes_orphan() {
    let app = App::new("rb-usage", &[("Hello", template()), ("World", template())]);
    let h = Harness::new();
    let e = run(&h, &app, rollback(RollbackArgs::default()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(e.to_string().contains("name the stacks to roll back"), "{e}");
    let e = run(
        &h,
        &app,
        rollback(RollbackArgs {
            all: true,
            force: true,
            orphan: vec!["Queue".into()],
            ..RollbackArgs::default()
        }),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(h.world().calls.is_empty(), "refused before any call");
}

#[tokio::test]
async fn a_rollback_that_fails_names_the_resource_and_the_flags_that_orphan_it() {
    let app = App::new("rb-fail", &[("Hello", template())]);
    let h = Harness::new();
    h.world().put_stack("Hello", &template(), "UPDATE_FAILED");
    h.world().fail_rollback.insert(
        "Hello".into(),
        vec![("Bucket".into(), "Bucket is not empty".into())],
    );
    let e = run(&h, &app, rollback(RollbackArgs::default()))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::OperationFailed { .. }), "{e:?}");
    assert!(
        text.contains("Hello: rollback failed with status UPDATE_ROLLBACK_FAILED"),
        "{text}"
    );
    assert!(
        text.contains("Bucket (AWS::S3::Bucket) UPDATE_FAILED: Bucket is not empty"),
        "{text}"
    );
    assert!(text.contains("--orphan LOGICAL_ID or --force"), "{text}");
    assert!(
        h.world().calls_of("ContinueUpdateRollback").is_empty(),
        "no retry without --force"
    );
}

#[tokio::test]
async fn force_continues_the_rollback_orphaning_the_resources_that_failed() {
    let app = App::new("rb-force", &[("Hello", template())]);
    let h = Harness::new();
    let id = h.world().put_stack("Hello", &template(), "UPDATE_FAILED");
    h.world().fail_rollback.insert(
        "Hello".into(),
        vec![("Bucket".into(), "Bucket is not empty".into())],
    );
    run(
        &h,
        &app,
        rollback(RollbackArgs {
            force: true,
            ..RollbackArgs::default()
        }),
    )
    .await
    .unwrap();
    let w = h.world();
    assert_eq!(w.stack("Hello").unwrap().status, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(w.calls_of("RollbackStack"), std::slice::from_ref(&id));
    assert_eq!(
        w.rollback_skips,
        [("Hello".to_string(), vec!["Bucket".to_string()])]
    );
    assert!(w
        .calls_as
        .contains(&(format!("ContinueUpdateRollback {id}"), role("deploy"))));
    drop(w);
    assert!(h
        .err
        .text()
        .contains("Hello: continuing the rollback of Hello (orphaning: Bucket)"));
}

#[tokio::test]
async fn orphan_skips_the_named_resources_of_a_failed_rollback() {
    let app = App::new("rb-orphan", &[("Hello", template())]);
    let h = Harness::new();
    h.world()
        .put_stack("Hello", &template(), "UPDATE_ROLLBACK_FAILED");
    h.world()
        .fail_rollback
        .insert("Hello".into(), vec![("Queue".into(), "access denied".into())]);
    let args = RollbackArgs {
        orphan: vec!["Queue".into()],
        ..RollbackArgs::default()
    };
    run(&h, &app, rollback(args)).await.unwrap();
    let w = h.world();
    assert_eq!(w.stack("Hello").unwrap().status, "UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(
        w.rollback_skips,
        [("Hello".to_string(), vec!["Queue".to_string()])]
    );
    assert!(w.calls_of("RollbackStack").is_empty());
    assert_eq!(
        w.stack("Hello").unwrap().role_arn.as_deref(),
        Some(role("cfn-exec").as_str())
    );
}

#[tokio::test]
async fn the_bootstrap_version_must_allow_rollbacks_unless_the_check_is_off() {
    let app = App::new("rb-version", &[("Hello", template())]);
    let h = Harness::new();
    h.world().put_stack("Hello", &template(), "UPDATE_FAILED");
    h.world()
        .parameters
        .insert("/cdk-bootstrap/hnb659fds/version".into(), "21".into());
    let e = run(&h, &app, rollback(RollbackArgs::default()))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotBootstrapped { .. }), "{e:?}");
    assert!(
        e.to_string().contains("is \"21\"; the stack needs 23 or later"),
        "{e}"
    );
    assert!(h.world().calls_of("RollbackStack").is_empty());

    let h2 = h.again();
    h.world().calls.clear();
    let args = RollbackArgs {
        no_validate_bootstrap_version: true,
        ..RollbackArgs::default()
    };
    run(&h2, &app, rollback(args)).await.unwrap();
    assert!(h.world().calls_of("GetParameter").is_empty());
    assert_eq!(
        h.world().stack("Hello").unwrap().status,
        "UPDATE_ROLLBACK_COMPLETE"
    );
}

#[tokio::test]
async fn force_gives_up_after_ten_rollbacks_that_make_no_progress() {
    let app = App::new("rb-stubborn", &[("Hello", template())]);
    let h = Harness::new();
    h.world().put_stack("Hello", &template(), "UPDATE_FAILED");
    h.world().fail_rollback.insert(
        "Hello".into(),
        vec![("Bucket".into(), "Bucket is not empty".into())],
    );
    h.world().stubborn_rollback.insert("Hello".into());
    let args = RollbackArgs {
        force: true,
        ..RollbackArgs::default()
    };
    let e = run(&h, &app, rollback(args)).await.unwrap_err();
    assert!(matches!(e, Error::StackState { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("Hello: the rollback did not complete after 10 attempts"),
        "{e}"
    );
    let w = h.world();
    assert_eq!(w.calls_of("RollbackStack").len(), 1);
    assert_eq!(w.calls_of("ContinueUpdateRollback").len(), 9);
}
