//! Small blocks (up to `MAX` bytes): slabs of one size class each, whose pages go back to the
//! kernel when the slab empties. Touches: mmap/munmap/madvise. Never: anything else.
//!
//! Why not the C library's: musl keeps a group of small blocks mapped while any block of it is in
//! use, and keeps groups of a class it sees come and go. After 512 phones had connected and left,
//! 0.4 MB of blocks were live and 4.3 MB more stayed resident (measured with `alloc-stats`). Here a
//! slab is one page (classes up to 512 bytes) or four (larger classes), so a block that outlives
//! a crowd holds one slab at most, and an empty slab's pages return at once (one empty slab per
//! class is kept, so a block taken and freed over and over costs no syscall).
//!
//! A slab is `SLAB` (or `BIG_SLAB`) bytes aligned to its size: slots from its start, its header
//! in its last `HEADER` bytes. A block's class follows from its layout, so freeing it finds the
//! slab by masking the address, and its class's list by the layout.

use std::alloc::Layout;
use std::sync::Mutex;

/// The largest block here; bigger ones get pages of their own (see `super`).
pub const MAX: usize = 4096;
/// Blocks aligned to more than this get pages of their own.
pub const MAX_ALIGN: usize = 128;
/// Slab sizes: one page for classes up to `SMALL_CLASS_MAX`, four pages above.
const SLAB: usize = 4096;
const BIG_SLAB: usize = 4 * SLAB;
const SMALL_CLASS_MAX: usize = 512;
/// The slab header's bytes, at the slab's end.
const HEADER: usize = 64;

/// Block sizes. A slot's address is its slab's (aligned to 4 KiB at least) plus a multiple of
/// its class, so a class that is a multiple of the alignment gives aligned slots; from 256 on,
/// every second class or more is a multiple of 128 (`MAX_ALIGN`).
const CLASSES: [usize; 28] = [
    16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
    1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
];

/// Fresh slabs are mapped this many at a time (one mmap for several slabs).
const BATCH: usize = 8;
/// Slabs without blocks kept for reuse, per slab size: their pages are given back
/// (MADV_DONTNEED), only their addresses kept, so they cost no memory; beyond this, unmapped.
const SPARE: usize = 256;

/// A free slot: the next free slot of its slab.
struct Free {
    next: *mut Free,
}

/// The last `HEADER` bytes of a slab.
struct Header {
    /// Neighbours in the class's list of slabs with free slots.
    next: *mut Header,
    prev: *mut Header,
    /// Slots freed, to be used again first.
    free: *mut Free,
    /// Offset of the first never-used slot: slots are touched only when first used.
    fresh: usize,
    /// Blocks in use.
    used: usize,
    /// In the class's list (it has a free slot).
    listed: bool,
}

const _: () = assert!(std::mem::size_of::<Header>() <= HEADER);

/// A class's slabs with a free slot, and how many of them are empty.
struct Class {
    open: *mut Header,
    empty: usize,
}

/// Slabs without blocks, by address (see `SPARE`).
struct Spare {
    n: usize,
    at: [usize; SPARE],
}

/// What the locks guard: raw pointers into slabs, used only under the lock.
struct Locked<T>(T);
// SAFETY: the pointers are only dereferenced by the thread holding the Mutex around them, and
// the slabs they point to belong to this allocator alone (never to a thread).
unsafe impl<T> Send for Locked<T> {}

static LISTS: [Mutex<Locked<Class>>; CLASSES.len()] = [const {
    Mutex::new(Locked(Class {
        open: std::ptr::null_mut(),
        empty: 0,
    }))
}; CLASSES.len()];
static SPARES: [Mutex<Locked<Spare>>; 2] = [const {
    Mutex::new(Locked(Spare {
        n: 0,
        at: [0; SPARE],
    }))
}; 2];

/// The class for `layout` (its index), if it is one of ours: the smallest class that holds the
/// size and is a multiple of the alignment.
pub fn class(layout: &Layout) -> Option<usize> {
    if layout.size() > MAX || layout.align() > MAX_ALIGN {
        return None;
    }
    CLASSES
        .iter()
        .position(|&c| c >= layout.size() && c.is_multiple_of(layout.align()))
}

/// The slab size of class `k`.
fn slab_size(k: usize) -> usize {
    if CLASSES[k] <= SMALL_CLASS_MAX {
        SLAB
    } else {
        BIG_SLAB
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A block of class `k`, or null when the kernel has no memory.
pub fn alloc(k: usize) -> *mut u8 {
    let size = CLASSES[k];
    let slab = slab_size(k);
    let mut list = lock(&LISTS[k]);
    let c = &mut list.0;
    if c.open.is_null() {
        let h = new_slab(slab);
        if h.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: `h` is the header of a slab nobody else holds; the class lock is held.
        unsafe { push(c, h) };
        c.empty += 1;
    }
    let h = c.open;
    // SAFETY: `h` is in the class's list, so a live slab of this class; the lock is held.
    unsafe {
        let start = start_of(h, slab);
        let p = if !(*h).free.is_null() {
            let f = (*h).free;
            (*h).free = (*f).next;
            f.cast::<u8>()
        } else {
            let p = start.add((*h).fresh);
            (*h).fresh += size;
            p
        };
        if (*h).used == 0 {
            c.empty -= 1;
        }
        (*h).used += 1;
        if (*h).free.is_null() && (*h).fresh + size > slab - HEADER {
            unlink(c, h);
        }
        p
    }
}

/// Gives back `p`, a block of class `k` from [`alloc`].
///
/// # Safety
/// `p` came from `alloc(k)` and is not used after this.
pub unsafe fn dealloc(p: *mut u8, k: usize) {
    let slab = slab_size(k);
    let h = header_of(p, slab);
    let mut list = lock(&LISTS[k]);
    let c = &mut list.0;
    // SAFETY: `p` is a live block of class `k` (the caller's promise), so `h` is its slab's
    // header, and the block's bytes are ours to reuse as a free-list link; the lock is held.
    unsafe {
        let f = p.cast::<Free>();
        (*f).next = (*h).free;
        (*h).free = f;
        (*h).used -= 1;
        if !(*h).listed {
            push(c, h);
        }
        if (*h).used == 0 {
            if c.empty == 0 {
                c.empty += 1;
            } else {
                unlink(c, h);
                drop(list);
                release(start_of(h, slab), slab);
            }
        }
    }
}

/// The first byte of the slab whose header is `h`.
fn start_of(h: *mut Header, slab: usize) -> *mut u8 {
    h.cast::<u8>().wrapping_add(HEADER).wrapping_sub(slab)
}

/// The header of the slab holding `p`.
fn header_of(p: *mut u8, slab: usize) -> *mut Header {
    let start = p as usize & !(slab - 1);
    p.wrapping_add(start + slab - HEADER - p as usize).cast()
}

/// Puts `h` first in the class's list.
///
/// # Safety
/// `h` is a live slab header not in any list; the class's lock is held.
unsafe fn push(c: &mut Class, h: *mut Header) {
    // SAFETY: `h` and the list's first header are live slab headers (the caller's promise and
    // the list's invariant), reached under the class's lock.
    unsafe {
        (*h).prev = std::ptr::null_mut();
        (*h).next = c.open;
        if !c.open.is_null() {
            (*c.open).prev = h;
        }
        (*h).listed = true;
    }
    c.open = h;
}

/// Takes `h` out of the class's list.
///
/// # Safety
/// `h` is in the class's list; the class's lock is held.
unsafe fn unlink(c: &mut Class, h: *mut Header) {
    // SAFETY: `h` and its neighbours are live slab headers in this list, under its lock.
    unsafe {
        if (*h).prev.is_null() {
            c.open = (*h).next;
        } else {
            (*(*h).prev).next = (*h).next;
        }
        if !(*h).next.is_null() {
            (*(*h).next).prev = (*h).prev;
        }
        (*h).listed = false;
    }
}

/// A slab of `slab` bytes with a fresh header, or null.
fn new_slab(slab: usize) -> *mut Header {
    let start = take(slab);
    if start.is_null() {
        return std::ptr::null_mut();
    }
    let h = start.wrapping_add(slab - HEADER).cast::<Header>();
    // SAFETY: the slab's last HEADER bytes are ours (a spare or freshly mapped slab), writable,
    // and aligned for Header (the slab is aligned to its size).
    unsafe {
        h.write(Header {
            next: std::ptr::null_mut(),
            prev: std::ptr::null_mut(),
            free: std::ptr::null_mut(),
            fresh: 0,
            used: 0,
            listed: false,
        })
    };
    h
}

fn spares(slab: usize) -> &'static Mutex<Locked<Spare>> {
    &SPARES[usize::from(slab == BIG_SLAB)]
}

/// A spare slab, else `BATCH` freshly mapped ones (the rest kept as spares); null if none.
fn take(slab: usize) -> *mut u8 {
    let mut s = lock(spares(slab));
    if s.0.n > 0 {
        s.0.n -= 1;
        return s.0.at[s.0.n] as *mut u8;
    }
    let first = map_aligned(slab, BATCH);
    if first.is_null() {
        return first;
    }
    for i in 1..BATCH {
        let n = s.0.n;
        s.0.at[n] = first as usize + i * slab;
        s.0.n += 1;
    }
    first
}

/// An empty slab's pages go back to the kernel: its address is kept as a spare, or unmapped.
///
/// # Safety
/// No block of the slab at `start` is in use, and it is in no class's list.
unsafe fn release(start: *mut u8, slab: usize) {
    let mut s = lock(spares(slab));
    if s.0.n < SPARE {
        // SAFETY: the slab is ours and unused (the caller's promise): its pages may be dropped;
        // it reads as zeros when touched again.
        unsafe { libc::madvise(start.cast(), slab, libc::MADV_DONTNEED) };
        let n = s.0.n;
        s.0.at[n] = start as usize;
        s.0.n += 1;
    } else {
        drop(s);
        // SAFETY: the slab is ours, unused, and no longer reachable from any list or spare.
        unsafe { libc::munmap(start.cast(), slab) };
    }
}

/// `count` slabs of `slab` bytes, contiguous and aligned to `slab`, or null.
fn map_aligned(slab: usize, count: usize) -> *mut u8 {
    let len = slab * count;
    // One slab more than needed when the kernel's page alignment is less than the slab's.
    let extra = slab - SLAB;
    // SAFETY: a fresh private mapping; no existing memory is touched.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len + extra,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    let p = p.cast::<u8>();
    let head = (slab - p as usize % slab) % slab;
    let tail = extra - head;
    // SAFETY: the head and tail trimmed are parts of the mapping just made, used by nobody.
    unsafe {
        if head > 0 {
            libc::munmap(p.cast(), head);
        }
        if tail > 0 {
            libc::munmap(p.add(head + len).cast(), tail);
        }
    }
    p.wrapping_add(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_hold_their_layouts_aligned() {
        for size in [1, 16, 17, 100, 129, 512, 513, 2792, 4096] {
            for align in [1, 8, 16, 64, 128] {
                let l = Layout::from_size_align(size, align).unwrap();
                let k = class(&l).unwrap();
                assert!(CLASSES[k] >= size && CLASSES[k].is_multiple_of(align));
            }
        }
        assert!(class(&Layout::from_size_align(4097, 8).unwrap()).is_none());
        assert!(class(&Layout::from_size_align(64, 256).unwrap()).is_none());
        // The largest class holds `MAX` bytes at `MAX_ALIGN`.
        assert_eq!(CLASSES[CLASSES.len() - 1], MAX);
        assert!(MAX.is_multiple_of(MAX_ALIGN));
    }

    #[test]
    fn blocks_fill_slabs_and_empty_slabs_go_back() {
        let k = class(&Layout::from_size_align(3000, 128).unwrap()).unwrap();
        let per_slab = (BIG_SLAB - HEADER) / CLASSES[k];
        let blocks: Vec<usize> = (0..per_slab * 5)
            .map(|i| {
                let p = alloc(k);
                assert!(!p.is_null());
                assert_eq!(p as usize % 128, 0);
                // SAFETY: a live block of CLASSES[k] bytes.
                unsafe { p.write_bytes(i as u8, CLASSES[k]) };
                p as usize
            })
            .collect();
        let mut sorted = blocks.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), blocks.len(), "every block distinct");
        for (i, &p) in blocks.iter().enumerate() {
            // SAFETY: the block written above, still live.
            assert_eq!(unsafe { *(p as *const u8).add(CLASSES[k] - 1) }, i as u8);
        }
        for &p in &blocks {
            // SAFETY: each block freed once, with its class.
            unsafe { dealloc(p as *mut u8, k) };
        }
        let list = lock(&LISTS[k]);
        assert!(list.0.empty <= 1, "at most one empty slab kept");
    }
}
