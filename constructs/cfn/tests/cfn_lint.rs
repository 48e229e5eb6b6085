//! Cross-check with cfn-lint: templates with one deliberate property mistake each must be
//! rejected by cairn's `SchemaValidator` and reported as an error by cfn-lint on the same
//! property.
//!
//! Runs the cfn-lint at `$CFN_LINT` (`scripts/test` sets it to the pinned one in
//! `.tools/venv`). Without it the test fails under CI (`$CI` set) and is skipped, with a
//! note, elsewhere.

use std::path::Path;
use std::process::Command;

use cairn_cfn::SchemaValidator;
use cairn_core::{App, CfnResource, Value};
use serde_json::json;

struct Case {
    name: &'static str,
    resource_type: &'static str,
    properties: serde_json::Value,
    /// The property the mistake is on, as `Properties` or `Properties.Name`.
    property: &'static str,
}

fn cases() -> Vec<Case> {
    let key = json!([{"AttributeName": "pk", "KeyType": "HASH"}]);
    vec![
        Case {
            name: "bad enum",
            resource_type: "AWS::DynamoDB::Table",
            properties: json!({"KeySchema": key, "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQ"}),
            property: "Properties.BillingMode",
        },
        Case {
            name: "wrong type",
            resource_type: "AWS::SQS::Queue",
            properties: json!({"DelaySeconds": ["5"]}),
            property: "Properties.DelaySeconds",
        },
        Case {
            name: "unknown property",
            resource_type: "AWS::S3::Bucket",
            properties: json!({"BucketNam": "logs"}),
            property: "Properties.BucketNam",
        },
        Case {
            name: "missing required",
            resource_type: "AWS::DynamoDB::Table",
            properties: json!({"BillingMode": "PAY_PER_REQUEST"}),
            property: "Properties",
        },
        Case {
            name: "pattern",
            resource_type: "AWS::S3::Bucket",
            properties: json!({"BucketName": "Logs_Bucket"}),
            property: "Properties.BucketName",
        },
        Case {
            name: "length",
            resource_type: "AWS::SNS::Topic",
            properties: json!({"TopicName": "t".repeat(257)}),
            property: "Properties.TopicName",
        },
        Case {
            name: "range",
            resource_type: "AWS::SQS::Queue",
            properties: json!({"DelaySeconds": 901}),
            property: "Properties.DelaySeconds",
        },
        Case {
            name: "array length",
            resource_type: "AWS::Lambda::Function",
            properties: json!({
                "Code": {"ZipFile": "exports.handler = async () => {};"},
                "Handler": "index.handler",
                "Runtime": "nodejs20.x",
                "Role": "arn:aws:iam::123456789012:role/fn",
                "Architectures": ["x86_64", "arm64"]
            }),
            property: "Properties.Architectures",
        },
        Case {
            name: "oneOf",
            resource_type: "AWS::Events::Connection",
            properties: json!({
                "AuthorizationType": "API_KEY",
                "AuthParameters": {
                    "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
                    "BasicAuthParameters": {"Username": "u", "Password": "p"}
                }
            }),
            property: "Properties.AuthParameters",
        },
    ]
}

/// `Properties.A[0].B` -> `["Properties", "A", "0", "B"]`.
fn segments(path: &str) -> Vec<String> {
    path.replace('[', ".")
        .replace(']', "")
        .split('.')
        .map(String::from)
        .collect()
}

#[test]
fn cairn_and_cfn_lint_reject_the_same_mistakes() {
    let Some(cfn_lint) = std::env::var_os("CFN_LINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CFN_LINT is not set: under CI the cfn-lint comparison must run (scripts/test sets it)"
        );
        eprintln!("note: CFN_LINT is not set; skipping the cfn-lint comparison");
        return;
    };
    let dir = std::env::temp_dir().join(format!("cairn-cfn-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    let cases = cases();
    let mut files = Vec::new();
    let mut cairn = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let Value::Map(props) = Value::from_json(&case.properties) else {
            unreachable!()
        };

        // cairn: every error is on the mistaken property.
        let errors = SchemaValidator::new().check(case.resource_type, &props);
        if errors.is_empty() {
            failures.push(format!("{}: cairn found no error", case.name));
        }
        for e in &errors {
            if !(e.path == case.property
                || e.path.starts_with(&format!("{}.", case.property))
                || e.path.starts_with(&format!("{}[", case.property)))
            {
                failures.push(format!(
                    "{}: cairn error elsewhere: {}: {}",
                    case.name, e.path, e.message
                ));
            }
        }

        // The template as cairn synthesizes it (no validator: the mistake must get through).
        let mut app = App::new();
        let stack = app.stack("Check").unwrap();
        let mut resource = CfnResource::new(case.resource_type);
        resource.properties = props.clone();
        let node = app.add(stack, "R", resource).unwrap().node();
        app.override_logical_id(node, "R").unwrap();
        let assembly = app.synth().unwrap();
        let file = dir.join(format!("case{i}.json"));
        std::fs::write(&file, assembly.stack("Check").unwrap().template_json()).unwrap();

        files.push(file);
        cairn.push(errors);
    }
    let lint_all = cfn_lint_errors(Path::new(&cfn_lint), &files);
    for (i, case) in cases.iter().enumerate() {
        let errors = &cairn[i];
        let lint: Vec<&(Vec<String>, String)> =
            lint_all.iter().filter(|(f, _)| *f == i).map(|(_, e)| e).collect();
        let want: Vec<String> = ["Resources".to_string(), "R".to_string()]
            .into_iter()
            .chain(segments(case.property))
            .collect();
        let hit = lint
            .iter()
            .any(|(path, _)| path.len() >= want.len() && path[..want.len()] == want[..]);
        if !hit {
            failures.push(format!(
                "{}: cfn-lint reported no error at {} (cairn: {:?}; cfn-lint: {:?})",
                case.name,
                want.join("/"),
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.path, e.message))
                    .collect::<Vec<_>>(),
                lint
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// cfn-lint's errors (not warnings) for all files in one run, as (file index, (path, message)).
fn cfn_lint_errors(cfn_lint: &Path, files: &[std::path::PathBuf]) -> Vec<(usize, (Vec<String>, String))> {
    let out = Command::new(cfn_lint)
        .args(["--format", "json", "--regions", "us-east-1", "--"])
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", cfn_lint.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "cfn-lint output is not JSON ({e}): {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let index = |name: &str| {
        files
            .iter()
            .position(|f| Path::new(name) == f.as_path() || f.ends_with(name))
    };
    report
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["Level"] == "Error")
        .filter_map(|m| {
            let file = index(m["Filename"].as_str().unwrap_or_default())?;
            let path = m["Location"]["Path"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| match s {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            Some((
                file,
                (path, m["Message"].as_str().unwrap_or_default().to_string()),
            ))
        })
        .collect()
}
