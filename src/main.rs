fn main() -> std::process::ExitCode {
    fleetwright::cli::main_with_args(std::env::args_os())
}
