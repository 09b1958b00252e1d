//! One probe's answer as Prometheus metrics: blackbox_exporter's `probe_success` and
//! `probe_duration_seconds` (so existing dashboards keep working), and a series per
//! checked port. Presentation only: the check is the library pipeline's.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use portq_probe::pipeline::{CheckSummary, Checked, Strictness};
use portq_probe::{Evidence, PortState};

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PortLabels {
    port: String,
    protocol: String,
    service: String,
    need: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    port: String,
    protocol: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HopLabels {
    port: String,
    protocol: String,
    router: String,
    verdict: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimeLabels {
    port: String,
    protocol: String,
}

/// True when the check ended and every port that should listen does (for a port list
/// without roles: every port listed).
pub fn success(summary: Option<&CheckSummary>) -> bool {
    summary.is_some_and(|s| {
        let strictness = if s.role_check {
            Strictness::Expected
        } else {
            Strictness::EveryPort
        };
        s.outcome(strictness).passed()
    })
}

/// One probe's metrics, filled in as the findings arrive: each finding becomes its
/// series and is dropped, so a probe of many ports holds its metrics, not its findings.
pub struct ProbeMetrics {
    reg: Registry,
    success: Gauge,
    duration: FloatGauge,
    up: Family<PortLabels, Gauge>,
    state: Family<StateLabels, Gauge>,
    took: Family<TimeLabels, FloatGauge>,
    after_hop: Option<Family<HopLabels, Gauge>>,
    earliest_expiry: Option<i64>,
    endpoints: Option<usize>,
    registered: i64,
}

impl Default for ProbeMetrics {
    fn default() -> Self {
        let mut reg = Registry::default();
        let success: Gauge = Gauge::default();
        reg.register(
            "probe_success",
            "1 when every port the module requires is LISTENING",
            success.clone(),
        );
        let duration: FloatGauge = FloatGauge::default();
        reg.register(
            "probe_duration_seconds",
            "How long the probe took",
            duration.clone(),
        );
        let up = Family::<PortLabels, Gauge>::default();
        reg.register(
            "portq_port_up",
            "1 when the port is LISTENING, else 0",
            up.clone(),
        );
        let state = Family::<StateLabels, Gauge>::default();
        reg.register(
            "portq_port_state",
            "1 for the port's state (listening, not_listening, filtered, listening_or_filtered)",
            state.clone(),
        );
        let took = Family::<TimeLabels, FloatGauge>::default();
        reg.register(
            "portq_port_duration_seconds",
            "Time from the first packet to the port's verdict",
            took.clone(),
        );
        ProbeMetrics {
            reg,
            success,
            duration,
            up,
            state,
            took,
            after_hop: None,
            earliest_expiry: None,
            endpoints: None,
            registered: 0,
        }
    }
}

impl ProbeMetrics {
    /// Adds one finding's series.
    pub fn add(&mut self, c: &Checked) {
        let f = &c.finding;
        let (port, protocol) = (f.port.to_string(), f.transport.as_str().to_owned());
        self.up
            .get_or_create(&PortLabels {
                port: port.clone(),
                protocol: protocol.clone(),
                service: c.label.text.clone(),
                need: need_token(c),
            })
            .set(i64::from(f.state == PortState::Listening));
        for s in PortState::ALL {
            self.state
                .get_or_create(&StateLabels {
                    port: port.clone(),
                    protocol: protocol.clone(),
                    state: s.token().to_owned(),
                })
                .set(i64::from(f.state == s));
        }
        self.took
            .get_or_create(&TimeLabels { port, protocol })
            .set(f.elapsed.as_secs_f64());
        if c.label.need == portq_probe::pipeline::Need::Registered {
            self.registered += 1;
        }
        for e in &f.evidence {
            match e {
                Evidence::TlsCertificate { not_after_unix, .. } => {
                    self.earliest_expiry = Some(
                        self.earliest_expiry
                            .map_or(*not_after_unix, |v| v.min(*not_after_unix)),
                    );
                }
                Evidence::Epm { endpoints: n } => {
                    self.endpoints = Some(self.endpoints.unwrap_or(0).max(*n))
                }
                _ => {}
            }
        }
    }

    /// Adds the traces of the FILTERED ports (a module with `trace_filtered: true`): per
    /// port dropped or rejected on the way, the hop of the last router its probes got to
    /// (silent) or of the router that rejected them, that router's address a label.
    pub fn add_traces(&mut self, traces: &[portq_probe::trace::PortTrace]) {
        let family = self.after_hop.get_or_insert_with(|| {
            let f = Family::<HopLabels, Gauge>::default();
            self.reg.register(
                "portq_port_filtered_after_hop",
                "Hop of the last router a FILTERED port's probes reached (verdict silent) or of the router that rejected them (verdict rejected)",
                f.clone(),
            );
            f
        });
        for t in traces.iter().filter(|t| !t.reference) {
            if let Some((hop, router)) = t.verdict.dropped_after() {
                family
                    .get_or_create(&HopLabels {
                        port: t.port.to_string(),
                        protocol: t.transport.as_str().to_owned(),
                        router: router.to_string(),
                        verdict: t.verdict.token().to_owned(),
                    })
                    .set(i64::from(hop));
            }
        }
    }

    /// The Prometheus text, with the verdict (`None`: the scrape timeout ended the probe)
    /// and the probe's wall time.
    pub fn encode(mut self, summary: Option<&CheckSummary>, took: std::time::Duration) -> String {
        let reg = &mut self.reg;
        self.success.set(i64::from(success(summary)));
        self.duration.set(took.as_secs_f64());
        if let Some(t) = self.earliest_expiry {
            let g: Gauge = Gauge::default();
            reg.register(
                "probe_ssl_earliest_cert_expiry",
                "Earliest expiry (Unix seconds) of the certificates read (LDAPS, HTTPS)",
                g.clone(),
            );
            g.set(t);
        }
        if let Some(n) = self.endpoints {
            let g: Gauge = Gauge::default();
            reg.register(
                "portq_rpc_endpoints",
                "Endpoints the RPC endpoint mapper lists",
                g.clone(),
            );
            g.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let reg_ports: Gauge = Gauge::default();
        reg.register(
            "portq_rpc_registered_ports",
            "RPC dynamic ports the endpoint mapper lists and the probe checked",
            reg_ports.clone(),
        );
        reg_ports.set(self.registered);
        if let Some(s) = summary {
            let expected: Gauge = Gauge::default();
            reg.register(
                "portq_required_ports",
                "Ports the module requires (and RPC ports the endpoint mapper lists)",
                expected.clone(),
            );
            expected.set(i64::try_from(s.expected).unwrap_or(i64::MAX));
            let listening: Gauge = Gauge::default();
            reg.register(
                "portq_required_ports_listening",
                "Of those, how many are LISTENING",
                listening.clone(),
            );
            listening.set(i64::try_from(s.expected_listening).unwrap_or(i64::MAX));
        }
        let timed_out: Gauge = Gauge::default();
        reg.register(
            "portq_probe_timed_out",
            "1 when the scrape timeout ended the probe before every port was checked",
            timed_out.clone(),
        );
        timed_out.set(i64::from(summary.is_none_or(|s| s.interrupted)));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, reg);
        sorted_series(&out)
    }
}

/// The exposition with each family's series sorted by port (as a number), protocol,
/// then the other labels: the client library keeps series in a hash map, and a person
/// reading `/probe` looks for a port.
fn sorted_series(text: &str) -> String {
    fn key(line: &str) -> (u32, String) {
        let label = |name: &str| {
            let start = line.find(&format!("{name}=\""))? + name.len() + 2;
            let end = line[start..].find('"')? + start;
            Some(line[start..end].to_owned())
        };
        let port = label("port")
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(u32::MAX);
        (port, line.to_owned())
    }
    let mut out = String::with_capacity(text.len());
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut String| {
        run.sort_by_cached_key(|l| key(l));
        for l in run.drain(..) {
            out.push_str(l);
            out.push('\n');
        }
    };
    for line in text.lines() {
        if line.starts_with('#') {
            flush(&mut run, &mut out);
            out.push_str(line);
            out.push('\n');
        } else {
            run.push(line);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn need_token(c: &Checked) -> String {
    match c.label.need {
        portq_probe::pipeline::Need::Required => "required",
        portq_probe::pipeline::Need::Optional => "optional",
        portq_probe::pipeline::Need::Registered => "registered",
        portq_probe::pipeline::Need::Requested => "requested",
    }
    .to_owned()
}
