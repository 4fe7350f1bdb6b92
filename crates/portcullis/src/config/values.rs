//! The value types of the configuration: durations (`90s`, `15m`, `2h`, `30d`),
//! limits (`"COUNT/WINDOW"`), lists given as arrays or comma-separated text, and the
//! access rules (tables, which the environment cannot give).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use portcullis_core::access::RawRule;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written like `90s`, `15m`, `2h` or `30d` (or a number of seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Exact, so that a printed configuration reads back the same.
        let (s, nanos) = (self.0.as_secs(), self.0.subsec_nanos());
        if nanos != 0 {
            if nanos % 1_000_000 == 0
                && let Ok(ms) = u64::try_from(self.0.as_millis())
            {
                return write!(f, "{ms}ms");
            }
            return if s == 0 { write!(f, "{nanos}ns") } else { write!(f, "{s}s {nanos}ns") };
        }
        let (n, unit) = match s {
            0 => (0, "s"),
            s if s % 86_400 == 0 => (s / 86_400, "d"),
            s if s % 3600 == 0 => (s / 3600, "h"),
            s if s % 60 == 0 => (s / 60, "m"),
            s => (s, "s"),
        };
        write!(f, "{n}{unit}")
    }
}

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(secs) = s.trim().parse::<u64>() {
            return Ok(Self::secs(secs));
        }
        humantime::parse_duration(s.trim())
            .map(Self)
            .map_err(|_| format!("invalid duration {s:?} (use e.g. 90s, 15m, 2h, 30d)"))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Self::secs(s)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A limit written `"COUNT/WINDOW"`, e.g. `"5/15m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub window: Dur,
}

impl Rate {
    pub const fn new(count: u32, window_secs: u64) -> Self {
        Self { count, window: Dur::secs(window_secs) }
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid rate {s:?} (use COUNT/WINDOW, e.g. \"5/15m\")");
        let (count, window) = s.split_once('/').ok_or_else(bad)?;
        let count = count.trim().parse::<u32>().map_err(|_| bad())?;
        let window: Dur = window.parse().map_err(|_| bad())?;
        if count == 0 || window.0.is_zero() {
            return Err(bad());
        }
        Ok(Self { count, window })
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}/{}", self.count, self.window))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// A list given as a TOML array or as a comma-separated string (environment).
pub(super) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(v) => v,
        Raw::Text(t) => t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.parse::<T>().map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}"))))
        .collect()
}

/// `[[access.rules]]`: an array of tables (in the environment, figment's inline
/// `[{key = "value"}]`). Plain text cannot hold tables; say so rather than
/// "expected a sequence".
pub(super) fn rules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawRule>, D::Error> {
    struct Rules;
    impl<'de> serde::de::Visitor<'de> for Rules {
        type Value = Vec<RawRule>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of [[access.rules]] tables")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut rules = Vec::new();
            while let Some(rule) = seq.next_element()? {
                rules.push(rule);
            }
            Ok(rules)
        }

        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom(
                "rules are tables: write [[access.rules]] in the configuration file, or \
                 [{path = \"/admin/*\", policy = \"deny\"}, ...] in the environment",
            ))
        }
    }
    d.deserialize_seq(Rules)
}
