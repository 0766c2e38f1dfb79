//! Every git operation fleetwright performs, through libgit2: the cache of
//! working clones (shallow over HTTP(S)), fresh branches from the default
//! branch, commits, pushes, and merges inside bare repositories (for the
//! local forge).
//!
//! Invariants: a push never forces; a remote branch is only reused when a
//! commit on it carries this campaign's trailer (a person's commits are never
//! overwritten); nothing is written outside the cache folder and the remote
//! named by the caller; credentials are never written into a remote URL or
//! `.git/config`.

use std::path::{Path, PathBuf};

use crate::secret::Secret;
use crate::urls::Origin;
use git2::{
    AutotagOption, BranchType, Direction, Oid, PushOptions, RemoteCallbacks, RemoteRedirect,
    RemoteUpdateFlags, Repository, Signature, build::CheckoutBuilder,
};

/// The path a symbolic link at `link` with `target` leads to, when it
/// stays inside the repository (`None` for an absolute target, or one
/// whose `..` climb out).
fn join_inside(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') || target.contains('\\') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// A git failure, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{action}: {source}")]
    Git {
        action: String,
        #[source]
        source: git2::Error,
    },
    #[error("{0}")]
    Refused(String),
    /// An SSH host whose key `known_hosts` does not hold (or holds
    /// another of): nothing was sent to it.
    #[error("{0}")]
    HostKey(Box<ssh::HostKeyRefusal>),
    /// No SSH key to offer, or the host refused it.
    #[error("{0}")]
    SshAuth(String),
}

type Result<T, E = GitError> = std::result::Result<T, E>;

trait Context<T> {
    fn ctx(self, action: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, git2::Error> {
    fn ctx(self, action: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| GitError::Git {
            action: action(),
            source,
        })
    }
}

/// Make libgit2 read no git configuration but each repository's own: not
/// the system's (`/etc/gitconfig`), the user's (`~/.gitconfig`, XDG) nor
/// ProgramData's. A campaign then gives the same result on every machine
/// (no `core.autocrlf` turning the checkout's line endings, no
/// `url.<base>.insteadOf` sending a clone, and its token, to another host),
/// as the recipe's walk ignores the global gitignore. And libgit2 checks
/// whether each config file changed on every read of a setting: two files
/// fewer is some 150 system calls fewer per repository a launch prepares.
///
/// # Safety
/// libgit2's search paths are process-wide and unsynchronised: call this
/// while no other thread uses libgit2 (first thing in `main`).
pub unsafe fn ignore_user_config() {
    for level in [
        git2::ConfigLevel::System,
        git2::ConfigLevel::XDG,
        git2::ConfigLevel::Global,
        git2::ConfigLevel::ProgramData,
    ] {
        // SAFETY: the caller's promise: no other thread uses libgit2.
        if let Err(e) = unsafe { git2::opts::set_search_path(level, "") } {
            tracing::debug!("cannot clear libgit2's {level:?} config search path: {e}");
        }
    }
}

/// The trailer that marks a commit as made by fleetwright for a campaign.
pub const CAMPAIGN_TRAILER: &str = "Fleetwright-Campaign";

/// Who commits.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            name: "fleetwright".into(),
            email: "fleetwright@localhost".into(),
        }
    }
}

/// The folder of working clones, one per repository URL.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    access: Access,
}

/// A clone found in the cache by [`Workspace::clones`].
#[derive(Debug, Clone)]
pub struct CachedClone {
    /// Its folder's name in the cache ([`Workspace::clone_dir`]).
    pub folder: String,
    pub path: PathBuf,
    /// The URL it clones (redacted), when known.
    pub url: Option<String>,
    /// When a sync last used it.
    pub last_used: Option<std::time::SystemTime>,
}

/// What git may offer a remote that asks for credentials: one forge's
/// token, and the origins (scheme, host, port) of that forge's git hosts.
#[derive(Clone)]
pub struct GitCredentials {
    pub token: Secret,
    /// The user name sent with the token: `x-access-token` for GitHub,
    /// `oauth2` for GitLab.
    pub username: &'static str,
    /// Where the token may go; [`Origin::may_carry_token`] must hold too.
    pub origins: Vec<Origin>,
}

impl std::fmt::Debug for GitCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitCredentials")
            .field("token", &self.token)
            .field("origins", &self.origins)
            .finish()
    }
}

impl GitCredentials {
    /// Why the token must not go to `url`; `None` when it may.
    pub fn refusal(&self, url: &str) -> Option<String> {
        let shown = crate::urls::redact(url);
        let Some(origin) = Origin::parse(url) else {
            return Some(format!("{shown} is not an http(s) URL"));
        };
        if !origin.may_carry_token() {
            return Some(format!(
                "{shown} is plain http to another machine: a token goes only over https"
            ));
        }
        if !self.origins.contains(&origin) {
            let hosts: Vec<String> = self.origins.iter().map(|o| o.to_string()).collect();
            return Some(format!(
                "{origin} is not this forge's git host ({})",
                hosts.join(", ")
            ));
        }
        None
    }
}

/// What git may use to reach remotes: the forge's token for HTTP(S)
/// remotes on its hosts, the campaign's SSH settings (key, known hosts)
/// for SSH remotes, and the proxy settings of the environment. Shared by
/// the clones of a workspace, and replaceable (a GitHub App's token
/// expires within the hour).
///
/// The token is only ever handed to libgit2's credentials callback, never
/// put in a URL, a `.git/config`, a log line or an error, and only for a
/// URL on the forge's own git hosts, over https.
#[derive(Clone, Default)]
struct Access {
    credentials: std::sync::Arc<std::sync::RwLock<Option<GitCredentials>>>,
    ssh: std::sync::Arc<std::sync::RwLock<ssh::SshSettings>>,
    proxies: std::sync::Arc<std::sync::OnceLock<crate::proxy::ProxyEnv>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Access(***)")
    }
}

/// What the callbacks of one connection saw go wrong, kept aside because
/// libgit2 replaces a callback's message by its own ("invalid or unknown
/// remote ssh hostkey"): the error then says what fleetwright refused.
#[derive(Clone, Default)]
struct Refusals(std::sync::Arc<std::sync::Mutex<Option<GitError>>>);

impl Refusals {
    fn set(&self, error: GitError) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
    }

    /// `result`, with a refusal the callbacks recorded in place of
    /// libgit2's error.
    fn ctx<T>(
        &self,
        result: std::result::Result<T, git2::Error>,
        action: impl FnOnce() -> String,
    ) -> Result<T> {
        result.map_err(
            |source| match self.0.lock().unwrap_or_else(|e| e.into_inner()).take() {
                Some(refusal) => refusal,
                None => GitError::Git {
                    action: action(),
                    source,
                },
            },
        )
    }
}

impl Access {
    fn get(&self) -> Option<GitCredentials> {
        self.credentials
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn ssh_settings(&self) -> ssh::SshSettings {
        self.ssh.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The proxy options for a connection to `url` (the environment's
    /// proxy for it, else none: libgit2 reads no proxy by itself here).
    fn proxy_options<'a>(&self, url: &str) -> git2::ProxyOptions<'a> {
        let mut options = git2::ProxyOptions::new();
        let proxies = self.proxies.get_or_init(crate::proxy::ProxyEnv::from_env);
        if let Some(proxy) = proxies.for_url(url) {
            tracing::debug!(url = %crate::urls::redact(url), %proxy, "git goes through a proxy");
            options.url(proxy.url());
        }
        options
    }

    /// Callbacks for one connection to `url`.
    ///
    /// Over HTTP(S): a credentials request is answered with the token (as
    /// the forge's user name: `x-access-token` for GitHub, `oauth2` for
    /// GitLab), once, and only when
    /// the URL asking (libgit2 gives the URL after any redirect) is on one
    /// of the forge's git origins over https: a token the remote refuses is
    /// not offered again, and a host that is not the forge's gets nothing.
    ///
    /// Over SSH: the host key is checked against the known hosts file
    /// first (an unknown or changed key ends the connection before any
    /// credential is offered); then the campaign's key file, else the
    /// ssh-agent's keys, are offered once. The token never goes over SSH.
    fn callbacks<'a>(&self, url: &str) -> (RemoteCallbacks<'a>, Refusals) {
        let refusals = Refusals::default();
        let mut callbacks = RemoteCallbacks::new();
        if let Some(remote) = crate::urls::SshRemote::parse(url) {
            let settings = self.ssh_settings();
            let check = settings.clone();
            let seen = refusals.clone();
            let host = remote.clone();
            callbacks.certificate_check(move |cert, _hostname| {
                let Some(hostkey) = cert.as_hostkey() else {
                    return Ok(git2::CertificateCheckStatus::CertificatePassthrough);
                };
                let Some(key) = hostkey.hostkey() else {
                    seen.set(GitError::Refused(format!(
                        "the SSH host {host} sent no host key fleetwright could check; nothing was fetched or pushed"
                    )));
                    return Err(git2::Error::from_str("no host key to check"));
                };
                match ssh::check_host_key(&check, &host, key, hostkey.hash_sha256()) {
                    Ok(()) => Ok(git2::CertificateCheckStatus::CertificateOk),
                    Err(refusal) => {
                        tracing::debug!("{refusal}");
                        seen.set(GitError::HostKey(refusal));
                        Err(git2::Error::from_str("host key refused"))
                    }
                }
            });
            let seen = refusals.clone();
            let mut tried = false;
            callbacks.credentials(move |_url, user, allowed| {
                let user = user
                    .map(str::to_string)
                    .or_else(|| remote.user.clone())
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_else(|| "git".to_string());
                if allowed.contains(git2::CredentialType::USERNAME) {
                    return git2::Cred::username(&user);
                }
                if !allowed.contains(git2::CredentialType::SSH_KEY) {
                    let e = GitError::SshAuth(format!(
                        "the SSH host {remote} asks for a password or other credentials; fleetwright offers only keys (git.ssh.key, or ssh-agent)"
                    ));
                    seen.set(e);
                    return Err(git2::Error::from_str("no usable SSH credentials"));
                }
                if tried {
                    let what = match &settings.key {
                        Some(key) => format!("the key {}", key.display()),
                        None => "the ssh-agent's keys".to_string(),
                    };
                    seen.set(GitError::SshAuth(format!(
                        "the SSH host {remote} refused {what} for user `{user}`: add its public key to that account (for GitHub: Settings, SSH keys, or a deploy key with write access), or name another in the campaign's git.ssh.key"
                    )));
                    return Err(git2::Error::from_str("SSH key refused"));
                }
                tried = true;
                match &settings.key {
                    Some(key) => {
                        let passphrase = settings.passphrase().map_err(|why| {
                            seen.set(GitError::SshAuth(why));
                            git2::Error::from_str("no passphrase")
                        })?;
                        git2::Cred::ssh_key(
                            &user,
                            None,
                            key,
                            passphrase.as_ref().map(Secret::expose),
                        )
                        .inspect_err(|e| {
                            seen.set(GitError::SshAuth(format!(
                                "cannot use the SSH key {}: {} (a key protected by a passphrase needs git.ssh.passphrase_env)",
                                key.display(),
                                crate::secret::scrub(e.message())
                            )));
                        })
                    }
                    None => {
                        if std::env::var_os("SSH_AUTH_SOCK").is_none() {
                            seen.set(GitError::SshAuth(format!(
                                "{remote} is an SSH remote, and there is no key to offer: name a private key in the campaign (git: {{ssh: {{key: PATH}}}}) or start ssh-agent and add one (`eval $(ssh-agent) && ssh-add`)"
                            )));
                            return Err(git2::Error::from_str("no SSH key"));
                        }
                        git2::Cred::ssh_key_from_agent(&user)
                    }
                }
            });
            return (callbacks, refusals);
        }
        let credentials = self.get();
        let mut asked = false;
        callbacks.credentials(move |url, _user, allowed| {
            let Some(credentials) = credentials.as_ref() else {
                return Err(git2::Error::from_str(
                    "the remote asks for credentials and no token was given",
                ));
            };
            if let Some(why) = credentials.refusal(url) {
                tracing::warn!("a remote asked for credentials and got none: {why}");
                return Err(git2::Error::from_str(&format!(
                    "the remote asks for credentials and fleetwright offers none: {why}"
                )));
            }
            if asked {
                return Err(git2::Error::from_str("the remote refused the token"));
            }
            asked = true;
            if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
                git2::Cred::userpass_plaintext(credentials.username, credentials.token.expose())
            } else {
                Err(git2::Error::from_str(
                    "the remote asks for credentials other than a token",
                ))
            }
        });
        (callbacks, refusals)
    }
}

impl Workspace {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Workspace {
            root: root.into(),
            access: Access::default(),
        }
    }

    /// Offer these credentials to remotes that ask for them from now on
    /// (each time only if the remote is on one of their origins).
    pub fn set_credentials(&self, credentials: Option<GitCredentials>) {
        *self
            .access
            .credentials
            .write()
            .unwrap_or_else(|e| e.into_inner()) = credentials;
    }

    /// Reach SSH remotes with these settings from now on (the campaign's
    /// `git.ssh`: its key, else ssh-agent's; its known hosts file).
    pub fn set_ssh(&self, settings: ssh::SshSettings) {
        *self.access.ssh.write().unwrap_or_else(|e| e.into_inner()) = settings;
    }

    /// The folder a repository's clone lives in: its name made safe, plus a
    /// hash of its URL so that two repositories never share a folder.
    pub fn clone_dir(&self, url: &str, name: &str) -> PathBuf {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let safe = safe.trim_matches(['.', '-']).to_string();
        let hash = Oid::hash_object(git2::ObjectType::Blob, url.as_bytes())
            .map(|o| o.to_string()[..10].to_string())
            .unwrap_or_default();
        self.root.join(format!("{safe}-{hash}"))
    }

    /// The folder the clones live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every clone in the cache, as found on disk (unsorted): its folder,
    /// the URL it clones and when a sync last used it. An absent cache
    /// holds none.
    pub fn clones(&self) -> std::io::Result<Vec<CachedClone>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut clones = Vec::new();
        for entry in entries {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let path = entry.path();
            let git = path.join(".git");
            let stamp = git.join(USED_STAMP);
            // Clones from before the stamp: their last fetch, else the folder.
            let last_used = [stamp.as_path(), &git.join("FETCH_HEAD"), &path]
                .iter()
                .find_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
            let url = std::fs::read_to_string(&stamp)
                .ok()
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty())
                .or_else(|| {
                    let repo = Repository::open(&path).ok()?;
                    let remote = repo.find_remote("origin").ok()?;
                    remote
                        .url()
                        .ok()
                        .map(|u| crate::urls::redact(u).into_owned())
                });
            clones.push(CachedClone {
                folder: entry.file_name().to_string_lossy().into_owned(),
                path,
                url,
                last_used,
            });
        }
        Ok(clones)
    }

    /// Remove the clone in `folder` (a name [`Workspace::clones`] gave)
    /// unless a process (this one included) works in it: `false` then, and
    /// nothing is touched. Its lock file goes too.
    pub fn remove_clone(&self, folder: &str) -> Result<bool> {
        if folder.is_empty() || folder.contains('/') || folder == "." || folder == ".." {
            return Err(GitError::Refused(format!(
                "`{folder}` is not a clone folder of the cache"
            )));
        }
        let path = self.root.join(folder);
        let Some(guard) = CloneGuard::try_take(&path)? else {
            return Ok(false);
        };
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(GitError::Refused(format!(
                    "cannot remove the clone {}: {e}; check its permissions",
                    path.display()
                )));
            }
        }
        // Removed while held: a process waiting on it sees the file is gone
        // and locks the new one (`CloneGuard::lock`).
        let _ = std::fs::remove_file(PathBuf::from(format!("{}.lock", path.display())));
        drop(guard);
        Ok(true)
    }

    /// Clone `url` into the cache, or fetch it when already there, and find
    /// its default branch. Only the default branch is fetched (shallow over
    /// the network, see [`Workspace::sync_branch`]).
    pub fn sync(&self, url: &str, name: &str) -> Result<Checkout> {
        self.sync_inner(url, name, None)
    }

    /// [`Workspace::sync`], fetching the campaign `branch` too, deep enough
    /// that [`Checkout::remote_branch`] sees every commit the branch has and
    /// the default branch does not (up to its 50).
    ///
    /// Over HTTP(S) the fetch is shallow: depth 1 of
    /// both branches first, which is all there is to see when the branch
    /// does not exist or sits on the default branch's head. When the
    /// branch's history goes past what was fetched without meeting the
    /// default branch's (the default branch moved on, a person pushed on
    /// top, the branch was merged), both are fetched deeper (50, then 1000
    /// commits, then whole) until it does. libgit2's local transport cannot
    /// fetch shallow: a repository on this machine is fetched whole.
    pub fn sync_branch(&self, url: &str, name: &str, branch: &str) -> Result<Checkout> {
        self.sync_inner(url, name, Some(branch))
    }

    fn sync_inner(&self, url: &str, name: &str, branch: Option<&str>) -> Result<Checkout> {
        if let Some(local) = local_path(url)
            && !local.exists()
        {
            return Err(GitError::Refused(format!(
                "repository {url} does not exist on this machine; check the catalog's source-location for it"
            )));
        }
        let path = self.clone_dir(url, name);
        std::fs::create_dir_all(&self.root).map_err(|e| {
            GitError::Refused(format!(
                "cannot create the clone cache {}: {e}; check its permissions, or choose another with --cache",
                self.root.display()
            ))
        })?;
        // The lock first: a `cache prune` may be removing the folder.
        let guard = CloneGuard::take(&path)?;
        std::fs::create_dir_all(&path).map_err(|e| {
            GitError::Refused(format!(
                "cannot create the clone folder {}: {e}",
                path.display()
            ))
        })?;
        // A repository on this machine lends the clone its objects (git's
        // alternates, as `git clone --shared`): the fetch then finds every
        // object already there and copies none.
        let repo = match Repository::open(&path) {
            Ok(repo) => repo,
            Err(_) => init_clone(&path, url)?,
        };
        // (Before the first read of an object: libgit2 reads the alternates
        // when it first opens the object store.)
        if let Some(local) = local_path(url) {
            lend_objects(&path, &local)?;
        }
        stamp(&path, url);
        // Never follow a redirect to another host (the token would follow
        // it): libgit2 reads this for the connection below, which takes no
        // redirect option of its own. Not a secret: it may be on disk.
        // (Written only when missing: each write of the config is a file.)
        let mut config = repo.config().ctx(|| "read the clone's config".into())?;
        if config.get_bool("http.followRedirects").ok() != Some(false) {
            config
                .set_bool("http.followRedirects", false)
                .ctx(|| "refuse redirects to other hosts in the clone's config".into())?;
        }
        match repo.find_remote("origin") {
            Ok(remote) if remote.url().ok() == Some(url) => {}
            Ok(_) => repo
                .remote_set_url("origin", url)
                .ctx(|| "set the origin URL".into())?,
            Err(_) => {
                repo.remote("origin", url)
                    .ctx(|| "add the origin remote".into())?;
            }
        }
        // A repository on this machine is read directly (its objects are
        // borrowed already): libgit2's local transport would open it, list
        // every ref and negotiate a pack with itself, on each fetch and push.
        let origin = match local_path(url) {
            Some(local) => Some(LocalRepo::open(&local)?),
            None => None,
        };
        // libgit2's local transport refuses a depth; smart HTTP takes it.
        let shallow = origin.is_none();
        let mut deeper = DEEPER.iter().copied();
        let mut depth = if shallow { 1 } else { FULL };
        let (default_branch, base) = loop {
            let default_branch = match &origin {
                Some(origin) => origin.fetch_into(&repo, url, branch)?,
                None => self.fetch(&repo, url, branch, depth)?,
            };
            let base = repo
                .refname_to_id(&format!("refs/remotes/origin/{default_branch}"))
                .ctx(|| format!("find origin/{default_branch}"))?;
            let tip =
                branch.and_then(|b| repo.refname_to_id(&format!("refs/remotes/origin/{b}")).ok());
            let complete = match tip {
                Some(tip) if depth != FULL && depth != UNSHALLOW => {
                    branch_history_complete(&repo, tip, base)?
                }
                _ => true,
            };
            if complete {
                break (default_branch, base);
            }
            depth = deeper.next().unwrap_or(UNSHALLOW);
            tracing::debug!(%url, depth, "the campaign branch goes past the shallow history: fetching deeper");
        };
        Ok(Checkout {
            repo,
            path,
            default_branch,
            base,
            origin,
            access: self.access.clone(),
            _guard: guard,
        })
    }

    /// One fetch over one connection: read the remote's HEAD, download its
    /// default branch (and `branch`, when the remote has it) to `depth`,
    /// then update those remote-tracking branches and prune them when the
    /// remote no longer has them (what `Remote::fetch` does, but it would
    /// connect a second time). The default branch's name.
    fn fetch(
        &self,
        repo: &Repository,
        url: &str,
        branch: Option<&str>,
        depth: i32,
    ) -> Result<String> {
        let mut remote = repo.find_remote("origin").ctx(|| "find origin".into())?;
        let shown = crate::urls::redact(url);
        let (callbacks, refusals) = self.access.callbacks(url);
        let mut connection = refusals.ctx(
            remote.connect_auth(
                Direction::Fetch,
                Some(callbacks),
                Some(self.access.proxy_options(url)),
            ),
            || format!("connect to {shown}"),
        )?;
        let remote = connection.remote();
        let head = remote
            .default_branch()
            .ctx(|| format!("read the default branch of {url}"))?;
        let head = head.as_str().unwrap_or_default().to_string();
        let default_branch = head
            .strip_prefix("refs/heads/")
            .ok_or_else(|| {
                GitError::Refused(format!("{url} has no default branch (is it empty?)"))
            })?
            .to_string();
        let mut specs = vec![format!(
            "+refs/heads/{default_branch}:refs/remotes/origin/{default_branch}"
        )];
        if let Some(branch) = branch.filter(|b| *b != default_branch) {
            specs.push(format!("+refs/heads/{branch}:refs/remotes/origin/{branch}"));
        }
        let mut options = git2::FetchOptions::new();
        let (callbacks, refusals) = self.access.callbacks(url);
        options
            .remote_callbacks(callbacks)
            .proxy_options(self.access.proxy_options(url))
            .follow_redirects(RemoteRedirect::None)
            .download_tags(AutotagOption::None);
        // (Not even depth 0 on a whole fetch: libgit2 then writes and
        // removes a `shallow` file.)
        if depth != FULL {
            options.depth(depth);
        }
        refusals.ctx(remote.download(&specs, Some(&mut options)), || {
            format!("fetch {shown}")
        })?;
        remote
            .update_tips(
                None,
                // No FETCH_HEAD: nothing reads it.
                RemoteUpdateFlags::empty(),
                AutotagOption::None,
                None,
            )
            .ctx(|| format!("update the branches of {url}"))?;
        remote.disconnect().ctx(|| "disconnect".into())?;
        remote
            .prune(None)
            .ctx(|| format!("prune the branches {url} deleted"))?;
        Ok(default_branch)
    }
}

/// `depth` for "everything", on a transport that cannot fetch shallow.
const FULL: i32 = 0;
/// libgit2's `GIT_FETCH_DEPTH_UNSHALLOW`: the rest of the history.
const UNSHALLOW: i32 = i32::MAX;
/// How deep a shallow clone is fetched again, in turn, when the campaign
/// branch's history goes past the shallow history (then: whole).
const DEEPER: [i32; 2] = [50, 1000];

/// The file in a clone's `.git` whose time is the clone's last use (each
/// sync rewrites it) and whose text is the URL it clones.
pub const USED_STAMP: &str = "fleetwright-used";

/// Create a new clone's `.git` at `path`, its config written once, whole.
///
/// Not `git init`: libgit2's adds a template (description, hooks, exclude),
/// probes the file system with a scratch file and symlink, and rewrites the
/// config once per setting: some twenty files and folders per clone, and a
/// launch makes clones by the thousand, where creating files is most of
/// the time. What is written here is what `git` and libgit2 need to open a
/// repository (`HEAD`, `objects`, `refs`) and the settings fleetwright
/// relies on; [`Workspace::sync`] checks the origin URL after opening it.
fn init_clone(path: &Path, url: &str) -> Result<Repository> {
    let failed = |what: &str, e: std::io::Error| {
        GitError::Refused(format!(
            "cannot create the clone's {what} in {}: {e}",
            path.display()
        ))
    };
    let git = path.join(".git");
    // Made aside and renamed into place: a process killed half-way leaves
    // no `.git` that opens with an empty HEAD or config, only the folder
    // aside, which the next init (holding the clone's lock) starts again.
    let new = path.join(".git.new");
    for leftover in [&git, &new] {
        if std::fs::symlink_metadata(leftover).is_ok() {
            // Something is there that libgit2 cannot open: start it again.
            std::fs::remove_dir_all(leftover).map_err(|e| failed("folder", e))?;
        }
    }
    for dir in ["objects/pack", "refs"] {
        std::fs::create_dir_all(new.join(dir)).map_err(|e| failed(dir, e))?;
    }
    std::fs::write(new.join("HEAD"), "ref: refs/heads/main\n").map_err(|e| failed("HEAD", e))?;
    std::fs::write(new.join("config"), clone_config(url)).map_err(|e| failed("config", e))?;
    std::fs::rename(&new, &git).map_err(|e| failed(".git", e))?;
    Repository::open(path).ctx(|| format!("open the new clone {}", path.display()))
}

/// The config of a new clone: no reflogs (nobody reads them in the cache),
/// no redirects (see [`Workspace::sync`]), and `origin` at `url`.
fn clone_config(url: &str) -> String {
    format!(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n\
         [http]\n\tfollowRedirects = false\n\
         [remote \"origin\"]\n\turl = {}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
        config_value(url)
    )
}

/// `value` quoted for a git config file.
fn config_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Point the clone at `clone` to the object store of the repository at
/// `local` (on this machine) as an alternate, unless it already is.
fn lend_objects(clone: &Path, local: &Path) -> Result<()> {
    let objects = [local.join("objects"), local.join(".git/objects")]
        .into_iter()
        .find(|p| p.is_dir())
        .and_then(|p| p.canonicalize().ok())
        .ok_or_else(|| {
            GitError::Refused(format!(
                "{} is not a git repository (it has no objects folder)",
                local.display()
            ))
        })?;
    let Some(line) = objects.to_str().filter(|s| !s.contains('\n')) else {
        // Alternates are one path a line: such a path cannot be one.
        return Ok(());
    };
    let file = clone.join(".git/objects/info/alternates");
    let wanted = format!("{line}\n");
    if std::fs::read_to_string(&file).is_ok_and(|now| now == wanted) {
        return Ok(());
    }
    let failed =
        |e: std::io::Error| GitError::Refused(format!("cannot write {}: {e}", file.display()));
    std::fs::create_dir_all(clone.join(".git/objects/info")).map_err(failed)?;
    std::fs::write(&file, wanted).map_err(failed)
}

/// Mark the clone at `path` used now, for `fleetwright cache`.
fn stamp(path: &Path, url: &str) {
    let stamp = path.join(".git").join(USED_STAMP);
    if let Err(e) = std::fs::write(&stamp, format!("{}\n", crate::urls::redact(url))) {
        tracing::debug!(path = %stamp.display(), "cannot stamp the clone: {e}");
    }
}

/// Whether the walk [`Checkout::remote_branch`] makes from `tip`, hiding
/// the default branch at `base`, can be trusted in this shallow clone:
/// every commit it meets has each parent it names either met too or on
/// the default branch, so the walk ends where the branch leaves the
/// default branch. It cannot be trusted when it meets a commit whose
/// parents the shallow fetch cut off, or a root commit (which may be on
/// the default branch's history below what was fetched of it).
fn branch_history_complete(repo: &Repository, tip: Oid, base: Oid) -> Result<bool> {
    let mut walk = repo.revwalk().ctx(|| "walk the branch".into())?;
    walk.push(tip).ctx(|| "walk the branch".into())?;
    walk.hide(base).ok();
    let met: std::collections::HashSet<Oid> = walk
        .collect::<Result<_, _>>()
        .ctx(|| "walk the branch".into())?;
    for oid in &met {
        let commit = repo.find_commit(*oid).ctx(|| "read a commit".into())?;
        // The parents the commit names, not those the shallow file leaves it.
        let named: Vec<Oid> = commit
            .raw_header_bytes()
            .split(|b| *b == b'\n')
            .filter_map(|line| line.strip_prefix(b"parent "))
            .filter_map(|hex| std::str::from_utf8(hex).ok())
            .filter_map(|hex| Oid::from_str(hex.trim()).ok())
            .collect();
        if named.is_empty() {
            return Ok(false);
        }
        for parent in named {
            let known = met.contains(&parent)
                || parent == base
                || repo.graph_descendant_of(base, parent).unwrap_or(false);
            if !known {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// How many of a campaign branch's own commits are looked at.
const BRANCH_WALK: usize = 50;

/// The one process (and task) working in a clone: an exclusive `flock` on
/// `<clone>.lock`, held as long as the [`Checkout`]. Once it is held, a
/// git lock file inside the clone (`index.lock`, a ref's `.lock`) can only
/// be left over from a process that died holding it (SIGKILL, power loss),
/// so it is removed instead of failing every later run.
///
/// Within one process the lock is shared: a second `Checkout` of the same
/// clone (tests do this) reuses the held lock instead of waiting on itself.
#[derive(Debug, Clone)]
struct CloneGuard {
    _file: std::sync::Arc<std::fs::File>,
}

/// The clone locks this process holds, by lock file path.
static HELD: std::sync::Mutex<Vec<(PathBuf, std::sync::Weak<std::fs::File>)>> =
    std::sync::Mutex::new(Vec::new());

impl CloneGuard {
    /// Wait for the clone's lock and take it.
    fn take(clone: &Path) -> Result<CloneGuard> {
        Self::lock(clone, true).map(|guard| guard.expect("a blocking lock is taken"))
    }

    /// Take the clone's lock if nobody holds it, this process included;
    /// `None` when someone does.
    fn try_take(clone: &Path) -> Result<Option<CloneGuard>> {
        Self::lock(clone, false)
    }

    fn lock(clone: &Path, wait: bool) -> Result<Option<CloneGuard>> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let lock = PathBuf::from(format!("{}.lock", clone.display()));
        let held = || HELD.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut held = held();
            held.retain(|(_, file)| file.strong_count() > 0);
            if let Some(file) = held
                .iter()
                .find(|(path, _)| *path == lock)
                .and_then(|(_, file)| file.upgrade())
            {
                return Ok(wait.then_some(CloneGuard { _file: file }));
            }
        }
        let file = loop {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock)
                .map_err(|e| {
                    GitError::Refused(format!("cannot open the lock file {}: {e}", lock.display()))
                })?;
            let how = if wait {
                libc::LOCK_EX
            } else {
                libc::LOCK_EX | libc::LOCK_NB
            };
            // SAFETY: flock on a descriptor this function owns; waits (or
            // not) while another process works in the same clone.
            if unsafe { libc::flock(file.as_raw_fd(), how) } != 0 {
                let error = std::io::Error::last_os_error();
                if !wait && error.kind() == std::io::ErrorKind::WouldBlock {
                    return Ok(None);
                }
                return Err(GitError::Refused(format!(
                    "cannot lock the clone {}: {error}",
                    clone.display()
                )));
            }
            // A `cache prune` removes the lock file while it holds it: a
            // lock taken on the removed file locks nothing; take the new one.
            let same = match (file.metadata(), std::fs::metadata(&lock)) {
                (Ok(held), Ok(now)) => held.ino() == now.ino() && held.dev() == now.dev(),
                _ => false,
            };
            if same {
                break file;
            }
        };
        remove_stale_locks(&clone.join(".git"));
        let file = std::sync::Arc::new(file);
        held().push((lock, std::sync::Arc::downgrade(&file)));
        Ok(Some(CloneGuard { _file: file }))
    }
}

/// Remove git's `*.lock` files from a clone's `.git` folder and its
/// `refs` (never following symlinks).
fn remove_stale_locks(git_dir: &Path) {
    fn walk(dir: &Path, deep: bool) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let (path, Ok(kind)) = (entry.path(), entry.file_type()) else {
                continue;
            };
            if kind.is_file() && path.extension().is_some_and(|e| e == "lock") {
                tracing::warn!(path = %path.display(), "removing a lock file left by a process that died");
                let _ = std::fs::remove_file(&path);
            } else if kind.is_dir() && deep {
                walk(&path, true);
            }
        }
    }
    walk(git_dir, false);
    walk(&git_dir.join("refs"), true);
}

/// The remote of a clone when it is a repository on this machine (the
/// local forge's bare repositories, a path or `file://` URL): opened once
/// per sync, read and written directly. Its objects are the clone's
/// already (alternates), so a fetch only reads its branches, and a push
/// writes the clone's own new objects into it as one pack, then moves the
/// branch with a compare-and-swap: created only when absent, replaced only
/// when still where the caller saw it.
pub struct LocalRepo {
    repo: Repository,
    path: PathBuf,
}

impl LocalRepo {
    pub fn open(path: &Path) -> Result<LocalRepo> {
        let repo = Repository::open(path).ctx(|| format!("open {}", path.display()))?;
        Ok(LocalRepo {
            repo,
            path: path.to_path_buf(),
        })
    }

    /// What [`Workspace::fetch`] does over the network: point `clone`'s
    /// remote-tracking branches of the default branch (and `branch`) at
    /// where they are, forget those the remote deleted. The default
    /// branch's name.
    fn fetch_into(&self, clone: &Repository, url: &str, branch: Option<&str>) -> Result<String> {
        let head = self
            .repo
            .find_reference("HEAD")
            .ctx(|| format!("read the default branch of {url}"))?;
        let default_branch = head
            .symbolic_target()
            .ok()
            .flatten()
            .and_then(|t| t.strip_prefix("refs/heads/"))
            .map(str::to_string)
            .filter(|name| self.branch_head(name).ok().flatten().is_some())
            .ok_or_else(|| {
                GitError::Refused(format!("{url} has no default branch (is it empty?)"))
            })?;
        let mut wanted = vec![default_branch.as_str()];
        wanted.extend(branch.filter(|b| *b != default_branch));
        for name in wanted {
            let tracking = format!("refs/remotes/origin/{name}");
            match self.branch_head(name)? {
                Some(tip) if clone.refname_to_id(&tracking).ok() != Some(tip) => {
                    clone
                        .reference(&tracking, tip, true, "fleetwright: fetch")
                        .ctx(|| format!("update origin/{name}"))?;
                }
                Some(_) => {}
                None => delete_ref(clone, &tracking)?,
            }
        }
        // Prune: the remote-tracking branches of branches now gone.
        let tracked: Vec<String> = clone
            .references_glob("refs/remotes/origin/*")
            .ctx(|| "list the remote-tracking branches".into())?
            .filter_map(|r| Some(r.ok()?.name().ok()?.to_string()))
            .collect();
        for tracking in tracked {
            let name = &tracking["refs/remotes/origin/".len()..];
            if self.branch_head(name)?.is_none() {
                delete_ref(clone, &tracking)?;
            }
        }
        Ok(default_branch)
    }

    /// The tip of `branch`, `None` when there is no such branch.
    pub fn branch_head(&self, branch: &str) -> Result<Option<Oid>> {
        match self.repo.refname_to_id(&format!("refs/heads/{branch}")) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(GitError::Git {
                action: format!("read {branch} in {}", self.path.display()),
                source: e,
            }),
        }
    }

    /// Whether `branch` holds `commit` (is at it or descends from it).
    pub fn contains(&self, branch: &str, commit: Oid) -> Result<bool> {
        let tip = self
            .repo
            .refname_to_id(&format!("refs/heads/{branch}"))
            .ctx(|| format!("read {branch}"))?;
        Ok(tip == commit
            || self
                .repo
                .graph_descendant_of(tip, commit)
                .ctx(|| format!("compare {commit} with {branch}"))?)
    }

    /// Push `clone`'s local `branch` (made on `base`): its objects the
    /// remote lacks, as one pack, then the branch: created when `expected`
    /// is `None` (refused if it appeared meanwhile), else replaced only
    /// while it is still at `expected` (a lease).
    fn push_from(
        &self,
        clone: &Repository,
        base: Oid,
        branch: &str,
        expected: Option<Oid>,
    ) -> Result<()> {
        let refname = format!("refs/heads/{branch}");
        let tip = clone
            .refname_to_id(&refname)
            .ctx(|| format!("read the local {branch}"))?;
        let lock = self.path.join(format!("{refname}.lock"));
        if std::fs::symlink_metadata(&lock).is_ok_and(|m| m.is_file()) {
            // Left by a push that died (see `clear_local_branch_lock`).
            tracing::warn!(path = %lock.display(), "removing a lock file left by a push that died");
            let _ = std::fs::remove_file(&lock);
        }
        let odb = self.repo.odb().ctx(|| "open the remote's objects".into())?;
        let mut walk = clone.revwalk().ctx(|| format!("walk {branch}"))?;
        walk.push(tip).ctx(|| format!("walk {branch}"))?;
        for seen in [Some(base), expected].into_iter().flatten() {
            if odb.exists(seen) {
                walk.hide(seen).ctx(|| format!("walk {branch}"))?;
            }
        }
        let mut pack = clone.packbuilder().ctx(|| "pack the push".into())?;
        // `commit_edits` wrote the commit and its new objects here already,
        // as one pack: nothing to send then.
        if !odb.exists(tip) {
            pack.insert_walk(&mut walk).ctx(|| "pack the push".into())?;
        }
        if pack.object_count() > 0 {
            let mut writer = odb.packwriter().ctx(|| "write the push".into())?;
            let mut written = Ok(());
            pack.foreach(|chunk| {
                written = std::io::Write::write_all(&mut writer, chunk);
                written.is_ok()
            })
            .ctx(|| "write the push".into())?;
            written.map_err(|e| GitError::Refused(format!("cannot write the push: {e}")))?;
            writer.commit().ctx(|| "write the push".into())?;
        }
        let moved = match expected {
            None => self
                .repo
                .reference(&refname, tip, false, "fleetwright: push"),
            Some(expected) => {
                self.repo
                    .reference_matching(&refname, tip, true, expected, "fleetwright: push")
            }
        };
        match moved {
            // As a push over the network, the remote-tracking branch follows.
            Ok(_) => clone
                .reference(
                    &format!("refs/remotes/origin/{branch}"),
                    tip,
                    true,
                    "fleetwright: push",
                )
                .map(|_| ())
                .ctx(|| format!("update origin/{branch}")),
            Err(e) if e.code() == git2::ErrorCode::Exists => Err(GitError::Refused(format!(
                "the remote refused the push of {refname}: the branch appeared there meanwhile; not overwritten"
            ))),
            Err(e) if e.code() == git2::ErrorCode::Modified => {
                let now = self.branch_head(branch)?;
                Err(GitError::Refused(format!(
                    "{branch} moved on the remote (now at {}, expected {}); not overwritten",
                    now.map_or("nothing".to_string(), |o| o.to_string()),
                    expected.map_or("nothing".to_string(), |o| o.to_string()),
                )))
            }
            Err(e) => Err(GitError::Git {
                action: format!("push {branch}"),
                source: e,
            }),
        }
    }
}

/// Delete the reference `name` of `repo` when it exists.
fn delete_ref(repo: &Repository, name: &str) -> Result<()> {
    match repo.find_reference(name) {
        Ok(mut r) => r.delete().ctx(|| format!("delete {name}")),
        Err(_) => Ok(()),
    }
}

/// A working clone, fetched, positioned at nothing in particular yet.
pub struct Checkout {
    repo: Repository,
    /// The clone's working tree.
    pub path: PathBuf,
    /// The remote's default branch.
    pub default_branch: String,
    /// The head of the remote's default branch.
    pub base: Oid,
    /// The remote, when it is a repository on this machine.
    origin: Option<LocalRepo>,
    access: Access,
    _guard: CloneGuard,
}

/// What is on the remote under the campaign branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteBranch {
    /// No such branch.
    Absent,
    /// The branch exists and holds only commits of this campaign: its tip.
    Ours(Oid),
    /// The branch holds a commit of this campaign and commits someone else
    /// made (a person pushed a fix): its tip. Never overwritten.
    Shared(Oid),
    /// The branch exists and fleetwright did not make it.
    Foreign(Oid),
}

/// One change [`Checkout::commit_edits`] makes to the base tree. Paths are
/// relative, `/`-separated, and already checked (no `..`, no `.git`).
#[derive(Debug, Clone, Copy)]
pub enum TreeEdit<'a> {
    /// Create or replace the file at `path`.
    Write { path: &'a str, content: &'a [u8] },
    /// Remove the file at `path`.
    Remove { path: &'a str },
}

/// A file at the head of a clone's default branch, read from git objects
/// ([`Checkout::file_at_base`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAtBase {
    /// The file's bytes.
    File(Vec<u8>),
    /// Nothing at that path.
    Missing,
    /// Something that is not a file there (a folder, a submodule).
    NotAFile,
    /// A symbolic link leading out of the repository (or to another link):
    /// never followed.
    LinkOut(String),
    /// Larger than the limit asked for (its size in bytes).
    TooLarge(usize),
}

impl Checkout {
    /// The file at `path` (a relative path, `/`-separated) in the tree of
    /// the default branch's head, read from git objects (never the working
    /// tree, where a symlink could lead anywhere). A symbolic link is
    /// followed once when it leads to a file inside the repository;
    /// a file larger than `max` bytes is not read.
    pub fn file_at_base(&self, path: &str, max: usize) -> Result<FileAtBase> {
        let tree = self
            .repo
            .find_commit(self.base)
            .and_then(|c| c.tree())
            .ctx(|| format!("cannot read the tree of {}", self.base))?;
        let mut path = path.trim_start_matches("./").to_string();
        for hop in 0..2 {
            let entry = match tree.get_path(Path::new(&path)) {
                Ok(entry) => entry,
                Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(FileAtBase::Missing),
                Err(e) => return Err(e).ctx(|| format!("cannot look up {path}")),
            };
            let blob = match entry.to_object(&self.repo).map(|o| o.into_blob()) {
                Ok(Ok(blob)) => blob,
                Ok(Err(_)) => return Ok(FileAtBase::NotAFile),
                Err(e) => return Err(e).ctx(|| format!("cannot read {path}")),
            };
            if entry.filemode() != 0o120000 {
                if blob.size() > max {
                    return Ok(FileAtBase::TooLarge(blob.size()));
                }
                return Ok(FileAtBase::File(blob.content().to_vec()));
            }
            let target = String::from_utf8_lossy(blob.content()).into_owned();
            let inside = if hop == 0 {
                join_inside(&path, &target)
            } else {
                None
            };
            match inside {
                Some(next) => path = next,
                None => return Ok(FileAtBase::LinkOut(target)),
            }
        }
        Ok(FileAtBase::NotAFile)
    }

    /// What the remote holds under `branch` (as of the last fetch).
    pub fn remote_branch(&self, branch: &str, campaign: &str) -> Result<RemoteBranch> {
        let tip = match self
            .repo
            .find_branch(&format!("origin/{branch}"), BranchType::Remote)
        {
            Ok(b) => b.get().target(),
            Err(_) => return Ok(RemoteBranch::Absent),
        };
        let Some(tip) = tip else {
            return Ok(RemoteBranch::Absent);
        };
        // The commits only the branch has; when it was merged already, that
        // is none, and its tip tells.
        let mut walk = self.repo.revwalk().ctx(|| "walk the branch".into())?;
        walk.push(tip).ctx(|| "walk the branch".into())?;
        walk.hide(self.base).ok();
        let mut commits: Vec<Oid> = walk
            .take(BRANCH_WALK)
            .collect::<Result<_, _>>()
            .ctx(|| "walk the branch".into())?;
        if commits.is_empty() {
            commits.push(tip);
        }
        let mut ours = 0;
        for oid in &commits {
            let commit = self.repo.find_commit(*oid).ctx(|| "read a commit".into())?;
            if is_campaign_commit(commit.message().unwrap_or(""), campaign) {
                ours += 1;
            }
        }
        Ok(match ours {
            0 => RemoteBranch::Foreign(tip),
            n if n == commits.len() => RemoteBranch::Ours(tip),
            _ => RemoteBranch::Shared(tip),
        })
    }

    /// Put the working tree exactly at the default branch head: every local
    /// change and untracked file from an earlier run is gone.
    pub fn reset_to_base(&self) -> Result<()> {
        self.reset_to(self.base)
    }

    /// Put the working tree exactly at `commit` (as [`Checkout::reset_to_base`]).
    pub fn reset_to(&self, commit: Oid) -> Result<()> {
        self.repo
            .set_head_detached(commit)
            .ctx(|| "check out the default branch".into())?;
        let mut checkout = CheckoutBuilder::new();
        // No filters (`.gitattributes`' `eol`, `text`, `ident`): the recipe
        // reads each file as its blob holds it, and `commit_edits` stores
        // what the recipe wrote as it is, so a file's line endings change
        // only where the recipe changes them.
        checkout
            .force()
            .remove_untracked(true)
            .remove_ignored(true)
            .disable_filters(true);
        self.repo
            .checkout_head(Some(&mut checkout))
            .ctx(|| "check out the default branch".into())
    }

    /// The commit a branch at `tip` forked from the default branch: their
    /// merge base (the default branch's head when `tip` is on it).
    pub fn fork_point(&self, tip: Oid) -> Result<Oid> {
        self.repo
            .merge_base(tip, self.base)
            .ctx(|| format!("find where {tip} forked from {}", self.default_branch))
    }

    /// True when the tree of `tip` is the tree of `base` with `edits` made,
    /// and nothing else: every edited path holds what the edit says (a
    /// rewritten file keeps its mode, a new one is a plain file), and no
    /// other path differs. Nothing is written: blobs are compared by their
    /// ids.
    pub fn tree_is<'e>(
        &self,
        base: Oid,
        tip: Oid,
        edits: impl IntoIterator<Item = TreeEdit<'e>>,
    ) -> Result<bool> {
        let tree = |oid: Oid| {
            self.repo
                .find_commit(oid)
                .and_then(|c| c.tree())
                .ctx(|| format!("read the tree of {oid}"))
        };
        let (base_tree, tip_tree) = (tree(base)?, tree(tip)?);
        let mut expected: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        for edit in edits {
            match edit {
                TreeEdit::Write { path, content } => {
                    let before = base_tree.get_path(Path::new(path)).ok();
                    let blob = Oid::hash_object(git2::ObjectType::Blob, content)
                        .ctx(|| format!("hash {path}"))?;
                    let mode = match &before {
                        Some(e) if e.filemode() == i32::from(git2::FileMode::BlobExecutable) => {
                            i32::from(git2::FileMode::BlobExecutable)
                        }
                        _ => i32::from(git2::FileMode::Blob),
                    };
                    let now = tip_tree.get_path(Path::new(path)).ok();
                    if now.as_ref().map(|e| (e.id(), e.filemode())) != Some((blob, mode)) {
                        return Ok(false);
                    }
                    if before.map(|e| (e.id(), e.filemode())) != Some((blob, mode)) {
                        expected.insert(path.to_string());
                    }
                }
                TreeEdit::Remove { path } => {
                    if tip_tree.get_path(Path::new(path)).is_ok() {
                        return Ok(false);
                    }
                    if base_tree.get_path(Path::new(path)).is_ok() {
                        expected.insert(path.to_string());
                    }
                }
            }
        }
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&base_tree), Some(&tip_tree), None)
            .ctx(|| format!("compare {base} and {tip}"))?;
        let mut changed = std::collections::BTreeSet::new();
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(path) = file.path() {
                    changed.insert(path.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        Ok(changed == expected)
    }

    /// Commit `edits` on top of the base, made from them alone (not from the
    /// working tree: what else is there never reaches the commit), and point
    /// the local `branch` at it. `None` when they leave the tree as it was.
    ///
    /// A file keeps its mode (executable or not); a new one is a plain file.
    /// The new objects go into the clone as one pack, written before the
    /// branch points at them.
    pub fn commit_edits<'e>(
        &self,
        branch: &str,
        edits: impl IntoIterator<Item = TreeEdit<'e>>,
        message: &str,
        who: &Identity,
    ) -> Result<Option<Oid>> {
        let parent = self
            .repo
            .find_commit(self.base)
            .ctx(|| "read the base commit".into())?;
        let base_tree = parent.tree().ctx(|| "read the base tree".into())?;
        let odb = self.repo.odb().ctx(|| "open the object store".into())?;
        // Objects are made in memory, then written as one pack: a loose
        // object is a file (and a folder) each.
        let memory = odb
            .add_new_mempack_backend(1000)
            .ctx(|| "open an object store in memory".into())?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        for edit in edits {
            match edit {
                TreeEdit::Write { path, content } => {
                    let executable = base_tree
                        .get_path(Path::new(path))
                        .is_ok_and(|e| e.filemode() == i32::from(git2::FileMode::BlobExecutable));
                    let mode = if executable {
                        git2::FileMode::BlobExecutable
                    } else {
                        git2::FileMode::Blob
                    };
                    let blob = self.repo.blob(content).ctx(|| format!("store {path}"))?;
                    update.upsert(path, blob, mode);
                }
                TreeEdit::Remove { path } => {
                    update.remove(path);
                }
            }
        }
        let tree_id = update
            .create_updated(&self.repo, &base_tree)
            .ctx(|| "write the tree".into())?;
        if tree_id == base_tree.id() {
            return Ok(None);
        }
        let tree = self
            .repo
            .find_tree(tree_id)
            .ctx(|| "read the tree".into())?;
        let sig = Signature::now(&who.name, &who.email).ctx(|| "make the signature".into())?;
        let oid = self
            .repo
            .commit(None, &sig, &sig, message, &tree, &[&parent])
            .ctx(|| "commit".into())?;
        let mut pack = git2::Buf::new();
        memory
            .dump(&self.repo, &mut pack)
            .ctx(|| "pack the commit".into())?;
        // A remote on this machine lends the clone its objects: the pack
        // goes there, where the clone sees it too, and a push then only
        // moves the branch (no object becomes reachable on the remote
        // before that).
        let store = match &self.origin {
            Some(origin) => origin
                .repo
                .odb()
                .ctx(|| "open the remote's objects".into())?,
            None => self.repo.odb().ctx(|| "open the object store".into())?,
        };
        let mut writer = store
            .packwriter()
            .ctx(|| "write the commit's pack".into())?;
        std::io::Write::write_all(&mut writer, &pack)
            .map_err(|e| GitError::Refused(format!("cannot write the commit's pack: {e}")))?;
        writer.commit().ctx(|| "write the commit's pack".into())?;
        memory
            .reset()
            .ctx(|| "empty the object store in memory".into())?;
        self.repo
            .reference(
                &format!("refs/heads/{branch}"),
                oid,
                true,
                "fleetwright: prepare",
            )
            .ctx(|| format!("point {branch} at the commit"))?;
        Ok(Some(oid))
    }

    /// Push the local `branch` to the same name on origin. Never forces: a
    /// branch that appeared on the remote meanwhile makes this fail.
    pub fn push(&self, branch: &str) -> Result<()> {
        if let Some(origin) = &self.origin {
            return origin.push_from(&self.repo, self.base, branch, None);
        }
        let mut remote = self
            .repo
            .find_remote("origin")
            .ctx(|| "find origin".into())?;
        Self::clear_local_branch_lock(&remote, branch);
        let url = remote.url().unwrap_or_default().to_string();
        let mut rejection: Option<String> = None;
        {
            let (mut callbacks, refusals) = self.access.callbacks(&url);
            callbacks.push_update_reference(|refname, status| {
                if let Some(status) = status {
                    rejection = Some(format!("{refname}: {status}"));
                }
                Ok(())
            });
            let mut options = PushOptions::new();
            options.remote_callbacks(callbacks);
            options.proxy_options(self.access.proxy_options(&url));
            options.follow_redirects(RemoteRedirect::None);
            let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
            refusals.ctx(remote.push(&[spec.as_str()], Some(&mut options)), || {
                format!("push {branch}")
            })?;
        }
        match rejection {
            Some(why) => Err(GitError::Refused(format!(
                "the remote refused the push of {why}"
            ))),
            None => Ok(()),
        }
    }

    /// A repository on this machine (the local forge's bare repositories) is
    /// written by this process itself when it pushes: a push killed half-way
    /// leaves `refs/heads/<branch>.lock` there, and every later push of the
    /// branch would fail on it. The campaign branch is written only by the
    /// fleetwright that holds the campaign's lock, so such a file is stale.
    fn clear_local_branch_lock(remote: &git2::Remote<'_>, branch: &str) {
        let Some(bare) = remote.url().ok().and_then(local_path) else {
            return;
        };
        let lock = bare.join("refs/heads").join(format!("{branch}.lock"));
        if std::fs::symlink_metadata(&lock).is_ok_and(|m| m.is_file()) {
            tracing::warn!(path = %lock.display(), "removing a lock file left by a push that died");
            let _ = std::fs::remove_file(&lock);
        }
    }

    /// Replace the remote `branch`, which must still be at `expected` (a
    /// lease: if anyone pushed meanwhile, the remote's tip differs and
    /// nothing is pushed), with the local branch.
    pub fn force_push(&self, branch: &str, expected: Oid) -> Result<()> {
        if let Some(origin) = &self.origin {
            return origin.push_from(&self.repo, self.base, branch, Some(expected));
        }
        let mut remote = self
            .repo
            .find_remote("origin")
            .ctx(|| "find origin".into())?;
        Self::clear_local_branch_lock(&remote, branch);
        let url = remote.url().unwrap_or_default().to_string();
        let mut problem: Option<String> = None;
        let target = format!("refs/heads/{branch}");
        {
            let (mut callbacks, refusals) = self.access.callbacks(&url);
            callbacks.push_negotiation(|updates| {
                for update in updates {
                    if update.dst_refname().ok() == Some(target.as_str()) && update.src() != expected {
                        return Err(git2::Error::from_str(&format!(
                            "{branch} moved on the remote (now at {}, expected {expected}); not overwritten",
                            update.src()
                        )));
                    }
                }
                Ok(())
            });
            callbacks.push_update_reference(|refname, status| {
                if let Some(status) = status {
                    problem = Some(format!("{refname}: {status}"));
                }
                Ok(())
            });
            let mut options = PushOptions::new();
            options.remote_callbacks(callbacks);
            options.proxy_options(self.access.proxy_options(&url));
            options.follow_redirects(RemoteRedirect::None);
            let spec = format!("+refs/heads/{branch}:refs/heads/{branch}");
            refusals.ctx(remote.push(&[spec.as_str()], Some(&mut options)), || {
                format!("push {branch}")
            })?;
        }
        match problem {
            Some(why) => Err(GitError::Refused(format!(
                "the remote refused the push of {why}"
            ))),
            None => Ok(()),
        }
    }

    /// Whether two commits hold the same tree.
    pub fn same_tree(&self, a: Oid, b: Oid) -> Result<bool> {
        let tree = |oid| {
            self.repo
                .find_commit(oid)
                .map(|c| c.tree_id())
                .ctx(|| format!("read commit {oid}"))
        };
        Ok(tree(a)? == tree(b)?)
    }

    /// Paths changed between the base and `commit`, for the PR body.
    pub fn changed_paths(&self, commit: Oid) -> Result<Vec<String>> {
        let new = self
            .repo
            .find_commit(commit)
            .ctx(|| "read the commit".into())?;
        let old = self
            .repo
            .find_commit(self.base)
            .ctx(|| "read the base".into())?;
        let diff = self
            .repo
            .diff_tree_to_tree(
                Some(&old.tree().ctx(|| "read a tree".into())?),
                Some(&new.tree().ctx(|| "read a tree".into())?),
                None,
            )
            .ctx(|| "diff the commit".into())?;
        Ok(diff
            .deltas()
            .filter_map(|d| d.new_file().path().or(d.old_file().path()))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect())
    }
}

/// True when `message` carries the trailer of `campaign`.
pub fn is_campaign_commit(message: &str, campaign: &str) -> bool {
    message
        .lines()
        .any(|l| l.trim() == format!("{CAMPAIGN_TRAILER}: {campaign}"))
}

/// The filesystem path of a repository URL that names one on this machine:
/// a plain path or a `file://` URL. Never an SSH remote, scp-like ones
/// included (`host:org/repo.git`, with or without a user: a `:` before any
/// `/`, git's own rule), which would otherwise read as a relative path.
pub fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if url.contains("://") || crate::urls::SshRemote::parse(url).is_some() {
        return None;
    }
    Some(PathBuf::from(url))
}

/// Merge `head` into `base` inside a bare repository with a merge commit,
/// as a forge's merge button does. Fails on conflicts, touching nothing.
pub fn merge_in_bare(
    bare: &Path,
    head: &str,
    base: &str,
    message: &str,
    who: &Identity,
) -> Result<Oid> {
    let repo = Repository::open_bare(bare).ctx(|| format!("open {}", bare.display()))?;
    let base_ref = format!("refs/heads/{base}");
    let theirs = repo
        .find_reference(&format!("refs/heads/{head}"))
        .and_then(|r| r.peel_to_commit())
        .ctx(|| format!("find branch {head}"))?;
    let ours = repo
        .find_reference(&base_ref)
        .and_then(|r| r.peel_to_commit())
        .ctx(|| format!("find branch {base}"))?;
    let mut index = repo
        .merge_commits(&ours, &theirs, None)
        .ctx(|| format!("merge {head} into {base}"))?;
    if index.has_conflicts() {
        return Err(GitError::Refused(format!(
            "{head} conflicts with {base}; the branch needs a rebase before it can merge"
        )));
    }
    let tree_id = index
        .write_tree_to(&repo)
        .ctx(|| "write the merged tree".into())?;
    let tree = repo
        .find_tree(tree_id)
        .ctx(|| "read the merged tree".into())?;
    let sig = Signature::now(&who.name, &who.email).ctx(|| "make the signature".into())?;
    repo.commit(
        Some(&base_ref),
        &sig,
        &sig,
        message,
        &tree,
        &[&ours, &theirs],
    )
    .ctx(|| format!("commit the merge into {base}"))
}

#[cfg(all(test, feature = "sim"))]
mod shallow_tests;

pub mod ssh;

#[cfg(all(test, feature = "sim"))]
mod ssh_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn write<'a>(path: &'a str, content: &'a str) -> TreeEdit<'a> {
        TreeEdit::Write {
            path,
            content: content.as_bytes(),
        }
    }

    fn bare_with_commit(dir: &Path) -> PathBuf {
        let bare = dir.join("r.git");
        let repo = Repository::init_bare(&bare).unwrap();
        let sig = Signature::now("t", "t@t").unwrap();
        let mut tb = repo.treebuilder(None).unwrap();
        let blob = repo.blob(b"print('hi')\n").unwrap();
        tb.insert("app.py", blob, 0o100644).unwrap();
        let tree = repo.find_tree(tb.write().unwrap()).unwrap();
        repo.commit(Some("refs/heads/trunk"), &sig, &sig, "init", &tree, &[])
            .unwrap();
        repo.set_head("refs/heads/trunk").unwrap();
        bare
    }

    #[test]
    fn prepare_commit_push_and_merge_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let bare = bare_with_commit(dir.path());
        let url = bare.to_str().unwrap();
        let ws = Workspace::new(dir.path().join("cache"));
        let co = ws.sync(url, "acme/r").unwrap();
        assert_eq!(co.default_branch, "trunk");
        assert_eq!(co.remote_branch("fw/x", "c").unwrap(), RemoteBranch::Absent);
        co.reset_to_base().unwrap();
        let msg = format!("Change\n\n{CAMPAIGN_TRAILER}: c\n");
        let oid = co
            .commit_edits(
                "fw/x",
                [write("app.py", "print('bye')\n")],
                &msg,
                &Identity::default(),
            )
            .unwrap()
            .unwrap();
        co.push("fw/x").unwrap();
        assert_eq!(
            LocalRepo::open(&bare).unwrap().branch_head("fw/x").unwrap(),
            Some(oid)
        );
        assert_eq!(co.changed_paths(oid).unwrap(), ["app.py"]);

        // A second sync sees the branch as ours; a reset discards the edit.
        let co = ws.sync(url, "acme/r").unwrap();
        assert_eq!(
            co.remote_branch("fw/x", "c").unwrap(),
            RemoteBranch::Ours(oid)
        );
        assert!(matches!(
            co.remote_branch("fw/x", "other").unwrap(),
            RemoteBranch::Foreign(_)
        ));
        co.reset_to_base().unwrap();
        assert_eq!(
            std::fs::read_to_string(co.path.join("app.py")).unwrap(),
            "print('hi')\n"
        );
        assert_eq!(
            co.commit_edits(
                "fw/y",
                [write("app.py", "print('hi')\n")],
                "nothing",
                &Identity::default()
            )
            .unwrap(),
            None
        );

        let merge = merge_in_bare(&bare, "fw/x", "trunk", "Merge", &Identity::default()).unwrap();
        let repo = Repository::open_bare(&bare).unwrap();
        let merged = repo.find_commit(merge).unwrap();
        assert_eq!(merged.parent_count(), 2);
        assert_eq!(repo.refname_to_id("refs/heads/trunk").unwrap(), merge);
        let blob = merged
            .tree()
            .unwrap()
            .get_name("app.py")
            .unwrap()
            .to_object(&repo)
            .unwrap();
        assert_eq!(blob.as_blob().unwrap().content(), b"print('bye')\n");
    }

    #[test]
    fn a_sync_sees_new_branches_and_forgets_deleted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let bare = bare_with_commit(dir.path());
        let url = bare.to_str().unwrap();
        let ws = Workspace::new(dir.path().join("cache"));
        let co = ws.sync_branch(url, "r", "fw/x").unwrap();
        co.reset_to_base().unwrap();
        let msg = format!("m\n\n{CAMPAIGN_TRAILER}: c\n");
        let oid = co
            .commit_edits("fw/x", [write("app.py", "x\n")], &msg, &Identity::default())
            .unwrap()
            .unwrap();
        co.push("fw/x").unwrap();
        let co = ws.sync_branch(url, "r", "fw/x").unwrap();
        assert_eq!(
            co.remote_branch("fw/x", "c").unwrap(),
            RemoteBranch::Ours(oid)
        );
        Repository::open_bare(&bare)
            .unwrap()
            .find_reference("refs/heads/fw/x")
            .unwrap()
            .delete()
            .unwrap();
        let co = ws.sync_branch(url, "r", "fw/x").unwrap();
        assert_eq!(co.remote_branch("fw/x", "c").unwrap(), RemoteBranch::Absent);
    }

    #[test]
    fn a_push_never_overwrites_a_branch_that_appeared_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let bare = bare_with_commit(dir.path());
        let url = bare.to_str().unwrap();
        let a = Workspace::new(dir.path().join("a")).sync(url, "r").unwrap();
        let b = Workspace::new(dir.path().join("b")).sync(url, "r").unwrap();
        for (co, text) in [(&a, "one\n"), (&b, "two\n")] {
            co.reset_to_base().unwrap();
            co.commit_edits("fw/x", [write("app.py", text)], "m", &Identity::default())
                .unwrap()
                .unwrap();
        }
        a.push("fw/x").unwrap();
        let first = LocalRepo::open(&bare)
            .unwrap()
            .branch_head("fw/x")
            .unwrap()
            .unwrap();
        let err = b.push("fw/x").unwrap_err().to_string();
        assert!(err.contains("appeared there meanwhile"), "{err}");
        assert_eq!(
            LocalRepo::open(&bare).unwrap().branch_head("fw/x").unwrap(),
            Some(first)
        );

        // A force push holds a lease: it replaces the branch only while it
        // is where the caller saw it.
        b.force_push("fw/x", first).unwrap();
        let second = LocalRepo::open(&bare)
            .unwrap()
            .branch_head("fw/x")
            .unwrap()
            .unwrap();
        assert_ne!(second, first);
        a.commit_edits(
            "fw/x",
            [write("app.py", "three\n")],
            "m",
            &Identity::default(),
        )
        .unwrap()
        .unwrap();
        let err = a.force_push("fw/x", first).unwrap_err().to_string();
        assert!(err.contains("moved on the remote"), "{err}");
        assert_eq!(
            LocalRepo::open(&bare).unwrap().branch_head("fw/x").unwrap(),
            Some(second)
        );
        crate::sim::git_http::assert_fsck(&bare);
    }

    #[test]
    fn local_paths_are_told_apart_from_network_urls() {
        assert_eq!(
            local_path("file:///srv/r.git"),
            Some(PathBuf::from("/srv/r.git"))
        );
        assert_eq!(local_path("/srv/r.git"), Some(PathBuf::from("/srv/r.git")));
        assert_eq!(local_path("https://github.com/a/b.git"), None);
        assert_eq!(local_path("git@github.com:a/b.git"), None);
        // scp-like without a user is SSH too, as git reads it.
        assert_eq!(local_path("github.com:a/b.git"), None);
        assert_eq!(local_path("ssh://me@127.0.0.1:2222/srv/b.git"), None);
        assert_eq!(
            local_path("./x:y/b.git"),
            Some(PathBuf::from("./x:y/b.git"))
        );
        // A clone's folder name comes from the URL's hash: an SSH remote
        // and a path of the same spelling never share one.
        let ws = Workspace::new("/cache");
        assert_ne!(
            ws.clone_dir("git@h:org/b.git", "org/b"),
            ws.clone_dir("/srv/org/b.git", "org/b")
        );
    }
}
