//! The `portcullis` binary.

/// mimalloc instead of glibc's malloc. With glibc, memory allocated on one tokio
/// worker and freed on the other (a connection's task moves between workers) takes
/// the owning arena's lock once the freeing thread's cache is full: on a loaded
/// server more than half of the futex calls were these locks, and they are gone
/// with mimalloc, which frees across threads without a lock; user-space instructions
/// per request fell by 8–9 % (BENCHMARKS.md, "Ninth sitting"). Its 2.x line
/// (feature `v2`) and no transparent huge pages (`no_thp`): the 3.x line and huge
/// pages both kept more memory resident at idle (SPEC's idle RSS target). Only this
/// binary chooses; the library crates leave the allocator to the application.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    portcullis::cli::main()
}
