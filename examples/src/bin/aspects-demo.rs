//! `cargo run -p examples --bin aspects-demo -- synth`: refused with three errors, by design.
fn main() -> std::process::ExitCode {
    cairn::main(examples::aspects_demo::build)
}
