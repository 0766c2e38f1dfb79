/// mimalloc for every allocation of the process: Rust's, and (its
/// `override` feature) the C libraries' through `malloc`, tree-sitter's
/// trees above all; without transparent huge pages (`no_thp`), whose page
/// faults made a rewrite's time vary by a fifth from run to run
/// (docs/architecture.md, "Dependencies"; docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // SAFETY: first thing, while the process has one thread.
    unsafe { fleetwright::secret::take_environment() };
    // SAFETY: likewise, before any thread uses libgit2.
    unsafe { fleetwright::git::ignore_user_config() };
    // SAFETY: likewise, before any tree-sitter object exists.
    unsafe { fleetwright::recipe::arena::install() };
    fleetwright::cli::main_with_args(std::env::args_os())
}
