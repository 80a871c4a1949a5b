//! The OAuth state and the redirect allow-list, against hostile redirect prefixes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dingtalk_core::oauth::{OAuthState, RedirectAllowList, RedirectError, MAX_URL_LEN};

fn list() -> RedirectAllowList {
    RedirectAllowList::new(&[
        "https://a.example/portal",
        "http://intranet.local:8080/app/",
        "https://b.example",
    ])
    .unwrap()
}

#[test]
fn new_state_carries_the_prefix_and_a_random_32_character_nonce() {
    let a = OAuthState::new("https://a.example/portal");
    let b = OAuthState::new("https://a.example/portal");
    assert_eq!(a.prefix, "https://a.example/portal");
    assert_eq!(a.nonce.len(), 32);
    assert!(a.nonce.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a.nonce, b.nonce);
    assert_eq!(OAuthState::parse(&a.encode()).unwrap(), a);
}

#[test]
fn state_is_split_at_the_first_separator() {
    let state = OAuthState::parse("https://a.example/portal::abc::def").unwrap();
    assert_eq!(state.prefix, "https://a.example/portal");
    assert_eq!(state.nonce, "abc::def");
    assert_eq!(state.encode(), "https://a.example/portal::abc::def");
    let empty_nonce = OAuthState::parse("https://a.example/portal::").unwrap();
    assert_eq!(empty_nonce.nonce, "");
}

#[test]
fn state_without_separator_or_with_an_empty_prefix_is_malformed() {
    for state in [
        "",
        "https://a.example/portal",
        "::nonce",
        "::",
        "https://a.example/portal:nonce",
    ] {
        assert_eq!(
            OAuthState::parse(state),
            Err(RedirectError::MalformedState),
            "{state:?}"
        );
    }
}

#[test]
fn allowed_prefixes_match_their_own_entry() {
    let list = list();
    for (candidate, index) in [
        ("https://a.example/portal", 0),
        ("https://a.example/portal/", 0),
        ("https://a.example/portal/x", 0),
        ("https://a.example/portal/x/y/", 0),
        ("https://A.EXAMPLE/portal", 0),
        ("HTTPS://a.Example/portal/x", 0),
        ("https://a.example:443/portal", 0),
        ("https://a.example/portal/./x", 0),
        ("https://a.example/portal/x/../y", 0),
        ("http://intranet.local:8080/app", 1),
        ("http://intranet.local:8080/app/sub", 1),
        ("https://b.example", 2),
        ("https://b.example/", 2),
        ("https://b.example/anything/below", 2),
        ("https://a.example/portal/%E9%92%89", 0),
        ("https://a.example/portal/钉钉", 0),
    ] {
        assert_eq!(list.matches(candidate), Ok(index), "{candidate:?}");
    }
}

#[test]
fn normalize_lowercases_the_host_drops_default_ports_and_the_trailing_slash() {
    for (candidate, normalized) in [
        ("https://A.Example:443/portal/", "https://a.example/portal"),
        ("https://a.example/portal/./x", "https://a.example/portal/x"),
        (
            "https://a.example/portal/x/../y",
            "https://a.example/portal/y",
        ),
        ("http://intranet.local:80/app", "http://intranet.local/app"),
        (
            "http://intranet.local:8080/app/",
            "http://intranet.local:8080/app",
        ),
        ("https://b.example", "https://b.example"),
    ] {
        assert_eq!(
            RedirectAllowList::normalize(candidate).as_deref(),
            Ok(normalized),
            "{candidate:?}"
        );
    }
}

/// Valid URLs that simply are not under any allowed prefix.
#[test]
fn look_alike_hosts_other_schemes_ports_and_paths_are_not_allowed() {
    let list = list();
    for candidate in [
        // look-alike hosts
        "https://a.example.evil.com/portal",
        "https://evil.com/a.example/portal",
        "https://evil.com/portal",
        "https://a.examplf/portal",
        "https://xa.example/portal",
        "https://xn--80a.example/portal", // punycode of Cyrillic "а.example"
        "https://a.example./portal",
        // scheme changes
        "http://a.example/portal",
        "https://intranet.local:8080/app",
        // port changes
        "https://a.example:8443/portal",
        "https://a.example:80/portal",
        "http://intranet.local/app",
        "http://intranet.local:8081/app",
        // path prefix tricks
        "https://a.example/portalx",
        "https://a.example/portal.evil",
        "https://a.example/Portal",
        "https://a.example/",
        "https://a.example",
        "https://a.example/portal/../admin",
        "https://a.example/portal/x/../../admin",
        "https://a.example/%70ortal",
        "http://intranet.local:8080/application",
    ] {
        assert_eq!(
            list.matches(candidate),
            Err(RedirectError::NotAllowed),
            "{candidate:?}"
        );
    }
}

/// Inputs refused before any matching, whatever the allow-list says.
#[test]
fn hostile_syntax_is_refused_as_an_invalid_url() {
    let list = list();
    let long = format!("https://a.example/portal/{}", "x".repeat(MAX_URL_LEN));
    let hostile: Vec<&str> = vec![
        // userinfo, including the allowed host hidden in it
        "https://a.example@evil.com/portal",
        "https://x@a.example/portal",
        "https://x:y@a.example/portal",
        "https://@a.example/portal",
        // scheme tricks
        "javascript:alert(1)",
        "JavaScript://a.example/portal%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.com/portal",
        "//a.example/portal",
        "a.example/portal",
        "/portal",
        "ftp://a.example/portal",
        "https:a.example/portal",
        "https:/a.example/portal",
        "https:///a.example/portal",
        // percent-encoded dots and slashes, any case
        "https://a.example/portal/%2e%2e/admin",
        "https://a.example/portal/%2E%2E/admin",
        "https://a.example/portal/.%2e/admin",
        "https://a.example/portal%2f..%2fadmin",
        "https://a.example/portal%2F..%2Fadmin",
        "https://a.example/portal%5c..%5cadmin",
        // backslashes
        "https://a.example\\@evil.com/portal",
        "https://a.example/portal\\..\\admin",
        "https:\\\\evil.com/portal",
        // whitespace and control characters (the url crate would strip them silently)
        "https://a.example/por\ttal",
        "https://a.example/portal\n/x",
        "https://a.ex\rample/portal",
        " https://a.example/portal",
        "https://a.example/portal ",
        "https://a.example/portal\u{0}",
        "https://a.example/portal\u{7f}",
        "https://a.example/portal\u{2028}",
        // non-ASCII hosts: full-width letters and dots that IDNA would fold into ASCII
        "https://ａ.example/portal",
        "https://a.example。evil.com/portal",
        "https://а.example/portal",
        // query and fragment injection
        "https://a.example/portal?next=https://evil.com",
        "https://a.example/portal?",
        "https://a.example/portal#@evil.com",
        "https://a.example/portal#",
        // dot segments above the root
        "https://a.example/../portal",
        "https://a.example/portal/../../portal",
        // empty and very long
        "",
        &long,
    ];
    for candidate in hostile {
        assert!(
            matches!(list.matches(candidate), Err(RedirectError::InvalidUrl(_))),
            "{candidate:?} gave {:?}",
            list.matches(candidate)
        );
        assert!(
            RedirectAllowList::normalize(candidate).is_err(),
            "{candidate:?}"
        );
    }
}

#[test]
fn allow_list_entries_are_checked_and_named_in_the_error() {
    match RedirectAllowList::new(&["https://a.example/portal", "https://x@evil.com"]) {
        Err(RedirectError::InvalidUrl(why)) => assert!(why.contains("x@evil.com"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(RedirectAllowList::new(&["javascript:alert(1)"]).is_err());
    assert!(RedirectAllowList::new(&["https://a.example/portal?x=1"]).is_err());
}

#[test]
fn an_empty_allow_list_allows_nothing() {
    let list = RedirectAllowList::new::<&str>(&[]).unwrap();
    assert_eq!(
        list.matches("https://a.example/portal"),
        Err(RedirectError::NotAllowed)
    );
}

#[test]
fn the_first_matching_entry_wins() {
    let list = RedirectAllowList::new(&["https://a.example/portal/x", "https://a.example/portal"])
        .unwrap();
    assert_eq!(list.matches("https://a.example/portal/x/y"), Ok(0));
    assert_eq!(list.matches("https://a.example/portal/y"), Ok(1));
}
