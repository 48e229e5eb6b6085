use super::*;

/// The character-class form of a pattern accepts exactly what the `regex` crate does.
#[test]
fn class_patterns_match_as_regex_does() {
    let patterns = [
        r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
        r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$",
        r"^[\u0009\u000A\u000D\u0020-\u00FF]+$",
        r"^[\w+=,.@-]+$",
        r"^[a-z]{3,5}$",
        r"^[^/]*$",
        r"^(?:[0-9])+$",
    ];
    let texts = [
        "",
        "a",
        "abc",
        "abcdef",
        "ABC",
        "tag-key_1",
        "with space",
        "ünïcödé",
        "日本語",
        "a/b",
        "a\nb",
        "tab\there",
        "12345",
        "x@y.z",
        "€",
        "\u{00FF}",
        "\u{0100}",
        "a$",
    ];
    for p in patterns {
        let class = Pattern::whole_class(p).unwrap_or_else(|| panic!("{p} is a class pattern"));
        let re = Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        for t in texts {
            assert_eq!(class.is_match(t), re.is_match(t), "{p} on {t:?}");
        }
    }
}

/// The errors of `props` against a schema given as JSON text, as `path: message`.
fn errors_in(schemas: &mut Schemas, schema: &str, props: serde_json::Value) -> Vec<String> {
    let root = Compiler::compile(schemas, schema).unwrap_or_else(|| panic!("{schema} compiles"));
    let Value::Map(props) = Value::from_json(&props) else {
        panic!("properties must be an object")
    };
    schemas
        .check(root, &props, None)
        .into_iter()
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect()
}

fn errors(schema: &str, props: serde_json::Value) -> Vec<String> {
    errors_in(&mut Schemas::default(), schema, props)
}

#[test]
fn a_recursive_definition_checks_every_level() {
    let node = r##"{"type":"object","additionalProperties":false,"properties":{"Name":{"type":"string","maxLength":3},"Child":{"$ref":"#/definitions/Node"}}}"##;
    // The `$ref`s are read before their target and after it.
    for schema in [
        format!(
            r##"{{"properties":{{"Root":{{"$ref":"#/definitions/Node"}}}},"definitions":{{"Node":{node}}}}}"##
        ),
        format!(
            r##"{{"definitions":{{"Node":{node}}},"properties":{{"Root":{{"$ref":"#/definitions/Node"}}}}}}"##
        ),
    ] {
        let props =
            serde_json::json!({"Root": {"Name": "abc", "Child": {"Child": {"Name": "abcd", "Other": 1}}}});
        assert_eq!(
            errors(&schema, props),
            [
                "Properties.Root.Child.Child.Name: \"abcd\" is longer than 3 characters",
                "Properties.Root.Child.Child.Other: \"Other\" is not a property of this type (additional properties are not allowed)",
            ]
        );
    }
}

#[test]
fn refs_reach_any_schema_of_the_document() {
    let schema = r##"{
        "definitions": {
            "a/b~c": {"type": "integer"},
            "Outer": {"properties": {"Inner": {"enum": ["x", "y"]}}},
            "List": {"allOf": [{"minLength": 2}, {"maxLength": 4}]}
        },
        "x-extra": {"Deep": [{"maximum": 9}]},
        "properties": {
            "Arn": {"pattern": "^arn:"},
            "SameAsArn": {"$ref": "#/properties/Arn"},
            "Escaped": {"$ref": "#/definitions/a~1b~0c"},
            "Nested": {"$ref": "#/definitions/Outer/properties/Inner"},
            "InList": {"$ref": "#/definitions/List/allOf/1"},
            "InOther": {"$ref": "#/x-extra/Deep/0"},
            "Missing": {"$ref": "#/definitions/Nope", "type": "string"},
            "Outside": {"$ref": "other.json#/definitions/X"},
            "Whole": {"$ref": "#"}
        },
        "required": ["Arn"]
    }"##;
    let props = serde_json::json!({
        "Arn": "arn:aws:x",
        "SameAsArn": "nope",
        "Escaped": "one",
        "Nested": "z",
        "InList": "abcde",
        "InOther": 10,
        "Missing": [],
        "Outside": 1,
        "Whole": {"Escaped": 2}
    });
    assert_eq!(
        errors(schema, props),
        [
            "Properties.SameAsArn: \"nope\" does not match pattern ^arn:",
            "Properties.Escaped: \"one\" is not of type integer",
            "Properties.Nested: \"z\" is not one of x, y",
            "Properties.InList: \"abcde\" is longer than 4 characters",
            "Properties.InOther: 10 is greater than the maximum of 9",
            "Properties.Missing: [] is not of type string",
            "Properties.Whole: required property \"Arn\" is missing",
        ]
    );
}

#[test]
fn patterns_are_kept_once_and_compiled_when_first_matched() {
    let mut schemas = Schemas::default();
    let a = r#"{"properties":{"A":{"pattern":"^[a-z]+$"},"B":{"pattern":"^x(y|z)$"}}}"#;
    let b = r#"{"properties":{"C":{"pattern":"^[a-z]+$"}}}"#;
    assert!(errors_in(&mut schemas, a, serde_json::json!({})).is_empty());
    assert!(errors_in(&mut schemas, b, serde_json::json!({})).is_empty());
    assert_eq!(schemas.patterns.len(), 2);
    assert!(schemas.patterns.iter().all(|p| p.compiled.get().is_none()));
    assert_eq!(
        errors_in(&mut schemas, b, serde_json::json!({"C": "ABC"})),
        ["Properties.C: \"ABC\" does not match pattern ^[a-z]+$"]
    );
    assert!(matches!(
        schemas.patterns[0].compiled.get(),
        Some(Some(Pattern::Class { .. }))
    ));
    assert!(schemas.patterns[1].compiled.get().is_none());
}

#[test]
fn text_that_is_not_a_schema_is_refused() {
    assert!(Compiler::compile(&mut Schemas::default(), r#"{"properties":"#).is_none());
    assert!(Compiler::compile(&mut Schemas::default(), r#"{} {}"#).is_none());
}

#[cfg(feature = "sqs")]
#[test]
fn each_type_is_compiled_once_per_validator() {
    let validator = SchemaValidator::new();
    let mut props = IndexMap::new();
    props.insert("DelaySeconds".to_string(), Value::Int(1000));
    let first = validator.check("AWS::SQS::Queue", &props);
    let nodes = validator.schemas.borrow().nodes.len();
    assert!(nodes > 0);
    assert_eq!(validator.check("AWS::SQS::Queue", &props), first);
    assert_eq!(validator.schemas.borrow().nodes.len(), nodes);
    assert!(validator.check("Custom::Thing", &props).is_empty());
    assert_eq!(validator.schemas.borrow().types.len(), 2);
    // Another validator compiles its own.
    assert!(SchemaValidator::new().schemas.borrow().nodes.is_empty());
}

#[test]
fn other_patterns_stay_regexes() {
    for p in [
        r"^([a-z0-9][a-z0-9.-]*[a-z0-9])?$",
        r"[0-9]+",
        r"^abc$",
        r"^[a-z]+|[0-9]+$",
    ] {
        assert!(
            matches!(Pattern::new(p), Some(Pattern::Regex(_))),
            "{p} is not one class"
        );
    }
}
