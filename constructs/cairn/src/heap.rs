//! Heap settings for the app process (Linux with glibc only; elsewhere nothing happens).
//!
//! A cairn app synthesizes in one short burst: it builds the tree, writes the templates
//! and exits. A fifth of that time went to page faults, one per 4 KiB page of heap the
//! process touches for the first time. [`prepare`] asks glibc to grow the heap in one
//! large step and the kernel to back that range with transparent huge pages (2 MiB, one
//! fault each) where it allows them (`/sys/kernel/mm/transparent_hugepage/enabled` set
//! to `madvise` or `always`). The heap is never touched more than before: only the
//! pages actually used count towards the process's memory, rounded up to 2 MiB.
//!
//! Measured with `bench/run` (see the README's Performance section).

/// Heap grown ahead at once: enough for ten thousand resources.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const HEAP_STEP: usize = 64 << 20;

/// Sets up the heap once per process (later calls do nothing).
pub(crate) fn prepare() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(glibc::prepare);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use super::HEAP_STEP;

    const HUGE_PAGE: usize = 2 << 20;
    /// glibc's largest mmap threshold (blocks larger than this are mapped on their own).
    const MMAP_THRESHOLD: usize = 32 << 20;
    /// Past the first step, the heap grows by this much at a time.
    const TOP_PAD: usize = 2 << 20;

    pub(super) fn prepare() {
        // SAFETY: mallopt, malloc, free, sbrk(0) and madvise are called as documented:
        // mallopt only changes glibc's thresholds; sbrk(0) only reads the program break;
        // the block is freed right after it is allocated; madvise is only given whole
        // pages of the heap's own mapping, and MADV_HUGEPAGE changes how the kernel backs
        // them, never their contents.
        unsafe {
            // Large blocks (template texts, the node arena) come from the heap too, and
            // freed memory stays in it for the next allocation instead of going back.
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD as i32);
            libc::mallopt(libc::M_TRIM_THRESHOLD, (4 * HEAP_STEP) as i32);
            let start = libc::sbrk(0) as usize;
            // Grow the heap by one step now (the block is returned to the heap at once).
            libc::mallopt(libc::M_TOP_PAD, HEAP_STEP as i32);
            // (black_box: the compiler would drop an allocation nothing uses.)
            let block = std::hint::black_box(libc::malloc(HUGE_PAGE));
            libc::free(block);
            libc::mallopt(libc::M_TOP_PAD, TOP_PAD as i32);
            let end = libc::sbrk(0) as usize;
            let from = start.next_multiple_of(HUGE_PAGE);
            let to = end - end % HUGE_PAGE;
            if start == usize::MAX || to <= from {
                return;
            }
            libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
        }
    }
}
