//! Counts of what the allocator holds, built only with the `alloc-stats` feature (never shipped):
//! live bytes and blocks by size class, for the C library's blocks and the paged ones apart, and
//! the peak of all live bytes. Comparing live bytes with RSS tells what the program needs from
//! what the allocator keeps. With `LANGO_ALLOC_STATS=FILE`, a thread rewrites FILE every 100 ms.
//! Touches: FILE. Never: anything else.

use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Size classes by powers of two: class k holds blocks of up to 2^(k+4) bytes (16 B .. 1 MiB+).
const CLASSES: usize = 17;

struct Class {
    blocks: AtomicUsize,
    bytes: AtomicUsize,
}

static SMALL: [Class; CLASSES] = [const {
    Class {
        blocks: AtomicUsize::new(0),
        bytes: AtomicUsize::new(0),
    }
}; CLASSES];
static PAGED: [Class; CLASSES] = [const {
    Class {
        blocks: AtomicUsize::new(0),
        bytes: AtomicUsize::new(0),
    }
}; CLASSES];
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn class(size: usize) -> usize {
    let bits = usize::BITS - size.max(1).saturating_sub(1).leading_zeros();
    (bits.saturating_sub(4) as usize).min(CLASSES - 1)
}

/// A block of `size` bytes was handed out (`paged`: pages of its own).
pub fn added(size: usize, paged: bool) {
    let c = &(if paged { &PAGED } else { &SMALL })[class(size)];
    c.blocks.fetch_add(1, Relaxed);
    c.bytes.fetch_add(size, Relaxed);
    ALLOCS.fetch_add(1, Relaxed);
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
}

/// A block of `size` bytes was given back.
pub fn removed(size: usize, paged: bool) {
    let c = &(if paged { &PAGED } else { &SMALL })[class(size)];
    c.blocks.fetch_sub(1, Relaxed);
    c.bytes.fetch_sub(size, Relaxed);
    LIVE.fetch_sub(size, Relaxed);
}

/// The counts as text: totals, then one line per non-empty class.
pub fn report(kept_bytes: usize) -> String {
    let mut s = String::new();
    let sum = |t: &[Class; CLASSES]| t.iter().map(|c| c.bytes.load(Relaxed)).sum::<usize>();
    let _ = writeln!(
        s,
        "live {} small {} paged {} kept {} peak {} allocs {}",
        LIVE.load(Relaxed),
        sum(&SMALL),
        sum(&PAGED),
        kept_bytes,
        PEAK.load(Relaxed),
        ALLOCS.load(Relaxed)
    );
    for (name, table) in [("small", &SMALL), ("paged", &PAGED)] {
        for (k, c) in table.iter().enumerate() {
            let blocks = c.blocks.load(Relaxed);
            if blocks > 0 {
                let _ = writeln!(
                    s,
                    "{name} <={:>8} {blocks:>7} blocks {:>9} bytes",
                    16usize << k,
                    c.bytes.load(Relaxed)
                );
            }
        }
    }
    s
}

/// With `LANGO_ALLOC_STATS` set, a thread that rewrites that file with [`report`] every 100 ms.
pub fn start(kept_bytes: fn() -> usize) {
    let Some(path) = std::env::var_os("LANGO_ALLOC_STATS") else {
        return;
    };
    std::thread::spawn(move || loop {
        let _ = std::fs::write(&path, report(kept_bytes()));
        std::thread::sleep(Duration::from_millis(100));
    });
}
