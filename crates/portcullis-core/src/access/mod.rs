//! Forward-auth access rules (SPEC §7): which [`Policy`] applies to a request the
//! proxy asks about, and what that policy decides for who is asking. Pure code: the
//! web layer reads the `X-Forwarded-*` headers and the session, this module answers.
//!
//! The first rule that matches wins, else `access.default_policy`. How a request is
//! read, and the choices the spec leaves open:
//!
//! - **Host** (`X-Forwarded-Host`): compared case-insensitively, without port
//!   (`[::1]:8080` is `[::1]`; IPv6 in canonical form) and without a final dot
//!   (`example.com.` is `example.com`). `*.example.com` matches subdomains at any
//!   depth, not `example.com`. A rule with a `host` does not match a request without one.
//! - **Path** (`X-Forwarded-Uri`): without query and fragment, percent-decoded, runs of
//!   `/` merged into one (nginx's `merge_slashes`, on by default: `//admin` is
//!   `/admin`), then dot segments removed (RFC 3986 §5.2.4: `/a/../admin` is
//!   `/admin`, and so is `/a/%2e%2e/admin`). `/admin/*` matches `/admin` and
//!   everything under `/admin/`; `/api*` matches `/api`, `/apix`, `/api/v1`; a path
//!   without `*` matches exactly (`/admin` does not match `/admin/`). A rule with a
//!   `path` does not match a request without `X-Forwarded-Uri`.
//! - **Encoded slashes** (`%2F`) decode to `/` in the spec's reading, so
//!   `/a%2Fb` matches `/a/*`.
//! - **Requests read differently by different servers are refused.** The proxy
//!   hands the application the raw path, and servers disagree about raw paths with
//!   dot segments in them (some route before removing them, some keep `%2F` inside
//!   its segment so `/admin%2f..` stays under `/admin/`, Tomcat drops `;parameters`
//!   so `/..;/` is `/../`, some decode twice). Each such reading is matched too; if
//!   they do not all give the same policy, the answer is [`Policy::Deny`]. Browsers
//!   remove dot segments before sending, so in practice only crafted requests are hit.
//! - **Unreadable requests are refused.** A path with a broken percent escape, bytes
//!   that are not UTF-8, a control character (`%00`) or a backslash (literal or
//!   `%5C`: a separator on some servers), or not starting with `/`, and a host that
//!   is not a host name, cannot be matched; when the answer depends on them (a rule
//!   would match but for its `path` or `host`), it is [`Policy::Deny`]. A rule that
//!   fails to match a crafted path would be a way around a `deny` rule; refusing is
//!   never less safe than any answer the rules could give.
//! - **Methods** (`X-Forwarded-Method`) compare case-insensitively; a rule with
//!   `methods` does not match a request without the header.

mod path;
mod rule;
#[cfg(test)]
mod tests;

use rule::{Match, Seen};
pub use rule::{RawRule, Rule};

use crate::groups::GroupName;

/// Who may pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// A user whose sign-in used a second factor (TOTP, recovery code, passkey).
    TwoFactor,
    /// A member of any of these groups (never empty).
    Groups(Vec<GroupName>),
    /// No one.
    Deny,
}

static DENY: Policy = Policy::Deny;

impl Policy {
    /// The name used in configuration (`public`, `signed_in`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::SignedIn => "signed_in",
            Self::TwoFactor => "two_factor",
            Self::Groups(_) => "groups",
            Self::Deny => "deny",
        }
    }
}

/// What the proxy says about the request it asks about, header values as received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    /// `X-Forwarded-Host`.
    pub host: Option<&'a str>,
    /// `X-Forwarded-Uri`: path and query.
    pub uri: Option<&'a str>,
    /// `X-Forwarded-Method`.
    pub method: Option<&'a str>,
}

/// The rules and the default, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRules {
    rules: Vec<Rule>,
    default: Policy,
}

impl Default for AccessRules {
    /// No rules: everyone signed in may pass.
    fn default() -> Self {
        Self::new(Vec::new(), Policy::SignedIn)
    }
}

impl AccessRules {
    pub fn new(rules: Vec<Rule>, default: Policy) -> Self {
        Self { rules, default }
    }

    /// Checks `access.rules` and `access.default_policy`; the error is one line
    /// naming the key, like `access.rules[2].path: ...`.
    pub fn parse(raw: &[RawRule], default_policy: &str) -> Result<Self, String> {
        let default = match default_policy {
            "public" => Policy::Public,
            "signed_in" => Policy::SignedIn,
            "two_factor" => Policy::TwoFactor,
            "deny" => Policy::Deny,
            "groups" => {
                return Err("access.default_policy: \"groups\" cannot be the default (it has no list of \
                            groups); end access.rules with a rule that has only policy and groups"
                    .into());
            }
            other => {
                return Err(format!(
                    "access.default_policy: {other:?} is not one of public, signed_in, two_factor, deny"
                ));
            }
        };
        let rules =
            raw.iter().enumerate().map(|(i, r)| Rule::parse(r).map_err(|e| format!("access.rules[{i}].{e}")));
        Ok(Self::new(rules.collect::<Result<_, _>>()?, default))
    }

    /// No rules (the default policy decides everything).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn default_policy(&self) -> &Policy {
        &self.default
    }

    /// The policy for `req`: the first matching rule's, else the default; `Deny` when
    /// the request is unreadable or ambiguous where a rule depends on it (module doc).
    pub fn policy_for(&self, req: &AccessRequest<'_>) -> &Policy {
        let host = req.host.map(str::trim).filter(|h| !h.is_empty()).map(rule::request_host);
        let host = match &host {
            None => Seen::Absent,
            Some(None) => Seen::Unreadable,
            Some(Some(h)) => Seen::Value(h),
        };
        let method = req.method.map(str::trim).filter(|m| !m.is_empty());
        let uri = req.uri.filter(|u| !u.is_empty());
        let readings = match uri {
            Some(uri) if self.rules.iter().any(Rule::has_path) => path::readings(uri),
            _ => return self.first_match(host, Seen::Absent, method),
        };
        let Ok(readings) = readings else {
            return self.first_match(host, Seen::Unreadable, method);
        };
        let mut policies = readings.iter().map(|p| self.first_match(host, Seen::Value(p), method));
        let first = policies.next().unwrap_or(&DENY);
        if policies.all(|p| p == first) { first } else { &DENY }
    }

    fn first_match(&self, host: Seen<'_>, path: Seen<'_>, method: Option<&str>) -> &Policy {
        for rule in &self.rules {
            match rule.matches(host, path, method) {
                Match::No => {}
                Match::Yes => return rule.policy(),
                Match::Unsure => return &DENY,
            }
        }
        &self.default
    }
}

/// Who is asking, when signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who<'a> {
    /// The user's groups.
    pub groups: &'a [String],
    /// The session's or token's sign-in used a second factor.
    pub two_factor: bool,
}

/// What forward-auth answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 200.
    Allow,
    /// 401 (or a redirect to sign in): signing in might help.
    Unauthenticated,
    /// 403: signed in but not allowed, or no one is.
    Forbidden,
}

/// What `policy` decides for `who` (`None`: not signed in).
pub fn decide(policy: &Policy, who: Option<Who<'_>>) -> Decision {
    let Some(who) = who else {
        return match policy {
            Policy::Public => Decision::Allow,
            Policy::Deny => Decision::Forbidden,
            _ => Decision::Unauthenticated,
        };
    };
    let allowed = match policy {
        Policy::Public | Policy::SignedIn => true,
        Policy::TwoFactor => who.two_factor,
        Policy::Groups(groups) => groups.iter().any(|g| who.groups.iter().any(|m| m == g.as_str())),
        Policy::Deny => false,
    };
    if allowed { Decision::Allow } else { Decision::Forbidden }
}
