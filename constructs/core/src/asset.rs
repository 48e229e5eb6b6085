//! File assets: local files and directories that deploy uploads to the bootstrap bucket
//! (Lambda code, templates of nested tools, seed data ...).
//!
//! [`App::add_file_asset`] packages the source when it is added: a directory becomes a
//! deterministic zip (entries sorted by path, fixed timestamps and permissions, deflate),
//! a file is taken as it is. The content hash (SHA-256 of the bytes that are uploaded)
//! names the object, so the same content always gives the same key and the same bytes.
//! Synthesis puts the asset in its stack's [`StackArtifact`](crate::StackArtifact), and
//! the assembly writer writes `asset.<hash>.<ext>`, a CDK-format asset manifest
//! `<artifactId>.assets.json` and a `cdk:asset-manifest` artifact the stack depends on,
//! which is what the toolkit's deploy reads and uploads.
//!
//! ```
//! use cairn_core::{App, AssetSource, CfnResource, FileAsset, Value};
//!
//! # fn main() -> Result<(), cairn_core::Error> {
//! let dir = std::env::temp_dir().join(format!("cairn-asset-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(dir.join("index.py"), "def handler(event, context):\n    return 1\n").unwrap();
//!
//! let mut app = App::new();
//! let stack = app.stack("Api")?;
//! let code = app.add_file_asset(stack, FileAsset::directory(&dir))?;
//! app.add(stack, "Fn", CfnResource::new("AWS::Lambda::Function")
//!     .with("Code", Value::map([("S3Bucket", code.bucket.clone()), ("S3Key", code.key.clone())])))?;
//! let assembly = app.synth()?;
//! let api = assembly.stack("Api").unwrap();
//! assert_eq!(api.assets[0].file_name, format!("asset.{}.zip", code.hash));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::error::{Error, Result};
use crate::id::NodeId;
use crate::value::Value;

/// The bucket assets are uploaded to by default: the staging bucket of a bootstrap stack
/// with the default qualifier (`cdk bootstrap`'s, and `cairn bootstrap`'s).
pub const ASSET_BUCKET: &str = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}";

/// The bootstrap qualifier of `cdk bootstrap` and `cairn bootstrap` by default.
pub const DEFAULT_QUALIFIER: &str = "hnb659fds";

/// The bootstrap stack version a stack's deployment requires (what the CDK's
/// `DefaultStackSynthesizer` requires: the deploy, execution and publishing roles).
pub const REQUIRED_BOOTSTRAP_VERSION: u32 = 6;

/// The bootstrap stack version the lookup role requires.
pub const REQUIRED_LOOKUP_BOOTSTRAP_VERSION: u32 = 8;

/// The names a bootstrap stack gives its resources, as the CDK's `DefaultStackSynthesizer`
/// writes them into the assembly: the assets bucket, the roles and the version parameter
/// of the bootstrap stack with this qualifier. `${AWS::AccountId}`, `${AWS::Region}` and
/// `${AWS::Partition}` are placeholders the deploying CLI replaces with the stack's
/// environment.
///
/// ```
/// use cairn_core::BootstrapNames;
///
/// let names = BootstrapNames::default();
/// assert_eq!(names.asset_bucket(), "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}");
/// assert_eq!(
///     names.deploy_role_arn(),
///     "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-deploy-role-${AWS::AccountId}-${AWS::Region}"
/// );
/// assert_eq!(BootstrapNames::new("myapp").version_parameter(), "/cdk-bootstrap/myapp/version");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BootstrapNames {
    qualifier: String,
}

impl Default for BootstrapNames {
    fn default() -> Self {
        BootstrapNames::new(DEFAULT_QUALIFIER)
    }
}

impl BootstrapNames {
    /// The names of the bootstrap stack with `qualifier`.
    pub fn new(qualifier: impl Into<String>) -> Self {
        BootstrapNames {
            qualifier: qualifier.into(),
        }
    }

    /// Whether `qualifier` is one a bootstrap stack accepts: 1 to 10 ASCII letters, digits,
    /// `-` or `_` (`cdk-<qualifier>-image-publishing-role-<account>-<region>` must stay
    /// within IAM's 64 characters).
    pub fn is_valid_qualifier(qualifier: &str) -> bool {
        (1..=10).contains(&qualifier.len())
            && qualifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The qualifier.
    pub fn qualifier(&self) -> &str {
        &self.qualifier
    }

    /// The file assets bucket: `cdk-<qualifier>-assets-${AWS::AccountId}-${AWS::Region}`.
    pub fn asset_bucket(&self) -> String {
        format!(
            "cdk-{}-assets-${{AWS::AccountId}}-${{AWS::Region}}",
            self.qualifier
        )
    }

    /// The container assets repository:
    /// `cdk-<qualifier>-container-assets-${AWS::AccountId}-${AWS::Region}`.
    pub fn container_assets_repository(&self) -> String {
        format!(
            "cdk-{}-container-assets-${{AWS::AccountId}}-${{AWS::Region}}",
            self.qualifier
        )
    }

    /// The ARN of the bootstrap role `cdk-<qualifier>-<role>-role-${AWS::AccountId}-${AWS::Region}`
    /// (`role`: `deploy`, `cfn-exec`, `file-publishing`, `image-publishing`, `lookup`).
    pub fn role_arn(&self, role: &str) -> String {
        format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/cdk-{}-{role}-role-${{AWS::AccountId}}-${{AWS::Region}}",
            self.qualifier
        )
    }

    /// The role deployments assume (`assumeRoleArn`).
    pub fn deploy_role_arn(&self) -> String {
        self.role_arn("deploy")
    }

    /// The role CloudFormation deploys with (`cloudFormationExecutionRoleArn`).
    pub fn cfn_exec_role_arn(&self) -> String {
        self.role_arn("cfn-exec")
    }

    /// The role file assets are published with.
    pub fn file_publishing_role_arn(&self) -> String {
        self.role_arn("file-publishing")
    }

    /// The role container image assets are published with.
    pub fn image_publishing_role_arn(&self) -> String {
        self.role_arn("image-publishing")
    }

    /// The role lookups read the environment with.
    pub fn lookup_role_arn(&self) -> String {
        self.role_arn("lookup")
    }

    /// The SSM parameter holding the bootstrap version: `/cdk-bootstrap/<qualifier>/version`.
    pub fn version_parameter(&self) -> String {
        format!("/cdk-bootstrap/{}/version", self.qualifier)
    }
}

/// How deep a directory asset may nest (a guard against symbolic link loops).
const MAX_DEPTH: usize = 64;

/// Where the content of an asset comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetSource {
    /// A directory, zipped at synthesis (e.g. a Lambda function's code).
    Directory(PathBuf),
    /// A single file, uploaded as it is (e.g. a pre-built `.zip` or `.jar`).
    File(PathBuf),
}

/// A local file or directory to upload at deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAsset {
    /// The content.
    pub source: AssetSource,
    /// A hash chosen by the caller instead of the content's (aws-cdk-lib's `assetHash`,
    /// `AssetHashType.CUSTOM`): the object is named by the SHA-256 of this text, so the
    /// key stays what the CDK wrote for the same asset (a Lambda layer's `Content` is
    /// create-only: another key replaces the layer version). `None`: the content's hash.
    pub asset_hash: Option<String>,
}

impl FileAsset {
    /// A directory asset (zipped).
    pub fn directory(path: impl Into<PathBuf>) -> Self {
        FileAsset {
            source: AssetSource::Directory(path.into()),
            asset_hash: None,
        }
    }

    /// A single-file asset (uploaded as it is).
    pub fn file(path: impl Into<PathBuf>) -> Self {
        FileAsset {
            source: AssetSource::File(path.into()),
            asset_hash: None,
        }
    }

    /// The same asset named by the SHA-256 of `hash` instead of its content's (see
    /// [`FileAsset::asset_hash`]).
    ///
    /// ```
    /// use cairn_core::FileAsset;
    /// let a = FileAsset::file("layer.zip").with_asset_hash("b4ae4747");
    /// assert_eq!(a.asset_hash.as_deref(), Some("b4ae4747"));
    /// ```
    pub fn with_asset_hash(mut self, hash: impl Into<String>) -> Self {
        self.asset_hash = Some(hash.into());
        self
    }
}

/// Where an asset will be once deployed: use `bucket` and `key` in properties such as
/// a Lambda function's `Code.S3Bucket`/`Code.S3Key`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetLocation {
    /// `Fn::Sub cdk-<qualifier>-assets-${AWS::AccountId}-${AWS::Region}`: the bootstrap
    /// bucket of the stack's qualifier (by default `hnb659fds`, the CDK's).
    pub bucket: Value,
    /// The object key: `<hash>.zip` for directories, `<hash>.<ext>` for files.
    pub key: Value,
    /// The SHA-256 (lower-case hex) of the uploaded bytes.
    pub hash: String,
}

/// The packaged bytes of an asset (shared, cheap to clone; `Debug` shows the length).
#[derive(Clone, PartialEq, Eq)]
pub struct AssetBytes(Arc<[u8]>);

impl AssetBytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for AssetBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssetBytes({} bytes)", self.0.len())
    }
}

/// A packaged asset as it goes into the cloud assembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAssetArtifact {
    /// SHA-256 of `bytes`, lower-case hex; the asset's id in the asset manifest.
    pub hash: String,
    /// The file written next to the manifest: `asset.<hash>.zip` or `asset.<hash>.<ext>`.
    pub file_name: String,
    /// The object key in the bucket: `<hash>.zip` or `<hash>.<ext>`.
    pub object_key: String,
    /// The bucket, with `${AWS::AccountId}`/`${AWS::Region}` placeholders: the assets
    /// bucket of the stack's bootstrap qualifier when the asset was added.
    pub bucket_name: String,
    /// The source path the asset was made from (for messages; not written).
    pub source_path: PathBuf,
    /// The content to upload.
    pub bytes: AssetBytes,
}

/// An asset registered on the app, waiting for synthesis.
#[derive(Debug, Clone)]
pub(crate) struct StagedAsset {
    pub(crate) stack: NodeId,
    pub(crate) artifact: FileAssetArtifact,
}

/// Packages an asset for the construct at `construct` (its path, for messages): reads
/// the file, or zips the directory deterministically, and names it by its content hash.
pub(crate) fn package(construct: &str, asset: &FileAsset) -> Result<FileAssetArtifact> {
    let (path, bytes, ext) = match &asset.source {
        AssetSource::Directory(dir) => {
            check_kind(construct, dir, true)?;
            (
                dir.clone(),
                zip_directory(construct, dir)?,
                Some("zip".to_string()),
            )
        }
        AssetSource::File(file) => {
            check_kind(construct, file, false)?;
            let bytes = fs::read(file).map_err(|e| asset_error(construct, file, e.to_string()))?;
            let ext = file
                .extension()
                .and_then(|e| e.to_str())
                .filter(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()))
                .map(str::to_ascii_lowercase);
            (file.clone(), bytes, ext)
        }
    };
    let hash = match &asset.asset_hash {
        Some(custom) => sha256_hex(custom.as_bytes()),
        None => sha256_hex(&bytes),
    };
    let object_key = match &ext {
        Some(ext) => format!("{hash}.{ext}"),
        None => hash.clone(),
    };
    Ok(FileAssetArtifact {
        file_name: format!("asset.{object_key}"),
        object_key,
        bucket_name: ASSET_BUCKET.to_string(),
        hash,
        source_path: path,
        bytes: AssetBytes(bytes.into()),
    })
}

fn asset_error(construct: &str, path: &Path, message: String) -> Error {
    Error::Asset {
        path: display_construct(construct),
        source_path: path.to_path_buf(),
        message,
    }
}

fn display_construct(construct: &str) -> String {
    if construct.is_empty() {
        "<app>".into()
    } else {
        construct.to_string()
    }
}

fn check_kind(construct: &str, path: &Path, want_dir: bool) -> Result<()> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::AssetNotFound {
                path: display_construct(construct),
                source_path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(asset_error(construct, path, e.to_string())),
    };
    match (want_dir, meta.is_dir()) {
        (true, false) => Err(asset_error(
            construct,
            path,
            "is not a directory; use AssetSource::File for a single file".into(),
        )),
        (false, true) => Err(asset_error(
            construct,
            path,
            "is a directory; use AssetSource::Directory to zip it".into(),
        )),
        _ => Ok(()),
    }
}

/// SHA-256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// One regular file of a directory asset.
struct Entry {
    /// The path inside the zip, `/`-separated.
    name: String,
    path: PathBuf,
    executable: bool,
}

fn collect(construct: &str, dir: &Path, prefix: &str, depth: usize, out: &mut Vec<Entry>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(asset_error(
            construct,
            dir,
            format!("nests more than {MAX_DEPTH} directories deep (a symbolic link loop?)"),
        ));
    }
    let read = fs::read_dir(dir).map_err(|e| asset_error(construct, dir, e.to_string()))?;
    for item in read {
        let item = item.map_err(|e| asset_error(construct, dir, e.to_string()))?;
        let path = item.path();
        let Some(file_name) = item.file_name().to_str().map(str::to_string) else {
            return Err(asset_error(
                construct,
                &path,
                "the file name is not valid UTF-8, which zip entries need".into(),
            ));
        };
        let name = if prefix.is_empty() {
            file_name
        } else {
            format!("{prefix}/{file_name}")
        };
        // Follows symbolic links: their targets are packaged.
        let meta = fs::metadata(&path).map_err(|e| asset_error(construct, &path, e.to_string()))?;
        if meta.is_dir() {
            collect(construct, &path, &name, depth + 1, out)?;
        } else if meta.is_file() {
            out.push(Entry {
                name,
                executable: is_executable(&meta),
                path,
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

/// Zips a directory deterministically (see [`App::add_file_asset`]).
fn zip_directory(construct: &str, dir: &Path) -> Result<Vec<u8>> {
    let mut entries = Vec::new();
    collect(construct, dir, "", 0, &mut entries)?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let zip_err = |e: zip::result::ZipError| asset_error(construct, dir, format!("cannot zip: {e}"));
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let mut buf = Vec::new();
    for entry in &entries {
        buf.clear();
        fs::File::open(&entry.path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| asset_error(construct, &entry.path, e.to_string()))?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(6))
            .last_modified_time(DateTime::default())
            .unix_permissions(if entry.executable { 0o755 } else { 0o644 })
            .large_file(buf.len() as u64 >= u64::from(u32::MAX));
        writer.start_file(entry.name.as_str(), options).map_err(zip_err)?;
        writer
            .write_all(&buf)
            .map_err(|e| asset_error(construct, &entry.path, format!("cannot zip: {e}")))?;
    }
    Ok(writer.finish().map_err(zip_err)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_nothing_is_the_known_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
