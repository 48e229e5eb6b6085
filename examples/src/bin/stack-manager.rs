//! `cargo run -p examples --bin stack-manager -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::stack_manager::build)
}
