//! CSRF tokens: every form carries the session's token in a hidden `csrf`
//! field, and a POST without the right one is refused with 403.

/// True when the token posted matches the expected one (constant time).
pub fn matches(expected: &str, posted: Option<&str>) -> bool {
    let Some(posted) = posted else {
        return false;
    };
    let (a, b) = (expected.as_bytes(), posted.as_bytes());
    !a.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
