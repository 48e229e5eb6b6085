//! stackset-healing: in an organisation of four member accounts, one account is suspended
//! and one leaves the organisation, and a security account's instances drift; the daily
//! workflow, started by hand, deletes every instance of the two accounts (looping until
//! none is left), deletes and redeploys the drifted instance of the self-healing StackSet,
//! leaves the StackSet that is not self-healing as it is, and publishes a dashboard that
//! names no account, in a bucket that blocks public access.

use std::time::Duration;

use cairn::integ::{AwsCall, Expected, IntegCase, IntegError, IntegRun, Probe, Target};
use examples::stackset_healing::{build_with, Organization, ORDER_PARAMETER, STACKS, STACK_SETS};
use serde_json::{json, Value};

use super::{passed, require_target, unique};

/// A call of AWS Organizations.
fn organizations(action: &str, body: Value) -> AwsCall {
    AwsCall::json("organizations", "AWSOrganizationsV20161128", action, body)
}

/// The organisation the test sets up before the app is synthesized (the StackSets target
/// its OUs by id).
struct Fixture {
    org: Organization,
    /// Stays an active workload account.
    workload: String,
    /// A workload account closed before the run: SUSPENDED.
    suspended: String,
    /// A workload account that leaves the organisation before the run.
    departed: String,
    /// The security account, whose instances drift.
    security: String,
}

impl Fixture {
    /// The role an administrator of the management account works in a member account with.
    fn admin_role(account: &str) -> String {
        format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole")
    }
}

fn text(v: &Value, pointer: &str, call: &str) -> Result<String, IntegError> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| IntegError::Call {
            case: "stackset-healing".into(),
            call: call.into(),
            message: format!("no {pointer} in the answer: {v}"),
        })
}

/// OUs for workloads, security and legacy accounts under the root, and four accounts.
async fn organization(target: &Target) -> Result<Fixture, IntegError> {
    if organizations("DescribeOrganization", json!({}))
        .send(target)
        .await
        .is_err()
    {
        organizations("CreateOrganization", json!({"FeatureSet": "ALL"}))
            .send(target)
            .await?;
    }
    let roots = organizations("ListRoots", json!({})).send(target).await?;
    let root = text(&roots, "/Roots/0/Id", "ListRoots")?;
    let tag = unique();
    let mut ous = Vec::new();
    for name in ["workloads", "security", "legacy"] {
        let ou = organizations(
            "CreateOrganizationalUnit",
            json!({"ParentId": root, "Name": format!("{name}-{tag}")}),
        )
        .send(target)
        .await?;
        ous.push(text(&ou, "/OrganizationalUnit/Id", "CreateOrganizationalUnit")?);
    }
    let mut accounts = Vec::new();
    for (name, ou) in [
        ("workload", &ous[0]),
        ("suspended", &ous[0]),
        ("departed", &ous[0]),
        ("security", &ous[1]),
    ] {
        let request = organizations(
            "CreateAccount",
            json!({"Email": format!("{name}-{tag}@example.com"), "AccountName": format!("{name}-{tag}")}),
        )
        .send(target)
        .await?;
        let id = text(&request, "/CreateAccountStatus/Id", "CreateAccount")?;
        // Organizations creates accounts asynchronously.
        let account = loop {
            let status = organizations(
                "DescribeCreateAccountStatus",
                json!({"CreateAccountRequestId": id}),
            )
            .send(target)
            .await?;
            match status
                .pointer("/CreateAccountStatus/State")
                .and_then(Value::as_str)
            {
                Some("SUCCEEDED") => {
                    break text(
                        &status,
                        "/CreateAccountStatus/AccountId",
                        "DescribeCreateAccountStatus",
                    )?
                }
                Some("IN_PROGRESS") => tokio::time::sleep(Duration::from_secs(5)).await,
                _ => {
                    return Err(IntegError::Call {
                        case: "stackset-healing".into(),
                        call: "organizations:CreateAccount".into(),
                        message: format!("the account was not created: {status}"),
                    })
                }
            }
        };
        organizations(
            "MoveAccount",
            json!({"AccountId": account, "SourceParentId": root, "DestinationParentId": ou}),
        )
        .send(target)
        .await?;
        accounts.push(account);
    }
    let [workload, suspended, departed, security] =
        <[String; 4]>::try_from(accounts).map_err(|_| IntegError::Call {
            case: "stackset-healing".into(),
            call: "organizations:CreateAccount".into(),
            message: "four accounts were asked for".into(),
        })?;
    let [workloads_ou, security_ou, legacy_ou] =
        <[String; 3]>::try_from(ous).map_err(|_| IntegError::Call {
            case: "stackset-healing".into(),
            call: "organizations:CreateOrganizationalUnit".into(),
            message: "three OUs were asked for".into(),
        })?;
    Ok(Fixture {
        org: Organization {
            workloads_ou,
            security_ou,
            legacy_ou,
        },
        workload,
        suspended,
        departed,
        security,
    })
}

/// The text of every `<tag>` element of an XML answer (a Query API's).
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split(&close).next().map(str::to_string))
        .collect()
}

/// The audit roles (`baseline-iam`) in `account`: (name, maximum session duration).
async fn audit_roles(run: &mut IntegRun, account: &str) -> Result<Vec<(String, String)>, IntegError> {
    let xml = run
        .call(&AwsCall::query("iam", "2010-05-08", "ListRoles", &[]).as_role(&Fixture::admin_role(account)))
        .await?;
    let xml = xml.as_str().unwrap_or_default();
    Ok(xml
        .split("<member>")
        .skip(1)
        .filter_map(|role| {
            let name = xml_values(role, "RoleName").into_iter().next()?;
            let session = xml_values(role, "MaxSessionDuration")
                .into_iter()
                .next()
                .unwrap_or_default();
            name.contains("AuditRole").then_some((name, session))
        })
        .collect())
}

/// One instance of `stack_set` in `account` and `region`, as [`Probe::stack_instances`] reads it.
async fn instance(run: &IntegRun, stack_set: &str, account: &str, region: &str) -> Result<Value, IntegError> {
    let all = run.read(&Probe::stack_instances(stack_set)).await?;
    Ok(all
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["Account"] == account && i["Region"] == region)
        .cloned()
        .unwrap_or(Value::Null))
}

/// stackset-healing: the workflow deletes instances of a suspended account and of one that
/// left the organisation, and redeploys a drifted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "deploys: run scripts/integ (local environment) or set CAIRN_INTEG_ACCOUNT=1"]
async fn stackset_healing() {
    require_target();
    let target = Target::from_env();
    assert!(
        matches!(target, Target::Local { .. }) || std::env::var("CAIRN_INTEG_CREATE_ACCOUNTS").is_ok_and(|v| v == "1"),
        "stackset_healing creates, closes and removes member accounts of the organisation: against an account, \
         set CAIRN_INTEG_CREATE_ACCOUNTS=1 to allow it"
    );
    let fixture = organization(&target).await.unwrap();
    let assembly = build_with(&fixture.org).and_then(|mut app| app.synth()).unwrap();
    let case = IntegCase::from_assembly("stackset-healing", &assembly)
        .unwrap()
        .stacks(STACKS)
        // A run loops over five StackSets, a dozen operations, each polled.
        .timeout(Duration::from_secs(300));
    passed(
        case.run(async |run: &mut IntegRun| heal(run, &fixture).await)
            .await,
    );
}

async fn heal(run: &mut IntegRun, f: &Fixture) -> Result<(), IntegError> {
    let [_, workflow] = STACKS;
    run.not_run_locally(
        "Organizations holds the accounts as records (the test creates, closes and removes them); StackSets are \
         modelled by the local environment (local_aws_stacksets.py): instances deploy to the OUs' accounts at \
         once, drift detection compares resource existence, log group retention and IAM roles' session and \
         description only",
    );
    run.not_run_locally(
        "CloudFront serves nothing: the dashboard's viewer-request allow-list function is not run (the test \
         reads the objects in the bucket)",
    );
    run.not_run_locally("the Teams notification posts to a receiver of the test instead of a Teams webhook");
    run.step(format!(
        "organisation: OUs {} (workloads), {} (security), {} (legacy); accounts {} {} {} (workloads), {} (security)",
        f.org.workloads_ou, f.org.security_ou, f.org.legacy_ou, f.workload, f.suspended, f.departed, f.security
    ));
    let members = json!([{"Account": f.workload}, {"Account": f.suspended}, {"Account": f.departed}, {"Account": f.security}]);
    run.expect(
        "baseline-iam is deployed to every account of its OUs",
        Probe::stack_instances("baseline-iam"),
        Expected::like(members),
    )
    .await?;

    // Drift, behind CloudFormation's back, in the security account: the audit role's
    // maximum session (baseline-iam, self-healing) and the security log group's retention
    // (baseline-logging, not self-healing: its log group is kept and named).
    let roles = audit_roles(run, &f.security).await?;
    let Some((role, _)) = roles.first().cloned() else {
        run.check(
            "the security account has the audit role",
            false,
            format!("roles: {roles:?}"),
        );
        return Ok(());
    };
    let before = instance(run, "baseline-iam", &f.security, "us-east-1").await?;
    let logging_before = instance(run, "baseline-logging", &f.security, "eu-west-1").await?;
    let admin = Fixture::admin_role(&f.security);
    run.call(
        &AwsCall::query(
            "iam",
            "2010-05-08",
            "UpdateRole",
            &[
                ("RoleName", role.as_str()),
                (
                    "Description",
                    "Read-only security audit from the security account",
                ),
                ("MaxSessionDuration", "43200"),
            ],
        )
        .as_role(&admin),
    )
    .await?;
    run.call(
        &AwsCall::json(
            "logs",
            "Logs_20140328",
            "PutRetentionPolicy",
            json!({"logGroupName": "/baseline/security", "retentionInDays": 90}),
        )
        .as_role(&admin)
        .in_region("eu-west-1"),
    )
    .await?;
    // One account closed (SUSPENDED), one gone from the organisation.
    run.call(&organizations("CloseAccount", json!({"AccountId": f.suspended})))
        .await?;
    run.call(&organizations(
        "RemoveAccountFromOrganization",
        json!({"AccountId": f.departed}),
    ))
    .await?;

    // The operator's step after deploying: the Teams webhook URL into the secret.
    let teams = run.webhook().await?;
    let secret = run.physical_id_at(workflow, "TeamsWebhookUrl").await?;
    run.call(&AwsCall::json(
        "secretsmanager",
        "secretsmanager",
        "PutSecretValue",
        json!({"SecretId": secret, "SecretString": teams}),
    ))
    .await?;

    let machine = run.output(workflow, "StateMachineArn")?;
    let arn = run
        .start_execution(&machine, &json!({"trigger": "integ"}))
        .await?;
    let execution = run.wait_for_execution(&arn).await?;
    run.expect(
        "the run's summary is posted to Teams",
        Probe::webhook(&teams),
        Expected::like(json!([{"method": "POST", "body": {
            "@type": "MessageCard",
            "title": "StackSet self-healing finished",
            "themeColor": "107C10",
        }}])),
    )
    .await?;
    run.check(
        "the workflow succeeds, healing one instance with no failed operation",
        Expected::like(
            json!({"status": "SUCCEEDED", "output": {"summary": {"healed": 1, "failedOperations": 0}}}),
        )
        .matches(&execution),
        format!("execution: {execution}"),
    );

    for set in STACK_SETS {
        let instances = run.read(&Probe::stack_instances(set.name)).await?;
        let accounts: Vec<&str> = instances
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["Account"].as_str())
            .collect();
        run.check(
            &format!(
                "{}: no instance of the suspended or departed account is left",
                set.name
            ),
            !accounts.contains(&f.suspended.as_str()) && !accounts.contains(&f.departed.as_str()),
            format!("instances: {instances}"),
        );
        let failed: Vec<&Value> = instances
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["DetailedStatus"] != "SUCCEEDED")
            .collect();
        run.check(
            &format!("{}: every instance is deployed (none failed)", set.name),
            failed.is_empty(),
            format!("not deployed: {failed:?}"),
        );
    }
    run.verify(
        "the active workload account keeps its instances",
        Probe::stack_instances("baseline-logging"),
        Expected::like(json!([
            {"Account": f.workload, "Region": "us-east-1"},
            {"Account": f.workload, "Region": "eu-west-1"}
        ])),
    )
    .await;

    let after = instance(run, "baseline-iam", &f.security, "us-east-1").await?;
    run.check(
        "the drifted baseline-iam instance was deleted and deployed again",
        after["DetailedStatus"] == "SUCCEEDED"
            && after["LastOperationId"] != before["LastOperationId"]
            && after["StackId"] != before["StackId"],
        format!("before: {before}; after: {after}"),
    );
    let roles = audit_roles(run, &f.security).await?;
    run.check(
        "the redeployed audit role has the template's maximum session again (3600 s)",
        roles.len() == 1 && roles[0].1 == "3600",
        format!("audit roles (name, maximum session): {roles:?}"),
    );
    let logging_after = instance(run, "baseline-logging", &f.security, "eu-west-1").await?;
    run.check(
        "baseline-logging (not self-healing) is left as it is",
        logging_after["LastOperationId"] == logging_before["LastOperationId"]
            && logging_after["DetailedStatus"] == "SUCCEEDED",
        format!("before: {logging_before}; after: {logging_after}"),
    );

    // The dashboard: what healed and what was removed, with no account id, in a private bucket.
    let dashboard = run.physical_id_at(workflow, "DashboardBucket").await?;
    let masked = |account: &str| format!("********{}", &account[account.len().saturating_sub(4)..]);
    let status = run
        .expect(
            "status.json lists the healed and the removed instances by masked account",
            Probe::object(&dashboard, "status.json"),
            Expected::like(json!({
                "healed": [{"stackSetName": "baseline-iam", "account": masked(&f.security), "region": "us-east-1"}],
                "removed": [
                    {"stackSetName": "baseline-iam", "account": masked(&f.suspended), "reason": "suspended"},
                    {"stackSetName": "budget-alarm", "account": masked(&f.departed), "reason": "left the organisation"}
                ],
            })),
        )
        .await?;
    let page = run.read(&Probe::object(&dashboard, "index.html")).await?;
    let shown = format!("{status}{page}");
    let named: Vec<&String> = [&f.workload, &f.suspended, &f.departed, &f.security]
        .into_iter()
        .filter(|a| shown.contains(a.as_str()))
        .collect();
    run.check(
        "neither status.json nor index.html names an account",
        named.is_empty() && page.as_str().is_some_and(|p| p.contains("StackSet health")),
        format!("account ids shown: {named:?}"),
    );
    order_follows_tags(run).await?;
    run.verify(
        "the dashboard bucket blocks public access",
        Probe::public_access_block(&dashboard),
        Expected::exact(json!({
            "BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true
        })),
    )
    .await;
    Ok(())
}

/// The order parameter's entry of `stack_set`.
async fn order_entry(run: &IntegRun, stack_set: &str) -> Result<Value, IntegError> {
    let parameter = run.read(&Probe::parameter(ORDER_PARAMETER)).await?;
    let order: Value =
        serde_json::from_str(parameter["Value"].as_str().unwrap_or_default()).unwrap_or_default();
    Ok(order["stackSets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == stack_set)
        .cloned()
        .unwrap_or_default())
}

/// Tags changed outside the app (budget-alarm made mandatory with UpdateStackSet): the
/// succeeded operation's event makes StackSetOrderRefresh write the order again.
async fn order_follows_tags(run: &mut IntegRun) -> Result<(), IntegError> {
    let before = order_entry(run, "budget-alarm").await?;
    run.check(
        "budget-alarm is not mandatory in the synthesized order",
        before["mandatory"] == false,
        format!("entry: {before}"),
    );
    run.call(&AwsCall::query(
        "cloudformation",
        "2010-05-15",
        "UpdateStackSet",
        &[
            ("StackSetName", "budget-alarm"),
            ("UsePreviousTemplate", "true"),
            ("Parameters.member.1.ParameterKey", "NotificationEmail"),
            ("Parameters.member.1.UsePreviousValue", "true"),
            ("Tags.member.1.Key", "dependson"),
            ("Tags.member.1.Value", "baseline-logging"),
            ("Tags.member.2.Key", "mandatory"),
            ("Tags.member.2.Value", "true"),
            ("Tags.member.3.Key", "selfhealing"),
            ("Tags.member.3.Value", "true"),
            ("Tags.member.4.Key", "region"),
            ("Tags.member.4.Value", "us-east-1"),
        ],
    ))
    .await?;
    // The event and the function are asynchronous in an account.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut after = order_entry(run, "budget-alarm").await?;
    while after["mandatory"] != true && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = order_entry(run, "budget-alarm").await?;
    }
    run.check(
        "the order follows the tags changed outside the app (budget-alarm mandatory)",
        after["mandatory"] == true && after["dependsOn"] == json!(["baseline-logging"]),
        format!("entry: {after}"),
    );
    Ok(())
}
