//! Helpers for the snapshot tests: synthesize an example app and render what a reviewer
//! needs to see (each stack's template and its place in the manifest).

use cairn::{App, CloudAssembly};

/// Synthesizes an example, panicking with the error text when it is refused (tests only).
pub fn synth(build: fn() -> cairn::Result<App>) -> CloudAssembly {
    let mut app = match build() {
        Ok(app) => app,
        Err(e) => panic!("building the app failed: {e}"),
    };
    match app.synth() {
        Ok(asm) => asm,
        Err(e) => panic!("synthesis failed: {e}"),
    }
}

/// A stack's header for snapshots: name, environment, dependencies.
pub fn header(asm: &CloudAssembly, stack: &str) -> String {
    match asm.stack(stack) {
        Some(s) => format!(
            "stack: {}\nname: {}\nenvironment: {}\ndepends on: {}\n",
            s.display_name,
            s.stack_name,
            s.environment.uri(),
            s.dependencies.join(", ")
        ),
        None => panic!("no stack {stack}"),
    }
}
