//! The aspects demo: refused with exactly the blog post's three errors and three fixes;
//! the compliant variant synthesizes and is snapshotted.

use cairn::Error;
use synth_tests::{header, synth};

#[test]
fn demo_is_refused_with_exactly_three_errors_and_reports_three_fixes() {
    let mut app = examples::aspects_demo::build().unwrap();
    let Err(Error::Validation { errors }) = app.synth() else {
        panic!("the demo must be refused")
    };
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.path.as_str(), e.message.split(']').next().unwrap_or_default()))
        .collect();
    assert_eq!(
        found,
        [
            ("AspectsDemo/Vpc", "[CAIRN-VPC-CIDR"),
            ("AspectsDemo/SshSecurityGroup", "[CAIRN-SG-NO-PUBLIC-INGRESS"),
            ("AspectsDemo/Instance", "[CAIRN-APPROVED-AMI"),
        ]
    );
    let reports = app.reports(None);
    let summary = reports[0].summary.as_deref().unwrap();
    assert!(
        summary.starts_with("Compliance: 3 error(s), 0 warning(s), 3 fixed, 0 suppressed"),
        "{summary}"
    );
    for fixed in [
        "CAIRN-S3-VERSIONING",
        "CAIRN-S3-ENCRYPTION",
        "CAIRN-RDS-DELETION-PROTECTION",
    ] {
        assert!(
            summary.lines().any(|l| l.contains("FIXED") && l.contains(fixed)),
            "{summary}"
        );
    }
    let names: Vec<&str> = reports[0].files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["cairn-report.json", "cairn-report.sarif"]);
}

#[test]
fn compliant_demo_templates() {
    let asm = synth(examples::aspects_demo::build_compliant);
    let s = asm.stack("AspectsDemo").unwrap();
    let r = &s.template["Resources"];
    assert_eq!(r["Database"]["Properties"]["DeletionProtection"], true);
    assert_eq!(
        r["Bucket"]["Properties"]["VersioningConfiguration"]["Status"],
        "Enabled"
    );
    assert_eq!(r["Vpc"]["Properties"]["CidrBlock"], "192.168.0.0/16");
    insta::assert_snapshot!(
        "AspectsDemo-compliant",
        format!("{}\n{}", header(&asm, "AspectsDemo"), s.template_json())
    );
}
