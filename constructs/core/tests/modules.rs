//! The core's modules form a hierarchy: no module depends, directly or through others, on a
//! module that depends on it. Read from the sources: `crate::<module>` paths, and
//! `crate::<Name>` paths resolved through the crate root's `pub use` lines (unit tests
//! excluded).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name -> its source text, without comment lines.
fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut add = |name: String, path: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        // Unit tests may build whole apps; only the module's own code counts.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        out.entry(name).or_insert_with(String::new).push_str(&code);
    };
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            // A directory module: its files are one module.
            for inner in std::fs::read_dir(&path).unwrap() {
                add(stem.clone(), &inner.unwrap().path());
            }
        } else if stem != "lib" {
            add(stem, &path);
        }
    }
    out
}

/// Names the crate root re-exports, by the module they come from.
fn reexports() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let mut out = BTreeMap::new();
    let flat = lib.replace('\n', " ");
    for stmt in flat.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        let names = names.trim().trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    out
}

fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let names = reexports();
    let mut deps = BTreeMap::new();
    for (module, code) in &modules {
        let mut set = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let segment: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let target = if modules.contains_key(&segment) {
                Some(segment)
            } else {
                names.get(&segment).cloned()
            };
            // `crate::{a, b}` groups are not used in the core; a name not found is ignored.
            if let Some(t) = target.filter(|t| t != module) {
                set.insert(t);
            }
        }
        deps.insert(module.clone(), set);
    }
    deps
}

#[test]
fn core_modules_have_no_cycles() {
    let deps = dependencies();
    assert!(deps.len() > 10, "modules found: {deps:?}");
    // Depth-first search for a back edge.
    fn visit<'a>(
        m: &'a str,
        deps: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let from = path.iter().position(|p| *p == m).unwrap_or(0);
                let mut cycle: Vec<String> = path[from..].iter().map(|s| s.to_string()).collect();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(m, 1);
        path.push(m);
        for d in deps.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, deps, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(m, 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in deps.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(m, &deps, &mut state, &mut path) {
            panic!("module cycle in cairn-core: {}\n{deps:#?}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_lowest_modules_stand_alone() {
    let deps = dependencies();
    // Ids and values know nothing of the tree; the tree knows nothing of synthesis.
    for (module, forbidden) in [
        ("id", &["tree", "synth", "value", "resource"][..]),
        ("value", &["tree", "synth", "aspect", "assembly"][..]),
        ("tree", &["synth", "aspect", "naming", "render"][..]),
        ("assembly", &["tree", "synth"][..]),
        ("asset", &["tree", "synth"][..]),
    ] {
        for f in forbidden {
            assert!(
                !deps[module].contains(*f),
                "{module} depends on {f}: {:?}",
                deps[module]
            );
        }
    }
}
