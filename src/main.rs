fn main() -> std::process::ExitCode {
    // SAFETY: first thing, while the process has one thread.
    unsafe { fleetwright::secret::take_environment() };
    fleetwright::cli::main_with_args(std::env::args_os())
}
