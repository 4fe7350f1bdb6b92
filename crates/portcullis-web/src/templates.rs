//! HTML templates (minijinja, autoescaped) and static files. Built-in copies are
//! compiled in; `ui.templates_dir` may override any of them by file name
//! (`login.html`, `mail/reset_password.txt`, `static/style.css`, ...).
//!
//! Undefined behaviour is strict: a template that prints, tests or iterates a
//! variable its context does not have fails to render (the page contexts in
//! `pages::context` have a test for each template). An override that wants a
//! variable only some renders have asks `is defined` first.

use std::path::PathBuf;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

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
    "login_email.html",
    "login_email_code.html",
    "mfa.html",
    "check_email.html",
    "forgot_password.html",
    "reset_password.html",
    "email_link.html",
    "undo_email_change.html",
    "accept_invitation.html",
    "consent.html",
    "oauth_logout.html",
    "form_post.html",
    "_admin_nav.html",
    "_admin_password.html",
    "admin_overview.html",
    "admin_groups.html",
    "admin_group.html",
    "admin_clients.html",
    "admin_client_created.html",
    "admin_webhooks.html",
    "admin_webhook_created.html",
    "admin_keys.html",
    "admin_users.html",
    "admin_user.html",
    "admin_events.html",
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
    "mail/invitation.html",
    "mail/invitation.txt",
    "mail/email_signin.html",
    "mail/email_signin.txt",
    "mail/new_device.html",
    "mail/new_device.txt",
);

fn builtin_static(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "style.css" => Some((include_str!("../static/style.css"), "text/css; charset=utf-8")),
        "favicon.svg" => Some((include_str!("../static/favicon.svg"), "image/svg+xml")),
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
        env.set_undefined_behavior(UndefinedBehavior::Strict);
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

    pub fn render<C: Serialize + ?Sized>(&self, name: &str, ctx: &C) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(minijinja::Value::from(Serde(ctx)))
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

    /// A fresh folder for override files, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("portcullis-templates-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            Self(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[derive(Serialize)]
    struct Home {
        current_user: Option<()>,
        csrf_token: &'static str,
        flash: Option<&'static str>,
    }

    const HOME: Home = Home { current_user: None, csrf_token: "t", flash: None };

    /// Overrides use the same strict environment: what the context has renders, and
    /// a variable it may lack is asked about with `is defined`.
    #[test]
    fn an_override_replaces_a_built_in_template_and_keeps_the_layout() {
        let dir = Dir::new();
        let body = "{% extends \"base.html\" %}{% block content %}<h1>Acme</h1>\
            {% if tagline is defined %}{{ tagline }}{% endif %}{{ csrf_token }}{% endblock %}";
        std::fs::write(dir.0.join("home.html"), body).unwrap();
        let html = Templates::new(Some(dir.0.clone())).render("home.html", &HOME).unwrap();
        assert!(html.contains("<h1>Acme</h1>t") && html.contains("/static/style.css"), "{html}");
        assert!(Templates::new(None).render("home.html", &HOME).unwrap().contains("<h1>Welcome</h1>"));
    }

    #[test]
    fn an_override_that_reads_a_variable_the_page_lacks_fails_to_render() {
        let dir = Dir::new();
        std::fs::write(
            dir.0.join("home.html"),
            "{% extends \"base.html\" %}{% block content %}{{ tagline }}{% endblock %}",
        )
        .unwrap();
        let err = Templates::new(Some(dir.0.clone())).render("home.html", &HOME).unwrap_err();
        assert_eq!(err.kind(), minijinja::ErrorKind::UndefinedError, "{err:#}");
    }

    #[test]
    fn static_files_are_served_and_unknown_names_are_not() {
        let t = Templates::new(None);
        assert!(t.static_file("style.css").is_some());
        assert!(
            t.static_file("favicon.svg").is_some_and(|(_, mime)| mime == "image/svg+xml"),
            "no favicon 404 in the console"
        );
        assert!(t.static_file("passkeys.js").is_some_and(|(_, mime)| mime.starts_with("text/javascript")));
        assert!(t.static_file("form_post.js").is_some_and(|(_, mime)| mime.starts_with("text/javascript")));
        assert!(t.static_file("../Cargo.toml").is_none());
        assert!(t.static_file("nope.js").is_none());
    }
}
