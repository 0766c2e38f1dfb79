//! Real clones and pushes through the server, with libgit2 (what
//! fleetwright uses) and the git command; multi-threaded runtimes because
//! libgit2 blocks while the server answers on the same runtime.

use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::{Cred, FetchOptions, PushOptions, RemoteCallbacks, Repository, Signature, Time};

use super::*;
use crate::sim::net::base64_encode;
use crate::sim::test_http;

const TOKEN: &str = "ghs_git_token_123";

/// `<root>/acme/billing-api.git` with one commit on `main`.
fn bare_repo(root: &Path) -> PathBuf {
    let path = root.join("acme").join("billing-api.git");
    let repo = Repository::init_bare(&path).unwrap();
    let sig = Signature::new("t", "t@localhost", &Time::new(1_700_000_000, 0)).unwrap();
    let blob = repo.blob(b"hello\n").unwrap();
    let mut tree = repo.treebuilder(None).unwrap();
    tree.insert("README.md", blob, 0o100_644).unwrap();
    let tree = repo.find_tree(tree.write().unwrap()).unwrap();
    repo.commit(Some("refs/heads/main"), &sig, &sig, "init", &tree, &[])
        .unwrap();
    repo.set_head("refs/heads/main").unwrap();
    path
}

/// Callbacks that answer the first credential request with `password`
/// and give up on a second (libgit2 asks again after a refusal).
fn callbacks(password: Option<&'static str>) -> RemoteCallbacks<'static> {
    let mut callbacks = RemoteCallbacks::new();
    let mut asked = false;
    callbacks.credentials(move |_url, _user, _allowed| match (password, asked) {
        (Some(password), false) => {
            asked = true;
            Cred::userpass_plaintext("x-access-token", password)
        }
        _ => Err(git2::Error::from_str("no (more) credentials")),
    });
    callbacks
}

fn clone(
    url: &str,
    into: &Path,
    password: Option<&'static str>,
) -> Result<Repository, git2::Error> {
    let mut fetch = FetchOptions::new();
    fetch.remote_callbacks(callbacks(password));
    git2::build::RepoBuilder::new()
        .fetch_options(fetch)
        .clone(url, into)
}

/// Commits a file on a new branch of `repo` and pushes it to `url`.
fn push_branch(
    repo: &Repository,
    url: &str,
    password: Option<&'static str>,
) -> Result<(), git2::Error> {
    let sig = Signature::new("t", "t@localhost", &Time::new(1_700_000_100, 0))?;
    let head = repo.head()?.peel_to_commit()?;
    let blob = repo.blob(b"changed\n")?;
    let mut tree = repo.treebuilder(Some(&head.tree()?))?;
    tree.insert("CHANGED.md", blob, 0o100_644)?;
    let tree = repo.find_tree(tree.write()?)?;
    repo.commit(
        Some("refs/heads/fleetwright/x"),
        &sig,
        &sig,
        "change",
        &tree,
        &[&head],
    )?;
    let mut callbacks = callbacks(password);
    let rejected = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = rejected.clone();
    callbacks.push_update_reference(move |_name, status| {
        *seen.lock().unwrap() = status.map(str::to_string);
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    let mut remote = repo.remote_anonymous(url)?;
    remote.push(
        &["refs/heads/fleetwright/x:refs/heads/fleetwright/x"],
        Some(&mut options),
    )?;
    match rejected.lock().unwrap().take() {
        Some(reason) => Err(git2::Error::from_str(&reason)),
        None => Ok(()),
    }
}

fn has_branch(bare: &Path, branch: &str) -> bool {
    let repo = Repository::open_bare(bare).unwrap();
    repo.find_reference(&format!("refs/heads/{branch}")).is_ok()
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libgit2_clones_and_pushes_with_the_token_and_is_refused_without() {
    let root = tempfile::tempdir().unwrap();
    let bare = bare_repo(root.path());
    let server = GitHttpServer::start(root.path().to_path_buf(), TOKEN.into())
        .await
        .unwrap();
    let url = server.url("acme", "billing-api");
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/acme/billing-api.git"));
    let work = tempfile::tempdir().unwrap();

    let (u, into) = (url.clone(), work.path().join("anonymous"));
    let refused = blocking(move || clone(&u, &into, None).map(|_| ())).await;
    assert!(refused.is_err(), "a clone without credentials is refused");
    let (u, into) = (url.clone(), work.path().join("wrong"));
    let wrong = blocking(move || clone(&u, &into, Some("ghp_wrong")).map(|_| ())).await;
    assert!(wrong.is_err(), "a clone with the wrong token is refused");

    let (u, into) = (url.clone(), work.path().join("clone"));
    let pushed = blocking(move || {
        let repo = clone(&u, &into, Some(TOKEN))?;
        assert!(into.join("README.md").is_file());
        push_branch(&repo, &u, Some(TOKEN))
    })
    .await;
    pushed.unwrap();
    assert!(has_branch(&bare, "fleetwright/x"));

    let (u, into) = (url.clone(), work.path().join("clone2"));
    let anonymous_push = blocking(move || {
        let repo = clone(&u, &into, Some(TOKEN))?;
        // The same clone, pushing without credentials.
        let mut remote = repo.remote_anonymous(&u)?;
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks(None));
        remote.push(
            &["refs/heads/main:refs/heads/anonymous"],
            Some(&mut options),
        )
    })
    .await;
    assert!(
        anonymous_push.is_err(),
        "a push without credentials is refused"
    );
    assert!(!has_branch(&bare, "anonymous"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_only_travels_in_the_authorization_header() {
    let root = tempfile::tempdir().unwrap();
    bare_repo(root.path());
    let server = GitHttpServer::start(root.path().to_path_buf(), TOKEN.into())
        .await
        .unwrap();
    let url = server.url("acme", "billing-api");
    let work = tempfile::tempdir().unwrap();
    let into = work.path().join("clone");
    blocking(move || {
        let repo = clone(&url, &into, Some(TOKEN)).unwrap();
        push_branch(&repo, &url, Some(TOKEN)).unwrap();
        // Nothing of the token was written into the clone's config.
        let config = std::fs::read_to_string(into.join(".git/config")).unwrap();
        assert!(!config.contains(TOKEN), "{config}");
    })
    .await;
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.status == 401),
        "git was challenged first"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.uri.contains("git-receive-pack") && r.status == 200)
    );
    let encoded = base64_encode(format!("x-access-token:{TOKEN}").as_bytes());
    for request in &requests {
        assert!(!request.uri.contains(TOKEN), "{}", request.uri);
        for (name, value) in &request.headers {
            let leaks = value.contains(TOKEN) || value.contains(&encoded);
            assert!(!leaks || name == "authorization", "{name}: {value}");
        }
        if request.status != 401 {
            assert_eq!(
                request.header("authorization"),
                Some(format!("Basic {encoded}").as_str())
            );
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_git_command_clones_and_pushes_through_a_credential_helper() {
    let root = tempfile::tempdir().unwrap();
    let bare = bare_repo(root.path());
    let server = GitHttpServer::start(root.path().to_path_buf(), TOKEN.into())
        .await
        .unwrap();
    let url = server.url("acme", "billing-api");
    let work = tempfile::tempdir().unwrap();
    let helper = format!("!f() {{ echo username=x-access-token; echo password={TOKEN}; }}; f");
    let git = |args: &[&str], dir: &Path, helper: &str| {
        let mut command = tokio::process::Command::new("git");
        command
            .args(["-c", &format!("credential.helper={helper}")])
            .args(["-c", "user.name=t", "-c", "user.email=t@localhost"])
            .args(args)
            .current_dir(dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .kill_on_drop(true);
        command
    };
    let cloned = git(&["clone", &url, "clone"], work.path(), &helper)
        .output()
        .await
        .unwrap();
    assert!(
        cloned.status.success(),
        "{}",
        String::from_utf8_lossy(&cloned.stderr)
    );
    let checkout = work.path().join("clone");
    let commit = git(
        &["commit", "--allow-empty", "-m", "cli"],
        &checkout,
        &helper,
    )
    .output()
    .await
    .unwrap();
    assert!(commit.status.success());
    let push = git(
        &["push", "origin", "HEAD:refs/heads/cli"],
        &checkout,
        &helper,
    )
    .output()
    .await
    .unwrap();
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    assert!(has_branch(&bare, "cli"));
    // Without a helper the push is refused, not prompted for.
    let refused = git(&["push", "origin", "HEAD:refs/heads/cli2"], &checkout, "")
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    assert!(!has_branch(&bare, "cli2"));
    server.stop().await;
}

#[tokio::test]
async fn unauthenticated_requests_get_a_basic_challenge() {
    let root = tempfile::tempdir().unwrap();
    bare_repo(root.path());
    let server = GitHttpServer::start(root.path().to_path_buf(), TOKEN.into())
        .await
        .unwrap();
    let path = "/acme/billing-api.git/info/refs?service=git-upload-pack";
    let anonymous = test_http::send(&server.base_url(), "GET", path, &[], None)
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Basic realm=\"git\"")
    );
    let good = format!(
        "Basic {}",
        base64_encode(format!("anyone:{TOKEN}").as_bytes())
    );
    let answer = test_http::send(
        &server.base_url(),
        "GET",
        path,
        &[("Authorization", &good)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("application/x-git-upload-pack-advertisement")
    );
    let missing = "/acme/nothing.git/info/refs?service=git-upload-pack";
    let absent = test_http::send(
        &server.base_url(),
        "GET",
        missing,
        &[("Authorization", &good)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(absent.status, 404);
    let escape = "/acme/../../etc/info/refs?service=git-upload-pack";
    let outside = test_http::send(
        &server.base_url(),
        "GET",
        escape,
        &[("Authorization", &good)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(outside.status, 403, "a path out of the root is refused");
    assert_eq!(server.requests().len(), 4);
    let url = server.base_url();
    let backend = server.backend.clone();
    server.stop().await;
    // Another test may bind the freed port at once, so whether a connection
    // is refused proves nothing: the stopped server must record nothing.
    let addr = url.trim_start_matches("http://").to_string();
    if let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = format!("GET {missing} HTTP/1.1\r\nHost: x\r\nAuthorization: {good}\r\n\r\n");
        let _ = stream.write_all(request.as_bytes()).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut [0u8; 64])).await;
    }
    assert_eq!(
        super::lock(&backend.log).len(),
        4,
        "a stopped server accepts nothing"
    );
}

#[test]
fn cgi_output_splits_at_the_first_blank_line_and_sets_the_status() {
    let (head, body) =
        split_cgi(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope\n\nmore");
    assert_eq!(head, b"Status: 404 Not Found\r\nContent-Type: text/plain");
    assert_eq!(body, b"nope\n\nmore");
    let response = cgi_response(b"Status: 403 Forbidden\nX-A: 1\n\nbody");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["x-a"], "1");
    let (head, body) = split_cgi(b"Content-Type: a/b\n\n\r\n\r\n");
    assert_eq!((head, body), (&b"Content-Type: a/b"[..], &b"\r\n\r\n"[..]));
}
