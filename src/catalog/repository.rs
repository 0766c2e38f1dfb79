//! From a component's annotations to the repository git will clone.

use std::path::{Path, PathBuf};

use crate::paths::normalize;

use super::entity::Repository;

pub(super) const PROJECT_SLUG: &str = "github.com/project-slug";
pub(super) const SOURCE_LOCATION: &str = "backstage.io/source-location";

/// A repository named by a source location, and whether it is a local path.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Located {
    pub repository: Repository,
    pub local: bool,
}

/// `github.com/project-slug: org/repo`.
pub(super) fn from_project_slug(slug: &str) -> Result<Repository, String> {
    let slug = slug.trim().trim_end_matches('/');
    let parts: Vec<&str> = slug.split('/').collect();
    match parts.as_slice() {
        [org, repo] if valid_segment(org) && valid_segment(repo) => {
            let repo = repo.strip_suffix(".git").unwrap_or(repo);
            Ok(Repository {
                url: format!("https://github.com/{org}/{repo}.git"),
                name: format!("{org}/{repo}"),
            })
        }
        _ => Err(format!(
            "{PROJECT_SLUG} `{slug}` is not of the form `org/repo`"
        )),
    }
}

/// `backstage.io/source-location: url:<where>`; relative paths are taken from
/// `base_dir` (the directory of the catalog file, absolute; `None` for an
/// entity read from a live catalog, where a relative path names nothing).
pub(super) fn from_source_location(
    value: &str,
    base_dir: Option<&Path>,
) -> Result<Located, String> {
    let value = value.trim();
    // Strip the location type once: the rest may itself hold `https:`.
    let target = value.strip_prefix("url:").unwrap_or(value);
    if crate::urls::has_userinfo(target) {
        return Err(format!(
            "{SOURCE_LOCATION} `{}` holds credentials: they would be echoed into output, the state, reports and .git/config, and offered to whatever host the URL names",
            crate::urls::redact(value)
        ));
    }
    let remote = |repository| {
        Ok(Located {
            repository,
            local: false,
        })
    };
    let local = |path: PathBuf| {
        local_repository(&path).map(|repository| Located {
            repository,
            local: true,
        })
    };
    if let Some(path) = target.strip_prefix("file://") {
        if path.starts_with('/') {
            return local(PathBuf::from(path));
        }
        return Err(format!(
            "{SOURCE_LOCATION} `{value}`: a file URL needs an absolute path (`file:///...`)"
        ));
    }
    if ["http://", "https://", "ssh://", "git://"]
        .iter()
        .any(|s| target.starts_with(s))
    {
        return web_repository(target)
            .map_or_else(|e| Err(format!("{SOURCE_LOCATION} `{value}`: {e}")), remote);
    }
    if let Some(path) = scp_path(target) {
        return repository_from_path(target, path)
            .map_or_else(|e| Err(format!("{SOURCE_LOCATION} `{value}`: {e}")), remote);
    }
    if target.starts_with('/') {
        return local(PathBuf::from(target));
    }
    if target == "." || target == ".." || target.starts_with("./") || target.starts_with("../") {
        return match base_dir {
            Some(base) => local(base.join(target)),
            None => Err(format!(
                "{SOURCE_LOCATION} `{value}` is a relative path, which names no repository in an entity read from Backstage: write the repository's URL (`url:https://host/org/repo/`)"
            )),
        };
    }
    Err(format!(
        "{SOURCE_LOCATION} `{value}` is neither a URL nor a path (write `url:https://host/org/repo` or `url:./relative/path`)"
    ))
}

/// A web URL with any `/tree/<ref>/...`-style suffix, query and fragment cut.
fn web_repository(url: &str) -> Result<Repository, String> {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = cut_ref_suffix(path).trim_end_matches('/');
    let base = format!("{scheme}://{host}/{path}");
    repository_from_path(&base, path)
}

/// The path of an scp-like SSH remote, `git@host:org/repo.git` or
/// `host:org/repo.git` (a `:` before any `/`, as git reads it).
fn scp_path(target: &str) -> Option<&str> {
    crate::urls::SshRemote::parse(target)?;
    target.split_once(':').map(|(_, path)| path)
}

/// Cut `/tree/<ref>/...`, `/blob/...`, `/-/tree/...`, `/src/...` from a path
/// (never at its first segment, which may be an org named `tree`).
fn cut_ref_suffix(path: &str) -> &str {
    let markers = ["/-/tree/", "/-/blob/", "/-/", "/tree/", "/blob/", "/src/"];
    let first_slash = path.find('/').unwrap_or(path.len());
    markers
        .iter()
        .filter_map(|m| path[first_slash..].find(m).map(|i| first_slash + i))
        .min()
        .map_or(path, |cut| &path[..cut])
}

/// `url` stays what git clones (with `.git` added); the name is the last two
/// segments of `path`.
fn repository_from_path(url: &str, path: &str) -> Result<Repository, String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let [.., org, repo] = segments.as_slice() else {
        return Err("expected a repository path like `org/repo`".to_string());
    };
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    let url = url.trim_end_matches('/');
    let url = if url.ends_with(".git") {
        url.to_string()
    } else {
        format!("{url}.git")
    };
    Ok(Repository {
        url,
        name: format!("{org}/{repo}"),
    })
}

fn local_repository(path: &Path) -> Result<Repository, String> {
    let path = normalize(path);
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("`{}` does not name a repository directory", path.display()))?;
    let name = file_name
        .strip_suffix(".git")
        .unwrap_or(file_name)
        .to_string();
    Ok(Repository {
        url: path.to_string_lossy().into_owned(),
        name,
    })
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty() && !s.contains(char::is_whitespace) && s != "." && s != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(value: &str) -> Located {
        from_source_location(value, Some(Path::new("/fleet/catalog"))).unwrap()
    }

    #[test]
    fn project_slug_gives_a_github_url() {
        let r = from_project_slug("acme/artists").unwrap();
        assert_eq!(r.url, "https://github.com/acme/artists.git");
        assert_eq!(r.name, "acme/artists");
        assert!(from_project_slug("acme").is_err());
        assert!(from_project_slug("a/b/c").is_err());
    }

    #[test]
    fn github_tree_suffix_is_cut() {
        let l = located("url:https://github.com/acme/billing/tree/main/");
        assert_eq!(l.repository.url, "https://github.com/acme/billing.git");
        assert_eq!(l.repository.name, "acme/billing");
        assert!(!l.local);
        let l = located("url:https://github.com/acme/billing/blob/main/catalog-info.yaml");
        assert_eq!(l.repository.name, "acme/billing");
    }

    #[test]
    fn url_prefix_is_stripped_once_and_gitlab_suffix_is_cut() {
        let l = located("url:https://gitlab.example.com/g/sub/repo/-/tree/main/");
        assert_eq!(
            l.repository.url,
            "https://gitlab.example.com/g/sub/repo.git"
        );
        assert_eq!(l.repository.name, "sub/repo");
        let l = located("url:https://gitlab.example.com:8443/g/repo.git");
        assert_eq!(
            l.repository.url,
            "https://gitlab.example.com:8443/g/repo.git"
        );
        assert_eq!(l.repository.name, "g/repo");
    }

    #[test]
    fn scp_urls_are_remote() {
        let l = located("url:git@github.com:acme/tools.git");
        assert_eq!(l.repository.url, "git@github.com:acme/tools.git");
        assert_eq!(l.repository.name, "acme/tools");
        let l = located("url:github.com:acme/tools.git");
        assert_eq!(l.repository.url, "github.com:acme/tools.git");
        assert_eq!(l.repository.name, "acme/tools");
        assert!(!l.local);
        let l = located("url:ssh://git@github.com:2222/acme/tools.git");
        assert_eq!(l.repository.url, "ssh://git@github.com:2222/acme/tools.git");
        assert_eq!(l.repository.name, "acme/tools");
    }

    #[test]
    fn local_paths_are_absolute_and_named_by_directory() {
        let l = located("url:../remotes/billing-api.git/");
        assert_eq!(l.repository.url, "/fleet/remotes/billing-api.git");
        assert_eq!(l.repository.name, "billing-api");
        assert!(l.local);
        assert_eq!(located("url:./r/x").repository.url, "/fleet/catalog/r/x");
        assert_eq!(
            located("url:file:///srv/git/a.git").repository.url,
            "/srv/git/a.git"
        );
        assert_eq!(located("url:/srv/git/b").repository.name, "b");
    }

    #[test]
    fn nonsense_is_an_error_not_a_panic() {
        for bad in [
            "url:",
            "url:host/org/repo",
            "url:https://github.com/",
            "url:https://",
            "url:file://x",
        ] {
            assert!(
                from_source_location(bad, Some(Path::new("/"))).is_err(),
                "{bad}"
            );
        }
        assert!(from_source_location("url:./x", None).is_err());
        assert!(from_source_location("url:/srv/git/b", None).is_ok());
    }
}
