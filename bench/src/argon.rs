//! The login baseline: raw Argon2id at Portcullis' default cost, one
//! hashing thread per CPU (what the server's semaphore allows), for a fixed time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Portcullis' default cost: OWASP's m=19 MiB, t=2, p=1.
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// An Argon2id hasher at the default cost, built the way the server builds one.
pub fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// What hashing alone achieves.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    pub threads: usize,
    pub hashes_per_sec: f64,
    pub ms_per_hash: f64,
}

/// Hashes on `threads` threads for `duration`: the best the CPUs can do, each thread
/// reusing one Argon2 memory area (no allocation, no page faults per hash).
pub fn run(threads: usize, duration: Duration) -> anyhow::Result<Baseline> {
    hasher()?; // fail early on bad parameters
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || -> anyhow::Result<(u64, Duration)> {
                let salt = [u8::try_from(t % 256).unwrap_or(0); 16];
                let mut out = [0u8; 32];
                let hasher = hasher()?;
                let mut memory = vec![Block::default(); hasher.params().block_count()];
                let mut count = 0u64;
                let begun = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    hasher
                        .hash_password_into_with_memory(
                            crate::seed::PASSWORD.as_bytes(),
                            &salt,
                            &mut out,
                            &mut memory,
                        )
                        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
                    count += 1;
                }
                Ok((count, begun.elapsed()))
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut rate = 0.0;
    let mut hashes = 0u64;
    let mut busy = Duration::ZERO;
    for worker in workers {
        let (count, elapsed) = worker.join().map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??;
        // Each thread's own rate (it finishes its last hash after the stop flag).
        rate += count as f64 / elapsed.as_secs_f64();
        hashes += count;
        busy += elapsed;
    }
    Ok(Baseline {
        threads,
        hashes_per_sec: rate,
        ms_per_hash: busy.as_secs_f64() * 1000.0 / hashes.max(1) as f64,
    })
}
