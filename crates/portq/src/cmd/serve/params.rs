//! Query strings and form bodies (`application/x-www-form-urlencoded`), parsed within
//! fixed bounds, and the matching encoder for links the pages build.

/// Longest raw query string (bytes) a request may carry.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Longest request body (bytes): the check form is the only thing ever posted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most parameters in one query string or form.
pub const MAX_PARAMS: usize = 64;
/// Longest parameter value, in characters (a lookup query is further limited to 200).
pub const MAX_VALUE_CHARS: usize = 1000;
/// Longest parameter name, in bytes.
const MAX_NAME_BYTES: usize = 32;

/// Decoded name/value pairs, in the order given.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a query string or form body (without the leading `?`).
    pub fn parse(raw: &str) -> Result<Params, String> {
        let mut pairs = Vec::new();
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            if pairs.len() == MAX_PARAMS {
                return Err(format!("too many parameters (the limit is {MAX_PARAMS})"));
            }
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = decode(name)?;
            if name.len() > MAX_NAME_BYTES {
                return Err("parameter name too long".to_owned());
            }
            let value = decode(value)?;
            let chars = value.chars().count();
            if chars > MAX_VALUE_CHARS {
                return Err(format!(
                    "parameter '{name}' is too long ({chars} characters; the limit is {MAX_VALUE_CHARS})"
                ));
            }
            pairs.push((name, value));
        }
        Ok(Params { pairs })
    }

    /// Parses the query string of a request URI.
    pub fn from_uri(uri: &axum::http::Uri) -> Result<Params, String> {
        let raw = uri.query().unwrap_or("");
        if raw.len() > MAX_QUERY_BYTES {
            return Err(format!(
                "query string too long ({} bytes; the limit is {MAX_QUERY_BYTES})",
                raw.len()
            ));
        }
        Params::parse(raw)
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }

    /// Every value of a parameter, in order.
    pub fn all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter, each split at commas and white space, empty items dropped.
    pub fn items<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.all(name)
            .flat_map(|v| v.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|s| !s.is_empty())
    }

    /// True when a checkbox-style parameter has a value other than `0`, `false`, `off`,
    /// `no` or empty (any of its values: a hidden `0` before a ticked box still counts as on).
    pub fn flag(&self, name: &str) -> bool {
        self.all(name)
            .any(|v| !matches!(v.trim(), "" | "0" | "false" | "off" | "no"))
    }

    /// A non-empty, trimmed value.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|s| !s.is_empty())
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes one name or value (`+` is a space).
fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h * 16 + l),
                    _ => return Err("malformed percent-encoding in the query".to_owned()),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the query is not UTF-8 text".to_owned())
}

/// Percent-encodes a value for a query string (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds a query string from pairs (values encoded).
pub fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_keeps_repeats() {
        let p = Params::parse("q=global+catalog&role=dc&role=dns%3Ano-x&e=&flag").unwrap();
        assert_eq!(p.get("q"), Some("global catalog"));
        assert_eq!(p.all("role").collect::<Vec<_>>(), ["dc", "dns:no-x"]);
        assert_eq!(p.get("e"), Some(""));
        assert!(!p.flag("e"));
        assert!(!p.flag("flag"));
        assert!(!p.flag("missing"));
        assert_eq!(
            Params::parse("from=10.0.0.0%2F8%2C+192.168.1.0/24")
                .unwrap()
                .items("from")
                .collect::<Vec<_>>(),
            ["10.0.0.0/8", "192.168.1.0/24"]
        );
    }

    #[test]
    fn bounded_and_strict() {
        assert!(Params::parse("q=%zz").is_err());
        assert!(Params::parse("q=%4").is_err());
        assert!(Params::parse("q=%ff").is_err());
        assert!(Params::parse(&"a=1&".repeat(MAX_PARAMS + 1)).is_err());
        assert!(Params::parse(&format!("q={}", "x".repeat(MAX_VALUE_CHARS + 1))).is_err());
        assert!(Params::parse(&format!("{}=1", "n".repeat(100))).is_err());
    }

    #[test]
    fn encode_round_trips() {
        let s = "<script>alert(1)</script> & ü/é?=#";
        let p = Params::parse(&query(&[("q", s)])).unwrap();
        assert_eq!(p.get("q"), Some(s));
    }
}
