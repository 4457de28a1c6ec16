use clap::Parser;
use gallery::cli::Cli;

/// mimalloc rather than the system allocator: a feed page or an event frame is thousands of
/// small allocations, which glibc's allocator makes the largest cost of serving them, and
/// its free lists keep memory resident long after a burst.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse().run().await
}
