//! HTML templates (minijinja, autoescaped) and static files. Built-in copies are
//! compiled in; `ui.templates_dir` may override any of them by file name
//! (`login.html`, `mail/reset_password.txt`, `static/style.css`, ...).

use std::path::PathBuf;

use minijinja::Environment;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        fn builtin_template(name: &str) -> Option<&'static str> {
            match name {
                $($name => Some(include_str!(concat!("../templates/", $name))),)*
                _ => None,
            }
        }
        /// Every built-in template, for tests that render them all.
        pub const TEMPLATE_NAMES: &[&str] = &[$($name),*];
    };
}

embedded!(
    "base.html",
    "home.html",
    "register.html",
    "login.html",
    "logout.html",
    "account.html",
    "error.html",
    "login_mfa.html",
    "mfa.html",
    "check_email.html",
    "forgot_password.html",
    "reset_password.html",
    "email_link.html",
    "undo_email_change.html",
    "consent.html",
    "oauth_logout.html",
    "form_post.html",
    "mail/base.html",
    "mail/base.txt",
    "mail/verify_email.html",
    "mail/verify_email.txt",
    "mail/address_in_use.html",
    "mail/address_in_use.txt",
    "mail/reset_password.html",
    "mail/reset_password.txt",
    "mail/password_was_reset.html",
    "mail/password_was_reset.txt",
    "mail/password_changed.html",
    "mail/password_changed.txt",
    "mail/confirm_email_change.html",
    "mail/confirm_email_change.txt",
    "mail/email_changed.html",
    "mail/email_changed.txt",
    "mail/account_deleted.html",
    "mail/account_deleted.txt",
    "mail/mfa_disabled.html",
    "mail/mfa_disabled.txt",
    "mail/passkey_added.html",
    "mail/passkey_added.txt",
);

fn builtin_static(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "style.css" => Some((include_str!("../static/style.css"), "text/css; charset=utf-8")),
        "passkeys.js" => Some((include_str!("../static/passkeys.js"), "text/javascript; charset=utf-8")),
        "form_post.js" => Some((include_str!("../static/form_post.js"), "text/javascript; charset=utf-8")),
        _ => None,
    }
}

/// Whether a file name is a plain name inside the folder (no path tricks).
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// A plain name, or `mail/` and a plain name (the mail templates).
fn template_name(name: &str) -> bool {
    plain_name(name.strip_prefix("mail/").unwrap_or(name))
}

pub struct Templates {
    env: Environment<'static>,
    dir: Option<PathBuf>,
}

impl Templates {
    pub fn new(dir: Option<PathBuf>) -> Self {
        let mut env = Environment::new();
        let override_dir = dir.clone();
        env.set_loader(move |name| {
            if !template_name(name) {
                return Ok(None);
            }
            if let Some(dir) = &override_dir {
                match std::fs::read_to_string(dir.join(name)) {
                    Ok(text) => return Ok(Some(text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(minijinja::Error::new(
                            minijinja::ErrorKind::TemplateNotFound,
                            "cannot read template",
                        )
                        .with_source(e));
                    }
                }
            }
            Ok(builtin_template(name).map(str::to_owned))
        });
        Self { env, dir }
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }

    /// A static file's content and content type.
    pub fn static_file(&self, name: &str) -> Option<(Vec<u8>, &'static str)> {
        let (builtin, mime) = builtin_static(name)?;
        if let Some(dir) = &self.dir
            && let Ok(bytes) = std::fs::read(dir.join("static").join(name))
        {
            return Some((bytes, mime));
        }
        Some((builtin.as_bytes().to_vec(), mime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    /// Every built-in template renders, both for a visitor and for a signed-in user
    /// with every optional block filled.
    #[test]
    fn every_template_renders() {
        let t = Templates::new(None);
        let user = context! { email => "a@example.com", email_verified => false, mfa_enabled => false, created_at => "2026-01-01T00:00:00Z" };
        let session = context! { id => "x", created_at => "t", last_seen_at => "t", ip => "127.0.0.1", user_agent => "ua", current => true };
        let event = context! { what => "Signed in", failed => false, at => "t", ip => "127.0.0.1" };
        // Mail templates have tests of their own (`mail` module).
        for name in TEMPLATE_NAMES.iter().filter(|n| !n.starts_with("mail/")) {
            for signed_in in [false, true] {
                let ctx = context! {
                    current_user => if signed_in { Some(user.clone()) } else { None },
                    user => user.clone(),
                    csrf_token => "token",
                    flash => "a flash",
                    email => "a@example.com",
                    next => "/account",
                    error => "an error",
                    errors => context! { email => "bad", password => "bad", password_confirm => "bad",
                        current_password => "bad", new_password => "bad", new_password_confirm => "bad" },
                    sessions => vec![session.clone()],
                    events => vec![event.clone()],
                    status => 404,
                    message => "<script>",
                };
                let html = t.render(name, ctx).unwrap_or_else(|e| panic!("{name}: {e:#}"));
                if *name != "base.html" {
                    assert!(html.contains("</html>"), "{name} extends the layout");
                }
                assert!(!html.contains("<script>"), "{name} escapes what it shows");
            }
        }
    }

    /// The form_post page posts exactly its fields to exactly its action, escaped.
    #[test]
    fn the_form_post_page_carries_the_response_to_the_redirect_uri() {
        let t = Templates::new(None);
        let fields = vec![
            context! { name => "code", value => "abc" },
            context! { name => "state", value => "\"><script>alert(1)</script>" },
            context! { name => "iss", value => "https://id.example" },
        ];
        let ctx = context! { action => "https://app.example/cb?a=1&b=\"2", fields };
        let html = t.render("form_post.html", ctx).unwrap();
        assert!(
            html.contains(
                "<form method=\"post\" action=\"https:&#x2f;&#x2f;app.example&#x2f;cb?a=1&amp;b=&quot;2\""
            ),
            "{html}"
        );
        assert!(html.contains("<input type=\"hidden\" name=\"code\" value=\"abc\">"), "{html}");
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;\""), "{html}");
        assert_eq!(html.matches("<input ").count(), 3);
        assert!(html.contains("<script src=\"/static/form_post.js\" defer></script>"));
        assert!(html.contains("type=\"submit\"") && html.contains("Continue"), "works without script");
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn static_files_are_served_and_unknown_names_are_not() {
        let t = Templates::new(None);
        assert!(t.static_file("style.css").is_some());
        assert!(t.static_file("passkeys.js").is_some_and(|(_, mime)| mime.starts_with("text/javascript")));
        assert!(t.static_file("form_post.js").is_some_and(|(_, mime)| mime.starts_with("text/javascript")));
        assert!(t.static_file("../Cargo.toml").is_none());
        assert!(t.static_file("nope.js").is_none());
    }
}
