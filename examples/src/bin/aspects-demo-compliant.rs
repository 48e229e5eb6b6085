//! `cargo run -p examples --bin aspects-demo-compliant -- synth`: the demo stack made compliant.
fn main() -> std::process::ExitCode {
    cairn::main(examples::aspects_demo::build_compliant)
}
