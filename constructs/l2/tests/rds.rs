//! rds: Aurora MySQL cluster defaults (encryption, deletion protection, snapshot on removal,
//! log exports with their parameters, generated secret), connections; schema-checked,
//! rule-clean, cfn-lint-clean.

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_aspects::rules::NoPublicIngress;
use cairn_aspects::{Mode, RuleSet};
use cairn_core::{App, Environment, StackProps, Value};
use serde_json::{json, Value as Json};

use cairn_constructs::ec2::{SecurityGroup, SecurityGroupProps, SubnetConfiguration, Vpc, VpcProps};
use cairn_constructs::rds::{Credentials, DatabaseCluster, DatabaseClusterProps, LogExport};

/// Synthesizes stack `stack` with the schema validator on and every recommended rule in
/// `Mode::Error` (public ingress allow-listed as given); asserts no finding, runs cfn-lint.
fn synth_clean(mut app: App, stack: &str, allow: &[(i64, String)], name: &str) -> Json {
    app.add_validator_once(cairn_cfn::SchemaValidator::new());
    let mut ingress = NoPublicIngress::default();
    for (port, path) in allow {
        ingress = ingress.allow(*port, path);
    }
    let mut rules = RuleSet::recommended();
    for (info, _) in RuleSet::recommended().rules() {
        rules = rules.mode(info.id, Mode::Error);
    }
    let root = app.root();
    let findings = rules.rule(ingress, Mode::Error).apply(&mut app, root);
    let asm = match app.synth() {
        Ok(a) => a,
        Err(e) => panic!("{name}: synthesis failed: {e}"),
    };
    assert!(
        findings.borrow().is_empty(),
        "{name}: findings {:#?}",
        findings.borrow()
    );
    let template = asm.stack(stack).expect("stack").template.clone();
    cfn_lint(&template, name);
    template
}

/// Runs cfn-lint (from `$CFN_LINT`) over the template; errors fail the test.
fn cfn_lint(template: &Json, name: &str) {
    let Ok(bin) = std::env::var("CFN_LINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CFN_LINT is not set; the test command sets it (scripts/test)"
        );
        eprintln!("note: CFN_LINT not set, cfn-lint check of {name} skipped (run scripts/test)");
        return;
    };
    assert!(Path::new(&bin).exists(), "CFN_LINT={bin} does not exist");
    let dir = std::env::temp_dir().join(format!("cairn-l2-rds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file: PathBuf = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_string_pretty(template).expect("json")).expect("write");
    let out = Command::new(&bin).arg(&file).output().expect("cfn-lint runs");
    let code = out.status.code().unwrap_or(1);
    assert!(
        code & 2 == 0 && (code & !(2 | 4 | 8)) == 0,
        "cfn-lint found errors in {name}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn of_type<'a>(t: &'a Json, ty: &str) -> Vec<(&'a String, &'a Json)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

/// The logical ID `<prefix><8 hex digits>` (a construct's `Resource`, or a child resource).
fn logical(t: &Json, prefix: &str) -> String {
    let ids: Vec<&String> = t["Resources"]
        .as_object()
        .expect("resources")
        .keys()
        .filter(|k| {
            k.len() == prefix.len() + 8
                && k.starts_with(prefix)
                && k[prefix.len()..].chars().all(|c| c.is_ascii_hexdigit())
        })
        .collect();
    assert_eq!(ids.len(), 1, "one resource {prefix}XXXXXXXX: {ids:?}");
    ids[0].clone()
}

/// The one logical ID of a type starting with `prefix`.
fn logical_of(t: &Json, prefix: &str, ty: &str) -> String {
    let ids: Vec<&String> = of_type(t, ty)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(prefix))
        .collect();
    assert_eq!(ids.len(), 1, "one {ty} starting with {prefix}: {ids:?}");
    ids[0].clone()
}

fn network(app: &mut App) -> (cairn_core::Stack, Vpc) {
    let s = app.stack("Data").unwrap();
    let vpc = Vpc::new(
        app,
        s,
        "Vpc",
        VpcProps {
            subnet_configuration: vec![
                SubnetConfiguration::public("Public").cidr_mask(24),
                SubnetConfiguration::private_with_egress("App").cidr_mask(22),
                SubnetConfiguration::isolated("Db").cidr_mask(24),
            ],
            nat_gateways: Some(1),
            ..VpcProps::default()
        },
    )
    .unwrap();
    (s, vpc)
}

#[test]
fn cluster_defaults_are_encrypted_protected_snapshotted_and_logged() {
    let mut app = App::new();
    let (s, vpc) = network(&mut app);
    let db = DatabaseCluster::new(&mut app, s, "Db", DatabaseClusterProps::new(&vpc)).unwrap();
    let api = SecurityGroup::new(&mut app, s, "Api", SecurityGroupProps::new(&vpc, "api")).unwrap();
    db.allow_from(&mut app, &api).unwrap();
    assert_eq!(db.port(), 3306);
    let t = synth_clean(app, "Data", &[], "aurora");
    let r = &t["Resources"];
    let cluster = logical(&t, "Db");
    let c = &r[&cluster];
    let p = &c["Properties"];
    assert_eq!(p["Engine"], "aurora-mysql");
    assert_eq!(p["StorageEncrypted"], true);
    assert_eq!(p["DeletionProtection"], true);
    assert_eq!(p["BackupRetentionPeriod"], 7);
    assert_eq!(
        p["EnableCloudwatchLogsExports"],
        json!(["audit", "error", "general", "slowquery"])
    );
    assert_eq!(c["DeletionPolicy"], "Snapshot");
    assert_eq!(c["UpdateReplacePolicy"], "Snapshot");
    // The log exports switch their logs on in the parameter group.
    let pg = logical(&t, "DbClusterParameterGroup");
    assert_eq!(p["DBClusterParameterGroupName"], json!({ "Ref": pg }));
    let params = &r[&pg]["Properties"];
    assert_eq!(params["Family"], "aurora-mysql8.0");
    assert_eq!(params["Parameters"]["server_audit_logging"], "1");
    assert_eq!(params["Parameters"]["slow_query_log"], "1");
    assert_eq!(params["Parameters"]["log_output"], "FILE");
    // Subnet group over the isolated subnets.
    let group = logical(&t, "DbSubnets");
    assert_eq!(p["DBSubnetGroupName"], json!({ "Ref": group }));
    let db1 = logical(&t, "VpcDbSubnet1Subnet");
    assert_eq!(r[&group]["Properties"]["SubnetIds"][0], json!({ "Ref": db1 }));
    // Credentials from a generated secret, attached to the cluster.
    let secret = logical(&t, "DbSecret");
    assert_eq!(
        r[&secret]["Properties"]["GenerateSecretString"]["SecretStringTemplate"],
        "{\"username\":\"admin\"}"
    );
    assert_eq!(r[&secret]["DeletionPolicy"], "Retain");
    assert_eq!(
        p["MasterUserPassword"],
        json!({ "Fn::Join": ["", ["{{resolve:secretsmanager:", { "Ref": secret }, ":SecretString:password::}}"]] })
    );
    let attachment = logical(&t, "DbSecretAttachment");
    assert_eq!(
        r[&attachment]["Properties"]["TargetId"],
        json!({ "Ref": cluster })
    );
    // Writer and one reader in the cluster, deleted with it (the snapshot keeps the data).
    let writer = logical(&t, "DbWriter");
    let reader = logical(&t, "DbReader1");
    for i in [&writer, &reader] {
        assert_eq!(
            r[i]["Properties"]["DBClusterIdentifier"],
            json!({ "Ref": cluster })
        );
        assert_eq!(r[i]["Properties"]["PubliclyAccessible"], false);
        assert_eq!(r[i]["DeletionPolicy"], "Delete");
    }
    assert_eq!(r[&reader]["DependsOn"], json!([writer]));
    // Api may connect on 3306 through an ingress resource on the cluster's group.
    let sg = logical(&t, "DbSecurityGroup");
    assert_eq!(
        p["VpcSecurityGroupIds"],
        json!([{ "Fn::GetAtt": [sg, "GroupId"] }])
    );
    let rule = logical_of(&t, "DbSecurityGroupfromDataApi", "AWS::EC2::SecurityGroupIngress");
    assert_eq!(r[&rule]["Properties"]["FromPort"], 3306);
    let api = logical(&t, "Api");
    assert_eq!(
        r[&rule]["Properties"]["SourceSecurityGroupId"],
        json!({ "Fn::GetAtt": [api, "GroupId"] })
    );
}

#[test]
fn managed_password_kms_key_and_no_log_exports() {
    let mut app = App::new();
    let (s, vpc) = network(&mut app);
    let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let db = DatabaseCluster::new(
        &mut app,
        s,
        "Db",
        DatabaseClusterProps {
            credentials: Credentials::Managed {
                username: "dbadmin".into(),
                kms_key: Some(Value::from(key)),
            },
            storage_kms_key: Some(Value::from(key)),
            log_exports: vec![LogExport::Error],
            readers: 0,
            ..DatabaseClusterProps::new(&vpc)
        },
    )
    .unwrap();
    assert!(db.secret().is_none());
    let t = synth_clean(app, "Data", &[], "aurora-managed");
    let r = &t["Resources"];
    let p = &r[&logical(&t, "Db")]["Properties"];
    assert_eq!(p["ManageMasterUserPassword"], true);
    assert_eq!(p["MasterUsername"], "dbadmin");
    assert_eq!(p["MasterUserSecret"]["KmsKeyId"], key);
    assert_eq!(p["KmsKeyId"], key);
    assert!(p.get("MasterUserPassword").is_none());
    assert!(
        p.get("DBClusterParameterGroupName").is_none(),
        "the error log needs no parameters"
    );
    assert!(r.as_object().unwrap().keys().all(|k| !k.starts_with("DbReader")));
}

#[test]
fn bad_settings_are_errors_naming_the_cluster() {
    let mut app = App::new();
    let (s, vpc) = network(&mut app);
    let err = DatabaseCluster::new(
        &mut app,
        s,
        "Db",
        DatabaseClusterProps {
            engine_version: "16.2".into(),
            ..DatabaseClusterProps::new(&vpc)
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("'Data/Db'") && err.to_string().contains("Aurora MySQL"),
        "{err}"
    );
    let err = DatabaseCluster::new(
        &mut app,
        s,
        "Pub",
        DatabaseClusterProps {
            subnet_type: Some(cairn_constructs::ec2::SubnetType::Public),
            ..DatabaseClusterProps::new(&vpc)
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("private subnets"), "{err}");
    let _ = (
        Environment::default(),
        StackProps::default(),
        NoPublicIngress::default(),
    );
}
