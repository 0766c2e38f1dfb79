//! Clones and pushes over SSH through a real sshd on loopback
//! (`sim::sshd`), with the host key checked against `known_hosts`.
//! ssh-agent and passphrase-protected keys are tested through the binary
//! (`tests/tests/ssh.rs`), whose environment a test may set.

use std::path::{Path, PathBuf};

use git2::{Repository, Signature};

use super::ssh::{HostKeyVerdict, SshSettings};
use super::{GitError, Identity, TreeEdit, Workspace};
use crate::sim::sshd::{KeyPair, SshServer};

/// A bare repository at `dir/srv/org/svc.git` with one commit on `main`.
fn bare_repo(dir: &Path) -> PathBuf {
    let bare = dir.join("srv/org/svc.git");
    let repo = Repository::init_bare(&bare).unwrap();
    let sig = Signature::now("t", "t@t").unwrap();
    let mut tb = repo.treebuilder(None).unwrap();
    let blob = repo.blob(b"print('hi')\n").unwrap();
    tb.insert("app.py", blob, 0o100644).unwrap();
    let tree = repo.find_tree(tb.write().unwrap()).unwrap();
    repo.commit(Some("refs/heads/main"), &sig, &sig, "init", &tree, &[])
        .unwrap();
    repo.set_head("refs/heads/main").unwrap();
    bare
}

fn sshd(dir: &Path) -> SshServer {
    let keys = dir.join("sshd");
    std::fs::create_dir_all(&keys).unwrap();
    SshServer::start(&keys).unwrap_or_else(|e| panic!("cannot start sshd: {e}"))
}

fn workspace(dir: &Path, key: &Path, known_hosts: &Path) -> Workspace {
    let ws = Workspace::new(dir.join("cache"));
    ws.set_ssh(SshSettings {
        key: Some(key.to_path_buf()),
        passphrase_env: None,
        known_hosts: Some(known_hosts.to_path_buf()),
    });
    ws
}

#[test]
fn a_clone_fetch_and_push_go_over_ssh_with_a_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_repo(dir.path());
    let server = sshd(dir.path());
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, server.known_hosts_line()).unwrap();
    let ws = workspace(dir.path(), &server.user_key.private, &known_hosts);
    let url = server.url(&bare);

    let co = ws
        .sync_branch(&url, "org/svc", "fw/x")
        .unwrap_or_else(|e| panic!("{e}\nsshd log:\n{}", server.log()));
    assert_eq!(co.default_branch, "main");
    let edits = [TreeEdit::Write {
        path: "app.py",
        content: b"print('bye')\n",
    }];
    let commit = co
        .commit_edits("fw/x", edits, "change", &Identity::default())
        .unwrap()
        .unwrap();
    co.push("fw/x")
        .unwrap_or_else(|e| panic!("{e}\nsshd log:\n{}", server.log()));
    let remote = Repository::open_bare(&bare).unwrap();
    assert_eq!(
        remote.refname_to_id("refs/heads/fw/x").unwrap(),
        commit,
        "the branch went over SSH"
    );
    drop(co);
    // A second sync fetches into the same clone and sees the branch.
    let co = ws.sync_branch(&url, "org/svc", "fw/x").unwrap();
    assert_eq!(
        co.remote_branch("fw/x", "nope").unwrap(),
        super::RemoteBranch::Foreign(commit),
        "the fetched branch is there (no campaign trailer on it)"
    );
    // The clone's config holds the URL, no key, no passphrase.
    let config = std::fs::read_to_string(co.path.join(".git/config")).unwrap();
    assert!(config.contains(&url), "{config}");
    assert!(!config.contains("id_ed25519"), "{config}");
}

#[test]
fn an_unknown_host_key_is_refused_and_nothing_is_fetched_or_written() {
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_repo(dir.path());
    let server = sshd(dir.path());
    let url = server.url(&bare);
    // Empty, then holding another host's key only.
    let known_hosts = dir.path().join("known_hosts");
    let other = KeyPair::generate(&dir.path().join("other_host"), "").unwrap();
    for text in [
        String::new(),
        format!(
            "[127.0.0.1]:{} {}\n",
            server.port + 1,
            server.host_key.public
        ),
        format!("example.com {}\n", server.host_key.public),
    ] {
        std::fs::write(&known_hosts, &text).unwrap();
        let ws = workspace(dir.path(), &server.user_key.private, &known_hosts);
        let err = ws.sync(&url, "org/svc").err().expect("refused");
        let GitError::HostKey(refusal) = &err else {
            panic!("not a host key refusal: {err}");
        };
        assert!(
            matches!(refusal.verdict, HostKeyVerdict::Unknown { .. }),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("127.0.0.1 port {}", server.port)),
            "{message}"
        );
        // The fingerprint `ssh-keygen -l` prints for the host's key.
        let listed = std::process::Command::new("ssh-keygen")
            .arg("-l")
            .arg("-f")
            .arg(server.host_key.private.with_extension("pub"))
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        let fingerprint = listed.split_whitespace().nth(1).unwrap();
        assert!(fingerprint.starts_with("SHA256:"), "{listed}");
        assert!(message.contains(fingerprint), "{message}\n{listed}");
        assert!(
            message.contains(&format!(
                "ssh-keyscan -p {} 127.0.0.1 >> {}",
                server.port,
                known_hosts.display()
            )),
            "{message}"
        );
        // Nothing was fetched into the clone, and the file is unchanged
        // (no trust on first use).
        let clone = ws.clone_dir(&url, "org/svc");
        let fetched = Repository::open(&clone)
            .ok()
            .and_then(|r| r.refname_to_id("refs/remotes/origin/main").ok());
        assert_eq!(fetched, None);
        assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), text);
    }
    let _ = other;
    // The server never got as far as a login attempt.
    assert!(
        !server.log().contains("Accepted publickey"),
        "{}",
        server.log()
    );
}

#[test]
fn a_changed_host_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_repo(dir.path());
    let server = sshd(dir.path());
    let url = server.url(&bare);
    let impostor = KeyPair::generate(&dir.path().join("old_host_key"), "").unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let text = format!("# ours\n[127.0.0.1]:{} {}\n", server.port, impostor.public);
    std::fs::write(&known_hosts, &text).unwrap();
    let ws = workspace(dir.path(), &server.user_key.private, &known_hosts);
    let err = ws.sync(&url, "org/svc").err().expect("refused");
    let GitError::HostKey(refusal) = &err else {
        panic!("not a host key refusal: {err}");
    };
    assert_eq!(refusal.verdict, HostKeyVerdict::Changed { line: 2 });
    let message = err.to_string();
    assert!(message.contains("CHANGED"), "{message}");
    assert!(
        message.contains(&format!("{}:2", known_hosts.display())),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), text);
    assert!(!server.log().contains("Accepted publickey"));
}

#[test]
fn a_hashed_known_hosts_entry_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_repo(dir.path());
    let server = sshd(dir.path());
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, server.known_hosts_line()).unwrap();
    // As `HashKnownHosts yes` writes it.
    let out = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let hashed = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(hashed.starts_with("|1|"), "{hashed}");
    let ws = workspace(dir.path(), &server.user_key.private, &known_hosts);
    let co = ws
        .sync(&server.url(&bare), "org/svc")
        .unwrap_or_else(|e| panic!("{e}\nsshd log:\n{}", server.log()));
    assert_eq!(co.default_branch, "main");
}

#[test]
fn a_key_the_server_does_not_know_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_repo(dir.path());
    let server = sshd(dir.path());
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, server.known_hosts_line()).unwrap();
    let stranger = KeyPair::generate(&dir.path().join("stranger"), "").unwrap();
    let ws = workspace(dir.path(), &stranger.private, &known_hosts);
    let err = ws
        .sync(&server.url(&bare), "org/svc")
        .err()
        .expect("refused");
    let message = err.to_string();
    assert!(matches!(err, GitError::SshAuth(_)), "{message}");
    assert!(message.contains("refused the key"), "{message}");
    assert!(message.contains("stranger"), "{message}");
}
