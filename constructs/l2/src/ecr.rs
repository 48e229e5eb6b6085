//! ECR: container image repositories that scan on push, encrypt with KMS, keep tags
//! immutable, expire old images by lifecycle rules and grant pull and push.
//!
//! ```
//! use cairn_constructs::ecr::{LifecycleRule, Repository, RepositoryProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let repo = Repository::new(&mut app, stack, "Agent", RepositoryProps {
//!     repository_name: Some("jenkins/agent".into()),
//!     lifecycle_rules: vec![LifecycleRule::keep_last(20)],
//!     ..RepositoryProps::default()
//! })?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let r = &s.template["Resources"][s.resources_of_type("AWS::ECR::Repository")[0]];
//! assert_eq!(r["Properties"]["ImageScanningConfiguration"]["ScanOnPush"], true);
//! assert_eq!(r["Properties"]["EncryptionConfiguration"]["EncryptionType"], "KMS");
//! assert_eq!(r["DeletionPolicy"], "Retain");
//! # let _ = repo;
//! # Ok(())
//! # }
//! ```

use cairn_core::{App, NodeId, RemovalPolicy, Res, Result, Value};

use crate::iam::{grant, Grantable};
use crate::kms::Key;

pub use cairn_cfn::ecr::*;

/// The actions of [`Repository::grant_pull`] on the repository (the CDK's list).
pub const PULL_ACTIONS: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
];
/// The actions of [`Repository::grant_pull_push`] on the repository (the CDK's list).
pub const PUSH_ACTIONS: &[&str] = &[
    "ecr:CompleteLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
];
/// The account-wide action every puller and pusher needs (`Resource: *`).
pub const AUTH_ACTION: &str = "ecr:GetAuthorizationToken";

/// How images are encrypted at rest.
///
/// ```
/// use cairn_constructs::ecr::RepositoryEncryption;
/// assert_eq!(RepositoryEncryption::default(), RepositoryEncryption::KmsManaged);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RepositoryEncryption {
    /// SSE-KMS with the AWS managed key for ECR (the default; what the recommended
    /// rules require).
    #[default]
    KmsManaged,
    /// SSE-KMS with a customer managed key.
    Kms(Key),
    /// AES256 (S3-managed keys). Not KMS: the recommended rules report it.
    Aes256,
}

/// Which images a [`LifecycleRule`] selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagStatus {
    /// Images with any tag or none.
    Any,
    /// Untagged images.
    Untagged,
    /// Images with a tag starting with one of these prefixes.
    TaggedPrefixes(Vec<String>),
}

/// One lifecycle rule: expire images beyond a count, or older than a number of days.
///
/// ```
/// use cairn_constructs::ecr::LifecycleRule;
/// let rule = LifecycleRule::expire_untagged_after_days(7);
/// assert_eq!(rule.max_age_days, Some(7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    /// A description shown in the console.
    pub description: Option<String>,
    /// The images the rule selects.
    pub tag_status: TagStatus,
    /// Keep at most this many images (`imageCountMoreThan`).
    pub max_image_count: Option<u32>,
    /// Expire images pushed more than this many days ago (`sinceImagePushed`).
    pub max_age_days: Option<u32>,
}

impl LifecycleRule {
    /// Keeps the `n` most recent images of any tag.
    pub fn keep_last(n: u32) -> LifecycleRule {
        LifecycleRule {
            description: Some(format!("keep the last {n} images")),
            tag_status: TagStatus::Any,
            max_image_count: Some(n),
            max_age_days: None,
        }
    }

    /// Expires untagged images `days` after they were pushed.
    pub fn expire_untagged_after_days(days: u32) -> LifecycleRule {
        LifecycleRule {
            description: Some(format!("expire untagged images after {days} days")),
            tag_status: TagStatus::Untagged,
            max_image_count: None,
            max_age_days: Some(days),
        }
    }
}

/// Settings of a [`Repository`].
///
/// ```
/// use cairn_constructs::ecr::RepositoryProps;
/// let props = RepositoryProps::default();
/// assert!(props.image_scan_on_push);
/// assert!(props.image_tag_immutable);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryProps {
    /// A physical name (lowercase, may hold `/` namespaces); generated when `None`.
    pub repository_name: Option<Value>,
    /// Scan images for vulnerabilities on push (default: on).
    pub image_scan_on_push: bool,
    /// Tags cannot be overwritten (default: on; `latest`-style workflows turn it off).
    pub image_tag_immutable: bool,
    /// Encryption at rest (default: the AWS managed KMS key).
    pub encryption: RepositoryEncryption,
    /// Lifecycle rules, in priority order.
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// Delete the images with the repository (`EmptyOnDelete`; default: off).
    pub empty_on_delete: bool,
    /// What happens to the repository when it leaves the stack (default: `Retain`).
    pub removal_policy: RemovalPolicy,
}

impl Default for RepositoryProps {
    fn default() -> Self {
        RepositoryProps {
            repository_name: None,
            image_scan_on_push: true,
            image_tag_immutable: true,
            encryption: RepositoryEncryption::KmsManaged,
            lifecycle_rules: Vec::new(),
            empty_on_delete: false,
            removal_policy: RemovalPolicy::Retain,
        }
    }
}

/// An ECR repository (`AWS::ECR::Repository`), its L1 the child `Resource`.
///
/// ```
/// use cairn_constructs::ecr::{Repository, RepositoryProps};
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let repo = Repository::new(&mut app, stack, "Images", RepositoryProps::default())?;
/// let role = Role::new(&mut app, stack, "Builder", RoleProps::new(Principal::service("codebuild.amazonaws.com")))?;
/// repo.grant_pull_push(&mut app, &role)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Repository {
    node: NodeId,
    resource: Res<CfnRepository>,
    encryption: RepositoryEncryption,
}

impl PartialEq for Repository {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}
impl Eq for Repository {}

fn lifecycle_policy_text(rules: &[LifecycleRule]) -> std::result::Result<String, String> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let mut selection = serde_json::Map::new();
        match &r.tag_status {
            TagStatus::Any => {
                selection.insert("tagStatus".into(), "any".into());
            }
            TagStatus::Untagged => {
                selection.insert("tagStatus".into(), "untagged".into());
            }
            TagStatus::TaggedPrefixes(p) => {
                if p.is_empty() {
                    return Err(format!(
                        "lifecycle rule {} selects tagged images but lists no tag prefix",
                        i + 1
                    ));
                }
                selection.insert("tagStatus".into(), "tagged".into());
                selection.insert("tagPrefixList".into(), p.clone().into());
            }
        }
        match (r.max_image_count, r.max_age_days) {
            (Some(n), None) => {
                if n == 0 {
                    return Err(format!(
                        "lifecycle rule {}: max_image_count must be at least 1",
                        i + 1
                    ));
                }
                selection.insert("countType".into(), "imageCountMoreThan".into());
                selection.insert("countNumber".into(), n.into());
            }
            (None, Some(d)) => {
                if d == 0 {
                    return Err(format!(
                        "lifecycle rule {}: max_age_days must be at least 1",
                        i + 1
                    ));
                }
                selection.insert("countType".into(), "sinceImagePushed".into());
                selection.insert("countUnit".into(), "days".into());
                selection.insert("countNumber".into(), d.into());
            }
            _ => {
                return Err(format!(
                    "lifecycle rule {} needs exactly one of max_image_count and max_age_days",
                    i + 1
                ))
            }
        }
        let mut rule = serde_json::Map::new();
        rule.insert("rulePriority".into(), (i + 1).into());
        if let Some(d) = &r.description {
            rule.insert("description".into(), d.clone().into());
        }
        rule.insert("selection".into(), selection.into());
        rule.insert("action".into(), serde_json::json!({ "type": "expire" }));
        out.push(serde_json::Value::Object(rule));
    }
    if let Some(pos) = rules.iter().position(|r| r.tag_status == TagStatus::Any) {
        if pos + 1 != rules.len() {
            return Err("a lifecycle rule selecting any tag must come last (ECR evaluates it last)".into());
        }
    }
    Ok(serde_json::json!({ "rules": out }).to_string())
}

impl Repository {
    /// Creates the repository as construct `id` under `scope`. A bad lifecycle rule is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: RepositoryProps,
    ) -> Result<Repository> {
        let node = app.construct(scope, id)?;
        let mut r = CfnRepository {
            repository_name: props.repository_name.clone().map(Into::into),
            image_scanning_configuration: Some(
                repository::ImageScanningConfiguration {
                    scan_on_push: Some(props.image_scan_on_push.into()),
                }
                .into(),
            ),
            image_tag_mutability: Some(
                if props.image_tag_immutable {
                    repository::ImageTagMutability::Immutable
                } else {
                    repository::ImageTagMutability::Mutable
                }
                .into(),
            ),
            ..CfnRepository::default()
        };
        r.encryption_configuration = Some(
            match props.encryption {
                RepositoryEncryption::KmsManaged => {
                    repository::EncryptionConfiguration::new(repository::EncryptionType::Kms)
                }
                RepositoryEncryption::Kms(key) => repository::EncryptionConfiguration {
                    kms_key: Some(key.key_arn().into()),
                    ..repository::EncryptionConfiguration::new(repository::EncryptionType::Kms)
                },
                RepositoryEncryption::Aes256 => {
                    repository::EncryptionConfiguration::new(repository::EncryptionType::Aes256)
                }
            }
            .into(),
        );
        if props.empty_on_delete {
            r.empty_on_delete = Some(true.into());
        }
        if !props.lifecycle_rules.is_empty() {
            let text =
                lifecycle_policy_text(&props.lifecycle_rules).map_err(|e| app.invalid_props(node, e))?;
            r.lifecycle_policy = Some(
                repository::LifecyclePolicy {
                    lifecycle_policy_text: Some(text.into()),
                    registry_id: None,
                }
                .into(),
            );
        }
        let resource = app.add(node, "Resource", r)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        Ok(Repository {
            node,
            resource,
            encryption: props.encryption,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnRepository> {
        self.resource
    }

    /// The repository's name (`Ref`).
    pub fn repository_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The repository's ARN.
    pub fn repository_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The repository's URI (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`).
    pub fn repository_uri(&self) -> Value {
        self.resource.attr_repository_uri()
    }

    /// The URI of one tag of an image in this repository (`URI:TAG`).
    pub fn image_uri(&self, tag: &str) -> Value {
        Value::join("", [self.repository_uri(), Value::from(format!(":{tag}"))])
    }

    /// The customer managed key, when the repository has one.
    pub fn encryption_key(&self) -> Option<Key> {
        match self.encryption {
            RepositoryEncryption::Kms(k) => Some(k),
            _ => None,
        }
    }

    /// Grants `actions` on this repository.
    pub fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        grant(app, grantee, actions, [self.repository_arn()])
    }

    /// Grants pulling images (and the account-wide authorization token; decrypt on a
    /// customer managed key).
    pub fn grant_pull(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        self.grant(app, grantee, PULL_ACTIONS.iter().copied())?;
        grant(app, grantee, [AUTH_ACTION], [Value::from("*")])?;
        if let Some(key) = self.encryption_key() {
            key.grant_decrypt(app, grantee)?;
        }
        Ok(())
    }

    /// Grants pulling and pushing images.
    pub fn grant_pull_push(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        self.grant_pull(app, grantee)?;
        self.grant(app, grantee, PUSH_ACTIONS.iter().copied())?;
        if let Some(key) = self.encryption_key() {
            key.grant_encrypt_decrypt(app, grantee)?;
        }
        Ok(())
    }
}

impl From<Repository> for NodeId {
    fn from(r: Repository) -> NodeId {
        r.node
    }
}

construct!(Repository);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_rules_render_in_priority_order() {
        let text = lifecycle_policy_text(&[
            LifecycleRule::expire_untagged_after_days(7),
            LifecycleRule::keep_last(30),
        ])
        .expect("valid rules");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["rules"][0]["rulePriority"], 1);
        assert_eq!(v["rules"][0]["selection"]["countType"], "sinceImagePushed");
        assert_eq!(v["rules"][0]["selection"]["countUnit"], "days");
        assert_eq!(v["rules"][1]["selection"]["countType"], "imageCountMoreThan");
        assert_eq!(v["rules"][1]["selection"]["countNumber"], 30);
        assert_eq!(v["rules"][1]["action"]["type"], "expire");
    }

    #[test]
    fn bad_lifecycle_rules_are_refused() {
        let both = LifecycleRule {
            max_age_days: Some(3),
            ..LifecycleRule::keep_last(3)
        };
        assert!(lifecycle_policy_text(&[both]).is_err());
        let any_first = [
            LifecycleRule::keep_last(3),
            LifecycleRule::expire_untagged_after_days(1),
        ];
        assert!(lifecycle_policy_text(&any_first)
            .unwrap_err()
            .contains("must come last"));
        let no_prefix = LifecycleRule {
            tag_status: TagStatus::TaggedPrefixes(vec![]),
            ..LifecycleRule::keep_last(3)
        };
        assert!(lifecycle_policy_text(&[no_prefix]).is_err());
    }

    #[test]
    fn a_bad_rule_is_refused_naming_the_path() {
        let mut app = App::new();
        let stack = app.stack("S").expect("stack");
        let err = Repository::new(
            &mut app,
            stack,
            "Images",
            RepositoryProps {
                lifecycle_rules: vec![LifecycleRule::keep_last(0)],
                ..RepositoryProps::default()
            },
        )
        .expect_err("refused")
        .to_string();
        assert!(err.contains("S/Images"), "{err}");
        assert!(err.contains("max_image_count"), "{err}");
    }

    #[test]
    fn customer_key_and_grants() {
        let mut app = App::new();
        let stack = app.stack("S").expect("stack");
        let key = Key::new(&mut app, stack, "K", crate::kms::KeyProps::default()).expect("key");
        let repo = Repository::new(
            &mut app,
            stack,
            "Images",
            RepositoryProps {
                encryption: RepositoryEncryption::Kms(key),
                ..RepositoryProps::default()
            },
        )
        .expect("repo");
        let role = crate::iam::Role::new(
            &mut app,
            stack,
            "Puller",
            crate::iam::RoleProps::new(crate::iam::Principal::service("ecs-tasks.amazonaws.com")),
        )
        .expect("role");
        repo.grant_pull(&mut app, &role).expect("grant");
        let asm = app.synth().expect("synth");
        let s = asm.stack("S").expect("stack S");
        let r = &s.template["Resources"][s.resources_of_type("AWS::ECR::Repository")[0]];
        assert!(r["Properties"]["EncryptionConfiguration"]["KmsKey"]["Fn::GetAtt"].is_array());
        let policy = &s.template["Resources"][s.resources_of_type("AWS::IAM::Policy")[0]];
        let text = policy["Properties"]["PolicyDocument"].to_string();
        for a in PULL_ACTIONS.iter().chain([&AUTH_ACTION, &"kms:Decrypt"]) {
            assert!(text.contains(a), "{a} missing from {text}");
        }
        assert!(!text.contains("ecr:PutImage"));
    }
}
