//! Finding the place in a rule's YAML that an ast-grep error is about.
//!
//! ast-grep's compile errors (`RuleConfig::try_from`) carry no location, so
//! the rule is parsed a second time into a tree of [`Spanned`] nodes and the
//! error's kind (a bad `pattern`, `kind`, `regex`, `fix`, ...) picks the key.

use std::fmt;

use ast_grep_config::{RuleConfigError, RuleCoreError, RuleSerializeError};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// A YAML value with the place of every key and value.
#[derive(Debug)]
pub(super) enum Node {
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar(String),
    Null,
}

impl Node {
    /// The value of `key` in this mapping.
    pub(super) fn get(&self, key: &str) -> Option<&Spanned<Node>> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key and value of `key` in this mapping.
    pub(super) fn entry(&self, key: &str) -> Option<(&Spanned<Node>, &Spanned<Node>)> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.value.scalar() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The keys of this mapping that are strings, in document order.
    pub(super) fn keys(&self) -> Vec<Spanned<String>> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .filter_map(|(k, _)| {
                    let text = k.value.scalar()?.to_string();
                    Some(Spanned::new(text, k.referenced, k.defined))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub(super) fn scalar(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Every entry named `key` at any depth, in document order.
    fn entries_named<'a>(
        &'a self,
        key: &str,
        out: &mut Vec<(&'a Spanned<Node>, &'a Spanned<Node>)>,
    ) {
        match self {
            Node::Map(entries) => {
                for (k, v) in entries {
                    if k.value.scalar() == Some(key) {
                        out.push((k, v));
                    }
                    v.value.entries_named(key, out);
                }
            }
            Node::Seq(items) => items.iter().for_each(|i| i.value.entries_named(key, out)),
            Node::Scalar(_) | Node::Null => {}
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }
}

/// The place in `rule` (the rule's whole mapping) that `error` is about, or
/// `None` when no key can be told apart.
pub(super) fn config_error(error: &RuleConfigError, rule: &Node, chain: &str) -> Option<Location> {
    let (section, leaf) = keys_of(error);
    let (section_key, section_value) = rule.entry(section)?;
    let Some(leaf) = leaf else {
        return Some(section_key.referenced);
    };
    let mut found = Vec::new();
    if section == leaf {
        found.push((section_key, section_value));
    }
    section_value.value.entries_named(leaf, &mut found);
    let best = found
        .iter()
        .find(|(_, v)| {
            v.value
                .scalar()
                .is_some_and(|s| !s.is_empty() && chain.contains(s))
        })
        .or(found.first());
    Some(match best {
        Some((_, v)) if v.value.scalar().is_some() => v.referenced,
        Some((k, _)) => k.referenced,
        None => section_key.referenced,
    })
}

/// The top-level key an error is about, and the key inside it if known.
fn keys_of(error: &RuleConfigError) -> (&'static str, Option<&'static str>) {
    match error {
        RuleConfigError::Core(core) => match core {
            RuleCoreError::Rule(e) => ("rule", Some(leaf_of(e))),
            RuleCoreError::Utils(e) => ("utils", Some(leaf_of(e))),
            RuleCoreError::Constraints(e) => ("constraints", Some(leaf_of(e))),
            RuleCoreError::Transform(_) => ("transform", None),
            RuleCoreError::UndefinedMetaVar(_, field) => (field, None),
            RuleCoreError::Yaml(_) => ("rule", None),
        },
        RuleConfigError::Fixer(_) => ("fix", Some("fix")),
        RuleConfigError::Rewriter(_) => ("rewriters", None),
        RuleConfigError::UndefinedRewriter(_) => ("transform", None),
        RuleConfigError::LabelVariable(_) => ("labels", None),
        RuleConfigError::MissingPotentialKinds | RuleConfigError::Yaml(_) => ("rule", None),
    }
}

fn leaf_of(error: &RuleSerializeError) -> &'static str {
    match error {
        RuleSerializeError::MissPositiveMatcher => "rule",
        RuleSerializeError::InvalidKind(_) => "kind",
        RuleSerializeError::InvalidPattern(_) => "pattern",
        RuleSerializeError::NthChild(_) => "nthChild",
        RuleSerializeError::WrongRegex(_) => "regex",
        RuleSerializeError::MatchesReference(_) | RuleSerializeError::InvalidUtils(_) => "matches",
        RuleSerializeError::InvalidRange(_) => "range",
        RuleSerializeError::FieldNotSupported | RuleSerializeError::InvalidField(_) => "field",
    }
}
