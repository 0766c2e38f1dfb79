//! GitHub's JSON shapes, built from the simulator's model.
//!
//! Each shape follows GitHub's documented example for its endpoint (REST
//! v3, API version 2022-11-28): every field GitHub sends for what the
//! simulator knows, so any client model that reads GitHub reads these.
//! URLs point at the simulator (`api`) and its web pages (`web`, the same
//! server). The list of pull requests uses GitHub's shorter
//! "pull-request-simple" shape, without `merged`, `mergeable` or counts,
//! exactly as GitHub does.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::model::{
    CheckRun, CommitStatus, Label, PullState, Repo, SimComment, SimIssue, SimPull, SimReview,
};

/// Where the simulator's URLs point.
#[derive(Debug, Clone)]
pub(super) struct Urls {
    /// API root, e.g. `http://127.0.0.1:PORT`.
    pub api: String,
    /// Web root for `html_url`s (the same server).
    pub web: String,
    /// Root of clone URLs: `{git}/{owner}/{repo}.git`.
    pub git: String,
}

impl Urls {
    fn repo_api(&self, repo: &Repo) -> String {
        format!("{}/repos/{}/{}", self.api, repo.owner, repo.name)
    }

    fn repo_web(&self, repo: &Repo) -> String {
        format!("{}/{}/{}", self.web, repo.owner, repo.name)
    }

    fn pull_web(&self, repo: &Repo, number: u64) -> String {
        format!("{}/pull/{number}", self.repo_web(repo))
    }
}

/// RFC 3339 UTC to the second, as GitHub writes times.
pub(super) fn time(at: SystemTime) -> String {
    let stamp = jiff::Timestamp::try_from(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    jiff::Timestamp::from_second(stamp.as_second())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

fn opt_time(at: Option<SystemTime>) -> Value {
    at.map_or(Value::Null, |t| Value::String(time(t)))
}

/// The body of every error: `{"message", "documentation_url", "status"}`.
pub(super) fn error(message: &str, status: u16) -> Value {
    json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.to_string(),
    })
}

/// A 422 body: `Validation Failed` with GitHub's `errors` list.
pub(super) fn validation_failed(errors: Vec<Value>) -> Value {
    json!({
        "message": "Validation Failed",
        "errors": errors,
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        "status": "422",
    })
}

/// A simple user (or organization, or bot when the login ends `[bot]`).
pub(super) fn user(urls: &Urls, login: &str, kind: &str) -> Value {
    let kind = if login.ends_with("[bot]") {
        "Bot"
    } else {
        kind
    };
    let id = super::model::stable_hash(login) % 100_000_000;
    let api = format!("{}/users/{login}", urls.api);
    json!({
        "login": login,
        "id": id,
        "node_id": format!("U_sim{id}"),
        "avatar_url": format!("{}/avatars/{login}", urls.web),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{}/{login}", urls.web),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// The `*_url` templates of a repository, relative to its API URL.
const REPO_URL_TEMPLATES: &[(&str, &str)] = &[
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
];

/// A full repository (`GET /repos/{owner}/{repo}`).
pub(super) fn repository(urls: &Urls, repo: &Repo) -> Value {
    let api = urls.repo_api(repo);
    let web = urls.repo_web(repo);
    let open = repo
        .pulls
        .iter()
        .filter(|p| p.state == PullState::Open)
        .count();
    // Two halves: one `json!` this size passes serde_json's macro recursion
    // limit.
    let identity = json!({
        "id": repo.id,
        "node_id": format!("R_sim{}", repo.id),
        "name": repo.name,
        "full_name": repo.full_name(),
        "owner": user(urls, &repo.owner, "Organization"),
        "private": true,
        "html_url": web,
        "description": null,
        "fork": false,
        "url": api,
        "git_url": format!("{}/{}.git", urls.git, repo.full_name()),
        "ssh_url": format!("git@127.0.0.1:{}.git", repo.full_name()),
    });
    let rest = json!({
        "clone_url": format!("{}/{}.git", urls.git, repo.full_name()),
        "mirror_url": null,
        "hooks_url": format!("{api}/hooks"),
        "svn_url": web,
        "homepage": null,
        "language": null,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues_count": open,
        "open_issues": open,
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": false,
        "has_wiki": false,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "visibility": "private",
        "pushed_at": time(repo.created_at),
        "created_at": time(repo.created_at),
        "updated_at": time(repo.created_at),
        "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
        "allow_rebase_merge": true,
        "allow_squash_merge": true,
        "allow_merge_commit": true,
        "allow_auto_merge": false,
        "allow_update_branch": false,
        "allow_forking": false,
        "delete_branch_on_merge": false,
        "web_commit_signoff_required": false,
        "license": null,
        "network_count": 0,
        "subscribers_count": 0,
    });
    let mut value = merge(identity, rest);
    for (key, template) in REPO_URL_TEMPLATES {
        value[*key] = Value::String(format!("{api}{template}"));
    }
    value
}

/// `a` with the fields of `b` added (both objects).
fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(map), Value::Object(more)) = (&mut a, b) {
        map.extend(more);
    }
    a
}

/// A repository as embedded in `head`/`base` of a check run's pull
/// requests: GitHub sends only these three fields there.
fn repo_minimal(urls: &Urls, repo: &Repo) -> Value {
    json!({"id": repo.id, "url": urls.repo_api(repo), "name": repo.name})
}

/// A label.
pub(super) fn label(urls: &Urls, repo: &Repo, name: &str, label: &Label) -> Value {
    json!({
        "id": label.id,
        "node_id": format!("LA_sim{}", label.id),
        "url": format!("{}/labels/{}", urls.repo_api(repo), encode_component(name)),
        "name": name,
        "description": null,
        "color": label.color,
        "default": false,
    })
}

/// The labels of a pull request.
pub(super) fn labels(urls: &Urls, repo: &Repo, pull: &SimPull) -> Value {
    let list = pull.labels.iter().filter_map(|name| {
        let known = repo.labels.get(name)?;
        Some(label(urls, repo, name, known))
    });
    Value::Array(list.collect())
}

fn users(urls: &Urls, logins: &[String]) -> Value {
    Value::Array(logins.iter().map(|l| user(urls, l, "User")).collect())
}

/// A team as listed in `requested_teams`.
fn team(urls: &Urls, org: &str, slug: &str) -> Value {
    let id = super::model::stable_hash(&format!("{org}/{slug}")) % 10_000_000;
    let api = format!("{}/orgs/{org}/teams/{slug}", urls.api);
    json!({
        "id": id,
        "node_id": format!("T_sim{id}"),
        "url": api,
        "html_url": format!("{}/orgs/{org}/teams/{slug}", urls.web),
        "name": slug,
        "slug": slug,
        "description": null,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": format!("{api}/members{{/member}}"),
        "repositories_url": format!("{api}/repos"),
        "parent": null,
    })
}

fn state_word(pull: &SimPull) -> &'static str {
    match pull.state {
        PullState::Open => "open",
        PullState::Closed | PullState::Merged => "closed",
    }
}

fn branch(urls: &Urls, repo: &Repo, name: &str, sha: &str) -> Value {
    json!({
        "label": format!("{}:{name}", repo.owner),
        "ref": name,
        "sha": sha,
        "user": user(urls, &repo.owner, "Organization"),
        "repo": repository(urls, repo),
    })
}

fn pull_links(urls: &Urls, repo: &Repo, pull: &SimPull) -> Value {
    let api = urls.repo_api(repo);
    let n = pull.number;
    json!({
        "self": {"href": format!("{api}/pulls/{n}")},
        "html": {"href": urls.pull_web(repo, n)},
        "issue": {"href": format!("{api}/issues/{n}")},
        "comments": {"href": format!("{api}/issues/{n}/comments")},
        "review_comments": {"href": format!("{api}/pulls/{n}/comments")},
        "review_comment": {"href": format!("{api}/pulls/comments{{/number}}")},
        "commits": {"href": format!("{api}/pulls/{n}/commits")},
        "statuses": {"href": format!("{api}/statuses/{}", pull.head_sha)},
    })
}

/// A pull request in the short shape of `GET .../pulls`.
pub(super) fn pull_simple(urls: &Urls, repo: &Repo, pull: &SimPull) -> Value {
    let api = urls.repo_api(repo);
    let html = urls.pull_web(repo, pull.number);
    let n = pull.number;
    json!({
        "url": format!("{api}/pulls/{n}"),
        "id": pull.id,
        "node_id": format!("PR_sim{}", pull.id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": format!("{api}/issues/{n}"),
        "commits_url": format!("{api}/pulls/{n}/commits"),
        "review_comments_url": format!("{api}/pulls/{n}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "statuses_url": format!("{api}/statuses/{}", pull.head_sha),
        "number": n,
        "state": state_word(pull),
        "locked": false,
        "title": pull.title,
        "user": user(urls, &pull.author, "User"),
        "body": pull.body,
        "labels": labels(urls, repo, pull),
        "milestone": null,
        "active_lock_reason": null,
        "created_at": time(pull.created_at),
        "updated_at": time(pull.updated_at),
        "closed_at": opt_time(pull.closed_at),
        "merged_at": opt_time(pull.merged_at),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": pull.assignees.first().map(|a| user(urls, a, "User")),
        "assignees": users(urls, &pull.assignees),
        "requested_reviewers": users(urls, &pull.requested_reviewers),
        "requested_teams": Value::Array(
            pull.requested_teams.iter().map(|t| team(urls, &repo.owner, t)).collect()
        ),
        "head": branch(urls, repo, &pull.head, &pull.head_sha),
        "base": branch(urls, repo, &pull.base, &pull.base_sha),
        "_links": pull_links(urls, repo, pull),
        "author_association": "MEMBER",
        "auto_merge": null,
        "draft": pull.draft,
    })
}

/// A pull request in the full shape of `GET/POST/PATCH .../pulls/{n}`.
pub(super) fn pull_full(urls: &Urls, repo: &Repo, pull: &SimPull) -> Value {
    let value = pull_simple(urls, repo, pull);
    let merged = pull.state == PullState::Merged;
    let mergeable = (pull.state == PullState::Open).then_some(pull.mergeable);
    let mergeable_state = match (pull.state, pull.draft, pull.mergeable) {
        (PullState::Open, true, _) => "draft",
        (PullState::Open, false, false) => "dirty",
        (PullState::Open, false, true) => "clean",
        _ => "unknown",
    };
    let extra = json!({
        "merged": merged,
        "mergeable": mergeable,
        "rebaseable": mergeable,
        "mergeable_state": mergeable_state,
        "merged_by": merged.then(|| user(urls, &pull.author, "User")),
        "comments": pull.comments.len(),
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": 1,
        "additions": 1,
        "deletions": 1,
        "changed_files": 1,
    });
    merge(value, extra)
}

/// The issue side of a pull request (`POST .../issues/{n}/assignees`).
pub(super) fn issue(urls: &Urls, repo: &Repo, pull: &SimPull) -> Value {
    let api = urls.repo_api(repo);
    let html = urls.pull_web(repo, pull.number);
    let n = pull.number;
    json!({
        "id": pull.id,
        "node_id": format!("I_sim{}", pull.id),
        "url": format!("{api}/issues/{n}"),
        "repository_url": api,
        "labels_url": format!("{api}/issues/{n}/labels{{/name}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "events_url": format!("{api}/issues/{n}/events"),
        "html_url": html,
        "number": n,
        "state": state_word(pull),
        "state_reason": null,
        "title": pull.title,
        "body": pull.body,
        "user": user(urls, &pull.author, "User"),
        "labels": labels(urls, repo, pull),
        "assignee": pull.assignees.first().map(|a| user(urls, a, "User")),
        "assignees": users(urls, &pull.assignees),
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": pull.comments.len(),
        "pull_request": {
            "url": format!("{api}/pulls/{n}"),
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "merged_at": opt_time(pull.merged_at),
        },
        "closed_at": opt_time(pull.closed_at),
        "created_at": time(pull.created_at),
        "updated_at": time(pull.updated_at),
        "closed_by": null,
        "author_association": "MEMBER",
        "draft": pull.draft,
    })
}

/// The labels of an issue.
fn issue_labels(urls: &Urls, repo: &Repo, names: &[String]) -> Value {
    let list = names.iter().filter_map(|name| {
        let known = repo.labels.get(name)?;
        Some(label(urls, repo, name, known))
    });
    Value::Array(list.collect())
}

/// An issue that is not a pull request (`GET|POST|PATCH .../issues`).
pub(super) fn plain_issue(urls: &Urls, repo: &Repo, issue: &SimIssue) -> Value {
    let api = urls.repo_api(repo);
    let n = issue.number;
    json!({
        "id": issue.id,
        "node_id": format!("I_sim{}", issue.id),
        "url": format!("{api}/issues/{n}"),
        "repository_url": api,
        "labels_url": format!("{api}/issues/{n}/labels{{/name}}"),
        "comments_url": format!("{api}/issues/{n}/comments"),
        "events_url": format!("{api}/issues/{n}/events"),
        "html_url": format!("{}/issues/{n}", urls.repo_web(repo)),
        "number": n,
        "state": if issue.open { "open" } else { "closed" },
        "state_reason": issue.state_reason,
        "title": issue.title,
        "body": issue.body,
        "user": user(urls, &issue.author, "User"),
        "labels": issue_labels(urls, repo, &issue.labels),
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": 0,
        "closed_at": opt_time(issue.closed_at),
        "created_at": time(issue.created_at),
        "updated_at": time(issue.updated_at),
        "closed_by": issue.closed_by.as_deref().map(|login| user(urls, login, "User")),
        "author_association": "MEMBER",
    })
}

/// An issue comment.
pub(super) fn comment(urls: &Urls, repo: &Repo, number: u64, comment: &SimComment) -> Value {
    let api = urls.repo_api(repo);
    json!({
        "id": comment.id,
        "node_id": format!("IC_sim{}", comment.id),
        "url": format!("{api}/issues/comments/{}", comment.id),
        "html_url": format!("{}#issuecomment-{}", urls.pull_web(repo, number), comment.id),
        "body": comment.body,
        "user": user(urls, &comment.user, "User"),
        "created_at": time(comment.created_at),
        "updated_at": time(comment.created_at),
        "issue_url": format!("{api}/issues/{number}"),
        "author_association": "MEMBER",
        "performed_via_github_app": null,
    })
}

/// A pull request review.
pub(super) fn review(urls: &Urls, repo: &Repo, number: u64, review: &SimReview) -> Value {
    let html = format!(
        "{}#pullrequestreview-{}",
        urls.pull_web(repo, number),
        review.id
    );
    let pull_url = format!("{}/pulls/{number}", urls.repo_api(repo));
    json!({
        "id": review.id,
        "node_id": format!("PRR_sim{}", review.id),
        "user": user(urls, &review.user, "User"),
        "body": review.body,
        "state": review.state,
        "html_url": html,
        "pull_request_url": pull_url,
        "author_association": "MEMBER",
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        "submitted_at": time(review.submitted_at),
        "commit_id": review.commit_id,
    })
}

/// A check run, with the open pull requests whose head is its commit.
pub(super) fn check_run(urls: &Urls, repo: &Repo, sha: &str, run: &CheckRun) -> Value {
    let api = urls.repo_api(repo);
    let pulls: Vec<Value> = repo
        .pulls
        .iter()
        .filter(|p| p.state == PullState::Open && p.head_sha == sha)
        .map(|p| {
            json!({
                "url": format!("{api}/pulls/{}", p.number),
                "id": p.id,
                "number": p.number,
                "head": {"ref": p.head, "sha": p.head_sha, "repo": repo_minimal(urls, repo)},
                "base": {"ref": p.base, "sha": p.base_sha, "repo": repo_minimal(urls, repo)},
            })
        })
        .collect();
    json!({
        "id": run.id,
        "head_sha": sha,
        "node_id": format!("CR_sim{}", run.id),
        "external_id": "",
        "url": format!("{api}/check-runs/{}", run.id),
        "html_url": format!("{}/runs/{}", urls.repo_web(repo), run.id),
        "details_url": format!("{}/runs/{}", urls.repo_web(repo), run.id),
        "status": run.state.status,
        "conclusion": run.state.conclusion,
        "started_at": time(run.started_at),
        "completed_at": opt_time(run.completed_at),
        "output": {
            "title": null,
            "summary": null,
            "text": null,
            "annotations_count": 0,
            "annotations_url": format!("{api}/check-runs/{}/annotations", run.id),
        },
        "name": run.name,
        "check_suite": {"id": run.id},
        "app": {"id": 1, "slug": "sim-ci", "node_id": "A_sim1", "name": "Sim CI"},
        "pull_requests": pulls,
    })
}

/// One commit status.
pub(super) fn status(urls: &Urls, sha: &str, status: &CommitStatus) -> Value {
    json!({
        "url": format!("{}/repos/statuses/{sha}", urls.api),
        "avatar_url": null,
        "id": status.id,
        "node_id": format!("SC_sim{}", status.id),
        "state": status.state,
        "description": null,
        "target_url": null,
        "context": status.context,
        "created_at": time(status.created_at),
        "updated_at": time(status.updated_at),
    })
}

/// The combined status of a commit: `failure` if any status failed or
/// errored, else `pending` if any is pending or there are none, else
/// `success`.
pub(super) fn combined_status(urls: &Urls, repo: &Repo, sha: &str) -> Value {
    let statuses = repo.statuses.get(sha).map_or(&[][..], Vec::as_slice);
    let any = |word: &str| statuses.iter().any(|s| s.state == word);
    let state = if any("failure") || any("error") {
        "failure"
    } else if statuses.is_empty() || any("pending") {
        "pending"
    } else {
        "success"
    };
    let api = urls.repo_api(repo);
    json!({
        "state": state,
        "statuses": statuses.iter().map(|s| status(urls, sha, s)).collect::<Vec<_>>(),
        "sha": sha,
        "total_count": statuses.len(),
        "repository": repository(urls, repo),
        "commit_url": format!("{api}/commits/{sha}"),
        "url": format!("{api}/commits/{sha}/status"),
    })
}

/// A file of `GET .../contents/{path}`, its text base64 in lines of 60 as
/// GitHub sends it.
pub(super) fn content(urls: &Urls, repo: &Repo, path: &str, git_ref: &str, text: &str) -> Value {
    let sha = git2::Oid::hash_object(git2::ObjectType::Blob, text.as_bytes())
        .map_or_else(|_| super::model::fake_sha(text), |oid| oid.to_string());
    let encoded = crate::sim::net::base64_encode(text.as_bytes());
    let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for line in encoded.as_bytes().chunks(60) {
        wrapped.push_str(std::str::from_utf8(line).unwrap_or_default());
        wrapped.push('\n');
    }
    let api = urls.repo_api(repo);
    let self_url = format!("{api}/contents/{path}?ref={}", encode_component(git_ref));
    let html = format!("{}/blob/{git_ref}/{path}", urls.repo_web(repo));
    let git_url = format!("{api}/git/blobs/{sha}");
    json!({
        "type": "file",
        "encoding": "base64",
        "size": text.len(),
        "name": path.rsplit('/').next().unwrap_or(path),
        "path": path,
        "content": wrapped,
        "sha": sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html,
        "download_url": format!("{}/raw/{git_ref}/{path}", urls.repo_web(repo)),
        "_links": {"git": git_url, "self": self_url, "html": html},
    })
}

/// An entry of a folder listing of `GET .../contents/{path}`.
pub(super) fn content_entry(urls: &Urls, repo: &Repo, path: &str, kind: &str) -> Value {
    let api = urls.repo_api(repo);
    let self_url = format!("{api}/contents/{path}");
    let html = format!(
        "{}/tree/{}/{path}",
        urls.repo_web(repo),
        repo.default_branch
    );
    let sha = super::model::fake_sha(path);
    let git_url = format!("{api}/git/trees/{sha}");
    json!({
        "type": kind,
        "size": 0,
        "name": path.rsplit('/').next().unwrap_or(path),
        "path": path,
        "sha": sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html,
        "download_url": null,
        "_links": {"git": git_url, "self": self_url, "html": html},
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(super) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
