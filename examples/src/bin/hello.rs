//! `cargo run -p examples --bin hello -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::hello::build)
}
