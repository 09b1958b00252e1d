//! Windows Firewall: enabled inbound rules with their port, address, application and
//! service filters, and the profiles, as exported by [`SCRIPT`]; and what they do with a
//! new inbound connection to one port.
//!
//! Modelled: the active profiles (each evaluated, then combined), a profile with the
//! firewall off, block rules winning over allow rules, the profile's default inbound
//! action (`NotConfigured` is Windows' default, block), protocol and local-port filters
//! (numbers, ranges, `Any`, `RPCEPMap`, `RPC` as the default dynamic range 49152-65535,
//! `IPHTTPSIn`, `mDNS`), remote-address filters (kept as source
//! restrictions) and rules limited to a program or service (matched against the
//! listener's owner; "allowed for X only" when nothing listens). Other port keywords
//! (`Teredo`, `PlayToDiscovery`, ...) make the answer "cannot tell" when they could decide it.
//! Enum values are read as PowerShell writes them: names (`Allow`, `Block`, `Domain,
//! Private`) or numbers (Action 2/4, Profile flags 1/2/4, Enabled 1/2).

use super::{FirewallError, Verdict, combine};
use crate::LocalListener;
use portq_catalog::Transport;
use serde::Deserialize;
use serde_json::Value;

/// The PowerShell script `portq local` runs on Windows: one JSON object with the active
/// profiles, every profile's state and default inbound action, and every enabled inbound
/// rule of the active store joined with its filters (by InstanceID, one query each).
pub const SCRIPT: &str = r#"$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
$ports = @{}; Get-NetFirewallPortFilter -PolicyStore ActiveStore | ForEach-Object { $ports[$_.InstanceID] = $_ }
$addrs = @{}; Get-NetFirewallAddressFilter -PolicyStore ActiveStore | ForEach-Object { $addrs[$_.InstanceID] = $_ }
$apps = @{}; Get-NetFirewallApplicationFilter -PolicyStore ActiveStore | ForEach-Object { $apps[$_.InstanceID] = $_ }
$svcs = @{}; Get-NetFirewallServiceFilter -PolicyStore ActiveStore | ForEach-Object { $svcs[$_.InstanceID] = $_ }
$rules = @(Get-NetFirewallRule -Direction Inbound -Enabled True -PolicyStore ActiveStore | ForEach-Object {
  $id = $_.InstanceID; $p = $ports[$id]; $a = $addrs[$id]; $x = $apps[$id]; $s = $svcs[$id]
  [pscustomobject]@{
    name = $_.Name; display_name = $_.DisplayName; action = "$($_.Action)"; profile = "$($_.Profile)"
    protocol = "$($p.Protocol)"; local_port = @($p.LocalPort | ForEach-Object { "$_" })
    remote_address = @($a.RemoteAddress | ForEach-Object { "$_" }); program = "$($x.Program)"; service = "$($s.Service)"
  } })
$profiles = @(Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object {
  [pscustomobject]@{ name = "$($_.Name)"; enabled = "$($_.Enabled)"; default_inbound_action = "$($_.DefaultInboundAction)" } })
$active = "$((Get-NetFirewallSetting -PolicyStore ActiveStore).ActiveProfile)"
[pscustomobject]@{ active_profile = $active; profiles = $profiles; rules = $rules } | ConvertTo-Json -Depth 4 -Compress
"#;

/// [`SCRIPT`] for `powershell -EncodedCommand`: base64 of its UTF-16LE text, so that no
/// quoting of the command line can change it.
pub fn encoded_script() -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = SCRIPT.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A Windows Firewall state.
#[derive(Debug, Clone, Deserialize)]
pub struct State {
    /// The active profiles, e.g. `Domain` or `Domain, Public` (or the flag number).
    #[serde(default, alias = "ActiveProfile")]
    active_profile: Option<Value>,
    #[serde(default, alias = "Profiles")]
    profiles: Vec<Profile>,
    #[serde(default, alias = "Rules")]
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
struct Profile {
    #[serde(alias = "Name")]
    name: Value,
    #[serde(default, alias = "Enabled")]
    enabled: Option<Value>,
    #[serde(default, alias = "DefaultInboundAction")]
    default_inbound_action: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct Rule {
    #[serde(default, alias = "Name")]
    name: String,
    #[serde(default, alias = "DisplayName")]
    display_name: String,
    #[serde(alias = "Action")]
    action: Value,
    #[serde(default, alias = "Enabled")]
    enabled: Option<Value>,
    #[serde(default, alias = "Profile")]
    profile: Option<Value>,
    #[serde(default, alias = "Protocol")]
    protocol: Option<Value>,
    #[serde(default, alias = "LocalPort")]
    local_port: Option<Value>,
    #[serde(default, alias = "RemoteAddress")]
    remote_address: Option<Value>,
    #[serde(default, alias = "Program")]
    program: Option<Value>,
    #[serde(default, alias = "Service")]
    service: Option<Value>,
}

const PROFILES: [(&str, u64); 3] = [("Domain", 1), ("Private", 2), ("Public", 4)];

/// Profile names in a value: `"Domain, Private"`, `"Any"`, `5`, `["Domain"]`.
fn profile_names(v: &Value) -> Vec<&'static str> {
    if let Some(n) = v.as_u64() {
        if n == 0 {
            return PROFILES.iter().map(|p| p.0).collect();
        }
        return PROFILES
            .iter()
            .filter(|p| n & p.1 != 0)
            .map(|p| p.0)
            .collect();
    }
    let words: Vec<String> = strings(v);
    if words.iter().any(|w| w.eq_ignore_ascii_case("any")) {
        return PROFILES.iter().map(|p| p.0).collect();
    }
    PROFILES
        .iter()
        .filter(|p| words.iter().any(|w| w.eq_ignore_ascii_case(p.0)))
        .map(|p| p.0)
        .collect()
}

/// Strings in a value: one string (split on commas), a list, or a number.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

/// True for `True`, `true`, `1` (NetSecurity's Enabled/GpoBoolean: True = 1, False = 2).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => s.eq_ignore_ascii_case("true") || s == "1",
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Allow,
    Block,
    /// `NotConfigured` (0), or anything else.
    Unset,
}

fn action(v: &Value) -> Action {
    match (v.as_str(), v.as_u64()) {
        (Some(s), _) if s.eq_ignore_ascii_case("allow") || s == "2" => Action::Allow,
        (Some(s), _) if s.eq_ignore_ascii_case("block") || s == "4" => Action::Block,
        (_, Some(2)) => Action::Allow,
        (_, Some(4)) => Action::Block,
        _ => Action::Unset,
    }
}

/// Whether a value is absent, empty or `Any`.
fn is_any(v: Option<&Value>) -> bool {
    v.is_none_or(|v| {
        let s = strings(v);
        s.is_empty() || s.iter().any(|x| x.eq_ignore_ascii_case("any") || x == "*")
    })
}

/// Local-port keywords with fixed ports. `RPC` is the RPC runtime's dynamic range, taken
/// as Windows' default (49152-65535); a server configured otherwise is not seen.
const KEYWORDS: [(&str, Transport, u16, u16); 5] = [
    ("RPCEPMap", Transport::Tcp, 135, 135),
    ("RPC", Transport::Tcp, 49152, 65535),
    ("IPHTTPSIn", Transport::Tcp, 443, 443),
    ("IPHTTPS", Transport::Tcp, 443, 443),
    ("mDNS", Transport::Udp, 5353, 5353),
];

/// Does a local-port filter cover the port? `None`: a keyword we cannot resolve.
fn port_matches(filter: Option<&Value>, transport: Transport, port: u16) -> Option<bool> {
    if is_any(filter) {
        return Some(true);
    }
    let mut unknown = false;
    for item in filter.map(strings).unwrap_or_default() {
        if let Ok(n) = item.parse::<u16>() {
            if n == port {
                return Some(true);
            }
        } else if let Some((a, b)) = item.split_once('-')
            && let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>())
        {
            if (a..=b).contains(&port) {
                return Some(true);
            }
        } else if let Some((t, lo, hi)) = KEYWORDS
            .iter()
            .find(|k| k.0.eq_ignore_ascii_case(&item))
            .map(|k| (k.1, k.2, k.3))
        {
            if t == transport && (lo..=hi).contains(&port) {
                return Some(true);
            }
        } else {
            unknown = true;
        }
    }
    if unknown { None } else { Some(false) }
}

fn protocol_matches(v: Option<&Value>, t: Transport) -> bool {
    if is_any(v) {
        return true;
    }
    v.map(strings).unwrap_or_default().iter().any(|p| {
        p.eq_ignore_ascii_case(t.as_str())
            || (p == "6" && t == Transport::Tcp)
            || (p == "17" && t == Transport::Udp)
    })
}

/// A program path with the usual environment variables spelled out, lower-cased.
fn normalise_path(p: &str) -> String {
    let low = p.to_lowercase().replace('/', "\\");
    for (var, value) in [
        ("%systemroot%", "c:\\windows"),
        ("%windir%", "c:\\windows"),
        ("%programfiles(x86)%", "c:\\program files (x86)"),
        ("%programfiles%", "c:\\program files"),
        ("%systemdrive%", "c:"),
    ] {
        if let Some(rest) = low.strip_prefix(var) {
            return format!("{value}{rest}");
        }
    }
    low
}

/// Whether a rule's program/service filter lets the listener's owner in:
/// `Some(true/false)` when we can tell, `None` when nothing listens (or its owner is unknown).
fn owner_matches(rule: &Rule, listener: Option<&LocalListener>) -> Option<bool> {
    let owner = listener.and_then(|l| l.owner.as_ref());
    let mut result = Some(true);
    if !is_any(rule.program.as_ref()) {
        let want = rule
            .program
            .as_ref()
            .map(strings)
            .unwrap_or_default()
            .join(",");
        match owner {
            // Kernel listeners (SMB, HTTP.sys) belong to "System", which rules name so.
            Some(o) if want.eq_ignore_ascii_case("system") && !o.name.is_empty() => {
                if !o.name.eq_ignore_ascii_case("system") {
                    return Some(false);
                }
            }
            Some(o) if !o.path.is_empty() => {
                if normalise_path(&o.path) != normalise_path(&want) {
                    return Some(false);
                }
            }
            _ => result = None,
        }
    }
    if !is_any(rule.service.as_ref()) {
        let want = rule
            .service
            .as_ref()
            .map(strings)
            .unwrap_or_default()
            .join(",");
        match owner {
            Some(o) => {
                if !o.services.iter().any(|s| s.eq_ignore_ascii_case(&want)) {
                    return Some(false);
                }
            }
            None => result = None,
        }
    }
    result
}

impl Rule {
    fn label(&self) -> String {
        let name = if self.display_name.is_empty() {
            &self.name
        } else {
            &self.display_name
        };
        format!("rule \"{name}\"")
    }

    /// Who the rule is limited to, for "allowed for X only".
    fn audience(&self) -> String {
        let mut parts = Vec::new();
        if !is_any(self.program.as_ref()) {
            parts.push(
                self.program
                    .as_ref()
                    .map(strings)
                    .unwrap_or_default()
                    .join(","),
            );
        }
        if !is_any(self.service.as_ref()) {
            parts.push(format!(
                "service {}",
                self.service
                    .as_ref()
                    .map(strings)
                    .unwrap_or_default()
                    .join(",")
            ));
        }
        parts.join(" ")
    }
}

impl State {
    /// Reads the exported object (see [`SCRIPT`]).
    pub fn from_value(v: Value) -> Result<State, FirewallError> {
        // ConvertTo-Json writes a one-element list as the element itself.
        let mut v = v;
        for key in ["rules", "Rules", "profiles", "Profiles"] {
            if let Some(x) = v.get_mut(key)
                && x.is_object()
            {
                *x = Value::Array(vec![x.take()]);
            }
        }
        serde_json::from_value(v)
            .map_err(|e| FirewallError::Malformed(format!("Windows Firewall export: {e}")))
    }

    /// The verdict for a new inbound connection to `port`, over every active profile.
    pub fn evaluate(
        &self,
        transport: Transport,
        port: u16,
        listener: Option<&LocalListener>,
    ) -> Verdict {
        let mut active = self
            .active_profile
            .as_ref()
            .map(profile_names)
            .unwrap_or_default();
        if active.is_empty() {
            active = PROFILES.iter().map(|p| p.0).collect();
        }
        let views = active
            .iter()
            .map(|p| {
                (
                    format!("{p} profile"),
                    self.evaluate_profile(p, transport, port, listener),
                )
            })
            .collect();
        combine(views)
    }

    fn evaluate_profile(
        &self,
        profile: &str,
        transport: Transport,
        port: u16,
        listener: Option<&LocalListener>,
    ) -> Verdict {
        let prof = self.profiles.iter().find(|p| {
            strings(&p.name)
                .iter()
                .any(|n| n.eq_ignore_ascii_case(profile))
                || profile_names(&p.name) == [profile]
        });
        if let Some(p) = prof
            && let Some(e) = &p.enabled
            && !truthy(e)
        {
            return Verdict::open(format!("firewall off in the {profile} profile"));
        }
        let default_allow = prof
            .and_then(|p| p.default_inbound_action.as_ref())
            .is_some_and(|a| action(a) == Action::Allow);
        let applicable = self.rules.iter().filter(|r| {
            r.enabled.as_ref().is_none_or(truthy)
                && r.profile
                    .as_ref()
                    .is_none_or(|p| profile_names(p).contains(&profile))
                && protocol_matches(r.protocol.as_ref(), transport)
        });
        // Windows rules are not ordered: gather everything, then decide.
        let mut certain_block: Option<String> = None;
        let mut may_block: Option<String> = None;
        let mut except = Vec::new();
        // (rule, whether it names the port rather than allowing any port)
        let mut certain_allow: Option<(String, bool)> = None;
        let mut partial_allow: Option<(String, bool)> = None;
        let mut may_allow: Option<String> = None;
        let mut from = Vec::new();
        let mut only_for = Vec::new();
        for r in applicable {
            let port_ok = port_matches(r.local_port.as_ref(), transport, port);
            let owner_ok = owner_matches(r, listener);
            let remote_any = is_any(r.remote_address.as_ref());
            let remote = r
                .remote_address
                .as_ref()
                .map(strings)
                .unwrap_or_default()
                .join(", ");
            let unresolved = || {
                format!(
                    "{}: local port {}",
                    r.label(),
                    r.local_port
                        .as_ref()
                        .map(strings)
                        .unwrap_or_default()
                        .join(",")
                )
            };
            match (action(&r.action), port_ok, owner_ok) {
                (_, Some(false), _) | (_, _, Some(false)) | (Action::Unset, _, _) => {}
                (Action::Block, None, _) => {
                    may_block.get_or_insert_with(unresolved);
                }
                (Action::Block, Some(true), None) => {
                    may_block.get_or_insert_with(|| format!("{} for {}", r.label(), r.audience()));
                }
                (Action::Block, Some(true), Some(true)) if remote_any => {
                    certain_block.get_or_insert_with(|| r.label());
                }
                (Action::Block, Some(true), Some(true)) => except.push(remote),
                (Action::Allow, None, _) => {
                    may_allow.get_or_insert_with(unresolved);
                }
                (Action::Allow, Some(true), Some(true)) if remote_any => {
                    certain_allow
                        .get_or_insert_with(|| (r.label(), !is_any(r.local_port.as_ref())));
                }
                (Action::Allow, Some(true), owner) => {
                    partial_allow
                        .get_or_insert_with(|| (r.label(), !is_any(r.local_port.as_ref())));
                    if !remote_any {
                        from.push(remote);
                    }
                    if owner.is_none() {
                        only_for.push(r.audience());
                    }
                }
            }
        }
        let allowed = |by: String,
                       explicit: bool,
                       from: Vec<String>,
                       only_for: Vec<String>,
                       except: Vec<String>| Verdict::Allowed {
            by,
            explicit,
            from,
            except,
            only_for,
            only_over: Vec::new(),
        };
        if let Some(by) = certain_block {
            return Verdict::Blocked { by, explicit: true };
        }
        if let Some(why) = may_block {
            // A block rule we cannot resolve would win over any allowance.
            return Verdict::CannotTell { reason: why };
        }
        if let Some((by, named)) = certain_allow {
            return allowed(by, named, Vec::new(), Vec::new(), except);
        }
        if default_allow {
            return allowed(
                format!("default inbound action allow ({profile} profile)"),
                false,
                Vec::new(),
                Vec::new(),
                except,
            );
        }
        if let Some((by, named)) = partial_allow {
            return allowed(by, named, from, only_for, except);
        }
        if let Some(why) = may_allow {
            return Verdict::CannotTell { reason: why };
        }
        Verdict::Blocked {
            by: format!("default inbound action block ({profile} profile)"),
            explicit: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Owner;
    use serde_json::json;

    /// Constructed in the shape [`SCRIPT`] writes (enum values as names).
    const DC: &str = include_str!("../../tests/fixtures/firewall/windows-dc.json");

    fn state(text: &str) -> State {
        State::from_value(serde_json::from_str(text).unwrap()).unwrap()
    }

    fn owned(port: u16, name: &str, path: &str, services: &[&str]) -> LocalListener {
        LocalListener {
            transport: Transport::Tcp,
            address: format!("0.0.0.0:{port}").parse().unwrap(),
            owner: Some(Owner {
                pid: 4,
                name: name.into(),
                path: path.into(),
                services: services.iter().map(|s| (*s).to_owned()).collect(),
            }),
        }
    }

    const LSASS: &str = "C:\\Windows\\System32\\lsass.exe";
    const SVCHOST: &str = "C:\\Windows\\system32\\svchost.exe";

    #[test]
    fn recorded_shape_domain_profile() {
        let s = state(DC);
        let tcp = |port, l: Option<&LocalListener>| s.evaluate(Transport::Tcp, port, l).to_string();
        // Program rule, and the listener is that program.
        assert_eq!(
            tcp(389, Some(&owned(389, "lsass.exe", LSASS, &[]))),
            "allowed"
        );
        // Nothing listens: the rule is for lsass only.
        assert_eq!(
            tcp(389, None),
            "allowed (for %systemroot%\\System32\\lsass.exe only)"
        );
        // Another program on the port: the rule does not apply, default action blocks.
        assert_eq!(
            tcp(389, Some(&owned(389, "evil.exe", "C:\\evil.exe", &[]))),
            "blocked (default inbound action block (Domain profile))"
        );
        // Kernel listener, an allow rule and a narrower block rule.
        assert_eq!(
            tcp(445, Some(&owned(445, "System", "", &[]))),
            "allowed (except from 10.99.0.0/255.255.0.0)"
        );
        // An owner known by its process id only (not elevated): the "System" rule is
        // stated as a condition, not taken as a certain "blocked".
        assert_eq!(
            tcp(445, Some(&owned(445, "", "", &[]))),
            "allowed (except from 10.99.0.0/255.255.0.0; for System only)"
        );
        // The same for 135: the SCM named the service in that process, but the rule also
        // names svchost.exe, whose path is unknown here, so it stays a condition.
        assert_eq!(
            tcp(135, Some(&owned(135, "", "", &["RpcSs"]))),
            "allowed (for %systemroot%\\system32\\svchost.exe service rpcss only)"
        );
        // Block wins over allow, whatever their order.
        assert_eq!(tcp(23, None), "blocked (rule \"Block Telnet\")");
        // RPCEPMap is 135/tcp; a service rule matches the hosted service.
        assert_eq!(
            tcp(135, Some(&owned(135, "svchost.exe", SVCHOST, &["RpcSs"]))),
            "allowed"
        );
        assert_eq!(
            tcp(
                3389,
                Some(&owned(3389, "svchost.exe", SVCHOST, &["TermService"]))
            ),
            "allowed (from 10.0.0.0/255.0.0.0)"
        );
        // The RPC keyword: Windows' default dynamic range.
        assert_eq!(
            tcp(49152, Some(&owned(49152, "lsass.exe", LSASS, &[]))),
            "allowed"
        );
        assert!(tcp(49152, None).contains("lsass.exe only"));
        assert_eq!(
            tcp(8080, None),
            "blocked (default inbound action block (Domain profile))"
        );
        // A Private-only rule does not apply in the Domain profile.
        assert!(tcp(10005, None).starts_with("blocked"));
        assert_eq!(
            s.evaluate(Transport::Udp, 53, None).to_string(),
            "allowed (for %systemroot%\\System32\\dns.exe service dns only)"
        );
        let v = s.evaluate(
            Transport::Tcp,
            389,
            Some(&owned(389, "lsass.exe", LSASS, &[])),
        );
        assert!(
            matches!(&v, Verdict::Allowed { by, explicit: true, .. } if by.contains("LDAP (TCP-In)")),
            "{v:?}"
        );
    }

    #[test]
    fn several_active_profiles_and_a_profile_with_the_firewall_off() {
        let mut v: Value = serde_json::from_str(DC).unwrap();
        v["active_profile"] = json!("Domain, Public");
        let s = State::from_value(v).unwrap();
        assert_eq!(
            s.evaluate(Transport::Tcp, 8080, None).to_string(),
            "allowed (Public profile only)"
        );
        assert_eq!(
            s.evaluate(Transport::Tcp, 23, None).to_string(),
            "allowed (Public profile only)"
        );
        let mut v: Value = serde_json::from_str(DC).unwrap();
        v["active_profile"] = json!("Private");
        let s = State::from_value(v).unwrap();
        assert_eq!(
            s.evaluate(Transport::Tcp, 10005, None).to_string(),
            "allowed"
        );
    }

    #[test]
    fn numeric_enums_pascal_case_and_single_objects() {
        // As `ConvertTo-Json` writes the raw objects: numbers for enums, one rule as an object.
        let s = state(
            r#"{"ActiveProfile": 1,
                "Profiles": [{"Name": "Domain", "Enabled": 1, "DefaultInboundAction": 0}],
                "Rules": {"Name": "r1", "DisplayName": "Web", "Action": 2, "Enabled": 1, "Profile": 0,
                          "Protocol": "6", "LocalPort": "80", "RemoteAddress": "Any", "Program": "Any", "Service": "Any"}}"#,
        );
        assert_eq!(s.evaluate(Transport::Tcp, 80, None).to_string(), "allowed");
        assert!(
            s.evaluate(Transport::Udp, 80, None)
                .to_string()
                .starts_with("blocked")
        );
        let s = state(
            r#"{"active_profile": 2, "profiles": [{"name": 2, "enabled": 2, "default_inbound_action": 4}], "rules": []}"#,
        );
        assert_eq!(s.evaluate(Transport::Tcp, 80, None).to_string(), "allowed");
        let s = state(
            r#"{"active_profile": 4, "profiles": [{"name": "Public", "enabled": true, "default_inbound_action": 2}],
                "rules": [{"name": "b", "action": 4, "profile": 4, "protocol": "TCP", "local_port": ["70-90"]}]}"#,
        );
        assert_eq!(
            s.evaluate(Transport::Tcp, 80, None).to_string(),
            "blocked (rule \"b\")"
        );
        assert!(
            s.evaluate(Transport::Tcp, 91, None)
                .to_string()
                .starts_with("allowed")
        );
        // A keyword we cannot resolve, where it could decide: cannot tell.
        let s = state(
            r#"{"active_profile": "Public", "profiles": [{"name": "Public", "enabled": "True", "default_inbound_action": "Block"}],
                "rules": [{"name": "t", "display_name": "Teredo", "action": "Allow", "protocol": "UDP", "local_port": "Teredo"}]}"#,
        );
        assert_eq!(
            s.evaluate(Transport::Udp, 3544, None).to_string(),
            "cannot tell (rule \"Teredo\": local port Teredo)"
        );
        assert!(
            s.evaluate(Transport::Tcp, 3544, None)
                .to_string()
                .starts_with("blocked")
        );
        // A rule for every port of a program is not a hole for one port.
        let s = state(
            r#"{"active_profile": "Domain", "profiles": [{"name": "Domain", "enabled": "True", "default_inbound_action": "Block"}],
                "rules": [{"name": "app", "action": "Allow", "protocol": "TCP", "local_port": "Any", "program": "C:\\app.exe"}]}"#,
        );
        let v = s.evaluate(Transport::Tcp, 8443, None);
        assert!(
            matches!(
                &v,
                Verdict::Allowed {
                    explicit: false,
                    ..
                }
            ),
            "{v:?}"
        );
        assert_eq!(v.to_string(), "allowed (for C:\\app.exe only)");
        // Disabled rules do not count.
        let s = state(
            r#"{"active_profile": "Domain", "profiles": [{"name": "Domain", "enabled": "True", "default_inbound_action": "Block"}],
                "rules": [{"name": "b", "action": "Allow", "enabled": "False", "protocol": "TCP", "local_port": ["80"]}]}"#,
        );
        assert!(
            s.evaluate(Transport::Tcp, 80, None)
                .to_string()
                .starts_with("blocked")
        );
    }

    #[test]
    fn the_script_is_sent_encoded() {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded_script())
            .unwrap();
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(String::from_utf16(&units).unwrap(), SCRIPT);
        for cmdlet in [
            "Get-NetFirewallRule -Direction Inbound -Enabled True -PolicyStore ActiveStore",
            "Get-NetFirewallPortFilter",
            "Get-NetFirewallAddressFilter",
            "Get-NetFirewallApplicationFilter",
            "Get-NetFirewallServiceFilter",
            "Get-NetFirewallProfile",
            "ConvertTo-Json",
        ] {
            assert!(SCRIPT.contains(cmdlet), "{cmdlet}");
        }
    }

    #[test]
    fn malformed_exports_are_errors() {
        for bad in [
            json!({"rules": 3}),
            json!({"rules": [{"name": "no action"}]}),
            json!({"profiles": [{"enabled": true}]}),
        ] {
            assert!(State::from_value(bad.clone()).is_err(), "{bad}");
        }
    }
}
