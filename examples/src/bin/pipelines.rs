//! `cargo run -p examples --bin pipelines -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::pipelines::build)
}
