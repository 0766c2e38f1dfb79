fn main() -> std::process::ExitCode {
    // SAFETY: first thing, while the process has one thread.
    unsafe { fleetwright::secret::take_environment() };
    // SAFETY: likewise, before any thread uses libgit2.
    unsafe { fleetwright::git::ignore_user_config() };
    fleetwright::cli::main_with_args(std::env::args_os())
}
