//! `cargo run -p examples --bin stackset-healing -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::stackset_healing::build)
}
