//! Reading a password for the CLI: from a TTY prompt (asked twice) or, with
//! `--password-stdin`, from standard input. Never from an argument.

use std::io::{IsTerminal as _, Read as _};

use portcullis_core::Password;

use super::Failure;

pub fn read(from_stdin: bool) -> Result<Password, Failure> {
    if from_stdin {
        let mut raw = String::new();
        std::io::stdin()
            .take(4096)
            .read_to_string(&mut raw)
            .map_err(|e| Failure::usage(format!("--password-stdin: cannot read standard input: {e}")))?;
        let line = raw.strip_suffix('\n').map_or(raw.as_str(), |s| s.strip_suffix('\r').unwrap_or(s));
        if line.is_empty() {
            return Err(Failure::usage("--password-stdin: standard input is empty"));
        }
        return Ok(Password::new(line));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage("no terminal to ask for the password; pipe it in with --password-stdin"));
    }
    let first = rpassword::prompt_password("Password: ")
        .map_err(|e| Failure::runtime(format!("cannot read the password: {e}")))?;
    let second = rpassword::prompt_password("Repeat password: ")
        .map_err(|e| Failure::runtime(format!("cannot read the password: {e}")))?;
    if first != second {
        return Err(Failure::usage("the two passwords do not match"));
    }
    Ok(Password::new(&first))
}
