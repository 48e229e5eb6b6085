//! Network rules: no public ingress, approved VPC CIDRs.

use cairn_core::Value;

use crate::rule::{Context, Rule, RuleInfo, Violation};

/// Security groups open no port to the whole internet (`0.0.0.0/0` or `::/0`), except
/// the (port, construct path prefix) pairs on the allow-list, such as a public ALB on 443.
#[derive(Debug, Clone, Default)]
pub struct NoPublicIngress {
    /// Allowed openings: a port and the construct path prefix of the group allowed to open it.
    pub allow: Vec<(i64, String)>,
}

impl NoPublicIngress {
    /// Allows `port` to be open to the internet on security groups under `path_prefix`.
    pub fn allow(mut self, port: i64, path_prefix: &str) -> Self {
        self.allow.push((port, path_prefix.to_string()));
        self
    }

    fn check_rule(&self, path: &str, rule: &Value, out: &mut Vec<Violation>) {
        let Some(m) = rule.as_map() else { return };
        let open = [("CidrIp", "0.0.0.0/0"), ("CidrIpv6", "::/0")]
            .iter()
            .find(|(k, any)| m.get(*k).and_then(Value::as_str) == Some(*any));
        let Some((_, cidr)) = open else { return };
        let port = |k: &str| match m.get(k) {
            Some(Value::Int(i)) => Some(*i),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        let protocol = m.get("IpProtocol").and_then(Value::as_str).unwrap_or("-1");
        let (from, to) = match (port("FromPort"), port("ToPort")) {
            _ if protocol == "-1" => (0, 65535),
            (Some(f), Some(t)) if f >= 0 => (f, t),
            _ => (0, 65535),
        };
        let allowed = self
            .allow
            .iter()
            .any(|(p, prefix)| from == *p && to == *p && path.starts_with(prefix.as_str()));
        if allowed {
            return;
        }
        let ports = if from == to {
            format!("port {from}")
        } else {
            format!("ports {from}-{to}")
        };
        out.push(Violation::new(format!(
            "{ports} ({protocol}) is open to {cidr}; restrict the source to a known CIDR or security group, or allow-list it with NoPublicIngress::allow"
        )));
    }
}

impl Rule for NoPublicIngress {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_24", "CKV_AWS_25", "CKV_AWS_260"],
            cfn_nag: &["W2", "W9"],
            ..RuleInfo::new(
                "CAIRN-SG-NO-PUBLIC-INGRESS",
                "Security groups open no port to 0.0.0.0/0 or ::/0 unless allow-listed",
                &["AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let path = cx.path();
        let mut out = Vec::new();
        if cx.resource_type == "AWS::EC2::SecurityGroupIngress" {
            let rule = Value::Map(cx.properties());
            self.check_rule(&path, &rule, &mut out);
        } else if let Some(Value::List(rules)) = cx.get("SecurityGroupIngress") {
            for r in &rules {
                self.check_rule(&path, r, &mut out);
            }
        }
        out
    }
}

/// VPC CIDR blocks start with an approved prefix (e.g. `192.168.`).
#[derive(Debug, Clone, Default)]
pub struct VpcCidrPrefix {
    /// The approved prefixes.
    pub prefixes: Vec<String>,
}

impl Rule for VpcCidrPrefix {
    fn info(&self) -> RuleInfo {
        RuleInfo::new(
            "CAIRN-VPC-CIDR",
            "VPC CIDR blocks start with an approved prefix",
            &["AWS::EC2::VPC"],
        )
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        match cx.get("CidrBlock") {
            Some(Value::String(cidr)) if self.prefixes.iter().any(|p| cidr.starts_with(p.as_str())) => vec![],
            Some(Value::String(cidr)) => vec![Violation::new(format!(
                "CIDR {cidr} does not start with an approved prefix ({})",
                self.prefixes.join(", ")
            ))],
            Some(_) => vec![Violation::new(
                "the CIDR block is computed at deploy time and cannot be checked; use a literal CIDR",
            )],
            None => vec![],
        }
    }
}
