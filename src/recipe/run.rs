//! Applying a recipe to a tree: its preconditions, then every step in order
//! over an in-memory copy of the changed files, the whole list repeated
//! until a pass changes nothing.
//!
//! Nothing here writes to the tree: the result is a [`Changes`], written
//! (or shown) by the caller. A later pass only shows a step the files that
//! changed since that step last ran, so the pass that confirms the fixed
//! point costs what the changes cost, not what the tree costs.
//!
//! A `run:` step is the one that leaves memory: the tree as the steps so far
//! left it (the files the walk sees, so not what `.gitignore` leaves out,
//! with the changes made so far) is copied into a scratch folder, the
//! command runs there in the sandbox, and the scratch folder is compared
//! with that view through the same walk: what the command added, changed
//! or deleted comes back into the tree as the step's change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::changes::{Changes, FileChange, FileStatus, RejectedFile, is_plain};
use super::steps::{Condition, RunCommand};
use super::walk::{self, SkipReason};
use super::{ApplyError, ApplyOptions, MAX_PASSES, Recipe, Skipped};
use crate::sandbox::{self, Job, Policy};

/// Compute what `recipe` changes under `root`.
pub(super) fn apply(
    recipe: &Recipe,
    root: &Path,
    options: &ApplyOptions,
) -> Result<Changes, ApplyError> {
    let mut tree = Tree::walk(root, options)?;
    if let Some(reason) = unmet(&recipe.applies_when, &mut tree, options)? {
        return Ok(Changes {
            not_applicable: Some(reason),
            skipped: tree.skipped,
            ..Changes::default()
        });
    }
    // The steps whose included recipe's preconditions hold, decided once on
    // the tree as it was.
    let mut steps = Vec::new();
    for step in &recipe.steps {
        let mut open = true;
        for gate in &step.gates {
            open &= unmet(&gate.conditions, &mut tree, options)?.is_none();
        }
        if open {
            steps.push(step);
        }
    }
    let mut last_run: Vec<Option<u64>> = vec![None; steps.len()];
    for _ in 0..MAX_PASSES {
        tree.changed_in_pass.clear();
        for (step, last) in steps.iter().zip(&mut last_run) {
            tree.generation += 1;
            let since = last.replace(tree.generation);
            step.run(&mut tree, since)?;
        }
        if tree.changed_in_pass.is_empty() {
            return Ok(tree.into_changes());
        }
    }
    let (path, _) = tree.changed_in_pass[0].clone();
    let mut labels: Vec<String> = tree.changed_in_pass.into_iter().map(|(_, l)| l).collect();
    labels.dedup();
    Err(ApplyError::NoFixedPoint {
        path,
        rules: labels,
    })
}

/// The first of `conditions` that does not hold, said in words.
fn unmet(
    conditions: &[Condition],
    tree: &mut Tree,
    options: &ApplyOptions,
) -> Result<Option<String>, ApplyError> {
    for condition in conditions {
        if let Some(reason) = condition.unmet(tree, options.facts.as_ref())? {
            return Ok(Some(reason));
        }
    }
    Ok(None)
}

/// The files of a tree as the recipe has left them so far.
pub(super) struct Tree<'a> {
    root: &'a Path,
    max_file_size: u64,
    /// Where `run:` steps run their commands.
    sandbox: &'a Policy,
    files: BTreeMap<PathBuf, Slot>,
    /// The symlinks of the tree (never followed, never written).
    symlinks: Vec<PathBuf>,
    pub(super) skipped: Skipped,
    /// Bumped before every step runs; a file remembers when it last changed.
    generation: u64,
    /// `(file, what changed it)` in the current pass.
    changed_in_pass: Vec<(PathBuf, String)>,
    rejected: Vec<RejectedFile>,
}

#[derive(Default)]
struct Slot {
    on_disk: bool,
    /// Its size on disk when walked: what it costs to rewrite, roughly.
    size: u64,
    /// The file as on disk, once read: its text, or why it is left alone.
    original: Option<Result<String, SkipReason>>,
    /// The text now, once a step changed or created it.
    current: Option<String>,
    deleted: bool,
    changed_at: u64,
    /// Edits made, per rule or edit label, in the order first made.
    matches: Vec<(String, usize)>,
}

impl Slot {
    fn text(&self) -> Option<&str> {
        if self.deleted {
            return None;
        }
        match (&self.current, &self.original) {
            (Some(current), _) => Some(current),
            (None, Some(Ok(original))) => Some(original),
            _ => None,
        }
    }
}

/// A file handed to a step: its path and text.
pub(super) struct FileText<'t> {
    pub rel: &'t Path,
    pub text: &'t str,
}

/// What a step made of one file.
pub(super) enum FileResult {
    Unchanged,
    Changed {
        text: String,
        /// `(label, count)` of the rules or edits that changed it.
        matches: Vec<(String, usize)>,
    },
    Rejected(RejectedFile),
}

impl<'a> Tree<'a> {
    fn walk(root: &'a Path, options: &'a ApplyOptions) -> Result<Tree<'a>, ApplyError> {
        let walked = walk::walk(root)?;
        let skipped = Skipped {
            symlinks: walked.symlinks.len(),
            ..Skipped::default()
        };
        let files = walked
            .files
            .into_iter()
            .map(|entry| {
                let slot = Slot {
                    on_disk: true,
                    size: entry.size,
                    ..Slot::default()
                };
                (entry.rel, slot)
            })
            .collect();
        Ok(Tree {
            root,
            max_file_size: options.max_file_size,
            sandbox: &options.sandbox,
            files,
            symlinks: walked.symlinks,
            skipped,
            generation: 0,
            changed_in_pass: Vec::new(),
            rejected: Vec::new(),
        })
    }

    /// Every file present now, sorted.
    pub(super) fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files
            .iter()
            .filter(|(_, slot)| !slot.deleted)
            .map(|(rel, _)| rel.as_path())
    }

    /// The files present now that changed at or after generation `since`
    /// (all of them when `since` is `None`) and that `wanted` selects.
    pub(super) fn candidates(
        &self,
        since: Option<u64>,
        wanted: impl Fn(&Path) -> bool,
    ) -> Vec<PathBuf> {
        self.files
            .iter()
            .filter(|(rel, slot)| {
                !slot.deleted && since.is_none_or(|g| slot.changed_at >= g) && wanted(rel)
            })
            .map(|(rel, _)| rel.clone())
            .collect()
    }

    /// Whether `rel` exists: in the tree, or on disk (a symlink or an
    /// ignored file is not in the tree but is there all the same).
    pub(super) fn exists(&self, rel: &Path) -> bool {
        match self.files.get(rel) {
            Some(slot) => !slot.deleted,
            None => std::fs::symlink_metadata(self.root.join(rel)).is_ok(),
        }
    }

    /// Why a file cannot be created at `rel` (a symlink or a file on its
    /// way, a `.git` part), or `None`. Folders added in this run count.
    pub(super) fn new_path_problem(&self, rel: &Path) -> Option<&'static str> {
        let mut prefix = PathBuf::new();
        let parents: Vec<_> = rel
            .parent()
            .map(|p| p.components().collect())
            .unwrap_or_default();
        for part in parents {
            prefix.push(part);
            if self.contains(&prefix) {
                return Some("a file is in the way of its folder");
            }
        }
        let deleted_here = self.files.get(rel).is_some_and(|slot| slot.deleted);
        match super::changes::new_path_problem(self.root, rel) {
            // Deleted earlier in this run: written back as a modification.
            Some("something is already there") if deleted_here => None,
            problem => problem,
        }
    }

    /// Whether any file changed (or was deleted) after generation `g`.
    pub(super) fn changed_after(&self, g: u64) -> bool {
        self.files.values().any(|slot| slot.changed_at > g)
    }

    /// Run a `run:` step: the tree as it is now, copied into a scratch
    /// folder, the command run there in the sandbox, and every file it
    /// added, changed or deleted taken back as this step's change. A
    /// command that fails (an exit status other than 0, a timeout) fails the
    /// recipe.
    pub(super) fn run_command(&mut self, step: &str, run: &RunCommand) -> Result<(), ApplyError> {
        let label = format!("{step}: {}", run.short());
        let scratch = tempfile::Builder::new()
            .prefix("fleetwright-run-")
            .tempdir()
            .map_err(|source| ApplyError::Write {
                path: std::env::temp_dir(),
                source,
            })?;
        let work = scratch.path().join("tree");
        let links = self.materialize(&work)?;
        let log = scratch.path().join("output.log");
        let job = Job {
            command: &run.command,
            dir: &work,
            network: run.network,
            timeout: run.timeout,
            log: &log,
        };
        let outcome = sandbox::run(self.sandbox, &job).map_err(|source| ApplyError::Sandbox {
            step: label.clone(),
            source,
        })?;
        let taken = if outcome.success() {
            self.take_back(&work, &links, &label)
        } else {
            Err(ApplyError::Command {
                step: crate::secret::scrub(&label),
                status: outcome.ended.to_string(),
                tail: outcome.tail,
            })
        };
        make_removable(&work);
        taken
    }

    /// Write the files present now into `work`, and recreate the tree's
    /// symlinks there; the symlinks and their targets.
    fn materialize(&self, work: &Path) -> Result<BTreeMap<PathBuf, PathBuf>, ApplyError> {
        let failed = |rel: &Path| {
            let path = rel.to_path_buf();
            move |source| ApplyError::Write { path, source }
        };
        std::fs::create_dir(work).map_err(failed(work))?;
        for (rel, slot) in self.files.iter().filter(|(_, slot)| !slot.deleted) {
            let target = work.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(failed(rel))?;
            }
            let source = self.root.join(rel);
            match &slot.current {
                Some(text) => {
                    std::fs::write(&target, text).map_err(failed(rel))?;
                    if let Some(meta) = std::fs::metadata(&source).ok().filter(|_| slot.on_disk) {
                        std::fs::set_permissions(&target, meta.permissions())
                            .map_err(failed(rel))?;
                    }
                }
                None => {
                    std::fs::copy(&source, &target).map_err(failed(rel))?;
                }
            }
        }
        let mut links = BTreeMap::new();
        for rel in &self.symlinks {
            let Ok(to) = std::fs::read_link(self.root.join(rel)) else {
                continue;
            };
            let at = work.join(rel);
            if std::fs::symlink_metadata(&at).is_ok() {
                continue;
            }
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent).map_err(failed(rel))?;
            }
            std::os::unix::fs::symlink(&to, &at).map_err(failed(rel))?;
            links.insert(rel.clone(), to);
        }
        Ok(links)
    }

    /// Compare `work`, where a command ran, with the tree, and take what it
    /// changed: files deleted, changed and added (text files only; symlinks
    /// are refused, as every step refuses them).
    fn take_back(
        &mut self,
        work: &Path,
        links: &BTreeMap<PathBuf, PathBuf>,
        label: &str,
    ) -> Result<(), ApplyError> {
        let refuse = |rel: &Path, message: String| RejectedFile {
            path: rel.to_path_buf(),
            rule_ids: vec![label.to_string()],
            line: 1,
            message,
        };
        let walked = walk::walk(work)?;
        for rel in &walked.symlinks {
            let now = std::fs::read_link(work.join(rel)).ok();
            if links.get(rel) != now.as_ref() {
                self.reject(refuse(
                    rel,
                    "the command made a symlink here; a recipe never writes symlinks".into(),
                ));
            }
        }
        for rel in links.keys() {
            let still =
                std::fs::symlink_metadata(work.join(rel)).is_ok_and(|m| m.file_type().is_symlink());
            if !still {
                self.reject(refuse(
                    rel,
                    "the command removed or replaced this symlink; a recipe never changes symlinks"
                        .into(),
                ));
            }
        }
        let view: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(_, slot)| !slot.deleted)
            .map(|(rel, _)| rel.clone())
            .collect();
        let mut present = Vec::new();
        for rel in view {
            match std::fs::symlink_metadata(work.join(&rel)) {
                Ok(meta) if meta.is_file() => present.push(rel),
                Ok(meta) if meta.file_type().is_symlink() => self.reject(refuse(
                    &rel,
                    "the command replaced this file by a symlink; a recipe never writes symlinks"
                        .into(),
                )),
                _ => self.delete(&rel, label)?,
            }
        }
        let known: BTreeSet<&PathBuf> = present.iter().collect();
        let added: Vec<PathBuf> = walked
            .files
            .iter()
            .map(|e| e.rel.clone())
            .filter(|rel| !known.contains(rel))
            .collect();
        for rel in present {
            let current = self.files.get(&rel).and_then(|s| s.current.as_deref());
            let changed = match current {
                Some(text) => differs(&work.join(&rel), &mut text.as_bytes()),
                None => std::fs::File::open(self.root.join(&rel))
                    .and_then(|mut original| differs(&work.join(&rel), &mut original)),
            }
            .map_err(|source| ApplyError::Read {
                path: rel.clone(),
                source,
            })?;
            if !changed {
                continue;
            }
            // Read the original, for the diff and the write-back check.
            if self.text(&rel)?.is_none() {
                self.reject(refuse(
                    &rel,
                    "the command changed a file recipes leave alone (binary, not UTF-8 or too large)"
                        .into(),
                ));
                continue;
            }
            match walk::text_of(
                read_back(work, &rel, self.max_file_size)?,
                self.max_file_size,
            ) {
                Ok(text) => self.set_text(&rel, text, vec![(label.to_string(), 1)]),
                Err(reason) => self.reject(refuse(
                    &rel,
                    format!(
                        "the command left this file {}; a recipe writes only text files",
                        reason.words()
                    ),
                )),
            }
        }
        for rel in added {
            if !is_plain(&rel) {
                self.reject(refuse(
                    &rel,
                    "not a plain path inside the repository, outside .git".into(),
                ));
                continue;
            }
            if let Some(problem) = self.new_path_problem(&rel) {
                self.reject(refuse(&rel, format!("cannot create it: {problem}")));
                continue;
            }
            match walk::text_of(
                read_back(work, &rel, self.max_file_size)?,
                self.max_file_size,
            ) {
                Ok(text) => self.create(&rel, text, label),
                Err(reason) => self.reject(refuse(
                    &rel,
                    format!(
                        "the command made a file that is {}; a recipe writes only text files",
                        reason.words()
                    ),
                )),
            }
        }
        Ok(())
    }

    /// Whether `rel` is a file of the tree (not deleted, not ignored).
    pub(super) fn contains(&self, rel: &Path) -> bool {
        self.files.get(rel).is_some_and(|slot| !slot.deleted)
    }

    /// Run `work` on the text of every file of `rels`, on all cores, and
    /// record what it made of each. Files not read yet are read on the way;
    /// those too large, binary or not UTF-8 are counted and skipped.
    pub(super) fn rewrite(
        &mut self,
        rels: Vec<PathBuf>,
        work: impl Fn(FileText) -> Result<FileResult, ApplyError> + Sync,
    ) -> Result<(), ApplyError> {
        let max = self.max_file_size;
        let root = self.root;
        let jobs: Vec<(PathBuf, Option<&Slot>)> = rels
            .into_iter()
            .map(|rel| {
                let slot = self.files.get(&rel);
                (rel, slot)
            })
            .collect();
        // The biggest first: a big file started last would keep one core
        // busy alone at the end.
        let cost = |(_, slot): &(PathBuf, Option<&Slot>)| {
            slot.map_or(0, |s| s.text().map_or(s.size, |t| t.len() as u64))
        };
        let results = par_map_in_order(jobs, cost, |(rel, slot)| {
            let loaded = match slot {
                Some(slot) if slot.current.is_some() || slot.original.is_some() => None,
                _ => Some(super::profile::time(super::profile::Step::Read, || {
                    walk::read_text(&rel, &root.join(&rel), max)
                })?),
            };
            let text = match (&loaded, slot) {
                (Some(Ok(text)), _) => Some(text.as_str()),
                (Some(Err(_)), _) => None,
                (None, Some(slot)) => slot.text(),
                (None, None) => None,
            };
            let result = match text {
                Some(text) => {
                    let _working = super::watch::Working::on(&rel);
                    work(FileText { rel: &rel, text })?
                }
                None => FileResult::Unchanged,
            };
            Ok((rel, loaded, result))
        });
        // The files' arenas give their pages back (see `arena`).
        super::arena::trim();
        for outcome in results {
            let (rel, loaded, result) = outcome?;
            if let Some(loaded) = loaded {
                if let Err(reason) = &loaded {
                    self.skipped.count(*reason);
                }
                self.files.entry(rel.clone()).or_default().original = Some(loaded);
            }
            match result {
                FileResult::Unchanged => {}
                FileResult::Changed { text, matches } => self.set_text(&rel, text, matches),
                FileResult::Rejected(rejected) => self.reject(rejected),
            }
        }
        Ok(())
    }

    /// The text of `rel` now (read from disk if needed), or `None` when it
    /// is absent or left alone.
    pub(super) fn text(&mut self, rel: &Path) -> Result<Option<&str>, ApplyError> {
        let needs_read = self
            .files
            .get(rel)
            .is_some_and(|s| !s.deleted && s.current.is_none() && s.original.is_none());
        if needs_read {
            let loaded = walk::read_text(rel, &self.root.join(rel), self.max_file_size)?;
            if let Err(reason) = &loaded {
                self.skipped.count(*reason);
            }
            if let Some(slot) = self.files.get_mut(rel) {
                slot.original = Some(loaded);
            }
        }
        Ok(self.files.get(rel).and_then(Slot::text))
    }

    fn set_text(&mut self, rel: &Path, text: String, matches: Vec<(String, usize)>) {
        let generation = self.generation;
        // A later change of a rejected file supersedes the rejection.
        self.rejected.retain(|r| r.path != rel);
        let slot = self.files.entry(rel.to_path_buf()).or_default();
        slot.current = Some(text);
        slot.deleted = false;
        slot.changed_at = generation;
        for (label, n) in matches {
            self.changed_in_pass
                .push((rel.to_path_buf(), label.clone()));
            match slot.matches.iter_mut().find(|(l, _)| *l == label) {
                Some((_, total)) => *total += n,
                None => slot.matches.push((label, n)),
            }
        }
    }

    /// Create `rel` (absent now) with `text`.
    pub(super) fn create(&mut self, rel: &Path, text: String, label: &str) {
        self.set_text(rel, text, vec![(label.to_string(), 1)]);
    }

    /// Delete `rel` (present now).
    pub(super) fn delete(&mut self, rel: &Path, label: &str) -> Result<(), ApplyError> {
        // The original is kept for the diff of the deletion.
        self.text(rel)?;
        let generation = self.generation;
        if let Some(slot) = self.files.get_mut(rel) {
            slot.deleted = true;
            slot.current = None;
            slot.changed_at = generation;
            slot.matches.push((label.to_string(), 1));
        }
        self.changed_in_pass
            .push((rel.to_path_buf(), label.to_string()));
        Ok(())
    }

    pub(super) fn reject(&mut self, rejected: RejectedFile) {
        let known = self
            .rejected
            .iter()
            .any(|r| r.path == rejected.path && r.rule_ids == rejected.rule_ids);
        if !known {
            self.rejected.push(rejected);
        }
    }

    fn into_changes(self) -> Changes {
        let mut files = Vec::new();
        for (rel, slot) in self.files {
            let original = match slot.original {
                Some(Ok(text)) => Some(text),
                _ => None,
            };
            let status = match (slot.on_disk, slot.deleted) {
                (true, true) => FileStatus::Deleted,
                (false, true) => continue,
                (false, false) => FileStatus::Added,
                (true, false) => FileStatus::Modified,
            };
            let edited = slot.current.is_some();
            let after = slot.current.unwrap_or_default();
            let before = original.unwrap_or_default();
            let changed = match status {
                FileStatus::Modified => edited && after != before,
                FileStatus::Added | FileStatus::Deleted => true,
            };
            if changed {
                files.push(FileChange {
                    path: rel,
                    status,
                    before,
                    after,
                    matches: slot.matches,
                });
            }
        }
        let mut rejected = self.rejected;
        rejected.sort_by(|a, b| a.path.cmp(&b.path));
        Changes {
            files,
            skipped: self.skipped,
            rejected,
            not_applicable: None,
        }
    }
}

/// Open the regular file at `path`, never through a symlink at its end
/// (the walk saw none on its way, and nothing of the command runs any more).
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// The bytes of the file `work/rel`, at most `max + 1` of them (one more
/// than allowed tells a file too large).
fn read_back(work: &Path, rel: &Path, max: u64) -> Result<Vec<u8>, ApplyError> {
    use std::io::Read;
    let failed = |source| ApplyError::Read {
        path: rel.to_path_buf(),
        source,
    };
    let file = open_no_follow(&work.join(rel)).map_err(failed)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(failed)?;
    Ok(bytes)
}

/// Whether the file at `after` holds other bytes than `before` gives,
/// compared a block at a time.
fn differs(after: &Path, before: &mut dyn std::io::Read) -> std::io::Result<bool> {
    let mut after = open_no_follow(after)?;
    let (mut a, mut b) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = fill(&mut after, &mut a)?;
        let m = fill(before, &mut b)?;
        if a[..n] != b[..m] {
            return Ok(true);
        }
        if n == 0 {
            return Ok(false);
        }
    }
}

/// Read until `buf` is full or the end; how many bytes were read.
fn fill(reader: &mut dyn std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Give the owner write access to every folder under `dir`, so that the
/// scratch folder can be removed whatever modes the command left.
fn make_removable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        if let Ok(meta) = std::fs::symlink_metadata(&folder)
            && meta.is_dir()
        {
            let mode = meta.permissions().mode();
            if mode & 0o700 != 0o700 {
                let _ = std::fs::set_permissions(
                    &folder,
                    std::fs::Permissions::from_mode(mode | 0o700),
                );
            }
            if let Ok(entries) = std::fs::read_dir(&folder) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
}

/// `f` on every item, on all cores, the results in the order of `items` (so
/// output does not depend on scheduling). Workers take items one at a time
/// from a shared queue because files differ wildly in cost, the costliest
/// first (by `cost`), so that the last ones taken are small and the cores
/// finish together. A panic in `f` is resumed on the calling thread.
pub(super) fn par_map_in_order<T: Send, R: Send>(
    items: Vec<T>,
    cost: impl Fn(&T) -> u64,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 2 {
        return items.into_iter().map(f).collect();
    }
    let total = items.len();
    let mut items: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    items.sort_by_key(|(_, item)| std::cmp::Reverse(cost(item)));
    let queue = std::sync::Mutex::new(items.into_iter());
    let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(total))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some((index, item)) = next() {
                        done.push((index, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::par_map_in_order;
    use crate::recipe::{ApplyError, ApplyOptions, Changes, FileStatus, Recipe};

    /// `recipe` (steps only) applied to a tree of `files`, in the default
    /// sandbox; the tree must be unchanged on disk afterwards. Without
    /// bwrap this fails with the install hint.
    fn apply(
        steps: &str,
        files: &[(&str, &str)],
    ) -> (tempfile::TempDir, Result<Changes, ApplyError>) {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let text = format!("id: r\ntitle: R\nsteps:\n{steps}");
        let recipe =
            Recipe::from_str(Path::new("recipe.yaml"), &text).unwrap_or_else(|e| panic!("{e}"));
        let changes = recipe.apply_with(dir.path(), &ApplyOptions::default());
        for (rel, text) in files {
            assert_eq!(
                std::fs::read_to_string(dir.path().join(rel)).unwrap(),
                *text,
                "apply wrote to the tree"
            );
        }
        (dir, changes)
    }

    fn ok(result: Result<Changes, ApplyError>) -> Changes {
        result.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_run_step_changes_the_tree_in_memory_labelled_as_its_step() {
        let (_dir, changes) = apply(
            "  - run: sort -o requirements.txt requirements.txt\n",
            &[
                ("requirements.txt", "requests\nflask\n"),
                ("app.py", "x = 1\n"),
            ],
        );
        let changes = ok(changes);
        assert_eq!(changes.files.len(), 1, "{changes:?}");
        let f = &changes.files[0];
        assert_eq!(f.path, Path::new("requirements.txt"));
        assert_eq!(f.status, FileStatus::Modified);
        assert_eq!(f.before, "requests\nflask\n");
        assert_eq!(f.after, "flask\nrequests\n");
        assert_eq!(
            f.matches,
            [(
                "step 1 (run): sort -o requirements.txt requirements.txt".to_string(),
                1
            )]
        );
    }

    #[test]
    fn a_run_step_sees_earlier_steps_and_ignored_byproducts_stay_out() {
        let script = "cat pinned.txt > copy.txt; rm old.txt; mkdir -p node_modules/x; echo junk > node_modules/x/a.js; echo $HOME > where.txt";
        let (_dir, changes) = apply(
            &format!(
                "  - files:\n      - add: pinned.txt\n        content: \"3.12\\n\"\n  - run: '{script}'\n"
            ),
            &[(".gitignore", "node_modules/\n"), ("old.txt", "old\n")],
        );
        let changes = ok(changes);
        let summary: Vec<(String, FileStatus)> = changes
            .files
            .iter()
            .map(|f| (f.path.display().to_string(), f.status))
            .collect();
        assert_eq!(
            summary,
            [
                ("copy.txt".to_string(), FileStatus::Added),
                ("old.txt".to_string(), FileStatus::Deleted),
                ("pinned.txt".to_string(), FileStatus::Added),
                ("where.txt".to_string(), FileStatus::Added),
            ]
        );
        let copy = changes
            .files
            .iter()
            .find(|f| f.path == Path::new("copy.txt"))
            .unwrap();
        assert_eq!(copy.after, "3.12\n");
        // Its home is the sandbox's, not the tree.
        let home = changes
            .files
            .iter()
            .find(|f| f.path == Path::new("where.txt"))
            .unwrap();
        assert_eq!(home.after, "/home/sandbox\n");
    }

    #[test]
    fn a_run_step_runs_again_only_when_another_step_changed_the_tree() {
        // Not idempotent on its own: run once per change of the others.
        let (_dir, changes) = apply("  - run: echo ran >> log.txt\n", &[("a.txt", "a\n")]);
        let changes = ok(changes);
        assert_eq!(changes.files.len(), 1);
        assert_eq!(changes.files[0].after, "ran\n");
    }

    #[test]
    fn symlinks_a_command_makes_are_refused() {
        let (_dir, changes) = apply(
            "  - run: ln -s /etc/passwd link; echo kept > kept.txt\n",
            &[("a.txt", "a\n")],
        );
        let changes = ok(changes);
        assert_eq!(changes.files.len(), 1, "{changes:?}");
        assert_eq!(changes.files[0].path, Path::new("kept.txt"));
        assert_eq!(changes.rejected.len(), 1, "{changes:?}");
        assert_eq!(changes.rejected[0].path, Path::new("link"));
        assert!(
            changes.rejected[0].message.contains("symlink"),
            "{changes:?}"
        );
    }

    #[test]
    fn a_failing_command_fails_the_recipe_with_its_step_and_output() {
        let secret = crate::secret::Secret::new("ghs_runsteptail98765");
        let (_dir, result) = apply(
            &format!("  - run: 'echo {} is wrong; exit 3'\n", secret.expose()),
            &[("a.txt", "a\n")],
        );
        let err = result.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ApplyError::Command { .. }), "{text}");
        assert!(
            text.starts_with("step 1 (run): echo *** is wrong; exit 3 failed (exit 3)"),
            "{text}"
        );
        assert!(text.ends_with("*** is wrong"), "{text}");
        assert!(!text.contains("ghs_runsteptail98765"), "{text}");
    }

    #[test]
    fn par_map_keeps_the_order_of_the_items() {
        let items: Vec<u64> = (0..1000).collect();
        // Uneven work, so that workers finish out of order.
        let squares = par_map_in_order(
            items,
            |n| n % 7,
            |n| {
                (0..(n % 7) * 1000).fold(0u64, |a, b| a.wrapping_add(b));
                n * n
            },
        );
        assert_eq!(squares, (0..1000u64).map(|n| n * n).collect::<Vec<_>>());
        assert!(par_map_in_order(Vec::<u8>::new(), |_| 0, |n| n).is_empty());
    }
}
