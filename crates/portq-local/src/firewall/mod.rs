//! What the host firewall does with a new inbound connection to a port, for
//! `portq local --expect`: "listening but blocked by the firewall" and "allowed but
//! nothing listens" are the findings an administrator needs most.
//!
//! The state comes from `nft -j list ruleset` on Linux ([`nft`]) or from a fixed
//! PowerShell script on Windows ([`windows`]), or from a file holding either. Parsing and
//! evaluation are pure; only [`from_system`] runs a program. The evaluators are
//! conservative: when a rule they do not model could decide before the rules they do,
//! the answer is [`Verdict::CannotTell`], never a guess.

pub mod cloud;
pub mod iptables;
pub mod judge;
pub mod nft;
pub mod sources;
pub mod windows;

use super::LocalListener;
use super::audit::{Audit, AuditStatus};
use portq_catalog::Transport;
use serde::Serialize;
use std::fmt;
use thiserror::Error;

/// What the firewall does with a new connection from the network to one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Let in (possibly only from some sources, for some programs, or over one family).
    Allowed {
        /// What lets it in: a rule, a policy, or "no host firewall".
        by: String,
        /// True when a rule names the port (not a default policy or no firewall at all).
        explicit: bool,
        /// Only from these sources (empty: from anywhere).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        from: Vec<String>,
        /// Except from these sources.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        except: Vec<String>,
        /// Only for these programs or services (Windows rules tied to an application).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        only_for: Vec<String>,
        /// Only over these address families or profiles (e.g. "IPv4", "Domain profile").
        #[serde(skip_serializing_if = "Vec::is_empty")]
        only_over: Vec<String>,
    },
    /// Dropped or rejected.
    Blocked {
        /// What blocks it: a rule or a default policy.
        by: String,
        /// True when a rule names the port (not a default policy).
        explicit: bool,
    },
    /// The rules have a shape we do not model, or the firewall could not be read.
    CannotTell {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// Allowed from anywhere by something other than a rule: no firewall or a policy.
    pub(crate) fn open(by: impl Into<String>) -> Verdict {
        Verdict::Allowed {
            by: by.into(),
            explicit: false,
            from: Vec::new(),
            except: Vec::new(),
            only_for: Vec::new(),
            only_over: Vec::new(),
        }
    }

    /// A short token for tables and metrics: `allowed`, `blocked`, `cannot_tell`.
    pub fn token(&self) -> &'static str {
        match self {
            Verdict::Allowed { .. } => "allowed",
            Verdict::Blocked { .. } => "blocked",
            Verdict::CannotTell { .. } => "cannot_tell",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Allowed {
                from,
                except,
                only_for,
                only_over,
                ..
            } => {
                let mut parts = Vec::new();
                if !from.is_empty() {
                    parts.push(format!("from {}", from.join(", ")));
                }
                if !except.is_empty() {
                    parts.push(format!("except from {}", except.join(", ")));
                }
                if !only_for.is_empty() {
                    parts.push(format!("for {} only", only_for.join(", ")));
                }
                if !only_over.is_empty() {
                    parts.push(format!("{} only", only_over.join(", ")));
                }
                if parts.is_empty() {
                    f.write_str("allowed")
                } else {
                    write!(f, "allowed ({})", parts.join("; "))
                }
            }
            Verdict::Blocked { by, .. } => write!(f, "blocked ({by})"),
            Verdict::CannotTell { reason } => write!(f, "cannot tell ({reason})"),
        }
    }
}

/// Combines the verdicts of several views of one port (IPv4 and IPv6, or several active
/// Windows profiles): allowed in some and blocked in the others is "allowed (X only)".
pub(crate) fn combine(views: Vec<(String, Verdict)>) -> Verdict {
    if let Some((label, v)) = views
        .iter()
        .find(|(_, v)| matches!(v, Verdict::CannotTell { .. }))
    {
        let reason = match v {
            Verdict::CannotTell { reason } if views.len() > 1 => format!("{label}: {reason}"),
            Verdict::CannotTell { reason } => reason.clone(),
            _ => String::new(),
        };
        return Verdict::CannotTell { reason };
    }
    let allowed: Vec<&(String, Verdict)> = views
        .iter()
        .filter(|(_, v)| matches!(v, Verdict::Allowed { .. }))
        .collect();
    match (allowed.first(), views.first()) {
        (Some((_, first)), _) => {
            let mut v = first.clone();
            if allowed.len() < views.len()
                && let Verdict::Allowed { only_over, .. } = &mut v
            {
                only_over.extend(allowed.iter().map(|(l, _)| l.clone()));
            }
            v
        }
        (None, Some((_, first))) => first.clone(),
        (None, None) => Verdict::CannotTell {
            reason: "nothing to evaluate".into(),
        },
    }
}

/// A firewall state that can be evaluated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Firewall {
    /// An nftables ruleset (`nft -j list ruleset`).
    Nft(nft::Ruleset),
    /// Windows Firewall inbound rules and profiles (see [`windows::SCRIPT`]).
    Windows(windows::State),
    /// AWS security groups (`aws ec2 describe-security-groups`).
    Aws(cloud::SecurityGroups),
    /// An Azure network security group (`az network nsg show`).
    Azure(cloud::Nsg),
    /// The firewall could not be read: every port is "cannot tell", for this reason.
    Unreadable(String),
}

/// Why a saved firewall state could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FirewallError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but neither `nft -j list ruleset` output nor portq's Windows Firewall export.
    #[error(
        "not a rule set portq reads: `nft -j list ruleset`, iptables-save, portq's Windows Firewall export, `aws ec2 describe-security-groups` or `az network nsg show` output"
    )]
    UnknownFormat,
    /// The right format, with a malformed part.
    #[error("{0}")]
    Malformed(String),
}

impl Firewall {
    /// Reads a saved state: `nft -j list ruleset` output, `iptables-save` (and
    /// `ip6tables-save`) output, or the Windows export.
    pub fn parse(text: &str) -> Result<Firewall, FirewallError> {
        if !text.trim_start().starts_with('{') && iptables::looks_like(text) {
            return nft::Ruleset::from_value(&iptables::to_nft_json(text)?).map(Firewall::Nft);
        }
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| FirewallError::Json(e.to_string()))?;
        if v.get("nftables").is_some() {
            nft::Ruleset::from_value(&v).map(Firewall::Nft)
        } else if v.get("SecurityGroups").is_some() || v.get("IpPermissions").is_some() {
            cloud::SecurityGroups::from_value(&v).map(Firewall::Aws)
        } else if v.get("securityRules").is_some()
            || v.get("defaultSecurityRules").is_some()
            || v.pointer("/properties/securityRules").is_some()
        {
            cloud::Nsg::from_value(&v).map(Firewall::Azure)
        } else if v.get("rules").is_some() || v.get("profiles").is_some() {
            windows::State::from_value(v).map(Firewall::Windows)
        } else {
            Err(FirewallError::UnknownFormat)
        }
    }

    /// What a new inbound connection to `port` gets; `listener` (when something listens)
    /// gives the address family and, for Windows program rules, the owning program.
    pub fn evaluate(
        &self,
        transport: Transport,
        port: u16,
        listener: Option<&LocalListener>,
    ) -> Verdict {
        match self {
            Firewall::Nft(r) => r.evaluate(transport, port, listener),
            Firewall::Windows(s) => s.evaluate(transport, port, listener),
            Firewall::Aws(g) => g.evaluate(transport, port),
            Firewall::Azure(n) => n.evaluate(transport, port),
            Firewall::Unreadable(why) => Verdict::CannotTell {
                reason: why.clone(),
            },
        }
    }
}

/// Reads this machine's firewall: `nft -j list ruleset` on Linux, PowerShell's
/// NetSecurity cmdlets on Windows. Failing to read is a state, not an error.
pub fn from_system() -> Firewall {
    if cfg!(windows) {
        let out = std::process::Command::new("powershell")
            .args(["-NoProfile", "-NonInteractive", "-EncodedCommand"])
            .arg(windows::encoded_script())
            .output();
        read_output(out, "powershell")
    } else {
        // /usr/sbin is not on every user's PATH.
        let mut out = Err(std::io::Error::from(std::io::ErrorKind::NotFound));
        for nft in ["nft", "/usr/sbin/nft", "/sbin/nft"] {
            out = std::process::Command::new(nft)
                .args(["-j", "list", "ruleset"])
                .output();
            if !matches!(&out, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
                break;
            }
        }
        match read_output(out, "nft") {
            Firewall::Nft(rs) => match legacy_iptables_tables() {
                None if rs.has_iptables_extensions() => Firewall::Nft(with_iptables_save(rs)),
                Some(tables) => Firewall::Nft(rs.with_hidden_filtering(format!(
                    "iptables-legacy tables ({tables}) filter too, and nft does not show them"
                ))),
                None => Firewall::Nft(rs),
            },
            other => other,
        }
    }
}

/// An iptables-nft ruleset with its extensions read from `iptables-save` and
/// `ip6tables-save` (which print them in full) instead of nft's opaque `xt` statements.
/// Unchanged when they cannot be run or read.
fn with_iptables_save(rs: nft::Ruleset) -> nft::Ruleset {
    let mut text = String::new();
    for tool in ["iptables-save", "ip6tables-save"] {
        let mut out = Err(std::io::Error::from(std::io::ErrorKind::NotFound));
        for path in [
            tool.to_owned(),
            format!("/usr/sbin/{tool}"),
            format!("/sbin/{tool}"),
        ] {
            out = std::process::Command::new(&path).output();
            if !matches!(&out, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
                break;
            }
        }
        match out {
            Ok(o) if o.status.success() => {
                let saved = String::from_utf8_lossy(&o.stdout);
                // Each output says which family it is in its first comment; make sure.
                if tool == "ip6tables-save" && !saved.contains("# Generated by ip6tables") {
                    text.push_str("# Generated by ip6tables-save\n");
                }
                text.push_str(&saved);
            }
            _ => return rs,
        }
    }
    match iptables::to_nft_json(&text).and_then(|v| nft::Ruleset::from_value(&v)) {
        Ok(saved) => rs.with_tables_of(saved),
        Err(_) => rs,
    }
}

/// The iptables-legacy tables in use here (`/proc/net/ip{,6}_tables_names`), which
/// filter alongside nftables and do not appear in `nft list ruleset`.
fn legacy_iptables_tables() -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for file in ["/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            for n in text.split_whitespace() {
                if !names.iter().any(|x| x == n) {
                    names.push(n.to_owned());
                }
            }
        }
    }
    (!names.is_empty()).then(|| names.join(", "))
}

fn read_output(out: std::io::Result<std::process::Output>, tool: &str) -> Firewall {
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Firewall::Unreadable(format!("{tool} not available"))
        }
        Err(e) => Firewall::Unreadable(format!("{tool}: {e}")),
        Ok(o) if !o.status.success() => {
            let err = String::from_utf8_lossy(&o.stderr);
            let low = err.to_lowercase();
            if low.contains("permission denied")
                || low.contains("not permitted")
                || low.contains("access is denied")
            {
                Firewall::Unreadable(format!("{tool}: permission denied"))
            } else {
                let line = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                let line = line.trim();
                let line = line.strip_prefix("Error: ").unwrap_or(line);
                Firewall::Unreadable(format!("{tool} failed: {line}"))
            }
        }
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            // nft prints nothing at all for an empty ruleset.
            if tool == "nft" && text.trim().is_empty() {
                return Firewall::Nft(nft::Ruleset::default());
            }
            Firewall::parse(&text).unwrap_or_else(|e| {
                Firewall::Unreadable(format!("{tool} output not understood: {e}"))
            })
        }
    }
}

/// One of the two findings the firewall column exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A required port listens, but the firewall blocks it.
    ListeningButBlocked,
    /// A rule lets the port in, but nothing listens there.
    AllowedButNothingListens,
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FindingKind::ListeningButBlocked => "listening but blocked by the firewall",
            FindingKind::AllowedButNothingListens => "allowed but nothing listens",
        })
    }
}

/// A finding on one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which finding.
    pub kind: FindingKind,
    /// TCP or UDP.
    pub transport: Transport,
    /// The port.
    pub port: u16,
    /// The verdict behind it.
    pub verdict: Verdict,
}

/// The firewall's view of an audit: one verdict per audit row (none for loopback-only
/// listeners, which the network cannot reach anyway) and the findings.
#[derive(Debug, Clone, Default)]
pub struct FirewallAudit {
    /// Parallel to the audit's rows.
    pub verdicts: Vec<Option<Verdict>>,
    /// "listening but blocked" for required listeners, "allowed but nothing listens" for
    /// required ports a rule opens with nothing behind them.
    pub findings: Vec<Finding>,
}

/// Evaluates every row of an audit against a firewall state.
pub fn check_audit(a: &Audit, fw: &Firewall) -> FirewallAudit {
    let mut out = FirewallAudit::default();
    for row in &a.rows {
        if row.status == AuditStatus::LocalOnly {
            out.verdicts.push(None);
            continue;
        }
        let v = fw.evaluate(row.transport, row.port, row.listener.as_ref());
        let kind = match (&v, row.status) {
            (Verdict::Blocked { .. }, AuditStatus::Ok) => Some(FindingKind::ListeningButBlocked),
            (
                Verdict::Allowed { explicit: true, .. },
                AuditStatus::Missing | AuditStatus::OptionalMissing,
            ) => Some(FindingKind::AllowedButNothingListens),
            _ => None,
        };
        if let Some(kind) = kind {
            let f = Finding {
                kind,
                transport: row.transport,
                port: row.port,
                verdict: v.clone(),
            };
            if !out.findings.contains(&f) {
                out.findings.push(f);
            }
        }
        out.verdicts.push(Some(v));
    }
    // Blocked listeners first, then open ports with nothing behind them; rows' order within.
    out.findings.sort_by_key(|f| f.kind);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Verdict {
        Verdict::open("policy accept")
    }

    fn blocked() -> Verdict {
        Verdict::Blocked {
            by: "policy drop".into(),
            explicit: false,
        }
    }

    #[test]
    fn display_forms() {
        assert_eq!(allowed().to_string(), "allowed");
        let mut from = allowed();
        if let Verdict::Allowed { from: f, .. } = &mut from {
            f.push("10.0.0.0/8".into());
        }
        assert_eq!(from.to_string(), "allowed (from 10.0.0.0/8)");
        assert_eq!(blocked().to_string(), "blocked (policy drop)");
        assert_eq!(
            Verdict::CannotTell {
                reason: "nft not available".into()
            }
            .to_string(),
            "cannot tell (nft not available)"
        );
    }

    #[test]
    fn combining_families() {
        let v = combine(vec![("IPv4".into(), allowed()), ("IPv6".into(), blocked())]);
        assert_eq!(v.to_string(), "allowed (IPv4 only)");
        assert_eq!(
            combine(vec![("IPv4".into(), blocked()), ("IPv6".into(), blocked())]),
            blocked()
        );
        let v = combine(vec![
            ("IPv4".into(), allowed()),
            ("IPv6".into(), Verdict::CannotTell { reason: "x".into() }),
        ]);
        assert_eq!(v.to_string(), "cannot tell (IPv6: x)");
    }

    #[test]
    fn unknown_files_are_errors() {
        assert!(matches!(
            Firewall::parse("not json"),
            Err(FirewallError::Json(_))
        ));
        assert!(matches!(
            Firewall::parse("{\"x\": 1}"),
            Err(FirewallError::UnknownFormat)
        ));
        assert!(matches!(
            Firewall::parse("{\"nftables\": 3}"),
            Err(FirewallError::Malformed(_))
        ));
    }

    #[test]
    fn unreadable_tools_are_notes_not_errors() {
        let missing = read_output(
            Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
            "nft",
        );
        assert_eq!(
            missing.evaluate(Transport::Tcp, 22, None).to_string(),
            "cannot tell (nft not available)"
        );
    }
}
