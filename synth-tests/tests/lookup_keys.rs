//! Twin check of context lookups: aws-cdk-lib (synth-tests/twins/lookups.js, run by node)
//! and cairn report the same missing lookups, key for key and prop for prop (in order), so
//! a `cdk.context.json` written by either CLI serves both apps.

use std::path::Path;
use std::process::Command;

use cairn::ec2::{
    Instance, InstanceProps, LookupMachineImageProps, MachineImage, Vpc, VpcLookupOptions, VpcProps,
};
use cairn::route53::{HostedZone, HostedZoneLookup};
use cairn::ssm::StringParameter;
use cairn::{App, Environment, StackProps};
use serde_json::Value as Json;

fn cairn_missing() -> String {
    let mut app = App::new();
    let env = Some(Environment::new("123456789012", "eu-west-1"));
    let stack = app
        .stack_with(
            app.root(),
            "Net",
            StackProps {
                env,
                ..StackProps::default()
            },
        )
        .unwrap();
    let vpc = Vpc::from_lookup(
        &mut app,
        stack,
        "Shared",
        VpcLookupOptions {
            tags: vec![("team".into(), "core".into())],
            vpc_name: Some("main:blue$1".into()),
            ..VpcLookupOptions::default()
        },
    )
    .unwrap();
    Vpc::from_lookup(
        &mut app,
        stack,
        "Default",
        VpcLookupOptions {
            is_default: Some(true),
            region: Some("eu-west-2".into()),
            subnet_group_name_tag: Some("tier".into()),
            ..VpcLookupOptions::default()
        },
    )
    .unwrap();
    let image = MachineImage::lookup(LookupMachineImageProps {
        name: "al2023-ami-*".into(),
        owners: vec!["amazon".into()],
        windows: true,
        ..LookupMachineImageProps::default()
    });
    Instance::new(
        &mut app,
        stack,
        "Web",
        InstanceProps::new(&vpc, "t3.micro", image),
    )
    .unwrap();
    StringParameter::value_from_lookup(&mut app, stack, "/app/color", Some("blue")).unwrap();
    StringParameter::value_from_lookup(&mut app, stack, "/app/size", None).unwrap();
    HostedZone::from_lookup(&mut app, stack, "Zone", HostedZoneLookup::domain("example.com")).unwrap();
    HostedZone::from_lookup(
        &mut app,
        stack,
        "Internal",
        HostedZoneLookup {
            domain_name: "corp.internal".into(),
            private_zone: Some(true),
            vpc_id: Some("vpc-0abc".into()),
        },
    )
    .unwrap();
    Vpc::new(&mut app, stack, "Own", VpcProps::default()).unwrap();
    serde_json::to_string(&app.synth().unwrap().missing()).unwrap()
}

#[test]
fn cairn_reports_the_lookups_aws_cdk_lib_reports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let modules = std::env::var_os("CAIRN_TWINS_NODE_MODULES")
        .map_or_else(|| root.join(".tools/twins/node_modules"), Into::into);
    assert!(
        modules.join("aws-cdk-lib/package.json").is_file(),
        "aws-cdk-lib is not installed in {}: run scripts/lib/install-tools",
        modules.display()
    );
    let out = std::env::temp_dir().join(format!("cairn-lookup-twin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
        .arg(root.join("synth-tests/twins/lookups.js"))
        .env("NODE_PATH", &modules)
        .env("CDK_OUTDIR", &out)
        .env_remove("CDK_CONTEXT_JSON")
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest: Json =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let cdk = serde_json::to_string(&manifest["missing"]).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(cairn_missing(), cdk);
}
