//! The module's allocator: talc, first serving from the initial memory past the module's
//! statics, then from pages the module grows into.
//!
//! Rust's default wasm allocator (dlmalloc) never uses the free space of the initial
//! memory: its first allocation grows the memory. A waPC host that gives every request a
//! fresh instance then pays to make the grown pages accessible on every call and to hide
//! them again when the instance ends (two `mprotect`s and a TLB shootdown in wasmtime's
//! pooling allocator). With the arena in the initial memory, a typical evaluation never
//! grows memory at all; larger ones grow as before.
//!
//! The heap starts at `__heap_base`, right after the statics (module-builder links the
//! module with 832 KiB of initial memory, so ~500 KiB of it is heap before any growth),
//! and is extended a host page at a time: the allocator's writes fall on the pages the
//! allocations use and no others. A fresh instance without a pooling allocator
//! (Kubewarden's host) faults in every page it touches.

use core::alloc::Layout;
use core::ptr::NonNull;
use talc::base::binning::Binning;
use talc::base::Talc;
use talc::cell::TalcSyncCell;
use talc::source::Source;
use talc::wasm::WasmBinning;

/// A wasm page.
const PAGE_BYTES: usize = 64 * 1024;

extern "C" {
    /// Where the linker ends the statics: the first byte nothing else uses.
    static __heap_base: u8;
}

/// Room for talc's own bookkeeping around an allocation that needs fresh pages: its
/// chunk header and tag, alignment, and the heap base it reserves when claiming.
const CLAIM_SLACK: usize = 1024;

/// Where memory comes from: the initial memory past the statics, handed to talc a few
/// pages at a time as allocations need them, then pages the module grows into. One heap
/// throughout: each step extends the last.
#[derive(Debug)]
pub struct ArenaThenGrow {
    /// The end of the heap talc manages; `None` before the first allocation.
    heap_end: Option<NonNull<u8>>,
}

/// How far the heap is extended at a time within the initial memory: a host page. talc
/// writes a tag at the heap's end, so handing it the whole initial memory at once would
/// touch (and, in a fresh instance, fault in) the memory's last page for nothing.
const STEP_BYTES: usize = 4096;

// SAFETY: `acquire` touches only the `talc` it is given, memory past `__heap_base` (which
// no static and no stack uses) and memory it has just grown; it never allocates.
#[expect(unsafe_code, reason = "talc's Source trait is unsafe to implement")]
unsafe impl Source for ArenaThenGrow {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let needed = layout
            .size()
            .checked_add(layout.align())
            .and_then(|n| n.checked_add(CLAIM_SLACK))
            .ok_or(())?;
        let memory_end = core::arch::wasm32::memory_size::<0>().wrapping_mul(PAGE_BYTES);
        // Only the linker symbol's address is taken; it is never read.
        let start = match talc.source.heap_end {
            Some(end) => end.as_ptr() as usize,
            None => core::ptr::addr_of!(__heap_base) as usize,
        };
        let Some(wanted) = start
            .checked_add(needed)
            .and_then(|end| end.checked_next_multiple_of(STEP_BYTES))
        else {
            return Err(());
        };
        let end = wanted.min(memory_end);
        if end > start {
            let end_ptr = end as *mut u8;
            talc.source.heap_end = match talc.source.heap_end {
                // SAFETY: the heap ends at `old`, and from there to `end` is initial memory
                // past the statics that nothing else uses.
                Some(old) => Some(unsafe { talc.extend(old, end_ptr) }),
                // SAFETY: from `__heap_base` to `end` is initial memory past the statics
                // that nothing else uses; it is claimed once.
                None => unsafe { talc.claim(start as *mut u8, end - start) },
            };
            if talc.source.heap_end.is_some() {
                return Ok(());
            }
        }
        grow(talc, needed)
    }
}

/// Grows the memory by enough pages for `needed` bytes and hands them to talc, extending
/// the heap when the new pages follow it.
#[expect(
    unsafe_code,
    reason = "handing grown pages to talc is unsafe (talc.claim/extend)"
)]
fn grow<B: Binning>(talc: &mut Talc<ArenaThenGrow, B>, needed: usize) -> Result<(), ()> {
    let pages = needed.div_ceil(PAGE_BYTES);
    let previous_pages = core::arch::wasm32::memory_grow::<0>(pages);
    if previous_pages == usize::MAX {
        return Err(());
    }
    let base = previous_pages.wrapping_mul(PAGE_BYTES) as *mut u8;
    let bytes = pages.wrapping_mul(PAGE_BYTES);
    let end = base.wrapping_add(bytes);
    if let Some(old_end) = talc.source.heap_end.take() {
        if old_end.as_ptr() == base {
            // SAFETY: `old_end` ends the heap, and the pages from there to `end` were just
            // grown, so nothing else uses them.
            talc.source.heap_end = Some(unsafe { talc.extend(old_end, end) });
            return Ok(());
        }
    }
    // SAFETY: the pages from `base` to `end` were just grown; nothing else uses them.
    talc.source.heap_end = unsafe { talc.claim(base, bytes) };
    talc.source.heap_end.map(|_| ()).ok_or(())
}

#[global_allocator]
static ALLOCATOR: TalcSyncCell<ArenaThenGrow, WasmBinning> =
    TalcSyncCell::new_wasm(ArenaThenGrow { heap_end: None });
