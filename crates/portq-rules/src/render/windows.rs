//! PowerShell (`New-NetFirewallRule`) and `netsh advfirewall` output.

use super::{Context, Platform, Profile, applicable, comment_text};
use crate::plan::{PortSet, Rule};
use ipnet::IpNet;
use portq_catalog::{PortRange, Transport};

fn port_list(ports: &[PortRange]) -> String {
    ports
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Addresses as Windows takes them (comma-separated); `None` for an empty list (any).
fn net_list(nets: &[IpNet]) -> Option<String> {
    (!nets.is_empty()).then(|| {
        nets.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn remote_list(rule: &Rule) -> Option<String> {
    net_list(&rule.remote)
}

/// Sources for an ICMP rule of one IP version: `None` when the rule's sources are all of
/// the other version (no rule is needed), `Some(None)` for any source.
fn icmp_remote(rule: &Rule, v6: bool) -> Option<Option<String>> {
    super::family(&rule.remote, v6).map(|l| net_list(&l))
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

/// The profiles, as `-Profile` and `profile=` take them.
fn profiles(ctx: &Context, sep: &str) -> String {
    if ctx.profiles.is_empty() || ctx.profiles.contains(&Profile::Any) {
        return "Any".to_owned();
    }
    let names: Vec<&str> = ctx.profiles.iter().map(|p| p.as_str()).collect();
    names.join(sep)
}

/// The profiles whose logging settings change: the named ones, or all three.
fn logged_profiles(ctx: &Context) -> Vec<Profile> {
    if ctx.profiles.is_empty() || ctx.profiles.contains(&Profile::Any) {
        vec![Profile::Domain, Profile::Private, Profile::Public]
    } else {
        ctx.profiles.clone()
    }
}

fn local_list(rule: &Rule) -> Option<String> {
    net_list(&rule.destinations)
}

/// The (transport, port) pairs the rules open on Windows.
fn opened_ports(rules: &[&Rule]) -> Vec<(Transport, u16)> {
    let mut out = Vec::new();
    for r in rules {
        if let PortSet::Ports(p) = &r.windows {
            for range in p {
                // Built-in groups open single ports; a range is matched by its ports.
                for port in range.start..=range.end.min(range.start.saturating_add(1024)) {
                    out.push((r.transport, port));
                }
            }
        }
    }
    out
}

/// What to do about Windows' built-in rule groups that open the same ports to every
/// address: with a policy store, disable them in that GPO (and with `exclusive`, stop
/// local rules from merging in); otherwise the commands, commented, with the reason.
fn builtin_groups_ps(rules: &[&Rule], ctx: &Context, gpo: &str) -> String {
    let groups = crate::windows::overlapping_groups(&opened_ports(rules));
    let mut out = String::new();
    if groups.is_empty() && !ctx.exclusive {
        return out;
    }
    out.push_str("# Windows' built-in rule groups below open the same ports to ANY address; while they are\n# enabled the portq rules above restrict nothing (an allow in any rule wins).\n");
    for g in &groups {
        if gpo.is_empty() {
            out.push_str(&format!(
                "#   Disable-NetFirewallRule -DisplayGroup {}\n",
                ps_quote(g)
            ));
        } else {
            out.push_str(&format!(
                "Get-NetFirewallRule{gpo} -DisplayGroup {} -ErrorAction SilentlyContinue | Set-NetFirewallRule{gpo} -Enabled False\n",
                ps_quote(g)
            ));
        }
    }
    if gpo.is_empty() {
        out.push_str("# Not run by this script: disabling them also closes ports other software may rely on.\n# Uncomment after checking, or write the rules into a GPO with --policy-store.\n");
    } else if ctx.exclusive {
        out.push_str(&format!(
            "# --exclusive: rules made locally on the servers (the built-in groups too) no longer apply,\n# only this GPO's. WARNING: every local allow rule stops working, remote management included\n# unless this GPO opens it.\nSet-NetFirewallProfile{gpo} -Profile {} -AllowLocalFirewallRules False\n",
            logged_profiles(ctx)
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ));
    } else {
        out.push_str("# Local rules still merge with this GPO's (AllowLocalFirewallRules): the built-in groups enabled\n# on the servers themselves keep these ports open to any address. --exclusive stops that.\n");
    }
    out
}

const LOG_FILE: &str = "%SystemRoot%\\System32\\LogFiles\\Firewall\\pfirewall.log";

/// PowerShell: one `New-NetFirewallRule` per rule, after removing earlier portq rules;
/// with a policy store, all of it inside one GPO session saved at the end.
pub fn powershell(rules: &[Rule], ctx: &Context) -> String {
    let mut out = header(ctx, "#");
    let gpo = match &ctx.policy_store {
        Some(store) => {
            out.push_str(&format!(
                "# Writes into the Group Policy object {store} (GroupPolicy module: RSAT or a DC). Servers apply it\n# at their next policy refresh (gpupdate /force).\n$gpo = Open-NetGPO -PolicyStore {}\n",
                ps_quote(store),
                store = ps_quote(store),
            ));
            " -GPOSession $gpo"
        }
        None => "",
    };
    out.push_str(&format!("Get-NetFirewallRule{gpo} -Group 'portq' -ErrorAction SilentlyContinue | Remove-NetFirewallRule\n"));
    let profile = profiles(ctx, ",");
    for r in applicable(rules, Platform::Windows) {
        let start = |name: &str, display: &str| {
            format!(
                "New-NetFirewallRule{gpo} -Name {} -DisplayName {} -Group 'portq' -Direction Inbound -Action Allow -Profile {profile}",
                ps_quote(name),
                ps_quote(display)
            )
        };
        if r.windows == PortSet::IcmpEcho {
            for (v6, proto, ty, suffix) in [(false, "ICMPv4", 8, ""), (true, "ICMPv6", 128, "-v6")]
            {
                let Some(remote) = icmp_remote(r, v6) else {
                    continue;
                };
                out.push_str(&start(
                    &format!("{}{suffix}", r.name),
                    &format!("{} ({proto})", r.display_name),
                ));
                out.push_str(&format!(" -Protocol {proto} -IcmpType {ty}"));
                if let Some(remote) = remote {
                    out.push_str(&format!(" -RemoteAddress {remote}"));
                }
                if let Some(local) = local_list(r) {
                    out.push_str(&format!(" -LocalAddress {local}"));
                }
                out.push('\n');
            }
            continue;
        }
        let mut cmd = start(&r.name, &r.display_name);
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
        if let Some(local) = local_list(r) {
            cmd.push_str(&format!(" -LocalAddress {local}"));
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
                format!(
                    "portq: {} for {}",
                    r.services.join(", "),
                    r.roles.join(", ")
                ),
                r
            )))
        ));
        out.push_str(&cmd);
        out.push('\n');
    }
    if ctx.log_blocked {
        let names: Vec<&str> = logged_profiles(ctx).iter().map(|p| p.as_str()).collect();
        out.push_str(&format!(
            "# Log dropped packets, to see what the rules miss.\nSet-NetFirewallProfile{gpo} -Profile {} -LogBlocked True -LogMaxSizeKilobytes 16384 -LogFileName {}\n",
            names.join(","),
            ps_quote(LOG_FILE)
        ));
    }
    let list = applicable(rules, Platform::Windows);
    out.push_str(&builtin_groups_ps(&list, ctx, gpo));
    if !gpo.is_empty() {
        out.push_str("Save-NetGPO -GPOSession $gpo\n");
    }
    out
}

/// netsh: one `advfirewall firewall add rule` per rule, after deleting earlier ones of the same names.
pub fn netsh(rules: &[Rule], ctx: &Context) -> String {
    let mut out = header(ctx, "rem");
    let rules = applicable(rules, Platform::Windows);
    for r in &rules {
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
    let profile = profiles(ctx, ",").to_lowercase();
    for r in &rules {
        let localip = local_list(r)
            .map(|l| format!(" localip={l}"))
            .unwrap_or_default();
        if r.windows == PortSet::IcmpEcho {
            for (v6, proto, suffix) in
                [(false, "icmpv4:8,any", ""), (true, "icmpv6:128,any", "-v6")]
            {
                let Some(remote) = icmp_remote(r, v6) else {
                    continue;
                };
                out.push_str(&format!(
                    "netsh advfirewall firewall add rule name=\"{}{suffix}\" dir=in action=allow profile={profile} enable=yes protocol={proto}",
                    r.name
                ));
                if let Some(remote) = remote {
                    out.push_str(&format!(" remoteip={remote}"));
                }
                out.push_str(&localip);
                out.push('\n');
            }
            continue;
        }
        let mut cmd = format!(
            "netsh advfirewall firewall add rule name=\"{}\" dir=in action=allow profile={profile} enable=yes",
            r.name
        );
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
        cmd.push_str(&localip);
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
    let groups = crate::windows::overlapping_groups(&opened_ports(&rules));
    if !groups.is_empty() {
        out.push_str("rem Windows' built-in rule groups below open the same ports to ANY address; while they are\nrem enabled the rules above restrict nothing. Not run here (other software may rely on them):\n");
        for g in groups {
            out.push_str(&format!(
                "rem   netsh advfirewall firewall set rule group=\"{g}\" new enable=no\n"
            ));
        }
    }
    if ctx.log_blocked {
        out.push_str("rem Log dropped packets, to see what the rules miss.\n");
        for p in logged_profiles(ctx) {
            let p = p.as_str().to_lowercase();
            out.push_str(&format!(
                "netsh advfirewall set {p}profile logging droppedconnections enable\nnetsh advfirewall set {p}profile logging maxfilesize 16384\nnetsh advfirewall set {p}profile logging filename \"{LOG_FILE}\"\n"
            ));
        }
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

/// Appends the documents the rule's facts come from, when the catalogue cites any.
fn with_source(text: String, r: &Rule) -> String {
    match portq_catalog::sources_of(r.service_id, r.transport, &r.ports) {
        s if s.is_empty() => text,
        s => format!("{text}; source: {s}"),
    }
}
