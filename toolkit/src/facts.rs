//! What the toolkit needs to know about a CloudFormation resource type to judge a change:
//! which properties force a replacement when they change (the registry schema's
//! `createOnlyProperties`) and whether the resource holds data that a replacement or a
//! deletion would lose.
//!
//! [`SchemaFacts`] reads the create-only properties from the registry schemas compiled
//! into `cairn-cfn` (`cairn_cfn::schema::facts`) and falls back to [`BuiltinFacts`], a
//! hand-written table of the common stateful types, for types whose service is not
//! compiled in. Which types hold data is cairn's own judgement (the schemas do not say).

/// Facts about resource types.
pub trait ResourceFacts: Send + Sync {
    /// The create-only properties of `type_name` (top-level property names or
    /// `/`-separated paths such as `KeySchema` or `Tags/*/Key`, `*` matching any array
    /// index), or `None` when the type is unknown. A change to any of them replaces the
    /// resource.
    fn create_only(&self, type_name: &str) -> Option<Vec<String>>;

    /// Whether a resource of `type_name` holds data (objects, items, rows, logs, files,
    /// messages) that is lost when the resource is replaced or deleted.
    fn holds_data(&self, type_name: &str) -> bool;
}

/// The built-in table: the create-only properties of common types, from their registry
/// schemas, and the data-holding types.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinFacts;

/// `(type, create-only properties)`.
const CREATE_ONLY: &[(&str, &[&str])] = &[
    ("AWS::S3::Bucket", &["BucketName", "ObjectLockEnabled"]),
    ("AWS::S3::BucketPolicy", &["Bucket"]),
    (
        "AWS::DynamoDB::Table",
        &["TableName", "KeySchema", "ImportSourceSpecification"],
    ),
    (
        "AWS::DynamoDB::GlobalTable",
        &["TableName", "KeySchema", "LocalSecondaryIndexes"],
    ),
    (
        "AWS::RDS::DBInstance",
        &[
            "DBInstanceIdentifier",
            "DBName",
            "DBClusterIdentifier",
            "CharacterSetName",
            "KmsKeyId",
            "StorageEncrypted",
            "MasterUsername",
            "SourceRegion",
            "Timezone",
            "NcharCharacterSetName",
        ],
    ),
    (
        "AWS::RDS::DBCluster",
        &[
            "DBClusterIdentifier",
            "DatabaseName",
            "Engine",
            "EngineMode",
            "KmsKeyId",
            "StorageEncrypted",
            "MasterUsername",
            "SourceDBClusterIdentifier",
            "SnapshotIdentifier",
            "RestoreType",
            "SourceRegion",
            "DBSubnetGroupName",
            "AvailabilityZones",
        ],
    ),
    ("AWS::Logs::LogGroup", &["LogGroupName", "LogGroupClass"]),
    (
        "AWS::EFS::FileSystem",
        &["Encrypted", "KmsKeyId", "PerformanceMode", "AvailabilityZoneName"],
    ),
    ("AWS::SQS::Queue", &["QueueName", "FifoQueue"]),
    ("AWS::SNS::Topic", &["TopicName", "FifoTopic"]),
    ("AWS::SNS::Subscription", &["Endpoint", "Protocol", "TopicArn"]),
    ("AWS::Kinesis::Stream", &["Name"]),
    (
        "AWS::ElastiCache::ReplicationGroup",
        &[
            "ReplicationGroupId",
            "KmsKeyId",
            "AtRestEncryptionEnabled",
            "DataTieringEnabled",
        ],
    ),
    ("AWS::SSM::Parameter", &["Name"]),
    ("AWS::SecretsManager::Secret", &["Name"]),
    ("AWS::KMS::Key", &[]),
    ("AWS::KMS::Alias", &["AliasName"]),
    ("AWS::IAM::Role", &["RoleName", "Path"]),
    ("AWS::IAM::User", &[]),
    (
        "AWS::IAM::ManagedPolicy",
        &["ManagedPolicyName", "Path", "Description"],
    ),
    ("AWS::IAM::Policy", &[]),
    ("AWS::Lambda::Function", &["FunctionName"]),
    (
        "AWS::Lambda::Permission",
        &[
            "Action",
            "EventSourceToken",
            "FunctionName",
            "Principal",
            "SourceAccount",
            "SourceArn",
            "PrincipalOrgID",
            "FunctionUrlAuthType",
        ],
    ),
    (
        "AWS::StepFunctions::StateMachine",
        &["StateMachineName", "StateMachineType"],
    ),
    (
        "AWS::ECR::Repository",
        &["RepositoryName", "EncryptionConfiguration"],
    ),
    (
        "AWS::EC2::SecurityGroup",
        &["GroupDescription", "GroupName", "VpcId"],
    ),
    (
        "AWS::EC2::VPC",
        &["CidrBlock", "Ipv4IpamPoolId", "Ipv4NetmaskLength"],
    ),
    (
        "AWS::EC2::Subnet",
        &[
            "VpcId",
            "AvailabilityZone",
            "AvailabilityZoneId",
            "CidrBlock",
            "Ipv6Native",
        ],
    ),
    ("AWS::Events::Rule", &["Name", "EventBusName"]),
    (
        "AWS::Cognito::UserPool",
        &["UserPoolName", "AliasAttributes", "UsernameAttributes"],
    ),
    ("AWS::OpenSearchService::Domain", &["DomainName"]),
    (
        "AWS::Backup::BackupVault",
        &["BackupVaultName", "EncryptionKeyArn"],
    ),
];

/// Types whose resources hold data.
const HOLDS_DATA: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::Logs::LogGroup",
    "AWS::EFS::FileSystem",
    "AWS::SQS::Queue",
    "AWS::Kinesis::Stream",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::CacheCluster",
    "AWS::Neptune::DBCluster",
    "AWS::DocDB::DBCluster",
    "AWS::Redshift::Cluster",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    "AWS::Cognito::UserPool",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
    "AWS::ECR::Repository",
    "AWS::Backup::BackupVault",
    "AWS::EC2::Volume",
    "AWS::FSx::FileSystem",
    "AWS::Timestream::Table",
    "AWS::QLDB::Ledger",
];

impl ResourceFacts for BuiltinFacts {
    fn create_only(&self, type_name: &str) -> Option<Vec<String>> {
        CREATE_ONLY
            .iter()
            .find(|(t, _)| *t == type_name)
            .map(|(_, props)| props.iter().map(|p| p.to_string()).collect())
    }

    fn holds_data(&self, type_name: &str) -> bool {
        HOLDS_DATA.contains(&type_name)
    }
}

/// Properties whose change replaces the resource according to the CloudFormation
/// resource reference ("Update requires: Replacement") although the registry schema does
/// not list them in `createOnlyProperties`. [`SchemaFacts`] adds them to the schema's list.
///
/// - `AWS::EC2::Instance` `BlockDeviceMappings`: replaces the instance (only a change of
///   `DeleteOnTermination` alone updates in place; the table errs on the side of warning).
/// - `AWS::RDS::DBCluster` `Engine`, `MasterUsername`, `AvailabilityZones`.
pub const DOCUMENTED_REPLACING: &[(&str, &[&str])] = &[
    ("AWS::EC2::Instance", &["BlockDeviceMappings"]),
    (
        "AWS::RDS::DBCluster",
        &["Engine", "MasterUsername", "AvailabilityZones"],
    ),
];

/// The [`DOCUMENTED_REPLACING`] properties of `type_name`.
pub fn documented_replacing(type_name: &str) -> &'static [&'static str] {
    DOCUMENTED_REPLACING
        .iter()
        .find(|(t, _)| *t == type_name)
        .map_or(&[], |(_, props)| props)
}

/// Create-only properties from the registry schemas (every service compiled into
/// `cairn-cfn`) and the [`DOCUMENTED_REPLACING`] ones they miss, with [`BuiltinFacts`]
/// for the rest.
#[derive(Debug, Clone, Copy, Default)]
pub struct SchemaFacts;

impl ResourceFacts for SchemaFacts {
    fn create_only(&self, type_name: &str) -> Option<Vec<String>> {
        match cairn_cfn::schema::facts(type_name) {
            Some(f) => {
                let mut props: Vec<String> = f
                    .create_only
                    .iter()
                    .map(|p| p.strip_prefix("/properties/").unwrap_or(p).to_string())
                    .collect();
                for p in documented_replacing(type_name) {
                    if !props.iter().any(|have| have == p) {
                        props.push(p.to_string());
                    }
                }
                Some(props)
            }
            None => BuiltinFacts.create_only(type_name),
        }
    }

    fn holds_data(&self, type_name: &str) -> bool {
        BuiltinFacts.holds_data(type_name)
    }
}

/// Whether changing the property at `path` (top-level name first) replaces the resource,
/// per `create_only`: a create-only path is a prefix of the changed path, or the changed
/// path is a prefix of a create-only path (a whole object was swapped).
pub fn is_create_only<S: AsRef<str>>(create_only: &[S], path: &[String]) -> bool {
    create_only.iter().any(|c| {
        let parts: Vec<&str> = c.as_ref().split('/').collect();
        let n = parts.len().min(path.len());
        n > 0
            && parts[..n]
                .iter()
                .zip(&path[..n])
                .all(|(a, b)| *a == "*" || a == b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_facts_come_from_the_registry_schemas() {
        let f = SchemaFacts;
        let bucket = f.create_only("AWS::S3::Bucket").unwrap_or_default();
        assert!(bucket.contains(&"BucketName".to_string()), "{bucket:?}");
        // A type only the schemas know: VPC CidrBlock is create-only.
        let vpc = f.create_only("AWS::EC2::VPC").unwrap_or_default();
        assert!(vpc.contains(&"CidrBlock".to_string()), "{vpc:?}");
        assert!(is_create_only(&vpc, &["CidrBlock".to_string()]));
        assert!(f.holds_data("AWS::RDS::DBCluster"));
    }

    #[test]
    fn builtin_table_knows_stateful_types() {
        let f = BuiltinFacts;
        assert!(f.holds_data("AWS::S3::Bucket"));
        assert!(f.holds_data("AWS::DynamoDB::Table"));
        assert!(!f.holds_data("AWS::SNS::Topic"));
        assert_eq!(
            f.create_only("AWS::DynamoDB::Table")
                .map(|p| p.contains(&"KeySchema".to_string())),
            Some(true)
        );
        assert!(f.create_only("AWS::Nope::Thing").is_none());
    }

    #[test]
    fn schema_facts_add_the_documented_replacing_properties() {
        let f = SchemaFacts;
        let instance = f.create_only("AWS::EC2::Instance").unwrap();
        assert!(instance.iter().any(|p| p == "ImageId"), "{instance:?}");
        assert!(is_create_only(
            &instance,
            &[
                "BlockDeviceMappings".to_string(),
                "0".to_string(),
                "Ebs".to_string()
            ]
        ));
        let cluster = f.create_only("AWS::RDS::DBCluster").unwrap();
        assert!(cluster.iter().any(|p| p == "Engine"), "{cluster:?}");
        assert_eq!(cluster.iter().filter(|p| *p == "StorageEncrypted").count(), 1);
    }

    #[test]
    fn create_only_paths_match_prefixes() {
        let p = |s: &str| s.split('/').map(String::from).collect::<Vec<_>>();
        assert!(is_create_only(&["KeySchema"], &p("KeySchema/0/AttributeName")));
        assert!(is_create_only(&["Tags/*/Key"], &p("Tags")));
        assert!(is_create_only(&["Tags/*/Key"], &p("Tags/3/Key")));
        assert!(!is_create_only(&["Tags/*/Key"], &p("Tags/3/Value")));
        assert!(!is_create_only(&["TableName"], &p("BillingMode")));
    }
}
