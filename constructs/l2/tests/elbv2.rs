//! elbv2: ALB with access logs (bucket policy for the Region's ELB account), listeners,
//! a maintenance rule, target groups; schema-checked, rule-clean (443 allow-listed), cfn-lint-clean.

mod common;
use common::{logical, logical_of, synth_clean};

use cairn_aspects::rules::NoPublicIngress;
use cairn_aspects::{Mode, RuleSet};
use cairn_core::{App, Environment, StackProps, Value};
use serde_json::json;

use cairn_constructs::ec2::{
    Instance, InstanceProps, MachineImage, Port, SecurityGroup, SecurityGroupProps, Vpc, VpcProps,
};
use cairn_constructs::elbv2::{
    AccessLogs, ApplicationLoadBalancer, ApplicationLoadBalancerProps, ApplicationTargetGroup,
    ApplicationTargetGroupProps, HealthCheck, ListenerAction, ListenerCondition, ListenerProps, Target,
};

const CERT: &str = "arn:aws:acm:eu-west-1:123456789012:certificate/0b7e1a6e-1111-2222-3333-444455556666";

fn web_app(region: &str) -> (App, ApplicationLoadBalancer) {
    let mut app = App::new();
    let root = app.root();
    let s = app
        .stack_with(
            root,
            "Web",
            StackProps {
                env: Some(Environment::new("123456789012", region)),
                ..StackProps::default()
            },
        )
        .unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let alb = ApplicationLoadBalancer::new(
        &mut app,
        s,
        "Alb",
        ApplicationLoadBalancerProps {
            access_logs: Some(AccessLogs {
                prefix: Some("alb"),
                ..AccessLogs::new_bucket()
            }),
            ..ApplicationLoadBalancerProps::new(&vpc)
        },
    )
    .unwrap();
    let web_sg =
        SecurityGroup::new(&mut app, s, "WebSg", SecurityGroupProps::new(&vpc, "web servers")).unwrap();
    let host = Instance::new(
        &mut app,
        s,
        "Host",
        InstanceProps {
            security_groups: vec![web_sg],
            ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2023())
        },
    )
    .unwrap();
    alb.allow_to(&mut app, &web_sg, Port::tcp(8080)).unwrap();
    let tg = ApplicationTargetGroup::new(
        &mut app,
        s,
        "Web",
        ApplicationTargetGroupProps {
            targets: vec![Target::instance(&host)],
            health_check: HealthCheck {
                path: "/health".into(),
                healthy_http_codes: "200-299".into(),
                ..HealthCheck::default()
            },
            deregistration_delay_seconds: Some(30),
            ..ApplicationTargetGroupProps::new(&vpc, 8080)
        },
    )
    .unwrap();
    let https = alb
        .add_listener(
            &mut app,
            "Https",
            ListenerProps::https(CERT, ListenerAction::forward(&tg)),
        )
        .unwrap();
    https
        .add_rule(
            &mut app,
            10,
            vec![
                ListenerCondition::path_patterns(["/*"]),
                ListenerCondition::host_headers(["maintenance.example.com"]),
            ],
            ListenerAction::fixed_response(503, "text/html", "<h1>Down for maintenance</h1>"),
        )
        .unwrap();
    alb.add_listener(
        &mut app,
        "Http",
        ListenerProps::http(ListenerAction::redirect_to_https()),
    )
    .unwrap();
    (app, alb)
}

#[test]
fn alb_with_access_logs_listeners_rules_and_targets() {
    let (app, alb) = web_app("eu-west-1");
    let allow = alb.public_ingress(&app);
    assert_eq!(
        allow,
        vec![
            (443, "Web/Alb/SecurityGroup".to_string()),
            (80, "Web/Alb/SecurityGroup".to_string())
        ]
    );
    let t = synth_clean(app, "Web", &allow, "alb");
    let r = &t["Resources"];
    let lb = logical(&t, "Alb");
    let p = &r[&lb]["Properties"];
    assert_eq!(p["Scheme"], "internet-facing");
    assert_eq!(p["Type"], "application");
    // A concrete region: the VPC spreads over three zones (the CDK's maxAzs), the ALB too.
    assert_eq!(p["Subnets"].as_array().unwrap().len(), 3);
    let attrs = p["LoadBalancerAttributes"].as_array().unwrap();
    let attr = |k: &str| attrs.iter().find(|a| a["Key"] == k).map(|a| a["Value"].clone());
    assert_eq!(
        attr("routing.http.drop_invalid_header_fields.enabled"),
        Some(json!("true"))
    );
    assert_eq!(attr("access_logs.s3.enabled"), Some(json!("true")));
    assert_eq!(attr("access_logs.s3.prefix"), Some(json!("alb")));
    let bucket = logical(&t, "AlbAccessLogsBucket");
    assert_eq!(attr("access_logs.s3.bucket"), Some(json!({ "Ref": bucket })));
    // The bucket policy lets eu-west-1's ELB account write under the prefix, and exists first.
    let policy = logical(&t, "AlbAccessLogsBucketPolicy");
    assert!(r[&lb]["DependsOn"].as_array().unwrap().contains(&json!(policy)));
    let statements = r[&policy]["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let elb = statements
        .iter()
        .find(|s| s["Sid"] == "ElbAccessLogDelivery")
        .expect("ELB statement");
    assert_eq!(elb["Action"], "s3:PutObject");
    assert_eq!(
        elb["Principal"]["AWS"],
        json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":iam::156460612806:root"]] })
    );
    assert_eq!(
        elb["Resource"],
        json!({ "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/alb/AWSLogs/", { "Ref": "AWS::AccountId" }, "/*"]] })
    );
    // Listeners: HTTPS forwards to the target group with a TLS 1.3 policy; HTTP redirects.
    let https = logical(&t, "AlbHttps");
    let tg = logical(&t, "Web");
    assert_eq!(r[&https]["Properties"]["Protocol"], "HTTPS");
    assert_eq!(
        r[&https]["Properties"]["Certificates"],
        json!([{ "CertificateArn": CERT }])
    );
    assert_eq!(
        r[&https]["Properties"]["SslPolicy"],
        "ELBSecurityPolicy-TLS13-1-2-2021-06"
    );
    assert_eq!(
        r[&https]["Properties"]["DefaultActions"],
        json!([{ "TargetGroupArn": { "Ref": tg }, "Type": "forward" }])
    );
    let http = logical(&t, "AlbHttp");
    assert_eq!(
        r[&http]["Properties"]["DefaultActions"][0]["RedirectConfig"],
        json!({ "Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301" })
    );
    // The maintenance rule: a fixed 503 page for the host.
    let rule = logical(&t, "AlbHttpsRule10");
    let rp = &r[&rule]["Properties"];
    assert_eq!(rp["Priority"], 10);
    assert_eq!(rp["ListenerArn"], json!({ "Ref": https }));
    assert_eq!(
        rp["Actions"],
        json!([{ "FixedResponseConfig": { "ContentType": "text/html", "MessageBody": "<h1>Down for maintenance</h1>", "StatusCode": "503" },
                 "Type": "fixed-response" }])
    );
    assert_eq!(
        rp["Conditions"][1],
        json!({ "Field": "host-header", "HostHeaderConfig": { "Values": ["maintenance.example.com"] } })
    );
    // Target group: instance target, health check.
    let tp = &r[&tg]["Properties"];
    assert_eq!(tp["TargetType"], "instance");
    assert_eq!(tp["Port"], 8080);
    assert_eq!(tp["HealthCheckPath"], "/health");
    assert_eq!(tp["Matcher"], json!({ "HttpCode": "200-299" }));
    let host = logical(&t, "Host");
    assert_eq!(tp["Targets"], json!([{ "Id": { "Ref": host } }]));
    // The ALB group opens 443 and 80 to the world, and reaches the web group on 8080 only.
    let sg = logical(&t, "AlbSecurityGroup");
    let ingress = r[&sg]["Properties"]["SecurityGroupIngress"].as_array().unwrap();
    assert_eq!(
        ingress.iter().map(|i| i["FromPort"].clone()).collect::<Vec<_>>(),
        vec![json!(443), json!(80)]
    );
    let egress = logical_of(&t, "AlbSecurityGrouptoWebWebSg", "AWS::EC2::SecurityGroupEgress");
    assert_eq!(r[&egress]["Properties"]["FromPort"], 8080);
}

#[test]
fn unlisted_public_ports_are_refused_and_new_regions_use_the_service_principal() {
    let (mut app, _) = web_app("eu-west-1");
    let root = app.root();
    RuleSet::empty()
        .rule(NoPublicIngress::default(), Mode::Error)
        .apply(&mut app, root);
    let err = app.synth().unwrap_err().to_string();
    assert!(
        err.contains("Web/Alb/SecurityGroup/Resource") && err.contains("port 443"),
        "{err}"
    );

    let (mut app, _) = web_app("ap-southeast-5");
    let asm = app.synth().unwrap();
    let t = &asm.stack("Web").unwrap().template;
    let policy = logical(t, "AlbAccessLogsBucketPolicy");
    let statements = t["Resources"][&policy]["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    assert!(statements
        .iter()
        .any(|s| s["Principal"]["Service"] == "logdelivery.elasticloadbalancing.amazonaws.com"));
}

#[test]
fn invalid_listeners_and_rules_are_errors_naming_the_construct() {
    let (mut app, alb) = web_app("eu-west-1");
    let mut props = ListenerProps::https(CERT, ListenerAction::fixed_response(404, "text/plain", "no"));
    props.certificates.clear();
    let err = alb
        .add_listener(&mut app, "NoCert", props.port(8443))
        .unwrap_err();
    assert!(
        err.to_string().contains("'Web/Alb/NoCert'") && err.to_string().contains("certificate"),
        "{err}"
    );
    let https = alb
        .add_listener(
            &mut app,
            "Other",
            ListenerProps::https(CERT, ListenerAction::fixed_response(404, "text/plain", "no")).port(8443),
        )
        .unwrap();
    https
        .add_rule(
            &mut app,
            5,
            vec![ListenerCondition::path_patterns(["/a"])],
            ListenerAction::fixed_response(200, "text/plain", "a"),
        )
        .unwrap();
    let err = https
        .add_rule(
            &mut app,
            5,
            vec![ListenerCondition::path_patterns(["/b"])],
            ListenerAction::fixed_response(200, "text/plain", "b"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("priority 5 already exists"), "{err}");
    let err = https
        .add_rule(
            &mut app,
            6,
            vec![ListenerCondition::path_patterns([
                "/1", "/2", "/3", "/4", "/5", "/6",
            ])],
            ListenerAction::fixed_response(200, "text/plain", "b"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("ELB allows 5"), "{err}");

    // Access logs need a region.
    let mut app = App::new();
    let s = app.stack("Agnostic").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let err = ApplicationLoadBalancer::new(
        &mut app,
        s,
        "Alb",
        ApplicationLoadBalancerProps {
            access_logs: Some(AccessLogs::new_bucket()),
            ..ApplicationLoadBalancerProps::new(&vpc)
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("'Agnostic/Alb'") && err.to_string().contains("region"),
        "{err}"
    );
    let _ = Value::Null;
}

#[test]
fn add_targets_names_the_group_under_the_listener_and_forwards_to_it() {
    let mut app = App::new();
    let s = app.stack("WebTier").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let alb =
        ApplicationLoadBalancer::new(&mut app, s, "Alb", ApplicationLoadBalancerProps::new(&vpc)).unwrap();
    let listener = alb
        .add_listener(
            &mut app,
            "Http",
            ListenerProps::http(ListenerAction::fixed_response(404, "text/plain", "none")),
        )
        .unwrap();
    let group = listener
        .add_targets(
            &mut app,
            "Web",
            ApplicationTargetGroupProps {
                targets: vec![Target::InstanceOnPort(Value::from("i-0123456789abcdef0"), 8080)],
                ..ApplicationTargetGroupProps::new(&vpc, 80)
            },
        )
        .unwrap();
    assert_eq!(app.path(group.node()), "WebTier/Alb/Http/WebGroup");
    let asm = app.synth().unwrap();
    let r = &asm.stack("WebTier").unwrap().template["Resources"];
    // aws-cdk-lib's logical ID for `listener.addTargets('Web', ..)`.
    assert_eq!(
        r["AlbHttpWebGroupFB8A8200"]["Type"],
        "AWS::ElasticLoadBalancingV2::TargetGroup"
    );
    assert_eq!(
        r["AlbHttp7966E42E"]["Properties"]["DefaultActions"],
        json!([{ "TargetGroupArn": { "Ref": "AlbHttpWebGroupFB8A8200" }, "Type": "forward" }])
    );
}
