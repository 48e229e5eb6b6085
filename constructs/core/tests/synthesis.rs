//! Synthesis end to end through the public API: references, exports, limits, errors.

use cairn_core::{
    App, CfnResource, Environment, Error, Level, Output, Parameter, RemovalPolicy, StackProps, SynthOptions,
    Value,
};
use serde_json::json;

fn topic() -> CfnResource {
    CfnResource::new("AWS::SNS::Topic")
}

fn template(app: &mut App, stack: &str) -> serde_json::Value {
    app.synth().unwrap().stack(stack).unwrap().template.json().clone()
}

#[test]
fn logical_ids_follow_the_cdk_rule() {
    let mut app = App::new();
    let stack = app.stack("MyStack").unwrap();
    app.add(stack, "MyBucket", CfnResource::new("AWS::S3::Bucket"))
        .unwrap();
    let group = app.construct(stack, "Group").unwrap();
    app.add(group, "Jobs", topic()).unwrap();
    let l2 = app.construct(stack, "Logs").unwrap();
    app.add(l2, "Resource", CfnResource::new("AWS::Logs::LogGroup"))
        .unwrap();
    let d = app.construct(stack, "Queue").unwrap();
    app.add(d, "Default", CfnResource::new("AWS::SQS::Queue"))
        .unwrap();
    let t = template(&mut app, "MyStack");
    let ids: Vec<&String> = t["Resources"].as_object().unwrap().keys().collect();
    // Values computed with aws-cdk-lib's makeUniqueId for the same paths.
    assert_eq!(ids, ["MyBucket", "GroupJobsA8FAB84E", "Logs6819BB44", "Queue"]);
}

#[test]
fn logical_id_override_and_collision() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let a = app.add(stack, "A", topic()).unwrap();
    app.override_logical_id(a, "Renamed").unwrap();
    assert!(template(&mut app, "S")["Resources"].get("Renamed").is_some());

    let b = app.add(stack, "B", topic()).unwrap();
    app.override_logical_id(b, "Renamed").unwrap();
    let err = app.synth().unwrap_err();
    assert_eq!(
        err.to_string(),
        "logical ID collision in stack 'S': 'S/A' and 'S/B' both get 'Renamed'; rename one of them or override its logical ID"
    );
    assert!(matches!(
        app.override_logical_id(b, "not-valid"),
        Err(Error::InvalidLogicalId { .. })
    ));
}

#[test]
fn cross_stack_reference_exports_imports_and_orders() {
    let mut app = App::new();
    let producer = app.stack("Producer").unwrap();
    let queue = app
        .add(producer, "Queue", CfnResource::new("AWS::SQS::Queue"))
        .unwrap();
    let consumer = app.stack("Consumer").unwrap();
    app.add(
        consumer,
        "Sub",
        CfnResource::new("AWS::SNS::Subscription")
            .with("Endpoint", queue.attr("Arn"))
            .with("Other", queue.ref_()),
    )
    .unwrap();
    let asm = app.synth().unwrap();
    let p = &asm.stack("Producer").unwrap().template;
    let c = asm.stack("Consumer").unwrap();
    assert_eq!(
        p["Outputs"]["ExportsOutputFnGetAttQueueArn042C0F02"],
        json!({"Value": {"Fn::GetAtt": ["Queue", "Arn"]}, "Export": {"Name": "Producer:ExportsOutputFnGetAttQueueArn042C0F02"}})
    );
    assert_eq!(
        c.template["Resources"]["Sub"]["Properties"]["Endpoint"],
        json!({"Fn::ImportValue": "Producer:ExportsOutputFnGetAttQueueArn042C0F02"})
    );
    assert!(
        c.template["Resources"]["Sub"]["Properties"]["Other"]["Fn::ImportValue"]
            .as_str()
            .unwrap()
            .starts_with("Producer:ExportsOutputRefQueue")
    );
    assert_eq!(c.dependencies, ["Producer"]);
    assert!(asm.stack("Producer").unwrap().dependencies.is_empty());
}

#[test]
fn cross_environment_reference_is_an_error() {
    let mut app = App::new();
    let root = app.root();
    let a = app
        .stack_with(
            root,
            "A",
            StackProps {
                env: Some(Environment::new("111111111111", "eu-west-1")),
                ..Default::default()
            },
        )
        .unwrap();
    let q = app.add(a, "Queue", CfnResource::new("AWS::SQS::Queue")).unwrap();
    let b = app
        .stack_with(
            root,
            "B",
            StackProps {
                env: Some(Environment::new("111111111111", "us-east-1")),
                ..Default::default()
            },
        )
        .unwrap();
    app.add(b, "Sub", topic().with("X", q.attr("Arn"))).unwrap();
    let err = app.synth().unwrap_err();
    assert!(matches!(err, Error::CrossEnvironmentReference { .. }));
    let msg = err.to_string();
    assert!(msg.contains("'B/Sub' references 'A/Queue'"), "{msg}");
    assert!(
        msg.contains("aws://111111111111/us-east-1 vs aws://111111111111/eu-west-1"),
        "{msg}"
    );
    assert!(msg.contains("SSM parameter"), "{msg}");
}

#[test]
fn dependency_cycle_is_an_error_listing_it() {
    let mut app = App::new();
    let a = app.stack("A").unwrap();
    let b = app.stack("B").unwrap();
    let c = app.stack("C").unwrap();
    let ta = app.add(a, "T", topic()).unwrap();
    let tb = app.add(b, "T", topic().with("X", ta.ref_())).unwrap();
    app.add(c, "T", topic().with("X", tb.ref_())).unwrap();
    app.add_dependency(a, c).unwrap();
    let err = app.synth().unwrap_err();
    assert_eq!(
        err.to_string(),
        "stack dependency cycle: A -> C -> B -> A; remove one of the references or explicit dependencies"
    );
}

#[test]
fn resource_limit() {
    let mut app = App::new();
    let s = app.stack("Big").unwrap();
    for i in 0..501 {
        app.add(s, &format!("T{i}"), topic()).unwrap();
    }
    let err = app.synth().unwrap_err();
    assert_eq!(
        err.to_string(),
        "stack 'Big' has 501 resources, over CloudFormation's limit of 500; split it into several stacks"
    );
}

#[test]
fn parameter_and_output_limits() {
    let mut app = App::new();
    let s = app.stack("P").unwrap();
    for i in 0..201 {
        app.parameter(s, &format!("P{i}"), Parameter::string()).unwrap();
    }
    assert!(matches!(
        app.synth().unwrap_err(),
        Error::LimitExceeded {
            what: "parameters",
            count: 201,
            limit: 200,
            ..
        }
    ));

    let mut app = App::new();
    let s = app.stack("O").unwrap();
    for i in 0..201 {
        app.output(s, &format!("O{i}"), Output::new("x")).unwrap();
    }
    assert!(matches!(
        app.synth().unwrap_err(),
        Error::LimitExceeded {
            what: "outputs",
            count: 201,
            limit: 200,
            ..
        }
    ));
}

#[test]
fn exports_count_towards_the_output_limit() {
    let mut app = App::new();
    let p = app.stack("P").unwrap();
    let c = app.stack("C").unwrap();
    for i in 0..200 {
        app.output(p, &format!("O{i}"), Output::new("x")).unwrap();
    }
    let t = app.add(p, "T", topic()).unwrap();
    app.add(c, "U", topic().with("X", t.ref_())).unwrap();
    assert!(matches!(
        app.synth().unwrap_err(),
        Error::LimitExceeded {
            what: "outputs",
            count: 201,
            ..
        }
    ));
}

#[test]
fn template_size_warns_then_fails() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    app.add(s, "T", topic().with("Big", "x".repeat(60_000))).unwrap();
    let asm = app.synth().unwrap();
    assert!(asm
        .diagnostics()
        .iter()
        .any(|d| d.level == Level::Warning && d.path == "S" && d.message.contains("over the 51200 bytes")));
    // The warning lands in the manifest metadata too.
    assert!(asm.stack("S").unwrap().metadata["/S"][0].kind == "aws:cdk:warning");

    let mut app = App::new();
    let s = app.stack("S").unwrap();
    for i in 0..20 {
        app.add(s, &format!("T{i}"), topic().with("Big", "x".repeat(60_000)))
            .unwrap();
    }
    let err = app.synth().unwrap_err();
    assert!(matches!(err, Error::TemplateTooLarge { .. }), "{err}");
    assert!(err.to_string().starts_with("stack 'S': template is "), "{err}");
}

#[test]
fn error_annotations_fail_and_strict_fails_on_warnings() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let t = app.add(s, "T", topic()).unwrap();
    app.annotate(t, Level::Warning, "consider a KMS key");
    assert!(app.synth().is_ok());
    let err = app.synth_with(&SynthOptions { strict: true }).unwrap_err();
    assert!(
        err.to_string().contains("[warning] S/T: consider a KMS key"),
        "{err}"
    );
    app.annotate(s, Level::Error, "no owner tag");
    let err = app.synth().unwrap_err();
    assert_eq!(
        err.to_string(),
        "synthesis failed with 1 error(s):\n  [error] S: no owner tag"
    );
}

#[test]
fn template_sections_and_attributes() {
    let mut app = App::new();
    let s = app.stack_with(
        app.root(),
        "S",
        StackProps {
            description: Some("demo".into()),
            transforms: vec!["AWS::Serverless-2016-10-31".into()],
            ..Default::default()
        },
    );
    let s = s.unwrap();
    let env = app
        .parameter(
            s,
            "Env",
            Parameter::string()
                .allowed_values(["dev", "prod"])
                .default_value("dev"),
        )
        .unwrap();
    let ami = app
        .parameter(
            s,
            "Ami",
            Parameter::ssm_value("AWS::EC2::Image::Id").default_value("/latest"),
        )
        .unwrap();
    let is_prod = app
        .condition(s, "IsProd", Value::equals(env.value(), "prod".into()))
        .unwrap();
    let mut regions = cairn_core::Mapping::new();
    regions.insert(
        "us-east-1".into(),
        [("Ami".to_string(), Value::from("ami-1"))].into_iter().collect(),
    );
    let map = app.mapping(s, "Regions", regions).unwrap();
    let first = app.add(s, "First", topic()).unwrap();
    let second = app
        .add(
            s,
            "Second",
            topic()
                .with(
                    "Name",
                    Value::if_(is_prod, "p".into(), Value::pseudo(cairn_core::Pseudo::NoValue)),
                )
                .with(
                    "Ami",
                    Value::find_in_map(map, Value::pseudo(cairn_core::Pseudo::Region), "Ami".into()),
                )
                .with("Image", ami.value()),
        )
        .unwrap();
    let opts = app.resource_options_mut(second).unwrap();
    opts.depends_on.push(first.node());
    opts.condition = Some(is_prod);
    opts.deletion_policy = Some(RemovalPolicy::Retain);
    app.add_property_override(second, "Nested.Key", "v").unwrap();
    app.add_property_deletion_override(second, "Ami").unwrap();
    let mut o = Output::new(second.ref_()).export(Value::sub("${AWS::StackName}-second"));
    o.condition = Some(is_prod);
    app.output(s, "SecondRef", o).unwrap();
    app.rule(s, "ProdOnly", json_rule()).unwrap();

    let t = template(&mut app, "S");
    assert_eq!(t["Description"], "demo");
    assert_eq!(t["Transform"], "AWS::Serverless-2016-10-31");
    assert_eq!(
        t["Parameters"]["Ami"]["Type"],
        "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    );
    assert_eq!(t["Parameters"]["Env"]["AllowedValues"], json!(["dev", "prod"]));
    assert_eq!(
        t["Conditions"]["IsProd"],
        json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]})
    );
    assert_eq!(t["Mappings"]["Regions"]["us-east-1"]["Ami"], "ami-1");
    let r = &t["Resources"]["Second"];
    assert_eq!(r["DependsOn"], json!(["First"]));
    assert_eq!(r["Condition"], "IsProd");
    assert_eq!(r["DeletionPolicy"], "Retain");
    assert_eq!(
        r["Properties"]["Name"],
        json!({"Fn::If": ["IsProd", "p", {"Ref": "AWS::NoValue"}]})
    );
    assert_eq!(r["Properties"]["Nested"], json!({"Key": "v"}));
    assert!(r["Properties"].get("Ami").is_none());
    assert_eq!(r["Properties"]["Image"], json!({"Ref": "Ami"}));
    assert_eq!(
        t["Outputs"]["SecondRef"]["Export"]["Name"],
        json!({"Fn::Sub": "${AWS::StackName}-second"})
    );
    assert_eq!(t["Outputs"]["SecondRef"]["Condition"], "IsProd");
    let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "Description",
            "Transform",
            "Parameters",
            "Mappings",
            "Conditions",
            "Resources",
            "Outputs",
            "Rules"
        ]
    );
}

fn json_rule() -> Value {
    Value::map([(
        "Assertions",
        Value::list([Value::map([
            ("Assert", Value::from(true)),
            ("AssertDescription", Value::from("always")),
        ])]),
    )])
}

#[test]
fn stages_write_nested_assemblies() {
    let mut app = App::new();
    let root = app.root();
    let prod = app
        .stage(root, "Prod", Environment::new("123456789012", "eu-west-1"))
        .unwrap();
    let s = app.stack_with(prod, "Api", StackProps::default()).unwrap();
    app.add(s, "T", topic()).unwrap();
    let asm = app.synth().unwrap();
    let api = asm.stack("Prod/Api").unwrap();
    assert_eq!(api.stack_name, "Prod-Api");
    assert_eq!(api.environment.uri(), "aws://123456789012/eu-west-1");
    let dir = std::env::temp_dir().join(format!("cairn-stage-{}", std::process::id()));
    asm.write(&dir, cairn_core::TemplateFormat::Json).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["artifacts"]["assembly-Prod"]["type"],
        "cdk:cloud-assembly"
    );
    let nested: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("assembly-Prod/manifest.json")).unwrap())
            .unwrap();
    let art = &nested["artifacts"][&api.artifact_id];
    assert_eq!(art["properties"]["stackName"], "Prod-Api");
    assert!(dir
        .join("assembly-Prod")
        .join(format!("{}.template.json", api.artifact_id))
        .exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn references_across_stages_are_refused() {
    let mut app = App::new();
    let root = app.root();
    let env = Environment::default();
    let a = app.stage(root, "A", env.clone()).unwrap();
    let b = app.stage(root, "B", env).unwrap();
    let sa = app.stack_with(a, "S", StackProps::default()).unwrap();
    let sb = app.stack_with(b, "S", StackProps::default()).unwrap();
    let t = app.add(sa, "T", topic()).unwrap();
    app.add(sb, "U", topic().with("X", t.ref_())).unwrap();
    let err = app.synth().unwrap_err();
    assert!(err.to_string().contains("another stage"), "{err}");
}

#[test]
fn wrong_kinds_of_reference_are_errors_not_panics() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let o = app.output(s, "O", Output::new("x")).unwrap();
    app.add(s, "T", topic().with("X", Value::reference(o.node())))
        .unwrap();
    let err = app.synth().unwrap_err();
    assert_eq!(
        err.to_string(),
        "'S/O' cannot be used here: a resource is needed, but it is of kind 'output'"
    );

    // A handle from another app is refused, even where this app has a node at its index.
    let mut other = App::new();
    let foreign = other.stack("Other").unwrap();
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    app.add(s, "T", topic().with("X", Value::reference(foreign.node())))
        .unwrap();
    let err = app.synth().unwrap_err();
    assert!(matches!(err, Error::UnknownNode(1)), "{err}");
    assert!(err.to_string().contains("not made by this app"), "{err}");
    assert!(matches!(app.construct(foreign, "G"), Err(Error::UnknownNode(1))));
}

#[test]
fn synthesis_is_deterministic() {
    let build = || {
        let mut app = App::new();
        let a = app.stack("A").unwrap();
        let b = app.stack("B").unwrap();
        let mut last = None;
        for i in 0..50 {
            let g = app.construct(a, &format!("G{i}")).unwrap();
            let t = app.add(g, "Topic", topic()).unwrap();
            last = Some(t);
            app.add(b, &format!("U{i}"), topic().with("X", t.attr("TopicArn")))
                .unwrap();
        }
        let _ = last;
        app.synth().unwrap()
    };
    let one = build();
    let two = build();
    for (x, y) in one.stacks().iter().zip(two.stacks()) {
        assert_eq!(x.template_json(), y.template_json());
    }
}

/// serde_json's pretty printing of the whole template with a one-space indent: what a
/// template's text must equal byte for byte.
fn pretty_one_space(v: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).unwrap();
    String::from_utf8(buf).unwrap()
}

fn every_section_app() -> App {
    let mut app = App::new();
    let producer = app.stack("Producer").unwrap();
    let consumer = app.stack("Consumer").unwrap();
    let env = app.parameter(consumer, "Env", Parameter::string()).unwrap();
    let is_prod = app
        .condition(consumer, "IsProd", Value::equals(env.value(), "prod".into()))
        .unwrap();
    let mut regions = cairn_core::Mapping::new();
    regions.insert(
        "us-east-1".into(),
        [("Ami".to_string(), Value::from("ami-1"))].into_iter().collect(),
    );
    app.mapping(consumer, "Regions", regions).unwrap();
    let topic_in_producer = app.add(producer, "Shared", topic()).unwrap();
    app.add(producer, "Empty", topic()).unwrap();
    app.add(
        consumer,
        "User",
        topic()
            .with("Imported", topic_in_producer.ref_())
            .with("EmptyList", Value::list([]))
            .with("EmptyMap", Value::map::<&str>([]))
            .with(
                "Text",
                "quote \" backslash \\ tab \t newline \n unicode é ✓ \u{1}",
            )
            .with(
                "Nested",
                Value::list([Value::map([("A", Value::list([1.into(), 2.5.into()]))])]),
            )
            .with("Cond", Value::if_(is_prod, "p".into(), "q".into())),
    )
    .unwrap();
    app.output(consumer, "O", Output::new("x")).unwrap();
    app.rule(consumer, "ProdOnly", json_rule()).unwrap();
    app
}

#[test]
fn template_text_is_the_pretty_json_of_the_template_byte_for_byte() {
    let mut app = every_section_app();
    let asm = app.synth().unwrap();
    for s in asm.stacks() {
        assert_eq!(
            s.template_json(),
            pretty_one_space(&s.template),
            "{}",
            s.display_name
        );
    }
    // The producer got an export in Outputs: added after its resources were written.
    let producer = asm.stack("Producer").unwrap();
    assert!(producer.template["Outputs"].as_object().unwrap().len() == 1);
    let consumer = asm.stack("Consumer").unwrap();
    let keys: Vec<&String> = consumer.template.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "Parameters",
            "Mappings",
            "Conditions",
            "Resources",
            "Outputs",
            "Rules"
        ]
    );
}

#[test]
fn written_files_are_the_synthesized_text_and_yaml_reads_back_the_same() {
    let mut app = every_section_app();
    let asm = app.synth().unwrap();
    let (json_dir, yaml_dir) = (tempdir("json"), tempdir("yaml"));
    asm.write(&json_dir, cairn_core::TemplateFormat::Json).unwrap();
    asm.write(&yaml_dir, cairn_core::TemplateFormat::Yaml).unwrap();
    for s in asm.stacks() {
        let file = format!("{}.template.json", s.artifact_id);
        assert_eq!(
            std::fs::read_to_string(json_dir.join(&file)).unwrap(),
            s.template_json()
        );
        let yaml =
            std::fs::read_to_string(yaml_dir.join(format!("{}.template.yaml", s.artifact_id))).unwrap();
        let back: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(&back, s.template.json(), "{}", s.display_name);
    }
    // The YAML manifest points at the YAML files.
    let manifest = std::fs::read_to_string(yaml_dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("Consumer.template.yaml"), "{manifest}");
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cairn-synthesis-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Flags every `Name` property (a stand-in for the schema validator).
struct NoNames;

impl cairn_core::Validator for NoNames {
    fn validate(
        &self,
        _resource_type: &str,
        properties: &indexmap::IndexMap<String, Value>,
    ) -> Vec<cairn_core::PropertyError> {
        properties
            .get("Name")
            .map(|_| cairn_core::PropertyError {
                path: "Properties.Name".into(),
                message: "names are not allowed".into(),
            })
            .into_iter()
            .collect()
    }
}

#[test]
fn validator_findings_are_reported_in_tree_order_before_any_synthesis_error() {
    let mut app = App::new();
    let root = app.root();
    app.add_validator_once(NoNames);
    let a = app
        .stack_with(
            root,
            "A",
            StackProps {
                env: Some(Environment::new("111111111111", "us-east-1")),
                ..Default::default()
            },
        )
        .unwrap();
    let b = app
        .stack_with(
            root,
            "B",
            StackProps {
                env: Some(Environment::new("222222222222", "us-east-1")),
                ..Default::default()
            },
        )
        .unwrap();
    let target = app.add(a, "Target", topic().with("Name", "x")).unwrap();
    // A cross-environment reference: a synthesis error, found after validation starts.
    app.add(b, "User", topic().with("Ref", target.ref_()).with("Name", "y"))
        .unwrap();
    app.annotate(b, Level::Warning, "just a warning");
    let err = app.synth().unwrap_err();
    let Error::Validation { errors } = err else {
        panic!("expected the validator findings, got {err}");
    };
    let paths: Vec<&str> = errors.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["A/Target", "B/User"]);
    assert!(errors[0].message.contains("names are not allowed"));

    // Without the findings, the synthesis error is what is reported.
    let mut app = App::new();
    let root = app.root();
    let a = app
        .stack_with(
            root,
            "A",
            StackProps {
                env: Some(Environment::new("111111111111", "us-east-1")),
                ..Default::default()
            },
        )
        .unwrap();
    let b = app
        .stack_with(
            root,
            "B",
            StackProps {
                env: Some(Environment::new("222222222222", "us-east-1")),
                ..Default::default()
            },
        )
        .unwrap();
    let target = app.add(a, "Target", topic()).unwrap();
    app.add(b, "User", topic().with("Ref", target.ref_())).unwrap();
    app.add_validator_once(NoNames);
    assert!(matches!(
        app.synth().unwrap_err(),
        Error::CrossEnvironmentReference { .. }
    ));
}
