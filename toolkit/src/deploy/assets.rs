//! Phase 2, the assets: the file assets of the stack's asset manifests (files and pre-built
//! zips) published to their destinations (the bootstrap stack's assets bucket, through its
//! file-publishing role), several at once and each object once per run (and not at all when
//! it is already there); and the template, staged in the assets bucket when it is over
//! CloudFormation's inline limit. Bucket names, keys and URLs follow the region's partition
//! (`aws-cn` buckets are served from `amazonaws.com.cn` ...).

use std::path::{Path, PathBuf};

use cairn_core::Partition;
use serde_json::Value as Json;

use std::sync::Arc;

use crate::assembly::Stack;
use crate::client::{Clouds, ObjectStore, Template};
use crate::context::{Ctx, Env};
use crate::error::{Error, Result};

/// CloudFormation's limit for an inline template body.
pub(crate) const MAX_INLINE_TEMPLATE: usize = 51_200;

/// How many uploads run at once.
const UPLOADS_AT_ONCE: usize = 8;

/// Where an asset goes; the names may hold `${AWS::AccountId}`, `${AWS::Region}` and
/// `${AWS::Partition}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The role to publish with (`assumeRoleArn`), when the manifest names one.
    pub assume_role_arn: Option<String>,
}

/// A file asset of an asset manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileAsset {
    /// The asset id (its hash).
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// Where it goes.
    pub destinations: Vec<Destination>,
}

/// Reads the stack's asset manifests: the file assets, each file checked to be there.
/// No call: a broken manifest is refused before anything is deployed.
pub(crate) fn file_assets(stack: &Stack) -> Result<Vec<FileAsset>> {
    let who = &stack.display_name;
    let asset_err = |asset: &str, message: String| Error::Asset {
        stack: who.clone(),
        asset: asset.to_string(),
        message,
    };
    let mut out = Vec::new();
    for manifest_path in &stack.asset_manifests {
        let shown = manifest_path.display().to_string();
        let text = std::fs::read_to_string(manifest_path).map_err(|e| asset_err(&shown, e.to_string()))?;
        let manifest: Json = serde_json::from_str(&text).map_err(|e| asset_err(&shown, e.to_string()))?;
        if manifest
            .get("dockerImages")
            .and_then(Json::as_object)
            .is_some_and(|m| !m.is_empty())
        {
            return Err(asset_err(
                &shown,
                "container image assets are not supported yet".into(),
            ));
        }
        let base = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (id, asset) in manifest
            .get("files")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            let rel = asset
                .pointer("/source/path")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let path = base.join(rel);
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => {
                    return Err(asset_err(
                        id,
                        format!(
                            "{} is a directory; zip it at synthesis (packaging a directory at deploy is not supported yet)",
                            path.display()
                        ),
                    ))
                }
                Ok(_) => {}
                Err(e) => return Err(asset_err(id, format!("{}: {e}", path.display()))),
            }
            let mut destinations = Vec::new();
            for dest in asset
                .get("destinations")
                .and_then(Json::as_object)
                .into_iter()
                .flat_map(|d| d.values())
            {
                let bucket = dest.get("bucketName").and_then(Json::as_str).unwrap_or_default();
                let key = dest.get("objectKey").and_then(Json::as_str).unwrap_or_default();
                if bucket.is_empty() || key.is_empty() {
                    return Err(asset_err(id, "a destination has no bucketName/objectKey".into()));
                }
                destinations.push(Destination {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    assume_role_arn: dest.get("assumeRoleArn").and_then(Json::as_str).map(String::from),
                });
            }
            out.push(FileAsset {
                id: id.clone(),
                path,
                destinations,
            });
        }
    }
    Ok(out)
}

/// Replaces the asset manifest placeholders.
pub(crate) fn substitute(s: &str, account: &str, region: &str) -> String {
    s.replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region)
        .replace("${AWS::Partition}", Partition::of_region(region).name())
}

/// The URL CloudFormation reads a staged template from (the region's S3 endpoint).
pub(crate) fn template_url(region: &str, bucket: &str, key: &str) -> String {
    format!(
        "https://s3.{region}.{}/{bucket}/{key}",
        Partition::of_region(region).dns_suffix()
    )
}

/// What publishing an object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Published {
    /// Uploaded now.
    Uploaded,
    /// Already there (or uploaded earlier in this run).
    Present,
}

/// Uploads `body()` to `bucket`/`key` unless it is there, once per run: concurrent callers
/// for the same object wait for the first.
async fn publish_object<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    bucket: &str,
    key: &str,
    body: impl FnOnce() -> std::result::Result<Vec<u8>, String>,
    who: &str,
    what: &str,
) -> Result<Published> {
    let err = |message: String| Error::Asset {
        stack: who.to_string(),
        asset: what.to_string(),
        message,
    };
    let cell = ctx.published(bucket, key);
    let mut result = Published::Present;
    let outcome = &mut result;
    cell.get_or_try_init(|| async move {
        if env
            .cloud
            .object_exists(bucket, key)
            .await
            .map_err(|e| err(format!("HeadObject s3://{bucket}/{key}: {}", e.message())))?
        {
            return Ok(());
        }
        let bytes = body().map_err(&err)?;
        env.cloud
            .put_object(bucket, key, bytes)
            .await
            .map_err(|e| err(format!("PutObject s3://{bucket}/{key}: {}", e.message())))?;
        *outcome = Published::Uploaded;
        Ok::<(), Error>(())
    })
    .await?;
    Ok(result)
}

/// Publishes the stack's file assets (`enabled`: `deploy`, not `bootstrap`), at most eight
/// at once, each through its destination's role (from `base`, the configured credentials).
/// Returns how many objects were uploaded and how many were there already.
pub(crate) async fn publish<P: Clouds>(
    ctx: &Ctx<P>,
    base: &Arc<Env<P::Cloud>>,
    stack: &Stack,
    assets: &[FileAsset],
    enabled: bool,
) -> Result<(usize, usize)> {
    if !enabled || assets.iter().all(|a| a.destinations.is_empty()) {
        return Ok((0, 0));
    }
    let who = stack.display_name.as_str();
    let mut uploads = Vec::new();
    for asset in assets {
        for d in &asset.destinations {
            let env = ctx.env_as(base, stack, d.assume_role_arn.as_deref()).await?;
            let bucket = base.resolve(stack, &d.bucket).await?;
            let key = base.resolve(stack, &d.key).await?;
            uploads.push(async move { publish_file(ctx, &env, asset, bucket, key, who).await });
        }
    }
    let results = crate::join::bounded(uploads, UPLOADS_AT_ONCE).await;
    let (mut uploaded, mut present) = (0, 0);
    for r in results {
        match r? {
            Published::Uploaded => uploaded += 1,
            Published::Present => present += 1,
        }
    }
    if uploaded + present > 0 {
        ctx.report.progress(&format!(
            "{who}: assets: {uploaded} uploaded, {present} already published"
        ));
    }
    Ok((uploaded, present))
}

async fn publish_file<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    asset: &FileAsset,
    bucket: String,
    key: String,
    who: &str,
) -> Result<Published> {
    let read = || std::fs::read(&asset.path).map_err(|e| format!("{}: {e}", asset.path.display()));
    publish_object(ctx, env, &bucket, &key, read, who, &asset.id).await
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where CloudFormation reads the template from: inline, or, when over the inline limit,
/// staged in the assets bucket of the stack's bootstrap qualifier through its
/// file-publishing role (`enabled`: there is a bootstrap stack to stage in).
pub(crate) async fn stage_template<P: Clouds>(
    ctx: &Ctx<P>,
    base: &Arc<Env<P::Cloud>>,
    stack: &Stack,
    enabled: bool,
) -> Result<Template> {
    let body = &stack.template_body;
    let who = stack.display_name.as_str();
    if body.len() <= MAX_INLINE_TEMPLATE {
        return Ok(Template::Body(body.clone()));
    }
    if !enabled {
        return Err(Error::InvalidTemplate {
            stack: who.into(),
            message: format!(
                "the template is {} bytes, over the {MAX_INLINE_TEMPLATE}-byte inline limit, and there is no bootstrap bucket to stage it in",
                body.len()
            ),
        });
    }
    let names = stack.synthesizer.names();
    let bucket = base.resolve(stack, &names.asset_bucket()).await?;
    let role = names.file_publishing_role_arn();
    let role = stack.synthesizer.assume_role_arn.as_ref().map(|_| role.as_str());
    let env = ctx.env_as(base, stack, role).await?;
    let key = format!(
        "cairn/templates/{}-{:016x}.json",
        stack.stack_name,
        fnv1a(body.as_bytes())
    );
    let bytes = || Ok(body.clone().into_bytes());
    publish_object(ctx, &env, &bucket, &key, bytes, who, "template").await?;
    Ok(Template::Url(template_url(env.region(), &bucket, &key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_urls_follow_the_partition() {
        let s = "cdk-${AWS::AccountId}-${AWS::Region}/${AWS::Partition}";
        assert_eq!(substitute(s, "1", "us-east-1"), "cdk-1-us-east-1/aws");
        assert_eq!(substitute(s, "1", "cn-north-1"), "cdk-1-cn-north-1/aws-cn");
        assert_eq!(
            substitute(s, "1", "us-gov-west-1"),
            "cdk-1-us-gov-west-1/aws-us-gov"
        );
        assert_eq!(
            template_url("eu-west-1", "b", "k.json"),
            "https://s3.eu-west-1.amazonaws.com/b/k.json"
        );
        assert_eq!(
            template_url("cn-northwest-1", "b", "k.json"),
            "https://s3.cn-northwest-1.amazonaws.com.cn/b/k.json"
        );
        assert_eq!(
            template_url("us-iso-east-1", "b", "k.json"),
            "https://s3.us-iso-east-1.c2s.ic.gov/b/k.json"
        );
    }
}
