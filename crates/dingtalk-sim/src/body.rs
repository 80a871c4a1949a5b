//! Lenient request parsing: a JSON object or a form body, fields read as strings or numbers
//! (DingTalk's legacy API accepts both encodings, and callers send numbers as strings).

use std::collections::HashMap;

use actix_web::HttpRequest;
use serde_json::{Map, Value};

/// A parsed request body.
#[derive(Debug, Default, Clone)]
pub struct Body(pub Map<String, Value>);

impl Body {
    /// Parses a form body (by content type) or a JSON object; an empty body is an empty object.
    /// None when the body is neither.
    pub fn parse(req: &HttpRequest, bytes: &[u8]) -> Option<Body> {
        let is_form = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Some(Body::default());
        }
        if is_form {
            let pairs: HashMap<String, String> = serde_urlencoded::from_bytes(bytes).ok()?;
            return Some(Body(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ));
        }
        match serde_json::from_slice::<Value>(bytes).ok()? {
            Value::Object(map) => Some(Body(map)),
            _ => None,
        }
    }

    /// A field as a string (numbers are turned into their decimal text); "" when absent.
    pub fn str(&self, key: &str) -> String {
        match self.0.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => String::new(),
        }
    }

    /// A field as an integer (a number or a numeric string).
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.0.get(key) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A raw field.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}
