//! The OAuth `state` ("<prefix>::<nonce>") and the redirect allow-list matcher.
//!
//! SKELETON: bodies are filled in by the oauth work; signatures are the contract.

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
        let _ = prefix;
        todo!()
    }

    /// Splits `state` at the first `::`.
    pub fn parse(state: &str) -> Result<Self, RedirectError> {
        let _ = state;
        todo!()
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
        let _ = prefixes;
        todo!()
    }

    /// Whether `candidate` lies under one of the prefixes. Returns the index of the matching entry.
    pub fn matches(&self, candidate: &str) -> Result<usize, RedirectError> {
        let _ = (candidate, &self.prefixes);
        todo!()
    }

    /// The normalized form of an accepted candidate (what the cloud redirects to, without a
    /// trailing slash), or the refusal.
    pub fn normalize(candidate: &str) -> Result<String, RedirectError> {
        let _ = candidate;
        todo!()
    }
}
