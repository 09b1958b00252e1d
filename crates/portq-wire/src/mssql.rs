//! SQL Server Resolution Protocol ([MC-SQLR]) spoken by the SQL Server Browser on UDP 1434.
//!
//! The probe sends CLNT_UCAST_EX (one byte, 0x03) and the browser answers with SVR_RESP:
//! 0x05, a little-endian 16-bit length, then `;`-separated key/value text in which each
//! instance ends with `;;`, for example
//! `ServerName;DB1;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;;`.

use std::fmt;

use crate::WireError;
use crate::reader::{Reader, check_cap};

/// CLNT_BCAST_EX: broadcast request for all instances.
pub const CLNT_BCAST_EX: u8 = 0x02;
/// CLNT_UCAST_EX: unicast request for all instances of one host.
pub const CLNT_UCAST_EX: u8 = 0x03;
/// CLNT_UCAST_INST: unicast request for one named instance.
pub const CLNT_UCAST_INST: u8 = 0x04;
/// SVR_RESP: the server's reply.
pub const SVR_RESP: u8 = 0x05;
/// Longest instance name [MC-SQLR] allows in CLNT_UCAST_INST.
pub const MAX_INSTANCE_NAME: usize = 32;
/// Most instances read from one reply.
pub const MAX_INSTANCES: usize = 256;
/// Most extra key/value pairs kept per instance.
pub const MAX_EXTRA_PAIRS: usize = 16;

/// The CLNT_UCAST_EX request: list every instance on the host.
pub fn ucast_ex_request() -> Vec<u8> {
    vec![CLNT_UCAST_EX]
}

/// The CLNT_UCAST_INST request for one instance name (at most 32 bytes, no NUL).
pub fn ucast_inst_request(instance: &str) -> Result<Vec<u8>, WireError> {
    check_cap("SQL instance name", instance.len(), MAX_INSTANCE_NAME)?;
    if instance.bytes().any(|b| b == 0) {
        return Err(WireError::invalid("SQL instance name", "contains NUL"));
    }
    let mut out = Vec::with_capacity(instance.len() + 2);
    out.push(CLNT_UCAST_INST);
    out.extend_from_slice(instance.as_bytes());
    out.push(0);
    Ok(out)
}

/// One SQL Server instance advertised by the browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instance {
    /// `ServerName`.
    pub server_name: String,
    /// `InstanceName` (`MSSQLSERVER` for the default instance).
    pub instance_name: String,
    /// `IsClustered` (`Yes`/`No`), if given.
    pub is_clustered: Option<bool>,
    /// `Version`, e.g. `15.0.2000.5`.
    pub version: String,
    /// `tcp` port, if TCP is enabled.
    pub tcp_port: Option<u16>,
    /// `np` named pipe, if named pipes are enabled.
    pub named_pipe: Option<String>,
    /// Any other protocol tokens (`via`, `rpc`, `spx`, `adsp`, `bv`), in order.
    pub other: Vec<(String, String)>,
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\\{} version {}",
            self.server_name, self.instance_name, self.version
        )?;
        match self.tcp_port {
            Some(p) => write!(f, " tcp {p}")?,
            None => f.write_str(" tcp off")?,
        }
        if let Some(np) = &self.named_pipe {
            write!(f, " np {np}")?;
        }
        Ok(())
    }
}

/// A decoded SVR_RESP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserReply {
    /// The instances listed.
    pub instances: Vec<Instance>,
}

impl BrowserReply {
    /// Evidence line: one entry per instance.
    pub fn summary(&self) -> String {
        let list: Vec<String> = self.instances.iter().map(|i| i.to_string()).collect();
        format!("{} instance(s): {}", self.instances.len(), list.join("; "))
    }
}

fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        // RESP_DATA is in the server's code page; map it byte-for-byte rather than fail.
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn parse_instances(data: &str) -> Result<Vec<Instance>, WireError> {
    let mut instances = Vec::new();
    let mut cur = Instance::default();
    let mut started = false;
    let mut tokens = data.split(';');
    while let Some(key) = tokens.next() {
        if key.is_empty() {
            if started {
                check_cap("SQL browser instances", instances.len() + 1, MAX_INSTANCES)?;
                instances.push(std::mem::take(&mut cur));
                started = false;
            }
            continue;
        }
        let Some(value) = tokens.next() else {
            return Err(WireError::invalid(
                "SQL browser response",
                format!("key {key:?} without a value"),
            ));
        };
        started = true;
        match key.to_ascii_lowercase().as_str() {
            "servername" => cur.server_name = value.to_string(),
            "instancename" => cur.instance_name = value.to_string(),
            "isclustered" => cur.is_clustered = Some(value.eq_ignore_ascii_case("yes")),
            "version" => cur.version = value.to_string(),
            "tcp" => {
                cur.tcp_port = Some(value.parse().map_err(|_| {
                    WireError::invalid("SQL browser tcp port", format!("{value:?}"))
                })?);
            }
            "np" => cur.named_pipe = Some(value.to_string()),
            _ => {
                if cur.other.len() < MAX_EXTRA_PAIRS {
                    cur.other.push((key.to_string(), value.to_string()));
                }
            }
        }
    }
    if started {
        return Err(WireError::invalid(
            "SQL browser response",
            "last instance is not terminated by ;;",
        ));
    }
    Ok(instances)
}

/// Decodes an SVR_RESP datagram.
///
/// The length field must fit in the bytes present; bytes after it are ignored.
pub fn decode(buf: &[u8]) -> Result<BrowserReply, WireError> {
    let mut r = Reader::new(buf);
    let kind = r.u8("SVR_RESP type")?;
    if kind != SVR_RESP {
        return Err(WireError::Unexpected {
            what: "SVR_RESP",
            got: format!("message type {kind:#04x}"),
        });
    }
    let len = usize::from(r.u16_le("SVR_RESP length")?);
    let data = r.take(len, "SVR_RESP data")?;
    let instances = parse_instances(&text(data))?;
    if instances.is_empty() {
        return Err(WireError::invalid("SVR_RESP", "no instance listed"));
    }
    Ok(BrowserReply { instances })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reply(text: &str) -> Vec<u8> {
        let mut m = vec![SVR_RESP]; // SVR_RESP
        m.extend_from_slice(&(text.len() as u16).to_le_bytes()); // RESP_DATA length
        m.extend_from_slice(text.as_bytes()); // RESP_DATA
        m
    }

    const TWO: &str = "ServerName;DB1;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;np;\\\\DB1\\pipe\\sql\\query;;\
ServerName;DB1;InstanceName;SQLEXPRESS;IsClustered;No;Version;16.0.1000.6;np;\\\\DB1\\pipe\\MSSQL$SQLEXPRESS\\sql\\query;via;DB1,0:1433;;";

    #[test]
    fn request_bytes() {
        assert_eq!(ucast_ex_request(), vec![0x03]);
        assert_eq!(
            ucast_inst_request("SQLEXPRESS").unwrap(),
            b"\x04SQLEXPRESS\x00".to_vec()
        );
        assert!(ucast_inst_request(&"x".repeat(33)).is_err());
    }

    #[test]
    fn decodes_two_instances() {
        let r = decode(&reply(TWO)).unwrap();
        assert_eq!(r.instances.len(), 2);
        let a = &r.instances[0];
        assert_eq!(a.server_name, "DB1");
        assert_eq!(a.instance_name, "MSSQLSERVER");
        assert_eq!(a.is_clustered, Some(false));
        assert_eq!(a.version, "15.0.2000.5");
        assert_eq!(a.tcp_port, Some(1433));
        assert_eq!(a.named_pipe.as_deref(), Some("\\\\DB1\\pipe\\sql\\query"));
        let b = &r.instances[1];
        assert_eq!(b.instance_name, "SQLEXPRESS");
        assert_eq!(b.tcp_port, None);
        assert_eq!(b.other, vec![("via".to_string(), "DB1,0:1433".to_string())]);
        assert_eq!(
            r.summary(),
            "2 instance(s): DB1\\MSSQLSERVER version 15.0.2000.5 tcp 1433 np \\\\DB1\\pipe\\sql\\query; \
DB1\\SQLEXPRESS version 16.0.1000.6 tcp off np \\\\DB1\\pipe\\MSSQL$SQLEXPRESS\\sql\\query"
        );
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let m = reply(TWO);
        for i in 0..m.len() {
            assert!(decode(&m[..i]).is_err(), "prefix {i}");
        }
    }

    #[test]
    fn hostile_inputs() {
        // length larger than the datagram
        let mut m = vec![0x05, 0xFF, 0xFF];
        m.extend_from_slice(b"ServerName;X;;");
        assert!(matches!(decode(&m), Err(WireError::Truncated { .. })));
        // wrong type, unterminated, bad port, empty
        assert!(decode(&[0x04, 0, 0]).is_err());
        assert!(decode(&reply("ServerName;X;InstanceName;Y")).is_err());
        assert!(decode(&reply("ServerName;X;tcp;99999;;")).is_err());
        assert!(decode(&reply("")).is_err());
        // a non-UTF-8 server name is mapped byte for byte
        let mut m = reply("ServerName;X;;");
        m[14] = 0xC9;
        assert_eq!(decode(&m).unwrap().instances[0].server_name, "\u{c9}");
    }

    proptest! {
        #[test]
        fn decode_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&buf);
        }

        #[test]
        fn decode_text_never_panics(t in "[A-Za-z0-9;.]{0,200}") {
            let _ = decode(&reply(&t));
        }
    }
}
