//! The clone cache over real git smart HTTP (`git http-backend` behind the
//! loopback server of `sim`): shallow fetches, and everything the engine
//! does afterwards (commit, push, force push, the look at the campaign
//! branch) across the shallow boundary.

use std::path::{Path, PathBuf};

use super::*;
use crate::sim::git_http::{GitHttpServer, assert_fsck};
use crate::urls::Origin;

const TOKEN: &str = "ghs_shallow_token_123";
const BRANCH: &str = "fleetwright/x";
const CAMPAIGN: &str = "c";

/// `<root>/acme/r.git` with `commits` commits on `main`, each changing
/// `history.txt`; the last commit's id.
fn server_repo(root: &Path, commits: usize) -> (PathBuf, Oid) {
    let bare = root.join("acme").join("r.git");
    let repo = Repository::init_bare(&bare).unwrap();
    repo.set_head("refs/heads/main").unwrap();
    let mut head = None;
    for n in 0..commits {
        head = Some(commit_on(&bare, "main", &format!("line {n}\n"), "history"));
    }
    (bare, head.unwrap())
}

/// A commit on `branch` of a bare repository, on its tip (or a root),
/// writing `text` to `history.txt`.
fn commit_on(bare: &Path, branch: &str, text: &str, message: &str) -> Oid {
    commit_file(bare, branch, "history.txt", text, message)
}

/// A commit on `branch` of a bare repository writing `text` to `file`.
fn commit_file(bare: &Path, branch: &str, file: &str, text: &str, message: &str) -> Oid {
    let repo = Repository::open_bare(bare).unwrap();
    let parent = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .ok()
        .and_then(|r| r.peel_to_commit().ok());
    let mut tb = repo
        .treebuilder(parent.as_ref().map(|p| p.tree().unwrap()).as_ref())
        .unwrap();
    tb.insert(file, repo.blob(text.as_bytes()).unwrap(), 0o100644)
        .unwrap();
    let tree = repo.find_tree(tb.write().unwrap()).unwrap();
    let sig = Signature::now("someone", "someone@example.com").unwrap();
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(
        Some(&format!("refs/heads/{branch}")),
        &sig,
        &sig,
        message,
        &tree,
        &parents,
    )
    .unwrap()
}

fn workspace(dir: &Path, server: &GitHttpServer) -> Workspace {
    let ws = Workspace::new(dir.join("cache"));
    ws.set_credentials(Some(GitCredentials {
        token: crate::secret::Secret::new(TOKEN),
        username: "x-access-token",
        origins: vec![Origin::parse(&server.base_url()).unwrap()],
    }));
    ws
}

/// Commit a change to `app.txt` on the base as the campaign, on `BRANCH`.
fn campaign_commit(co: &Checkout, text: &str) -> Oid {
    co.reset_to_base().unwrap();
    let msg = format!("Change\n\n{CAMPAIGN_TRAILER}: {CAMPAIGN}\n");
    let edit = TreeEdit::Write {
        path: "app.txt",
        content: text.as_bytes(),
    };
    co.commit_edits(BRANCH, [edit], &msg, &Identity::default())
        .unwrap()
        .unwrap()
}

/// How many commits the clone holds.
fn commits_held(co: &Checkout) -> usize {
    let odb = co.repo.odb().unwrap();
    let mut n = 0;
    odb.foreach(|oid| {
        if odb.read_header(*oid).map(|(_, kind)| kind) == Ok(git2::ObjectType::Commit) {
            n += 1;
        }
        true
    })
    .unwrap();
    n
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_clone_is_one_commit_deep_and_pushes_to_a_real_server() {
    let root = tempfile::tempdir().unwrap();
    let (bare, head) = server_repo(root.path(), 20);
    let server = GitHttpServer::start(root.path().to_path_buf(), TOKEN.into())
        .await
        .unwrap();
    let url = server.url("acme", "r");
    let work = tempfile::tempdir().unwrap();
    let ws = workspace(work.path(), &server);
    let (ws2, url2, bare2) = (ws.clone(), url.clone(), bare.clone());
    blocking(move || {
        let co = ws2.sync_branch(&url2, "acme/r", BRANCH).unwrap();
        assert_eq!((co.default_branch.as_str(), co.base), ("main", head));
        assert!(co.repo.is_shallow(), "a network clone is shallow");
        assert_eq!(commits_held(&co), 1, "only the default branch's head");
        assert_eq!(
            co.remote_branch(BRANCH, CAMPAIGN).unwrap(),
            RemoteBranch::Absent
        );

        let oid = campaign_commit(&co, "changed\n");
        assert_eq!(co.changed_paths(oid).unwrap(), ["app.txt"]);
        co.push(BRANCH).unwrap();
        drop(co);
        let server_side = Repository::open_bare(&bare2).unwrap();
        let pushed = server_side.find_commit(oid).unwrap();
        assert_eq!(pushed.parent_id(0).unwrap(), head);
        assert_eq!(
            LocalRepo::open(&bare2)
                .unwrap()
                .branch_head(BRANCH)
                .unwrap(),
            Some(oid)
        );

        // The next sync adopts it, still one commit deep on each branch.
        let co = ws2.sync_branch(&url2, "acme/r", BRANCH).unwrap();
        assert_eq!(
            co.remote_branch(BRANCH, CAMPAIGN).unwrap(),
            RemoteBranch::Ours(oid)
        );
        assert_eq!(commits_held(&co), 2);
        assert!(co.same_tree(oid, oid).unwrap());

        // A recipe change: a new commit on the base, force-pushed with a
        // lease on the old tip.
        let again = campaign_commit(&co, "changed again\n");
        assert!(!co.same_tree(again, oid).unwrap());
        co.force_push(BRANCH, oid).unwrap();
        assert_eq!(
            LocalRepo::open(&bare2)
                .unwrap()
                .branch_head(BRANCH)
                .unwrap(),
            Some(again)
        );
        // A stale lease is refused.
        assert!(co.force_push(BRANCH, oid).is_err());
    })
    .await;
    // What the server holds is whole: git itself checks it.
    assert_fsck(&bare);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_campaign_branch_is_fetched_as_deep_as_its_own_commits_go() {
    let root = tempfile::tempdir().unwrap();
    let (bare, _) = server_repo(root.path(), 5);
    let server = GitHttpServer::start(root.path().to_path_buf(), TOKEN.into())
        .await
        .unwrap();
    let url = server.url("acme", "r");
    let work = tempfile::tempdir().unwrap();
    let ws = workspace(work.path(), &server);
    blocking(move || {
        let co = ws.sync_branch(&url, "acme/r", BRANCH).unwrap();
        let ours = campaign_commit(&co, "changed\n");
        co.push(BRANCH).unwrap();
        drop(co);

        // The default branch moves on: the branch's parent is no longer
        // its head, and the branch is still only ours.
        for n in 0..3 {
            commit_on(&bare, "main", &format!("moved {n}\n"), "moved on");
        }
        let co = ws.sync_branch(&url, "acme/r", BRANCH).unwrap();
        assert_eq!(
            co.remote_branch(BRANCH, CAMPAIGN).unwrap(),
            RemoteBranch::Ours(ours)
        );
        drop(co);

        // A person pushes a fix on top: one commit deep, the branch would
        // look foreign (and the target told to delete it); deeper, it is
        // shared, and never overwritten.
        let fix = commit_file(&bare, BRANCH, "fix.txt", "a person's fix\n", "fix by hand");
        let co = ws.sync_branch(&url, "acme/r", BRANCH).unwrap();
        assert_eq!(
            co.remote_branch(BRANCH, CAMPAIGN).unwrap(),
            RemoteBranch::Shared(fix)
        );
        drop(co);

        // Merged with a merge commit: nothing is only the branch's, and its
        // tip (the person's) tells, as in a whole clone.
        merge_in_bare(&bare, BRANCH, "main", "Merge", &Identity::default()).unwrap();
        let co = ws.sync_branch(&url, "acme/r", BRANCH).unwrap();
        assert_eq!(
            co.remote_branch(BRANCH, CAMPAIGN).unwrap(),
            RemoteBranch::Foreign(fix)
        );
        drop(co);

        // Deleted: pruned from the clone.
        Repository::open_bare(&bare)
            .unwrap()
            .find_reference(&format!("refs/heads/{BRANCH}"))
            .unwrap()
            .delete()
            .unwrap();
        let co = ws.sync_branch(&url, "acme/r", BRANCH).unwrap();
        assert_eq!(
            co.remote_branch(BRANCH, CAMPAIGN).unwrap(),
            RemoteBranch::Absent
        );
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_far_behind_the_default_branch_is_fetched_until_they_meet() {
    let root = tempfile::tempdir().unwrap();
    let (bare, _) = server_repo(root.path(), 3);
    let server = GitHttpServer::start(root.path().to_path_buf(), TOKEN.into())
        .await
        .unwrap();
    let url = server.url("acme", "r");
    let work = tempfile::tempdir().unwrap();
    let ws = workspace(work.path(), &server);
    blocking(move || {
        let co = ws.sync_branch(&url, "acme/r", BRANCH).unwrap();
        let ours = campaign_commit(&co, "changed\n");
        co.push(BRANCH).unwrap();
        drop(co);
        // Past the second depth (50): the walk would count the default
        // branch's commits as the branch's own, and call it shared.
        for n in 0..60 {
            commit_on(&bare, "main", &format!("moved {n}\n"), "moved on");
        }
        let co = ws.sync_branch(&url, "acme/r", BRANCH).unwrap();
        assert_eq!(
            co.remote_branch(BRANCH, CAMPAIGN).unwrap(),
            RemoteBranch::Ours(ours)
        );
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_after_the_default_branch_moved_still_lands_whole() {
    let root = tempfile::tempdir().unwrap();
    let (bare, head) = server_repo(root.path(), 4);
    let server = GitHttpServer::start(root.path().to_path_buf(), TOKEN.into())
        .await
        .unwrap();
    let url = server.url("acme", "r");
    let work = tempfile::tempdir().unwrap();
    let ws = workspace(work.path(), &server);
    let bare2 = bare.clone();
    blocking(move || {
        let co = ws.sync_branch(&url, "acme/r", BRANCH).unwrap();
        let ours = campaign_commit(&co, "changed\n");
        // The remote's default branch moves between the fetch and the push:
        // the clone's base is no longer a ref the remote advertises.
        commit_on(&bare2, "main", "moved\n", "moved on");
        co.push(BRANCH).unwrap();
        let server_side = Repository::open_bare(&bare2).unwrap();
        assert_eq!(
            server_side.find_commit(ours).unwrap().parent_id(0).unwrap(),
            head
        );
    })
    .await;
    assert_fsck(&bare);
    server.stop().await;
}

#[test]
fn a_repository_on_this_machine_lends_its_objects_and_the_fetch_copies_none() {
    let root = tempfile::tempdir().unwrap();
    let (bare, _) = server_repo(root.path(), 3);
    let ws = Workspace::new(root.path().join("cache"));
    let co = ws.sync_branch(bare.to_str().unwrap(), "r", BRANCH).unwrap();
    assert!(
        !co.repo.is_shallow(),
        "libgit2's local transport cannot fetch shallow"
    );
    assert_eq!(commits_held(&co), 3, "the whole history is there, borrowed");
    let alternates = std::fs::read_to_string(co.path.join(".git/objects/info/alternates")).unwrap();
    assert_eq!(
        alternates.trim_end(),
        bare.join("objects")
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
    assert_eq!(own_objects(&co.path), 0, "the fetch copied objects");
    // The campaign's commit goes to the repository as one pack, reachable
    // there only once pushed; the clone holds nothing of its own.
    let packs = |dir: &Path| {
        std::fs::read_dir(dir.join("objects/pack"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
            .count()
    };
    let before = packs(&bare);
    let commit = campaign_commit(&co, "changed\n");
    assert_eq!(own_objects(&co.path), 0);
    assert_eq!(packs(&bare), before + 1);
    assert_eq!(
        LocalRepo::open(&bare).unwrap().branch_head(BRANCH).unwrap(),
        None
    );
    co.push(BRANCH).unwrap();
    assert_eq!(packs(&bare), before + 1, "the push sent the objects again");
    assert_eq!(
        LocalRepo::open(&bare).unwrap().branch_head(BRANCH).unwrap(),
        Some(commit)
    );
    assert_fsck(&bare);
    // A second sync of the same clone writes nothing new.
    drop(co);
    let co = ws.sync_branch(bare.to_str().unwrap(), "r", BRANCH).unwrap();
    assert_eq!(own_objects(&co.path), 0);
    assert_eq!(
        co.remote_branch(BRANCH, CAMPAIGN).unwrap(),
        RemoteBranch::Ours(commit)
    );
}

/// The loose objects and packs a clone holds itself (not borrowed).
fn own_objects(clone: &Path) -> usize {
    let objects = clone.join(".git/objects");
    let loose: usize = std::fs::read_dir(&objects)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .map(|e| std::fs::read_dir(e.path()).unwrap().count())
        .sum();
    let packs = std::fs::read_dir(objects.join("pack"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
        .count();
    loose + packs
}

#[test]
fn the_commit_is_the_edits_alone_modes_kept() {
    let root = tempfile::tempdir().unwrap();
    let (bare, _) = server_repo(root.path(), 1);
    {
        // An executable script and a file to remove, on main.
        let repo = Repository::open_bare(&bare).unwrap();
        let head = repo
            .find_reference("refs/heads/main")
            .unwrap()
            .peel_to_commit()
            .unwrap();
        let mut tb = repo.treebuilder(Some(&head.tree().unwrap())).unwrap();
        tb.insert("run.sh", repo.blob(b"echo hi\n").unwrap(), 0o100755)
            .unwrap();
        tb.insert("old.txt", repo.blob(b"old\n").unwrap(), 0o100644)
            .unwrap();
        let tree = repo.find_tree(tb.write().unwrap()).unwrap();
        let sig = Signature::now("someone", "someone@example.com").unwrap();
        repo.commit(Some("refs/heads/main"), &sig, &sig, "more", &tree, &[&head])
            .unwrap();
    }
    let ws = Workspace::new(root.path().join("cache"));
    let co = ws.sync_branch(bare.to_str().unwrap(), "r", BRANCH).unwrap();
    co.reset_to_base().unwrap();
    // Litter in the working tree, as a build would leave it.
    std::fs::write(co.path.join("build.log"), "litter\n").unwrap();
    std::fs::write(co.path.join("history.txt"), "changed by hand\n").unwrap();
    let edits = [
        TreeEdit::Write {
            path: "run.sh",
            content: b"echo bye\n",
        },
        TreeEdit::Write {
            path: "new/dir/file.txt",
            content: b"new\n",
        },
        TreeEdit::Remove { path: "old.txt" },
    ];
    let oid = co
        .commit_edits(BRANCH, edits, "m", &Identity::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        co.changed_paths(oid).unwrap(),
        ["new/dir/file.txt", "old.txt", "run.sh"]
    );
    let tree = co.repo.find_commit(oid).unwrap().tree().unwrap();
    let entry = |p: &str| tree.get_path(Path::new(p)).unwrap();
    assert_eq!(entry("run.sh").filemode(), 0o100755, "the mode is kept");
    assert_eq!(entry("new/dir/file.txt").filemode(), 0o100644);
    let blob = |p: &str| co.repo.find_blob(entry(p).id()).unwrap().content().to_vec();
    assert_eq!(blob("run.sh"), b"echo bye\n");
    assert_eq!(
        blob("history.txt"),
        b"line 0\n",
        "the working tree is not the commit"
    );
    assert!(tree.get_path(Path::new("build.log")).is_err());
    // Edits that leave the tree as it was make no commit.
    let same = [TreeEdit::Write {
        path: "history.txt",
        content: b"line 0\n",
    }];
    assert_eq!(
        co.commit_edits("fw/y", same, "m", &Identity::default())
            .unwrap(),
        None
    );
}

#[test]
fn a_new_clone_config_reads_back_every_url_as_written() {
    let root = tempfile::tempdir().unwrap();
    for (n, url) in [
        "https://git.example.com/acme/r.git",
        "/srv/repos/with space/\"quoted\" \\ back\tslash.git",
        "file:///srv/r;semi#hash.git",
    ]
    .into_iter()
    .enumerate()
    {
        let path = root.path().join(n.to_string());
        std::fs::create_dir_all(&path).unwrap();
        let repo = init_clone(&path, url).unwrap();
        assert_eq!(repo.find_remote("origin").unwrap().url().ok(), Some(url));
        let config = repo.config().unwrap();
        assert!(!config.get_bool("http.followRedirects").unwrap());
        assert!(!config.get_bool("core.logallrefupdates").unwrap());
        assert!(!repo.is_bare());
        assert_eq!(
            repo.workdir().unwrap().canonicalize().unwrap(),
            path.canonicalize().unwrap()
        );
    }
}

#[test]
fn a_clone_in_use_is_not_removed_and_a_free_one_is_with_its_lock() {
    let root = tempfile::tempdir().unwrap();
    let (bare, _) = server_repo(root.path(), 1);
    let ws = Workspace::new(root.path().join("cache"));
    let co = ws.sync(bare.to_str().unwrap(), "acme/r").unwrap();
    let clones = ws.clones().unwrap();
    assert_eq!(clones.len(), 1);
    let clone = &clones[0];
    assert_eq!(clone.path, co.path);
    assert_eq!(clone.url.as_deref(), bare.to_str());
    assert!(clone.last_used.is_some());
    assert!(
        !ws.remove_clone(&clone.folder).unwrap(),
        "held by this process"
    );
    assert!(co.path.is_dir());
    drop(co);
    // Another test's child process may hold a copy of the lock's descriptor
    // for the instant between its fork and its exec: try a few times.
    let removed = (0..50).any(|_| {
        ws.remove_clone(&clone.folder).unwrap()
            || (
                std::thread::sleep(std::time::Duration::from_millis(20)),
                false,
            )
                .1
    });
    assert!(removed);
    assert!(!clone.path.exists());
    assert!(
        !root
            .path()
            .join(format!("cache/{}.lock", clone.folder))
            .exists()
    );
    assert!(ws.clones().unwrap().is_empty());
    assert!(ws.remove_clone("../x").is_err());
    // And it clones again.
    ws.sync(bare.to_str().unwrap(), "acme/r").unwrap();
}
