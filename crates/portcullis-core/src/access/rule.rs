//! One `[[access.rules]]` entry: read from configuration ([`RawRule`]), checked
//! ([`Rule::parse`]), and matched against one reading of a request.

use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

use super::Policy;
use super::path;
use crate::groups::GroupName;

/// A rule as written in the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// A checked rule: what it matches and the policy it gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    host: Option<HostPattern>,
    path: Option<PathPattern>,
    /// Upper case.
    methods: Option<Vec<String>>,
    policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`, kept as `.example.com`.
    Subdomains(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPattern {
    Exact(String),
    /// What precedes the final `*`.
    Prefix(String),
}

/// What a request shows of one part (host, path): nothing, something that cannot be
/// read, or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen<'a> {
    Absent,
    Unreadable,
    Value(&'a str),
}

/// Whether a rule matches a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Match {
    No,
    Yes,
    /// It depends on a part that cannot be read.
    Unsure,
}

impl Rule {
    /// Checks `raw`; the error is `field: what is wrong`.
    pub fn parse(raw: &RawRule) -> Result<Self, String> {
        let host = raw.host.as_deref().map(parse_host).transpose()?;
        let path = raw.path.as_deref().map(parse_path).transpose()?;
        let methods = raw.methods.as_deref().map(parse_methods).transpose()?;
        let policy = parse_policy(&raw.policy, raw.groups.as_deref())?;
        Ok(Self { host, path, methods, policy })
    }

    /// The policy for the requests this rule matches.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(super) fn has_path(&self) -> bool {
        self.path.is_some()
    }

    pub(super) fn matches(&self, host: Seen<'_>, path: Seen<'_>, method: Option<&str>) -> Match {
        let method_ok = match (&self.methods, method) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(methods), Some(m)) => methods.iter().any(|allowed| allowed.eq_ignore_ascii_case(m)),
        };
        let host = self.host.as_ref().map(|p| part(host, |h| p.matches(h)));
        let path = self.path.as_ref().map(|p| part(path, |s| p.matches(s)));
        let parts = [host, path];
        if !method_ok || parts.contains(&Some(Match::No)) {
            Match::No
        } else if parts.contains(&Some(Match::Unsure)) {
            Match::Unsure
        } else {
            Match::Yes
        }
    }
}

fn part(seen: Seen<'_>, matches: impl Fn(&str) -> bool) -> Match {
    match seen {
        Seen::Unreadable => Match::Unsure,
        Seen::Value(v) if matches(v) => Match::Yes,
        Seen::Absent | Seen::Value(_) => Match::No,
    }
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(name) => host == name,
            Self::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

impl PathPattern {
    fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(p) => path == p,
            // `/admin/*` also matches `/admin` itself.
            Self::Prefix(p) if p.len() > 1 && p.ends_with('/') => {
                path.starts_with(p.as_str()) || path == &p[..p.len() - 1]
            }
            Self::Prefix(p) => path.starts_with(p.as_str()),
        }
    }
}

/// The host of `X-Forwarded-Host` (or `Host`) as rules compare it: lower case,
/// without port or final dot, IPv6 in brackets in its canonical form. `None` when it
/// is not a host.
pub(super) fn request_host(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let (name, port) = if raw.starts_with('[') {
        let (name, rest) = raw.split_at(raw.find(']')? + 1);
        (name, if rest.is_empty() { None } else { Some(rest.strip_prefix(':')?) })
    } else {
        match raw.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (raw, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    canonical_host(name)
}

fn canonical_host(name: &str) -> Option<String> {
    if let Some(inner) = name.strip_prefix('[') {
        let addr: Ipv6Addr = inner.strip_suffix(']')?.parse().ok()?;
        return Some(format!("[{addr}]"));
    }
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && !name.contains("..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    valid.then_some(name)
}

fn parse_host(raw: &str) -> Result<HostPattern, String> {
    if raw.is_empty() {
        return Err("host: must not be empty (leave it out to match every host)".into());
    }
    let (wildcard, name) = match raw.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    if name.contains('*') {
        return Err(format!("host: {raw:?}: \"*\" may only start a host, as in \"*.example.com\""));
    }
    let bad = || {
        format!(
            "host: {raw:?} is not a host name like app.example.com, *.example.com or [::1] (without a port)"
        )
    };
    let name = canonical_host(name).ok_or_else(bad)?;
    match (wildcard, name.starts_with('[')) {
        (false, _) => Ok(HostPattern::Exact(name)),
        (true, false) => Ok(HostPattern::Subdomains(format!(".{name}"))),
        (true, true) => Err(bad()),
    }
}

fn parse_path(raw: &str) -> Result<PathPattern, String> {
    if !raw.starts_with('/') {
        return Err(format!("path: {raw:?} must start with \"/\""));
    }
    let (fixed, wildcard) = match raw.strip_suffix('*') {
        Some(prefix) => (prefix, true),
        None => (raw, false),
    };
    if fixed.contains('*') {
        return Err(format!("path: {raw:?}: \"*\" may only end a path, as in \"/admin/*\""));
    }
    // Request paths are compared decoded and normalised: a rule that is not could
    // never match. Only whole segments count: `/admin/.*` is a prefix of `/admin/.env`.
    let whole = if wildcard { &fixed[..=fixed.rfind('/').unwrap_or(0)] } else { fixed };
    if !path::is_normal(whole) {
        return Err(format!(
            "path: {raw:?} can never match: request paths are compared without \".\" or \"..\" segments and with \"//\" merged"
        ));
    }
    if let Ok(decoded) = path::decode(fixed)
        && decoded != fixed
    {
        let fixed_up = if wildcard { format!("{decoded}*") } else { decoded };
        return Err(format!(
            "path: {raw:?} can never match: request paths are compared percent-decoded, write {fixed_up:?}"
        ));
    }
    Ok(if wildcard { PathPattern::Prefix(fixed.to_owned()) } else { PathPattern::Exact(fixed.to_owned()) })
}

fn parse_methods(raw: &[String]) -> Result<Vec<String>, String> {
    if raw.is_empty() {
        return Err("methods: must not be empty (leave it out to match every method)".into());
    }
    // An HTTP token (RFC 9110 §5.6.2), but `*`, which reads like a wildcard.
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'+-.^_`|~".contains(&b);
    raw.iter()
        .map(|m| {
            if m.is_empty() || !m.bytes().all(tchar) {
                Err(format!("methods: {m:?} is not an HTTP method (leave methods out to match every method)"))
            } else {
                Ok(m.to_ascii_uppercase())
            }
        })
        .collect()
}

fn parse_policy(name: &str, groups: Option<&[String]>) -> Result<Policy, String> {
    let policy = match name {
        "public" => Policy::Public,
        "signed_in" => Policy::SignedIn,
        "two_factor" => Policy::TwoFactor,
        "deny" => Policy::Deny,
        "groups" => {
            let groups = groups.ok_or("groups: required with policy = \"groups\"")?;
            if groups.is_empty() {
                return Err("groups: must name at least one group".into());
            }
            let names = groups.iter().map(|g| {
                GroupName::parse(g)
                    .ok_or_else(|| format!("groups: {g:?} is not a group name ([a-z0-9][a-z0-9_.-]{{0,63}})"))
            });
            return names.collect::<Result<_, _>>().map(Policy::Groups);
        }
        other => {
            return Err(format!(
                "policy: {other:?} is not one of public, signed_in, two_factor, groups, deny"
            ));
        }
    };
    if groups.is_some() {
        return Err(format!(
            "groups: only allowed with policy = \"groups\" (this rule has policy = {name:?})"
        ));
    }
    Ok(policy)
}
