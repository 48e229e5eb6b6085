//! `cargo run -p examples --bin ecs-fargate-spot -- synth`
fn main() -> std::process::ExitCode {
    cairn::main(examples::ecs_fargate_spot::build)
}
