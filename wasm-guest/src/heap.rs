//! The module's allocator: one region per call, handed out front to back and emptied when
//! the call returns.
//!
//! Everything a waPC call allocates is dead by the time `__guest_call` returns: the
//! request, the evaluation and the answer (the host copies the answer during the call),
//! and podsec keeps no state between calls. So the heap is a bump region that starts
//! right after the statics (`__heap_base`) and is reset at the end of each call
//! ([`reset`]). An allocation is an alignment and an addition; freeing the most recent
//! allocation gives its bytes back, and growing it extends it in place, so the common
//! pattern of building a string or a list and dropping temporaries in reverse order
//! reuses memory. Anything else is released by the reset.
//!
//! Memory: module-builder links the module with 832 KiB of initial memory, so ~500 KiB of
//! it is heap before any growth; a larger evaluation grows the memory a wasm page at a
//! time and keeps the pages for later calls of the same instance. A fresh instance
//! without a pooling allocator (Kubewarden's host) faults in every 4 KiB page it touches,
//! and a bump region touches them in order, from the first.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

/// A wasm page.
const PAGE_BYTES: usize = 64 * 1024;

extern "C" {
    /// Where the linker ends the statics: the first byte nothing else uses.
    static __heap_base: u8;
}

/// The bump region: `next` is the first free byte, `end` the end of the memory it may use;
/// both 0 before the first allocation.
pub struct Bump {
    next: Cell<usize>,
    end: Cell<usize>,
}

// SAFETY: a wasm32 module without the threads proposal runs on one thread.
#[expect(
    unsafe_code,
    reason = "the allocator is a static; wasm32 has one thread"
)]
unsafe impl Sync for Bump {}

impl Bump {
    const fn new() -> Self {
        Bump {
            next: Cell::new(0),
            end: Cell::new(0),
        }
    }

    /// The first byte after the statics.
    fn base() -> usize {
        // Only the linker symbol's address is taken; it is never read.
        core::ptr::addr_of!(__heap_base) as usize
    }

    /// The first free byte, starting the region on first use.
    fn next(&self) -> usize {
        match self.next.get() {
            0 => {
                let base = Self::base();
                self.end
                    .set(core::arch::wasm32::memory_size::<0>().wrapping_mul(PAGE_BYTES));
                base
            }
            next => next,
        }
    }

    /// Makes the region reach `wanted`, growing the memory if it must; false when the
    /// memory cannot grow.
    fn reach(&self, wanted: usize) -> bool {
        wanted <= self.end.get() || self.grow_to(wanted)
    }

    /// Grows the memory so the region reaches `wanted`. Out of line: a typical
    /// evaluation never gets here.
    #[cold]
    #[inline(never)]
    fn grow_to(&self, wanted: usize) -> bool {
        let end = self.end.get();
        let pages = (wanted - end).div_ceil(PAGE_BYTES);
        if core::arch::wasm32::memory_grow::<0>(pages) == usize::MAX {
            return false;
        }
        self.end
            .set(core::arch::wasm32::memory_size::<0>().wrapping_mul(PAGE_BYTES));
        wanted <= self.end.get()
    }

    /// Empties the region: every allocation made so far is released.
    fn reset(&self) {
        self.next.set(0);
    }
}

// SAFETY: each allocation is a range of the region that no other live allocation
// overlaps: `next` only moves past what was handed out, and moves back only over the most
// recent allocation when that one is freed, or over everything at `reset`, which runs
// when no allocation is alive. Ranges are aligned as asked and lie in memory the module
// owns past the statics and the stack.
#[expect(unsafe_code, reason = "implementing GlobalAlloc is unsafe")]
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let next = self.next();
        let Some(start) = next.checked_next_multiple_of(layout.align()) else {
            return core::ptr::null_mut();
        };
        let Some(end) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.reach(end) {
            return core::ptr::null_mut();
        }
        self.next.set(end);
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The most recent allocation gives its bytes back; others wait for the reset.
        if (ptr as usize).wrapping_add(layout.size()) == self.next.get() {
            self.next.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        if start.wrapping_add(layout.size()) == self.next.get() {
            // The most recent allocation grows or shrinks where it is.
            let Some(end) = start.checked_add(new_size) else {
                return core::ptr::null_mut();
            };
            if !self.reach(end) {
                return core::ptr::null_mut();
            }
            self.next.set(end);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: as the caller promises for `realloc`.
        unsafe { self.move_to_new(ptr, layout, new_size) }
    }
}

impl Bump {
    /// Grows an allocation that is not the most recent one: a new one, and a copy. Out of
    /// line, so the allocator's inlined fast paths stay small.
    ///
    /// # Safety
    /// As `GlobalAlloc::realloc`, with `new_size` larger than the allocation's.
    #[inline(never)]
    #[expect(unsafe_code, reason = "allocating and copying raw memory")]
    unsafe fn move_to_new(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `new_size` is non-zero (it exceeds the old size) and the alignment is the
        // allocation's own, so the layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as `GlobalAlloc::alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: the old allocation has `layout.size()` bytes, fewer than the new
            // one, and the two do not overlap (the new one starts past `next`).
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Bump = Bump::new();

/// Releases everything the call allocated. Call only when nothing allocated is alive: at
/// the end of `__guest_call`, after its values are dropped.
pub fn reset() {
    ALLOCATOR.reset();
}
