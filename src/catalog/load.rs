//! Reading catalog files: walking directories, following `Location`s once
//! each, turning documents into entities, then checking owners.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_saphyr::Location;

use super::entity::{
    Component, EntityRef, Group, Origin, Repository, User, describe_control, is_valid_part,
};
use super::raw::{
    ComponentSpec, GroupSpec, LocationSpec, RawEntity, RawMetadata, UserSpec, WithSpec,
};
use super::repository::{self, PROJECT_SLUG, SOURCE_LOCATION};
use super::{Catalog, CatalogError, Problem, ProblemKind};
use crate::diag::{FileDiagnostic, FileText, Source};
use crate::escape::{is_control, terminal};
use crate::paths::{absolute, normalize};
use crate::yaml::{self, Document, Spanned};

const TEAM_SLUG: &str = "github.com/team-slug";
const USER_LOGIN: &str = "github.com/user-login";
const ENTITY_HELP: &str = "each document must be a catalog entity (a mapping with `apiVersion`, `kind`, `metadata` and `spec`); fix this one, the others are still loaded";
const CONTROL_HELP: &str = "remove the character: names, references, tags and repository annotations end up on terminals and in pull requests, where it could move the cursor, rewrite the screen or reorder text; the entity is left out until then, the others are still loaded";

pub(super) fn load(path: &Path) -> Result<Catalog, CatalogError> {
    let mut loader = Loader::default();
    loader.load_root(path)?;
    Ok(loader.finish())
}

/// Entities read from a live catalog: `(label, text)`, the text one
/// entity as JSON (which is YAML), the label how problems name it.
pub(super) fn load_entities(entities: impl IntoIterator<Item = (String, String)>) -> Catalog {
    let mut loader = Loader {
        live: true,
        ..Loader::default()
    };
    for (label, text) in entities {
        let label: Arc<str> = Arc::from(label);
        loader.label = Some(Arc::clone(&label));
        let path = PathBuf::from(&*label);
        loader.load_text(&path, path.clone(), text);
        loader.catalog.files.pop();
    }
    loader.label = None;
    loader.finish()
}

/// Texts read from places that are not the user's files (a descriptor in
/// a repository, or the file it stood in for in a snapshot): each named by
/// `shown` in problems (`https://…/billing.git: catalog-info.yaml:3:5`),
/// its components without a `backstage.io/source-location` given
/// `repository`.
pub(super) fn load_sourced(texts: impl IntoIterator<Item = super::SourcedText>) -> Catalog {
    let mut loader = Loader {
        live: true,
        ..Loader::default()
    };
    for sourced in texts {
        loader.default_repository = sourced.repository;
        match sourced.content {
            Ok(text) => {
                let id = sourced.shown.clone();
                loader.load_text(&sourced.shown, id, text);
            }
            Err(why) => {
                let d = FileDiagnostic::at_offset(&sourced.shown, &Source::new(""), 0, 0, why)
                    .placed(Arc::from(sourced.shown.display().to_string()))
                    .with_help("check that the repository can be fetched and holds the descriptor at its default branch's head; the other repositories are still read");
                loader.problem(ProblemKind::UnreadableFile, d);
            }
        }
    }
    loader.default_repository = None;
    loader.finish()
}

#[derive(Default)]
struct Loader {
    catalog: Catalog,
    /// For each component (by index), where to report that its owner is not
    /// in the catalog, if it turns out not to be (known only once all is
    /// loaded; the diagnostic is built only then).
    owner_at: Vec<(usize, Place)>,
    /// Identities (canonical paths) of the files read: each is read once.
    loaded: HashSet<PathBuf>,
    /// Files being read, outermost first: (identity, path as shown).
    chain: Vec<(PathBuf, PathBuf)>,
    /// Where each entity was first defined.
    defined: HashMap<EntityRef, Origin>,
    /// Entities from a live catalog: no files, no `Location`s to follow,
    /// no relative repository paths.
    live: bool,
    /// How problems name the live entity being read (instead of
    /// file:line:column).
    label: Option<Arc<str>>,
    /// The repository a descriptor was read from: its components without
    /// a `backstage.io/source-location` are in it.
    default_repository: Option<Repository>,
}

/// One document of one file, for building diagnostics and origins.
#[derive(Clone, Copy)]
struct Cx<'a> {
    path: &'a Path,
    text: &'a Source,
    doc: &'a Document<'a>,
}

/// A place in a file, for a diagnostic that may never be needed.
struct Place {
    path: PathBuf,
    source: Source,
    offset: usize,
    len: usize,
    /// The live entity's label, which names the place instead.
    label: Option<Arc<str>>,
}

impl Place {
    fn diagnostic(&self, message: String) -> FileDiagnostic {
        let d = FileDiagnostic::at_offset(&self.path, &self.source, self.offset, self.len, message);
        match &self.label {
            Some(label) => d.placed(Arc::clone(label)),
            None => d,
        }
    }
}

/// What every entity has, validated.
struct Header {
    entity: EntityRef,
    /// `Component `artists``: how messages name the entity.
    label: String,
    kind_at: Location,
    name_at: Location,
    metadata: RawMetadata,
    metadata_at: Location,
}

impl Loader {
    fn load_root(&mut self, path: &Path) -> Result<(), CatalogError> {
        let unreadable = |source| CatalogError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        if fs::metadata(path).map_err(unreadable)?.is_dir() {
            let files = self.yaml_files_below(path).map_err(unreadable)?;
            for file in files {
                self.load_file_once(&file);
            }
        } else {
            let text = fs::read_to_string(path).map_err(unreadable)?;
            self.load_text(path, identity(path), text);
        }
        Ok(())
    }

    /// All yaml files below `dir`; unreadable subdirectories become problems.
    fn yaml_files_below(&mut self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        walk(dir, &mut files, &mut self.catalog.problems)?;
        Ok(files)
    }

    /// Load a file found by walking a directory, unless already loaded.
    fn load_file_once(&mut self, path: &Path) {
        let id = identity(path);
        if self.loaded.contains(&id) {
            return;
        }
        match fs::read_to_string(path) {
            Ok(text) => self.load_text(path, id, text),
            Err(e) => self.problem(ProblemKind::UnreadableFile, unreadable_file(path, &e)),
        }
    }

    fn load_text(&mut self, path: &Path, id: PathBuf, text: String) {
        tracing::debug!(path = %path.display(), "reading catalog file");
        self.catalog.files.push(path.to_path_buf());
        self.loaded.insert(id.clone());
        self.chain.push((id, path.to_path_buf()));
        let source = Source::new(text);
        for doc in yaml::documents(source.text())
            .iter()
            .filter(|d| !d.is_empty())
        {
            self.load_document(Cx {
                path,
                text: &source,
                doc,
            });
        }
        self.chain.pop();
    }

    fn load_document(&mut self, cx: Cx<'_>) {
        let raw = match cx.parse::<RawEntity>("") {
            Ok(raw) => raw,
            Err(d) => return self.invalid(*d),
        };
        let Some(header) = self.header(cx, raw) else {
            return;
        };
        match header.entity.kind.as_str() {
            "component" => self.component(cx, header),
            "group" => self.group(cx, header),
            "user" => self.user(cx, header),
            "location" => self.location(cx, header),
            _ => {
                if self.first_definition(cx, &header) {
                    self.catalog.others.push(header.entity);
                }
            }
        }
    }

    /// Check `apiVersion`, `kind` and `metadata.name`.
    fn header(&mut self, cx: Cx<'_>, raw: RawEntity) -> Option<Header> {
        let Some(kind) = raw.kind.filter(|k| !k.value.trim().is_empty()) else {
            self.invalid(cx.at_start("kind is required").with_help(
                "start each entity with `apiVersion: backstage.io/v1alpha1` and `kind: Component` (or Group, User, System, Location...)",
            ));
            return None;
        };
        if self.has_control(cx, "entity", "kind", &kind) {
            return None;
        }
        let kind_name = kind.value.trim();
        let name_help = "write `name: <entity-name>` under `metadata:`";
        let Some(Spanned {
            value: metadata,
            referenced: metadata_at,
            ..
        }) = raw.metadata
        else {
            let msg = format!("{kind_name}: metadata.name is required");
            self.invalid(cx.at(&kind, msg).with_help(name_help));
            return None;
        };
        let Some(name) = metadata.name.clone() else {
            let msg = format!("{kind_name}: metadata.name is required");
            self.invalid(cx.at_location(&metadata_at, msg).with_help(name_help));
            return None;
        };
        let label = format!("{kind_name} `{}`", terminal(&name.value));
        if self.has_control(cx, kind_name, "metadata.name", &name)
            || metadata
                .namespace
                .as_ref()
                .is_some_and(|ns| self.has_control(cx, &label, "metadata.namespace", ns))
        {
            return None;
        }
        match &raw.api_version {
            None => {
                let msg = format!("{label}: apiVersion is required");
                self.invalid(
                    cx.at(&kind, msg)
                        .with_help("add `apiVersion: backstage.io/v1alpha1`"),
                );
                return None;
            }
            Some(v) if !v.value.trim().starts_with("backstage.io/") => {
                let msg = format!(
                    "{label}: apiVersion `{}` is not a Backstage apiVersion",
                    v.value
                );
                self.invalid(cx.at(v, msg).with_help(
                    "catalog entities have `apiVersion: backstage.io/v1alpha1`; this document is skipped",
                ));
                return None;
            }
            Some(_) => {}
        }
        let part_help = "names use letters, digits, `-`, `_` and `.`, without `:`, `/` or spaces";
        if !is_valid_part(name.value.trim()) {
            let msg = format!(
                "{label}: metadata.name `{}` is not a valid name",
                name.value
            );
            self.invalid(cx.at(&name, msg).with_help(part_help));
            return None;
        }
        let namespace = metadata.namespace.as_ref();
        if let Some(ns) = namespace.filter(|ns| !is_valid_part(ns.value.trim())) {
            let msg = format!(
                "{label}: metadata.namespace `{}` is not a valid namespace",
                ns.value
            );
            self.invalid(cx.at(ns, msg).with_help(part_help));
            return None;
        }
        let namespace = namespace.map_or("default", |ns| ns.value.trim());
        Some(Header {
            entity: EntityRef::new(kind_name, namespace, name.value.trim()),
            label,
            kind_at: kind.referenced,
            name_at: name.referenced,
            metadata,
            metadata_at,
        })
    }

    /// Record where `header`'s entity is defined; false (and a problem) when
    /// it was defined before: the first one wins.
    fn first_definition(&mut self, cx: Cx<'_>, header: &Header) -> bool {
        if let Some(first) = self.defined.get(&header.entity) {
            let msg = format!(
                "{}: duplicate entity `{}` (first defined at {first}); this one is ignored",
                header.label, header.entity
            );
            let help = "rename one of them (metadata.name) or give it another metadata.namespace";
            self.problem(
                ProblemKind::DuplicateEntity,
                cx.at_location(&header.name_at, msg).with_help(help),
            );
            return false;
        }
        self.defined
            .insert(header.entity.clone(), cx.origin(&header.kind_at));
        true
    }

    fn component(&mut self, cx: Cx<'_>, h: Header) {
        let Some((spec, spec_at)) = self.spec::<ComponentSpec>(cx, &h) else {
            return;
        };
        let (Some(spec_type), Some(lifecycle), Some(owner_at)) =
            (&spec.spec_type, &spec.lifecycle, &spec.owner)
        else {
            let missing = [
                (spec.spec_type.is_none(), "type", "type: service"),
                (
                    spec.lifecycle.is_none(),
                    "lifecycle",
                    "lifecycle: production",
                ),
                (spec.owner.is_none(), "owner", "owner: team-a"),
            ];
            return self.invalid(cx.missing(&h.label, &spec_at, &missing));
        };
        let checked = [
            ("spec.type", Some(spec_type)),
            ("spec.lifecycle", Some(lifecycle)),
            ("spec.owner", Some(owner_at)),
            ("spec.system", spec.system.as_ref()),
        ];
        if self.any_control(cx, &h, &checked) {
            return;
        }
        let ns = h.entity.namespace.clone();
        let owner = match EntityRef::parse(&owner_at.value, "group", &ns) {
            Ok(owner) => owner,
            Err(e) => {
                let msg = format!("{}: spec.owner {e}", h.label);
                return self.invalid(
                    cx.at(owner_at, msg)
                        .with_help("write the owning Group (`team-a`) or User (`user:jdoe`)"),
                );
            }
        };
        let system = self.reference(
            cx,
            &h.label,
            "spec.system",
            spec.system.as_ref(),
            "system",
            &ns,
        );
        if !self.first_definition(cx, &h) {
            return;
        }
        let repository = self.repository(cx, &h);
        let component = Component {
            title: h.metadata.title.clone(),
            description: h.metadata.description.clone(),
            spec_type: spec_type.value.clone(),
            lifecycle: lifecycle.value.clone(),
            owner,
            system,
            tags: h
                .metadata
                .tags
                .iter()
                .flatten()
                .map(|t| t.value.clone())
                .collect(),
            annotations: plain_annotations(&h.metadata),
            repository,
            origin: cx.origin(&h.kind_at),
            entity: h.entity,
        };
        let mut place = cx.place(owner_at);
        place.label = self.label.clone();
        self.owner_at.push((self.catalog.components.len(), place));
        self.catalog.components.push(component);
    }

    fn group(&mut self, cx: Cx<'_>, h: Header) {
        let Some((spec, spec_at)) = self.spec::<GroupSpec>(cx, &h) else {
            return;
        };
        let Some(spec_type) = &spec.spec_type else {
            return self.invalid(cx.missing(&h.label, &spec_at, &[(true, "type", "type: team")]));
        };
        let mut checked = vec![
            ("spec.type", Some(spec_type)),
            ("spec.parent", spec.parent.as_ref()),
        ];
        for (field, refs) in [
            ("spec.children", &spec.children),
            ("spec.members", &spec.members),
        ] {
            checked.extend(refs.iter().flatten().map(|r| (field, Some(r))));
        }
        if self.any_control(cx, &h, &checked) {
            return;
        }
        let ns = h.entity.namespace.clone();
        let parent = self.reference(
            cx,
            &h.label,
            "spec.parent",
            spec.parent.as_ref(),
            "group",
            &ns,
        );
        let children = self.references(
            cx,
            &h.label,
            "spec.children",
            spec.children.as_deref(),
            "group",
            &ns,
        );
        let members = self.references(
            cx,
            &h.label,
            "spec.members",
            spec.members.as_deref(),
            "user",
            &ns,
        );
        if !self.first_definition(cx, &h) {
            return;
        }
        let profile = spec.profile.unwrap_or_default();
        let group = Group {
            spec_type: spec_type.value.clone(),
            display_name: profile.display_name,
            team_slug: annotation(&h.metadata, TEAM_SLUG),
            parent,
            children,
            members,
            email: profile.email,
            origin: cx.origin(&h.kind_at),
            entity: h.entity,
        };
        self.catalog.groups.push(group);
    }

    fn user(&mut self, cx: Cx<'_>, h: Header) {
        let Some((spec, _)) = self.spec::<UserSpec>(cx, &h) else {
            return;
        };
        let checked: Vec<_> = spec
            .member_of
            .iter()
            .flatten()
            .map(|r| ("spec.memberOf", Some(r)))
            .collect();
        if self.any_control(cx, &h, &checked) {
            return;
        }
        let ns = h.entity.namespace.clone();
        let member_of = self.references(
            cx,
            &h.label,
            "spec.memberOf",
            spec.member_of.as_deref(),
            "group",
            &ns,
        );
        if !self.first_definition(cx, &h) {
            return;
        }
        let profile = spec.profile.unwrap_or_default();
        let user = User {
            display_name: profile.display_name,
            email: profile.email,
            github_login: annotation(&h.metadata, USER_LOGIN),
            member_of,
            origin: cx.origin(&h.kind_at),
            entity: h.entity,
        };
        self.catalog.users.push(user);
    }

    fn location(&mut self, cx: Cx<'_>, h: Header) {
        let Some((spec, spec_at)) = self.spec::<LocationSpec>(cx, &h) else {
            return;
        };
        let targets: Vec<Spanned<String>> = spec
            .target
            .into_iter()
            .chain(spec.targets.unwrap_or_default())
            .collect();
        if targets.is_empty() {
            return self.invalid(cx.missing(
                &h.label,
                &spec_at,
                &[(true, "target", "target: ./more-entities.yaml")],
            ));
        }
        if !self.first_definition(cx, &h) {
            return;
        }
        // A live catalog's Locations were followed by Backstage already.
        if !self.live {
            for target in &targets {
                self.follow(cx, &h.label, target);
            }
        }
        self.catalog.others.push(h.entity);
    }

    /// A problem, and true, when `value` (the entity's `field`) holds a
    /// control character ([`is_control`]): the entity is left out.
    fn has_control(
        &mut self,
        cx: Cx<'_>,
        label: &str,
        field: &str,
        value: &Spanned<String>,
    ) -> bool {
        let Some((i, c)) = value
            .value
            .chars()
            .enumerate()
            .find(|(_, c)| is_control(*c))
        else {
            return false;
        };
        let msg = format!(
            "{label}: {field} `{}` holds a control character, {} at character {}",
            terminal(&value.value),
            describe_control(c),
            i + 1
        );
        self.problem(
            ProblemKind::ControlCharacter,
            cx.at(value, msg).with_help(CONTROL_HELP),
        );
        true
    }

    /// [`Self::has_control`] for each of `fields`, and for what every kind
    /// shares: the tags and the annotations fleetwright reads (repository,
    /// GitHub team and login). True when any holds one (each is reported).
    fn any_control(
        &mut self,
        cx: Cx<'_>,
        h: &Header,
        fields: &[(&str, Option<&Spanned<String>>)],
    ) -> bool {
        let mut found = false;
        for (field, value) in fields {
            if let Some(value) = value {
                found |= self.has_control(cx, &h.label, field, value);
            }
        }
        for tag in h.metadata.tags.iter().flatten() {
            found |= self.has_control(cx, &h.label, "metadata.tags", tag);
        }
        let annotations = h.metadata.annotations.iter().flatten();
        for (key, value) in annotations {
            if [PROJECT_SLUG, SOURCE_LOCATION, TEAM_SLUG, USER_LOGIN].contains(&key.as_str()) {
                let field = format!("metadata.annotations.{key}");
                found |= self.has_control(cx, &h.label, &field, value);
            }
        }
        found
    }

    /// The entity's `spec` parsed as `S` (default when absent) and where it is.
    fn spec<S: DeserializeOwned + Default>(
        &mut self,
        cx: Cx<'_>,
        h: &Header,
    ) -> Option<(S, Location)> {
        match cx.parse::<WithSpec<S>>(&h.label) {
            Ok(WithSpec { spec: Some(spec) }) => Some((spec.value, spec.referenced)),
            Ok(WithSpec { spec: None }) => Some((S::default(), h.kind_at)),
            Err(d) => {
                self.invalid(*d);
                None
            }
        }
    }

    /// An optional reference; a malformed one is a problem and `None`.
    fn reference(
        &mut self,
        cx: Cx<'_>,
        label: &str,
        field: &str,
        value: Option<&Spanned<String>>,
        default_kind: &str,
        ns: &str,
    ) -> Option<EntityRef> {
        let value = value?;
        match EntityRef::parse(&value.value, default_kind, ns) {
            Ok(r) => Some(r),
            Err(e) => {
                let help = format!(
                    "write `[kind:][namespace/]name`, e.g. `{default_kind}:{ns}/some-name`"
                );
                self.invalid(
                    cx.at(value, format!("{label}: {field} {e}"))
                        .with_help(help),
                );
                None
            }
        }
    }

    fn references(
        &mut self,
        cx: Cx<'_>,
        label: &str,
        field: &str,
        values: Option<&[Spanned<String>]>,
        default_kind: &str,
        ns: &str,
    ) -> Vec<EntityRef> {
        values
            .unwrap_or_default()
            .iter()
            .filter_map(|v| self.reference(cx, label, field, Some(v), default_kind, ns))
            .collect()
    }

    /// The component's repository from its annotations (see
    /// [`repository`]); a source location that is a local path wins.
    fn repository(&mut self, cx: Cx<'_>, h: &Header) -> Option<Repository> {
        let annotations = h.metadata.annotations.as_ref();
        let slug = annotations.and_then(|a| a.get(PROJECT_SLUG));
        let source = annotations.and_then(|a| a.get(SOURCE_LOCATION));
        if source.is_none()
            && let Some(repository) = &self.default_repository
        {
            return Some(repository.clone());
        }
        if slug.is_none() && source.is_none() {
            let msg = format!(
                "{}: no repository (no `{PROJECT_SLUG}` or `{SOURCE_LOCATION}` annotation)",
                h.label
            );
            let help =
                "add a `github.com/project-slug` or `backstage.io/source-location` annotation";
            self.problem(
                ProblemKind::NoRepository,
                cx.at_location(&h.metadata_at, msg).with_help(help),
            );
            return None;
        }
        let base = (!self.live).then(|| base_dir(cx.path));
        let located = source.and_then(|s| {
            self.or_problem(
                cx,
                &h.label,
                s,
                repository::from_source_location(&s.value, base.as_deref()),
            )
        });
        let from_slug = slug.and_then(|s| {
            self.or_problem(cx, &h.label, s, repository::from_project_slug(&s.value))
        });
        match (located, from_slug) {
            (Some(l), _) if l.local => Some(l.repository),
            (_, Some(r)) => Some(r),
            (l, None) => l.map(|l| l.repository),
        }
    }

    fn or_problem<T>(
        &mut self,
        cx: Cx<'_>,
        label: &str,
        at: &Spanned<String>,
        r: Result<T, String>,
    ) -> Option<T> {
        r.map_err(|e| {
            if crate::urls::has_userinfo(&at.value) {
                // The snippet must not show the credentials either.
                let help = "remove the `user:password@` part: fleetwright gives git the forge's token itself (github.token_env), and only to the forge's host";
                self.problem(ProblemKind::InvalidRepository, cx.at(at, format!("{label}: {e}")).with_help(help).masking_userinfo());
                return;
            }
            let help = "write `github.com/project-slug: org/repo` or `backstage.io/source-location: url:https://host/org/repo/`";
            self.problem(ProblemKind::InvalidRepository, cx.at(at, format!("{label}: {e}")).with_help(help));
        })
        .ok()
    }

    /// Follow one `Location` target: a file, a directory or a glob, relative
    /// to the file holding the Location.
    fn follow(&mut self, cx: Cx<'_>, label: &str, target: &Spanned<String>) {
        let t = target.value.trim();
        if t.starts_with("url:") || t.contains("://") {
            let msg = format!("{label}: remote Location targets are not supported (`{t}`)");
            let help = "clone that catalog and target it by a path relative to this file";
            return self.problem(ProblemKind::Location, cx.at(target, msg).with_help(help));
        }
        let dir = cx.path.parent().unwrap_or(Path::new(""));
        let path = normalize(&dir.join(t));
        if t.contains(['*', '?']) {
            return self.follow_glob(cx, label, target, &path);
        }
        match fs::metadata(&path) {
            Err(e) => {
                let msg = format!(
                    "{label}: target `{t}` cannot be read ({}: {e})",
                    path.display()
                );
                let help = format!(
                    "targets are paths relative to the file holding the Location ({})",
                    cx.path.display()
                );
                self.problem(ProblemKind::Location, cx.at(target, msg).with_help(help));
            }
            Ok(meta) if meta.is_dir() => match self.yaml_files_below(&path) {
                Ok(files) => files
                    .iter()
                    .for_each(|f| self.follow_file(cx, label, target, f, false)),
                Err(e) => self.problem(
                    ProblemKind::UnreadableFile,
                    cx.at(target, format!("{label}: target `{t}` cannot be read: {e}")),
                ),
            },
            Ok(_) => self.follow_file(cx, label, target, &path, true),
        }
    }

    /// `*`, `?` within a segment and `**` across segments; the files matched
    /// are the yaml files below the part of the pattern without wildcards.
    fn follow_glob(&mut self, cx: Cx<'_>, label: &str, target: &Spanned<String>, pattern: &Path) {
        let parts: Vec<&str> = pattern.iter().filter_map(|p| p.to_str()).collect();
        let fixed = parts.iter().take_while(|p| !p.contains(['*', '?'])).count();
        let base: PathBuf = parts[..fixed].iter().collect();
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        let files = match self.yaml_files_below(&base) {
            Ok(files) => files,
            Err(e) => {
                let msg = format!(
                    "{label}: target `{}` cannot be read ({}: {e})",
                    target.value,
                    base.display()
                );
                return self.problem(ProblemKind::UnreadableFile, cx.at(target, msg));
            }
        };
        let matched: Vec<&PathBuf> = files
            .iter()
            .filter(|f| {
                let rel: Vec<&str> = f
                    .strip_prefix(&base)
                    .unwrap_or(f)
                    .iter()
                    .filter_map(|p| p.to_str())
                    .collect();
                glob_segments(&parts[fixed..], &rel)
            })
            .collect();
        if matched.is_empty() {
            let msg = format!("{label}: target `{}` matches no yaml file", target.value);
            return self.problem(ProblemKind::Location, cx.at(target, msg));
        }
        for file in matched {
            self.follow_file(cx, label, target, file, false);
        }
    }

    /// Load a file a target names, once. A file on the current chain is a
    /// cycle, a problem when the target names it explicitly (a directory or
    /// glob target holding the Location's own file is not).
    fn follow_file(
        &mut self,
        cx: Cx<'_>,
        label: &str,
        target: &Spanned<String>,
        path: &Path,
        explicit: bool,
    ) {
        let path = &normalize(path);
        let id = identity(path);
        if let Some(pos) = self.chain.iter().position(|(c, _)| *c == id) {
            if explicit {
                let cycle: Vec<String> = self.chain[pos..]
                    .iter()
                    .map(|(_, p)| p.display().to_string())
                    .chain([path.display().to_string()])
                    .collect();
                let msg = format!(
                    "{label}: target `{}` makes a cycle: {}",
                    target.value,
                    cycle.join(" → ")
                );
                let help = "remove this target: each catalog file is loaded once, and this one is already being loaded";
                self.problem(ProblemKind::Location, cx.at(target, msg).with_help(help));
            }
            return;
        }
        if self.loaded.contains(&id) {
            tracing::debug!(path = %path.display(), "catalog file already loaded");
            return;
        }
        match fs::read_to_string(path) {
            Ok(text) => self.load_text(path, id, text),
            Err(e) => {
                let msg = format!(
                    "{label}: target `{}` cannot be read ({}: {e})",
                    target.value,
                    path.display()
                );
                self.problem(ProblemKind::UnreadableFile, cx.at(target, msg));
            }
        }
    }

    fn problem(&mut self, kind: ProblemKind, d: FileDiagnostic) {
        let d = match &self.label {
            Some(label) => d.placed(Arc::clone(label)),
            None => d,
        };
        self.catalog.problems.push(Problem::new(kind, d));
    }

    /// A problem that leaves an entity out: it is not valid.
    fn invalid(&mut self, d: FileDiagnostic) {
        self.problem(ProblemKind::InvalidEntity, d);
    }

    fn finish(mut self) -> Catalog {
        self.check_owners();
        let Catalog {
            files, problems, ..
        } = &mut self.catalog;
        let order: HashMap<&Path, usize> = files
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_path(), i))
            .collect();
        // A live catalog's problems stay in the order the entities came.
        if !self.live {
            problems.sort_by_key(|d| {
                (
                    order.get(d.path.as_path()).copied().unwrap_or(usize::MAX),
                    d.line,
                    d.column,
                )
            });
        }
        self.catalog
    }

    /// Every component's owner must be a Group or a User of the catalog.
    fn check_owners(&mut self) {
        let owners = self.catalog.known_owners();
        let mut help = None;
        let mut problems = Vec::new();
        for (index, place) in &self.owner_at {
            let component = &self.catalog.components[*index];
            if owners.contains(&component.owner) {
                continue;
            }
            let msg = format!(
                "Component `{}`: unknown owner `{}` (not a Group or User in the catalog)",
                component.entity.name, component.owner
            );
            let help = help.get_or_insert_with(|| known_groups_help(&self.catalog.groups));
            problems.push(
                Problem::new(
                    ProblemKind::UnknownOwner,
                    place.diagnostic(msg).with_help(help.clone()),
                )
                .about(component.owner.to_string()),
            );
        }
        self.catalog.problems.extend(problems);
        self.owner_at.clear();
    }
}

impl Cx<'_> {
    /// Parse the document as `T`; an error names `what` and the field.
    fn parse<T: DeserializeOwned>(&self, what: &str) -> Result<T, Box<FileDiagnostic>> {
        yaml::parse(self.path, self.text, self.doc).map_err(|mut d| {
            let line = (d.line + 1).saturating_sub(self.doc.start_line);
            let field = field_at(self.doc.text, line, d.column);
            let message = d
                .message
                .split(", set DuplicateKeyPolicy")
                .next()
                .unwrap_or_default();
            d.message = [what, field.as_deref().unwrap_or(""), message]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(": ");
            Box::new(d.with_help(ENTITY_HELP))
        })
    }

    fn at<T>(&self, value: &Spanned<T>, msg: impl Into<String>) -> FileDiagnostic {
        yaml::diagnostic_at(self.path, self.text, self.doc, value, msg)
    }

    fn place<T>(&self, value: &Spanned<T>) -> Place {
        let (offset, len) = yaml::location_in_file(self.text, self.doc, &value.referenced);
        Place {
            path: self.path.to_path_buf(),
            source: self.text.clone(),
            offset,
            len,
            label: None,
        }
    }

    fn at_location(&self, at: &Location, msg: impl Into<String>) -> FileDiagnostic {
        yaml::diagnostic_at_location(self.path, self.text, self.doc, at, msg)
    }

    /// At the first line of the document that is not blank or a comment.
    fn at_start(&self, msg: impl Into<String>) -> FileDiagnostic {
        let mut offset = self.doc.start;
        for line in self.doc.text.split_inclusive('\n') {
            let content = line.trim_start();
            if !content.trim().is_empty() && !content.starts_with('#') {
                let start = offset + line.len() - content.len();
                return FileDiagnostic::at_offset(
                    self.path,
                    self.text,
                    start,
                    content.trim_end().len(),
                    msg,
                );
            }
            offset += line.len();
        }
        FileDiagnostic::at_offset(self.path, self.text, self.doc.start, 0, msg)
    }

    fn origin(&self, at: &Location) -> Origin {
        let (offset, _) = yaml::location_in_file(self.text, self.doc, at);
        let (line, column) = self.text.line_column(offset);
        Origin {
            path: self.path.to_path_buf(),
            line,
            column,
        }
    }

    /// One problem for the required `spec` fields that are missing:
    /// `(missing, field, example)`.
    fn missing(
        &self,
        label: &str,
        spec_at: &Location,
        fields: &[(bool, &str, &str)],
    ) -> FileDiagnostic {
        let missing: Vec<_> = fields.iter().filter(|(m, _, _)| *m).collect();
        let names: Vec<String> = missing
            .iter()
            .map(|(_, f, _)| format!("spec.{f}"))
            .collect();
        let examples: Vec<String> = missing.iter().map(|(_, _, e)| format!("`{e}`")).collect();
        let verb = if names.len() == 1 { "is" } else { "are" };
        let msg = format!("{label}: {} {verb} required", names.join(", "));
        let help = format!("write {} under `spec:`", examples.join(", "));
        self.at_location(spec_at, msg).with_help(help)
    }
}

/// Collect the yaml files below `dir`, sorted, skipping hidden directories
/// and symlinks. `dir` unreadable is an error; a subdirectory, a problem.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) -> io::Result<()> {
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if file_type.is_dir() && !name.starts_with('.') {
            if let Err(e) = walk(&path, files, problems) {
                problems.push(Problem::new(
                    ProblemKind::UnreadableFile,
                    unreadable_file(&path, &e),
                ));
            }
        } else if file_type.is_file() && is_yaml(&name) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_yaml(name: &str) -> bool {
    let ext = name.rsplit_once('.').map_or("", |(_, ext)| ext);
    ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml")
}

fn unreadable_file(path: &Path, e: &io::Error) -> FileDiagnostic {
    FileDiagnostic::at_offset(
        path,
        "",
        0,
        0,
        format!("cannot read {}: {e}", path.display()),
    )
    .with_help("check the file's permissions; the rest of the catalog is still loaded")
}

/// The same file named two ways is one file.
fn identity(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| absolute(path))
}

/// The absolute directory of a catalog file, for relative repository paths.
fn base_dir(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    absolute(dir)
}

fn plain_annotations(metadata: &RawMetadata) -> std::collections::BTreeMap<String, String> {
    metadata
        .annotations
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect()
}

fn annotation(metadata: &RawMetadata, key: &str) -> Option<String> {
    metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(|v| v.value.trim().to_string())
}

fn known_groups_help(groups: &[Group]) -> String {
    const SHOWN: usize = 10;
    if groups.is_empty() {
        return "the catalog holds no Group: add one (`kind: Group`), or name a User as owner (`user:jdoe`)".to_string();
    }
    let mut names: Vec<String> = groups
        .iter()
        .take(SHOWN)
        .map(|g| format!("`{}`", g.entity))
        .collect();
    if groups.len() > SHOWN {
        names.push(format!("and {} more", groups.len() - SHOWN));
    }
    format!("known groups: {}", names.join(", "))
}

/// Match path segments against pattern segments (`**` is any number of
/// segments).
fn glob_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| glob_segments(rest, &path[i..])),
        Some((first, rest)) => path
            .split_first()
            .is_some_and(|(head, tail)| wildcard(first, head) && glob_segments(rest, tail)),
    }
}

/// `*` and `?` within one segment.
fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The dotted key path (`spec.owner`) of the value at a 1-based line and
/// column of a block-style YAML document. A best effort for messages: serde
/// errors say what was expected, not which field.
fn field_at(doc_text: &str, line: usize, column: usize) -> Option<String> {
    let lines: Vec<&str> = doc_text.lines().collect();
    let current = *lines.get(line.checked_sub(1)?)?;
    let mut keys = Vec::new();
    // A key counts when the error is in its value, not at the key itself
    // (an error at a mapping's first key is about the mapping).
    if let Some((_, key)) = key_of(current).filter(|(col, _)| col + 1 < column) {
        keys.push(key);
    }
    let (mut limit, mut item) = (indent_of(current), is_item(current));
    for l in lines[..line - 1].iter().rev() {
        if limit == 0 && !item {
            break;
        }
        let content = l.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = indent_of(l);
        if indent < limit || (item && indent == limit && !is_item(l)) {
            keys.extend(key_of(l).map(|(_, key)| key));
            (limit, item) = (indent, is_item(l));
        }
    }
    keys.reverse();
    (!keys.is_empty()).then(|| keys.join("."))
}

/// The key a block-mapping line starts with, and its byte column.
fn key_of(line: &str) -> Option<(usize, &str)> {
    let mut rest = line.trim_start();
    while let Some(r) = rest.strip_prefix("- ") {
        rest = r.trim_start();
    }
    let (key, after) = rest.split_once(':')?;
    let plain = !key.is_empty()
        && !key.starts_with(['#', '{', '[', '"', '\'', '&', '*', '!', '|', '>'])
        && !key.contains(char::is_whitespace);
    (plain && (after.is_empty() || after.starts_with([' ', '\t'])))
        .then_some((line.len() - rest.len(), key))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_item(line: &str) -> bool {
    let content = line.trim_start();
    content == "-" || content.starts_with("- ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_at_names_the_key_path() {
        let doc = "kind: Component\nspec:\n  owner: [a]\n  members:\n  - {b: c}\n";
        assert_eq!(field_at(doc, 3, 10).as_deref(), Some("spec.owner"));
        assert_eq!(field_at(doc, 5, 5).as_deref(), Some("spec.members"));
        assert_eq!(field_at(doc, 3, 3).as_deref(), Some("spec"));
        assert_eq!(field_at(doc, 1, 1), None);
        assert_eq!(field_at(doc, 99, 1), None);
    }

    #[test]
    fn globs_match_segments() {
        assert!(wildcard("*.yaml", "a.yaml"));
        assert!(wildcard("cat*-?.yml", "catalog-1.yml"));
        assert!(!wildcard("*.yaml", "a.yml"));
        assert!(glob_segments(
            &["**", "catalog-info.yaml"],
            &["a", "b", "catalog-info.yaml"]
        ));
        assert!(glob_segments(
            &["**", "catalog-info.yaml"],
            &["catalog-info.yaml"]
        ));
        assert!(!glob_segments(&["*", "x.yaml"], &["x.yaml"]));
    }
}
