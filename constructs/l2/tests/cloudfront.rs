//! cloudfront::Distribution: a private bucket reached only through origin access control.

mod common;
use common::{kms_bucket, logical, of_type, synth_clean};

use cairn_constructs::cloudfront::{CustomDomain, Distribution, DistributionProps, CACHING_OPTIMIZED};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::s3::{Bucket, BucketEncryption, BucketProps};
use cairn_core::App;
use serde_json::{json, Value as Json};

fn distribution_arn(t: &Json) -> Json {
    json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":cloudfront::", { "Ref": "AWS::AccountId" },
        ":distribution/", { "Ref": logical(t, "Cdn") }]] })
}

#[test]
fn the_bucket_is_reachable_only_through_the_distribution() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let bucket = Bucket::new(&mut app, stack, "Site", BucketProps::default()).unwrap();
    Distribution::new(&mut app, stack, "Cdn", DistributionProps::new(bucket)).unwrap();
    let t = synth_clean(app, "S", &[], "cloudfront-oac");
    let bucket_id = logical(&t, "Site");
    let oac_id = logical(&t, "CdnOriginAccessControl");

    // The bucket stays private.
    assert_eq!(
        t["Resources"][&bucket_id]["Properties"]["PublicAccessBlockConfiguration"],
        json!({ "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true })
    );
    assert!(t["Resources"][&bucket_id]["Properties"]
        .get("WebsiteConfiguration")
        .is_none());

    // Its policy: the TLS-only deny, and reads by CloudFront for this distribution only.
    let policies = of_type(&t, "AWS::S3::BucketPolicy");
    assert_eq!(policies.len(), 1);
    let statements = policies[0].1["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let allows: Vec<&Json> = statements.iter().filter(|s| s["Effect"] == "Allow").collect();
    assert_eq!(allows.len(), 1, "{statements:#?}");
    assert_eq!(
        allows[0],
        &json!({
            "Sid": "AllowCloudFrontServicePrincipalReadOnly",
            "Effect": "Allow",
            "Principal": { "Service": "cloudfront.amazonaws.com" },
            "Action": "s3:GetObject",
            "Resource": { "Fn::Join": ["", [{ "Fn::GetAtt": [bucket_id, "Arn"] }, "/*"]] },
            "Condition": { "StringEquals": { "AWS:SourceArn": distribution_arn(&t) } }
        })
    );

    // The distribution signs requests with the OAC, not an origin access identity.
    let oac = &t["Resources"][&oac_id]["Properties"]["OriginAccessControlConfig"];
    assert_eq!(oac["OriginAccessControlOriginType"], "s3");
    assert_eq!(oac["SigningBehavior"], "always");
    assert_eq!(oac["SigningProtocol"], "sigv4");
    assert!(oac["Name"].as_str().unwrap().len() <= 64);
    let config = &t["Resources"][logical(&t, "Cdn")]["Properties"]["DistributionConfig"];
    assert_eq!(
        config["Origins"],
        json!([{
            "DomainName": { "Fn::GetAtt": [bucket_id, "RegionalDomainName"] },
            "Id": "S3Origin",
            "OriginAccessControlId": { "Fn::GetAtt": [oac_id, "Id"] },
            "S3OriginConfig": { "OriginAccessIdentity": "" }
        }])
    );
    let behavior = &config["DefaultCacheBehavior"];
    assert_eq!(behavior["ViewerProtocolPolicy"], "redirect-to-https");
    assert_eq!(behavior["CachePolicyId"], CACHING_OPTIMIZED);
    assert_eq!(behavior["AllowedMethods"], json!(["GET", "HEAD"]));
    assert_eq!(config["DefaultRootObject"], "index.html");
    assert_eq!(config["Enabled"], true);
}

#[test]
fn a_customer_managed_key_lets_only_the_distribution_decrypt() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let bucket = kms_bucket(&mut app, stack, "Site", key);
    Distribution::new(
        &mut app,
        stack,
        "Cdn",
        DistributionProps {
            domain: Some(CustomDomain {
                certificate_arn: "arn:aws:acm:us-east-1:111111111111:certificate/abc".into(),
                domain_names: vec!["status.example.com".into()],
            }),
            ..DistributionProps::new(bucket)
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "cloudfront-kms");
    let key_statements = t["Resources"][logical(&t, "Key")]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .clone();
    let cf = key_statements
        .iter()
        .find(|s| s["Principal"]["Service"] == "cloudfront.amazonaws.com")
        .expect("a CloudFront statement in the key policy");
    assert_eq!(
        cf["Action"],
        json!(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"])
    );
    // A wildcard over the account's distributions (naming this one would be a cycle:
    // key -> distribution -> bucket -> key); the bucket policy names this one.
    assert_eq!(
        cf["Condition"],
        json!({ "ArnLike": { "AWS:SourceArn": { "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":cloudfront::", { "Ref": "AWS::AccountId" }, ":distribution/*"]] } } })
    );
    let bucket_policy =
        &of_type(&t, "AWS::S3::BucketPolicy")[0].1["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(
        bucket_policy[1]["Condition"]["StringEquals"]["AWS:SourceArn"],
        distribution_arn(&t)
    );
    let cert = &t["Resources"][logical(&t, "Cdn")]["Properties"]["DistributionConfig"]["ViewerCertificate"];
    assert_eq!(cert["MinimumProtocolVersion"], "TLSv1.2_2021");
    assert_eq!(cert["SslSupportMethod"], "sni-only");
}

#[test]
fn settings_cloudfront_cannot_serve_are_errors() {
    let mut app = App::new();
    let a = app.stack("A").unwrap();
    let b = app.stack("B").unwrap();
    let managed = Bucket::new(
        &mut app,
        a,
        "Managed",
        BucketProps {
            encryption: BucketEncryption::KmsManaged,
            ..BucketProps::default()
        },
    )
    .unwrap();
    let err = Distribution::new(&mut app, a, "Cdn", DistributionProps::new(managed))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("'A/Cdn': ") && err.contains("alias/aws/s3"),
        "{err}"
    );
    assert!(
        app.find("A/Cdn/OriginAccessControl").is_none(),
        "refused props add nothing"
    );
    let elsewhere = Bucket::new(&mut app, a, "Elsewhere", BucketProps::default()).unwrap();
    // Every problem of the props in one error.
    let err = Distribution::new(
        &mut app,
        b,
        "Cdn",
        DistributionProps {
            origin_path: Some("site/".into()),
            allowed_countries: vec!["usa".into()],
            ..DistributionProps::new(elsewhere)
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("'B/Cdn': 3 problems:"), "{err}");
    for needle in [
        "in another stack",
        "origin_path \"site/\"",
        "\"usa\" is not an ISO 3166-1",
    ] {
        assert!(err.contains(needle), "{needle} in {err}");
    }
}

/// A viewer-request function runs on the default behavior; without one there is no
/// function association.
#[test]
fn a_viewer_request_function_guards_the_default_behavior() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let bucket = Bucket::new(&mut app, stack, "Site", BucketProps::default()).unwrap();
    let arn = cairn_core::Value::from("arn:aws:cloudfront::111111111111:function/allow-list");
    Distribution::new(
        &mut app,
        stack,
        "Cdn",
        DistributionProps {
            viewer_request_function: Some(arn),
            ..DistributionProps::new(bucket)
        },
    )
    .unwrap();
    let other = Bucket::new(&mut app, stack, "Other", BucketProps::default()).unwrap();
    Distribution::new(&mut app, stack, "Open", DistributionProps::new(other)).unwrap();
    let asm = app.synth().unwrap();
    let t: &Json = &asm.stack("S").unwrap().template;
    let behavior = |id: &str| {
        t["Resources"][logical(t, id)]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"].clone()
    };
    assert_eq!(
        behavior("Cdn")["FunctionAssociations"],
        json!([{ "EventType": "viewer-request", "FunctionARN": "arn:aws:cloudfront::111111111111:function/allow-list" }])
    );
    assert!(behavior("Open").get("FunctionAssociations").is_none());
}
