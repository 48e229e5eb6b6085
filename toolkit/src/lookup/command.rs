//! `cairn context`: lists, resets and clears the cached context, as `cdk context` does.
//! Keys are numbered in sorted order from 1; only `cdk.context.json`'s entries can be
//! reset (`cdk.json`'s are the project's settings).

use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::app::{Project, CONTEXT_FILE, PROJECT_FILE};
use crate::error::{Error, Result};

/// The arguments of `cairn context`.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ContextArgs {
    /// Remove a context value by key, number (as listed) or glob pattern (`vpc-provider:*`);
    /// it is looked up again on the next synthesis.
    #[arg(long, short = 'e', value_name = "KEY|NUMBER")]
    pub reset: Option<String>,
    /// Ignore a key that cannot be reset or is not found.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Remove every cached context value.
    #[arg(long)]
    pub clear: bool,
    /// Print the context as JSON.
    #[arg(long, short = 'j')]
    pub json: bool,
}

/// Runs `cairn context` in the project directory `dir`; what it prints is returned.
pub fn run(dir: &Path, args: &ContextArgs) -> Result<String> {
    let file = dir.join(CONTEXT_FILE);
    let mut cached = super::read_file(&file)?;
    let all: Map<String, Json> = Project::load(dir)?
        .map(|p| p.context)
        .unwrap_or_else(|| cached.clone());
    if args.clear {
        super::write_file(&file, Map::new())?;
        return Ok("All context values cleared.\n".into());
    }
    let mut keys: Vec<&String> = all.keys().collect();
    keys.sort();
    if let Some(wanted) = &args.reset {
        let key = match wanted.parse::<usize>() {
            Ok(n) if n.to_string() == *wanted => match keys.get(n.wrapping_sub(1)) {
                Some(k) => (*k).clone(),
                None => return Err(Error::Usage(format!("no context key with number: {n}"))),
            },
            _ => wanted.clone(),
        };
        let matched: Vec<String> = if all.contains_key(&key) {
            vec![key.clone()]
        } else {
            keys.iter()
                .filter(|k| glob(&key, k))
                .map(|k| (*k).clone())
                .collect()
        };
        let (resettable, readonly): (Vec<String>, Vec<String>) =
            matched.into_iter().partition(|k| cached.contains_key(k));
        if resettable.is_empty() && !args.force {
            return Err(Error::Usage(if readonly.is_empty() {
                format!("no context value matching key: {key}")
            } else {
                format!(
                    "{} can only be changed in {PROJECT_FILE}: only the values in {CONTEXT_FILE} can be reset through the CLI",
                    readonly.join(", ")
                )
            }));
        }
        for k in &resettable {
            cached.remove(k);
        }
        super::write_file(&file, cached)?;
        let mut out = String::new();
        for k in &resettable {
            out.push_str(&format!(
                "Context value {k} reset. It will be refreshed on next synthesis\n"
            ));
        }
        for k in &readonly {
            out.push_str(&format!(
                "Context value {k} is set in {PROJECT_FILE} and was not reset\n"
            ));
        }
        return Ok(out);
    }
    if args.json {
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&Json::Object(all.clone())).unwrap_or_default()
        ));
    }
    if keys.is_empty() {
        return Ok("This app has no saved context values yet: they are saved when an app that looks up environment values (availability zones, VPCs, AMIs, SSM parameters) is synthesized.\n".into());
    }
    let mut out = format!("Context found in {PROJECT_FILE} and {CONTEXT_FILE}:\n\n #  Key  Value\n");
    for (i, k) in keys.iter().enumerate() {
        out.push_str(&format!("{:>2}  {k}  {}\n", i + 1, all[*k]));
    }
    out.push_str("\nRun `cairn context --reset KEY_OR_NUMBER` to remove a context key. It will be refreshed on the next synthesis.\n");
    Ok(out)
}

/// Whether `text` matches the glob `pattern` (`*` any run of characters, `?` one).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_reset_and_clear_as_cdk_context() {
        let dir = std::env::temp_dir().join(format!("cairn-context-cmd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(PROJECT_FILE),
            r#"{"app": "true", "context": {"stage": "prod"}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join(CONTEXT_FILE),
            r#"{"vpc-provider:b": {"vpcId": "vpc-1"}, "availability-zones:a": ["z1"], "ami:c": "ami-1"}"#,
        )
        .unwrap();
        let listed = run(&dir, &ContextArgs::default()).unwrap();
        let order: Vec<&str> = listed.lines().filter(|l| l.starts_with(' ')).collect();
        assert_eq!(order[1], " 1  ami:c  \"ami-1\"", "{listed}");
        assert!(order[2].starts_with(" 2  availability-zones:a"), "{listed}");
        assert!(order[3].starts_with(" 3  stage"), "{listed}");
        // By number (sorted), by glob; a cdk.json key is refused.
        assert!(run(
            &dir,
            &ContextArgs {
                reset: Some("2".into()),
                ..ContextArgs::default()
            }
        )
        .unwrap()
        .contains("availability-zones:a reset"));
        run(
            &dir,
            &ContextArgs {
                reset: Some("vpc-*".into()),
                ..ContextArgs::default()
            },
        )
        .unwrap();
        let e = run(
            &dir,
            &ContextArgs {
                reset: Some("stage".into()),
                ..ContextArgs::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("cdk.json"), "{e}");
        assert!(run(
            &dir,
            &ContextArgs {
                reset: Some("nothing".into()),
                ..ContextArgs::default()
            }
        )
        .is_err());
        let left = super::super::read_file(&dir.join(CONTEXT_FILE)).unwrap();
        assert_eq!(left.keys().collect::<Vec<_>>(), ["ami:c"]);
        let json = run(
            &dir,
            &ContextArgs {
                json: true,
                ..ContextArgs::default()
            },
        )
        .unwrap();
        assert!(
            json.contains("\"stage\": \"prod\"") && json.contains("ami-1"),
            "{json}"
        );
        run(
            &dir,
            &ContextArgs {
                clear: true,
                ..ContextArgs::default()
            },
        )
        .unwrap();
        assert!(super::super::read_file(&dir.join(CONTEXT_FILE))
            .unwrap()
            .is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn globs() {
        assert!(glob("vpc-*", "vpc-provider:x"));
        assert!(glob("*:region=eu-west-1", "ami:a:region=eu-west-1"));
        assert!(!glob("vpc-*", "ami:x"));
        assert!(glob("a?c", "abc"));
    }
}
