//! The OAuth `state` (`<prefix>::<nonce>`) and the redirect allow-list matcher.
//!
//! A candidate redirect prefix is checked on its raw text first, then parsed with the `url` crate
//! and compared with the allow-list on its parsed parts:
//!
//! - raw text: at most [`MAX_URL_LEN`] bytes; it must start with `http://` or `https://`
//!   (case-insensitive; so no `//host`, `https:host`, `https:///host`, `javascript:` or
//!   `data:`); no whitespace, control characters or backslashes anywhere (the `url` crate would silently strip tabs and
//!   newlines and read `\` as `/`); no percent-encoded dot, slash or backslash (`%2e`, `%2f`,
//!   `%5c`); an ASCII authority (IDN hosts must be written in punycode) without `@`; and plain
//!   dot segments must not climb above the root;
//! - parsed: scheme `http` or `https`, a host, no userinfo, no query, no fragment.
//!
//! Plain dot segments are then resolved by the `url` crate before matching: `/portal/./x` is
//! `/portal/x` (allowed under `/portal`), and `/portal/../admin` is `/admin`, which is refused
//! unless `/admin` is itself allowed. Matching is exact on scheme, host (lowercased by the parser)
//! and port (default ports normalized, so `https://a:443` is `https://a`), and on whole path
//! segments: `/portal` allows `/portal`, `/portal/` and `/portal/x`, never `/portalx`.
//!
//! Whoever redirects should redirect to [`RedirectAllowList::normalize`]'s output, not to the raw
//! text.

use rand::distributions::{Alphanumeric, DistString};
use url::Url;

/// The longest candidate accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// The length of the random nonce in a new state.
const NONCE_LEN: usize = 32;

/// The separator between the redirect prefix and the nonce in `state`.
pub const STATE_SEPARATOR: &str = "::";

/// Why a `state` or a redirect prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// `state` has no `::` separator or an empty prefix.
    #[error("state must be \"<redirect prefix>::<nonce>\"")]
    MalformedState,
    /// The prefix is not an absolute http(s) URL, has userinfo, a query, a fragment, or
    /// unresolvable dot segments.
    #[error("redirect prefix is not an acceptable URL: {0}")]
    InvalidUrl(String),
    /// The prefix is a fine URL but no edge allows it.
    #[error("redirect prefix is not allow-listed")]
    NotAllowed,
}

/// A parsed OAuth `state`: the frontend's redirect prefix and a nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    /// The frontend prefix the browser returns to (`<prefix>/profile?...`).
    pub prefix: String,
    /// Anything after the first `::` (a random nonce when the cloud made it).
    pub nonce: String,
}

impl OAuthState {
    /// A new state for `prefix` with a random 32-character alphanumeric nonce.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            nonce: Alphanumeric.sample_string(&mut rand::thread_rng(), NONCE_LEN),
        }
    }

    /// Splits `state` at the first `::`.
    pub fn parse(state: &str) -> Result<Self, RedirectError> {
        match state.split_once(STATE_SEPARATOR) {
            Some((prefix, nonce)) if !prefix.is_empty() => Ok(Self {
                prefix: prefix.to_string(),
                nonce: nonce.to_string(),
            }),
            _ => Err(RedirectError::MalformedState),
        }
    }

    /// `prefix::nonce`.
    pub fn encode(&self) -> String {
        format!("{}{}{}", self.prefix, STATE_SEPARATOR, self.nonce)
    }
}

/// A set of allowed redirect prefixes, matched exactly on scheme, host and port and on whole path
/// segments; candidates with userinfo, query, fragment, backslashes, control characters or
/// percent-encoded dot segments / slashes are refused; plain dot segments are resolved before
/// matching and refused if they climb out of the root.
#[derive(Debug, Clone)]
pub struct RedirectAllowList {
    /// The normalized allowed prefixes.
    prefixes: Vec<url::Url>,
}

impl RedirectAllowList {
    /// Builds the list; each entry must itself be an acceptable prefix (error names it).
    pub fn new<S: AsRef<str>>(prefixes: &[S]) -> Result<Self, RedirectError> {
        let prefixes = prefixes
            .iter()
            .map(|p| {
                check(p.as_ref()).map_err(|e| match e {
                    RedirectError::InvalidUrl(why) => RedirectError::InvalidUrl(format!(
                        "allow-list entry {:?}: {why}",
                        p.as_ref()
                    )),
                    other => other,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { prefixes })
    }

    /// Whether `candidate` lies under one of the prefixes. Returns the index of the matching entry.
    pub fn matches(&self, candidate: &str) -> Result<usize, RedirectError> {
        let candidate = check(candidate)?;
        self.prefixes
            .iter()
            .position(|prefix| is_under(&candidate, prefix))
            .ok_or(RedirectError::NotAllowed)
    }

    /// The normalized form of an accepted candidate (what the cloud redirects to, without a
    /// trailing slash), or the refusal.
    pub fn normalize(candidate: &str) -> Result<String, RedirectError> {
        let url = check(candidate)?;
        Ok(url.as_str().trim_end_matches('/').to_string())
    }
}

/// Whether `candidate` is `prefix` or lies below it, on whole path segments.
fn is_under(candidate: &Url, prefix: &Url) -> bool {
    candidate.scheme() == prefix.scheme()
        && candidate.host_str() == prefix.host_str()
        && candidate.port_or_known_default() == prefix.port_or_known_default()
        && {
            let want = segments(prefix);
            let have = segments(candidate);
            have.len() >= want.len() && have.iter().zip(&want).all(|(h, w)| h == w)
        }
}

/// The path segments, without the empty one a trailing slash leaves.
fn segments(url: &Url) -> Vec<&str> {
    let mut segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    while segments.last() == Some(&"") {
        segments.pop();
    }
    segments
}

/// Checks a prefix (raw text, then parsed) and returns the parsed, dot-resolved URL.
fn check(raw: &str) -> Result<Url, RedirectError> {
    let invalid = |why: &str| Err(RedirectError::InvalidUrl(why.to_string()));
    if raw.is_empty() {
        return invalid("empty");
    }
    if raw.len() > MAX_URL_LEN {
        return invalid("too long");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("whitespace or control characters");
    }
    if raw.contains('\\') {
        return invalid("backslash");
    }
    let lower = raw.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c"].iter().any(|enc| lower.contains(enc)) {
        return invalid("percent-encoded dot, slash or backslash");
    }
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return invalid("not an absolute http(s) URL");
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path_and_more) = rest.split_at(authority_end);
    if authority.is_empty() {
        return invalid("no host");
    }
    if authority.contains('@') {
        return invalid("userinfo");
    }
    if !authority.is_ascii() {
        return invalid("non-ASCII host (use punycode)");
    }
    let path = path_and_more.split(['?', '#']).next().unwrap_or_default();
    if climbs_above_root(path) {
        return invalid("dot segments climb above the root");
    }
    let url = Url::parse(raw).map_err(|e| RedirectError::InvalidUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return invalid("not an absolute http(s) URL");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return invalid("no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid("userinfo");
    }
    if url.query().is_some() {
        return invalid("query");
    }
    if url.fragment().is_some() {
        return invalid("fragment");
    }
    Ok(url)
}

/// Whether resolving the `.` and `..` segments of `path` would go above `/`.
fn climbs_above_root(path: &str) -> bool {
    let mut depth: usize = 0;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match segment {
            "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}
