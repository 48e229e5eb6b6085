//! rds: Aurora MySQL cluster defaults (encryption, deletion protection, snapshot on removal,
//! log exports with their parameters, generated secret), connections; schema-checked,
//! rule-clean, cfn-lint-clean.

mod common;
use common::{logical, logical_of, synth_clean};

use cairn_aspects::rules::NoPublicIngress;
use cairn_core::{App, Environment, StackProps, Value};
use serde_json::json;

use cairn_constructs::ec2::{SecurityGroup, SecurityGroupProps, SubnetConfiguration, Vpc, VpcProps};
use cairn_constructs::rds::{Credentials, DatabaseCluster, DatabaseClusterProps, LogExport};

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
    // Writer and one reader in the cluster, named as aws-cdk-lib names them, deleted with
    // it (the snapshot keeps the data), in the cluster's subnet group (not repeated).
    let writer = logical(&t, "DbInstance1");
    let reader = logical(&t, "DbInstance2");
    for i in [&writer, &reader] {
        assert_eq!(
            r[i]["Properties"]["DBClusterIdentifier"],
            json!({ "Ref": cluster })
        );
        assert_eq!(r[i]["Properties"]["PubliclyAccessible"], false);
        assert!(r[i]["Properties"].get("DBSubnetGroupName").is_none());
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

#[test]
fn a_port_of_a_cdk_cluster_keeps_its_ids_attachment_and_unencrypted_storage() {
    use cairn_constructs::secretsmanager::{Secret, SecretProps};
    let mut app = App::new();
    let (s, vpc) = network(&mut app);
    let secret = Secret::new(&mut app, s, "DbSecret", SecretProps::default()).unwrap();
    DatabaseCluster::new(
        &mut app,
        s,
        "Db",
        DatabaseClusterProps {
            credentials: Credentials::FromSecret(secret),
            storage_encrypted: false,
            ..DatabaseClusterProps::new(&vpc)
        },
    )
    .unwrap();
    let asm = app.synth().unwrap();
    let t = &asm.stack("Data").unwrap().template;
    let r = &t["Resources"];
    // aws-cdk-lib's logical IDs: `Db/Instance1/Resource`, `DbSecret/Attachment/Resource`.
    assert_eq!(r["DbInstance1ECCAA7D9"]["Type"], "AWS::RDS::DBInstance");
    assert_eq!(
        r["DbInstance22B2E6D28"]["DependsOn"],
        json!(["DbInstance1ECCAA7D9"])
    );
    let attachment = &r["DbSecretAttachment0609CE05"];
    assert_eq!(
        attachment["Properties"]["SecretId"],
        json!({ "Ref": "DbSecret685A0FA5" })
    );
    assert_eq!(
        attachment["Properties"]["TargetId"],
        json!({ "Ref": "Db5D02A0A9" })
    );
    assert!(r["Db5D02A0A9"]["Properties"].get("StorageEncrypted").is_none());
}

#[test]
fn instance_ids_are_chosen_and_counted() {
    let mut app = App::new();
    let (s, vpc) = network(&mut app);
    DatabaseCluster::new(
        &mut app,
        s,
        "Db",
        DatabaseClusterProps {
            instance_ids: vec!["Writer".into(), "Reader1".into()],
            ..DatabaseClusterProps::new(&vpc)
        },
    )
    .unwrap();
    let err = DatabaseCluster::new(
        &mut app,
        s,
        "Other",
        DatabaseClusterProps {
            instance_ids: vec!["Only".into()],
            ..DatabaseClusterProps::new(&vpc)
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("Data/Other") && err.contains("instance_ids names 1"),
        "{err}"
    );
    let asm = app.synth().unwrap();
    let t = &asm.stack("Data").unwrap().template;
    let ids: Vec<&String> = t["Resources"].as_object().unwrap().keys().collect();
    assert!(ids.iter().any(|i| i.starts_with("DbWriter")), "{ids:?}");
    assert!(ids.iter().any(|i| i.starts_with("DbReader1")), "{ids:?}");
}
