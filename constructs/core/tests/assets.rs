//! File assets: packaging, hashing, determinism, and the assembly files the toolkit reads.

use std::fs;
use std::path::{Path, PathBuf};

use cairn_core::asset::sha256_hex;
use cairn_core::{
    App, AssetSource, CfnResource, Environment, Error, FileAsset, StackProps, TemplateFormat, Value,
};
use serde_json::{json, Value as Json};

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-assets-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small function source tree: two files at the top, one nested.
fn source_tree(dir: &Path, order: &[&str]) {
    let files = [
        (
            "index.py",
            "import lib.util\n\ndef handler(event, context):\n    return lib.util.answer()\n",
        ),
        ("lib/util.py", "def answer():\n    return 42\n"),
        ("README.txt", "packaged by cairn\n"),
    ];
    for name in order {
        let (path, body) = files.iter().find(|(p, _)| p == name).unwrap();
        let p = dir.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }
}

fn app_with_asset(src: &Path) -> (App, cairn_core::AssetLocation) {
    let mut app = App::new();
    let stack = app.stack("Api").unwrap();
    let group = app.construct(stack, "Handler").unwrap();
    let loc = app.add_file_asset(group, FileAsset::directory(src)).unwrap();
    app.add(
        group,
        "Resource",
        CfnResource::new("AWS::Lambda::Function").with(
            "Code",
            Value::map([("S3Bucket", loc.bucket.clone()), ("S3Key", loc.key.clone())]),
        ),
    )
    .unwrap();
    (app, loc)
}

fn read_json(p: &Path) -> Json {
    serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
}

/// Every file below `dir`, relative, sorted, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_directory_asset_is_zipped_hashed_and_written_with_a_cdk_asset_manifest() {
    let base = scratch("dir");
    let src = base.join("src");
    source_tree(&src, &["index.py", "lib/util.py", "README.txt"]);
    let (mut app, loc) = app_with_asset(&src);
    assert_eq!(loc.hash.len(), 64);
    assert!(loc
        .hash
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(loc.key, Value::from(format!("{}.zip", loc.hash)));
    assert_eq!(
        loc.bucket,
        Value::sub("cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}")
    );

    let asm = app.synth().unwrap();
    let stack = asm.stack("Api").unwrap();
    assert_eq!(stack.assets.len(), 1);
    let lid = stack.resources_of_type("AWS::Lambda::Function")[0];
    let code = &stack.template["Resources"][lid]["Properties"]["Code"];
    assert_eq!(
        *code,
        json!({
            "S3Bucket": { "Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}" },
            "S3Key": format!("{}.zip", loc.hash)
        })
    );

    let out = base.join("cdk.out");
    asm.write(&out, TemplateFormat::Json).unwrap();
    let zip_path = out.join(format!("asset.{}.zip", loc.hash));
    let zip_bytes = fs::read(&zip_path).unwrap();
    assert_eq!(
        sha256_hex(&zip_bytes),
        loc.hash,
        "the hash is the SHA-256 of the uploaded zip"
    );
    assert_eq!(&zip_bytes[..4], b"PK\x03\x04");

    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(
        manifest["artifacts"]["Api.assets"],
        json!({ "type": "cdk:asset-manifest", "properties": {
            "file": "Api.assets.json",
            "requiresBootstrapStackVersion": 6,
            "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"
        } })
    );
    assert_eq!(
        manifest["artifacts"]["Api"]["dependencies"],
        json!(["Api.assets"])
    );
    // The asset manifest artifact comes before the stack that depends on it.
    let ids: Vec<&String> = manifest["artifacts"].as_object().unwrap().keys().collect();
    assert_eq!(ids, ["Api.assets", "Api"]);

    let assets = read_json(&out.join("Api.assets.json"));
    assert_eq!(
        assets,
        json!({
            "version": manifest["version"],
            "files": {
                loc.hash.clone(): {
                    "source": { "path": format!("asset.{}.zip", loc.hash), "packaging": "file" },
                    "destinations": {
                        "current_account-current_region": {
                            "bucketName": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}",
                            "objectKey": format!("{}.zip", loc.hash),
                            "assumeRoleArn": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-file-publishing-role-${AWS::AccountId}-${AWS::Region}"
                        }
                    }
                }
            },
            "dockerImages": {}
        })
    );
    fs::remove_dir_all(&base).ok();
}

#[test]
fn the_zip_is_sorted_with_fixed_timestamps_and_permissions() {
    let base = scratch("zip");
    let src = base.join("src");
    source_tree(&src, &["README.txt", "lib/util.py", "index.py"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::write(src.join("bootstrap"), "#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(src.join("bootstrap"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(src.join("index.py"), fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (mut app, loc) = app_with_asset(&src);
    let asm = app.synth().unwrap();
    let bytes = asm.stack("Api").unwrap().assets[0].bytes.as_slice().to_vec();
    assert_eq!(sha256_hex(&bytes), loc.hash);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut names = Vec::new();
    for i in 0..archive.len() {
        let f = archive.by_index(i).unwrap();
        names.push(f.name().to_string());
        assert_eq!(f.compression(), zip::CompressionMethod::Deflated, "{}", f.name());
        let t = f.last_modified().unwrap();
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (1980, 1, 1, 0, 0)
        );
        let mode = f.unix_mode().unwrap() & 0o777;
        if f.name() == "bootstrap" {
            assert_eq!(mode, 0o755, "executables stay executable");
        } else {
            assert_eq!(mode, 0o644, "{}", f.name());
        }
    }
    #[cfg(unix)]
    assert_eq!(names, ["README.txt", "bootstrap", "index.py", "lib/util.py"]);
    let mut body = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("lib/util.py").unwrap(), &mut body).unwrap();
    assert_eq!(body, "def answer():\n    return 42\n");
    fs::remove_dir_all(&base).ok();
}

#[test]
fn the_same_content_gives_the_same_bytes_and_another_content_another_hash() {
    let base = scratch("determinism");
    let a = base.join("a");
    let b = base.join("b");
    // Same content written in another order, at another time.
    source_tree(&a, &["index.py", "lib/util.py", "README.txt"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    source_tree(&b, &["README.txt", "index.py", "lib/util.py"]);

    let (mut app_a, loc_a) = app_with_asset(&a);
    let (mut app_b, loc_b) = app_with_asset(&b);
    assert_eq!(loc_a.hash, loc_b.hash);
    let (out_a, out_b) = (base.join("out-a"), base.join("out-b"));
    app_a
        .synth()
        .unwrap()
        .write(&out_a, TemplateFormat::Json)
        .unwrap();
    app_b
        .synth()
        .unwrap()
        .write(&out_b, TemplateFormat::Json)
        .unwrap();
    let (ta, tb) = (tree(&out_a), tree(&out_b));
    assert_eq!(ta.len(), 5, "{:?}", ta.iter().map(|(n, _)| n).collect::<Vec<_>>());
    assert_eq!(ta, tb, "two synths of the same content are byte-identical");

    // Writing again over the previous assembly gives the same files.
    let (mut again, _) = app_with_asset(&a);
    again
        .synth()
        .unwrap()
        .write(&out_a, TemplateFormat::Json)
        .unwrap();
    assert_eq!(tree(&out_a), tb);

    fs::write(b.join("lib/util.py"), "def answer():\n    return 43\n").unwrap();
    let (_, changed) = app_with_asset(&b);
    assert_ne!(changed.hash, loc_a.hash);
    fs::remove_dir_all(&base).ok();
}

#[test]
fn a_file_asset_keeps_its_bytes_and_extension() {
    let base = scratch("file");
    let file = base.join("Seed.JSON");
    fs::write(&file, "{\"items\": []}\n").unwrap();
    let bare = base.join("LICENSE");
    fs::write(&bare, "Apache-2.0\n").unwrap();
    let mut app = App::new();
    let stack = app.stack("Data").unwrap();
    let loc = app.add_file_asset(stack, FileAsset::file(&file)).unwrap();
    assert_eq!(loc.hash, sha256_hex(b"{\"items\": []}\n"));
    assert_eq!(loc.key, Value::from(format!("{}.json", loc.hash)));
    let plain = app
        .add_file_asset(
            stack,
            FileAsset {
                source: AssetSource::File(bare.clone()),
                asset_hash: None,
            },
        )
        .unwrap();
    assert_eq!(plain.key, Value::from(plain.hash.clone()));
    // A custom hash (the CDK's assetHash) names the object by its own SHA-256.
    let custom = app
        .add_file_asset(stack, FileAsset::file(&file).with_asset_hash("pinned"))
        .unwrap();
    assert_eq!(custom.key, Value::from(format!("{}.json", sha256_hex(b"pinned"))));
    // The same file twice is one asset.
    app.add_file_asset(stack, FileAsset::file(&file)).unwrap();
    let asm = app.synth().unwrap();
    assert_eq!(asm.stack("Data").unwrap().assets.len(), 3);
    let out = base.join("cdk.out");
    asm.write(&out, TemplateFormat::Json).unwrap();
    assert_eq!(
        fs::read(out.join(format!("asset.{}.json", loc.hash))).unwrap(),
        b"{\"items\": []}\n"
    );
    assert!(out.join(format!("asset.{}", plain.hash)).is_file());
    let m = read_json(&out.join("Data.assets.json"));
    // The file, the bare file and the custom-hashed copy: three objects, one entry each.
    assert_eq!(m["files"].as_object().unwrap().len(), 3);
    assert!(m["files"][sha256_hex(b"pinned")].is_object());
    assert_eq!(
        m["files"][&loc.hash]["source"]["path"],
        format!("asset.{}.json", loc.hash)
    );
    fs::remove_dir_all(&base).ok();
}

#[test]
fn missing_and_wrong_kind_paths_are_errors_naming_the_construct_and_the_path() {
    let base = scratch("errors");
    let mut app = App::new();
    let stack = app.stack("Api").unwrap();
    let group = app.construct(stack, "Handler").unwrap();
    let missing = base.join("nope");
    let err = app
        .add_file_asset(group, FileAsset::directory(&missing))
        .unwrap_err();
    assert!(matches!(err, Error::AssetNotFound { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("'Api/Handler'"), "{msg}");
    assert!(msg.contains(&missing.display().to_string()), "{msg}");

    let file = base.join("f.txt");
    fs::write(&file, "x").unwrap();
    let err = app
        .add_file_asset(group, FileAsset::directory(&file))
        .unwrap_err();
    assert!(
        matches!(err, Error::Asset { .. }) && err.to_string().contains("not a directory"),
        "{err}"
    );
    let err = app.add_file_asset(group, FileAsset::file(&base)).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");

    let root = app.root();
    let err = app.add_file_asset(root, FileAsset::file(&file)).unwrap_err();
    assert!(err.to_string().contains("inside a stack"), "{err}");
    // Nothing was registered by the failed calls.
    assert!(app.assets_of(stack).is_empty());
    fs::remove_dir_all(&base).ok();
}

#[test]
fn stage_stacks_write_assets_into_their_nested_assembly_and_filters_apply() {
    let base = scratch("stages");
    let src = base.join("src");
    source_tree(&src, &["index.py", "lib/util.py", "README.txt"]);
    let mut app = App::new();
    let prod = app
        .stage(app.root(), "Prod", Environment::new("123456789012", "eu-west-1"))
        .unwrap();
    let api = app.stack_with(prod, "Api", StackProps::default()).unwrap();
    let loc = app.add_file_asset(api, FileAsset::directory(&src)).unwrap();
    app.add(api, "Topic", CfnResource::new("AWS::SNS::Topic"))
        .unwrap();
    let other = app.stack("Other").unwrap();
    app.add(other, "Topic", CfnResource::new("AWS::SNS::Topic"))
        .unwrap();
    let asm = app.synth().unwrap();

    let out = base.join("cdk.out");
    asm.write(&out, TemplateFormat::Json).unwrap();
    let nested = out.join("assembly-Prod");
    let id = asm.stack("Prod/Api").unwrap().artifact_id.clone();
    assert!(nested.join(format!("asset.{}.zip", loc.hash)).is_file());
    assert!(!out.join(format!("asset.{}.zip", loc.hash)).exists());
    let m = read_json(&nested.join(format!("{id}.assets.json")));
    let dest = &m["files"][&loc.hash]["destinations"]["123456789012-eu-west-1"];
    assert_eq!(dest["region"], "eu-west-1");
    assert_eq!(dest["objectKey"], format!("{}.zip", loc.hash));
    let manifest = read_json(&nested.join("manifest.json"));
    assert_eq!(
        manifest["artifacts"][&id]["dependencies"],
        json!([format!("{id}.assets")])
    );
    // The stack without assets has no asset manifest.
    let root_manifest = read_json(&out.join("manifest.json"));
    assert!(root_manifest["artifacts"].get("Other.assets").is_none());
    assert!(root_manifest["artifacts"]["Other"].get("dependencies").is_none());

    // Only the selected stacks' assets are written.
    let only = base.join("only");
    asm.write_filtered(&only, TemplateFormat::Json, &["Other".to_string()])
        .unwrap();
    assert!(!only.join("assembly-Prod").exists());
    assert_eq!(
        tree(&only).len(),
        3,
        "manifest.json, cdk.out, Other.template.json"
    );
    fs::remove_dir_all(&base).ok();
}

#[test]
fn the_manifest_carries_the_default_synthesizers_roles_and_version() {
    let base = scratch("synthesizer");
    let src = base.join("src");
    source_tree(&src, &["index.py"]);
    let (mut app, _) = app_with_asset(&src);
    let out = base.join("cdk.out");
    app.synth().unwrap().write(&out, TemplateFormat::Json).unwrap();
    let manifest = read_json(&out.join("manifest.json"));
    let props = &manifest["artifacts"]["Api"]["properties"];
    let role = |name: &str| {
        format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/cdk-hnb659fds-{name}-role-${{AWS::AccountId}}-${{AWS::Region}}")
    };
    assert_eq!(props["assumeRoleArn"], json!(role("deploy")));
    assert_eq!(props["cloudFormationExecutionRoleArn"], json!(role("cfn-exec")));
    assert_eq!(props["requiresBootstrapStackVersion"], json!(6));
    assert_eq!(
        props["bootstrapStackVersionSsmParameter"],
        json!("/cdk-bootstrap/hnb659fds/version")
    );
    assert_eq!(
        props["lookupRole"],
        json!({"arn": role("lookup"), "requiresBootstrapStackVersion": 8,
               "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"})
    );
    fs::remove_dir_all(&base).ok();
}

#[test]
fn a_bootstrap_qualifier_names_the_bucket_roles_and_version_parameter() {
    let base = scratch("qualifier");
    let src = base.join("src");
    source_tree(&src, &["index.py"]);
    let mut app = App::new();
    let stack = app
        .stack_with(
            app.root(),
            "Api",
            StackProps {
                bootstrap_qualifier: Some("myapp-1".into()),
                ..StackProps::default()
            },
        )
        .unwrap();
    let loc = app.add_file_asset(stack, FileAsset::directory(&src)).unwrap();
    assert_eq!(
        loc.bucket,
        Value::sub("cdk-myapp-1-assets-${AWS::AccountId}-${AWS::Region}")
    );
    app.add(
        stack,
        "Fn",
        CfnResource::new("AWS::Lambda::Function").with(
            "Code",
            Value::map([("S3Bucket", loc.bucket.clone()), ("S3Key", loc.key.clone())]),
        ),
    )
    .unwrap();
    let out = base.join("cdk.out");
    app.synth().unwrap().write(&out, TemplateFormat::Json).unwrap();
    let manifest = read_json(&out.join("manifest.json"));
    let props = &manifest["artifacts"]["Api"]["properties"];
    assert!(props["assumeRoleArn"]
        .as_str()
        .unwrap()
        .contains("role/cdk-myapp-1-deploy-role-"));
    assert_eq!(
        props["bootstrapStackVersionSsmParameter"],
        json!("/cdk-bootstrap/myapp-1/version")
    );
    let assets = read_json(&out.join("Api.assets.json"));
    let dest = &assets["files"][&loc.hash]["destinations"]["current_account-current_region"];
    assert_eq!(
        dest["bucketName"],
        json!("cdk-myapp-1-assets-${AWS::AccountId}-${AWS::Region}")
    );
    assert!(dest["assumeRoleArn"]
        .as_str()
        .unwrap()
        .contains("role/cdk-myapp-1-file-publishing-role-"));

    let mut bad = App::new();
    let e = bad
        .stack_with(
            bad.root(),
            "Api",
            StackProps {
                bootstrap_qualifier: Some("far-too-long-a-name".into()),
                ..StackProps::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidProps { ref path, .. } if path == "Api"),
        "{e}"
    );
    assert!(e.to_string().contains("1 to 10 letters"), "{e}");
    fs::remove_dir_all(&base).ok();
}
