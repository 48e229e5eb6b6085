//! The bootstrap stack `CairnToolkit`: the staging bucket deploy uploads assets and large
//! templates to, and the SSM parameter that records the bootstrap version.

use serde_json::{json, Value as Json};

/// The toolkit stack's name.
pub const TOOLKIT_STACK: &str = "CairnToolkit";
/// The SSM parameter holding the bootstrap version.
pub const VERSION_PARAMETER: &str = "/cairn-bootstrap/version";
/// The version this toolkit deploys and requires.
pub const BOOTSTRAP_VERSION: u32 = 1;
/// The logical ID of the staging bucket in the toolkit stack.
pub const BUCKET_LOGICAL_ID: &str = "StagingBucket";

/// The staging bucket's name in `account`/`region` (the template names it the same way).
pub fn bucket_name(account: &str, region: &str) -> String {
    format!("cairn-assets-{account}-{region}")
}

/// The toolkit stack's template: an encrypted (SSE-S3), versioned, private staging bucket
/// that only accepts TLS, whose old versions and abandoned uploads expire, retained when
/// the stack is deleted; and the version parameter.
pub fn template() -> Json {
    json!({
        "Description": "cairn toolkit: staging bucket for assets and large templates (cairn bootstrap)",
        "Resources": {
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
            "BootstrapVersion": {"Description": "The bootstrap version", "Value": {"Fn::GetAtt": ["BootstrapVersion", "Value"]}}
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
}
