//! The module's allocator: talc, first serving from a fixed arena that is part of the
//! module's initial memory, then from pages the module grows into.
//!
//! Rust's default wasm allocator (dlmalloc) never uses the free space of the initial
//! memory: its first allocation grows the memory. A waPC host that gives every request a
//! fresh instance then pays to make the grown pages accessible on every call and to hide
//! them again when the instance ends (two `mprotect`s and a TLB shootdown in wasmtime's
//! pooling allocator). With the arena in the initial memory, a typical evaluation never
//! grows memory at all; larger ones grow as before.

use core::alloc::Layout;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use talc::base::binning::Binning;
use talc::base::Talc;
use talc::cell::TalcSyncCell;
use talc::source::Source;
use talc::wasm::WasmBinning;

/// The arena's size: comfortably more than a typical pod's evaluation uses (a ~3 KB
/// request, its parsed pod and the response), well under a large one's.
const ARENA_BYTES: usize = 512 * 1024;

/// A wasm page.
const PAGE_BYTES: usize = 64 * 1024;

/// Room for talc's own bookkeeping around an allocation that needs fresh pages: its
/// chunk header and tag, alignment, and the heap base it reserves when claiming.
const CLAIM_SLACK: usize = 1024;

/// Where memory comes from: the arena once, then `memory.grow`.
#[derive(Debug)]
pub struct ArenaThenGrow {
    arena_claimed: bool,
    grown_end: Option<NonNull<u8>>,
}

// SAFETY: `acquire` touches only the `talc` it is given, the arena (which nothing else
// names) and memory it has just grown; it never allocates.
#[expect(unsafe_code, reason = "talc's Source trait is unsafe to implement")]
unsafe impl Source for ArenaThenGrow {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if !talc.source.arena_claimed {
            talc.source.arena_claimed = true;
            static mut ARENA: [MaybeUninit<u8>; ARENA_BYTES] = [MaybeUninit::uninit(); ARENA_BYTES];
            // SAFETY: ARENA is private to this function and claimed exactly once, so the
            // allocator is its only user from here on.
            let claimed = unsafe { talc.claim((&raw mut ARENA).cast(), ARENA_BYTES) };
            if claimed.is_some() {
                return Ok(());
            }
        }
        grow(talc, layout)
    }
}

/// Grows the memory by enough pages for `layout` and hands them to talc, extending the
/// previous grown heap when the new pages follow it.
#[expect(
    unsafe_code,
    reason = "handing grown pages to talc is unsafe (talc.claim/extend)"
)]
fn grow<B: Binning>(talc: &mut Talc<ArenaThenGrow, B>, layout: Layout) -> Result<(), ()> {
    let needed = layout
        .size()
        .checked_add(layout.align())
        .and_then(|n| n.checked_add(CLAIM_SLACK))
        .ok_or(())?;
    let pages = needed.div_ceil(PAGE_BYTES);
    let previous_pages = core::arch::wasm32::memory_grow::<0>(pages);
    if previous_pages == usize::MAX {
        return Err(());
    }
    let base = previous_pages.wrapping_mul(PAGE_BYTES) as *mut u8;
    let bytes = pages.wrapping_mul(PAGE_BYTES);
    let end = base.wrapping_add(bytes);
    if let Some(old_end) = talc.source.grown_end.take() {
        if old_end.as_ptr() == base {
            // SAFETY: `old_end` ends the heap this source claimed last, and the pages from
            // there to `end` were just grown, so nothing else uses them.
            talc.source.grown_end = Some(unsafe { talc.extend(old_end, end) });
            return Ok(());
        }
    }
    // SAFETY: the pages from `base` to `end` were just grown; nothing else uses them.
    talc.source.grown_end = unsafe { talc.claim(base, bytes) };
    talc.source.grown_end.map(|_| ()).ok_or(())
}

#[global_allocator]
static ALLOCATOR: TalcSyncCell<ArenaThenGrow, WasmBinning> =
    TalcSyncCell::new_wasm(ArenaThenGrow {
        arena_claimed: false,
        grown_end: None,
    });
