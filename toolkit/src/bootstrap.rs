//! The bootstrap stack, compatible with `cdk bootstrap`'s: the stack `CDKToolkit` with the
//! same parameters (`Qualifier`, default `hnb659fds`, `TrustedAccounts`,
//! `CloudFormationExecutionPolicies` ...), the same resources under the same logical IDs and
//! names (the assets bucket `cdk-<qualifier>-assets-<account>-<region>` and its KMS key, the
//! container assets repository, the file-publishing, image-publishing, lookup, deploy and
//! CloudFormation execution roles `cdk-<qualifier>-<role>-role-<account>-<region>`), the same
//! outputs and the version in `/cdk-bootstrap/<qualifier>/version`. So `cdk deploy` deploys
//! into an environment `cairn bootstrap` made, and `cairn deploy` into one `cdk bootstrap`
//! made.
//!
//! cairn's secure additions change no name: the KMS key rotates, the bucket enforces bucket
//! ownership (no ACLs), the container repository scans images on push, and endpoint names
//! in conditions follow the partition (`${AWS::URLSuffix}`). The `BootstrapVariant`
//! parameter says the template is cairn's, so `cdk bootstrap` does not replace it by
//! accident (and `cairn bootstrap` does not replace the CDK's without `--force`).

use serde_json::{json, Value as Json};

/// The bootstrap stack's name (`cdk bootstrap`'s default).
pub const TOOLKIT_STACK: &str = "CDKToolkit";
/// The version this template is (that of the `cdk bootstrap` template it matches,
/// aws-cdk 2.1148.1), written to `/cdk-bootstrap/<qualifier>/version`.
pub const BOOTSTRAP_VERSION: u32 = 33;
/// The logical ID of the assets bucket.
pub const BUCKET_LOGICAL_ID: &str = "StagingBucket";
/// The parameter naming the qualifier.
pub const QUALIFIER: &str = "Qualifier";
/// The parameter listing the accounts trusted to deploy (comma-separated).
pub const TRUSTED_ACCOUNTS: &str = "TrustedAccounts";
/// The parameter listing the accounts trusted to look up values.
pub const TRUSTED_ACCOUNTS_FOR_LOOKUP: &str = "TrustedAccountsForLookup";
/// The parameter listing the managed policies of the execution role.
pub const EXECUTION_POLICIES: &str = "CloudFormationExecutionPolicies";
/// The parameter naming the KMS key of the assets bucket.
pub const KMS_KEY_ID: &str = "FileAssetsBucketKmsKeyId";
/// The parameter saying whose template the stack is.
pub const VARIANT: &str = "BootstrapVariant";
/// This template's variant.
pub const CAIRN_VARIANT: &str = "cairn: AWS CDK default resources with secure additions";
/// The variant of `cdk bootstrap`'s own template.
pub const CDK_VARIANT: &str = "AWS CDK: Default Resources";

/// The assets bucket's name in `account`/`region`.
pub fn bucket_name(names: &cairn_core::BootstrapNames, account: &str, region: &str) -> String {
    crate::deploy::assets::substitute(&names.asset_bucket(), account, region)
}

/// The principal statements of a bootstrap role's trust policy: this account, and the
/// `accounts` parameter's when it is set; `sts:ExternalId` refused unless `DenyExternalId`
/// is `false`.
fn trust(accounts: &[&str]) -> Json {
    let no_external_id = json!({"Fn::If": ["ShouldDenyExternalId", {"Null": {"sts:ExternalId": "true"}}, {"Ref": "AWS::NoValue"}]});
    let mut statements = vec![
        json!({"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": {"Ref": "AWS::AccountId"}}, "Condition": no_external_id}),
        json!({"Action": "sts:TagSession", "Effect": "Allow", "Principal": {"AWS": {"Ref": "AWS::AccountId"}}}),
    ];
    for a in accounts {
        let condition = format!("Has{a}");
        statements.push(json!({"Fn::If": [condition, {
            "Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"AWS": {"Ref": a}}, "Condition": no_external_id
        }, {"Ref": "AWS::NoValue"}]}));
        statements.push(json!({"Fn::If": [condition, {
            "Action": ["sts:TagSession"], "Effect": "Allow", "Principal": {"AWS": {"Ref": a}}
        }, {"Ref": "AWS::NoValue"}]}));
    }
    json!({"Statement": statements})
}

fn boundary_for_all_roles() -> Json {
    json!({"Fn::If": ["ShouldApplyPermissionsBoundaryToAllRoles",
        {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${InputPermissionsBoundary}"},
        {"Ref": "AWS::NoValue"}]})
}

fn role_tag(value: &str) -> Json {
    json!([{"Key": "aws-cdk:bootstrap-role", "Value": value}])
}

fn not_empty_list(parameter: &str) -> Json {
    json!({"Fn::Not": [{"Fn::Equals": ["", {"Fn::Join": ["", {"Ref": parameter}]}]}]})
}

fn not_empty(parameter: &str) -> Json {
    json!({"Fn::Not": [{"Fn::Equals": ["", {"Ref": parameter}]}]})
}

fn parameters() -> Json {
    json!({
        TRUSTED_ACCOUNTS: {"Description": "List of AWS accounts that are trusted to publish assets and deploy stacks to this environment", "Default": "", "Type": "CommaDelimitedList"},
        TRUSTED_ACCOUNTS_FOR_LOOKUP: {"Description": "List of AWS accounts that are trusted to look up values in this environment", "Default": "", "Type": "CommaDelimitedList"},
        EXECUTION_POLICIES: {"Description": "List of the ManagedPolicy ARN(s) to attach to the CloudFormation deployment role", "Default": "", "Type": "CommaDelimitedList"},
        "FileAssetsBucketName": {"Description": "The name of the S3 bucket used for file assets", "Default": "", "Type": "String"},
        KMS_KEY_ID: {"Description": "Empty to create a new key (default), 'AWS_MANAGED_KEY' to use a managed S3 key, or the ID/ARN of an existing key.", "Default": "", "Type": "String"},
        "ContainerAssetsRepositoryName": {"Description": "A user-provided custom name to use for the container assets ECR repository", "Default": "", "Type": "String"},
        QUALIFIER: {"Description": "An identifier to distinguish multiple bootstrap stacks in the same environment", "Default": cairn_core::DEFAULT_QUALIFIER, "Type": "String",
            "AllowedPattern": "[A-Za-z0-9_-]{1,10}", "ConstraintDescription": "Qualifier must be an alphanumeric identifier of at most 10 characters"},
        "PublicAccessBlockConfiguration": {"Description": "Whether or not to enable S3 Staging Bucket Public Access Block Configuration", "Default": "true", "Type": "String", "AllowedValues": ["true", "false"]},
        "InputPermissionsBoundary": {"Description": "Whether or not to use either the CDK supplied or custom permissions boundary", "Default": "", "Type": "String"},
        "UseExamplePermissionsBoundary": {"Default": "false", "AllowedValues": ["true", "false"], "Type": "String"},
        "ApplyPermissionsBoundaryToAllRoles": {"Description": "Whether to apply the permissions boundary to all bootstrap roles (not just the CloudFormation execution role)", "Default": "false", "Type": "String", "AllowedValues": ["true", "false"]},
        VARIANT: {"Type": "String", "Default": CAIRN_VARIANT, "Description": "Describe the provenance of the resources in this bootstrap stack. Change this when you customize the template. To prevent accidents, the CDK CLI will not overwrite bootstrap stacks with a different variant."},
        "DenyExternalId": {"Type": "String", "Default": "true", "AllowedValues": ["true", "false"], "Description": "Whether to deny AssumeRole calls with an ExternalId. This prevents calls that are intended to be deputized from accidentally assuming CDK Roles."}
    })
}

fn conditions() -> Json {
    json!({
        "HasTrustedAccounts": not_empty_list(TRUSTED_ACCOUNTS),
        "HasTrustedAccountsForLookup": not_empty_list(TRUSTED_ACCOUNTS_FOR_LOOKUP),
        "HasCloudFormationExecutionPolicies": not_empty_list(EXECUTION_POLICIES),
        "HasCustomFileAssetsBucketName": not_empty("FileAssetsBucketName"),
        "CreateNewKey": {"Fn::Equals": ["", {"Ref": KMS_KEY_ID}]},
        "UseAwsManagedKey": {"Fn::Equals": ["AWS_MANAGED_KEY", {"Ref": KMS_KEY_ID}]},
        "ShouldCreatePermissionsBoundary": {"Fn::Equals": ["true", {"Ref": "UseExamplePermissionsBoundary"}]},
        "PermissionsBoundarySet": not_empty("InputPermissionsBoundary"),
        "ShouldApplyPermissionsBoundaryToAllRoles": {"Fn::And": [{"Condition": "PermissionsBoundarySet"}, {"Fn::Equals": ["true", {"Ref": "ApplyPermissionsBoundaryToAllRoles"}]}]},
        "HasCustomContainerAssetsRepositoryName": not_empty("ContainerAssetsRepositoryName"),
        "UsePublicAccessBlockConfiguration": {"Fn::Equals": ["true", {"Ref": "PublicAccessBlockConfiguration"}]},
        "ShouldDenyExternalId": {"Fn::Equals": ["true", {"Ref": "DenyExternalId"}]}
    })
}

fn storage() -> serde_json::Map<String, Json> {
    let key_admin = [
        "kms:Create*",
        "kms:Describe*",
        "kms:Enable*",
        "kms:List*",
        "kms:Put*",
        "kms:Update*",
        "kms:Revoke*",
        "kms:Disable*",
        "kms:Get*",
        "kms:Delete*",
        "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion",
        "kms:GenerateDataKey",
        "kms:TagResource",
        "kms:UntagResource",
    ];
    let key_use = [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    ];
    let json = json!({
        "FileAssetsBucketEncryptionKey": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "EnableKeyRotation": true,
                "KeyPolicy": {"Statement": [
                    {"Action": key_admin, "Effect": "Allow", "Principal": {"AWS": {"Ref": "AWS::AccountId"}}, "Resource": "*"},
                    {"Action": key_use, "Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*",
                     "Condition": {"StringEquals": {"kms:CallerAccount": {"Ref": "AWS::AccountId"},
                                                    "kms:ViaService": [{"Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"}]}}},
                    {"Action": key_use, "Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "${FilePublishingRole.Arn}"}}, "Resource": "*"}
                ]}
            },
            "Condition": "CreateNewKey",
            "UpdateReplacePolicy": "Delete",
            "DeletionPolicy": "Delete"
        },
        "FileAssetsBucketEncryptionKeyAlias": {
            "Condition": "CreateNewKey",
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": {"Fn::Sub": "alias/cdk-${Qualifier}-assets-key"},
                "TargetKeyId": {"Ref": "FileAssetsBucketEncryptionKey"}
            }
        },
        BUCKET_LOGICAL_ID: {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": {"Fn::If": ["HasCustomFileAssetsBucketName",
                    {"Fn::Sub": "${FileAssetsBucketName}"},
                    {"Fn::Sub": "cdk-${Qualifier}-assets-${AWS::AccountId}-${AWS::Region}"}]},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": {"Fn::If": ["CreateNewKey",
                        {"Fn::Sub": "${FileAssetsBucketEncryptionKey.Arn}"},
                        {"Fn::If": ["UseAwsManagedKey", {"Ref": "AWS::NoValue"}, {"Fn::Sub": "${FileAssetsBucketKmsKeyId}"}]}]}
                }}]},
                "PublicAccessBlockConfiguration": {"Fn::If": ["UsePublicAccessBlockConfiguration",
                    {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
                    {"Ref": "AWS::NoValue"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "CleanupOldVersions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
                    {"Id": "AbortIncompleteMultipartUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}
                ]}
            },
            "UpdateReplacePolicy": "Retain",
            "DeletionPolicy": "Retain"
        },
        "StagingBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": BUCKET_LOGICAL_ID},
                "PolicyDocument": {"Id": "AccessControl", "Version": "2012-10-17", "Statement": [{
                    "Sid": "AllowSSLRequestsOnly", "Action": "s3:*", "Effect": "Deny",
                    "Resource": [{"Fn::Sub": "${StagingBucket.Arn}"}, {"Fn::Sub": "${StagingBucket.Arn}/*"}],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    "Principal": "*"
                }]}
            }
        },
        "ContainerAssetsRepository": {
            "Type": "AWS::ECR::Repository",
            "Properties": {
                "ImageTagMutability": "IMMUTABLE",
                "ImageScanningConfiguration": {"ScanOnPush": true},
                "LifecyclePolicy": {"LifecyclePolicyText": "{\"rules\":[{\"rulePriority\":1,\"description\":\"Untagged images should not exist, but expire any older than one year\",\"selection\":{\"tagStatus\":\"untagged\",\"countType\":\"sinceImagePushed\",\"countUnit\":\"days\",\"countNumber\":365},\"action\":{\"type\":\"expire\"}}]}"},
                "RepositoryName": {"Fn::If": ["HasCustomContainerAssetsRepositoryName",
                    {"Fn::Sub": "${ContainerAssetsRepositoryName}"},
                    {"Fn::Sub": "cdk-${Qualifier}-container-assets-${AWS::AccountId}-${AWS::Region}"}]},
                "RepositoryPolicyText": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "LambdaECRImageRetrievalPolicy", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                     "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                     "Condition": {"StringLike": {"aws:sourceArn": {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"}}}},
                    {"Sid": "EmrServerlessImageRetrievalPolicy", "Effect": "Allow", "Principal": {"Service": "emr-serverless.amazonaws.com"},
                     "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"],
                     "Condition": {"StringLike": {"aws:sourceArn": {"Fn::Sub": "arn:${AWS::Partition}:emr-serverless:${AWS::Region}:${AWS::AccountId}:/applications/*"}}}}
                ]}
            }
        },
        "CdkBootstrapVersion": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Type": "String",
                "Name": {"Fn::Sub": "/cdk-bootstrap/${Qualifier}/version"},
                "Value": BOOTSTRAP_VERSION.to_string(),
                // cairn's addition: the variant is recorded with the version (and used,
                // which CloudFormation validators ask of every parameter).
                "Description": {"Fn::Sub": "The version of the bootstrap resources (${BootstrapVariant})"}
            }
        }
    });
    match json {
        Json::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn roles() -> serde_json::Map<String, Json> {
    let key_use = [
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    ];
    let json = json!({
        "FilePublishingRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": trust(&[TRUSTED_ACCOUNTS]),
                "RoleName": {"Fn::Sub": "cdk-${Qualifier}-file-publishing-role-${AWS::AccountId}-${AWS::Region}"},
                "PermissionsBoundary": boundary_for_all_roles(),
                "Tags": role_tag("file-publishing")
            }
        },
        "ImagePublishingRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": trust(&[TRUSTED_ACCOUNTS]),
                "RoleName": {"Fn::Sub": "cdk-${Qualifier}-image-publishing-role-${AWS::AccountId}-${AWS::Region}"},
                "PermissionsBoundary": boundary_for_all_roles(),
                "Tags": role_tag("image-publishing")
            }
        },
        "LookupRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": trust(&[TRUSTED_ACCOUNTS_FOR_LOOKUP, TRUSTED_ACCOUNTS]),
                "RoleName": {"Fn::Sub": "cdk-${Qualifier}-lookup-role-${AWS::AccountId}-${AWS::Region}"},
                "PermissionsBoundary": boundary_for_all_roles(),
                "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"}],
                "Policies": [{"PolicyDocument": {"Statement": [
                    {"Sid": "DontReadSecrets", "Effect": "Deny", "Action": ["kms:Decrypt"], "Resource": "*"}
                ], "Version": "2012-10-17"}, "PolicyName": "LookupRolePolicy"}],
                "Tags": role_tag("lookup")
            }
        },
        "FilePublishingRoleDefaultPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyDocument": {"Statement": [
                    {"Action": ["s3:GetObject*", "s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:List*", "s3:DeleteObject*", "s3:PutObject*", "s3:Abort*"],
                     "Resource": [{"Fn::Sub": "${StagingBucket.Arn}"}, {"Fn::Sub": "${StagingBucket.Arn}/*"}],
                     "Condition": {"StringEquals": {"aws:ResourceAccount": [{"Fn::Sub": "${AWS::AccountId}"}]}},
                     "Effect": "Allow"},
                    {"Action": key_use, "Effect": "Allow",
                     "Resource": {"Fn::If": ["CreateNewKey",
                        {"Fn::Sub": "${FileAssetsBucketEncryptionKey.Arn}"},
                        {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/${FileAssetsBucketKmsKeyId}"}]}}
                ], "Version": "2012-10-17"},
                "Roles": [{"Ref": "FilePublishingRole"}],
                "PolicyName": {"Fn::Sub": "cdk-${Qualifier}-file-publishing-role-default-policy-${AWS::AccountId}-${AWS::Region}"}
            }
        },
        "ImagePublishingRoleDefaultPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyDocument": {"Statement": [
                    {"Action": ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
                                "ecr:BatchCheckLayerAvailability", "ecr:DescribeRepositories", "ecr:DescribeImages",
                                "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                     "Resource": {"Fn::Sub": "${ContainerAssetsRepository.Arn}"}, "Effect": "Allow"},
                    {"Action": ["ecr:GetAuthorizationToken"], "Resource": "*", "Effect": "Allow"}
                ], "Version": "2012-10-17"},
                "Roles": [{"Ref": "ImagePublishingRole"}],
                "PolicyName": {"Fn::Sub": "cdk-${Qualifier}-image-publishing-role-default-policy-${AWS::AccountId}-${AWS::Region}"}
            }
        },
        "DeploymentActionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": trust(&[TRUSTED_ACCOUNTS]),
                "Policies": [{"PolicyDocument": {"Statement": [
                    {"Sid": "DeployPermissions", "Effect": "Allow",
                     "Action": ["cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:ExecuteChangeSet",
                                "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:RollbackStack",
                                "cloudformation:ContinueUpdateRollback"],
                     "Resource": "*"},
                    {"Sid": "PipelineCrossAccountArtifactsBucket", "Effect": "Allow",
                     "Action": ["s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:Abort*", "s3:DeleteObject*", "s3:PutObject*"],
                     "Resource": "*",
                     "Condition": {"StringNotEquals": {"s3:ResourceAccount": {"Ref": "AWS::AccountId"}}}},
                    {"Sid": "PipelineCrossAccountArtifactsKey", "Effect": "Allow", "Action": key_use, "Resource": "*",
                     "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"}}}},
                    {"Action": "iam:PassRole", "Resource": {"Fn::Sub": "${CloudFormationExecutionRole.Arn}"}, "Effect": "Allow"},
                    {"Sid": "CliPermissions",
                     "Action": ["cloudformation:DeleteStack", "cloudformation:UpdateTerminationProtection", "sts:GetCallerIdentity"],
                     "Resource": "*", "Effect": "Allow"},
                    {"Sid": "CliStagingBucket", "Effect": "Allow", "Action": ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
                     "Resource": [{"Fn::Sub": "${StagingBucket.Arn}"}, {"Fn::Sub": "${StagingBucket.Arn}/*"}]},
                    {"Sid": "ReadVersion", "Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                     "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${CdkBootstrapVersion}"}]},
                    {"Sid": "Refactor", "Effect": "Allow",
                     "Action": ["cloudformation:CreateStackRefactor", "cloudformation:ExecuteStackRefactor"], "Resource": "*"}
                ], "Version": "2012-10-17"}, "PolicyName": "default"}],
                "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSCloudFormationReadOnlyAccess"}],
                "RoleName": {"Fn::Sub": "cdk-${Qualifier}-deploy-role-${AWS::AccountId}-${AWS::Region}"},
                "PermissionsBoundary": boundary_for_all_roles(),
                "Tags": role_tag("deploy")
            }
        },
        "CloudFormationExecutionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Statement": [
                    {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "cloudformation.amazonaws.com"}}
                ], "Version": "2012-10-17"},
                "ManagedPolicyArns": {"Fn::If": ["HasCloudFormationExecutionPolicies",
                    {"Ref": EXECUTION_POLICIES},
                    {"Fn::If": ["HasTrustedAccounts", {"Ref": "AWS::NoValue"},
                        [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"}]]}]},
                "RoleName": {"Fn::Sub": "cdk-${Qualifier}-cfn-exec-role-${AWS::AccountId}-${AWS::Region}"},
                "PermissionsBoundary": {"Fn::If": ["PermissionsBoundarySet",
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${InputPermissionsBoundary}"},
                    {"Ref": "AWS::NoValue"}]}
            }
        },
        "CdkBoostrapPermissionsBoundaryPolicy": {
            "Condition": "ShouldCreatePermissionsBoundary",
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "PolicyDocument": {"Statement": [
                    {"Sid": "ExplicitAllowAll", "Action": ["*"], "Effect": "Allow", "Resource": "*"},
                    {"Sid": "DenyAccessIfRequiredPermBoundaryIsNotBeingApplied",
                     "Action": ["iam:CreateUser", "iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"],
                     "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/cdk-${Qualifier}-permissions-boundary-${AWS::AccountId}-${AWS::Region}"}}},
                     "Effect": "Deny", "Resource": "*"},
                    {"Sid": "DenyPermBoundaryIAMPolicyAlteration",
                     "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
                     "Effect": "Deny",
                     "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/cdk-${Qualifier}-permissions-boundary-${AWS::AccountId}-${AWS::Region}"}},
                    {"Sid": "DenyRemovalOfPermBoundaryFromAnyUserOrRole",
                     "Action": ["iam:DeleteUserPermissionsBoundary", "iam:DeleteRolePermissionsBoundary"], "Effect": "Deny", "Resource": "*"}
                ], "Version": "2012-10-17"},
                "Description": "Bootstrap Permission Boundary",
                "ManagedPolicyName": {"Fn::Sub": "cdk-${Qualifier}-permissions-boundary-${AWS::AccountId}-${AWS::Region}"},
                "Path": "/"
            }
        }
    });
    match json {
        Json::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

fn outputs() -> Json {
    json!({
        "BucketName": {"Description": "The name of the S3 bucket owned by the CDK toolkit stack", "Value": {"Fn::Sub": "${StagingBucket}"}},
        "BucketDomainName": {"Description": "The domain name of the S3 bucket owned by the CDK toolkit stack", "Value": {"Fn::Sub": "${StagingBucket.RegionalDomainName}"}},
        "FileAssetKeyArn": {"Description": "The ARN of the KMS key used to encrypt the asset bucket (deprecated)",
            "Value": {"Fn::If": ["CreateNewKey", {"Fn::Sub": "${FileAssetsBucketEncryptionKey.Arn}"}, {"Fn::Sub": "${FileAssetsBucketKmsKeyId}"}]},
            "Export": {"Name": {"Fn::Sub": "CdkBootstrap-${Qualifier}-FileAssetKeyArn"}}},
        "ImageRepositoryName": {"Description": "The name of the ECR repository which hosts docker image assets", "Value": {"Fn::Sub": "${ContainerAssetsRepository}"}},
        "BootstrapVersion": {"Description": "The version of the bootstrap resources that are currently mastered in this stack", "Value": BOOTSTRAP_VERSION.to_string()}
    })
}

/// The bootstrap stack's template (see the [module](self)).
pub fn template() -> Json {
    let mut resources = storage();
    resources.extend(roles());
    json!({
        "Description": "This stack includes resources needed to deploy AWS CDK apps into this environment (cairn bootstrap: the CDK's resources with secure additions)",
        "Parameters": parameters(),
        "Conditions": conditions(),
        "Resources": resources,
        "Outputs": outputs()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_bucket_is_retained_encrypted_private_and_tls_only() {
        let t = template();
        assert_eq!(
            t.pointer("/Resources/StagingBucket/DeletionPolicy"),
            Some(&json!("Retain"))
        );
        assert_eq!(
            t.pointer("/Resources/StagingBucketPolicy/Properties/PolicyDocument/Statement/0/Condition/Bool/aws:SecureTransport"),
            Some(&json!("false"))
        );
        assert_eq!(
            t.pointer("/Resources/StagingBucket/Properties/OwnershipControls/Rules/0/ObjectOwnership"),
            Some(&json!("BucketOwnerEnforced"))
        );
        assert_eq!(
            t.pointer("/Resources/FileAssetsBucketEncryptionKey/Properties/EnableKeyRotation"),
            Some(&json!(true))
        );
        assert_eq!(
            t.pointer("/Resources/CdkBootstrapVersion/Properties/Name"),
            Some(&json!({"Fn::Sub": "/cdk-bootstrap/${Qualifier}/version"}))
        );
        let names = cairn_core::BootstrapNames::default();
        assert_eq!(
            bucket_name(&names, "1", "us-east-1"),
            "cdk-hnb659fds-assets-1-us-east-1"
        );
    }

    #[test]
    fn no_partition_is_written_by_hand() {
        let text = template().to_string();
        assert!(!text.contains("arn:aws:"), "ARNs take ${{AWS::Partition}}");
        // Endpoint names take ${AWS::URLSuffix}; service principals are the same in every
        // partition.
        let hosts: Vec<&str> = text
            .match_indices("amazonaws.com")
            .map(|(i, _)| text[..i].rsplit('"').next().unwrap_or_default())
            .collect();
        assert_eq!(hosts, ["lambda.", "emr-serverless.", "cloudformation."], "{text}");
    }

    #[test]
    fn roles_are_named_as_the_cdk_names_them() {
        let t = template();
        for (id, name) in [
            ("DeploymentActionRole", "deploy"),
            ("CloudFormationExecutionRole", "cfn-exec"),
            ("FilePublishingRole", "file-publishing"),
            ("ImagePublishingRole", "image-publishing"),
            ("LookupRole", "lookup"),
        ] {
            assert_eq!(
                t.pointer(&format!("/Resources/{id}/Properties/RoleName/Fn::Sub")),
                Some(&json!(format!(
                    "cdk-${{Qualifier}}-{name}-role-${{AWS::AccountId}}-${{AWS::Region}}"
                ))),
                "{id}"
            );
        }
        // The deploy role may pass only the execution role.
        let statements = t
            .pointer("/Resources/DeploymentActionRole/Properties/Policies/0/PolicyDocument/Statement")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let pass: Vec<&Json> = statements
            .iter()
            .filter(|s| s["Action"] == json!("iam:PassRole"))
            .collect();
        assert_eq!(
            pass,
            [
                &json!({"Action": "iam:PassRole", "Resource": {"Fn::Sub": "${CloudFormationExecutionRole.Arn}"}, "Effect": "Allow"})
            ]
        );
    }

    /// CloudFormation validators (cfn-lint, and moto's ValidateTemplate, which fails on
    /// its findings) ask that every parameter be used.
    #[test]
    fn every_parameter_is_used() {
        let t = template();
        let mut rest = t.clone();
        if let Some(m) = rest.as_object_mut() {
            m.remove("Parameters");
        }
        let text = rest.to_string();
        for name in t["Parameters"].as_object().unwrap().keys() {
            assert!(
                text.contains(&format!("{{\"Ref\":\"{name}\"}}")) || text.contains(&format!("${{{name}}}")),
                "parameter {name} is not used"
            );
        }
    }

    /// The shape of a template: parameters with their defaults, resources with their types
    /// and conditions, outputs with their exports, the role names and the version.
    fn shape(t: &Json) -> BTreeMap<String, Json> {
        let mut out = BTreeMap::new();
        for (k, v) in t["Parameters"].as_object().into_iter().flatten() {
            if k != VARIANT {
                out.insert(format!("Parameters/{k}"), json!([v["Type"], v["Default"]]));
            }
        }
        for (k, v) in t["Resources"].as_object().into_iter().flatten() {
            out.insert(format!("Resources/{k}"), json!([v["Type"], v["Condition"]]));
            for name in [
                "RoleName",
                "BucketName",
                "RepositoryName",
                "Name",
                "AliasName",
                "PolicyName",
                "ManagedPolicyName",
            ] {
                if let Some(n) = v["Properties"].get(name) {
                    out.insert(format!("Resources/{k}/{name}"), n.clone());
                }
            }
        }
        for (k, v) in t["Outputs"].as_object().into_iter().flatten() {
            out.insert(format!("Outputs/{k}"), json!([v["Value"], v["Export"]]));
        }
        for (k, v) in t["Conditions"].as_object().into_iter().flatten() {
            out.insert(format!("Conditions/{k}"), v.clone());
        }
        out.insert(
            "version".into(),
            t.pointer("/Resources/CdkBootstrapVersion/Properties/Value")
                .cloned()
                .unwrap_or(Json::Null),
        );
        out
    }

    /// Compared with the template `cdk bootstrap` deploys (the pinned `aws-cdk` package,
    /// installed into .tools/ by scripts/lib/install-tools): the same parameters, resources,
    /// names, conditions, outputs and version.
    #[test]
    fn the_template_has_the_shape_of_cdk_bootstraps() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.tools/node/node_modules/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            // scripts/test installs the package first; elsewhere (a bare `cargo test`) the
            // comparison cannot run, which CI does not accept.
            assert!(
                std::env::var_os("CI").is_none(),
                "{} is missing: run scripts/lib/install-tools",
                path.display()
            );
            eprintln!("skipped: {} is not installed", path.display());
            return;
        };
        let cdk: Json = serde_saphyr::from_str(&text).unwrap();
        let (ours, theirs) = (shape(&template()), shape(&cdk));
        let differing: Vec<(&String, Option<&Json>, Option<&Json>)> = ours
            .keys()
            .chain(theirs.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|k| ours.get(*k) != theirs.get(*k))
            .map(|k| (k, ours.get(k), theirs.get(k)))
            .collect();
        assert!(
            differing.is_empty(),
            "differs from cdk bootstrap's: {differing:#?}"
        );
    }
}
