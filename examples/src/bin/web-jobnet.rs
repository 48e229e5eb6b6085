//! `cargo run -p examples --bin web-jobnet -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::web_jobnet::build)
}
