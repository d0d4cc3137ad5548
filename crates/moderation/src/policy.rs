//! The policy file: parsing (TOML, errors naming the line and key) and
//! evaluation (first matching rule wins), as pure functions. Reading the
//! policy and its `requester_in` lists from disk ([`Policy::from_file`],
//! [`Policy::reload_lists`]) lives in a separate shell module; calling an
//! `ask` hook lives in the decider.
//!
//! ```toml
//! default = "hold"              # approve | reject | hold
//!
//! [[rules]]
//! name = "customers"
//! action = "approve"
//! requester_in = "customers.txt"
//!
//! [[rules]]
//! name = "blocked-prefixes"
//! action = "reject"
//! wa_id_prefix = ["7", "86"]
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use toml::Spanned;

use crate::ledger::Decision;

/// The rule name reported when no rule matched and the default decided.
pub const DEFAULT_RULE: &str = "default";

/// One join request as a decider sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ModerationRequest {
    /// The group.
    pub group_id: String,
    /// The join request.
    pub join_request_id: String,
    /// The requester's WhatsApp ID; absent for business-scoped users.
    #[serde(default)]
    pub wa_id: Option<String>,
    /// The business-scoped user ID.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The business-scoped username.
    #[serde(default)]
    pub username: Option<String>,
    /// When the request was made (Unix seconds), when known.
    #[serde(default)]
    pub created_at: Option<i64>,
}

/// A policy file that cannot be used: where, which key or value, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The file, when the policy came from one.
    pub file: Option<PathBuf>,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The key, such as `rules[1].action`, when known.
    pub key: Option<String>,
    /// What is wrong, quoting the bad value when there is one.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("policy ")?;
        match &self.file {
            Some(file) => write!(f, "{}", file.display())?,
            None => f.write_str("<text>")?,
        }
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Where an `ask` rule sends the request, and what to do when it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskHook {
    /// The URL the request is POSTed to as JSON (`http://`).
    pub url: String,
    /// How long to wait for the answer.
    pub timeout: Duration,
    /// The decision when the hook fails, times out or answers nonsense.
    pub on_error: Decision,
}

/// What a rule does when it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// Approve, reject or hold.
    Decide(Decision),
    /// Ask an HTTP hook.
    Ask(AskHook),
}

/// A `requester_in` list: the file it names and the line of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRef {
    /// The file, resolved against the policy file's folder.
    pub path: PathBuf,
    /// The line of the `requester_in` key, for errors.
    pub line: usize,
    /// The key, such as `rules[0].requester_in`.
    pub key: String,
}

/// One `[[rules]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's name, recorded with each decision it makes.
    pub name: String,
    /// What it does.
    pub action: RuleAction,
    /// Matches requesters whose `wa_id`, `user_id` or `username` is a line
    /// of this file.
    pub requester_in: Option<ListRef>,
    /// Matches requesters whose `wa_id` starts with one of these; never a
    /// requester without `wa_id`.
    pub wa_id_prefix: Option<Vec<String>>,
    /// Matches requests to these groups.
    pub groups: Option<Vec<String>>,
}

/// A parsed policy, with the contents of its `requester_in` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The decision when no rule matches.
    pub default: Decision,
    /// The rules, tried in order.
    pub rules: Vec<Rule>,
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
    lists: BTreeMap<PathBuf, LoadedList>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct LoadedList {
    entries: HashSet<String>,
    modified: Option<SystemTime>,
}

/// Which rule decided a request, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'a> {
    /// The rule's name ([`DEFAULT_RULE`] when none matched).
    pub rule: &'a str,
    /// Its action.
    pub action: VerdictAction<'a>,
}

/// A verdict's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictAction<'a> {
    /// Decided here.
    Decide(Decision),
    /// The hook must be asked.
    Ask(&'a AskHook),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    default: Option<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<Spanned<String>>,
    action: Option<Spanned<String>>,
    requester_in: Option<Spanned<String>>,
    wa_id_prefix: Option<Spanned<Vec<String>>>,
    groups: Option<Spanned<Vec<String>>>,
    ask_url: Option<Spanned<String>>,
    ask_timeout_ms: Option<Spanned<i64>>,
    ask_on_error: Option<Spanned<String>>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Policy {
    /// Parses policy `text`; `origin` is the file it came from (errors name
    /// it, and `requester_in` paths are relative to its folder). The lists
    /// start empty: fill them with [`set_list`](Self::set_list) (or use
    /// [`Policy::from_file`], which reads them).
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] naming the line and key of an unknown key, a bad
    /// value (quoted), or a missing one.
    pub fn parse(text: &str, origin: Option<&Path>) -> Result<Self, PolicyError> {
        let err = |span: Option<std::ops::Range<usize>>, key: Option<String>, message: String| {
            PolicyError {
                file: origin.map(Path::to_path_buf),
                line: span.map(|s| line_of(text, s.start)),
                key,
                message,
            }
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_owned();
            // serde names an unknown key in the message; pull it out as the key.
            let key = message
                .strip_prefix("unknown field `")
                .and_then(|m| m.split('`').next())
                .map(str::to_owned);
            err(e.span(), key, message)
        })?;
        let decision = |v: &Spanned<String>, key: &str, allow_ask: bool| match v.get_ref().as_str()
        {
            "ask" if allow_ask => Ok(None),
            other => other.parse::<Decision>().map(Some).map_err(|_| {
                let expected = if allow_ask {
                    "approve, reject, hold or ask"
                } else {
                    "approve, reject or hold"
                };
                err(
                    Some(v.span()),
                    Some(key.to_owned()),
                    format!("bad value {other:?}: expected {expected}"),
                )
            }),
        };
        let default = match &raw.default {
            Some(v) => decision(v, "default", false)?.unwrap_or(Decision::Hold),
            None => Decision::Hold,
        };
        let base = origin
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut rules = Vec::with_capacity(raw.rules.len());
        let mut names = HashSet::new();
        for (i, spanned) in raw.rules.iter().enumerate() {
            let at = |k: &str| format!("rules[{i}].{k}");
            let r = spanned.get_ref();
            let name = r.name.as_ref().ok_or_else(|| {
                err(
                    Some(spanned.span()),
                    Some(at("name")),
                    "missing: every rule needs a name".into(),
                )
            })?;
            if name.get_ref().trim().is_empty() || !names.insert(name.get_ref().clone()) {
                return Err(err(
                    Some(name.span()),
                    Some(at("name")),
                    format!(
                        "bad value {:?}: names must be non-empty and unique",
                        name.get_ref()
                    ),
                ));
            }
            let action_v = r.action.as_ref().ok_or_else(|| {
                err(
                    Some(spanned.span()),
                    Some(at("action")),
                    "missing: expected approve, reject, hold or ask".into(),
                )
            })?;
            let ask_keys = [
                ("ask_url", r.ask_url.as_ref().map(Spanned::span)),
                (
                    "ask_timeout_ms",
                    r.ask_timeout_ms.as_ref().map(Spanned::span),
                ),
                ("ask_on_error", r.ask_on_error.as_ref().map(Spanned::span)),
            ];
            let action = match decision(action_v, &at("action"), true)? {
                Some(d) => {
                    if let Some((k, Some(span))) = ask_keys.iter().find(|(_, s)| s.is_some()) {
                        return Err(err(
                            Some(span.clone()),
                            Some(at(k)),
                            format!("only for action \"ask\", not {:?}", action_v.get_ref()),
                        ));
                    }
                    RuleAction::Decide(d)
                }
                None => {
                    let url = r.ask_url.as_ref().ok_or_else(|| {
                        err(
                            Some(action_v.span()),
                            Some(at("ask_url")),
                            "missing: action \"ask\" needs ask_url".into(),
                        )
                    })?;
                    if !url.get_ref().starts_with("http://") {
                        return Err(err(
                            Some(url.span()),
                            Some(at("ask_url")),
                            format!("bad value {:?}: expected an http:// URL", url.get_ref()),
                        ));
                    }
                    let timeout = match &r.ask_timeout_ms {
                        Some(t) if !(1..=600_000).contains(t.get_ref()) => {
                            return Err(err(
                                Some(t.span()),
                                Some(at("ask_timeout_ms")),
                                format!("bad value {}: expected 1 to 600000", t.get_ref()),
                            ));
                        }
                        Some(t) => Duration::from_millis(t.get_ref().unsigned_abs()),
                        None => Duration::from_millis(2000),
                    };
                    let on_error = match &r.ask_on_error {
                        Some(v) => {
                            decision(v, &at("ask_on_error"), false)?.unwrap_or(Decision::Hold)
                        }
                        None => Decision::Hold,
                    };
                    RuleAction::Ask(AskHook {
                        url: url.get_ref().clone(),
                        timeout,
                        on_error,
                    })
                }
            };
            let non_empty = |v: &Option<Spanned<Vec<String>>>, k: &str| match v {
                Some(list)
                    if list.get_ref().is_empty() || list.get_ref().iter().any(String::is_empty) =>
                {
                    Err(err(
                        Some(list.span()),
                        Some(at(k)),
                        format!(
                            "bad value {:?}: expected a non-empty list of non-empty strings",
                            list.get_ref()
                        ),
                    ))
                }
                Some(list) => Ok(Some(list.get_ref().clone())),
                None => Ok(None),
            };
            let requester_in = match &r.requester_in {
                Some(p) if p.get_ref().trim().is_empty() => {
                    return Err(err(
                        Some(p.span()),
                        Some(at("requester_in")),
                        "bad value \"\": expected a file name".into(),
                    ));
                }
                Some(p) => Some(ListRef {
                    path: base.join(p.get_ref()),
                    line: line_of(text, p.span().start),
                    key: at("requester_in"),
                }),
                None => None,
            };
            rules.push(Rule {
                name: name.get_ref().clone(),
                action,
                requester_in,
                wa_id_prefix: non_empty(&r.wa_id_prefix, "wa_id_prefix")?,
                groups: non_empty(&r.groups, "groups")?,
            });
        }
        Ok(Self {
            default,
            rules,
            source: origin.map(Path::to_path_buf),
            lists: BTreeMap::new(),
        })
    }

    /// A policy of no rules that decides everything `default`.
    pub fn always(default: Decision) -> Self {
        Self {
            default,
            rules: Vec::new(),
            source: None,
            lists: BTreeMap::new(),
        }
    }

    /// The `requester_in` lists the rules name.
    pub fn list_refs(&self) -> impl Iterator<Item = &ListRef> {
        self.rules.iter().filter_map(|r| r.requester_in.as_ref())
    }

    /// When the list at `path` was last loaded from a file of that
    /// modification time (`None` when never).
    pub fn list_modified(&self, path: &Path) -> Option<SystemTime> {
        self.lists.get(path).and_then(|l| l.modified)
    }

    /// Sets the contents of the list at `path`: one `wa_id`, `user_id` or
    /// `username` a line; blank lines and `#` comments are skipped.
    pub fn set_list(&mut self, path: &Path, text: &str, modified: Option<SystemTime>) {
        let entries = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default().trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        self.lists
            .insert(path.to_path_buf(), LoadedList { entries, modified });
    }

    /// Whether `rule`'s conditions all hold for `req` (a rule without
    /// conditions matches everything).
    pub fn matches(&self, rule: &Rule, req: &ModerationRequest) -> bool {
        if let Some(groups) = &rule.groups
            && !groups.contains(&req.group_id)
        {
            return false;
        }
        if let Some(prefixes) = &rule.wa_id_prefix {
            let Some(wa_id) = &req.wa_id else {
                return false;
            };
            if !prefixes.iter().any(|p| wa_id.starts_with(p.as_str())) {
                return false;
            }
        }
        if let Some(list) = &rule.requester_in {
            let Some(loaded) = self.lists.get(&list.path) else {
                return false;
            };
            let ids = [&req.wa_id, &req.user_id, &req.username];
            if !ids
                .into_iter()
                .flatten()
                .any(|id| loaded.entries.contains(id))
            {
                return false;
            }
        }
        true
    }

    /// The verdict on `req`: the first rule whose conditions all hold, or
    /// the default.
    pub fn evaluate(&self, req: &ModerationRequest) -> Verdict<'_> {
        for rule in &self.rules {
            if self.matches(rule, req) {
                let action = match &rule.action {
                    RuleAction::Decide(d) => VerdictAction::Decide(*d),
                    RuleAction::Ask(hook) => VerdictAction::Ask(hook),
                };
                return Verdict {
                    rule: &rule.name,
                    action,
                };
            }
        }
        Verdict {
            rule: DEFAULT_RULE,
            action: VerdictAction::Decide(self.default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req(
        group: &str,
        wa_id: Option<&str>,
        user: Option<&str>,
        name: Option<&str>,
    ) -> ModerationRequest {
        ModerationRequest {
            group_id: group.into(),
            join_request_id: "J".into(),
            wa_id: wa_id.map(Into::into),
            user_id: user.map(Into::into),
            username: name.map(Into::into),
            created_at: Some(1),
        }
    }

    const SAMPLE: &str = r#"
default = "hold"

[[rules]]
name = "customers"
action = "approve"
requester_in = "customers.txt"

[[rules]]
name = "blocked-prefixes"
action = "reject"
wa_id_prefix = ["7", "86"]

[[rules]]
name = "vip-review"
action = "hold"
groups = ["G1", "G2"]

[[rules]]
name = "ask-crm"
action = "ask"
ask_url = "http://127.0.0.1:9000/decide"
ask_timeout_ms = 2000
ask_on_error = "hold"
groups = ["G3"]
"#;

    fn sample() -> Policy {
        let mut p = Policy::parse(SAMPLE, Some(Path::new("/etc/p/policy.toml"))).unwrap();
        p.set_list(
            Path::new("/etc/p/customers.txt"),
            "# customers\n15551234\nalice # a username\nUS.77\n",
            None,
        );
        p
    }

    #[test]
    fn sample_rules_decide() {
        let p = sample();
        assert_eq!(
            p.evaluate(&req("G9", Some("15551234"), None, None)).rule,
            "customers"
        );
        assert_eq!(
            p.evaluate(&req("G9", None, Some("US.1"), Some("alice")))
                .rule,
            "customers"
        );
        assert_eq!(
            p.evaluate(&req("G9", None, Some("US.77"), None)).rule,
            "customers"
        );
        let v = p.evaluate(&req("G9", Some("8612"), None, None));
        assert_eq!(
            (v.rule, v.action),
            ("blocked-prefixes", VerdictAction::Decide(Decision::Reject))
        );
        assert_eq!(
            p.evaluate(&req("G1", Some("1"), None, None)).rule,
            "vip-review"
        );
        assert!(
            matches!(p.evaluate(&req("G3", Some("1"), None, None)).action, VerdictAction::Ask(h) if h.timeout == Duration::from_secs(2))
        );
        let v = p.evaluate(&req("G9", None, Some("US.2"), Some("bob")));
        assert_eq!(
            (v.rule, v.action),
            (DEFAULT_RULE, VerdictAction::Decide(Decision::Hold))
        );
    }

    fn parse_err(text: &str) -> PolicyError {
        Policy::parse(text, Some(Path::new("p.toml"))).unwrap_err()
    }

    #[test]
    fn errors_name_line_key_and_value() {
        let e = parse_err(
            "default = \"hold\"\n[[rules]]\nname = \"a\"\naction = \"approve\"\ncolour = \"red\"\n",
        );
        assert_eq!(e.line, Some(5), "{e}");
        assert_eq!(e.key.as_deref(), Some("colour"), "{e}");
        assert!(e.to_string().contains("p.toml"), "{e}");
        let e = parse_err("[[rules]]\nname = \"a\"\naction = \"maybe\"\n");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(3), Some("rules[0].action"))
        );
        assert!(e.to_string().contains("\"maybe\""), "{e}");
        let e = parse_err("default = \"ask\"\n");
        assert_eq!((e.line, e.key.as_deref()), (Some(1), Some("default")));
        let e = parse_err("[[rules]]\nname = \"a\"\naction = \"ask\"\n");
        assert_eq!(e.key.as_deref(), Some("rules[0].ask_url"));
        let e =
            parse_err("[[rules]]\nname = \"a\"\naction = \"approve\"\nask_url = \"http://x\"\n");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(4), Some("rules[0].ask_url"))
        );
        let e = parse_err("[[rules]]\nname = \"a\"\naction = \"reject\"\nwa_id_prefix = []\n");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(4), Some("rules[0].wa_id_prefix"))
        );
        let e = parse_err("default = \n");
        assert_eq!(e.line, Some(1), "{e}");
    }

    fn decision() -> impl Strategy<Value = Decision> {
        prop_oneof![
            Just(Decision::Approve),
            Just(Decision::Reject),
            Just(Decision::Hold)
        ]
    }

    type RuleSpec = (Decision, Option<Vec<String>>, Option<Vec<String>>);

    fn rule() -> impl Strategy<Value = RuleSpec> {
        (
            decision(),
            proptest::option::of(proptest::collection::vec("[0-9]{1,2}", 1..3)),
            proptest::option::of(proptest::collection::vec("G[0-3]", 1..3)),
        )
    }

    fn build(default: Decision, rules: &[RuleSpec]) -> Policy {
        let mut p = Policy::always(default);
        for (i, (d, prefixes, groups)) in rules.iter().enumerate() {
            p.rules.push(Rule {
                name: format!("r{i}"),
                action: RuleAction::Decide(*d),
                requester_in: None,
                wa_id_prefix: prefixes.clone(),
                groups: groups.clone(),
            });
        }
        p
    }

    proptest! {
        /// The first rule whose conditions hold decides; none → default.
        #[test]
        fn first_match_wins(
            default in decision(),
            rules in proptest::collection::vec(rule(), 0..6),
            group in "G[0-3]",
            wa_id in proptest::option::of("[0-9]{1,6}"),
        ) {
            let p = build(default, &rules);
            let r = req(&group, wa_id.as_deref(), Some("US.1"), None);
            let v = p.evaluate(&r);
            let first = p.rules.iter().position(|rule| p.matches(rule, &r));
            match first {
                Some(i) => {
                    prop_assert_eq!(v.rule, format!("r{i}"));
                    prop_assert_eq!(v.action, VerdictAction::Decide(rules[i].0));
                    // No earlier rule matched.
                    prop_assert!(p.rules[..i].iter().all(|rule| !p.matches(rule, &r)));
                }
                None => prop_assert_eq!(v.action, VerdictAction::Decide(default)),
            }
        }

        /// A rule without conditions matches every request.
        #[test]
        fn unconditional_rule_matches_all(
            group in "G[0-9]", wa_id in proptest::option::of("[0-9]{1,6}"), d in decision(),
        ) {
            let p = build(Decision::Hold, &[(d, None, None)]);
            prop_assert_eq!(p.evaluate(&req(&group, wa_id.as_deref(), None, None)).rule, "r0");
        }

        /// `wa_id_prefix` never matches a requester without `wa_id`.
        #[test]
        fn prefix_needs_wa_id(
            prefixes in proptest::collection::vec("[0-9]{0,2}", 1..3),
            user in "US\\.[0-9]{1,4}",
        ) {
            let p = build(Decision::Hold, &[(Decision::Reject, Some(prefixes), None)]);
            prop_assert_eq!(p.evaluate(&req("G", None, Some(&user), Some(&user))).rule, DEFAULT_RULE);
        }
    }
}
