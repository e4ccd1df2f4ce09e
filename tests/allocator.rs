//! The daemon's allocator (`lango::alloc::Paged`) as this test's global allocator, under threads
//! that allocate, grow, shrink and free blocks of every kind (slab slots, pages of their own,
//! over-aligned) and free each other's: every block keeps its bytes.

use std::alloc::Layout;
use std::sync::mpsc;

#[global_allocator]
static ALLOC: lango::alloc::Paged = lango::alloc::Paged;

/// A small deterministic generator (no dependency): xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// A block filled with one byte, to tell whether anyone else wrote into it.
struct Filled {
    bytes: Vec<u8>,
    fill: u8,
}

impl Filled {
    fn new(rng: &mut Rng) -> Filled {
        let size = match rng.below(10) {
            0 => 4097 + rng.below(40_000),
            1 => 1 + rng.below(8),
            _ => 1 + rng.below(4096),
        };
        let fill = rng.next() as u8;
        Filled {
            bytes: vec![fill; size],
            fill,
        }
    }

    fn check(&self) {
        assert!(
            self.bytes.iter().all(|&b| b == self.fill),
            "a block changed"
        );
    }

    /// Grows or shrinks the block (realloc), keeping its fill.
    fn resize(&mut self, rng: &mut Rng) {
        let size = 1 + rng.below(12_000);
        self.bytes.resize(size, self.fill);
        self.bytes.shrink_to_fit();
    }
}

#[test]
fn blocks_keep_their_bytes_across_threads() {
    let (tx, rx) = mpsc::channel::<Vec<Filled>>();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
                let mut live: Vec<Filled> = vec![];
                for i in 0..60_000 {
                    match rng.below(4) {
                        0 | 1 => live.push(Filled::new(&mut rng)),
                        2 if !live.is_empty() => {
                            let b = live.swap_remove(rng.below(live.len() as u64));
                            b.check();
                        }
                        _ if !live.is_empty() => {
                            let n = rng.below(live.len() as u64);
                            live[n].check();
                            live[n].resize(&mut rng);
                        }
                        _ => {}
                    }
                    // Some blocks are freed by another thread.
                    if i % 5_000 == 0 {
                        let half = live.split_off(live.len() / 2);
                        tx.send(half).unwrap();
                    }
                }
                for b in &live {
                    b.check();
                }
            })
        })
        .collect();
    drop(tx);
    for t in threads {
        t.join().unwrap();
    }
    for blocks in rx {
        for b in &blocks {
            b.check();
        }
    }
}

#[test]
fn over_aligned_blocks_are_aligned() {
    for align in [16, 64, 128, 256, 4096, 8192] {
        for size in [1, 100, 3000, 5000] {
            let l = Layout::from_size_align(size, align).unwrap();
            // SAFETY: a non-zero size; the block is written within it and freed with its layout.
            unsafe {
                let p = std::alloc::alloc_zeroed(l);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
                assert!(std::slice::from_raw_parts(p, size).iter().all(|&b| b == 0));
                p.write_bytes(0xa5, size);
                std::alloc::dealloc(p, l);
            }
        }
    }
}
