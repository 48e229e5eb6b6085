//! The providers and the lookup loop over a fake environment.

use std::sync::Mutex;

use serde_json::json;

use super::*;

/// An environment in memory; records the regions and roles connected to.
#[derive(Default)]
struct Fake {
    vpcs: Vec<VpcInfo>,
    subnets: Vec<Subnet>,
    tables: Vec<RouteTable>,
    images: Vec<(String, String)>,
    parameters: Vec<(String, String)>,
    hosted_zones: Vec<HostedZoneInfo>,
    /// Zone id -> the VPCs it is associated with.
    zone_vpcs: Vec<(String, Vec<String>)>,
    connected: Mutex<Vec<(String, Option<String>)>>,
}

impl Ec2Lookups for &Fake {
    async fn zones(&self) -> CloudResult<Vec<(String, String)>> {
        Ok(vec![
            ("eu-west-1a".into(), "available".into()),
            ("eu-west-1b".into(), "impaired".into()),
            ("eu-west-1c".into(), "available".into()),
        ])
    }
    async fn vpcs(&self, filters: &[(String, Vec<String>)]) -> CloudResult<Vec<VpcInfo>> {
        Ok(self
            .vpcs
            .iter()
            .filter(|v| {
                filters
                    .iter()
                    .all(|(k, vals)| k != "vpc-id" || vals.contains(&v.id))
            })
            .cloned()
            .collect())
    }
    async fn subnets(&self, _: &str) -> CloudResult<Vec<Subnet>> {
        Ok(self.subnets.clone())
    }
    async fn route_tables(&self, _: &str) -> CloudResult<Vec<RouteTable>> {
        Ok(self.tables.clone())
    }
    async fn vpn_gateways(&self, _: &str) -> CloudResult<Vec<String>> {
        Ok(vec!["vgw-1".into()])
    }
    async fn images(&self, _: &[String], _: &[(String, Vec<String>)]) -> CloudResult<Vec<(String, String)>> {
        Ok(self.images.clone())
    }
    async fn parameter(&self, name: &str) -> CloudResult<Option<String>> {
        Ok(self
            .parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone()))
    }
    async fn hosted_zones(&self, dns_name: &str) -> CloudResult<Vec<HostedZoneInfo>> {
        // ListHostedZonesByName lists zones from the name on, in order.
        let from = format!("{}.", dns_name.trim_end_matches('.'));
        Ok(self
            .hosted_zones
            .iter()
            .filter(|z| z.name >= from)
            .cloned()
            .collect())
    }
    async fn hosted_zone_vpcs(&self, zone_id: &str) -> CloudResult<Vec<String>> {
        Ok(self
            .zone_vpcs
            .iter()
            .find(|(id, _)| id == zone_id)
            .map(|(_, v)| v.clone())
            .unwrap_or_default())
    }
}

struct FakeClients<'a>(&'a Fake);

impl<'a> LookupClients for FakeClients<'a> {
    type Api = &'a Fake;
    async fn connect(&self, region: &str, role_arn: Option<&str>) -> Result<&'a Fake> {
        self.0
            .connected
            .lock()
            .unwrap()
            .push((region.into(), role_arn.map(String::from)));
        Ok(self.0)
    }
}

fn missing(key: &str, provider: &str, props: Json) -> cairn_core::MissingContext {
    cairn_core::MissingContext {
        key: key.into(),
        provider: provider.into(),
        props: props.as_object().unwrap().clone(),
    }
}

fn block<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn fake() -> Fake {
    let tagged = |id: &str, az: &str, kind: Option<&str>, public: bool| Subnet {
        id: id.into(),
        arn: format!("arn:aws:ec2:eu-west-1:1:subnet/{id}"),
        availability_zone: az.into(),
        cidr: format!("10.0.{}.0/24", id.len()),
        map_public_ip: public,
        tags: kind
            .map(|k| vec![("aws-cdk:subnet-type".to_string(), k.to_string())])
            .unwrap_or_default(),
    };
    Fake {
        vpcs: vec![VpcInfo {
            id: "vpc-1".into(),
            cidr: "10.0.0.0/16".into(),
            owner: "123456789012".into(),
        }],
        subnets: vec![
            tagged("subnet-pub-b", "eu-west-1b", None, true),
            tagged("subnet-pub-a", "eu-west-1a", None, true),
            tagged("subnet-nat", "eu-west-1a", None, false),
            tagged("subnet-iso", "eu-west-1a", Some("Isolated"), false),
        ],
        tables: vec![
            RouteTable {
                id: "rtb-main".into(),
                main: true,
                subnet_ids: vec![],
                routes: vec![],
            },
            RouteTable {
                id: "rtb-nat".into(),
                main: false,
                subnet_ids: vec!["subnet-nat".into()],
                routes: vec![Route {
                    destination: Some("0.0.0.0/0".into()),
                    nat_gateway_id: Some("nat-1".into()),
                    ..Route::default()
                }],
            },
        ],
        images: vec![
            ("ami-old".into(), "2024-01-01T00:00:00.000Z".into()),
            ("ami-new".into(), "2025-06-01T00:00:00.000Z".into()),
        ],
        parameters: vec![("/app/color".into(), "green".into())],
        hosted_zones: vec![
            zone("/hostedzone/ZPUBLIC", "example.com.", false),
            zone("/hostedzone/ZPRIVATE1", "example.com.", true),
            zone("/hostedzone/ZPRIVATE2", "example.com.", true),
            zone("/hostedzone/ZOTHER", "example.org.", false),
        ],
        zone_vpcs: vec![
            ("/hostedzone/ZPRIVATE1".into(), vec!["vpc-1".into()]),
            ("/hostedzone/ZPRIVATE2".into(), vec!["vpc-2".into()]),
        ],
        connected: Mutex::new(Vec::new()),
    }
}

fn zone(id: &str, name: &str, private: bool) -> HostedZoneInfo {
    HostedZoneInfo {
        id: id.into(),
        name: name.into(),
        caller_reference: format!("ref-{id}"),
        comment: None,
        private,
        record_count: 2,
    }
}

#[test]
fn the_hosted_zone_provider_picks_exactly_one_zone_as_the_cdk_cli_does() {
    let env = fake();
    let ask = |props: Json| {
        block(providers::provide(
            &&env,
            "hosted-zone",
            props.as_object().unwrap(),
        ))
    };
    assert_eq!(
        ask(json!({"domainName": "example.com"})).unwrap(),
        json!({"Id": "/hostedzone/ZPUBLIC", "Name": "example.com.", "CallerReference": "ref-/hostedzone/ZPUBLIC",
               "Config": {"PrivateZone": false}, "ResourceRecordSetCount": 2}),
        "without privateZone, the public zone"
    );
    assert_eq!(
        ask(json!({"domainName": "example.com.", "privateZone": true, "vpcId": "vpc-2"})).unwrap()["Id"],
        "/hostedzone/ZPRIVATE2",
        "the private zone of the VPC"
    );
    let two = ask(json!({"domainName": "example.com", "privateZone": true})).unwrap_err();
    assert!(
        two.contains("ZPRIVATE1") && two.contains("ZPRIVATE2") && two.contains("but wanted exactly 1 zone"),
        "{two}"
    );
    let none = ask(json!({"domainName": "example.net"})).unwrap_err();
    assert!(
        none.starts_with("Found zones: [] for dns:example.net, privateZone:undefined"),
        "{none}"
    );
}

const ROLE: &str =
    "arn:${AWS::Partition}:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-eu-west-1";

#[test]
fn providers_answer_in_the_cdks_shapes_through_the_lookup_role() {
    let env = fake();
    let base = json!({"account": "123456789012", "region": "eu-west-1", "lookupRoleArn": ROLE});
    let with = |extra: Json| {
        let mut p = base.clone();
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    let entries = vec![
        missing("az", "availability-zones", base.clone()),
        missing(
            "vpc",
            "vpc-provider",
            with(json!({"filter": {"vpc-id": "vpc-1"}, "returnAsymmetricSubnets": true})),
        ),
        missing(
            "ami",
            "ami",
            with(json!({"owners": ["amazon"], "filters": {"name": ["x"]}})),
        ),
        missing("ssm", "ssm", with(json!({"parameterName": "/app/color"}))),
        missing(
            "ssm-default",
            "ssm",
            with(
                json!({"parameterName": "/none", "dummyValue": "blue", "ignoreErrorOnMissingContext": true}),
            ),
        ),
        missing(
            "ssm-none",
            "ssm",
            with(json!({"parameterName": "/none", "dummyValue": "x", "ignoreErrorOnMissingContext": false})),
        ),
        missing(
            "no-vpc",
            "vpc-provider",
            with(json!({"filter": {"vpc-id": "vpc-2"}})),
        ),
    ];
    let values = block(resolve(&FakeClients(&env), &entries));
    assert_eq!(
        values["az"],
        json!(["eu-west-1a", "eu-west-1c"]),
        "available zones only"
    );
    assert_eq!(
        values["vpc"],
        json!({"vpcId": "vpc-1", "vpcCidrBlock": "10.0.0.0/16", "ownerAccountId": "123456789012",
               "availabilityZones": [], "vpnGatewayId": "vgw-1", "subnetGroups": [
            {"name": "Public", "type": "Public", "subnets": [
                {"subnetId": "subnet-pub-a", "cidr": "10.0.12.0/24", "availabilityZone": "eu-west-1a", "routeTableId": "rtb-main"},
                {"subnetId": "subnet-pub-b", "cidr": "10.0.12.0/24", "availabilityZone": "eu-west-1b", "routeTableId": "rtb-main"}]},
            {"name": "Private", "type": "Private", "subnets": [
                {"subnetId": "subnet-nat", "cidr": "10.0.10.0/24", "availabilityZone": "eu-west-1a", "routeTableId": "rtb-nat"}]},
            {"name": "Isolated", "type": "Isolated", "subnets": [
                {"subnetId": "subnet-iso", "cidr": "10.0.10.0/24", "availabilityZone": "eu-west-1a", "routeTableId": "rtb-main"}]}
        ]})
    );
    assert_eq!(values["ami"], json!("ami-new"), "the newest image");
    assert_eq!(values["ssm"], json!("green"));
    assert_eq!(values["ssm-default"], json!("blue"), "the default when allowed");
    for failed in ["ssm-none", "no-vpc"] {
        assert!(
            cairn_core::context::provider_error(&values[failed]).is_some(),
            "{failed}: {}",
            values[failed]
        );
        assert!(cairn_core::context::is_transient(&values[failed]));
    }
    let connected = env.connected.lock().unwrap();
    assert_eq!(
        connected[0],
        (
            "eu-west-1".to_string(),
            Some(
                "arn:aws:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-eu-west-1".to_string()
            )
        ),
        "the role's placeholders are filled in"
    );
}

#[test]
fn the_context_file_is_sorted_and_leaves_transient_values_out() {
    let dir = std::env::temp_dir().join(format!("cairn-lookup-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(CONTEXT_FILE), r#"{"z-kept": 1}"#).unwrap();
    let updates = json!({"b": ["x"], "a": "v", "err": {"$providerError": "no", "$dontSaveContext": true}});
    save(&dir, updates.as_object().unwrap()).unwrap();
    let text = std::fs::read_to_string(dir.join(CONTEXT_FILE)).unwrap();
    assert_eq!(
        text,
        "{\n  \"a\": \"v\",\n  \"b\": [\n    \"x\"\n  ],\n  \"z-kept\": 1\n}\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn the_loop_runs_the_app_again_with_the_values_and_no_lookups_lists_the_keys() {
    let dir = std::env::temp_dir().join(format!("cairn-lookup-loop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // An "app" that misses the zones until its context holds them.
    let app = r#"case "$CDK_CONTEXT_JSON" in *eu-west-1a*) m='' ;; *) m=',"missing":[{"key":"availability-zones:account=1:region=eu-west-1","provider":"availability-zones","props":{"account":"1","region":"eu-west-1"}}]' ;; esac; printf '{"version":"36.0.0","artifacts":{}%s}' "$m" > "$CDK_OUTDIR/manifest.json""#;
    let env = fake();
    let mut source = AppSource::resolve(Some(app), None, &[], &dir).unwrap();
    let e = block(synthesize_with(&mut source, false, || FakeClients(&env)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("availability-zones:account=1:region=eu-west-1") && e.contains("--no-lookups"),
        "{e}"
    );
    assert!(!dir.join(CONTEXT_FILE).exists());

    block(synthesize_with(&mut source, true, || FakeClients(&env))).unwrap();
    let saved = read_file(&dir.join(CONTEXT_FILE)).unwrap();
    assert_eq!(
        saved["availability-zones:account=1:region=eu-west-1"],
        json!(["eu-west-1a", "eu-west-1c"])
    );
    // Offline afterwards: a fresh source reads the file, nothing is looked up.
    let before = env.connected.lock().unwrap().len();
    let mut again = AppSource::resolve(Some(app), None, &[], &dir).unwrap();
    block(synthesize_with(&mut again, false, || FakeClients(&env))).unwrap();
    assert_eq!(env.connected.lock().unwrap().len(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn xml_answers_are_read() {
    let root = query::parse(
        r#"<?xml version="1.0"?><DescribeVpcsResponse xmlns="http://ec2"><vpcSet><item><vpcId>vpc-1</vpcId><tagSet><item><key>a&amp;b</key><value>c</value></item></tagSet></item></vpcSet></DescribeVpcsResponse>"#,
    )
    .unwrap();
    assert_eq!(root.name, "DescribeVpcsResponse");
    let item = &root.children[0].children[0];
    assert_eq!(item.children[0].text, "vpc-1");
    assert_eq!(item.children[1].children[0].children[0].text, "a&b");
}

/// Against a local endpoint (moto) seeded by `scripts/e2e-deploy`: a VPC tagged
/// `Name=cairn-lookup` with a public subnet in two zones, and the parameter
/// `/cairn/lookup`. Runs when `CAIRN_LOOKUP_ENDPOINT` names the endpoint.
#[test]
fn the_query_client_reads_a_local_endpoint() {
    let Ok(endpoint) = std::env::var("CAIRN_LOOKUP_ENDPOINT") else {
        return;
    };
    let entries_of = |extra: Json, provider: &str, key: &str| {
        let mut p = json!({"account": "123456789012", "region": "us-east-1"});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        missing(key, provider, p)
    };
    let entries = vec![
        entries_of(json!({}), "availability-zones", "az"),
        entries_of(
            json!({"filter": {"tag:Name": "cairn-lookup"}, "returnAsymmetricSubnets": true}),
            "vpc-provider",
            "vpc",
        ),
        entries_of(json!({"parameterName": "/cairn/lookup"}), "ssm", "ssm"),
        entries_of(json!({"domainName": "lookup.example.com"}), "hosted-zone", "zone"),
        entries_of(
            json!({"domainName": "lookup.example.com", "privateZone": true,
                   "vpcId": std::env::var("CAIRN_LOOKUP_VPC").unwrap_or_default()}),
            "hosted-zone",
            "private-zone",
        ),
    ];
    let values = block(async {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        resolve(&query::AwsLookups::new(conf), &entries).await
    });
    assert!(
        values["az"].as_array().is_some_and(|a| a.len() >= 2),
        "{}",
        values["az"]
    );
    let groups = values["vpc"]["subnetGroups"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", values["vpc"]));
    assert_eq!(groups[0]["type"], "Public", "{}", values["vpc"]);
    assert_eq!(
        groups[0]["subnets"].as_array().map(Vec::len),
        Some(2),
        "{}",
        values["vpc"]
    );
    assert_eq!(values["ssm"], json!("looked-up"));
    assert_eq!(
        values["zone"]["Name"], "lookup.example.com.",
        "{}",
        values["zone"]
    );
    assert_eq!(
        values["zone"]["Config"]["PrivateZone"], false,
        "{}",
        values["zone"]
    );
    assert!(
        values["zone"]["Id"]
            .as_str()
            .is_some_and(|id| id.starts_with("/hostedzone/")),
        "{}",
        values["zone"]
    );
    assert_eq!(
        values["private-zone"]["Config"]["PrivateZone"], true,
        "{}",
        values["private-zone"]
    );
    assert_ne!(values["private-zone"]["Id"], values["zone"]["Id"]);
}
