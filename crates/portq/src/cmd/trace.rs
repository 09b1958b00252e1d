//! `portq trace`: where is it dropped? A path trace to each port itself, all at once.

use crate::exit::{Failure, Status};
use crate::render::Format;
use portq_probe::pipeline::CheckBuilder;
use portq_probe::trace::{PortTrace, TraceOptions, TraceRequest, Verdict};
use portq_probe::{ProbeKind, Transport};
use std::time::Duration;

/// How a trace probes (shared by `portq trace` and `portq check --trace-filtered`).
#[derive(Debug, Clone, clap::Args)]
pub struct TraceArgs {
    /// First TTL probed.
    #[arg(long, value_name = "N", default_value = "1")]
    pub first_ttl: u8,
    /// Last TTL probed (1-64).
    #[arg(long, value_name = "N", default_value = "30")]
    pub max_ttl: u8,
    /// Probes per hop (1-10).
    #[arg(long = "trace-probes", value_name = "N", default_value = "3")]
    pub probes: u8,
    /// Seconds a round of probes waits for late answers (0.05-30).
    #[arg(long = "trace-wait", value_name = "SECONDS", default_value = "1")]
    pub wait: f64,
    /// Show addresses only: no PTR lookups of the routers.
    #[arg(long = "no-names")]
    pub no_names: bool,
}

impl TraceArgs {
    /// The library's options, checked.
    pub fn options(
        &self,
        rate: Option<u32>,
        source: Option<std::net::IpAddr>,
        community: &str,
    ) -> Result<TraceOptions, Failure> {
        if !(0.05..=30.0).contains(&self.wait) {
            return Err(Failure::usage("--trace-wait must be 0.05-30 seconds"));
        }
        let opts = TraceOptions {
            first_ttl: self.first_ttl,
            max_ttl: self.max_ttl,
            probes: self.probes,
            wait: Duration::from_secs_f64(self.wait),
            rate: rate.unwrap_or(TraceOptions::default().rate),
            source,
            community: community.to_owned(),
            names: !self.no_names,
        };
        opts.validate().map_err(Failure::usage)?;
        Ok(opts)
    }
}

/// Arguments of `portq trace`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Hosts: names or IPv4 addresses (CIDR blocks and ranges too, up to 1,024 ports ×
    /// hosts in all).
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,
    /// Ports: `445`, `tcp:389,445,udp:389`.
    #[arg(long, short = 'p', value_name = "SPEC")]
    pub ports: Option<String>,
    /// Trace what these roles need (repeatable).
    #[arg(long = "role", short = 'r', value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Trace what these catalogue services need (repeatable).
    #[arg(long = "service", short = 's', value_name = "NAME")]
    pub services: Vec<String>,
    /// Also trace this TCP port, known to answer (135 on a Windows server), to show a
    /// path that gets through beside the others.
    #[arg(long, value_name = "PORT")]
    pub reference: Option<u16>,
    /// Probes per second at most (default 2,000).
    #[arg(long, value_name = "N")]
    pub rate: Option<u32>,
    /// Send from this local address.
    #[arg(long, value_name = "IP")]
    pub source_address: Option<std::net::IpAddr>,
    /// SNMP community of a 161/udp probe.
    #[arg(long, default_value = "public")]
    pub community: String,
    #[command(flatten)]
    pub trace: TraceArgs,
    /// Output format: table, json or ndjson.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: Format,
}

/// Runs `portq trace`.
pub fn run(args: Args) -> Result<Status, Failure> {
    if !matches!(args.format, Format::Table | Format::Json | Format::Ndjson) {
        return Err(Failure::usage(
            "portq trace writes table, json or ndjson (--format)",
        ));
    }
    if args.ports.is_none() && args.roles.is_empty() && args.services.is_empty() {
        return Err(Failure::usage(
            "say which ports to trace: -p SPEC, --role ROLE or --service NAME",
        ));
    }
    if args.rate == Some(0) {
        return Err(Failure::usage("--rate must be at least 1"));
    }
    if args.reference == Some(0) {
        return Err(Failure::usage("--reference must be a port from 1 to 65535"));
    }
    let opts = args
        .trace
        .options(args.rate, args.source_address, &args.community)?;
    let rt = crate::net::runtime()?;
    rt.block_on(run_async(args, opts))
}

async fn run_async(args: Args, opts: TraceOptions) -> Result<Status, Failure> {
    let mut builder = CheckBuilder::new()
        .targets(args.targets.iter().cloned())
        .roles(args.roles.iter().cloned())
        .services(args.services.iter().cloned());
    if let Some(p) = &args.ports {
        builder = builder.ports(p.clone());
    }
    let plan = builder.plan().map_err(Failure::usage)?;
    let mut requests = Vec::new();
    let mut hosts: Vec<(String, std::net::IpAddr)> = Vec::new();
    // Each name is looked up once, however many ports it has.
    let mut looked_up: std::collections::HashMap<String, std::net::IpAddr> =
        std::collections::HashMap::new();
    for e in plan.entries() {
        let address = match e.address {
            Some(a) => a,
            None => match looked_up.get(&e.host) {
                Some(a) => *a,
                None => {
                    let a = portq_probe::target::resolve_name(&e.host)
                        .await
                        .map_err(Failure::usage)?;
                    looked_up.insert(e.host.clone(), a);
                    a
                }
            },
        };
        if !hosts.iter().any(|(_, a)| *a == address) {
            hosts.push((e.host.clone(), address));
        }
        requests.push(TraceRequest {
            host: e.host,
            address,
            port: e.port,
            transport: e.transport,
            probe: e.probe,
            reference: false,
        });
        if requests.len() > portq_probe::trace::MAX_FLOWS {
            return Err(Failure::usage(portq_probe::trace::TraceError::TooMany(
                requests.len(),
            )));
        }
    }
    if let Some(port) = args.reference {
        for (host, address) in hosts {
            if !requests
                .iter()
                .any(|r| r.address == address && r.port == port && r.transport == Transport::Tcp)
            {
                requests.push(TraceRequest {
                    host,
                    address,
                    port,
                    transport: Transport::Tcp,
                    probe: ProbeKind::TcpConnect,
                    reference: true,
                });
            }
        }
    }
    let traces = run_traces(&requests, &opts).await?;
    write(&traces, args.format)?;
    let all_reached = traces
        .iter()
        .all(|t| matches!(t.verdict, Verdict::Reached { .. }));
    Ok(if all_reached {
        Status::Ok
    } else {
        Status::NotAsExpected
    })
}

/// Traces, with the library's errors as the CLI reports them: no privileges, too many
/// ports or an unsupported system are usage errors (exit 2).
pub async fn run_traces(
    requests: &[TraceRequest],
    opts: &TraceOptions,
) -> Result<Vec<PortTrace>, Failure> {
    use portq_probe::trace::TraceError;
    portq_probe::trace::trace(requests, opts)
        .await
        .map_err(|e| match e {
            TraceError::Io(_) => Failure::runtime(e),
            _ => Failure::usage(e),
        })
}

/// Says before anything is sent whether this process may trace (exit 2 if not).
pub fn ensure_can_trace() -> Result<(), Failure> {
    portq_probe::trace::can_trace().map_err(Failure::usage)
}

fn write(traces: &[PortTrace], format: Format) -> Result<(), Failure> {
    match format {
        Format::Json => crate::out::json(&traces).map_err(Failure::runtime),
        Format::Ndjson => {
            let mut text = String::new();
            for t in traces {
                text.push_str(&serde_json::to_string(t).map_err(Failure::runtime)?);
                text.push('\n');
            }
            crate::out::print(&text).map_err(Failure::runtime)
        }
        _ => crate::out::print(&crate::views::trace::table(traces)).map_err(Failure::runtime),
    }
}
