//! A network namespace a test makes for itself: one veth link to the host, the host side
//! `10.S.N.1/24`, the namespace side `10.S.N.2/24`, no default route (nothing sent there
//! leaves the machine). Deleted, with its link and the processes handed to it, on drop.

use std::process::{Child, Command};

/// Runs a command, panicking with its stderr when it fails; its stdout.
pub(crate) fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// True when this test process runs as root (it may make network namespaces and use
/// raw sockets). False under Wine, which has no `id`.
pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// One test namespace.
pub(crate) struct TestNs {
    /// The namespace's name (`PREFIX<pid>`).
    pub name: String,
    /// The host side of the veth link.
    pub host_if: String,
    /// The host side's address (`10.S.N.1`).
    pub host_ip: String,
    /// The namespace side's address (`10.S.N.2`).
    pub ns_ip: String,
    /// `10.S.N.` (for other addresses of the link).
    pub prefix: String,
    /// Processes to stop on drop.
    pub children: Vec<Child>,
    /// Files to remove on drop (e.g. a private `/etc/netns/NAME`).
    pub paths: Vec<std::path::PathBuf>,
}

impl TestNs {
    /// Makes `PREFIX<pid>` on 10.`second`.N.0/24, N (1-124) from the pid. `second` is one
    /// of the project's 10.200-10.209 ranges, each test its own.
    pub fn create(prefix: &str, second: u8) -> TestNs {
        TestNs::create_in(prefix, second, 0)
    }

    /// As [`TestNs::create`], in half `slot` (0 or 1) of the range: two tests of one
    /// process share a range without sharing a subnet.
    pub fn create_in(prefix: &str, second: u8, slot: u8) -> TestNs {
        let pid = std::process::id();
        // 1-124 or 126-249: never .0, which the scale benchmark's fixed 10.206.0.0/24 uses.
        let n = 1 + pid % 124 + 125 * u32::from(slot.min(1));
        let name = format!("{prefix}{pid}");
        let host_if = format!("{prefix}{}h", pid % 100_000);
        let ns_if = format!("{prefix}{}n", pid % 100_000);
        let net = format!("10.{second}.{n}.");
        let ns = TestNs {
            name: name.clone(),
            host_if: host_if.clone(),
            host_ip: format!("{net}1"),
            ns_ip: format!("{net}2"),
            prefix: net,
            children: Vec::new(),
            paths: Vec::new(),
        };
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let _ = Command::new("ip").args(["link", "del", &host_if]).output();
        sh(&["ip", "netns", "add", &name]);
        sh(&[
            "ip", "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if, "netns", &name,
        ]);
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", ns.host_ip),
            "dev",
            &host_if,
        ]);
        sh(&["ip", "link", "set", &host_if, "up"]);
        sh(&[
            "ip",
            "-n",
            &name,
            "addr",
            "add",
            &format!("{}/24", ns.ns_ip),
            "dev",
            &ns_if,
        ]);
        sh(&["ip", "-n", &name, "link", "set", &ns_if, "up"]);
        sh(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        ns
    }

    /// Starts `program args` inside the namespace and waits for its first line, which
    /// must be `ready` (listeners bound); the process is stopped on drop.
    pub fn start_ready<S: AsRef<std::ffi::OsStr>>(&mut self, program: &str, args: &[S]) {
        let mut child = self
            .exec(program)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            use std::io::BufRead;
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        self.children.push(child);
        assert_eq!(line.trim(), "ready", "{program} did not start");
    }

    /// A command run inside the namespace.
    pub fn exec(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        for mut c in self.children.drain(..) {
            drop(c.stdin.take());
            let _ = c.kill();
            let _ = c.wait();
        }
        // Output kept quiet: the link usually went with the namespace.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        for p in &self.paths {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}
