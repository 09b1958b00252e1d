//! Writing rules for each firewall.

mod cloud;
mod firewalld;
mod iptables;
mod nftables;
mod table;
mod windows;

use crate::RulesError;
use crate::addr::only_v4;
use crate::plan::{Admin, Rule};
use ipnet::IpNet;

/// The firewalls and formats rules can be written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum RuleFormat {
    /// PowerShell New-NetFirewallRule commands (with --policy-store: into a GPO).
    Powershell,
    /// netsh advfirewall commands.
    Netsh,
    /// A complete nftables table (input chain; with --to: forward chain).
    Nftables,
    /// iptables-restore input, IPv4 (INPUT; with --to: FORWARD).
    Iptables,
    /// ip6tables-restore input, IPv6 (INPUT; with --to: FORWARD).
    Ip6tables,
    /// A firewalld service XML.
    Firewalld,
    /// AWS security group IpPermissions (aws ec2 authorize-security-group-ingress --cli-input-json).
    Aws,
    /// Azure network security group with its securityRules (ARM template).
    Azure,
    /// Terraform aws_vpc_security_group_ingress_rule resources.
    TerraformAws,
    /// Terraform azurerm_network_security_rule resources.
    TerraformAzure,
    /// One JSON object per rule.
    Json,
    /// One CSV row per rule.
    Csv,
}

impl RuleFormat {
    /// Every format, in the order menus offer them.
    pub const ALL: [RuleFormat; 12] = [
        RuleFormat::Powershell,
        RuleFormat::Netsh,
        RuleFormat::Nftables,
        RuleFormat::Iptables,
        RuleFormat::Ip6tables,
        RuleFormat::Firewalld,
        RuleFormat::Aws,
        RuleFormat::Azure,
        RuleFormat::TerraformAws,
        RuleFormat::TerraformAzure,
        RuleFormat::Json,
        RuleFormat::Csv,
    ];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        self.info().0
    }

    /// A label for menus.
    pub fn label(self) -> &'static str {
        self.info().1
    }

    /// The file name a download of this format gets.
    pub fn file_name(self) -> &'static str {
        self.info().2
    }

    /// The MIME type of the output.
    pub fn mime(self) -> &'static str {
        self.info().3
    }

    /// Whether the format writes Windows Firewall rules.
    pub fn is_windows(self) -> bool {
        matches!(self, RuleFormat::Powershell | RuleFormat::Netsh)
    }

    /// A format by its `--format` name (case-insensitive).
    pub fn from_name(name: &str) -> Option<RuleFormat> {
        let name = name.trim();
        RuleFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    fn info(self) -> (&'static str, &'static str, &'static str, &'static str) {
        const TEXT: &str = "text/plain; charset=utf-8";
        const JSON: &str = "application/json";
        match self {
            RuleFormat::Powershell => ("powershell", "PowerShell", "portq-rules.ps1", TEXT),
            RuleFormat::Netsh => ("netsh", "netsh", "portq-rules.cmd", TEXT),
            RuleFormat::Nftables => ("nftables", "nftables", "portq.nft", TEXT),
            RuleFormat::Iptables => ("iptables", "iptables (IPv4)", "portq-iptables.rules", TEXT),
            RuleFormat::Ip6tables => (
                "ip6tables",
                "ip6tables (IPv6)",
                "portq-ip6tables.rules",
                TEXT,
            ),
            RuleFormat::Firewalld => (
                "firewalld",
                "firewalld",
                "portq.xml",
                "application/xml; charset=utf-8",
            ),
            RuleFormat::Aws => ("aws", "AWS security group", "portq-aws-sg.json", JSON),
            RuleFormat::Azure => ("azure", "Azure NSG (ARM)", "portq-azure-nsg.json", JSON),
            RuleFormat::TerraformAws => ("terraform-aws", "Terraform (AWS)", "portq-aws.tf", TEXT),
            RuleFormat::TerraformAzure => (
                "terraform-azure",
                "Terraform (Azure)",
                "portq-azure.tf",
                TEXT,
            ),
            RuleFormat::Json => ("json", "JSON", "portq-rules.json", JSON),
            RuleFormat::Csv => ("csv", "CSV", "portq-rules.csv", "text/csv; charset=utf-8"),
        }
    }
}

/// Windows Firewall profiles a rule applies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Profile {
    /// The domain network profile.
    Domain,
    /// The private network profile.
    Private,
    /// The public network profile.
    Public,
    /// Every profile.
    Any,
}

impl Profile {
    /// The name PowerShell and netsh use.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Domain => "Domain",
            Profile::Private => "Private",
            Profile::Public => "Public",
            Profile::Any => "Any",
        }
    }
}

/// What a rendered rule set is for, and the settings that are not rules.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Role ids, with options, as the user gave them.
    pub roles: Vec<String>,
    /// Drop what the rules do not allow (nftables/iptables input policy, or traffic to
    /// the servers in network mode).
    pub default_drop: bool,
    /// The user said that the rules need not keep management access open.
    pub no_management_access: bool,
    /// Windows Firewall profiles (empty: any).
    pub profiles: Vec<Profile>,
    /// A Group Policy object to write into (`DOMAIN\GPO-NAME`), PowerShell only.
    pub policy_store: Option<String>,
    /// Windows: log dropped packets (`Set-NetFirewallProfile -LogBlocked True`).
    pub log_blocked: bool,
    /// PowerShell with a policy store: only the GPO's rules apply
    /// (`AllowLocalFirewallRules False`).
    pub exclusive: bool,
    /// Azure: keep the load balancer's health probes (`AzureLoadBalancer`) above portq's deny.
    pub azure_load_balancer: bool,
}

/// Where rules end up, which decides the management access rules that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    /// A Linux host's own firewall.
    Linux,
    /// Windows Firewall on the servers.
    Windows,
    /// A firewall or security group in front of Windows servers.
    Network,
}

/// The rules that belong on a platform: management access rules only where they fit.
pub(crate) fn applicable(rules: &[Rule], platform: Platform) -> Vec<&Rule> {
    rules
        .iter()
        .filter(|r| match r.management_access {
            None => true,
            Some(Admin::Ssh) => platform == Platform::Linux,
            Some(Admin::Windows) => platform != Platform::Linux,
        })
        .collect()
}

/// Whether the rules are for a firewall in the path (`--to`).
pub(crate) fn network(rules: &[Rule]) -> bool {
    rules.iter().any(|r| !r.destinations.is_empty())
}

/// Renders rules in a format, after refusing what would lock out the administrator or
/// allow nothing.
pub fn render(rules: &[Rule], format: RuleFormat, ctx: &Context) -> Result<String, RulesError> {
    check(rules, format, ctx)?;
    Ok(match format {
        RuleFormat::Powershell => windows::powershell(rules, ctx),
        RuleFormat::Netsh => windows::netsh(rules, ctx),
        RuleFormat::Nftables => nftables::render(rules, ctx),
        RuleFormat::Iptables => iptables::render(rules, ctx, false),
        RuleFormat::Ip6tables => iptables::render(rules, ctx, true),
        RuleFormat::Firewalld => firewalld::render(rules, ctx),
        RuleFormat::Aws => cloud::aws(rules),
        RuleFormat::Azure => cloud::azure(rules, ctx)?,
        RuleFormat::TerraformAws => cloud::terraform_aws(rules, ctx),
        RuleFormat::TerraformAzure => cloud::terraform_azure(rules, ctx)?,
        RuleFormat::Json => table::json(rules),
        RuleFormat::Csv => table::csv(rules),
    })
}

/// What a user must know about a format that the output itself cannot say (AWS's JSON
/// takes no comments): one line each, for stderr.
pub fn notes(format: RuleFormat) -> Vec<&'static str> {
    match format {
        RuleFormat::Aws | RuleFormat::TerraformAws => vec![
            "security groups only allow: these permissions add to the group's rules, and every rule the group already has stays in force: review them (`aws ec2 describe-security-groups --group-ids ID`) and revoke what the roles do not need",
        ],
        _ => Vec::new(),
    }
}

fn check(rules: &[Rule], format: RuleFormat, ctx: &Context) -> Result<(), RulesError> {
    let network = network(rules);
    if format == RuleFormat::Firewalld && network {
        return Err(RulesError::NotForFormat {
            format: "firewalld",
            what: "write rules for a firewall in the path (--to)",
            fix: "use --format nftables or iptables on that firewall",
        });
    }
    if ctx.exclusive && (format != RuleFormat::Powershell || ctx.policy_store.is_none()) {
        return Err(RulesError::NotForFormat {
            format: format.name(),
            what: "make a GPO's rules the only ones (--exclusive)",
            fix: "use --format powershell with --policy-store DOMAIN\\GPO",
        });
    }
    if format == RuleFormat::Netsh && ctx.policy_store.is_some() {
        return Err(RulesError::NotForFormat {
            format: "netsh",
            what: "write into a Group Policy object (--policy-store)",
            fix: "use --format powershell",
        });
    }
    let linux = matches!(
        format,
        RuleFormat::Nftables | RuleFormat::Iptables | RuleFormat::Ip6tables
    );
    if linux
        && !network
        && ctx.default_drop
        && !ctx.no_management_access
        && !rules.iter().any(|r| {
            // SSH stays reachable: a management rule for it, or a role's own rule that
            // opens 22/tcp (the openssh-server role with --management merges into it).
            r.management_access == Some(Admin::Ssh)
                || (r.transport == portq_catalog::Transport::Tcp
                    && r.management_access.is_none()
                    && r.ports.iter().any(|p| p.contains(22)))
        })
    {
        return Err(RulesError::LockoutRisk {
            format: format.name(),
        });
    }
    // One IP version only: refuse when every source (or destination) is of the other.
    let v6 = match format {
        RuleFormat::Iptables => false,
        RuleFormat::Ip6tables => true,
        _ => return Ok(()),
    };
    let (family, other, fix) = if v6 {
        (
            "IPv6",
            "IPv4",
            "use --format iptables for IPv4 (or nftables for both), or add IPv6 sources",
        )
    } else {
        (
            "IPv4",
            "IPv6",
            "use --format ip6tables for IPv6 (or nftables for both), or add IPv4 sources",
        )
    };
    let wrong = |nets: &[IpNet]| only_v4(nets) == Some(v6);
    let sources: Vec<IpNet> = rules.iter().flat_map(|r| r.remote.clone()).collect();
    if rules.iter().all(|r| !r.remote.is_empty()) && wrong(&sources) {
        return Err(RulesError::WrongFamily {
            format: format.name(),
            family,
            other,
            what: "source (--from, --peers, --management)",
            fix,
        });
    }
    if let Some(r) = rules.first()
        && wrong(&r.destinations)
    {
        return Err(RulesError::WrongFamily {
            format: format.name(),
            family,
            other,
            what: "destination (--to)",
            fix,
        });
    }
    Ok(())
}

/// Sources of one address family: `Some(list)` to match, `None` when the rule does not
/// apply to that family (it is scoped to the other one only). An empty list means any.
pub(crate) fn family(remote: &[IpNet], v6: bool) -> Option<Vec<IpNet>> {
    if remote.is_empty() {
        return Some(Vec::new());
    }
    let list: Vec<IpNet> = remote
        .iter()
        .copied()
        .filter(|n| matches!(n, IpNet::V6(_)) == v6)
        .collect();
    (!list.is_empty()).then_some(list)
}

/// A one-line comment text safe inside quotes of any of the formats.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '"' || c == '\'' || c == '\\' || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].trim_end().to_owned()
}

/// `NAME: service, service` for rule comments, at most `max` bytes.
fn serves(name: &str, services: &[&str], max: usize) -> String {
    clip(
        &comment_text(&format!("{name}: {}", services.join(", "))),
        max,
    )
}

/// Lines that say how to check a Linux rule set before trusting it.
fn linux_safety(check: &str, apply: &str) -> String {
    format!(
        "# Check it first (loads nothing):  {check}\n# Load it with a timed rollback:   {apply}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{RuleOptions, plan};
    use portq_catalog::roles::{expand, parse_selection};

    fn rules(roles: &[&str]) -> Vec<Rule> {
        let sel: Vec<_> = roles.iter().map(|r| parse_selection(r).unwrap()).collect();
        plan(
            &expand(&sel),
            &RuleOptions {
                from: vec![
                    "10.0.0.0/8".parse().unwrap(),
                    "2001:db8::/32".parse().unwrap(),
                ],
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn ctx() -> Context {
        Context {
            roles: vec!["domain-controller".into()],
            default_drop: true,
            no_management_access: true,
            ..Default::default()
        }
    }

    fn text(r: &[Rule], f: RuleFormat) -> String {
        render(r, f, &ctx()).unwrap()
    }

    #[test]
    fn windows_formats_have_no_duplicate_rules() {
        let r = rules(&["dc", "dns", "managed-server"]);
        for f in [RuleFormat::Powershell, RuleFormat::Netsh] {
            let out = text(&r, f);
            let adds: Vec<&str> = out
                .lines()
                .filter(|l| {
                    l.starts_with("New-NetFirewallRule")
                        || l.starts_with("netsh advfirewall firewall add")
                })
                .filter(|l| !l.contains("-v6"))
                .collect();
            assert_eq!(adds.len(), r.len(), "{f:?}");
            let mut sorted = adds.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), adds.len(), "{f:?} repeats a rule");
        }
    }

    #[test]
    fn powershell_uses_rpc_keywords() {
        let out = text(&rules(&["dc"]), RuleFormat::Powershell);
        assert!(out.contains("-LocalPort RPCEPMap"));
        assert!(out.contains("-LocalPort RPC "));
        assert!(!out.contains("49152"));
        let netsh = text(&rules(&["dc"]), RuleFormat::Netsh);
        assert!(netsh.contains("localport=RPC-EPMap"));
        assert!(netsh.contains("localport=RPC "));
    }

    #[test]
    fn linux_formats_open_the_dynamic_range() {
        let out = text(&rules(&["dc"]), RuleFormat::Nftables);
        assert!(out.contains("49152-65535"));
        assert!(out.contains("table inet portq"));
        let ipt = text(&rules(&["dc"]), RuleFormat::Iptables);
        assert!(ipt.contains("49152:65535"));
        assert!(!ipt.contains("2001:db8"));
        let ip6 = text(&rules(&["dc"]), RuleFormat::Ip6tables);
        assert!(ip6.contains("2001:db8::/32"));
        assert!(!ip6.contains("10.0.0.0/8"));
    }

    #[test]
    fn csv_and_json_have_one_row_per_rule() {
        let r = rules(&["dc"]);
        let csv = text(&r, RuleFormat::Csv);
        assert_eq!(csv.lines().count(), r.len() + 1);
        let json: serde_json::Value = serde_json::from_str(&text(&r, RuleFormat::Json)).unwrap();
        assert_eq!(json.as_array().unwrap().len(), r.len());
    }

    #[test]
    fn refusals() {
        let r = rules(&["dc"]);
        let open = Context {
            no_management_access: false,
            ..ctx()
        };
        for f in [
            RuleFormat::Nftables,
            RuleFormat::Iptables,
            RuleFormat::Ip6tables,
        ] {
            assert!(matches!(
                render(&r, f, &open),
                Err(RulesError::LockoutRisk { .. })
            ));
        }
        // Windows and the clouds set no drop policy of their own making.
        assert!(render(&r, RuleFormat::Powershell, &open).is_ok());
        assert!(render(&r, RuleFormat::Aws, &open).is_ok());
        let v4 = plan(
            &expand(&[parse_selection("dc").unwrap()]),
            &RuleOptions {
                from: vec!["10.0.0.0/8".parse().unwrap()],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(matches!(
            render(&v4, RuleFormat::Ip6tables, &ctx()),
            Err(RulesError::WrongFamily { .. })
        ));
        let gpo = Context {
            policy_store: Some("example.test\\Servers".into()),
            ..ctx()
        };
        assert!(matches!(
            render(&r, RuleFormat::Netsh, &gpo),
            Err(RulesError::NotForFormat { .. })
        ));
    }

    #[test]
    fn formats_know_their_names_and_files() {
        for f in RuleFormat::ALL {
            assert_eq!(RuleFormat::from_name(f.name()), Some(f));
            assert!(f.file_name().starts_with("portq"));
        }
        assert_eq!(
            RuleFormat::from_name("TERRAFORM-AWS"),
            Some(RuleFormat::TerraformAws)
        );
        assert_eq!(RuleFormat::from_name("pf"), None);
    }

    #[test]
    fn azure_priorities_are_unique_and_ascending() {
        let text = text(&rules(&["dc", "dns", "managed-server"]), RuleFormat::Azure);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let prios: Vec<u64> = v["resources"][0]["properties"]["securityRules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["properties"]["priority"].as_u64().unwrap())
            .collect();
        assert!(prios.len() > 10);
        assert!(prios.windows(2).all(|w| w[0] < w[1]));
        assert!(prios.iter().all(|p| (100..=4096).contains(p)));
    }
}
