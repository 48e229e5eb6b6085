//! The bootstrap stack `CairnToolkit`: the staging bucket deploy uploads assets and large
//! templates to, the SSM parameter that records the bootstrap version, and the two roles
//! a pipeline in another account deploys through (as CDK Pipelines uses the CDK's
//! bootstrap roles): the deploy role (`cairn-deploy-role-<account>-<region>`, assumable by
//! this account and the `--trust` accounts) and the CloudFormation execution role
//! (`cairn-cfn-exec-role-<account>-<region>`, passed to CloudFormation by the deploy role,
//! with the `--cloudformation-execution-policies`, else `AdministratorAccess`).

use serde_json::{json, Value as Json};

/// The toolkit stack's name.
pub const TOOLKIT_STACK: &str = "CairnToolkit";
/// The SSM parameter holding the bootstrap version.
pub const VERSION_PARAMETER: &str = "/cairn-bootstrap/version";
/// The version this toolkit deploys and requires.
pub const BOOTSTRAP_VERSION: u32 = 2;
/// The logical ID of the staging bucket in the toolkit stack.
pub const BUCKET_LOGICAL_ID: &str = "StagingBucket";
/// The template parameter listing the accounts trusted to deploy (comma-separated).
pub const TRUSTED_ACCOUNTS: &str = "TrustedAccounts";
/// The template parameter listing the managed policies of the execution role.
pub const EXECUTION_POLICIES: &str = "CloudFormationExecutionPolicies";

/// The staging bucket's name in `account`/`region` (the template names it the same way).
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("cairn-assets-{account}-{region}")
}

/// The toolkit stack's template: an encrypted (SSE-S3), versioned, private staging bucket
/// that only accepts TLS, whose old versions and abandoned uploads expire, retained when
/// the stack is deleted; and the version parameter.
pub fn template() -> Json {
    json!({
        "Description": "cairn toolkit: staging bucket for assets and large templates, deploy roles (cairn bootstrap)",
        "Parameters": {
            TRUSTED_ACCOUNTS: {
                "Type": "CommaDelimitedList",
                "Default": "",
                "Description": "Accounts (e.g. a pipeline's) that may deploy into this environment through the deploy role"
            },
            EXECUTION_POLICIES: {
                "Type": "CommaDelimitedList",
                "Default": "",
                "Description": "Managed policy ARNs of the CloudFormation execution role (default: AdministratorAccess)"
            }
        },
        "Conditions": {
            "HasTrustedAccounts": {"Fn::Not": [{"Fn::Equals": ["", {"Fn::Join": ["", {"Ref": TRUSTED_ACCOUNTS}]}]}]},
            "HasExecutionPolicies": {"Fn::Not": [{"Fn::Equals": ["", {"Fn::Join": ["", {"Ref": EXECUTION_POLICIES}]}]}]}
        },
        "Resources": {
            "CloudFormationExecutionRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Fn::Sub": "cairn-cfn-exec-role-${AWS::AccountId}-${AWS::Region}"},
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudformation.amazonaws.com"},
                            "Action": "sts:AssumeRole"
                        }]
                    },
                    "ManagedPolicyArns": {"Fn::If": [
                        "HasExecutionPolicies",
                        {"Ref": EXECUTION_POLICIES},
                        [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"}]
                    ]}
                }
            },
            "DeployRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Fn::Sub": "cairn-deploy-role-${AWS::AccountId}-${AWS::Region}"},
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                                "Action": "sts:AssumeRole"
                            },
                            {"Fn::If": [
                                "HasTrustedAccounts",
                                {
                                    "Effect": "Allow",
                                    "Principal": {"AWS": {"Ref": TRUSTED_ACCOUNTS}},
                                    "Action": "sts:AssumeRole"
                                },
                                {"Ref": "AWS::NoValue"}
                            ]}
                        ]
                    },
                    "Policies": [{
                        "PolicyName": "deploy",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "ChangeSets",
                                    "Effect": "Allow",
                                    "Action": [
                                        "cloudformation:CreateChangeSet",
                                        "cloudformation:DeleteChangeSet",
                                        "cloudformation:DescribeChangeSet",
                                        "cloudformation:ExecuteChangeSet",
                                        "cloudformation:DescribeStacks",
                                        "cloudformation:DescribeStackEvents",
                                        "cloudformation:GetTemplate",
                                        "cloudformation:DeleteStack",
                                        "cloudformation:UpdateTerminationProtection"
                                    ],
                                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*"}
                                },
                                {
                                    "Sid": "PassExecutionRole",
                                    "Effect": "Allow",
                                    "Action": "iam:PassRole",
                                    "Resource": {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}
                                },
                                {
                                    "Sid": "ReadArtifacts",
                                    "Effect": "Allow",
                                    "Action": ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
                                    "Resource": "*"
                                },
                                {
                                    "Sid": "DecryptArtifacts",
                                    "Effect": "Allow",
                                    "Action": ["kms:Decrypt", "kms:DescribeKey"],
                                    "Resource": "*",
                                    "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"}}}
                                },
                                {
                                    "Sid": "ReadBootstrapVersion",
                                    "Effect": "Allow",
                                    "Action": "ssm:GetParameter",
                                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/cairn-bootstrap/version"}
                                }
                            ]
                        }
                    }]
                }
            },
            BUCKET_LOGICAL_ID: {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketName": {"Fn::Sub": "cairn-assets-${AWS::AccountId}-${AWS::Region}"},
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]},
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": true,
                        "BlockPublicPolicy": true,
                        "IgnorePublicAcls": true,
                        "RestrictPublicBuckets": true
                    },
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "LifecycleConfiguration": {"Rules": [
                        {
                            "Id": "ExpireOldVersions",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30}
                        },
                        {
                            "Id": "AbortIncompleteUploads",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}
                        }
                    ]}
                }
            },
            "StagingBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": {"Ref": BUCKET_LOGICAL_ID},
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "AllowSSLRequestsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                {"Fn::GetAtt": [BUCKET_LOGICAL_ID, "Arn"]},
                                {"Fn::Join": ["", [{"Fn::GetAtt": [BUCKET_LOGICAL_ID, "Arn"]}, "/*"]]}
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                        }]
                    }
                }
            },
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": VERSION_PARAMETER,
                    "Type": "String",
                    "Value": BOOTSTRAP_VERSION.to_string(),
                    "Description": "The version of the cairn bootstrap stack (CairnToolkit)"
                }
            }
        },
        "Outputs": {
            "BucketName": {"Description": "The staging bucket", "Value": {"Ref": BUCKET_LOGICAL_ID}},
            "BootstrapVersion": {"Description": "The bootstrap version", "Value": {"Fn::GetAtt": ["BootstrapVersion", "Value"]}},
            "DeployRoleArn": {"Description": "The role deploy actions assume", "Value": {"Fn::GetAtt": ["DeployRole", "Arn"]}},
            "CloudFormationExecutionRoleArn": {"Description": "The role CloudFormation deploys with", "Value": {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_has_the_bucket_policy_and_version() {
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
            t.pointer("/Resources/BootstrapVersion/Properties/Name"),
            Some(&json!(VERSION_PARAMETER))
        );
        assert_eq!(bucket_name("1", "us-east-1"), "cairn-assets-1-us-east-1");
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
        assert_eq!(hosts, ["cloudformation."], "{text}");
        assert_eq!(
            template().pointer("/Resources/DeployRole/Properties/Policies/0/PolicyDocument/Statement/3/Condition/StringEquals/kms:ViaService"),
            Some(&json!({"Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"}))
        );
    }

    #[test]
    fn roles_are_named_as_pipelines_assume_them() {
        let t = template();
        assert_eq!(
            t.pointer("/Resources/DeployRole/Properties/RoleName/Fn::Sub"),
            Some(&json!("cairn-deploy-role-${AWS::AccountId}-${AWS::Region}"))
        );
        assert_eq!(
            t.pointer("/Resources/CloudFormationExecutionRole/Properties/RoleName/Fn::Sub"),
            Some(&json!("cairn-cfn-exec-role-${AWS::AccountId}-${AWS::Region}"))
        );
        // Trusted accounts are added only when given.
        assert_eq!(
            t.pointer("/Resources/DeployRole/Properties/AssumeRolePolicyDocument/Statement/1/Fn::If/0"),
            Some(&json!("HasTrustedAccounts"))
        );
        // The deploy role may pass only the execution role.
        assert_eq!(
            t.pointer("/Resources/DeployRole/Properties/Policies/0/PolicyDocument/Statement/1/Resource"),
            Some(&json!({"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}))
        );
    }
}
