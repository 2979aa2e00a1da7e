//! Reading the functions' environment variables (names in DESIGN.md §3 and the README).

/// A whole-number setting: `default` when unset, a one-line error naming it otherwise.
pub fn number(
    get: impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
) -> Result<u64, String> {
    match get(name) {
        None => Ok(default),
        Some(s) => s.trim().parse().map_err(|_| format!("{name} '{s}': expected a whole number")),
    }
}
