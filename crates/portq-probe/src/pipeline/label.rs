//! What a checked port means: the catalogue services behind it, the roles that need
//! it, and the one line a table shows for it. Made once per port when the check is
//! planned (and once per registered port in the endpoint-mapper follow-up), shared by
//! every finding on that port.

use std::sync::Arc;

use portq_catalog::{Direction, Service};
use serde::Serialize;

/// Why a port is in the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// A role or service of the request needs it: it should be LISTENING.
    Required,
    /// A role needs it only in some set-ups (the catalogue marks it `optional`, such as
    /// NetBIOS on a DC, and no option asked for it by name): checked and shown, never a
    /// failure.
    Optional,
    /// The host's endpoint mapper lists it inside a role's RPC dynamic range: a
    /// registered RPC server should be reachable there.
    Registered,
    /// Asked for by number (`-p`): its state is the answer, whatever it is.
    Requested,
}

impl Need {
    /// True for ports that should be LISTENING (required or registered).
    pub fn is_expected(self) -> bool {
        matches!(self, Need::Required | Need::Registered)
    }
}

/// A catalogue service, as a label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServiceTag {
    /// The catalogue's stable id (`kdc`).
    pub id: &'static str,
    /// The friendly name (`Kerberos Key Distribution Center`).
    pub name: &'static str,
    /// The Windows service short name, when the catalogue has one (`kdc`).
    pub short_name: Option<&'static str>,
}

impl ServiceTag {
    /// The tag of a catalogue service.
    pub fn of(s: &'static Service) -> Self {
        ServiceTag {
            id: s.id,
            name: s.name,
            short_name: s.short_name(),
        }
    }

    /// What a table shows: the short name, else the friendly name.
    pub fn display_name(&self) -> &'static str {
        self.short_name.unwrap_or(self.name)
    }
}

/// What a port means for this check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortLabel {
    /// Why the port is checked.
    pub need: Need,
    /// The catalogue services that use the port (for a registered RPC port: the
    /// services of its interfaces, where the catalogue knows them).
    pub services: Vec<ServiceTag>,
    /// What the port is for: the application protocols the catalogue names
    /// (`Active Directory Web Services (ADWS)`, `NTP`).
    pub protocols: Vec<&'static str>,
    /// The ids of the requested roles that need the port.
    pub roles: Vec<&'static str>,
    /// Who connects to it, per the roles.
    pub directions: Vec<Direction>,
    /// For a registered RPC port: the interfaces the endpoint mapper lists on it.
    pub rpc_interfaces: Vec<String>,
    /// The one line tables show: `kdc, Netlogon`, or `RPC dynamic: lsarpc, samr`.
    pub text: String,
}

impl PortLabel {
    /// A port nothing in the catalogue or the request says anything about.
    pub fn unknown(need: Need) -> Self {
        PortLabel {
            need,
            services: Vec::new(),
            protocols: Vec::new(),
            roles: Vec::new(),
            directions: Vec::new(),
            rpc_interfaces: Vec::new(),
            text: String::new(),
        }
    }

    pub(crate) fn add_service(&mut self, s: &'static Service) {
        if !self.services.iter().any(|t| t.id == s.id) {
            self.services.push(ServiceTag::of(s));
        }
    }

    pub(crate) fn add_protocol(&mut self, p: &'static str) {
        if !p.is_empty() && !self.protocols.contains(&p) {
            self.protocols.push(p);
        }
    }

    pub(crate) fn add_roles(&mut self, roles: &[&'static str], directions: &[Direction]) {
        for r in roles {
            if !self.roles.contains(r) {
                self.roles.push(r);
            }
        }
        for d in directions {
            if !self.directions.contains(d) {
                self.directions.push(*d);
                self.directions.sort();
            }
        }
    }

    /// Fills [`PortLabel::text`] from the services (or interfaces) and shares the label.
    pub(crate) fn finish(mut self) -> Arc<PortLabel> {
        let mut names: Vec<&str> = Vec::new();
        if self.rpc_interfaces.is_empty() {
            for s in &self.services {
                let n = s.display_name();
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            self.text = names.join(", ");
        } else {
            self.text = format!("RPC dynamic: {}", self.rpc_interfaces.join(", "));
        }
        Arc::new(self)
    }

    /// Names of the services, as a summary lists them (`Windows Time`).
    pub fn service_names(&self) -> Vec<&'static str> {
        self.services.iter().map(|s| s.name).collect()
    }
}
