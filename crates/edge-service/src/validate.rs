//! Input checks shared by the routes: ids are 1 to 256 characters, and no text may contain a NUL
//! character (PostgreSQL refuses it in text and jsonb; it must be a 400, not a database error).

use crate::error::AppError;

/// An identifier: 1 to 256 characters, not blank, no NUL.
pub fn id(name: &str, value: &str) -> Result<(), AppError> {
    if value.trim().is_empty() || value.len() > 256 || value.contains('\0') {
        return Err(AppError::BadRequest(format!(
            "{name} must be 1 to 256 characters without NUL"
        )));
    }
    Ok(())
}

/// An optional identifier (a filter or a cursor).
pub fn opt_id(name: &str, value: Option<&str>) -> Result<(), AppError> {
    value.map_or(Ok(()), |v| id(name, v))
}

/// Free text: no NUL.
pub fn text(name: &str, value: &str) -> Result<(), AppError> {
    if value.contains('\0') {
        return Err(AppError::BadRequest(format!(
            "{name} must not contain NUL characters"
        )));
    }
    Ok(())
}

/// A JSON value whose strings (and keys) carry no NUL.
pub fn json(name: &str, value: &serde_json::Value) -> Result<(), AppError> {
    match value {
        serde_json::Value::String(s) => text(name, s),
        serde_json::Value::Array(items) => items.iter().try_for_each(|v| json(name, v)),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            text(name, k)?;
            json(name, v)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_and_blank_ids_are_refused() {
        assert!(id("x", "ok").is_ok());
        assert!(id("x", " ").is_err());
        assert!(id("x", "a\0b").is_err());
        assert!(id("x", &"a".repeat(257)).is_err());
        assert!(json("m", &serde_json::json!({"a": "b\u{0}"})).is_err());
        assert!(json("m", &serde_json::json!({"a\u{0}": 1})).is_err());
        assert!(json("m", &serde_json::json!({"a": "\\u0000 literally"})).is_ok());
    }
}
