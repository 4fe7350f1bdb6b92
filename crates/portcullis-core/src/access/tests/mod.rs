//! Unit tests of the access rules: helpers and decisions here, matching and
//! refused rules in their own files.

mod matching;
mod refused;

use super::*;

#[expect(clippy::unnecessary_wraps, reason = "fills the optional fields of RawRule")]
pub(super) fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[expect(clippy::unnecessary_wraps, reason = "fills the optional fields of RawRule")]
pub(super) fn list(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|x| (*x).to_owned()).collect())
}

pub(super) fn raw(policy: &str) -> RawRule {
    RawRule { policy: policy.into(), ..RawRule::default() }
}

pub(super) fn on_path(path: &str, policy: &str) -> RawRule {
    RawRule { path: s(path), ..raw(policy) }
}

pub(super) fn on_host(host: &str, policy: &str) -> RawRule {
    RawRule { host: s(host), ..raw(policy) }
}

pub(super) fn groups(names: &[&str]) -> Policy {
    Policy::Groups(names.iter().map(|n| GroupName::parse(n).expect("valid")).collect())
}

pub(super) fn rules(raw: &[RawRule], default: &str) -> AccessRules {
    AccessRules::parse(raw, default).expect("valid rules")
}

pub(super) fn at(rules: &AccessRules, host: Option<&str>, uri: Option<&str>, method: Option<&str>) -> Policy {
    rules.policy_for(&AccessRequest { host, uri, method }).clone()
}

pub(super) fn uri(rules: &AccessRules, uri: &str) -> Policy {
    at(rules, Some("app.example.com"), Some(uri), Some("GET"))
}

pub(super) fn host(rules: &AccessRules, host: &str) -> Policy {
    at(rules, Some(host), Some("/"), Some("GET"))
}

pub(super) fn error(raw: &RawRule) -> String {
    Rule::parse(raw).expect_err("refused")
}

// ---- decide ----

#[test]
fn public_allows_everyone_and_deny_forbids_everyone_even_anonymous() {
    let who = Who { groups: &[], two_factor: true };
    assert_eq!(decide(&Policy::Public, None), Decision::Allow);
    assert_eq!(decide(&Policy::Public, Some(who)), Decision::Allow);
    assert_eq!(decide(&Policy::Deny, None), Decision::Forbidden);
    assert_eq!(decide(&Policy::Deny, Some(who)), Decision::Forbidden);
}

#[test]
fn signed_in_allows_any_user_and_asks_anonymous_to_sign_in() {
    assert_eq!(decide(&Policy::SignedIn, None), Decision::Unauthenticated);
    assert_eq!(decide(&Policy::SignedIn, Some(Who { groups: &[], two_factor: false })), Decision::Allow);
}

#[test]
fn two_factor_forbids_a_user_signed_in_with_a_password_only() {
    assert_eq!(decide(&Policy::TwoFactor, None), Decision::Unauthenticated);
    assert_eq!(decide(&Policy::TwoFactor, Some(Who { groups: &[], two_factor: false })), Decision::Forbidden);
    assert_eq!(decide(&Policy::TwoFactor, Some(Who { groups: &[], two_factor: true })), Decision::Allow);
}

#[test]
fn groups_allow_a_member_of_any_listed_group_and_forbid_others() {
    let policy = groups(&["ops", "admin"]);
    let member = ["dev".to_owned(), "ops".to_owned()];
    let stranger = ["dev".to_owned(), "opsx".to_owned()];
    assert_eq!(decide(&policy, None), Decision::Unauthenticated);
    assert_eq!(decide(&policy, Some(Who { groups: &member, two_factor: false })), Decision::Allow);
    assert_eq!(decide(&policy, Some(Who { groups: &stranger, two_factor: true })), Decision::Forbidden);
    assert_eq!(decide(&policy, Some(Who { groups: &[], two_factor: true })), Decision::Forbidden);
}

// ---- rules and the default ----

#[test]
fn no_rules_means_signed_in_for_everything() {
    let rules = AccessRules::default();
    assert!(rules.is_empty());
    assert_eq!(rules.default_policy(), &Policy::SignedIn);
    assert_eq!(at(&rules, None, None, None), Policy::SignedIn);
    assert_eq!(uri(&rules, "/%zz/../admin"), Policy::SignedIn, "no path rule: the path does not matter");
    assert_eq!(rules, super::AccessRules::parse(&[], "signed_in").expect("valid"));
}

#[test]
fn the_first_matching_rule_wins_else_the_default() {
    let rules = rules(
        &[on_path("/admin/public", "public"), on_path("/admin/*", "deny"), on_path("/admin/x", "public")],
        "two_factor",
    );
    assert!(!rules.is_empty());
    assert_eq!(rules.rules().len(), 3);
    assert_eq!(uri(&rules, "/admin/public"), Policy::Public);
    assert_eq!(uri(&rules, "/admin/x"), Policy::Deny);
    assert_eq!(uri(&rules, "/elsewhere"), Policy::TwoFactor);
}

#[test]
fn every_policy_and_default_policy_is_read() {
    for (name, policy) in [
        ("public", Policy::Public),
        ("signed_in", Policy::SignedIn),
        ("two_factor", Policy::TwoFactor),
        ("deny", Policy::Deny),
    ] {
        assert_eq!(rules(&[raw(name)], "deny").rules()[0].policy(), &policy);
        assert_eq!(rules(&[], name).default_policy(), &policy);
        assert_eq!(policy.name(), name);
    }
    let g = RawRule { groups: list(&["ops", "admin"]), ..raw("groups") };
    assert_eq!(rules(&[g], "deny").rules()[0].policy(), &groups(&["ops", "admin"]));
}

#[test]
fn a_rule_with_nothing_to_match_matches_every_request() {
    let rules = rules(&[raw("public")], "deny");
    assert_eq!(at(&rules, None, None, None), Policy::Public);
    assert_eq!(uri(&rules, "/%zz"), Policy::Public);
}
