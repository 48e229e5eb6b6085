//! `cargo run -p examples --bin data-lake -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::data_lake::build)
}
