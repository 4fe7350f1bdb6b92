use super::*;

fn range(q: &str) -> EmailRange {
    UserQuery::parse(Some(q), None, None).unwrap().email_prefix.expect("a prefix")
}

fn field_errors(e: AuthError) -> Vec<&'static str> {
    match e {
        AuthError::Validation(errors) => errors.iter().map(|e| e.field).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

#[test]
fn a_prefix_is_the_byte_range_of_its_canonical_form() {
    assert_eq!(range("A"), EmailRange { from: "a".into(), to: "b".into() });
    assert_eq!(range(" Ada@ "), EmailRange { from: "ada@".into(), to: "adaA".into() });
    // Wildcards of LIKE are plain characters.
    assert_eq!(range("a_"), EmailRange { from: "a_".into(), to: "a`".into() });
    assert_eq!(range("100%"), EmailRange { from: "100%".into(), to: "100&".into() });
    // Fullwidth letters fold like stored addresses do.
    assert_eq!(range("ＡＤ").from, "ad");
    assert_eq!(range("\u{D7FF}").to, "\u{E000}");
    assert_eq!(range("a\u{10FFFF}").to, "b");
    for q in ["a", "ad", "a_", "zoé", "x\u{10FFFF}"] {
        let r = range(q);
        for s in ["a", "ab", "ada@example.com", "a_b@x", "azzz", "b", "zoé@x", "zoê", "x\u{10FFFF}\u{10FFFF}"]
        {
            let inside = r.from.as_str() <= s && s < r.to.as_str();
            assert_eq!(inside, s.starts_with(&r.from), "{s:?} against the range of {q:?}");
        }
    }
}

#[test]
fn an_empty_search_is_none() {
    assert_eq!(UserQuery::parse(Some("  "), None, None).unwrap().email_prefix, None);
    assert_eq!(UserQuery::parse(None, None, None).unwrap().limit, DEFAULT_LIMIT);
}

#[test]
fn limits_outside_one_to_two_hundred_are_refused() {
    for ok in ["1", "50", "200"] {
        assert_eq!(UserQuery::parse(None, Some(ok), None).unwrap().limit, ok.parse::<u32>().unwrap());
    }
    for bad in ["0", "201", "-1", "x", "", "1.5"] {
        let e = UserQuery::parse(None, Some(bad), None).unwrap_err();
        assert_eq!(field_errors(e), ["limit"], "{bad:?}");
        assert!(EventQuery::parse(None, None, Some(bad), None).is_err());
    }
}

#[test]
fn cursors_round_trip_and_garbage_is_refused() {
    let c = UserCursor { created_at: 1_700_000_000, id: UserId::new() };
    assert_eq!(UserCursor::decode(&c.encode()), Some(c));
    let q = UserQuery::parse(None, None, Some(&c.encode())).unwrap();
    assert_eq!(q.after, Some(c));
    let e = EventCursor { id: 42 };
    assert_eq!(EventCursor::decode(&e.encode()), Some(e));
    for bad in ["", "!!", "bm9wZQ", &EventCursor { id: 1 }.encode(), &"A".repeat(500)] {
        assert_eq!(UserCursor::decode(bad), None, "{bad:?}");
        assert_eq!(field_errors(UserQuery::parse(None, None, Some(bad)).unwrap_err()), ["after"]);
    }
    assert_eq!(EventCursor::decode(&c.encode()), None);
}

#[test]
fn event_filters_are_parsed() {
    let id = UserId::new();
    let q = EventQuery::parse(Some(&id.to_string()), Some("login_failed"), Some("3"), None).unwrap();
    assert_eq!((q.user, q.kind, q.limit), (Some(id), Some(EventKind::LoginFailed), 3));
    let e = EventQuery::parse(Some("nope"), Some("nope"), Some("0"), Some("nope")).unwrap_err();
    assert_eq!(field_errors(e), ["user", "kind", "limit", "after"]);
}

#[test]
fn a_page_has_a_next_cursor_only_when_a_row_was_left_over() {
    let page = Page::from_rows(vec![1, 2, 3, 4], 3, ToString::to_string);
    assert_eq!((page.items, page.next), (vec![1, 2, 3], Some("3".to_owned())));
    let last = Page::from_rows(vec![1, 2, 3], 3, ToString::to_string);
    assert_eq!((last.items, last.next), (vec![1, 2, 3], None));
}
