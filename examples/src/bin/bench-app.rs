//! `BENCH_GROUPS=2500 cargo run --release -p examples --bin bench-app -- synth --output DIR`
fn main() -> std::process::ExitCode {
    cairn::main(examples::bench_app::build)
}
