//! Names of RPC interfaces (by UUID and version) and the catalogue service each belongs to.

use crate::model::{Service, ServiceId};

/// An RPC interface the catalogue can name.
#[derive(Debug)]
pub struct RpcInterface {
    /// The interface UUID as a 128-bit number (RFC 4122 byte order, as printed).
    pub uuid: u128,
    /// Major and minor version, when the source gives one.
    pub version: Option<(u16, u16)>,
    /// Protocol or interface title (e.g. "[MS-SAMR]: Security Account Manager (SAM) Remote Protocol (SAMR)").
    pub name: &'static str,
    /// The Windows binary that hosts it (e.g. `lsasrv.dll`), when known.
    pub binary: &'static str,
    /// A short name administrators know (`lsarpc`, `samr`, `netlogon`), when known.
    pub short_name: &'static str,
    /// The catalogue service it belongs to, when known.
    pub service: Option<ServiceId>,
}

impl RpcInterface {
    /// The catalogue service, if known.
    pub fn service(&self) -> Option<&'static Service> {
        self.service.map(ServiceId::get)
    }

    /// The UUID in its usual printed form.
    pub fn uuid_string(&self) -> String {
        format_uuid(self.uuid)
    }

    /// A name short enough for a table column: the short name, else the title's last
    /// parenthesised word (`(MGMT)` → `MGMT`), else its `[MS-XXXX]` tag, else its first
    /// word, else the binary. Never cut: the title stays in [`RpcInterface::name`].
    pub fn brief(&self) -> &'static str {
        if !self.short_name.is_empty() {
            return self.short_name;
        }
        let title = self.name.trim();
        let paren = title
            .strip_suffix(')')
            .and_then(|t| t.rsplit_once('('))
            .map(|(_, inner)| inner)
            .filter(|w| !w.is_empty() && !w.contains(' '));
        let tag = title
            .strip_prefix('[')
            .and_then(|t| t.split_once(']'))
            .map(|(tag, _)| tag);
        let first = title.split_whitespace().next();
        paren
            .or(tag)
            .or(first)
            .filter(|w| !w.is_empty())
            .unwrap_or(self.binary)
    }

    /// The best short label: the short name, else the title, else the binary.
    pub fn label(&self) -> &'static str {
        [self.short_name, self.name, self.binary]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or("")
    }
}

/// Every interface, sorted by UUID then version.
pub fn interfaces() -> &'static [RpcInterface] {
    crate::generated::RPC_INTERFACES
}

/// Parses `12345778-1234-abcd-ef00-0123456789ab` (any case) into its 128-bit value.
pub fn parse_uuid(text: &str) -> Option<u128> {
    let t = text.trim().trim_start_matches('{').trim_end_matches('}');
    let groups: Vec<&str> = t.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    if groups.len() != 5 || groups.iter().zip(lens).any(|(g, l)| g.len() != l) {
        return None;
    }
    let hex: String = groups.concat();
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// Prints a 128-bit UUID value in the usual 8-4-4-4-12 form, lower case.
pub fn format_uuid(v: u128) -> String {
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// All rows for a UUID (every version the sources list).
pub fn by_uuid(uuid: u128) -> &'static [RpcInterface] {
    let all = interfaces();
    let start = all.partition_point(|i| i.uuid < uuid);
    let end = all.partition_point(|i| i.uuid <= uuid);
    &all[start..end]
}

/// The best row for a UUID and version: the exact version, else a row without a
/// version, else any row of that UUID (titles come from a UUID-only map anyway).
pub fn lookup(uuid: u128, major: u16, minor: u16) -> Option<&'static RpcInterface> {
    let rows = by_uuid(uuid);
    rows.iter()
        .find(|r| r.version == Some((major, minor)))
        .or_else(|| rows.iter().find(|r| r.version.is_none()))
        .or_else(|| rows.iter().find(|r| !r.name.is_empty()))
        .or_else(|| rows.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_well_known_interfaces() {
        let samr = parse_uuid("12345778-1234-ABCD-EF00-0123456789AC").unwrap();
        let i = lookup(samr, 1, 0).unwrap();
        assert!(i.name.contains("SAMR"), "{}", i.name);
        assert_eq!(i.short_name, "samr");
        assert_eq!(i.service().unwrap().id, "lsass");
        let epm = parse_uuid("e1af8308-5d1f-11c9-91a4-08002b14a0fa").unwrap();
        assert_eq!(lookup(epm, 3, 0).unwrap().service().unwrap().id, "rpcss");
        assert_eq!(format_uuid(epm), "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
    }

    #[test]
    fn every_reference_row_is_compiled_in() {
        assert_eq!(interfaces().len(), 813);
        assert!(
            interfaces()
                .windows(2)
                .all(|w| (w[0].uuid, w[0].version) < (w[1].uuid, w[1].version))
        );
    }

    #[test]
    fn rejects_bad_uuids() {
        assert_eq!(parse_uuid("not-a-uuid"), None);
        assert_eq!(parse_uuid("12345778-1234-abcd-ef00-0123456789a"), None);
        assert_eq!(parse_uuid("g2345778-1234-abcd-ef00-0123456789ab"), None);
        assert_eq!(parse_uuid(""), None);
    }
}
