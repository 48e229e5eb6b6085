//! `cargo run -p hello -- synth`
//!
//! The app's code is `app.rs`, a module of this binary (and of the `examples` library,
//! which includes the same file as `examples::hello`): an edit compiles this one crate.
#[path = "app.rs"]
mod app;

fn main() -> std::process::ExitCode {
    cairn::main(app::build)
}
