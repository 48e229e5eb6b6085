//! The built-in rules.

use std::rc::Rc;

use crate::rule::{Rule, RuleInfo};

pub mod encryption;
pub mod iam;
pub mod network;
pub mod org;
pub mod storage;

pub use encryption::*;
pub use iam::*;
pub use network::*;
pub use org::*;
pub use storage::*;

/// The rules that need no configuration, in the order they run.
pub fn recommended() -> Vec<Rc<dyn Rule>> {
    vec![
        Rc::new(S3Encryption::default()),
        Rc::new(S3Versioning),
        Rc::new(S3PublicAccessBlock),
        Rc::new(S3NoPublicAcl),
        Rc::new(S3TlsOnly),
        Rc::new(SqsEncryption::default()),
        Rc::new(SnsEncryption::default()),
        Rc::new(DynamoDbEncryption::default()),
        Rc::new(DynamoDbPitr),
        Rc::new(RdsEncryption),
        Rc::new(RdsNotPublic),
        Rc::new(RdsDeletionProtection),
        Rc::new(EbsEncryption),
        Rc::new(EfsEncryption),
        Rc::new(KinesisEncryption),
        Rc::new(EcrEncryption),
        Rc::new(LogGroupEncryption::default()),
        Rc::new(LogRetention::default()),
        Rc::new(EksSecretsEncryption::default()),
        Rc::new(GlueCatalogEncryption),
        Rc::new(RetainStateful),
        Rc::new(NoPublicIngress::default()),
        Rc::new(IamNoAdmin),
        Rc::new(IamNoWildcardPrincipal),
    ]
}

/// The rules that need no configuration and report warnings (in [`Mode::Warn`](crate::Mode::Warn)
/// in [`RuleSet::recommended`](crate::RuleSet::recommended)): the IAM policy check's.
pub fn recommended_warnings() -> Vec<Rc<dyn Rule>> {
    IamPolicyCheck::all()
        .into_iter()
        .map(|r| Rc::new(r) as Rc<dyn Rule>)
        .collect()
}

/// Every built-in rule's info, configuration-needing ones included.
pub fn catalogue() -> Vec<RuleInfo> {
    let mut all: Vec<RuleInfo> = recommended().iter().map(|r| r.info()).collect();
    all.extend(recommended_warnings().iter().map(|r| r.info()));
    all.push(VpcCidrPrefix::default().info());
    all.push(ApprovedAmi::default().info());
    all.push(MandatoryTags::default().info());
    all
}
