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
