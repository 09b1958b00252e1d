//! `portq rules`: firewall rules for a set of roles.

use crate::exit::{Failure, Status};
use crate::out;
use portq_catalog::query::parse_range;
use portq_catalog::roles;
use portq_rules::addr::{parse_destinations, parse_from, parse_sources};
use portq_rules::render::render;
use portq_rules::{Context, Profile, RuleFormat, RuleOptions, RulesError, StaticPort, plan};

/// Arguments of `portq rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server roles (repeatable; `ROLE[:OPTION,no-OPTION]`, see `portq roles`).
    #[arg(long = "role", short = 'r', value_name = "ROLE", required = true)]
    pub roles: Vec<String>,
    /// Allowed client sources (repeatable; address, CIDR or range). Required: `any` opens
    /// the role's ports to every address.
    #[arg(long, value_name = "CIDR|any")]
    pub from: Vec<String>,
    /// Sources of other servers of the role (replication, failover); default: --from.
    #[arg(long, value_name = "CIDR")]
    pub peers: Vec<String>,
    /// Management hosts: the role's management traffic comes from them, and SSH (Linux
    /// formats) or RDP and WinRM (Windows, network and cloud formats) stay open to them.
    #[arg(long, value_name = "CIDR")]
    pub management: Vec<String>,
    /// Write a drop policy without management access rules (you keep access another way).
    #[arg(long)]
    pub no_management_access: bool,
    /// The servers, for a firewall in the path (network mode): address, CIDR or range
    /// such as 10.0.1.10-10.0.1.11 (repeatable). Windows formats: the servers' local addresses.
    #[arg(long, value_name = "ADDR|CIDR|RANGE")]
    pub to: Vec<String>,
    /// The RPC dynamic range the servers are configured with (see `portq rpc-config`).
    #[arg(long, value_name = "START-END")]
    pub rpc_range: Option<String>,
    /// A service pinned to a static RPC port: ntds=PORT, netlogon=PORT, frs=PORT, dfsr=PORT, wmi (repeatable).
    #[arg(long = "static-port", value_name = "SERVICE=PORT")]
    pub static_ports: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "powershell")]
    pub format: RuleFormat,
    /// nftables/iptables: accept what the rules do not match instead of dropping it.
    #[arg(long)]
    pub no_default_drop: bool,
    /// Windows: the firewall profiles the rules apply in (repeatable or comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PROFILE")]
    pub profile: Vec<Profile>,
    /// PowerShell: write the rules into a Group Policy object, DOMAIN\GPO-NAME.
    #[arg(long, value_name = "DOMAIN\\GPO")]
    pub policy_store: Option<String>,
    /// Windows: log dropped packets in the firewall log.
    #[arg(long)]
    pub log_blocked: bool,
    /// PowerShell with --policy-store: only the GPO's rules apply on the servers
    /// (AllowLocalFirewallRules False): local rules, built-in groups included, stop working.
    #[arg(long)]
    pub exclusive: bool,
    /// Azure: keep allowing the load balancer's health probes (AzureLoadBalancer) above
    /// portq's closing deny.
    #[arg(long)]
    pub azure_load_balancer: bool,
}

/// A policy store name: `DOMAIN\NAME`, printable, of a sane length.
fn policy_store(text: &str) -> Result<String, RulesError> {
    let t = text.trim();
    let ok = t.len() <= 256
        && t.split_once('\\')
            .is_some_and(|(d, n)| !d.trim().is_empty() && !n.trim().is_empty())
        && !t.chars().any(char::is_control);
    if ok {
        Ok(t.to_owned())
    } else {
        Err(RulesError::BadPolicyStore(text.to_owned()))
    }
}

/// Windows-only settings given for another format are a mistake worth saying.
fn windows_only(args: &Args) -> Result<(), RulesError> {
    if args.format.is_windows() {
        return Ok(());
    }
    let what = if args.policy_store.is_some() {
        "write into a Group Policy object (--policy-store)"
    } else if !args.profile.is_empty() {
        "set Windows Firewall profiles (--profile)"
    } else if args.log_blocked {
        "change Windows Firewall logging (--log-blocked)"
    } else {
        return Ok(());
    };
    Err(RulesError::NotForFormat {
        format: args.format.name(),
        what,
        fix: "use --format powershell (or netsh)",
    })
}

/// Runs `portq rules`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let selections: Vec<_> = crate::cmd::parse_roles(&args.roles)?;
    if let Some(why) = portq_catalog::roles::outbound_only(&selections) {
        return Err(Failure::usage(why));
    }
    windows_only(&args).map_err(Failure::usage)?;
    let rpc_range = match &args.rpc_range {
        Some(r) => {
            Some(parse_range(r).map_err(|_| Failure::usage(RulesError::BadRange(r.clone())))?)
        }
        None => None,
    };
    let optional = |list: &[String]| {
        (!list.is_empty())
            .then(|| parse_sources(list))
            .transpose()
            .map_err(Failure::usage)
    };
    let (from, any_source) = parse_from(&args.from).map_err(Failure::usage)?;
    let opts = RuleOptions {
        from,
        any_source,
        peers: optional(&args.peers)?,
        management: optional(&args.management)?,
        rpc_range,
        static_ports: args
            .static_ports
            .iter()
            .map(|s| StaticPort::parse(s))
            .collect::<Result<_, _>>()
            .map_err(Failure::usage)?,
        to: parse_destinations(&args.to).map_err(Failure::usage)?,
        no_management_access: args.no_management_access,
    };
    let rules = plan(&roles::expand(&selections), &opts).map_err(Failure::usage)?;
    let ctx = Context {
        roles: args.roles.clone(),
        default_drop: !args.no_default_drop,
        no_management_access: args.no_management_access,
        profiles: args.profile.clone(),
        policy_store: args
            .policy_store
            .as_deref()
            .map(policy_store)
            .transpose()
            .map_err(Failure::usage)?,
        log_blocked: args.log_blocked,
        exclusive: args.exclusive,
        azure_load_balancer: args.azure_load_balancer,
    };
    let text = render(&rules, args.format, &ctx).map_err(Failure::usage)?;
    for note in portq_rules::render::notes(args.format) {
        eprintln!("portq: {note}");
    }
    out::print(&text).map_err(Failure::runtime)?;
    Ok(Status::Ok)
}
