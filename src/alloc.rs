//! The daemon's allocator: memory a crowd used comes back to the router when the crowd leaves.
//! Blocks of `PAGED_FROM` bytes or more (hyper's per-connection read and write buffers, response
//! bodies) get pages of their own from the kernel and go back to it when freed; smaller ones are
//! the C library's. Touches: mmap/mremap/munmap. Never: anything else.
//!
//! Why: musl's malloc (like glibc's) keeps a group of blocks mapped while any one of them is in
//! use, so the buffers of connections long closed stay resident beside a few that live on. With
//! 512 phones connected and then gone, the static musl binary kept 11.3 MB (C library only) and
//! keeps 7.3 MB (this); a router has 64–128 MiB for everything. Pages of their own also cost only
//! what is touched: a connection's 8 KiB read buffer holding a 200-byte request is one page.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// hyper's buffers start at 8 KiB (its INIT_BUFFER_SIZE): from there on, pages of their own.
/// Smaller blocks stay with the C library, where a syscall each would cost more than it saves.
const PAGED_FROM: usize = 8192;
/// mmap's alignment: larger alignments go to the C library.
const PAGE: usize = 4096;

/// Freed blocks of 2 to `KEPT_PAGES` pages are kept mapped for the next connection or request:
/// a syscall pair and fresh page faults for each of them cost up to half the requests per second
/// in the field benchmark's crowd rows (measured). What stays mapped is bounded: `KEPT` blocks of
/// each size, at most 32 × (8 + 12 + 16) KiB = 1.1 MiB.
const KEPT_PAGES: usize = 4;
const KEPT: usize = 32;
/// The smallest block, in pages.
const MIN_PAGES: usize = PAGED_FROM / PAGE;
/// Addresses of kept blocks (0: empty), by page count from `MIN_PAGES`.
static KEPT_BLOCKS: [[AtomicUsize; KEPT]; KEPT_PAGES - MIN_PAGES + 1] =
    [const { [const { AtomicUsize::new(0) }; KEPT] }; KEPT_PAGES - MIN_PAGES + 1];

/// [`System`] for small blocks, the kernel's pages for big ones.
pub struct Paged;

fn paged(layout: &Layout) -> bool {
    layout.size() >= PAGED_FROM && layout.align() <= PAGE
}

// SAFETY: every block is either the C library's (System, unchanged) or a private anonymous
// mapping of at least `size` bytes, page-aligned (≥ any `align` sent here). Which one is decided
// by `paged(layout)`, and the caller passes the same layout (same size, same align) to `dealloc`
// and `realloc` as it got the block with, so each block returns to where it came from.
unsafe impl GlobalAlloc for Paged {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !paged(&layout) {
            // SAFETY: the caller's layout, passed on unchanged.
            return unsafe { System.alloc(layout) };
        }
        take(layout.size()).unwrap_or_else(|| map(layout.size()))
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !paged(&layout) {
            // SAFETY: the caller's layout, passed on unchanged.
            return unsafe { System.alloc_zeroed(layout) };
        }
        match take(layout.size()) {
            Some(p) => {
                // SAFETY: a kept block of at least `size` bytes, owned by nobody else now.
                unsafe { p.write_bytes(0, layout.size()) };
                p
            }
            // Fresh anonymous pages are zero already.
            None => map(layout.size()),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !paged(&layout) {
            // SAFETY: a small block comes from System with this layout (see `paged`).
            return unsafe { System.dealloc(ptr, layout) };
        }
        if !keep(ptr, layout.size()) {
            // SAFETY: a big block is our own mapping of `size` bytes, given back once.
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees new_size, rounded up to align, fits isize.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (paged(&layout), paged(&new)) {
            // SAFETY: a small block comes from System with this layout.
            (false, false) => unsafe { System.realloc(ptr, layout, new_size) },
            (true, true) => {
                // SAFETY: our own mapping of `layout.size()` bytes; the kernel moves it if needed.
                let p = unsafe {
                    libc::mremap(ptr.cast(), layout.size(), new_size, libc::MREMAP_MAYMOVE)
                };
                if p == libc::MAP_FAILED {
                    std::ptr::null_mut()
                } else {
                    p.cast()
                }
            }
            // Crossing PAGED_FROM: a new block of the other kind, the bytes copied over.
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
    fn big_blocks_are_pages_that_grow_shrink_and_cross_back() {
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
            // Grow in pages, then shrink below PAGED_FROM (back to the C library), then up again.
            let p = a.realloc(p, l, 100_000);
            assert_eq!(*p.add(9_999), 7);
            let l = Layout::from_size_align(100_000, 8).unwrap();
            let p = a.realloc(p, l, 100);
            assert_eq!(*p.add(99), 7);
            let l = Layout::from_size_align(100, 8).unwrap();
            let p = a.realloc(p, l, PAGED_FROM);
            assert_eq!(*p, 7);
            a.dealloc(p, Layout::from_size_align(PAGED_FROM, 8).unwrap());
            // Small and over-aligned blocks are the C library's.
            for l in [
                Layout::from_size_align(64, 8).unwrap(),
                Layout::from_size_align(PAGED_FROM, 2 * PAGE).unwrap(),
            ] {
                let p = a.alloc(l);
                assert_eq!(p as usize % l.align(), 0);
                a.dealloc(p, l);
            }
        }
    }
}
