//! The kernel judges the nftables evaluator (issue 22). Seeded random rule sets (several
//! tables and input base chains at different priorities, policies, named and anonymous
//! sets, ranges, verdict maps, jump/goto/return, source conditions, `ct state`, negation,
//! reject in its forms) are loaded into a network namespace with TCP listeners; for every
//! port, the evaluator's verdict on `nft -j list ruleset` is compared with a real
//! connection (connect, then the server's end of stream) from two sources. A certain verdict that the kernel
//! contradicts is a failure; "cannot tell" is counted and its share printed.
//!
//! `PORTQ_ORACLE_SETS` (default 300) rule sets from `PORTQ_ORACLE_SEED` (default: fixed).
//! Needs root and nft; says so and does not run otherwise (fails when
//! `PORTQ_NETNS_REQUIRED=1`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::check_support::*;
use portq_local::LocalListener;
use portq_local::firewall::{Firewall, Verdict};
use portq_probe::Transport;

/// Ports with a listener behind them in the namespace.
const PORTS: [u16; 4] = [22, 80, 3268, 8443];
/// How long a connect may take before it counts as dropped (a veth answers in microseconds).
const CONNECT: Duration = Duration::from_millis(300);

/// The listener child started inside the namespace (a no-op in a normal run).
#[test]
fn oracle_listener_child() {
    listener_child_main();
}

/// xorshift64*: the same rule sets for the same seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The two sources the test connects from: `a` and `b`, both on the link's /24.
struct Net {
    a: Ipv4Addr,
    b: Ipv4Addr,
    prefix: [u8; 3],
}

impl Net {
    fn source(&self, g: &mut Gen, named: bool) -> String {
        let [x, y, z] = self.prefix;
        let choices = [
            format!("{}", self.a),
            format!("{}", self.b),
            format!("{x}.{y}.{z}.0/24"),
            // .0-.7: holds a (.1) and b (.5); .4/30 holds b only; 192.0.2.0/24 neither.
            format!("{x}.{y}.{z}.0/29"),
            format!("{x}.{y}.{z}.4/30"),
            "192.0.2.0/24".to_owned(),
            format!("{{ {}, 192.0.2.7 }}", self.a),
        ];
        let one = choices[g.below(choices.len())].clone();
        let neg = !one.starts_with('{') && g.chance(20);
        if named && g.chance(30) {
            return "ip saddr @srcs".to_owned();
        }
        if neg {
            format!("ip saddr != {one}")
        } else {
            format!("ip saddr {one}")
        }
    }
}

fn dport(g: &mut Gen) -> String {
    let p = |g: &mut Gen| PORTS[g.below(PORTS.len())];
    match g.below(7) {
        0 => format!("tcp dport {}", p(g)),
        1 => format!("tcp dport {{ {}, {} }}", p(g), p(g)),
        2 => "tcp dport 20-100".to_owned(),
        3 => format!("th dport {}", p(g)),
        4 => format!("tcp dport != {}", p(g)),
        5 => "meta l4proto tcp".to_owned(),
        _ => "udp dport 53".to_owned(),
    }
}

fn ct(g: &mut Gen) -> &'static str {
    g.pick(&[
        "ct state new",
        "ct state established,related",
        "ct state { new, established }",
        "ct state != established",
        "ct state invalid",
    ])
}

/// One rule of `chain` (index `i` of `n` regular chains: jumps only go to later ones).
fn rule(g: &mut Gen, net: &Net, regular: Option<usize>, n: usize, named: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if g.chance(30) {
        parts.push(ct(g).to_owned());
    }
    if g.chance(45) {
        parts.push(net.source(g, named));
    }
    if g.chance(60) {
        parts.push(dport(g));
    }
    if g.chance(5) {
        parts.push("iifname \"lo\"".to_owned());
    }
    let first_target = regular.map_or(0, |i| i + 1);
    let verdict = match g.below(12) {
        0..=2 => "accept".to_owned(),
        3..=4 => "drop".to_owned(),
        5 => "reject".to_owned(),
        6 => "reject with tcp reset".to_owned(),
        7 if first_target < n => format!("jump c{}", first_target + g.below(n - first_target)),
        8 if first_target < n => format!("goto c{}", first_target + g.below(n - first_target)),
        9 if regular.is_some() => "return".to_owned(),
        10 => format!(
            "tcp dport vmap {{ {} : accept, {} : drop }}",
            PORTS[g.below(2)],
            PORTS[2 + g.below(2)]
        ),
        _ => "counter".to_owned(),
    };
    // A TCP reset needs a TCP match before it.
    let verdict = if verdict == "reject with tcp reset" {
        if parts.iter().any(|p| p.starts_with("udp")) {
            "reject".to_owned()
        } else {
            if !parts
                .iter()
                .any(|p| p.starts_with("tcp") || p == "meta l4proto tcp")
            {
                parts.push("meta l4proto tcp".to_owned());
            }
            verdict
        }
    } else {
        verdict
    };
    if verdict.contains("vmap") {
        parts.retain(|p| !p.contains(" dport") && !p.starts_with("meta l4proto"));
    }
    parts.push(verdict);
    parts.join(" ")
}

/// A random rule set: 1-2 tables (inet or ip), each with 1-2 input base chains at
/// priorities -10, 0 or 10 with accept or drop policies, 0-2 regular chains, and an
/// optional named set of sources.
fn ruleset(g: &mut Gen, net: &Net) -> String {
    let mut out = String::from("flush ruleset\n");
    let tables = 1 + g.below(2);
    for t in 0..tables {
        let family = g.pick(&["inet", "ip"]);
        out.push_str(&format!("table {family} t{t} {{\n"));
        let named = g.chance(40);
        if named {
            let [x, y, z] = net.prefix;
            let elems = g.pick(&["a", "b", "ab", "none"]);
            let list: Vec<String> = match elems {
                "a" => vec![net.a.to_string()],
                "b" => vec![net.b.to_string()],
                "ab" => vec![format!("{x}.{y}.{z}.0/29")],
                _ => vec!["192.0.2.1".to_owned()],
            };
            out.push_str(&format!(
                "  set srcs {{ type ipv4_addr; flags interval; elements = {{ {} }} }}\n",
                list.join(", ")
            ));
        }
        let regular = g.below(3);
        for c in 0..regular {
            out.push_str(&format!("  chain c{c} {{\n"));
            for _ in 0..g.below(4) {
                out.push_str(&format!("    {}\n", rule(g, net, Some(c), regular, named)));
            }
            out.push_str("  }\n");
        }
        for b in 0..1 + g.below(2) {
            let prio = g.pick(&["-10", "0", "10"]);
            let policy = g.pick(&["accept", "accept", "drop"]);
            out.push_str(&format!(
                "  chain in{b} {{\n    type filter hook input priority {prio}; policy {policy};\n"
            ));
            for _ in 0..g.below(6) {
                out.push_str(&format!("    {}\n", rule(g, net, None, regular, named)));
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
    }
    out
}

/// One random iptables-restore rule.
fn ipt_rule(g: &mut Gen, net: &Net, regular: Option<usize>, n: usize) -> String {
    let mut parts: Vec<String> = Vec::new();
    let p = |g: &mut Gen| PORTS[g.below(PORTS.len())];
    let mut tcp = false;
    if g.chance(30) {
        parts.push(
            g.pick(&[
                "-m conntrack --ctstate NEW",
                "-m conntrack --ctstate RELATED,ESTABLISHED",
                "-m conntrack --ctstate INVALID",
                "-m state --state NEW,ESTABLISHED",
                "-m conntrack ! --ctstate ESTABLISHED",
            ])
            .to_owned(),
        );
    }
    if g.chance(45) {
        let [x, y, z] = net.prefix;
        let src = [
            format!("{}/32", net.a),
            format!("{}/32", net.b),
            format!("{x}.{y}.{z}.0/24"),
            format!("{x}.{y}.{z}.4/30"),
            "192.0.2.0/24".to_owned(),
        ];
        let one = src[g.below(src.len())].clone();
        parts.push(if g.chance(20) {
            format!("! -s {one}")
        } else {
            format!("-s {one}")
        });
    }
    match g.below(5) {
        0 => {
            parts.push(format!("-p tcp -m tcp --dport {}", p(g)));
            tcp = true;
        }
        1 => {
            parts.push(format!("-p tcp -m multiport --dports {},{}", p(g), p(g)));
            tcp = true;
        }
        2 => {
            parts.push("-p tcp -m tcp --dport 20:100".to_owned());
            tcp = true;
        }
        3 => parts.push("-p udp -m udp --dport 53".to_owned()),
        _ => {}
    }
    if g.chance(15) {
        parts.push("-m comment --comment \"portq oracle\"".to_owned());
    }
    if g.chance(5) {
        parts.push(g.pick(&["-i lo", "! -i lo"]).to_owned());
    }
    let first_target = regular.map_or(0, |i| i + 1);
    let verdict = match g.below(11) {
        0..=2 => "-j ACCEPT".to_owned(),
        3..=4 => "-j DROP".to_owned(),
        5 => "-j REJECT".to_owned(),
        6 if tcp => "-j REJECT --reject-with tcp-reset".to_owned(),
        7 if first_target < n => format!("-j U{}", first_target + g.below(n - first_target)),
        8 if first_target < n => format!("-g U{}", first_target + g.below(n - first_target)),
        9 if regular.is_some() => "-j RETURN".to_owned(),
        _ => "-j LOG --log-prefix \"portq \"".to_owned(),
    };
    parts.push(verdict);
    parts.join(" ")
}

/// A random `iptables-restore` filter table: an INPUT policy, 0-2 user chains.
fn ipt_ruleset(g: &mut Gen, net: &Net) -> String {
    let regular = g.below(3);
    let mut out = format!(
        "*filter\n:INPUT {} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
        g.pick(&["ACCEPT", "ACCEPT", "DROP"])
    );
    for c in 0..regular {
        out.push_str(&format!(":U{c} - [0:0]\n"));
    }
    for c in 0..regular {
        for _ in 0..g.below(4) {
            out.push_str(&format!("-A U{c} {}\n", ipt_rule(g, net, Some(c), regular)));
        }
    }
    for _ in 0..g.below(7) {
        out.push_str(&format!("-A INPUT {}\n", ipt_rule(g, net, None, regular)));
    }
    out.push_str("COMMIT\n");
    out
}

fn nft(ns: &str, args: &[&str], input: Option<&str>) -> Result<String, String> {
    in_ns(ns, "nft", args, input)
}

fn in_ns(ns: &str, tool: &str, args: &[&str], input: Option<&str>) -> Result<String, String> {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, tool])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(text) = input {
        child
            .stdin
            .take()
            .ok_or("no stdin")?
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?;
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Whether a source address passes one of the verdict's source texts: a network, a
/// list, a named set with its elements, a negation, or several joined by " and ".
fn passes(desc: &str, src: Ipv4Addr) -> Option<bool> {
    if desc.contains(" and ") {
        let mut all = true;
        for part in desc.split(" and ") {
            all &= passes(part, src)?;
        }
        return Some(all);
    }
    if let Some(rest) = desc.strip_prefix("not ") {
        return passes(rest, src).map(|b| !b);
    }
    let list = match desc.strip_prefix('@') {
        Some(named) => named.split_once(" (")?.1.strip_suffix(')')?,
        None => desc,
    };
    let mut any = false;
    for item in list.split(", ") {
        let item = item.trim();
        let net: ipnet::Ipv4Net = item
            .parse()
            .ok()
            .or_else(|| item.parse::<Ipv4Addr>().ok().map(ipnet::Ipv4Net::from))?;
        any |= net.contains(&src);
    }
    Some(any)
}

/// What the verdict says a connect from `src` gets: `None` when it cannot tell.
fn predicted(v: &Verdict, src: Ipv4Addr) -> Option<bool> {
    match v {
        Verdict::Blocked { .. } => Some(false),
        Verdict::Allowed { from, except, .. } => {
            let mut ok = from.is_empty();
            for f in from {
                ok |= passes(f, src)?;
            }
            for e in except {
                ok &= !passes(e, src)?;
            }
            Some(ok)
        }
        _ => None,
    }
}

/// A connect from `src`:`sport`. Every connect of a run has a source port of its own: a
/// reused one could meet the namespace's connection-tracking entry of an earlier rule
/// set (a connection whose FIN that set dropped stays "established"), and the kernel
/// would judge a different packet than a new connection.
fn connects(src: Ipv4Addr, sport: u16, dst: SocketAddr) -> bool {
    connects_within(src, sport, dst, CONNECT)
}

fn connects_within(src: Ipv4Addr, sport: u16, dst: SocketAddr, wait: Duration) -> bool {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_reuse_address(true).unwrap();
    sock.bind(&SocketAddr::new(IpAddr::V4(src), sport).into())
        .unwrap();
    if sock.connect_timeout(&dst.into(), wait).is_err() {
        return false;
    }
    // The connection works only if the server got it: the listener accepts and closes
    // at once, so its FIN (end of stream) reaches us. A rule set that lets the first
    // packet in and drops or rejects the later ones gives a timeout or a reset instead.
    let mut stream = TcpStream::from(sock);
    let _ = stream.set_read_timeout(Some(wait));
    let mut byte = [0u8; 1];
    std::io::Read::read(&mut stream, &mut byte).is_ok()
}

/// How a rule set is loaded and read back.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// `nft -f`, read with `nft -j list ruleset`.
    Nft,
    /// `iptables-restore` (iptables-nft), read as `portq local` does on such a host:
    /// nft's JSON with the iptables tables taken from `iptables-save`.
    Iptables,
    /// The same, read from `iptables-save` alone (what `portq audit` gets).
    IptablesSave,
}

fn oracle(kind: Kind, test: &str, default_sets: usize) {
    if !require_netns(test) {
        return;
    }
    let tool = if kind == Kind::Nft {
        "nft"
    } else {
        "iptables-restore"
    };
    let have = Command::new(tool).arg("--version").output().is_ok()
        && Command::new("nft").arg("--version").output().is_ok();
    if !have {
        assert!(
            std::env::var("PORTQ_REQUIRE_TOOLS").is_err(),
            "{tool} is required (PORTQ_REQUIRE_TOOLS is set)"
        );
        eprintln!("NOT RUN: {test}: {tool} is not installed");
        return;
    }
    let sets: usize = std::env::var("PORTQ_ORACLE_SETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_sets);
    let seed: u64 = std::env::var("PORTQ_ORACLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    let mut ns = Netns::create(if kind == Kind::Nft { 2 } else { 3 });
    ns.start_listeners("firewall_oracle::oracle_listener_child", &PORTS);
    let [x, y, z, _] = ns.host_ip.octets();
    let net = Net {
        a: ns.host_ip,
        b: Ipv4Addr::new(x, y, z, 5),
        prefix: [x, y, z],
    };
    let added = Command::new("ip")
        .args(["addr", "add", &format!("{}/24", net.b), "dev", &ns.host_if])
        .status()
        .is_ok_and(|s| s.success());
    assert!(added, "second source address");

    let mut g = Gen(seed | 1);
    let mut next_port = 0usize;
    let (mut verdicts, mut cannot, mut wrong) = (0usize, 0usize, Vec::new());
    for set in 0..sets {
        let (text, fw) = match kind {
            Kind::Nft => {
                let text = ruleset(&mut g, &net);
                if let Err(e) = nft(&ns.name, &["-f", "-"], Some(&text)) {
                    panic!("set {set}: nft refused the generated rules: {e}\n{text}");
                }
                let json = nft(&ns.name, &["-j", "list", "ruleset"], None).unwrap();
                let fw =
                    Firewall::parse(&json).unwrap_or_else(|e| panic!("set {set}: {e}\n{json}"));
                (text, fw)
            }
            Kind::Iptables | Kind::IptablesSave => {
                let text = ipt_ruleset(&mut g, &net);
                let _ = nft(&ns.name, &["flush", "ruleset"], None);
                if let Err(e) = in_ns(&ns.name, "iptables-restore", &[], Some(&text)) {
                    panic!("set {set}: iptables-restore refused the generated rules: {e}\n{text}");
                }
                let saved = in_ns(&ns.name, "iptables-save", &[], None).unwrap();
                let from_save =
                    Firewall::parse(&saved).unwrap_or_else(|e| panic!("set {set}: {e}\n{saved}"));
                let fw = if kind == Kind::IptablesSave {
                    from_save
                } else {
                    let json = nft(&ns.name, &["-j", "list", "ruleset"], None).unwrap();
                    match (Firewall::parse(&json), from_save) {
                        (Ok(Firewall::Nft(live)), Firewall::Nft(saved)) => {
                            Firewall::Nft(live.with_tables_of(saved))
                        }
                        (other, _) => panic!("set {set}: {other:?}"),
                    }
                };
                (text, fw)
            }
        };
        // Every connection of the set at once: 4 ports x 2 sources.
        let mut probes = Vec::new();
        for port in PORTS {
            for src in [net.a, net.b] {
                let dst = ns.socket(port);
                let sport = 20_000 + u16::try_from(next_port % 40_000).unwrap_or(0);
                next_port += 1;
                probes.push((
                    port,
                    src,
                    std::thread::spawn(move || connects(src, sport, dst)),
                ));
            }
        }
        for (port, src, h) in probes {
            let mut kernel = h.join().unwrap();
            let listener = LocalListener {
                transport: Transport::Tcp,
                address: ns.socket(port),
                owner: None,
            };
            let v = fw.evaluate(Transport::Tcp, port, Some(&listener));
            verdicts += 1;
            // A connection that timed out on a busy machine is asked again, with time
            // to spare, before it counts against portq.
            if predicted(&v, src) == Some(true) && !kernel {
                let sport = 20_000 + u16::try_from(next_port % 40_000).unwrap_or(0);
                next_port += 1;
                kernel = connects_within(src, sport, ns.socket(port), Duration::from_secs(3));
            }
            match predicted(&v, src) {
                None => cannot += 1,
                Some(p) if p == kernel => {}
                Some(p) => wrong.push(format!(
                    "set {set}, {port}/tcp from {src}: portq says {v} ({}), the kernel {}\n{text}",
                    if p { "allowed" } else { "blocked" },
                    if kernel { "let it in" } else { "did not" }
                )),
            }
        }
    }
    let _ = nft(&ns.name, &["flush", "ruleset"], None);
    let label = match kind {
        Kind::Nft => "nft",
        Kind::Iptables => "iptables-nft (nft JSON + iptables-save)",
        Kind::IptablesSave => "iptables-save",
    };
    eprintln!(
        "{label} oracle: {sets} rule sets, {verdicts} verdicts, {} wrong, cannot tell {cannot} ({:.1}%), seed {seed:#x}",
        wrong.len(),
        100.0 * cannot as f64 / verdicts.max(1) as f64
    );
    assert!(
        wrong.is_empty(),
        "{} wrong certain verdicts; the first:\n{}",
        wrong.len(),
        wrong.first().map(String::as_str).unwrap_or("")
    );
}

#[test]
fn random_nft_rule_sets_agree_with_the_kernel() {
    oracle(Kind::Nft, "random_nft_rule_sets_agree_with_the_kernel", 300);
}

/// iptables-nft hosts (ufw's and hand-made shapes): user chains, conntrack, state,
/// multiport, comment, REJECT, RETURN, goto, LOG; read as `portq local` reads such a host,
/// then the same rule sets from `iptables-save` alone, as `portq audit` reads a file. One
/// test, one after the other: both use the same namespace tag.
#[test]
fn random_iptables_rule_sets_agree_with_the_kernel() {
    oracle(
        Kind::Iptables,
        "random_iptables_rule_sets_agree_with_the_kernel",
        100,
    );
    oracle(
        Kind::IptablesSave,
        "random_iptables_rule_sets_agree_with_the_kernel",
        100,
    );
}
