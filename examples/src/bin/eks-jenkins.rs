//! `cargo run -p examples --bin eks-jenkins -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::eks_jenkins::build)
}
