//! Reading an import file (SPEC §9): CSV with a header row, or JSON Lines, one
//! record at a time, each checked field by field into a [`Record`] or the list of
//! its [`LineError`]s. Nothing here touches the database.

use std::io::{BufRead, BufReader, Read};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::accounts::email::Email;
use crate::accounts::import::{ImportFormat, LineError};
use crate::accounts::legacy_hash;
use crate::groups::GroupName;

/// The fields of a line; `email` alone is required.
pub const FIELDS: [&str; 6] =
    ["email", "password_hash", "email_verified", "created_at", "groups", "external_id"];

/// Longest accepted `external_id`, in bytes.
pub const MAX_EXTERNAL_ID: usize = 255;

/// A line that passed every check.
#[derive(Clone)]
pub(crate) struct Record {
    pub(crate) line: u64,
    pub(crate) email: Email,
    pub(crate) password_hash: Option<String>,
    pub(crate) email_verified: bool,
    pub(crate) created_at: Option<OffsetDateTime>,
    pub(crate) groups: Vec<GroupName>,
    pub(crate) external_id: Option<String>,
}

/// One line read: its record, or what is wrong with it.
pub(crate) struct Parsed {
    pub(crate) line: u64,
    pub(crate) record: Result<Record, Vec<LineError>>,
}

/// The fields of a line as written, before any check. `None` is an absent field.
#[derive(Default)]
struct Raw {
    email: Option<String>,
    password_hash: Option<String>,
    email_verified: Option<Result<bool, String>>,
    created_at: Option<String>,
    groups: Option<Result<Vec<String>, String>>,
    external_id: Option<Result<String, String>>,
}

/// Reads records from a source, in order.
pub(crate) enum Reader {
    Csv { rows: csv::StringRecordsIntoIter<Box<dyn Read + Send>>, columns: Vec<usize> },
    Jsonl { lines: BufReader<Box<dyn Read + Send>>, line: u64 },
}

impl Reader {
    /// Opens the source; a CSV header with an unknown column, or without `email`,
    /// is the list of its errors (line 1).
    pub(crate) fn new(source: Box<dyn Read + Send>, format: ImportFormat) -> Result<Self, Vec<LineError>> {
        match format {
            ImportFormat::Jsonl => Ok(Self::Jsonl { lines: BufReader::new(source), line: 0 }),
            ImportFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(source);
                let header =
                    reader.headers().map_err(|e| vec![LineError::new(1, "header", csv_reason(&e))])?.clone();
                let mut columns = Vec::with_capacity(header.len());
                let mut errors = Vec::new();
                for name in &header {
                    match FIELDS.iter().position(|f| *f == name) {
                        Some(i) if columns.contains(&i) => {
                            errors.push(LineError::new(1, name, "this column appears twice"));
                        }
                        Some(i) => columns.push(i),
                        None => errors.push(LineError::new(1, name, unknown_field())),
                    }
                }
                if !columns.contains(&0) {
                    errors.push(LineError::new(1, "email", "the required column is missing"));
                }
                if errors.is_empty() {
                    Ok(Self::Csv { rows: reader.into_records(), columns })
                } else {
                    Err(errors)
                }
            }
        }
    }

    /// The next record; `Err` is a failure to read the source at all (I/O).
    pub(crate) fn next_parsed(&mut self, now: OffsetDateTime) -> Option<Result<Parsed, std::io::Error>> {
        match self {
            Self::Csv { rows, columns } => {
                let row = rows.next()?;
                Some(match row {
                    Ok(row) => {
                        let line = row.position().map_or(0, csv::Position::line);
                        Ok(Parsed { line, record: check(line, from_csv(&row, columns), Vec::new(), now) })
                    }
                    Err(e) => {
                        if let csv::ErrorKind::Io(_) = e.kind() {
                            return Some(Err(std::io::Error::other(e.to_string())));
                        }
                        let line = e.position().map_or(0, csv::Position::line);
                        Ok(Parsed { line, record: Err(vec![LineError::new(line, "record", csv_reason(&e))]) })
                    }
                })
            }
            Self::Jsonl { lines, line } => loop {
                let mut text = Vec::new();
                match lines.read_until(b'\n', &mut text) {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(e) => return Some(Err(e)),
                }
                *line += 1;
                let n = *line;
                let Ok(text) = std::str::from_utf8(&text) else {
                    return Some(Ok(Parsed {
                        line: n,
                        record: Err(vec![LineError::new(n, "record", "not valid UTF-8")]),
                    }));
                };
                if text.trim().is_empty() {
                    continue;
                }
                let record = from_json(n, text).and_then(|(raw, errors)| check(n, raw, errors, now));
                return Some(Ok(Parsed { line: n, record }));
            },
        }
    }
}

fn unknown_field() -> String {
    format!("unknown field (the fields are {})", FIELDS.join(", "))
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
        _ => "cannot be read as CSV".to_owned(),
    }
}

/// A CSV row by the header's columns; an empty cell is an absent field.
fn from_csv(row: &csv::StringRecord, columns: &[usize]) -> Raw {
    let mut raw = Raw::default();
    for (cell, field) in row.iter().zip(columns) {
        if cell.is_empty() {
            continue;
        }
        let cell = cell.to_owned();
        match FIELDS[*field] {
            "email" => raw.email = Some(cell),
            "password_hash" => raw.password_hash = Some(cell),
            "email_verified" => {
                raw.email_verified = Some(match cell.to_ascii_lowercase().as_str() {
                    "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    _ => Err("must be true, false, 1 or 0".to_owned()),
                });
            }
            "created_at" => raw.created_at = Some(cell),
            "groups" => {
                raw.groups = Some(Ok(cell
                    .split(';')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(str::to_owned)
                    .collect()));
            }
            _ => raw.external_id = Some(Ok(cell)),
        }
    }
    raw
}

/// A JSON object per line; `null` is an absent field, `email_verified` a boolean,
/// `groups` an array of names, `external_id` a string or an integer. Unknown
/// fields come back beside the known ones, to be listed with their problems.
fn from_json(line: u64, text: &str) -> Result<(Raw, Vec<LineError>), Vec<LineError>> {
    use serde_json::Value;
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(vec![LineError::new(line, "record", "must be a JSON object")]),
        Err(e) => return Err(vec![LineError::new(line, "record", format!("not valid JSON ({e})"))]),
    };
    let mut raw = Raw::default();
    let mut errors = Vec::new();
    let text_of = |v: Value| match v {
        Value::String(s) => Ok(s),
        _ => Err("must be a string".to_owned()),
    };
    for (key, value) in object {
        if value.is_null() {
            if !FIELDS.contains(&key.as_str()) {
                errors.push(LineError::new(line, &key, unknown_field()));
            }
            continue;
        }
        match key.as_str() {
            "email" | "password_hash" | "created_at" => match text_of(value) {
                Ok(s) if key == "email" => raw.email = Some(s),
                Ok(s) if key == "password_hash" => raw.password_hash = Some(s),
                Ok(s) => raw.created_at = Some(s),
                Err(reason) => errors.push(LineError::new(line, &key, reason)),
            },
            "email_verified" => {
                raw.email_verified = Some(value.as_bool().ok_or_else(|| "must be true or false".to_owned()));
            }
            "groups" => {
                raw.groups = Some(match value {
                    Value::Array(items) => items
                        .into_iter()
                        .map(|g| g.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| "must be an array of group names".to_owned()),
                    _ => Err("must be an array of group names".to_owned()),
                });
            }
            "external_id" => {
                raw.external_id = Some(match value {
                    Value::String(s) => Ok(s),
                    Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
                    _ => Err("must be a string or an integer".to_owned()),
                });
            }
            _ => errors.push(LineError::new(line, &key, unknown_field())),
        }
    }
    Ok((raw, errors))
}

/// Checks every field of a line, listing every problem.
fn check(
    line: u64,
    raw: Raw,
    mut errors: Vec<LineError>,
    now: OffsetDateTime,
) -> Result<Record, Vec<LineError>> {
    let mut fail = |field: &str, reason: String| errors.push(LineError::new(line, field, reason));
    let email = match raw.email.as_deref().map(Email::parse) {
        None => {
            fail("email", "required".to_owned());
            None
        }
        Some(Err(e)) => {
            fail("email", e.to_string());
            None
        }
        Some(Ok(email)) => Some(email),
    };
    if let Some(hash) = &raw.password_hash
        && let Err(e) = legacy_hash::check(hash)
    {
        fail("password_hash", e.to_string());
    }
    let email_verified = match raw.email_verified {
        None => false,
        Some(Ok(v)) => v,
        Some(Err(reason)) => {
            fail("email_verified", reason);
            false
        }
    };
    let created_at = match raw.created_at.as_deref().map(|s| parse_time(s, now)) {
        None => None,
        Some(Ok(at)) => Some(at),
        Some(Err(reason)) => {
            fail("created_at", reason);
            None
        }
    };
    let mut groups = Vec::new();
    match raw.groups {
        None => {}
        Some(Err(reason)) => fail("groups", reason),
        Some(Ok(names)) => {
            for name in names {
                match GroupName::parse(&name) {
                    Some(g) if !groups.contains(&g) => groups.push(g),
                    Some(_) => {}
                    None => {
                        fail("groups", format!("{name:?} is not a group name ([a-z0-9][a-z0-9_.-]{{0,63}})"));
                    }
                }
            }
        }
    }
    let external_id = match raw.external_id {
        None => None,
        Some(Ok(id)) if id.len() > MAX_EXTERNAL_ID => {
            fail("external_id", format!("at most {MAX_EXTERNAL_ID} bytes"));
            None
        }
        Some(Ok(id)) => Some(id),
        Some(Err(reason)) => {
            fail("external_id", reason);
            None
        }
    };
    match email {
        Some(email) if errors.is_empty() => Ok(Record {
            line,
            email,
            password_hash: raw.password_hash,
            email_verified,
            created_at,
            groups,
            external_id,
        }),
        _ => Err(errors),
    }
}

/// RFC 3339, or SQLite's `YYYY-MM-DD HH:MM:SS[.ffffff]` as UTC (what SQLAlchemy
/// writes for a `DateTime`); not after the import (a day's leeway for clocks).
fn parse_time(raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let sqlite = format_description!(
        version = 2,
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    let at = OffsetDateTime::parse(raw, &Rfc3339)
        .or_else(|_| PrimitiveDateTime::parse(raw, sqlite).map(PrimitiveDateTime::assume_utc))
        .map_err(|_| {
            "must be RFC 3339 (2024-05-01T12:00:00Z) or YYYY-MM-DD HH:MM:SS[.ffffff] (UTC)".to_owned()
        })?;
    if at > now + time::Duration::days(1) {
        return Err("is in the future".to_owned());
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-01-01 00:00 UTC)
    }

    fn read(format: ImportFormat, text: &str) -> Result<Vec<Parsed>, Vec<LineError>> {
        let mut reader = Reader::new(Box::new(std::io::Cursor::new(text.to_owned())), format)?;
        let mut out = Vec::new();
        while let Some(p) = reader.next_parsed(now()) {
            out.push(p.unwrap());
        }
        Ok(out)
    }

    fn errors(p: &Parsed) -> Vec<String> {
        p.record.as_ref().err().map(|es| es.iter().map(ToString::to_string).collect()).unwrap_or_default()
    }

    #[test]
    fn csv_lines_are_counted_from_the_header_and_empty_cells_are_absent() {
        let text = "email,password_hash,email_verified,created_at,groups,external_id\n\
                    ada@example.com,,1,2024-03-01 10:11:12.123456,staff;ops,7\n\
                    \"bob@example.com\",,,,,\n";
        let parsed = read(ImportFormat::Csv, text).unwrap();
        let ada = parsed[0].record.as_ref().ok().unwrap();
        assert_eq!((parsed[0].line, ada.email.as_str(), ada.email_verified), (2, "ada@example.com", true));
        assert_eq!(ada.created_at, Some(time::macros::datetime!(2024-03-01 10:11:12.123456 UTC)));
        let groups: Vec<_> = ada.groups.iter().map(GroupName::as_str).collect();
        assert_eq!(groups, ["staff", "ops"]);
        assert_eq!(ada.external_id.as_deref(), Some("7"));
        let bob = parsed[1].record.as_ref().ok().unwrap();
        assert_eq!((parsed[1].line, bob.email_verified, bob.password_hash.is_none()), (3, false, true));
    }

    #[test]
    fn a_csv_header_with_an_unknown_column_or_without_email_is_refused() {
        let e = read(ImportFormat::Csv, "email,password,groups\n").err().unwrap();
        assert!(e[0].to_string().starts_with("line 1: password: unknown field"), "{}", e[0]);
        let e = read(ImportFormat::Csv, "password_hash\n").err().unwrap();
        assert_eq!(e[0].to_string(), "line 1: email: the required column is missing");
    }

    #[test]
    fn every_problem_of_a_line_is_listed_with_its_field() {
        let text = "email,password_hash,email_verified,created_at,groups\n\
                    not-an-email,md5$x$y,yes,yesterday,Bad Name\n\
                    a@example.com,,,2999-01-01T00:00:00Z,\n\
                    a@example.com,x\n";
        let parsed = read(ImportFormat::Csv, text).unwrap();
        let first = errors(&parsed[0]);
        let fields: Vec<_> = first.iter().map(|e| e.split(": ").nth(1).unwrap()).collect();
        assert_eq!(fields, ["email", "password_hash", "email_verified", "created_at", "groups"]);
        assert!(first.iter().all(|e| e.starts_with("line 2: ")));
        assert_eq!(errors(&parsed[1]), ["line 3: created_at: is in the future"]);
        assert_eq!(errors(&parsed[2]), ["line 4: record: 2 fields where the header has 5"]);
    }

    #[test]
    fn json_lines_take_typed_values_and_skip_blank_lines() {
        let text = "{\"email\":\"ada@example.com\",\"email_verified\":true,\"groups\":[\"staff\"],\"external_id\":42,\"created_at\":\"2024-03-01T10:11:12+02:00\"}\n\
                    \n\
                    {\"email\":\"bob@example.com\",\"email_verified\":\"true\",\"role\":\"x\",\"groups\":\"staff\"}\n\
                    [1]\n";
        let parsed = read(ImportFormat::Jsonl, text).unwrap();
        let ada = parsed[0].record.as_ref().ok().unwrap();
        assert_eq!(ada.external_id.as_deref(), Some("42"));
        assert_eq!(ada.created_at, Some(time::macros::datetime!(2024-03-01 08:11:12 UTC)));
        assert_eq!(parsed[1].line, 3);
        let bob = errors(&parsed[1]);
        assert!(bob.iter().any(|e| e == "line 3: email_verified: must be true or false"), "{bob:?}");
        assert!(bob.iter().any(|e| e.starts_with("line 3: role: unknown field")), "{bob:?}");
        assert!(bob.iter().any(|e| e == "line 3: groups: must be an array of group names"), "{bob:?}");
        assert_eq!(errors(&parsed[2]), ["line 4: record: must be a JSON object"]);
    }
}
