//! PowerShell (`New-NetFirewallRule`) and `netsh advfirewall` output.

use super::{Context, comment_text};
use crate::plan::{PortSet, Rule};
use portq_catalog::{PortRange, Transport};

fn port_list(ports: &[PortRange]) -> String {
    ports
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn remote_list(rule: &Rule) -> Option<String> {
    (!rule.remote.is_empty()).then(|| {
        rule.remote
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Sources for an ICMP rule of one IP version: `None` when the rule's sources are all of
/// the other version (no rule is needed), `Some(None)` for any source.
fn icmp_remote(rule: &Rule, v6: bool) -> Option<Option<String>> {
    super::family(&rule.remote, v6).map(|l| {
        (!l.is_empty()).then(|| {
            l.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
    })
}

fn ps_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn header(ctx: &Context, comment: &str) -> String {
    format!(
        "{comment} portq firewall rules for: {}\n{comment} Inbound allow rules; names start with portq- so they can be found and removed together.\n",
        ctx.roles.join(", ")
    )
}

/// PowerShell: one `New-NetFirewallRule` per rule, after removing earlier portq rules.
pub fn powershell(rules: &[Rule], ctx: &Context) -> String {
    let mut out = header(ctx, "#");
    out.push_str("Get-NetFirewallRule -Group 'portq' -ErrorAction SilentlyContinue | Remove-NetFirewallRule\n");
    for r in rules {
        let mut cmd = format!(
            "New-NetFirewallRule -Name {} -DisplayName {} -Group 'portq' -Direction Inbound -Action Allow -Profile Any",
            ps_quote(&r.name),
            ps_quote(&r.display_name)
        );
        if r.windows == PortSet::IcmpEcho {
            out.push_str(&ps_icmp(r));
            continue;
        }
        match (&r.windows, r.transport) {
            (PortSet::IcmpEcho, _) => {}
            (PortSet::IpProtocol, t) => cmd.push_str(&format!(" -Protocol {}", t.ip_protocol())),
            (PortSet::Rpc, t) => cmd.push_str(&format!(" -Protocol {t} -LocalPort RPC")),
            (PortSet::RpcEpMap, t) => cmd.push_str(&format!(" -Protocol {t} -LocalPort RPCEPMap")),
            (PortSet::Ports(p), t) => {
                cmd.push_str(&format!(" -Protocol {t} -LocalPort {}", port_list(p)))
            }
        }
        if let Some(remote) = remote_list(r) {
            cmd.push_str(&format!(" -RemoteAddress {remote}"));
        }
        if let Some(p) = r.program {
            cmd.push_str(&format!(" -Program {}", ps_quote(p)));
        }
        if let Some(s) = r.windows_service {
            cmd.push_str(&format!(" -Service {}", ps_quote(s)));
        }
        cmd.push_str(&format!(
            " -Description {}",
            ps_quote(&comment_text(&with_source(
                format!("portq: {} for {}", r.service, r.roles.join(", ")),
                r
            )))
        ));
        out.push_str(&cmd);
        out.push('\n');
    }
    out
}

/// Appends the documents the rule's facts come from, when the catalogue cites any.
fn with_source(text: String, r: &Rule) -> String {
    match portq_catalog::sources_of(r.service_id, r.transport, &r.ports) {
        s if s.is_empty() => text,
        s => format!("{text}; source: {s}"),
    }
}

/// ICMP echo needs one Windows rule per IP version.
fn ps_icmp(r: &Rule) -> String {
    let mut out = String::new();
    for (v6, proto, ty, suffix) in [(false, "ICMPv4", 8, ""), (true, "ICMPv6", 128, "-v6")] {
        let Some(remote) = icmp_remote(r, v6) else {
            continue;
        };
        out.push_str(&format!(
            "New-NetFirewallRule -Name {} -DisplayName {} -Group 'portq' -Direction Inbound -Action Allow -Profile Any -Protocol {proto} -IcmpType {ty}",
            ps_quote(&format!("{}{suffix}", r.name)),
            ps_quote(&format!("{} ({proto})", r.display_name))
        ));
        if let Some(remote) = remote {
            out.push_str(&format!(" -RemoteAddress {remote}"));
        }
        out.push('\n');
    }
    out
}

/// netsh: one `advfirewall firewall add rule` per rule, after deleting earlier ones of the same names.
pub fn netsh(rules: &[Rule], ctx: &Context) -> String {
    let mut out = header(ctx, "rem");
    for r in rules {
        out.push_str(&format!(
            "netsh advfirewall firewall delete rule name=\"{}\" >nul 2>&1\n",
            r.name
        ));
        if r.windows == PortSet::IcmpEcho {
            out.push_str(&format!(
                "netsh advfirewall firewall delete rule name=\"{}-v6\" >nul 2>&1\n",
                r.name
            ));
        }
    }
    for r in rules {
        let mut cmd = format!(
            "netsh advfirewall firewall add rule name=\"{}\" dir=in action=allow profile=any enable=yes",
            r.name
        );
        if r.windows == PortSet::IcmpEcho {
            out.push_str(&netsh_icmp(r));
            continue;
        }
        match (&r.windows, r.transport) {
            (PortSet::IcmpEcho, _) => {}
            (PortSet::IpProtocol, t) => cmd.push_str(&format!(" protocol={}", t.ip_protocol())),
            (PortSet::Rpc, t) => cmd.push_str(&format!(" protocol={} localport=RPC", proto(t))),
            (PortSet::RpcEpMap, t) => {
                cmd.push_str(&format!(" protocol={} localport=RPC-EPMap", proto(t)))
            }
            (PortSet::Ports(p), t) => cmd.push_str(&format!(
                " protocol={} localport={}",
                proto(t),
                port_list(p)
            )),
        }
        if let Some(remote) = remote_list(r) {
            cmd.push_str(&format!(" remoteip={remote}"));
        }
        if let Some(p) = r.program {
            cmd.push_str(&format!(" program=\"{p}\""));
        }
        if let Some(s) = r.windows_service {
            cmd.push_str(&format!(" service={s}"));
        }
        cmd.push_str(&format!(
            " description=\"{}\"",
            comment_text(&r.display_name)
        ));
        out.push_str(&cmd);
        out.push('\n');
    }
    out
}

fn netsh_icmp(r: &Rule) -> String {
    let mut out = String::new();
    for (v6, proto, suffix) in [(false, "icmpv4:8,any", ""), (true, "icmpv6:128,any", "-v6")] {
        let Some(remote) = icmp_remote(r, v6) else {
            continue;
        };
        out.push_str(&format!(
            "netsh advfirewall firewall add rule name=\"{}{suffix}\" dir=in action=allow profile=any enable=yes protocol={proto}",
            r.name
        ));
        if let Some(remote) = remote {
            out.push_str(&format!(" remoteip={remote}"));
        }
        out.push('\n');
    }
    out
}

fn proto(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "TCP",
        Transport::Udp => "UDP",
        _ => "any",
    }
}
