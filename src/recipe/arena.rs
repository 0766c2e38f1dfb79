//! tree-sitter's memory, one file at a time.
//!
//! Rewriting a file parses it into a tree of millions of small heap
//! objects. Allocating them one by one, and walking the whole tree again to
//! free them (`ts_tree_delete`), took a sixth of a rewrite of real code
//! (docs/benchmarks.md). Here the trees of one file live in an arena
//! instead: while [`with_trees`] runs on a thread, tree-sitter's
//! allocations on that thread are carved from a region of its own by moving
//! a pointer, its frees of them do nothing, and when the file is done its
//! trees are forgotten, not walked, and the region is taken back whole.
//!
//! How it stays sound:
//! - [`install`] hands tree-sitter these allocation functions, first thing
//!   in `main`, before any tree-sitter object exists (tree-sitter's rule).
//!   Without it (a library user, the unit tests), everything here is a
//!   plain parse with the default allocator.
//! - Only what tree-sitter allocates while a method of [`Trees`] runs
//!   comes from the slot (see [`taking`]): the scope's own parser, its
//!   parses, a tree copied and edited. Anything else tree-sitter does on
//!   the thread meanwhile (ast-grep's cached parser, which lives across
//!   files; the cursors of a walk) uses the heap, so no object that
//!   outlives the scope holds a pointer into the region.
//! - A [`Parsed`] tree (and an [`Edited`] one) borrows the [`Trees`] of
//!   its scope, so none can outlive it: the compiler sees to that. A clone
//!   of one (ast-grep's `Root`, `StrDoc` and tree-sitter's `Tree` are
//!   `Clone`) would not be bound so: nothing here clones a tree but
//!   [`Trees::edited`], and nothing else may.
//! - Pointers outside the reserved region (made before the scope, or by
//!   another thread) go to the process's allocator, whatever the thread.
//! - A file whose trees outgrow its slot ([`SLOT`]) finishes on the
//!   ordinary heap, and its trees are then dropped the ordinary way (its
//!   frees of region memory still do nothing).
//! - `FLEETWRIGHT_TREE_ARENA=off` turns all of this off (see [`install`]).
//! - A region pointer freed or grown when its thread has no live scope
//!   holding it is a bug: the process aborts. That net is best effort: it
//!   catches a stale pointer only when tree-sitter frees or grows it, and
//!   not when a later scope has reused the same addresses.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ast_grep_core::AstGrep;
use ast_grep_core::tree_sitter::{LanguageExt, StrDoc};
use tree_sitter::{Parser, Tree};

use super::SupportLang;

/// Address space for one file's trees, unless `FLEETWRIGHT_TREE_ARENA`
/// says otherwise. Reserved, not committed: pages are made usable as the
/// bump pointer reaches them.
const SLOT: usize = 1 << 30;
/// The smallest slot `FLEETWRIGHT_TREE_ARENA` may ask for.
const MIN_SLOT: usize = 64 << 10;
/// Files in their scopes at once, process-wide; a scope beyond them runs
/// on the ordinary heap.
const SLOTS: usize = 64;
/// Pages are made usable this many bytes at a time.
const STEP: usize = 8 << 20;
/// What a slot keeps of its pages after its file, for the next one (the
/// rest goes back to the system): touching fresh pages again for every
/// file cost an eighth of a rewrite's time. [`trim`] gives back the rest
/// when the files are done.
const KEEP: usize = 64 << 20;
/// `malloc`'s alignment on 64-bit systems.
const ALIGN: usize = 16;
/// Each block's size sits in the word before it (for `realloc`).
const HEADER: usize = size_of::<usize>();

/// Start of the reserved region; 0 when there is none.
static BASE: AtomicUsize = AtomicUsize::new(0);
/// Its end.
static END: AtomicUsize = AtomicUsize::new(0);
/// Bytes of one slot of it.
static SLOT_SIZE: AtomicUsize = AtomicUsize::new(SLOT);
/// tree-sitter allocates through the functions below.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Slots no scope holds, with how far each is committed.
static FREE: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
/// Slots never used yet start here.
static FRESH: AtomicUsize = AtomicUsize::new(0);

/// The thread's bump allocator; `start == 0` when the thread is in no
/// scope.
#[derive(Clone, Copy)]
struct Bump {
    start: usize,
    top: usize,
    committed: usize,
    end: usize,
    overflowed: bool,
    /// A [`Trees`] method runs: tree-sitter's allocations come from the
    /// slot (see [`taking`]).
    taking: bool,
}

impl Bump {
    const NONE: Bump = Bump {
        start: 0,
        top: 0,
        committed: 0,
        end: 0,
        overflowed: false,
        taking: false,
    };

    /// Whether region allocations go on in this scope.
    fn live(&self) -> bool {
        self.start != 0 && !self.overflowed
    }

    /// `size` bytes, aligned, with their size in front; `None` (and the
    /// scope overflowed) when the slot is full or will not commit.
    fn take(&mut self, size: usize) -> Option<usize> {
        if !self.live() || !self.taking {
            return None;
        }
        let at = (self.top + HEADER).next_multiple_of(ALIGN);
        let Some(end) = at.checked_add(size).filter(|end| *end <= self.end) else {
            self.overflowed = true;
            return None;
        };
        if !self.commit(end) {
            return None;
        }
        // SAFETY: `at - HEADER .. end` is committed and in this thread's
        // slot, above every live block.
        unsafe { set_size_of_block(at, size) };
        self.top = end;
        Some(at)
    }

    /// Let the last block handed out, at `at` with `old` bytes, hold `size`
    /// bytes where it is; false when it is not the last one, the scope
    /// does not take from its slot now, or the slot has no room.
    fn resize_last(&mut self, at: usize, old: usize, size: usize) -> bool {
        if at + old != self.top || !self.live() || !self.taking {
            return false;
        }
        let Some(end) = at.checked_add(size).filter(|end| *end <= self.end) else {
            return false;
        };
        if !self.commit(end) {
            return false;
        }
        // SAFETY: as in `take`: the last block, grown within the slot.
        unsafe { set_size_of_block(at, size) };
        self.top = end;
        true
    }

    /// Make the slot usable up to `end`.
    fn commit(&mut self, end: usize) -> bool {
        if end <= self.committed {
            return true;
        }
        let to = end.next_multiple_of(STEP).min(self.end);
        // SAFETY: inside this thread's slot of the reserved mapping.
        let done = unsafe {
            libc::mprotect(
                self.committed as *mut c_void,
                to - self.committed,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        } == 0;
        if done {
            self.committed = to;
        } else {
            self.overflowed = true;
        }
        done
    }

    /// Whether `at` is a block this scope handed out.
    fn holds(&self, at: usize) -> bool {
        self.start != 0 && at > self.start && at <= self.top
    }
}

thread_local! {
    static CURRENT: Cell<Bump> = const { Cell::new(Bump::NONE) };
}

/// Reserve the region and hand tree-sitter the functions below. Without a
/// region (an address-space limit), tree-sitter keeps its own.
/// `FLEETWRIGHT_TREE_ARENA` set to a number of bytes sets the slot's size
/// (at least 64 KiB; the tests use a small one to make files outgrow it);
/// set to anything else (`off`, a typo) it leaves tree-sitter its own: the
/// variable is an escape hatch, and a mistyped one must not leave the
/// arena on.
///
/// # Safety
/// Call it before any tree-sitter object exists, while the process has one
/// thread (tree-sitter's own rule for `ts_set_allocator`), and once.
pub unsafe fn install() {
    let Some(slot) = slot_size(setting().as_deref()) else {
        return;
    };
    if !reserve(slot) {
        return;
    }
    // SAFETY: the caller's promise: no tree-sitter object exists yet.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: ts_malloc,
            calloc: ts_calloc,
            realloc: ts_realloc,
            free: ts_free,
        }));
    }
    INSTALLED.store(true, Ordering::Release);
}

/// The slot size `FLEETWRIGHT_TREE_ARENA` asks for (see [`install`]);
/// `None`: no arena.
fn slot_size(setting: Option<&str>) -> Option<usize> {
    match setting {
        None => Some(SLOT),
        Some(value) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= MIN_SLOT)
            .and_then(|n| n.checked_next_multiple_of(page_size())),
    }
}

/// The environment variable that turns the arena off or sizes its slots.
pub const SETTING: &str = "FLEETWRIGHT_TREE_ARENA";

/// Its value, if set.
pub fn setting() -> Option<String> {
    crate::secret::plain_env_var(SETTING)
}

fn page_size() -> usize {
    // SAFETY: a query.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// Reserve [`SLOTS`] slots of `slot` bytes of address space, once.
fn reserve(slot: usize) -> bool {
    if BASE.load(Ordering::Acquire) != 0 {
        return true;
    }
    let Some(size) = SLOTS.checked_mul(slot) else {
        return false;
    };
    // SAFETY: a fresh anonymous mapping, no access, no backing store.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return false;
    }
    SLOT_SIZE.store(slot, Ordering::Relaxed);
    END.store(base as usize + size, Ordering::Relaxed);
    BASE.store(base as usize, Ordering::Release);
    true
}

/// Whether `at` lies in the reserved region.
fn in_region(at: usize) -> bool {
    let base = BASE.load(Ordering::Relaxed);
    base != 0 && at >= base && at < END.load(Ordering::Relaxed)
}

/// A region pointer outside any live scope of its thread: memory that was
/// taken back. Stop before using it.
fn stray() -> ! {
    die(b"fleetwright: a tree-sitter object outlived its file's arena (a bug); aborting\n")
}

/// Out of memory: tree-sitter never checks for a null pointer, and its own
/// allocator aborts too.
fn out_of_memory() -> ! {
    die(b"fleetwright: tree-sitter could not allocate memory; aborting\n")
}

fn die(message: &[u8]) -> ! {
    // SAFETY: writing a static buffer to stderr.
    unsafe { libc::write(2, message.as_ptr().cast(), message.len()) };
    std::process::abort()
}

/// `at`, unless the process's allocator gave none.
fn non_null(at: *mut c_void, size: usize) -> *mut c_void {
    if at.is_null() && size != 0 {
        out_of_memory();
    }
    at
}

fn bump(size: usize) -> Option<usize> {
    CURRENT.with(|current| {
        let mut bump = current.get();
        let at = bump.take(size);
        current.set(bump);
        at
    })
}

/// The size recorded in front of a block of the region.
///
/// # Safety
/// `at` is a live block of the current thread's scope.
unsafe fn size_of_block(at: usize) -> usize {
    unsafe { *((at - HEADER) as *const usize) }
}

/// Record `size` in front of the block at `at`.
///
/// # Safety
/// `at - HEADER .. at` is committed memory of the current thread's slot.
unsafe fn set_size_of_block(at: usize, size: usize) {
    unsafe { *((at - HEADER) as *mut usize) = size };
}

unsafe extern "C" fn ts_malloc(size: usize) -> *mut c_void {
    match bump(size) {
        Some(at) => at as *mut c_void,
        // SAFETY: the process's allocator.
        None => non_null(unsafe { libc::malloc(size) }, size),
    }
}

unsafe extern "C" fn ts_calloc(count: usize, size: usize) -> *mut c_void {
    let Some(total) = count.checked_mul(size) else {
        out_of_memory();
    };
    match bump(total) {
        Some(at) => {
            // SAFETY: `total` fresh bytes at `at` (a slot's pages are
            // reused, so not necessarily zero).
            unsafe { std::ptr::write_bytes(at as *mut u8, 0, total) };
            at as *mut c_void
        }
        // SAFETY: the process's allocator.
        None => non_null(unsafe { libc::calloc(count, size) }, total),
    }
}

unsafe extern "C" fn ts_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    let at = ptr as usize;
    if ptr.is_null() {
        // SAFETY: as `malloc`.
        return unsafe { ts_malloc(size) };
    }
    if !in_region(at) {
        // SAFETY: a block of the process's allocator.
        return non_null(unsafe { libc::realloc(ptr, size) }, size);
    }
    let mut bump = CURRENT.get();
    if !bump.holds(at) {
        stray();
    }
    // SAFETY: a live block of this scope.
    let old = unsafe { size_of_block(at) };
    // The last block grows or shrinks where it is.
    let resized = bump.resize_last(at, old, size);
    CURRENT.set(bump);
    if resized {
        return ptr;
    }
    if size <= old {
        // SAFETY: a live block; its tail is left unused.
        unsafe { set_size_of_block(at, size) };
        return ptr;
    }
    // SAFETY: as `malloc`, which never gives null for `size > 0`.
    let moved = unsafe { ts_malloc(size) };
    // SAFETY: `old` bytes at `ptr` are live; `moved` has `size > old`.
    unsafe { std::ptr::copy_nonoverlapping(ptr.cast::<u8>(), moved.cast::<u8>(), old) };
    moved
}

unsafe extern "C" fn ts_free(ptr: *mut c_void) {
    let at = ptr as usize;
    if !in_region(at) {
        // SAFETY: a block of the process's allocator (or null).
        unsafe { libc::free(ptr) };
    } else if !CURRENT.get().holds(at) {
        stray();
    }
    // A block of the region: taken back with its scope.
}

/// Whether a tree dropped now may be forgotten instead: the thread is in a
/// scope whose every allocation came from its slot.
fn forgets() -> bool {
    CURRENT.get().live()
}

/// Give the slot back: the bump pointer to its start, and the memory past
/// [`KEEP`] to the system. It belongs to the thread that took it.
struct Slot(std::marker::PhantomData<*const ()>);

impl Drop for Slot {
    fn drop(&mut self) {
        let bump = CURRENT.replace(Bump::NONE);
        if bump.overflowed {
            tracing::debug!(
                slot = bump.end - bump.start,
                "a file's trees outgrew their arena and went on on the heap"
            );
        }
        // SAFETY: this slot, no block of which is live any more.
        let committed = unsafe { release(bump.start, bump.committed, KEEP) };
        FREE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((bump.start, committed));
    }
}

/// Give back the pages of a slot from `start` committed up to `committed`
/// past its first `keep` bytes: dropped and made inaccessible again (neither
/// call ever unmaps, so the region stays whole whatever they answer).
/// Returns how far the slot is committed now.
///
/// # Safety
/// No block of the slot past `keep` is live.
unsafe fn release(start: usize, committed: usize, keep: usize) -> usize {
    let keep = start + keep;
    if committed <= keep {
        return committed;
    }
    let len = committed - keep;
    // SAFETY: the caller's promise; inside the reserved region.
    let released = unsafe {
        libc::madvise(keep as *mut c_void, len, libc::MADV_DONTNEED) == 0
            && libc::mprotect(keep as *mut c_void, len, libc::PROT_NONE) == 0
    };
    if released { keep } else { committed }
}

/// Give back every page of the slots no file holds, so that a process that
/// parsed big files on many threads does not keep their memory once the
/// files are done (a rewrite step calls it when its files are done).
pub(super) fn trim() {
    let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
    for (start, committed) in free.iter_mut() {
        // SAFETY: a slot in the free list is held by no scope.
        *committed = unsafe { release(*start, *committed, 0) };
    }
}

/// A slot for the current thread, when tree-sitter allocates here and a
/// slot is free.
fn acquire() -> Option<Slot> {
    if !INSTALLED.load(Ordering::Acquire) {
        return None;
    }
    enter()
}

/// A slot for the current thread, when there is a region, a slot free, and
/// the thread is in no scope yet.
fn enter() -> Option<Slot> {
    let base = BASE.load(Ordering::Acquire);
    if base == 0 || CURRENT.get().start != 0 {
        return None;
    }
    let slot = SLOT_SIZE.load(Ordering::Relaxed);
    let reused = FREE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let (start, committed) = match reused {
        Some(slot) => slot,
        None => {
            let n = FRESH.fetch_add(1, Ordering::Relaxed);
            if n >= SLOTS {
                return None;
            }
            // No block starts at a slot's start (each sits past its
            // header), so `holds` is strict there.
            (base + n * slot, base + n * slot)
        }
    };
    CURRENT.set(Bump {
        start,
        top: start,
        committed: committed.max(start),
        end: start + slot,
        overflowed: false,
        taking: false,
    });
    Some(Slot(std::marker::PhantomData))
}

/// Run `f` with tree-sitter's allocations on this thread coming from the
/// scope's slot (if there is one). Only the methods of [`Trees`] do: what
/// else tree-sitter does on the thread meanwhile (ast-grep's own cached
/// parser, the cursors of a walk) uses the heap, so nothing that lives on
/// after the scope can hold memory of the slot.
fn taking<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let mut bump = CURRENT.get();
            bump.taking = self.0;
            CURRENT.set(bump);
        }
    }
    let mut bump = CURRENT.get();
    let _restore = Restore(bump.taking);
    bump.taking = bump.start != 0;
    CURRENT.set(bump);
    f()
}

/// Run `f` with a [`Trees`] to parse in: in an arena of its own when
/// [`install`]ed (see the module's comment), else on the heap.
pub(super) fn with_trees<R>(f: impl for<'t> FnOnce(&'t Trees) -> R) -> R {
    // Dropped last: after `trees` and whatever `f` made.
    let _slot = acquire();
    let trees = Trees {
        parser: RefCell::new(None),
    };
    f(&trees)
}

/// The parser of one scope, and the parent of its trees.
pub(super) struct Trees {
    /// Made at the first parse; the language it is set to.
    parser: RefCell<Option<(Option<SupportLang>, ManuallyDrop<Parser>)>>,
}

impl Trees {
    /// `source` parsed, reusing `old` (edited to match it) when given.
    pub(super) fn parse<'t>(
        &'t self,
        language: SupportLang,
        source: String,
        old: Option<&Edited<'t>>,
    ) -> Parsed<'t> {
        let old = old.map(|edited| &*edited.tree);
        let mut slot = self.parser.borrow_mut();
        let tree = taking(|| {
            let (lang, parser) =
                slot.get_or_insert_with(|| (None, ManuallyDrop::new(Parser::new())));
            if *lang != Some(language) {
                parser
                    .set_language(&language.get_ts_language())
                    .expect("ast-grep's grammars match its tree-sitter");
                *lang = Some(language);
            }
            parser
                .parse(source.as_bytes(), old)
                .expect("no timeout, no cancellation: tree-sitter always makes a tree")
        });
        Parsed {
            grep: ManuallyDrop::new(AstGrep::doc(StrDoc {
                src: source,
                lang: language,
                tree,
            })),
            _scope: std::marker::PhantomData,
        }
    }

    /// A copy of `parsed`'s tree with `edits` applied, last first
    /// (tree-sitter's `ts_tree_edit`), for a parse that reuses it.
    pub(super) fn edited<'t>(
        &'t self,
        parsed: &Parsed<'t>,
        edits: &[tree_sitter::InputEdit],
    ) -> Edited<'t> {
        let tree = taking(|| {
            let mut tree = parsed.root().get_doc().tree.clone();
            for edit in edits.iter().rev() {
                tree.edit(edit);
            }
            tree
        });
        Edited {
            tree: ManuallyDrop::new(tree),
            _scope: std::marker::PhantomData,
        }
    }
}

impl Drop for Trees {
    fn drop(&mut self) {
        if let Some((_, parser)) = self.parser.get_mut().take() {
            discard(ManuallyDrop::into_inner(parser));
        }
    }
}

/// An edited copy of a tree of a scope, to re-parse from; like
/// [`Parsed`], it cannot outlive the scope.
pub(super) struct Edited<'t> {
    tree: ManuallyDrop<Tree>,
    _scope: std::marker::PhantomData<&'t Trees>,
}

impl Drop for Edited<'_> {
    fn drop(&mut self) {
        // SAFETY: `tree` is never used again.
        discard(unsafe { ManuallyDrop::take(&mut self.tree) });
    }
}

/// Drop `value` (a tree or a parser the scope made), or forget it when its
/// memory goes back with the scope's.
fn discard<T>(value: T) {
    if forgets() {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

/// A parsed file of a scope: ast-grep's view of it, which cannot outlive
/// the scope's [`Trees`].
pub(super) struct Parsed<'t> {
    grep: ManuallyDrop<AstGrep<StrDoc<SupportLang>>>,
    _scope: std::marker::PhantomData<&'t Trees>,
}

impl Deref for Parsed<'_> {
    type Target = AstGrep<StrDoc<SupportLang>>;
    fn deref(&self) -> &Self::Target {
        &self.grep
    }
}

impl Drop for Parsed<'_> {
    fn drop(&mut self) {
        if forgets() {
            // The source is the process's memory: dropped. The tree is the
            // scope's: forgotten, taken back with the slot.
            // SAFETY: `grep` is never used again, nor dropped.
            drop(unsafe { std::ptr::read(&self.grep.root().get_doc().src) });
        } else {
            // SAFETY: `grep` is never used again.
            unsafe { ManuallyDrop::drop(&mut self.grep) };
        }
    }
}

#[cfg(test)]
mod tests {
    //! The allocation functions, called as tree-sitter calls them, in a
    //! scope entered without handing them to tree-sitter (that is for
    //! `main` alone; tests/tests/recipe_cli.rs runs the binary with them).

    use super::*;

    /// A region of small slots, so that a test can fill one.
    const TEST_SLOT: usize = 4 << 20;

    /// One test at a time: they check which slot comes back.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A scope whose allocations come from its slot, as in `taking`.
    fn scope() -> Slot {
        assert!(reserve(TEST_SLOT), "no address space for the test region");
        assert_eq!(SLOT_SIZE.load(Ordering::Relaxed), TEST_SLOT);
        let slot = enter().expect("a free slot");
        set_taking(true);
        slot
    }

    fn set_taking(on: bool) {
        let mut bump = CURRENT.get();
        bump.taking = on;
        CURRENT.set(bump);
    }

    fn fill(at: *mut c_void, len: usize, byte: u8) {
        unsafe { std::ptr::write_bytes(at.cast::<u8>(), byte, len) };
    }

    fn bytes<'a>(at: *mut c_void, len: usize) -> &'a [u8] {
        unsafe { std::slice::from_raw_parts(at.cast::<u8>(), len) }
    }

    #[test]
    fn blocks_come_from_the_slot_aligned_and_keep_their_bytes_when_they_grow() {
        let _serial = serial();
        let _slot = scope();
        unsafe {
            let a = ts_malloc(24);
            assert!(in_region(a as usize));
            assert_eq!(a as usize % ALIGN, 0);
            fill(a, 24, 7);
            // The last block grows where it is.
            let grown = ts_realloc(a, 4000);
            assert_eq!(grown, a);
            assert_eq!(bytes(grown, 24), &[7; 24]);
            fill(grown, 4000, 8);
            // Not the last any more: it moves, with its bytes.
            let b = ts_malloc(1);
            assert_eq!(b as usize % ALIGN, 0);
            assert!(b as usize >= grown as usize + 4000);
            let moved = ts_realloc(grown, 10_000);
            assert_ne!(moved, grown);
            assert!(in_region(moved as usize));
            assert_eq!(bytes(moved, 4000), &[8; 4000][..]);
            // Shrinking keeps the block and its first bytes.
            let shrunk = ts_realloc(moved, 10);
            assert_eq!(bytes(shrunk, 10), &[8; 10]);
            ts_free(shrunk);
            ts_free(b);
            ts_free(std::ptr::null_mut());
            assert!(forgets());
        }
    }

    #[test]
    fn calloc_zeroes_the_memory_a_slot_gets_back_dirty() {
        let _serial = serial();
        let first = {
            let _slot = scope();
            unsafe {
                let at = ts_malloc(256);
                fill(at, 256, 0xAB);
                at as usize
            }
        };
        // The slot comes back to this thread (the last one given back is
        // the first taken) with its pages and their bytes.
        let _slot = scope();
        unsafe {
            let at = ts_calloc(32, 8);
            assert_eq!(at as usize, first);
            assert_eq!(bytes(at, 256), &[0; 256][..]);
        }
    }

    #[test]
    fn a_heap_block_stays_the_heaps_in_a_scope() {
        let _serial = serial();
        let heap = unsafe { libc::malloc(16) };
        assert!(!in_region(heap as usize));
        let _slot = scope();
        unsafe {
            fill(heap, 16, 3);
            let grown = ts_realloc(heap, 64 << 10);
            assert!(!in_region(grown as usize));
            assert_eq!(bytes(grown, 16), &[3; 16]);
            ts_free(grown);
        }
    }

    #[test]
    fn a_scope_that_outgrows_its_slot_goes_on_on_the_heap_and_stops_forgetting() {
        let _serial = serial();
        let _slot = scope();
        unsafe {
            let small = ts_malloc(64);
            assert!(in_region(small as usize));
            fill(small, 64, 5);
            let big = ts_malloc(TEST_SLOT);
            assert!(!big.is_null());
            assert!(!in_region(big as usize), "a block bigger than the slot");
            assert!(!forgets(), "trees are dropped the ordinary way now");
            // Everything after goes to the heap, even what would fit.
            let after = ts_malloc(8);
            assert!(!in_region(after as usize));
            // A region block that must grow moves to the heap.
            let moved = ts_realloc(small, 128);
            assert!(!in_region(moved as usize));
            assert_eq!(bytes(moved, 64), &[5; 64][..]);
            for at in [big, after, moved, small] {
                ts_free(at);
            }
        }
    }

    /// Outside `taking` (ast-grep's cached parser, a walk's cursor), a
    /// scope's thread allocates on the heap; its region blocks can still be
    /// freed (a no-op), and `taking` turns the slot on and back off.
    #[test]
    fn only_what_runs_taking_allocates_from_the_slot() {
        let _serial = serial();
        let _slot = scope();
        unsafe {
            let region = ts_malloc(32);
            assert!(in_region(region as usize));
            set_taking(false);
            let heap = ts_malloc(32);
            assert!(!in_region(heap as usize));
            // A region block grown outside `taking` moves to the heap.
            fill(region, 32, 9);
            let moved = ts_realloc(region, 4096);
            assert!(!in_region(moved as usize));
            assert_eq!(bytes(moved, 32), &[9; 32]);
            let inside = taking(|| ts_malloc(16));
            assert!(in_region(inside as usize));
            assert!(!CURRENT.get().taking, "taking restores what it found");
            assert!(forgets());
            for at in [heap, moved, inside] {
                ts_free(at);
            }
        }
    }

    /// `trim` gives back every page of the free slots; a slot trimmed
    /// commits its pages again when next used.
    #[test]
    fn trim_gives_the_pages_of_free_slots_back() {
        let _serial = serial();
        let start = {
            let _slot = scope();
            unsafe { fill(ts_malloc(1 << 20), 1 << 20, 1) };
            CURRENT.get().start
        };
        let committed = |start: usize| {
            FREE.lock()
                .unwrap()
                .iter()
                .find(|(s, _)| *s == start)
                .map(|(_, c)| *c)
                .expect("the slot is free")
        };
        assert!(committed(start) >= start + (1 << 20));
        trim();
        assert_eq!(committed(start), start);
        let _slot = scope();
        assert_eq!(CURRENT.get().start, start);
        unsafe {
            let at = ts_calloc(1 << 20, 1);
            assert!(in_region(at as usize));
            assert_eq!(bytes(at, 1 << 20), &vec![0; 1 << 20][..]);
        }
    }

    /// The escape hatch: `off`, and anything that is not a size, leaves
    /// tree-sitter its own allocator; a size is rounded up to whole pages.
    #[test]
    fn the_setting_is_a_size_or_no_arena() {
        assert_eq!(slot_size(None), Some(SLOT));
        for value in [
            "off",
            "OFF",
            "of",
            "",
            "64k",
            "-1",
            "65535",
            "18446744073709551615",
        ] {
            assert_eq!(slot_size(Some(value)), None, "{value:?}");
        }
        assert_eq!(slot_size(Some("65536")), Some(65536));
        assert_eq!(slot_size(Some(" 65537 ")), Some(65536 + page_size()));
    }

    #[test]
    fn slots_are_given_back_and_a_scope_does_not_nest() {
        let _serial = serial();
        let outer = scope();
        assert!(enter().is_none(), "a thread has one scope at a time");
        let start = CURRENT.get().start;
        drop(outer);
        assert_eq!(CURRENT.get().start, 0);
        assert!(!forgets());
        let again = scope();
        assert_eq!(CURRENT.get().start, start, "the slot given back is reused");
        drop(again);
    }
}
