//! `cargo run -p examples --bin ami-tracker -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::ami_tracker::build)
}
