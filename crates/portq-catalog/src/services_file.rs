//! Parsing a services file (`/etc/services`, or `%SystemRoot%\System32\drivers\etc\services`).
//!
//! Only parsing lives here; the caller reads the file, and only when the user asks or
//! when neither the catalogue nor the IANA registry knows a port.

use crate::model::{PortRange, Transport};
use std::path::PathBuf;

/// Largest services file accepted, in bytes.
pub const MAX_SIZE: u64 = 4 * 1024 * 1024;

/// One line of a services file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicesFileEntry {
    /// The service name.
    pub name: String,
    /// The port.
    pub port: u16,
    /// The protocol as written (`tcp`, `udp`, `sctp`, `ddp`...).
    pub protocol: String,
    /// Aliases listed after the port.
    pub aliases: Vec<String>,
    /// The comment at the end of the line, if any.
    pub comment: String,
}

impl ServicesFileEntry {
    /// True when the entry is for `port` within `range` and the transport (if given).
    pub fn matches(&self, range: PortRange, transport: Option<Transport>) -> bool {
        range.contains(self.port)
            && transport.is_none_or(|t| self.protocol.eq_ignore_ascii_case(t.as_str()))
    }
}

/// Where this platform keeps its services file.
pub fn default_path() -> PathBuf {
    if cfg!(windows) {
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
        PathBuf::from(root).join("System32\\drivers\\etc\\services")
    } else {
        PathBuf::from("/etc/services")
    }
}

/// Parses services-file text; malformed lines are skipped (the format is informal).
pub fn parse(text: &str) -> Vec<ServicesFileEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let (body, comment) = match line.split_once('#') {
            Some((b, c)) => (b, c.trim()),
            None => (line, ""),
        };
        let mut fields = body.split_whitespace();
        let (Some(name), Some(portproto)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some((port, proto)) = portproto.split_once('/') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        out.push(ServicesFileEntry {
            name: name.to_owned(),
            port,
            protocol: proto.to_ascii_lowercase(),
            aliases: fields.map(str::to_owned).collect(),
            comment: comment.to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_skips_junk() {
        let text = "# comment\nssh 22/tcp # SSH Remote Login Protocol\nkerberos 88/udp kerberos5 krb5 # Kerberos v5\nbad line\nx 70000/tcp\ny abc/tcp\n\n";
        let e = parse(text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].name, "ssh");
        assert_eq!(e[0].port, 22);
        assert_eq!(e[0].comment, "SSH Remote Login Protocol");
        assert_eq!(e[1].aliases, vec!["kerberos5", "krb5"]);
        assert!(e[1].matches(PortRange::single(88), Some(Transport::Udp)));
        assert!(!e[1].matches(PortRange::single(88), Some(Transport::Tcp)));
    }
}
