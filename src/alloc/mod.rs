//! The daemon's allocator: memory a crowd used comes back to the router when the crowd leaves.
//! Blocks up to 4 KiB live in slabs of their size class whose pages go back to the kernel when
//! the slab empties (`slab`); bigger ones (hyper's per-connection read and write buffers, response
//! bodies) get pages of their own and go back when freed; only blocks aligned to more than a page
//! are the C library's. Touches: mmap/mremap/munmap/madvise. Never: anything else.
//!
//! Why: musl's malloc (like glibc's) keeps a group of blocks mapped while any one of them is in
//! use, so the memory of connections long closed stays resident beside a few blocks that live on.
//! With 512 phones connected and then gone, the static musl binary kept 11.3 MB (C library only),
//! 9.0 MB (big blocks on pages of their own, small ones the C library's) and keeps 5.1 MB (this;
//! 4.8 MB idle); a router has 64–128 MiB for everything. Pages also cost only what is touched: a
//! connection's 8 KiB read buffer holding a 200-byte request is one page.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

mod slab;
#[cfg(feature = "alloc-stats")]
pub mod stats;

/// mmap's alignment: larger alignments go to the C library.
const PAGE: usize = 4096;

/// Freed blocks of 2 to `KEPT_PAGES` pages are kept mapped for the next connection or request:
/// a syscall pair and fresh page faults for each of them cost up to half the requests per second
/// in the field benchmark's crowd rows (measured). What stays mapped is bounded: `KEPT` blocks of
/// each size, at most 32 × (8 + 12 + 16) KiB = 1.1 MiB.
const KEPT_PAGES: usize = 4;
const KEPT: usize = 32;
/// The smallest kept block, in pages (hyper's 8 KiB buffers).
const MIN_PAGES: usize = 2;
/// Addresses of kept blocks (0: empty), by page count from `MIN_PAGES`.
static KEPT_BLOCKS: [[AtomicUsize; KEPT]; KEPT_PAGES - MIN_PAGES + 1] =
    [const { [const { AtomicUsize::new(0) }; KEPT] }; KEPT_PAGES - MIN_PAGES + 1];

/// Slabs for small blocks, the kernel's pages for big ones, the C library for the rest.
pub struct Paged;

/// Where a block of a given layout lives: decided by the layout alone, so a block returns to
/// where it came from.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// In a slab of this size class.
    Slab(usize),
    /// Pages of its own.
    Pages,
    /// The C library's: aligned to more than a page.
    System,
}

fn kind(layout: &Layout) -> Kind {
    match slab::class(layout) {
        Some(k) => Kind::Slab(k),
        None if layout.align() <= PAGE => Kind::Pages,
        None => Kind::System,
    }
}

// SAFETY: every block is a slab slot of at least `size` bytes aligned to `align` (slab::class
// picks a class that is), a private anonymous mapping of at least `size` bytes, page-aligned
// (≥ `align`), or the C library's (System, unchanged). Which one is decided by `kind(layout)`,
// and the caller passes the same layout (same size, same align) to `dealloc` and `realloc` as it
// got the block with, so each block returns to where it came from.
unsafe impl GlobalAlloc for Paged {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = match kind(&layout) {
            Kind::Slab(k) => slab::alloc(k),
            Kind::Pages => take(layout.size()).unwrap_or_else(|| map(layout.size())),
            // SAFETY: the caller's layout, passed on unchanged.
            Kind::System => unsafe { System.alloc(layout) },
        };
        counted(p, layout.size(), kind(&layout) == Kind::Pages)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = match kind(&layout) {
            Kind::Pages => match take(layout.size()) {
                Some(p) => {
                    // SAFETY: a kept block of at least `size` bytes, owned by nobody else now.
                    unsafe { p.write_bytes(0, layout.size()) };
                    p
                }
                // Fresh anonymous pages are zero already.
                None => map(layout.size()),
            },
            // SAFETY: the caller's layout, passed on unchanged.
            Kind::System => unsafe { System.alloc_zeroed(layout) },
            Kind::Slab(k) => {
                let p = slab::alloc(k);
                if !p.is_null() {
                    // SAFETY: a slot of at least `size` bytes, owned by nobody else now.
                    unsafe { p.write_bytes(0, layout.size()) };
                }
                p
            }
        };
        counted(p, layout.size(), kind(&layout) == Kind::Pages)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let kind = kind(&layout);
        uncounted(layout.size(), kind == Kind::Pages);
        match kind {
            // SAFETY: a slot of class `k` (the layout says so), given back once.
            Kind::Slab(k) => unsafe { slab::dealloc(ptr, k) },
            Kind::Pages => {
                if !keep(ptr, layout.size()) {
                    // SAFETY: a big block is our own mapping of `size` bytes, given back once.
                    unsafe { libc::munmap(ptr.cast(), layout.size()) };
                }
            }
            // SAFETY: the C library's block with this layout (see `kind`).
            Kind::System => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees new_size, rounded up to align, fits isize.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (kind(&layout), kind(&new)) {
            // The same slot holds the new size.
            (Kind::Slab(a), Kind::Slab(b)) if a == b => {
                recounted(ptr, layout.size(), new_size, false)
            }
            (Kind::System, Kind::System) => {
                // SAFETY: the C library's block with this layout.
                let p = unsafe { System.realloc(ptr, layout, new_size) };
                recounted(p, layout.size(), new_size, false)
            }
            (Kind::Pages, Kind::Pages) => {
                // SAFETY: our own mapping of `layout.size()` bytes; the kernel moves it if needed.
                let p = unsafe {
                    libc::mremap(ptr.cast(), layout.size(), new_size, libc::MREMAP_MAYMOVE)
                };
                if p == libc::MAP_FAILED {
                    std::ptr::null_mut()
                } else {
                    recounted(p.cast(), layout.size(), new_size, true)
                }
            }
            // Another class or kind: a new block, the bytes copied over.
            _ => {
                // SAFETY: `new` is a valid layout (above).
                let p = unsafe { self.alloc(new) };
                if !p.is_null() {
                    // SAFETY: both blocks are live and distinct; the shorter length is copied,
                    // then the old block returns to where it came from.
                    unsafe {
                        std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                p
            }
        }
    }
}

/// `p`, counted as a block of `size` bytes handed out (with the `alloc-stats` feature).
#[inline(always)]
fn counted(p: *mut u8, size: usize, paged: bool) -> *mut u8 {
    #[cfg(feature = "alloc-stats")]
    if !p.is_null() {
        stats::added(size, paged);
    }
    #[cfg(not(feature = "alloc-stats"))]
    let _ = (size, paged);
    p
}

/// Counts a block of `size` bytes given back (with the `alloc-stats` feature).
#[inline(always)]
fn uncounted(size: usize, paged: bool) {
    #[cfg(feature = "alloc-stats")]
    stats::removed(size, paged);
    #[cfg(not(feature = "alloc-stats"))]
    let _ = (size, paged);
}

/// `p`, a block of `old` bytes resized in place or moved to `new` bytes (null: unchanged).
#[inline(always)]
fn recounted(p: *mut u8, old: usize, new: usize, paged: bool) -> *mut u8 {
    if !p.is_null() {
        uncounted(old, paged);
    }
    counted(p, new, paged)
}

/// Bytes in kept blocks now (what the pool holds for reuse).
pub fn kept_bytes() -> usize {
    KEPT_BLOCKS
        .iter()
        .enumerate()
        .map(|(i, slots)| {
            let used = slots
                .iter()
                .filter(|s| s.load(Ordering::Relaxed) != 0)
                .count();
            used * (MIN_PAGES + i) * PAGE
        })
        .sum()
}

/// The kept blocks of `size`'s page count, if it is one that is kept.
fn kept(size: usize) -> Option<&'static [AtomicUsize; KEPT]> {
    KEPT_BLOCKS.get(size.div_ceil(PAGE).checked_sub(MIN_PAGES)?)
}

/// A kept block for `size` bytes, if there is one.
fn take(size: usize) -> Option<*mut u8> {
    kept(size)?.iter().find_map(|slot| {
        if slot.load(Ordering::Relaxed) == 0 {
            return None;
        }
        match slot.swap(0, Ordering::Acquire) {
            0 => None,
            p => Some(p as *mut u8),
        }
    })
}

/// Keeps the block at `ptr` of `size` bytes for reuse; false when there is no room.
fn keep(ptr: *mut u8, size: usize) -> bool {
    kept(size).is_some_and(|slots| {
        slots.iter().any(|slot| {
            slot.compare_exchange(0, ptr as usize, Ordering::Release, Ordering::Relaxed)
                .is_ok()
        })
    })
}

/// `size` bytes of private anonymous pages, or null.
fn map(size: usize) -> *mut u8 {
    // SAFETY: a fresh private mapping; no existing memory is touched.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_grow_shrink_and_cross_between_pages_and_slabs() {
        let a = Paged;
        // SAFETY: each block is used within its size and freed once with its own layout.
        unsafe {
            let l = Layout::from_size_align(10_000, 8).unwrap();
            let p = a.alloc_zeroed(l);
            assert!(!p.is_null());
            assert_eq!(p as usize % PAGE, 0);
            assert!(std::slice::from_raw_parts(p, l.size())
                .iter()
                .all(|&b| b == 0));
            p.write_bytes(7, l.size());
            // Grow in pages, shrink into a slab, grow within its class, then back to pages.
            let p = a.realloc(p, l, 100_000);
            assert_eq!(*p.add(9_999), 7);
            let l = Layout::from_size_align(100_000, 8).unwrap();
            let p = a.realloc(p, l, 100);
            assert_eq!(*p.add(99), 7);
            let l = Layout::from_size_align(100, 8).unwrap();
            let q = a.realloc(p, l, 110);
            assert_eq!(q, p, "the same slot holds 110 bytes");
            let l = Layout::from_size_align(110, 8).unwrap();
            let p = a.realloc(q, l, 8192);
            assert_eq!(*p.add(99), 7);
            a.dealloc(p, Layout::from_size_align(8192, 8).unwrap());
            // Slab slots, a page for a page-aligned block, the C library beyond a page.
            for l in [
                Layout::from_size_align(64, 8).unwrap(),
                Layout::from_size_align(2792, 128).unwrap(),
                Layout::from_size_align(100, 4096).unwrap(),
                Layout::from_size_align(8192, 2 * PAGE).unwrap(),
            ] {
                let p = a.alloc_zeroed(l);
                assert!(!p.is_null());
                assert_eq!(p as usize % l.align(), 0);
                assert!(std::slice::from_raw_parts(p, l.size())
                    .iter()
                    .all(|&b| b == 0));
                p.write_bytes(1, l.size());
                a.dealloc(p, l);
            }
        }
    }
}
