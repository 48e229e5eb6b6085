//! The README's examples are code that compiles and runs: each file of `tests/readme/` is
//! a ```rust block of README.md, verbatim, and its `main` runs here.

#[path = "readme/context_lookups.rs"]
mod context_lookups;
#[path = "readme/custom_resources.rs"]
mod custom_resources;
#[path = "readme/eks_kubectl.rs"]
mod eks_kubectl;
#[path = "readme/existing_resources.rs"]
mod existing_resources;

const README: &str = include_str!("../../../README.md");

/// The ```rust blocks of the README, without their fences.
fn rust_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in README.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```rust") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_readme_shows_the_existing_resources_example_as_it_is_compiled() {
    let file = include_str!("readme/existing_resources.rs");
    assert!(
        rust_blocks().iter().any(|b| b == file),
        "README.md has no ```rust block equal to tests/readme/existing_resources.rs; copy the file into the README's \"Existing resources\" section"
    );
}

#[test]
fn the_existing_resources_example_runs() {
    existing_resources::main().unwrap();
}

#[test]
fn the_readme_shows_the_context_lookups_example_as_it_is_compiled() {
    let file = include_str!("readme/context_lookups.rs");
    assert!(
        rust_blocks().iter().any(|b| b == file),
        "README.md has no ```rust block equal to tests/readme/context_lookups.rs; copy the file into the README's \"Context lookups\" section"
    );
}

#[test]
fn the_context_lookups_example_runs() {
    context_lookups::main().unwrap();
}

#[test]
fn the_readme_shows_the_custom_resources_example_as_it_is_compiled() {
    let file = include_str!("readme/custom_resources.rs");
    assert!(
        rust_blocks().iter().any(|b| b == file),
        "README.md has no ```rust block equal to tests/readme/custom_resources.rs; copy the file into the README's \"Custom resources\" section"
    );
}

#[test]
fn the_custom_resources_example_runs() {
    custom_resources::main().unwrap();
}

#[test]
fn the_readme_shows_the_eks_kubectl_example_as_it_is_compiled() {
    let file = include_str!("readme/eks_kubectl.rs");
    assert!(
        rust_blocks().iter().any(|b| b == file),
        "README.md has no ```rust block equal to tests/readme/eks_kubectl.rs; copy the file into the README's \"Custom resources\" section"
    );
}

#[test]
fn the_eks_kubectl_example_runs() {
    eks_kubectl::main().unwrap();
}
