//! The `gatgrad` executable: the command line with the models compiled into gatgrad.

fn main() -> std::process::ExitCode {
    gatgrad_cli::main_with([])
}
