//! The configuration's value syntax: `COUNT/WINDOW` rates (`rate_limit.*`) and
//! `server.trusted_proxies`, written in TOML or as one comma-separated
//! environment variable. Accepted values are exactly the grammar's and print back
//! to themselves; everything else is a one-line error, never a panic.

use std::fmt::Write as _;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format as _, Serialized, Toml};
use ipnet::IpNet;
use portcullis::Config;
use portcullis::config::{Dur, Rate};
use proptest::prelude::*;

use super::support::{config, text};

const RATE_PIECES: &[&str] = &[
    "5",
    "0",
    "15",
    "4294967295",
    "4294967296",
    "-1",
    "+5",
    "/",
    "//",
    " ",
    "\t",
    "s",
    "m",
    "h",
    "d",
    "ms",
    "ns",
    "us",
    "min",
    "hour",
    "days",
    "w",
    "y",
    "15m",
    "1h 30m",
    "0s",
    "1.5h",
    "e3",
    "\u{665}",
    "\u{0}",
];

/// A TOML basic string holding `s` exactly.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A rate as the configuration prints it (its serialised form).
fn printed(rate: Rate) -> String {
    serde_json::to_value(rate).unwrap().as_str().unwrap().to_owned()
}

fn load(toml: &str) -> Result<Config, String> {
    Figment::from(Serialized::defaults(Config::default()))
        .merge(Toml::string(toml))
        .extract()
        .map_err(|e| e.to_string())
}

/// Windows as an operator writes them: whole seconds, minutes, hours or days.
fn window() -> impl Strategy<Value = (String, u64)> {
    (1u64..100_000, prop::sample::select(&[("s", 1u64), ("m", 60), ("h", 3600), ("d", 86_400), ("", 1)][..]))
        .prop_map(|(n, (unit, secs))| (format!("{n}{unit}"), n * secs))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_written_rate_reads_and_prints_back(count in 1u32.., (w, secs) in window(), sp in "[ ]{0,2}") {
        let rate: Rate = format!("{sp}{count}{sp}/{sp}{w}{sp}").parse().expect("a well-formed rate");
        prop_assert_eq!(rate, Rate { count, window: Dur(Duration::from_secs(secs)) });
        prop_assert_eq!(printed(rate).parse::<Rate>(), Ok(rate));
    }

    #[test]
    fn only_a_positive_count_over_a_positive_window_is_a_rate(raw in text(RATE_PIECES)) {
        match raw.parse::<Rate>() {
            Ok(rate) => {
                let (count, window) = raw.split_once('/').expect("a rate has a slash");
                prop_assert_eq!(count.trim().parse::<u32>(), Ok(rate.count));
                prop_assert!(rate.count > 0 && !rate.window.0.is_zero());
                prop_assert_eq!(window.parse::<Dur>(), Ok(rate.window));
                let again = printed(rate).parse::<Rate>();
                prop_assert_eq!(again, Ok(rate), "{:?} prints as {}", raw, printed(rate));
            }
            Err(e) => {
                prop_assert!(!e.contains('\n'), "one line: {e}");
                prop_assert!(e.starts_with("invalid rate "), "{e}");
            }
        }
    }

    /// Through the real loader: the file accepts a rate exactly when the syntax does.
    #[test]
    fn a_rate_in_the_file_loads_exactly_when_it_parses(raw in text(RATE_PIECES)) {
        let loaded = load(&format!("[rate_limit]\nlogin_per_ip = {}\n", toml_string(&raw)));
        match (loaded, raw.parse::<Rate>()) {
            (Ok(c), Ok(rate)) => prop_assert_eq!(c.rate_limit.login_per_ip, rate),
            (Err(_), Err(_)) => {}
            (l, r) => prop_assert!(false, "file {:?} but syntax {:?}", l.map(|c| c.rate_limit.login_per_ip), r),
        }
    }

    #[test]
    fn trusted_proxies_read_back_as_a_list_or_as_comma_separated_text(
        nets in prop::collection::vec(any::<(u32, u8)>().prop_map(|(a, p)| {
            IpNet::new(std::net::Ipv4Addr::from(a).into(), p % 33).unwrap()
        }), 0..5),
        v6 in prop::collection::vec(any::<(u128, u8)>().prop_map(|(a, p)| {
            IpNet::new(std::net::Ipv6Addr::from(a).into(), p % 129).unwrap()
        }), 0..3),
        sep in "[ ]{0,2},[ ]{0,2}",
    ) {
        let all: Vec<IpNet> = nets.into_iter().chain(v6).collect();
        let texts: Vec<String> = all.iter().map(ToString::to_string).collect();
        let array = texts.iter().map(|t| toml_string(t)).collect::<Vec<_>>().join(", ");
        let from_array = load(&format!("[server]\ntrusted_proxies = [{array}]\n")).expect("a TOML array of networks");
        prop_assert_eq!(&from_array.server.trusted_proxies, &all);
        let joined = toml_string(&texts.join(&sep));
        let from_text = load(&format!("[server]\ntrusted_proxies = {joined}\n")).expect("comma-separated networks");
        prop_assert_eq!(&from_text.server.trusted_proxies, &all);
    }

    #[test]
    fn a_proxy_list_with_anything_else_in_it_is_refused(
        junk in text(&["10.0.0.0", "/", "8", "33", "129", "::", "1", ".", " ", "localhost", "*", "0x0a"]),
    ) {
        // One item that is not a network: no comma, not empty, not parsable.
        let junk = junk.replace(',', "");
        let single = match junk.trim() {
            s if s.is_empty() || s.parse::<IpNet>().is_ok() => format!("{s}x"),
            s => s.to_owned(),
        };
        let text = toml_string(&format!("10.0.0.0/8, {single}"));
        let loaded = load(&format!("[server]\ntrusted_proxies = {text}\n"));
        prop_assert!(loaded.is_err(), "{:?} was taken for a network", single);
    }
}

/// Found by `only_a_positive_count_over_a_positive_window_is_a_rate`: a window with
/// a part below a millisecond printed in whole milliseconds, so `15/15ns` printed
/// as `15/0ms`, which is refused, and `5/1.0000001s` as `5/1000ms`, which is not
/// the same rate.
#[test]
fn a_window_below_a_millisecond_prints_back_exactly() {
    for raw in ["15/15ns", "5/1s 5ns", "5/1500ms", "1/1us", "3/2h 1ns"] {
        let rate: Rate = raw.parse().unwrap();
        assert_eq!(printed(rate).parse::<Rate>(), Ok(rate), "{raw} printed as {}", printed(rate));
    }
    assert_eq!(printed("5/1500ms".parse().unwrap()), "5/1500ms", "whole milliseconds print as before");
}
