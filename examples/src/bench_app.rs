//! `bench-app`: the synthesis benchmark's app. `BENCH_GROUPS` groups (default 1000) of a
//! versioned, encrypted bucket (with its TLS-only policy), a queue, and a role assumed by
//! Lambda to which the bucket grants read and the queue grants send (the role's default
//! policy): five resources a group, 100 groups per stack, a tag on every stack, and the
//! recommended rules applied. `bench/cdk/` holds the same app for aws-cdk-lib.

use cairn::{App, Result};
use cairn_aspects::{RuleSet, Tags};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::s3::{Bucket, BucketProps};
use cairn_constructs::sqs::{Queue, QueueProps};

/// Groups per stack.
pub const GROUPS_PER_STACK: usize = 100;

/// The number of groups from `BENCH_GROUPS` (default 1000).
pub fn groups_from_env() -> usize {
    std::env::var("BENCH_GROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// Builds the benchmark app with `groups` groups.
pub fn build_with(groups: usize) -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn_cfn::SchemaValidator::new());
    app.add_validator_once(cairn_cfn::policy::PolicyValidator::new());
    let stacks = groups.div_ceil(GROUPS_PER_STACK);
    for s in 0..stacks {
        let stack = app.stack(&format!("Bench{s}"))?;
        Tags::of(&mut app, stack).add("bench-stack", &format!("{s}"));
        let first = s * GROUPS_PER_STACK;
        for g in first..groups.min(first + GROUPS_PER_STACK) {
            let group = app.construct(stack, &format!("Group{g}"))?;
            let bucket = Bucket::new(&mut app, group, "Bucket", BucketProps::default())?;
            let queue = Queue::new(&mut app, group, "Queue", QueueProps::default())?;
            let role = Role::new(
                &mut app,
                group,
                "Role",
                RoleProps::new(Principal::service("lambda.amazonaws.com")),
            )?;
            bucket.grant_read(&mut app, &role)?;
            queue.grant_send_messages(&mut app, &role)?;
        }
    }
    let root = app.root();
    RuleSet::recommended().apply(&mut app, root);
    Ok(app)
}

/// Builds the benchmark app with the group count from `BENCH_GROUPS`.
pub fn build() -> Result<App> {
    build_with(groups_from_env())
}
