//! Snapshots of the `hello` example, and the wiring they must show.

use synth_tests::{snapshot, stack_names, synth};

#[test]
fn hello_templates() {
    let asm = synth(examples::hello::build);
    let names = stack_names(&asm);
    assert_eq!(names, ["HelloProducer", "HelloConsumer"]);
    for s in asm.stacks() {
        let body = snapshot(&asm, &s.display_name);
        insta::assert_snapshot!(s.display_name.clone(), body);
    }
}

#[test]
fn hello_consumer_imports_what_the_producer_exports() {
    let asm = synth(examples::hello::build);
    let producer = &asm.stack("HelloProducer").unwrap().template;
    let consumer = asm.stack("HelloConsumer").unwrap();
    let exports: Vec<String> = producer["Outputs"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|o| o["Export"]["Name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(exports.len(), 1);
    let endpoint = &consumer.template["Resources"]["QueueSubscription"]["Properties"]["Endpoint"];
    assert_eq!(endpoint["Fn::ImportValue"].as_str(), Some(exports[0].as_str()));
    assert_eq!(consumer.dependencies, ["HelloProducer"]);
}

#[test]
fn hello_is_byte_identical_across_synths() {
    let a = synth(examples::hello::build);
    let b = synth(examples::hello::build);
    let dir = std::env::temp_dir().join(format!("cairn-hello-{}", std::process::id()));
    let (da, db) = (dir.join("a"), dir.join("b"));
    a.write(&da, cairn::TemplateFormat::Json).unwrap();
    b.write(&db, cairn::TemplateFormat::Json).unwrap();
    for f in [
        "manifest.json",
        "HelloProducer.template.json",
        "HelloConsumer.template.json",
        "cdk.out",
    ] {
        assert_eq!(
            std::fs::read(da.join(f)).unwrap(),
            std::fs::read(db.join(f)).unwrap(),
            "{f}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
