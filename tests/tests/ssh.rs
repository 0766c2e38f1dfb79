//! Campaigns whose repositories are SSH remotes: the real binary against
//! the GitHub simulator for pull requests and a real sshd on loopback
//! (`fleetwright::sim::sshd`) serving the bare repositories, with a
//! passphrase-protected key file, with ssh-agent, and refusing a host
//! `known_hosts` does not hold.

use std::path::Path;

use fleetwright::sim::git_http::GitHttpServer;
use fleetwright::sim::sshd::{KeyPair, SshAgent, SshServer};

use crate::github::{TOKEN, files_holding, github_sandbox, run_raw, runtime};
use crate::util::{Sandbox, branch_head, run_in_env, states};

const PASSPHRASE: &str = "correct horse battery staple 42";

/// sshd serving the sandbox's bare repositories; the catalog names them by
/// their `ssh://` URL, and the campaign's `git.ssh` section is `ssh`
/// (YAML, indented under `git:`).
fn over_ssh(sb: &Sandbox, git: &GitHttpServer, ssh: &str) -> SshServer {
    let dir = sb.path().join("sshd");
    std::fs::create_dir_all(&dir).unwrap();
    let server = SshServer::start(&dir).unwrap_or_else(|e| panic!("cannot start sshd: {e}"));
    std::fs::write(sb.file("known_hosts"), server.known_hosts_line()).unwrap();
    let remotes = server.url(&sb.path().join("remotes"));
    // github_sandbox pointed the catalog at the git HTTP server.
    let http = format!("url:{}/remotes/", git.base_url());
    let mut replaced = false;
    for file in [
        "catalog/all.yaml",
        "catalog/team-a.yaml",
        "catalog/team-b.yaml",
    ] {
        if sb.file(file).exists() {
            let text = sb.read(file);
            replaced |= text.contains(&http);
            sb.write(file, &text.replace(&http, &format!("url:{remotes}/")));
        }
    }
    assert!(replaced, "no catalog entry named {http}");
    let campaign = sb.read("campaign.yaml");
    sb.write("campaign.yaml", &format!("{campaign}git:\n  ssh:\n{ssh}"));
    server
}

fn pushed(sb: &Sandbox, name: &str) -> bool {
    branch_head(&sb.bare(name), crate::util::BRANCH).is_some()
}

#[test]
fn a_github_campaign_clones_and_pushes_over_ssh_with_a_passphrase_protected_key() {
    let rt = runtime();
    let names = ["svc-a", "svc-b"];
    let (sb, sim, git) = github_sandbox(&rt, &names, "[rest]");
    let key = KeyPair::generate(&sb.path().join("deploy_key"), PASSPHRASE).unwrap();
    let server = over_ssh(
        &sb,
        &git,
        "    key: deploy_key\n    passphrase_env: DEPLOY_KEY_PASSPHRASE\n    known_hosts: known_hosts\n",
    );
    server.authorize(&key).unwrap();

    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[
            ("GH_E2E_TOKEN", TOKEN),
            ("DEPLOY_KEY_PASSPHRASE", PASSPHRASE),
        ],
        &["launch", "campaign.yaml"],
    );
    out.code(0);
    for name in names {
        assert!(pushed(&sb, name), "{name}: {out:?}\n{}", server.log());
        assert_eq!(sim.pulls("remotes", name).len(), 1, "{out:?}");
    }
    assert!(
        states(&sb.status()).values().all(|s| s == "pr_open"),
        "{:?}",
        sb.status()
    );
    // git went over SSH only: the HTTP git server saw nothing, and sshd let
    // the deploy key in.
    assert!(git.requests().is_empty(), "{:?}", git.requests());
    assert!(
        server.log().contains("Accepted publickey"),
        "{}",
        server.log()
    );
    // Neither the passphrase nor the token is written anywhere or printed.
    for secret in [PASSPHRASE, TOKEN] {
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
        let leaks = files_holding(sb.path(), secret);
        assert!(leaks.is_empty(), "written in {leaks:?}");
    }
}

#[test]
fn without_the_passphrase_the_target_fails_naming_the_variable() {
    let rt = runtime();
    let (sb, sim, git) = github_sandbox(&rt, &["svc-a"], "[rest]");
    let key = KeyPair::generate(&sb.path().join("deploy_key"), PASSPHRASE).unwrap();
    let server = over_ssh(
        &sb,
        &git,
        "    key: deploy_key\n    passphrase_env: DEPLOY_KEY_PASSPHRASE\n    known_hosts: known_hosts\n",
    );
    server.authorize(&key).unwrap();
    let out = run_raw(&sb, &["launch", "campaign.yaml"]);
    out.code(4);
    let status = sb.status();
    let reason = status.targets[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("DEPLOY_KEY_PASSPHRASE"), "{reason}");
    assert!(sim.pulls("remotes", "svc-a").is_empty());
}

#[test]
fn a_campaign_reaches_ssh_remotes_with_the_keys_of_ssh_agent() {
    let rt = runtime();
    let (sb, sim, git) = github_sandbox(&rt, &["svc-a"], "[rest]");
    let server = over_ssh(&sb, &git, "    known_hosts: known_hosts\n");
    let agent = SshAgent::start(&sb.path().join("sshd"), &server.user_key.private).unwrap();
    let socket = agent.socket.to_str().unwrap().to_string();
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("GH_E2E_TOKEN", TOKEN), ("SSH_AUTH_SOCK", &socket)],
        &["launch", "campaign.yaml"],
    );
    out.code(0);
    assert!(pushed(&sb, "svc-a"), "{out:?}\n{}", server.log());
    assert_eq!(sim.pulls("remotes", "svc-a").len(), 1);

    // Without an agent nor a key: the target fails saying what to do.
    let (sb, _sim, git) = github_sandbox(&rt, &["svc-b"], "[rest]");
    let _server = over_ssh(&sb, &git, "    known_hosts: known_hosts\n");
    let out = run_raw(&sb, &["launch", "campaign.yaml"]);
    out.code(4);
    let status = sb.status();
    let reason = status.targets[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("ssh-agent"), "{reason}");
    assert!(
        reason.contains("git.ssh") || reason.contains("key: PATH"),
        "{reason}"
    );
}

#[test]
fn a_host_missing_from_known_hosts_is_refused_and_nothing_is_pushed() {
    let rt = runtime();
    let (sb, sim, git) = github_sandbox(&rt, &["svc-a"], "[rest]");
    let server = over_ssh(
        &sb,
        &git,
        "    key: sshd/id_ed25519\n    known_hosts: known_hosts\n",
    );
    std::fs::write(sb.file("known_hosts"), "").unwrap();
    let out = run_raw(&sb, &["launch", "campaign.yaml"]);
    out.code(4);
    let status = sb.status();
    let target = &status.targets[0];
    assert_eq!(target.step.as_deref(), Some("clone"), "{target:?}");
    let reason = target.reason.clone().unwrap_or_default();
    assert!(reason.contains("SHA256:"), "{reason}");
    assert!(
        reason.contains(&format!("ssh-keyscan -p {} 127.0.0.1 >>", server.port)),
        "{reason}"
    );
    assert!(!pushed(&sb, "svc-a"));
    assert!(sim.pulls("remotes", "svc-a").is_empty());
    assert_eq!(std::fs::read_to_string(sb.file("known_hosts")).unwrap(), "");
    assert!(
        !server.log().contains("Accepted publickey"),
        "{}",
        server.log()
    );
}

#[test]
fn git_ssh_settings_are_checked_where_they_are_written() {
    let rt = runtime();
    let (sb, _sim, _git) = github_sandbox(&rt, &["svc-a"], "[rest]");
    let campaign = sb.read("campaign.yaml");
    sb.write(
        "campaign.yaml",
        &format!(
            "{campaign}git:\n  ssh:\n    key: missing_key\n    passphrase_env: \"not a name\"\n    known_hosts: nowhere/known_hosts\n"
        ),
    );
    let out = run_raw(&sb, &["plan", "campaign.yaml"]);
    out.code(3);
    for needle in [
        "git.ssh.key `missing_key` does not exist",
        "`not a name` is not an environment variable name",
        "git.ssh.known_hosts `nowhere/known_hosts` does not exist",
        "campaign.yaml:",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    let _ = Path::new("");
}

/// A loopback HTTP proxy that records the head of every request it gets
/// (for https: the `CONNECT host:port` and its headers) and answers 502,
/// so nothing gets through it.
struct RecordingProxy {
    port: u16,
    heads: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RecordingProxy {
    fn start(rt: &tokio::runtime::Runtime) -> RecordingProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = heads.clone();
        rt.spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    let _ = socket
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        RecordingProxy { port, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

#[test]
fn git_over_https_goes_through_https_proxy_as_a_connect_tunnel_and_no_proxy_is_honoured() {
    let rt = runtime();
    let (sb, sim, git) = github_sandbox(&rt, &["svc-a"], "[rest]");
    let proxy = RecordingProxy::start(&rt);
    // The repository on an https git host the forge names (`git_url`):
    // fleetwright would offer it the token, so the proxy must see only
    // where the tunnel goes.
    let campaign = sb.read("campaign.yaml");
    let git_url = format!("git_url: {}", git.base_url());
    sb.write(
        "campaign.yaml",
        &campaign.replace(&git_url, "git_url: https://git.example.test"),
    );
    for file in ["catalog/all.yaml", "catalog/team-a.yaml"] {
        if sb.file(file).exists() {
            let text = sb.read(file);
            sb.write(
                file,
                &text.replace(&git.base_url(), "https://git.example.test"),
            );
        }
    }
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let out = run_in_env(
        sb.path(),
        &sb.state_path(),
        &[("GH_E2E_TOKEN", TOKEN), ("https_proxy", &proxy_url)],
        &["launch", "campaign.yaml"],
    );
    out.code(4);
    let heads = proxy.heads();
    assert!(
        heads
            .iter()
            .any(|h| h.starts_with("CONNECT git.example.test:443 HTTP/1.1\r\n")),
        "{heads:?}\n{out:?}"
    );
    for head in &heads {
        assert!(head.starts_with("CONNECT "), "only tunnels: {head}");
        assert!(!head.contains(TOKEN), "the token reached the proxy: {head}");
        assert!(
            !head.to_ascii_lowercase().contains("authorization"),
            "{head}"
        );
    }
    assert!(sim.pulls("remotes", "svc-a").is_empty());
    // The API on loopback was never proxied (the launch reached it).
    assert!(heads.iter().all(|h| !h.contains("127.0.0.1")), "{heads:?}");

    // no_proxy (upper or lower case, a domain or the host): the same
    // launch goes direct (and fails on the name), never through the proxy.
    for (name, value) in [
        ("no_proxy", ".example.test"),
        ("NO_PROXY", "git.example.test"),
    ] {
        let before = proxy.heads().len();
        let (sb, _sim, git) = github_sandbox(&rt, &["svc-b"], "[rest]");
        let campaign = sb.read("campaign.yaml");
        let git_url = format!("git_url: {}", git.base_url());
        sb.write(
            "campaign.yaml",
            &campaign.replace(&git_url, "git_url: https://git.example.test"),
        );
        let text = sb.read("catalog/all.yaml");
        sb.write(
            "catalog/all.yaml",
            &text.replace(&git.base_url(), "https://git.example.test"),
        );
        let out = run_in_env(
            sb.path(),
            &sb.state_path(),
            &[
                ("GH_E2E_TOKEN", TOKEN),
                ("https_proxy", &proxy_url),
                (name, value),
            ],
            &["launch", "campaign.yaml"],
        );
        out.code(4);
        assert_eq!(
            proxy.heads().len(),
            before,
            "{name}={value}: {:?}",
            proxy.heads()
        );
    }
}

#[test]
fn the_github_api_goes_through_https_proxy_as_a_tunnel_that_never_sees_the_token() {
    use fleetwright::clock::ManualClock;
    use fleetwright::forge::github::{GitHubAuth, GitHubConfig, GitHubForge};
    use fleetwright::forge::{Forge, RepoRef};
    use fleetwright::proxy::ProxyEnv;
    use fleetwright::secret::Secret;

    let rt = runtime();
    let proxy = RecordingProxy::start(&rt);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let find = |no_proxy: Option<&'static str>| {
        let proxy_url = proxy_url.clone();
        let proxies = ProxyEnv::from_vars(move |name| match name {
            "https_proxy" => Some(proxy_url.clone()),
            "no_proxy" => no_proxy.map(str::to_string),
            _ => None,
        });
        rt.block_on(async {
            let forge = GitHubForge::new(GitHubConfig {
                api_url: "https://api.example.test".into(),
                clock: std::sync::Arc::new(ManualClock::new()),
                proxies: Some(proxies),
                ..GitHubConfig::new(GitHubAuth::Token(Secret::new(TOKEN)))
            })
            .unwrap();
            let repo = RepoRef {
                name: "acme/svc".into(),
                url: "https://api.example.test/acme/svc.git".into(),
            };
            forge.find_pull_request(&repo, "fleetwright/x").await
        })
    };
    let found = find(None);
    assert!(found.is_err(), "{found:?}");
    let heads = proxy.heads();
    assert!(!heads.is_empty(), "the API did not go through the proxy");
    for head in &heads {
        assert!(
            head.starts_with("CONNECT api.example.test:443 HTTP/1.1\r\n"),
            "{head}"
        );
        assert!(!head.contains(TOKEN), "the token reached the proxy: {head}");
        assert!(
            !head.to_ascii_lowercase().contains("authorization"),
            "{head}"
        );
    }
    // The error says where it went, and holds no token.
    let message = format!("{}", found.unwrap_err());
    assert!(!message.contains(TOKEN), "{message}");

    // no_proxy: direct (the name does not resolve), never the proxy.
    let before = proxy.heads().len();
    assert!(find(Some("example.test")).is_err());
    assert_eq!(proxy.heads().len(), before, "{:?}", proxy.heads());
}

/// The `CONNECT` heads `proxy` recorded are for `host:443` only, with no
/// token and no `Authorization` header in them.
fn only_tunnels_to(proxy: &RecordingProxy, host: &str) {
    let heads = proxy.heads();
    assert!(!heads.is_empty(), "nothing went through the proxy");
    for head in &heads {
        assert!(
            head.starts_with(&format!("CONNECT {host}:443 HTTP/1.1\r\n")),
            "{head}"
        );
        assert!(!head.contains(TOKEN), "the token reached the proxy: {head}");
        assert!(
            !head.to_ascii_lowercase().contains("authorization"),
            "{head}"
        );
    }
}

/// The proxies of an environment with `https_proxy` set to `proxy`, and
/// `no_proxy` when given.
fn proxies_to(
    proxy: &RecordingProxy,
    no_proxy: Option<&'static str>,
) -> fleetwright::proxy::ProxyEnv {
    let url = format!("http://127.0.0.1:{}", proxy.port);
    fleetwright::proxy::ProxyEnv::from_vars(move |name| match name {
        "https_proxy" => Some(url.clone()),
        "no_proxy" => no_proxy.map(str::to_string),
        _ => None,
    })
}

#[test]
fn the_gitlab_api_and_the_live_catalog_go_through_https_proxy_as_tunnels() {
    use fleetwright::backstage::BackstageSource;
    use fleetwright::backstage::Client;
    use fleetwright::forge::gitlab::{GitLabConfig, GitLabForge};
    use fleetwright::forge::{Forge, RepoRef};
    use fleetwright::secret::Secret;

    let rt = runtime();
    let proxy = RecordingProxy::start(&rt);
    let gitlab = |no_proxy| {
        rt.block_on(async {
            let forge = GitLabForge::new(GitLabConfig {
                api_url: "https://gitlab.example.test/api/v4".into(),
                proxies: Some(proxies_to(&proxy, no_proxy)),
                ..GitLabConfig::new(Secret::new(TOKEN))
            })
            .unwrap();
            let repo = RepoRef {
                name: "acme/svc".into(),
                url: "https://gitlab.example.test/acme/svc.git".into(),
            };
            forge.find_pull_request(&repo, "fleetwright/x").await
        })
    };
    let found = gitlab(None);
    assert!(found.is_err(), "{found:?}");
    assert!(!format!("{}", found.unwrap_err()).contains(TOKEN));
    only_tunnels_to(&proxy, "gitlab.example.test");
    // no_proxy: direct (the name does not resolve), never the proxy.
    let before = proxy.heads().len();
    assert!(gitlab(Some("example.test")).is_err());
    assert_eq!(proxy.heads().len(), before);

    let proxy = RecordingProxy::start(&rt);
    let source = BackstageSource {
        url: "https://backstage.example.test".into(),
        token_env: "BACKSTAGE_TOKEN".into(),
        filter: Vec::new(),
    };
    let read = rt.block_on(async {
        Client::with_proxies(&source, Secret::new(TOKEN), &proxies_to(&proxy, None))
            .unwrap()
            .read(&mut |_| {})
            .await
    });
    assert!(read.is_err());
    assert!(!format!("{}", read.err().unwrap()).contains(TOKEN));
    only_tunnels_to(&proxy, "backstage.example.test");
}
