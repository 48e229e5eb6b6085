//! `cairn gc` against the fake (also run against moto by scripts/e2e-deploy).

use std::path::Path;

use serde_json::{json, Value as Json};

use crate::commands::Prepared;
use crate::error::{Error, Result};
use crate::fake::{now_secs, Answer, Harness, ACCOUNT};
use crate::ops::gc::{parse_time, ISOLATED_TAG};
use crate::{Command, GcAction, GcArgs, GcType};

const BUCKET: &str = "cdk-hnb659fds-assets-123456789012-us-east-1";
const DAY: i64 = 86_400;

fn key(k: &str) -> (String, String) {
    (BUCKET.to_string(), k.to_string())
}

/// The bucket: objects `(key, age in days, isolated-tag age in days)`; stacks referencing
/// some of them.
fn world(h: &Harness) {
    let now = now_secs();
    let mut w = h.world();
    for (k, age, tagged) in [
        ("aaa111.zip", 10, None),
        ("bbb222.zip", 10, None),
        ("ccc333.zip", 10, Some(5)),
        ("ddd444.zip", 10, Some(1)),
        ("eee555.zip", 10, Some(9)),
        ("fff666.zip", 0, None),
        ("ggg777.zip", 10, None),
        ("hhh888.json", 10, None),
    ] {
        w.objects.insert(key(k), b"x".to_vec());
        w.object_modified.insert(key(k), now - age * DAY);
        let mut tags = vec![("owner".to_string(), "team".to_string())];
        if let Some(t) = tagged {
            tags.push((ISOLATED_TAG.to_string(), crate::ops::gc::iso8601(now - t * DAY)));
        }
        w.object_tags.insert(key(k), tags);
    }
    let uses = |hashes: &[&str], qualifier: &str| {
        json!({"Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>",
                                                   "Default": format!("/cdk-bootstrap/{qualifier}/version")}},
               "Resources": {"F": {"Type": "AWS::Lambda::Function",
                                   "Properties": {"Code": {"S3Key": hashes.join(",")}}}}})
    };
    w.put_stack(
        "Hello",
        &uses(&["aaa111.zip", "eee555.zip"], "hnb659fds"),
        "UPDATE_COMPLETE",
    );
    w.put_stack("Other", &uses(&["ggg777.zip"], "other"), "CREATE_COMPLETE");
    w.put_stack("Gone", &uses(&["hhh888.json"], "hnb659fds"), "DELETE_COMPLETE");
}

fn gc(h: &Harness, args: GcArgs) -> impl std::future::Future<Output = Result<()>> {
    let prepared = Prepared::new(Path::new("no-assembly-here"), Command::Gc(args));
    let ctx = h.ctx.clone();
    async move { prepared?.run(ctx).await }
}

fn args(action: GcAction, rollback_buffer_days: u32) -> GcArgs {
    GcArgs {
        environments: vec![format!("aws://{ACCOUNT}/us-east-1")],
        action,
        rollback_buffer_days,
        created_buffer_days: 1,
        no_confirm: true,
        ..GcArgs::default()
    }
}

fn isolated_tag(h: &Harness, k: &str) -> Option<String> {
    h.world()
        .object_tags
        .get(&key(k))
        .and_then(|t| t.iter().find(|(n, _)| n == ISOLATED_TAG).map(|(_, v)| v.clone()))
}

#[tokio::test]
async fn full_tags_isolated_assets_deletes_those_past_the_buffer_and_untags_those_in_use() {
    let h = Harness::new();
    world(&h);
    gc(&h, args(GcAction::Full, 3)).await.unwrap();
    let now = now_secs();
    {
        let w = h.world();
        let left: Vec<&str> = w
            .objects
            .keys()
            .filter(|(b, _)| b == BUCKET)
            .map(|(_, k)| k.as_str())
            .collect();
        assert_eq!(
            left,
            [
                "aaa111.zip",
                "bbb222.zip",
                "ddd444.zip",
                "eee555.zip",
                "fff666.zip",
                "ggg777.zip",
                "hhh888.json"
            ],
            "only the asset isolated for 5 days (> 3) is deleted"
        );
        assert_eq!(w.calls_of("DeleteObjects"), [format!("{BUCKET} ccc333.zip")]);
        assert_eq!(
            w.object_tags.get(&key("eee555.zip")).cloned().unwrap_or_default(),
            [("owner".to_string(), "team".to_string())],
            "in use again: untagged, its other tags kept"
        );
        assert!(w
            .calls_of("PutObjectTagging")
            .iter()
            .all(|k| !k.ends_with("aaa111.zip")));
    }
    for k in ["bbb222.zip", "ggg777.zip", "hhh888.json"] {
        let t = isolated_tag(&h, k).and_then(|t| parse_time(&t));
        assert!(t.is_some_and(|t| (now - t).abs() < 60), "{k} tagged now: {t:?}");
    }
    assert!(
        isolated_tag(&h, "fff666.zip").is_none(),
        "too new to be looked at"
    );
    let out = h.out.text();
    assert!(
        out.contains("aws://123456789012/us-east-1: 8 objects in cdk-hnb659fds-assets-123456789012-us-east-1: 1 in use, 5 isolated (1 to delete, 3 to tag, 1 within the rollback buffer), 1 to untag, 1 newer than 1 day(s); 3 tagged isolated, 1 deleted, 1 untagged"),
        "{out}"
    );
    assert!(h.err.text().contains(
        "aws://123456789012/us-east-1: the ECR repository phys-ContainerAssetsRepository is not collected: cairn publishes no container image assets yet"
    ));
}

#[tokio::test]
async fn print_changes_nothing_and_lists_what_would_be_done() {
    let h = Harness::new();
    world(&h);
    gc(&h, args(GcAction::Print, 3)).await.unwrap();
    let w = h.world();
    assert!(w.calls_of("DeleteObjects").is_empty());
    assert!(w.calls_of("PutObjectTagging").is_empty() && w.calls_of("DeleteObjectTagging").is_empty());
    drop(w);
    let out = h.out.text();
    assert!(
        out.contains(&format!("delete  s3://{BUCKET}/ccc333.zip (isolated since ")),
        "{out}"
    );
    assert!(
        out.contains(&format!("tag     s3://{BUCKET}/bbb222.zip (aws-cdk:isolated)")),
        "{out}"
    );
    assert!(
        out.contains(&format!("untag   s3://{BUCKET}/eee555.zip (referenced again)")),
        "{out}"
    );
    assert!(out.contains("(print: nothing changed)"), "{out}");
}

#[tokio::test]
async fn tag_and_delete_tagged_do_only_their_half_and_buffer_zero_deletes_at_once() {
    let h = Harness::new();
    world(&h);
    gc(&h, args(GcAction::Tag, 3)).await.unwrap();
    assert!(h.world().calls_of("DeleteObjects").is_empty());
    assert!(isolated_tag(&h, "bbb222.zip").is_some());

    let h = Harness::new();
    world(&h);
    gc(&h, args(GcAction::DeleteTagged, 3)).await.unwrap();
    assert_eq!(
        h.world().calls_of("DeleteObjects"),
        [format!("{BUCKET} ccc333.zip")]
    );
    assert!(isolated_tag(&h, "bbb222.zip").is_none());
    assert!(isolated_tag(&h, "eee555.zip").is_some(), "no untagging either");

    let h = Harness::new();
    world(&h);
    gc(&h, args(GcAction::Full, 0)).await.unwrap();
    assert_eq!(
        h.world().calls_of("DeleteObjects"),
        [format!(
            "{BUCKET} bbb222.zip,ccc333.zip,ddd444.zip,ggg777.zip,hhh888.json"
        )]
    );
}

#[tokio::test]
async fn deleting_asks_first_unless_no_confirm() {
    let h = Harness::new();
    world(&h);
    let asking = GcArgs {
        no_confirm: false,
        confirm: true,
        ..args(GcAction::Full, 3)
    };
    let e = gc(&h, asking.clone()).await.unwrap_err();
    assert!(matches!(e, Error::NeedsConfirmation { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("deleting 1 isolated asset(s) from {BUCKET} needs confirmation but there is no terminal to ask; pass --no-confirm")
    );
    assert!(h.world().calls_of("DeleteObjects").is_empty());

    let no = Answer::new(false, &[]);
    let h2 = Harness::build(Some(no.clone()), false);
    world(&h2);
    gc(&h2, asking.clone()).await.unwrap();
    assert!(h2.world().calls_of("DeleteObjects").is_empty());
    assert!(h2.err.text().contains("nothing was deleted"));
    assert!(
        no.questions()[0].starts_with(&format!("Found 1 object(s) in {BUCKET} to delete: isolated for more than 3 day(s), created more than 1 day(s) ago")),
        "{:?}",
        no.questions()
    );

    let yes = Answer::new(true, &[]);
    let h3 = Harness::build(Some(yes), false);
    world(&h3);
    gc(&h3, asking).await.unwrap();
    assert_eq!(h3.world().calls_of("DeleteObjects").len(), 1);
}

#[tokio::test]
async fn errors_name_what_to_do() {
    // ECR is not collected: asked for alone, a usage error.
    let h = Harness::new();
    let e = gc(
        &h,
        GcArgs {
            asset_type: GcType::Ecr,
            ..args(GcAction::Full, 0)
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("cairn does not garbage-collect the bootstrap ECR repository"),
        "{e}"
    );
    assert!(h.world().calls.is_empty());

    // Not bootstrapped.
    let h = Harness::new();
    h.world().stacks.clear();
    let e = gc(&h, args(GcAction::Full, 0)).await.unwrap_err();
    assert!(matches!(e, Error::NotBootstrapped { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("the bootstrap stack CDKToolkit does not exist"),
        "{e}"
    );

    // Another account than the credentials'.
    let h = Harness::new();
    let e = gc(
        &h,
        GcArgs {
            environments: vec!["aws://999999999999/us-east-1".into()],
            ..args(GcAction::Full, 0)
        },
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("the credentials are for account 123456789012"),
        "{e}"
    );

    // An object that cannot be deleted.
    let h = Harness::new();
    world(&h);
    h.world().undeletable.insert(key("ccc333.zip"));
    let e = gc(&h, args(GcAction::Full, 3)).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{BUCKET}: DeleteObjects failed: 1 object(s) could not be deleted: ccc333.zip: AccessDenied: Access Denied")
    );
}

#[tokio::test]
async fn json_reports_the_plan_per_environment() {
    let h = Harness::build(None, true);
    world(&h);
    gc(&h, args(GcAction::Full, 3)).await.unwrap();
    let doc: Json = serde_json::from_str(&h.out.text()).unwrap();
    let e = &doc["environments"][0];
    assert_eq!(e["environment"], "aws://123456789012/us-east-1");
    assert_eq!(e["bucket"], BUCKET);
    assert_eq!(e["deleted"], json!(["ccc333.zip"]));
    assert_eq!(e["tagged"], 3);
    assert_eq!(e["untagged"], 1);
    assert_eq!(e["plan"]["inUse"], 1);
    assert_eq!(e["plan"]["tooNew"], 1);
    assert_eq!(e["ecr"], "not collected");
}

#[tokio::test]
async fn without_a_bucket_output_the_bucket_resource_is_used() {
    // Some endpoints (moto) record no outputs for a stack created from a change set.
    let h = Harness::new();
    world(&h);
    {
        let mut w = h.world();
        let toolkit = w.stacks.iter_mut().find(|s| s.name == "CDKToolkit").unwrap();
        let mut t: Json = serde_json::from_str(&toolkit.template).unwrap();
        t.as_object_mut().unwrap().remove("Outputs");
        toolkit.template = t.to_string();
    }
    gc(&h, args(GcAction::DeleteTagged, 3)).await.unwrap();
    let w = h.world();
    assert_eq!(w.calls_of("DeleteObjects"), [format!("{BUCKET} ccc333.zip")]);
    assert_eq!(w.calls_of("DescribeStackResources").len(), 1);
}

#[tokio::test]
async fn another_bootstrap_stack_name_and_type_s3() {
    let h = Harness::new();
    world(&h);
    h.world()
        .stacks
        .iter_mut()
        .find(|s| s.name == "CDKToolkit")
        .unwrap()
        .name = "TeamToolkit".into();
    let e = gc(&h, args(GcAction::Print, 3)).await.unwrap_err();
    assert!(matches!(e, Error::NotBootstrapped { .. }), "{e:?}");
    let named = GcArgs {
        bootstrap_stack_name: "TeamToolkit".into(),
        asset_type: GcType::S3,
        ..args(GcAction::Print, 3)
    };
    let h2 = h.again();
    gc(&h2, named).await.unwrap();
    assert!(h2
        .out
        .text()
        .contains(&format!("delete  s3://{BUCKET}/ccc333.zip")));
    assert!(!h2.err.text().contains("ECR"), "--type s3 says nothing of ECR");
}
