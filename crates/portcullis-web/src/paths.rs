//! Every route of the web layer, named once.

pub const HOME: &str = "/";
pub const REGISTER: &str = "/register";
pub const LOGIN: &str = "/login";
pub const LOGOUT: &str = "/logout";
pub const ACCOUNT: &str = "/account";
pub const ACCOUNT_PASSWORD: &str = "/account/password";
pub const ACCOUNT_SESSION_REVOKE: &str = "/account/sessions/{id}/revoke";
pub const ACCOUNT_GRANT_REVOKE: &str = "/account/applications/{id}/revoke";
pub const LOGIN_MFA: &str = "/login/mfa";
/// The link of a sign-in mail (`?token=`): a confirm button (GET), the sign-in (POST).
pub const LOGIN_EMAIL: &str = "/login/email";
/// Asks for a sign-in link and code; answers with the page where the code is entered.
pub const LOGIN_EMAIL_SEND: &str = "/login/email/send";
/// Signs in with the address and the mailed code.
pub const LOGIN_EMAIL_CODE: &str = "/login/email/code";
pub const ACCOUNT_MFA: &str = "/account/mfa";
pub const ACCOUNT_MFA_ENABLE: &str = "/account/mfa/enable";
pub const ACCOUNT_MFA_CONFIRM: &str = "/account/mfa/confirm";
pub const ACCOUNT_MFA_DISABLE: &str = "/account/mfa/disable";
pub const ACCOUNT_MFA_CODES: &str = "/account/mfa/recovery-codes";
pub const ACCOUNT_EMAIL: &str = "/account/email";
pub const ACCOUNT_DELETE: &str = "/account/delete";
pub const ACCOUNT_PASSKEY_RENAME: &str = "/account/passkeys/{id}/rename";
pub const ACCOUNT_PASSKEY_DELETE: &str = "/account/passkeys/{id}/delete";
/// Starts a flow through an upstream identity provider (SPEC §10).
pub const LOGIN_UPSTREAM: &str = "/login/{provider}";
pub const LOGIN_UPSTREAM_CALLBACK: &str = "/login/{provider}/callback";
/// Links another upstream identity to the signed-in account.
pub const ACCOUNT_IDENTITY_LINK: &str = "/account/identities/link/{provider}";
pub const ACCOUNT_IDENTITY_UNLINK: &str = "/account/identities/{id}/unlink";
pub const CHECK_EMAIL: &str = "/check-email";
pub const FORGOT_PASSWORD: &str = "/forgot-password";
pub const RESET_PASSWORD: &str = "/reset-password";
pub const VERIFY_EMAIL: &str = "/verify-email";
pub const VERIFY_EMAIL_RESEND: &str = "/verify-email/resend";
pub const UNDO_EMAIL_CHANGE: &str = "/undo-email-change";
pub const ACCEPT_INVITATION: &str = "/accept-invitation";
pub const STATIC: &str = "/static/{file}";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const METRICS: &str = "/metrics";
pub const AUTH_VERIFY: &str = "/auth/verify";
pub const ADMIN: &str = "/admin";
pub const ADMIN_USERS: &str = "/admin/users";
pub const ADMIN_INVITE: &str = "/admin/users/invite";
pub const ADMIN_USER: &str = "/admin/users/{id}";
pub const ADMIN_USER_ACTION: &str = "/admin/users/{id}/{action}";
pub const ADMIN_GROUPS: &str = "/admin/groups";
pub const ADMIN_GROUP: &str = "/admin/groups/{name}";
pub const ADMIN_GROUP_DELETE: &str = "/admin/groups/{name}/delete";
pub const ADMIN_GROUP_ADD: &str = "/admin/groups/{name}/add";
pub const ADMIN_GROUP_REMOVE: &str = "/admin/groups/{name}/remove";
pub const ADMIN_CLIENTS: &str = "/admin/clients";
pub const ADMIN_CLIENT_DELETE: &str = "/admin/clients/{id}/delete";
pub const ADMIN_WEBHOOKS: &str = "/admin/webhooks";
pub const ADMIN_WEBHOOK_DELETE: &str = "/admin/webhooks/{id}/delete";
pub const ADMIN_WEBHOOK_TEST: &str = "/admin/webhooks/{id}/test";
pub const ADMIN_EVENTS: &str = "/admin/events";
pub const ADMIN_KEYS: &str = "/admin/keys";
pub const ADMIN_KEYS_ROTATE: &str = "/admin/keys/rotate";

pub const API_REGISTER: &str = "/api/v1/register";
pub const API_LOGIN: &str = "/api/v1/login";
pub const API_LOGOUT: &str = "/api/v1/logout";
pub const API_ME: &str = "/api/v1/me";
pub const API_ME_PASSWORD: &str = "/api/v1/me/password";
pub const API_ME_SESSIONS: &str = "/api/v1/me/sessions";
pub const API_ME_SESSION: &str = "/api/v1/me/sessions/{id}";
pub const API_ME_EVENTS: &str = "/api/v1/me/events";
pub const API_LOGIN_MFA: &str = "/api/v1/login/mfa";
pub const API_LOGIN_EMAIL: &str = "/api/v1/login/email";
pub const API_LOGIN_EMAIL_VERIFY: &str = "/api/v1/login/email/verify";
pub const API_MFA_TOTP: &str = "/api/v1/mfa/totp";
pub const API_MFA_TOTP_CONFIRM: &str = "/api/v1/mfa/totp/confirm";
pub const API_MFA_RECOVERY_CODES: &str = "/api/v1/mfa/recovery-codes";
pub const API_ME_EMAIL: &str = "/api/v1/me/email";
pub const API_ME_EXPORT: &str = "/api/v1/me/export";
pub const API_ME_IDENTITIES: &str = "/api/v1/me/identities";
pub const API_ME_IDENTITY: &str = "/api/v1/me/identities/{id}";
pub const API_PASSWORD_FORGOT: &str = "/api/v1/password/forgot";
pub const API_PASSWORD_RESET: &str = "/api/v1/password/reset";
pub const API_EMAIL_VERIFY: &str = "/api/v1/email/verify";
pub const API_EMAIL_RESEND: &str = "/api/v1/email/resend";
pub const API_EMAIL_UNDO: &str = "/api/v1/email/undo";
pub const API_PASSKEYS: &str = "/api/v1/passkeys";
pub const API_PASSKEY: &str = "/api/v1/passkeys/{id}";
pub const API_PASSKEYS_REGISTER_START: &str = "/api/v1/passkeys/register/start";
pub const API_PASSKEYS_REGISTER_FINISH: &str = "/api/v1/passkeys/register/finish";
pub const API_LOGIN_PASSKEY_START: &str = "/api/v1/login/passkey/start";
pub const API_LOGIN_PASSKEY_FINISH: &str = "/api/v1/login/passkey/finish";
pub const API_OPENAPI: &str = "/api/openapi.json";
pub const API_TOKENS: &str = "/api/v1/tokens";
pub const API_TOKENS_REFRESH: &str = "/api/v1/tokens/refresh";
pub const API_ADMIN_USERS: &str = "/api/v1/admin/users";
pub const API_ADMIN_USER: &str = "/api/v1/admin/users/{id}";
pub const API_ADMIN_USER_SIGN_OUT: &str = "/api/v1/admin/users/{id}/sign-out";
pub const API_ADMIN_USER_MFA: &str = "/api/v1/admin/users/{id}/mfa";
pub const API_ADMIN_USER_PASSWORD_RESET: &str = "/api/v1/admin/users/{id}/password-reset";
pub const API_ADMIN_USER_GROUP: &str = "/api/v1/admin/users/{id}/groups/{name}";
pub const API_ADMIN_GROUPS: &str = "/api/v1/admin/groups";
pub const API_ADMIN_GROUP: &str = "/api/v1/admin/groups/{name}";
pub const API_ADMIN_EVENTS: &str = "/api/v1/admin/events";

pub const OIDC_DISCOVERY: &str = "/.well-known/openid-configuration";
pub const OAUTH_AUTHORIZE: &str = "/oauth2/authorize";
pub const OAUTH_TOKEN: &str = "/oauth2/token";
pub const OAUTH_USERINFO: &str = "/oauth2/userinfo";
pub const OAUTH_JWKS: &str = "/oauth2/jwks";
pub const OAUTH_REVOKE: &str = "/oauth2/revoke";
pub const OAUTH_INTROSPECT: &str = "/oauth2/introspect";
pub const OAUTH_LOGOUT: &str = "/oauth2/logout";

/// Prefix of the JSON API, whose errors are problem+json.
pub const API_PREFIX: &str = "/api/";

/// The routes an administrator may use before enrolling in MFA when it is required.
pub fn is_mfa_enrolment(path: &str) -> bool {
    path.starts_with(ACCOUNT_MFA) || path.starts_with("/api/v1/mfa/") || path == LOGOUT || path == API_LOGOUT
}

/// Whether `next` is safe to redirect to: a local path that starts with exactly one
/// `/`, with no backslash, whitespace or control character anywhere (browsers strip
/// tabs and newlines and read `\` as `/`, so `/\evil.example` would leave the site).
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2048
        && !next.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

/// The origin (`scheme://host[:port]`, lower-cased) of an absolute http(s) URL
/// without user info or backslashes; `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
        return None;
    }
    if url.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control()) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase()))
}

/// Whether `next` may be redirected to: a local path, or an absolute URL on one of
/// `allowed_origins` (`server.allowed_redirect_origins`, for forward-auth).
pub fn is_allowed_next(next: &str, allowed_origins: &[String]) -> bool {
    is_local_path(next)
        || origin_of(next)
            .is_some_and(|o| allowed_origins.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(&o)))
}

/// `/login?next=<path>` for a path that passed [`is_local_path`].
pub fn login_with_next(next: &str) -> String {
    with_next(LOGIN, next)
}

/// `<base>?next=<path>`, the path percent-encoded.
pub fn with_next(base: &str, next: &str) -> String {
    let mut out = String::from(base);
    out.push_str("?next=");
    for b in next.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_accepted_as_next() {
        for ok in ["/", "/account", "/a/b?c=d#e", "/%2F%2Fevil.example"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "account",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "http:/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "javascript:alert(1)",
            "/a\\b",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn absolute_next_urls_must_be_on_an_allowed_origin() {
        let allowed = vec!["https://app.example.com".to_owned(), "http://localhost:3000".to_owned()];
        for ok in
            ["https://app.example.com/", "https://APP.example.com/x?y=1", "http://localhost:3000/a", "/local"]
        {
            assert!(is_allowed_next(ok, &allowed), "{ok}");
        }
        for bad in [
            "https://app.example.com.evil.example/",
            "https://evil.example@app.example.com/",
            "https://app.example.com:444/",
            "http://app.example.com/",
            "javascript://app.example.com/",
            "https://app.example.com\\@evil.example",
            "//app.example.com/",
        ] {
            assert!(!is_allowed_next(bad, &allowed), "{bad}");
        }
    }

    #[test]
    fn next_is_percent_encoded_in_login_links() {
        assert_eq!(login_with_next("/account"), "/login?next=%2Faccount");
        assert_eq!(login_with_next("/a?b=c&d"), "/login?next=%2Fa%3Fb%3Dc%26d");
    }
}
