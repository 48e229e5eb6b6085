//! Where the assembly comes from: an assembly directory, or an app command run the way the
//! AWS CDK CLI runs a CDK app.
//!
//! In a directory with a `cdk.json`, its `"app"` is the command (`cargo run -q --bin hello
//! --`), `"output"` the assembly directory (default `cdk.out`), `"context"` the context, and
//! `"watch"` what `cairn watch` watches. The command runs through the shell with
//! `CDK_OUTDIR` set to the assembly directory and the context in `CDK_CONTEXT_JSON` (merged
//! from `cdk.json`'s `"context"`, `cdk.context.json` and `--context KEY=VALUE`, later ones
//! winning, as the CDK merges them); the app writes the assembly there and the command works
//! on it. `--app DIR` names an assembly directory as it is; `--app CMD` a command.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::SystemTime;

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};

/// The project file.
pub const PROJECT_FILE: &str = "cdk.json";
/// The cached context file next to `cdk.json`: lookups write it (see `crate::lookup`).
pub const CONTEXT_FILE: &str = "cdk.context.json";
/// The variable naming the directory the app synthesizes into.
pub const OUTDIR_ENV: &str = "CDK_OUTDIR";
/// The variable holding the context (a JSON object).
pub const CONTEXT_ENV: &str = "CDK_CONTEXT_JSON";

/// What `cdk.json` says (the keys cairn reads).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Project {
    /// The directory holding `cdk.json`.
    pub dir: PathBuf,
    /// `"app"`: the command that synthesizes.
    pub app: Option<String>,
    /// `"output"`: the assembly directory, relative to `dir`.
    pub output: Option<PathBuf>,
    /// `"context"`, with `cdk.context.json` over it.
    pub context: Map<String, Json>,
    /// `"watch"."include"`: glob patterns of the files `cairn watch` watches.
    pub watch_include: Vec<String>,
    /// `"watch"."exclude"`: glob patterns it ignores.
    pub watch_exclude: Vec<String>,
}

impl Project {
    /// Reads `cdk.json` (and `cdk.context.json`) in `dir`; `None` when there is no
    /// `cdk.json`.
    pub fn load(dir: &Path) -> Result<Option<Project>> {
        let path = dir.join(PROJECT_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Project {
                    path,
                    message: e.to_string(),
                })
            }
        };
        let bad = |message: String| Error::Project {
            path: path.clone(),
            message,
        };
        let json: Json = serde_json::from_str(&text).map_err(|e| bad(format!("it is not JSON: {e}")))?;
        let Json::Object(obj) = json else {
            return Err(bad("it is not a JSON object".into()));
        };
        let string = |key: &str| -> Result<Option<String>> {
            match obj.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(format!("\"{key}\" is not a string"))),
            }
        };
        let app = string("app")?;
        let output = string("output")?.map(PathBuf::from);
        let mut context = match obj.get("context") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(m)) => m.clone(),
            Some(_) => return Err(bad("\"context\" is not an object".into())),
        };
        let cached = dir.join(CONTEXT_FILE);
        if let Ok(text) = std::fs::read_to_string(&cached) {
            match serde_json::from_str::<Json>(&text) {
                Ok(Json::Object(m)) => context.extend(m),
                _ => {
                    return Err(Error::Project {
                        path: cached,
                        message: "it is not a JSON object".into(),
                    })
                }
            }
        }
        let patterns = |key: &str| -> Result<Vec<String>> {
            match obj.get("watch").and_then(|w| w.get(key)) {
                None | Some(Json::Null) => Ok(Vec::new()),
                Some(Json::String(s)) => Ok(vec![s.clone()]),
                Some(Json::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str().map(String::from).ok_or_else(|| {
                            bad(format!("\"watch\".\"{key}\" holds a value that is not a string"))
                        })
                    })
                    .collect(),
                Some(_) => Err(bad(format!(
                    "\"watch\".\"{key}\" is not a string or a list of strings"
                ))),
            }
        };
        Ok(Some(Project {
            dir: dir.to_path_buf(),
            app,
            output,
            context,
            watch_include: patterns("include")?,
            watch_exclude: patterns("exclude")?,
        }))
    }
}

/// Where the assembly comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AppSource {
    /// An assembly directory, read as it is.
    Assembly(PathBuf),
    /// A command that synthesizes into `outdir`.
    Command {
        /// The shell command.
        command: String,
        /// The assembly directory it writes (`CDK_OUTDIR`).
        outdir: PathBuf,
        /// The context (`CDK_CONTEXT_JSON`).
        context: Map<String, Json>,
        /// Where it runs (the directory of `cdk.json`, else the working directory).
        dir: PathBuf,
    },
}

impl AppSource {
    /// The assembly directory.
    pub fn assembly_dir(&self) -> &Path {
        match self {
            AppSource::Assembly(d) => d,
            AppSource::Command { outdir, .. } => outdir,
        }
    }

    /// Decides where the assembly comes from: `--app` (a directory that exists is an
    /// assembly, anything else a command), else `cdk.json`'s `"app"` in `cwd`, else the
    /// assembly directory `cdk.out`. `--output` and `--context KEY=VALUE` apply to a
    /// command.
    pub fn resolve(
        app: Option<&str>,
        output: Option<&Path>,
        context: &[String],
        cwd: &Path,
    ) -> Result<AppSource> {
        let project = Project::load(cwd)?;
        // cdk.context.json is read with or without a cdk.json (as the CDK CLI reads it).
        let mut merged = match &project {
            Some(p) => p.context.clone(),
            None => crate::lookup::read_file(&cwd.join(CONTEXT_FILE))?,
        };
        for kv in context {
            let (k, v) = kv
                .split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| Error::Usage(format!("--context `{kv}` is not KEY=VALUE")))?;
            merged.insert(k.to_string(), Json::String(v.to_string()));
        }
        let outdir = output
            .map(Path::to_path_buf)
            .or_else(|| project.as_ref().and_then(|p| p.output.clone()))
            .unwrap_or_else(|| PathBuf::from("cdk.out"));
        let outdir = if outdir.is_absolute() {
            outdir
        } else {
            cwd.join(outdir)
        };
        let command = match app {
            Some(a) if cwd.join(a).is_dir() => return Ok(AppSource::Assembly(cwd.join(a))),
            Some(a) => a.to_string(),
            None => match project.and_then(|p| p.app) {
                Some(a) => a,
                None => {
                    return Ok(AppSource::Assembly(
                        output.map_or_else(|| cwd.join("cdk.out"), |o| cwd.join(o)),
                    ))
                }
            },
        };
        if command.trim().is_empty() {
            return Err(Error::Usage(
                "the app command is empty; set \"app\" in cdk.json or pass --app".into(),
            ));
        }
        Ok(AppSource::Command {
            command,
            outdir,
            context: merged,
            dir: cwd.to_path_buf(),
        })
    }

    /// Runs the app command (nothing for an assembly directory) and returns the assembly
    /// directory. The app's output goes to standard error (standard output is kept for
    /// the command's results). An app that fails, or exits without writing a
    /// `manifest.json` into `CDK_OUTDIR`, is an error.
    pub fn synthesize(&self) -> Result<PathBuf> {
        let AppSource::Command {
            command,
            outdir,
            context,
            dir,
        } = self
        else {
            return Ok(self.assembly_dir().to_path_buf());
        };
        let manifest = outdir.join("manifest.json");
        let before = modified(&manifest);
        std::fs::create_dir_all(outdir).map_err(|source| Error::Io {
            path: outdir.clone(),
            source,
        })?;
        let mut cmd = shell(command);
        cmd.current_dir(dir)
            .env(OUTDIR_ENV, outdir)
            .env(CONTEXT_ENV, Json::Object(context.clone()).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()));
        let status = cmd.status().map_err(|e| Error::App {
            command: command.clone(),
            message: format!("cannot run it: {e}"),
        })?;
        if !status.success() {
            return Err(Error::App {
                command: command.clone(),
                message: match status.code() {
                    Some(c) => format!("it exited with status {c} (its messages are above)"),
                    None => "it was killed by a signal".into(),
                },
            });
        }
        let after = modified(&manifest);
        if after.is_none() || after == before {
            return Err(Error::App {
                command: command.clone(),
                message: format!(
                    "it exited successfully but wrote no {}; an app synthesizes into the directory in {OUTDIR_ENV} when run without a subcommand (cairn apps do; for another command, end \"app\" with the subcommand that synthesizes, e.g. `... -- synth`)",
                    manifest.display()
                ),
            });
        }
        Ok(outdir.clone())
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(unix)]
fn shell(command: &str) -> std::process::Command {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(command);
    c
}

#[cfg(not(unix))]
fn shell(command: &str) -> std::process::Command {
    let mut c = std::process::Command::new("cmd");
    c.arg("/C").arg(command);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let d = std::env::temp_dir().join(format!("cairn-toolkit-app-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Dir(d)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn without_cdk_json_the_default_is_the_assembly_directory() {
        let d = Dir::new("none");
        let s = AppSource::resolve(None, None, &[], &d.0).unwrap();
        assert_eq!(s, AppSource::Assembly(d.0.join("cdk.out")));
        std::fs::create_dir_all(d.0.join("asm")).unwrap();
        let s = AppSource::resolve(Some("asm"), None, &[], &d.0).unwrap();
        assert_eq!(
            s,
            AppSource::Assembly(d.0.join("asm")),
            "an existing directory is an assembly"
        );
        let s = AppSource::resolve(Some("./bin/app --flag"), None, &[], &d.0).unwrap();
        assert!(
            matches!(s, AppSource::Command { ref command, .. } if command == "./bin/app --flag"),
            "{s:?}"
        );
    }

    #[test]
    fn cdk_json_gives_the_command_output_context_and_watch() {
        let d = Dir::new("project");
        std::fs::write(
            d.0.join(PROJECT_FILE),
            json!({"app": "cargo run -q --bin hello --", "output": "out", "context": {"a": "1", "b": "2"},
                   "watch": {"include": ["src/**"], "exclude": "target"}})
            .to_string(),
        )
        .unwrap();
        std::fs::write(d.0.join(CONTEXT_FILE), json!({"b": "cached"}).to_string()).unwrap();
        let p = Project::load(&d.0).unwrap().unwrap();
        assert_eq!(p.watch_include, ["src/**"]);
        assert_eq!(p.watch_exclude, ["target"]);
        let s = AppSource::resolve(None, None, &["c=3".into(), "a=flag".into()], &d.0).unwrap();
        let AppSource::Command {
            command,
            outdir,
            context,
            ..
        } = s
        else {
            panic!("{s:?}")
        };
        assert_eq!(command, "cargo run -q --bin hello --");
        assert_eq!(outdir, d.0.join("out"));
        assert_eq!(
            Json::Object(context),
            json!({"a": "flag", "b": "cached", "c": "3"}),
            "cdk.json < cdk.context.json < --context"
        );
        assert!(AppSource::resolve(None, None, &["novalue".into()], &d.0).is_err());
    }

    #[test]
    fn a_malformed_cdk_json_names_the_file() {
        let d = Dir::new("bad");
        std::fs::write(d.0.join(PROJECT_FILE), r#"{"app": 3}"#).unwrap();
        let e = AppSource::resolve(None, None, &[], &d.0).unwrap_err().to_string();
        assert!(
            e.contains("cdk.json") && e.contains("\"app\" is not a string"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_command_gets_cdk_outdir_and_the_context() {
        let d = Dir::new("run");
        // A shell "app" that writes what it was given as its manifest.
        let script = r#"printf '{"outdir": "%s", "context": %s}' "$CDK_OUTDIR" "$CDK_CONTEXT_JSON" > "$CDK_OUTDIR/manifest.json""#;
        let s = AppSource::resolve(Some(script), Some(Path::new("asm")), &["k=v".into()], &d.0).unwrap();
        let dir = s.synthesize().unwrap();
        assert_eq!(dir, d.0.join("asm"));
        let written: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(
            written,
            json!({"outdir": d.0.join("asm").display().to_string(), "context": {"k": "v"}})
        );

        let failing = AppSource::resolve(Some("echo broken >&2; exit 3"), None, &[], &d.0).unwrap();
        let e = failing.synthesize().unwrap_err().to_string();
        assert!(e.contains("exited with status 3"), "{e}");

        // Exits 0 but writes nothing: the old assembly is not taken for a new one.
        let silent = AppSource::resolve(Some("true"), Some(Path::new("asm")), &[], &d.0).unwrap();
        let e = silent.synthesize().unwrap_err().to_string();
        assert!(e.contains("wrote no") && e.contains("CDK_OUTDIR"), "{e}");
    }
}
