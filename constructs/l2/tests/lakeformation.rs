//! lakeformation: settings, registered locations, typed permissions and their validation.

mod common;
use common::{logical_of, of_type, synth_clean};

use cairn_constructs::glue::{Database, DatabaseProps};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::lakeformation::{
    grant_data_access, DataLakeLocation, DataLakeLocationProps, DataLakeSettings, DataLakeSettingsProps,
    LfResource, Permission, Permissions, PermissionsProps,
};
use cairn_constructs::s3::{Bucket, BucketProps};
use cairn_core::{App, Value};
use serde_json::json;

#[test]
fn grants_name_the_principal_the_resource_and_wait_for_the_settings() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let db = Database::new(&mut app, stack, "Db", DatabaseProps::new("sales")).unwrap();
    let zone = Bucket::new(&mut app, stack, "Zone", BucketProps::default()).unwrap();
    let analyst = Role::new(
        &mut app,
        stack,
        "Analyst",
        RoleProps::new(Principal::account("123456789012")),
    )
    .unwrap();
    let settings = DataLakeSettings::new(
        &mut app,
        stack,
        "Settings",
        DataLakeSettingsProps::new(vec![Value::from("arn:aws:iam::123456789012:role/admin")]),
    )
    .unwrap();
    let location =
        DataLakeLocation::new(&mut app, stack, "Location", DataLakeLocationProps::new(&zone)).unwrap();
    let grants = [
        ("DbGrant", LfResource::database(&db), vec![Permission::Describe]),
        (
            "TablesGrant",
            LfResource::all_tables(&db),
            vec![Permission::Select, Permission::Describe, Permission::Select],
        ),
        (
            "LocGrant",
            LfResource::bucket(&zone),
            vec![Permission::DataLocationAccess],
        ),
    ];
    for (id, resource, perms) in grants {
        let p = Permissions::new(
            &mut app,
            stack,
            id,
            PermissionsProps::new(analyst.arn(), resource, perms),
        )
        .unwrap();
        p.depends_on_settings(&mut app, &settings).unwrap();
        p.depends_on(&mut app, location.resource().node()).unwrap();
    }
    grant_data_access(&mut app, &analyst).unwrap();
    let t = synth_clean(app, "S", &[], "lake formation");

    let role = logical_of(&t, "Analyst", "AWS::IAM::Role");
    let db_id = logical_of(&t, "Db", "AWS::Glue::Database");
    let zone_id = logical_of(&t, "Zone", "AWS::S3::Bucket");
    let settings_id = logical_of(&t, "Settings", "AWS::LakeFormation::DataLakeSettings");
    let location_id = logical_of(&t, "Location", "AWS::LakeFormation::Resource");
    assert_eq!(
        t["Resources"][&settings_id]["Properties"],
        json!({
            "Admins": [{ "DataLakePrincipalIdentifier": "arn:aws:iam::123456789012:role/admin" }],
            "CreateDatabaseDefaultPermissions": [],
            "CreateTableDefaultPermissions": [],
        })
    );
    assert_eq!(
        t["Resources"][&location_id]["Properties"],
        json!({ "ResourceArn": { "Fn::GetAtt": [zone_id, "Arn"] }, "UseServiceLinkedRole": true })
    );
    let principal = json!({ "DataLakePrincipalIdentifier": { "Fn::GetAtt": [role, "Arn"] } });
    let by_id = |prefix: &str| {
        let id = logical_of(&t, prefix, "AWS::LakeFormation::Permissions");
        t["Resources"][&id].clone()
    };
    let db_grant = by_id("DbGrant");
    assert_eq!(db_grant["Properties"]["DataLakePrincipal"], principal);
    assert_eq!(db_grant["Properties"]["Permissions"], json!(["DESCRIBE"]));
    assert_eq!(
        db_grant["Properties"]["Resource"],
        json!({ "DatabaseResource": { "CatalogId": { "Ref": "AWS::AccountId" }, "Name": { "Ref": db_id } } })
    );
    assert_eq!(
        db_grant["DependsOn"],
        json!([location_id, settings_id])
            .as_array()
            .map(|a| {
                let mut v = a.clone();
                v.sort_by_key(|x| x.as_str().unwrap().to_string());
                json!(v)
            })
            .unwrap()
    );
    let tables = by_id("TablesGrant");
    // Duplicates are dropped.
    assert_eq!(tables["Properties"]["Permissions"], json!(["SELECT", "DESCRIBE"]));
    assert_eq!(
        tables["Properties"]["Resource"]["TableResource"]["TableWildcard"],
        json!({})
    );
    let loc = by_id("LocGrant");
    assert_eq!(
        loc["Properties"]["Resource"]["DataLocationResource"]["S3Resource"],
        json!({ "Fn::GetAtt": [zone_id, "Arn"] })
    );
    let policies = of_type(&t, "AWS::IAM::Policy");
    assert_eq!(policies.len(), 1);
    assert_eq!(
        policies[0].1["Properties"]["PolicyDocument"]["Statement"],
        json!([{ "Effect": "Allow", "Action": "lakeformation:GetDataAccess", "Resource": "*" }])
    );
}

#[test]
fn permissions_that_do_not_apply_and_missing_admins_are_errors() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let db = Database::new(&mut app, stack, "Db", DatabaseProps::new("sales")).unwrap();
    let wrong = Permissions::new(
        &mut app,
        stack,
        "Wrong",
        PermissionsProps::new(
            Value::from("arn:aws:iam::123456789012:role/x"),
            LfResource::database(&db),
            [Permission::Select, Permission::Describe],
        ),
    );
    let none = Permissions::new(
        &mut app,
        stack,
        "None",
        PermissionsProps::new(
            Value::from("arn:aws:iam::123456789012:role/x"),
            LfResource::database(&db),
            [],
        ),
    );
    let settings = DataLakeSettings::new(&mut app, stack, "Settings", DataLakeSettingsProps::new(vec![]));
    for (err, needles) in [
        (
            wrong.unwrap_err().to_string(),
            [
                "'S/Wrong': ",
                "SELECT cannot be granted on a database; use ALL, ALTER, DROP, DESCRIBE, CREATE_TABLE",
            ],
        ),
        (
            none.unwrap_err().to_string(),
            ["'S/None': ", "at least one permission"],
        ),
        (
            settings.unwrap_err().to_string(),
            ["'S/Settings': ", "at least one administrator"],
        ),
    ] {
        for needle in needles {
            assert!(err.contains(needle), "{needle} in {err}");
        }
    }
}

#[test]
fn iam_allowed_principals_can_be_kept() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    DataLakeSettings::new(
        &mut app,
        stack,
        "Settings",
        DataLakeSettingsProps {
            iam_allowed_principals_default: true,
            ..DataLakeSettingsProps::new(vec![Value::from("arn:aws:iam::123456789012:role/admin")])
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "settings");
    let id = logical_of(&t, "Settings", "AWS::LakeFormation::DataLakeSettings");
    let everyone = json!([{ "Permissions": ["ALL"], "Principal": { "DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS" } }]);
    assert_eq!(
        t["Resources"][&id]["Properties"]["CreateTableDefaultPermissions"],
        everyone
    );
    assert_eq!(
        t["Resources"][&id]["Properties"]["CreateDatabaseDefaultPermissions"],
        everyone
    );
}
