//! `cairn watch`, as `cdk watch`: deploys once, then on every change of the watched files
//! runs the app again (the `cdk.json` `"app"` command) and deploys, with hotswap by default
//! (`--no-hotswap` for full deployments, `--hotswap-fallback` to fall back to them).
//!
//! Which files: `cdk.json`'s `"watch": {"include": [...], "exclude": [...]}` globs (`*`,
//! `**`, `?`), relative to the directory of `cdk.json`. Without `"include"`, everything
//! (`**`), as the CDK CLI; `"exclude"` always gets the CDK CLI's additions (the output
//! directory, dotfiles and dot-directories, `node_modules`) and cargo's `target` directory,
//! where the app's own build writes.
//!
//! Changes are found by polling the files' modification times and sizes every
//! [`POLL`] (no file-watching crate: a project's sources are walked in a few
//! milliseconds, and polling behaves the same on every platform and file system). A change
//! waits until the files have been quiet for [`QUIET`] (an editor's or a build's burst of
//! writes is one change); one deployment runs at a time, and the changes made meanwhile
//! are deployed together by the next one. Ctrl-C stops the watch (and a deployment in
//! progress, whose CloudFormation operation goes on).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::Args;

use crate::app::{AppSource, Project};
use crate::error::{Error, Result};
use crate::{AwsOptions, Command, DeployArgs, DeployMethod, RequireApproval};

/// How often the files are looked at.
pub const POLL: Duration = Duration::from_millis(300);
/// How long the files must stay unchanged before a deployment starts.
pub const QUIET: Duration = Duration::from_millis(300);

/// `watch [STACK...]`.
#[derive(Debug, Clone, Default, Args)]
pub struct WatchArgs {
    /// Stacks (artifact id, stack name or path; `*` wildcards); all when none is given.
    pub stacks: Vec<String>,
    /// Only the named stacks, not their dependencies.
    #[arg(long, short = 'e')]
    pub exclusively: bool,
    /// Full deployments (change sets) instead of hotswaps.
    #[arg(long, conflicts_with = "hotswap_fallback")]
    pub no_hotswap: bool,
    /// Hotswap when every change is hotswappable, else a full deployment.
    #[arg(long)]
    pub hotswap_fallback: bool,
    /// How many independent stacks deploy at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// How to change the stacks in a full deployment.
    #[arg(long, value_enum, default_value_t = DeployMethod::ChangeSet)]
    pub method: DeployMethod,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

impl WatchArgs {
    /// The `deploy` each change runs (no approval asked, as `cdk watch`).
    ///
    /// ```
    /// use cairn_toolkit::watch::WatchArgs;
    /// let deploy = WatchArgs::default().deploy_args();
    /// assert!(deploy.all && deploy.hotswap);
    /// let full = WatchArgs { no_hotswap: true, ..WatchArgs::default() }.deploy_args();
    /// assert!(!full.hotswap && !full.hotswap_fallback);
    /// ```
    pub fn deploy_args(&self) -> DeployArgs {
        DeployArgs {
            stacks: self.stacks.clone(),
            all: self.stacks.is_empty(),
            exclusively: self.exclusively,
            concurrency: self.concurrency,
            require_approval: RequireApproval::Never,
            method: self.method,
            hotswap: !self.no_hotswap && !self.hotswap_fallback,
            hotswap_fallback: self.hotswap_fallback,
            aws: self.aws.clone(),
            ..DeployArgs::default()
        }
    }
}

/// The files a watch looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    /// The directory the globs are relative to.
    pub root: PathBuf,
    /// Included globs.
    pub include: Vec<String>,
    /// Excluded globs.
    pub exclude: Vec<String>,
}

impl Watched {
    /// The globs of `project` (`cdk.json`), with the defaults; `outdir` is the assembly
    /// directory (excluded).
    ///
    /// ```
    /// use cairn_toolkit::app::Project;
    /// use cairn_toolkit::watch::Watched;
    /// let project = Project { dir: "/app".into(), ..Project::default() };
    /// let watched = Watched::of(&project, std::path::Path::new("/app/cdk.out"));
    /// assert!(watched.watches("src/main.rs"));
    /// assert!(!watched.watches("cdk.out/manifest.json") && !watched.watches("target/debug/hello"));
    /// ```
    pub fn of(project: &Project, outdir: &Path) -> Watched {
        let include = match project.watch_include.is_empty() {
            true => vec!["**".to_string()],
            false => project.watch_include.clone(),
        };
        let mut exclude = project.watch_exclude.clone();
        if let Ok(rel) = outdir.strip_prefix(&project.dir) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if !rel.is_empty() {
                exclude.push(format!("{rel}/**"));
            }
        }
        for default in [
            "**/.*",
            "**/.*/**",
            "**/node_modules/**",
            "target/**",
            "**/target/**",
        ] {
            exclude.push(default.to_string());
        }
        Watched {
            root: project.dir.clone(),
            include,
            exclude,
        }
    }

    /// Whether the file at `rel` (relative, `/`-separated) is watched.
    pub fn watches(&self, rel: &str) -> bool {
        self.include.iter().any(|g| glob_match(g, rel)) && !self.excluded(rel)
    }

    fn excluded(&self, rel: &str) -> bool {
        self.exclude.iter().any(|g| glob_match(g, rel))
    }

    /// The modification time and size of every watched file.
    pub fn scan(&self) -> BTreeMap<PathBuf, (Option<SystemTime>, u64)> {
        let mut out = BTreeMap::new();
        let mut dirs = vec![PathBuf::new()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(self.root.join(&dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let rel = dir.join(entry.file_name());
                let text = rel.to_string_lossy().replace('\\', "/");
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    // A directory all of whose contents are excluded is not walked.
                    if !self.excluded(&text) && !self.excluded(&format!("{text}/\u{0}")) {
                        dirs.push(rel);
                    }
                } else if self.watches(&text) {
                    out.insert(rel, (meta.modified().ok(), meta.len()));
                }
            }
        }
        out
    }
}

/// Whether `path` (`/`-separated) matches `glob`: `**` any number of path segments, `*`
/// any characters but `/`, `?` one character but `/`. A glob without `/` also matches a
/// file of that name in any directory, as the CDK's (chokidar's) patterns do for a base name.
///
/// ```
/// use cairn_toolkit::watch::glob_match;
/// assert!(glob_match("src/**/*.rs", "src/handlers/order.rs"));
/// assert!(!glob_match("src/*.rs", "src/handlers/order.rs"));
/// assert!(glob_match("*.md", "docs/guide.md"));
/// ```
pub fn glob_match(glob: &str, path: &str) -> bool {
    let glob = glob.trim_start_matches("./");
    if !glob.contains('/')
        && glob != "**"
        && matches(
            glob.as_bytes(),
            path.rsplit('/').next().unwrap_or(path).as_bytes(),
        )
    {
        return true;
    }
    matches(glob.as_bytes(), path.as_bytes())
}

fn matches(g: &[u8], p: &[u8]) -> bool {
    match g {
        [] => p.is_empty(),
        [b'*', b'*', b'/', rest @ ..] => {
            // Zero or more whole segments.
            matches(rest, p)
                || p.iter()
                    .enumerate()
                    .any(|(i, c)| *c == b'/' && matches(rest, &p[i + 1..]))
        }
        [b'*', b'*'] => true,
        [b'*', rest @ ..] => (0..=p.len())
            .take_while(|&i| i == 0 || p[i - 1] != b'/')
            .any(|i| matches(rest, &p[i..])),
        [b'?', rest @ ..] => p.first().is_some_and(|c| *c != b'/') && matches(rest, &p[1..]),
        [c, rest @ ..] => p.first() == Some(c) && matches(rest, &p[1..]),
    }
}

/// Runs the watch: a deployment now, then one after each change, until Ctrl-C. Each
/// synthesis runs the app as `cairn synth` does, looking up the context it misses (none
/// with `lookups` off: a miss is then that cycle's error, listing the keys), so a watch
/// never deploys a lookup's dummy values.
pub fn watch(source: &AppSource, project: Option<&Project>, args: &WatchArgs, lookups: bool) -> Result<()> {
    let Some(project) = project else {
        return Err(Error::Usage(
            "cairn watch needs a cdk.json in this directory (its \"app\" command, and its \"watch\" globs)"
                .into(),
        ));
    };
    let watched = Watched::of(project, source.assembly_dir());
    let runtime = crate::runtime()?;
    eprintln!(
        "cairn watch: {} (include {}; exclude {}), polled every {} ms; {}. Ctrl-C stops.",
        watched.root.display(),
        watched.include.join(" "),
        watched.exclude.join(" "),
        POLL.as_millis(),
        match (args.no_hotswap, args.hotswap_fallback) {
            (true, _) => "full deployments",
            (false, true) => "hotswap deployments, falling back to full ones",
            (false, false) => "hotswap deployments",
        }
    );
    runtime.block_on(watch_loop(source.clone(), &watched, args, lookups))
}

/// What stopped a wait.
enum Wake {
    Changed,
    Stop,
}

async fn watch_loop(source: AppSource, watched: &Watched, args: &WatchArgs, lookups: bool) -> Result<()> {
    let mut seen = watched.scan();
    // The source keeps the context looked up in one cycle for the next ones.
    let mut source = Some(source);
    loop {
        let cycle = async {
            let mut taken = source
                .take()
                .ok_or_else(|| Error::Usage("the app could not be run".into()))?;
            let (taken, dir) = tokio::task::spawn_blocking(move || {
                let dir = crate::lookup::synthesize(&mut taken, lookups);
                (taken, dir)
            })
            .await
            .map_err(|e| Error::Usage(format!("the app could not be run: {e}")))?;
            source = Some(taken);
            crate::commands::run(&dir?, Command::Deploy(args.deploy_args())).await
        };
        tokio::select! {
            r = cycle => match r {
                Ok(()) => eprintln!("cairn watch: deployed; waiting for changes"),
                Err(e) => eprintln!("cairn watch: {e}; waiting for changes"),
            },
            _ = tokio::signal::ctrl_c() => {
                eprintln!("cairn watch: stopped (the CloudFormation operation in progress, if any, goes on)");
                return Ok(());
            }
        }
        match wait_for_change(watched, &mut seen).await {
            Wake::Changed => eprintln!("cairn watch: files changed; synthesizing and deploying"),
            Wake::Stop => {
                eprintln!("cairn watch: stopped");
                return Ok(());
            }
        }
    }
}

/// Waits until the watched files changed and then stayed quiet for [`QUIET`] (or Ctrl-C).
async fn wait_for_change(watched: &Watched, seen: &mut BTreeMap<PathBuf, (Option<SystemTime>, u64)>) -> Wake {
    let mut changed = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(if changed { QUIET } else { POLL }) => {}
            _ = tokio::signal::ctrl_c() => return Wake::Stop,
        }
        let now = watched.scan();
        if now != *seen {
            *seen = now;
            changed = true;
        } else if changed {
            return Wake::Changed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_the_cdks() {
        assert!(glob_match("**", "src/main.rs"));
        assert!(glob_match("src/**/*.rs", "src/a/b/c.rs"));
        assert!(glob_match("src/**/*.rs", "src/c.rs"));
        assert!(!glob_match("src/**/*.rs", "src/c.py"));
        assert!(glob_match("*.rs", "deep/dir/lib.rs"));
        assert!(glob_match("**/.*", ".git"));
        assert!(glob_match("**/.*/**", "a/.git/HEAD"));
        assert!(!glob_match("**/.*", "a/b.c"));
        assert!(glob_match("cdk.out/**", "cdk.out/manifest.json"));
        assert!(!glob_match("cdk.out/**", "src/cdk.out.rs"));
        assert!(glob_match("lambda/?.py", "lambda/a.py"));
        assert!(!glob_match("lambda/?.py", "lambda/ab.py"));
        assert!(!glob_match("src/*.rs", "src/a/b.rs"));
    }

    #[test]
    fn watches_what_cdk_json_says_with_the_defaults() {
        let root = std::env::temp_dir().join(format!("cairn-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for f in [
            "src/main.rs",
            "src/notes.md",
            "cdk.out/manifest.json",
            "target/debug/x",
            ".git/HEAD",
            "Cargo.toml",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        let project = Project {
            dir: root.clone(),
            watch_exclude: vec!["**/*.md".into()],
            ..Project::default()
        };
        let w = Watched::of(&project, &root.join("cdk.out"));
        let files: Vec<String> = w
            .scan()
            .keys()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(files, ["Cargo.toml", "src/main.rs"]);
        let only_src = Watched::of(
            &Project {
                watch_include: vec!["src/**".into()],
                ..project
            },
            &root.join("cdk.out"),
        );
        assert_eq!(only_src.scan().len(), 1, "{:?}", only_src.scan());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn watch_deploys_with_hotswap_unless_told_otherwise() {
        let a = WatchArgs::default().deploy_args();
        assert!(a.all && a.hotswap && !a.hotswap_fallback && a.require_approval == RequireApproval::Never);
        let full = WatchArgs {
            no_hotswap: true,
            stacks: vec!["Hello".into()],
            ..WatchArgs::default()
        }
        .deploy_args();
        assert!(!full.all && !full.hotswap && !full.hotswap_fallback);
        let fb = WatchArgs {
            hotswap_fallback: true,
            ..WatchArgs::default()
        }
        .deploy_args();
        assert!(!fb.hotswap && fb.hotswap_fallback);
    }
}
