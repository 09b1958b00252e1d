//! The words administrators use for catalogue entries (`adws`, `ldaps`, `kpasswd`,
//! `zone transfer`), from `data/abbreviations.csv`, validated and compiled in by `build.rs`.
//! Lookup scores a query that names one of these terms towards the entries it stands for.

use crate::model::Requirement;

/// One term and the catalogue requirements it stands for.
#[derive(Debug)]
pub struct Abbreviation {
    /// The term: lower-case words, one space apart.
    pub term: &'static str,
    /// Indices into [`crate::requirements`].
    pub requirements: &'static [u16],
    /// What the term means, in a few words.
    pub meaning: &'static str,
}

impl Abbreviation {
    /// The requirements the term stands for.
    pub fn requirements(&self) -> impl Iterator<Item = &'static Requirement> + '_ {
        self.requirements
            .iter()
            .map(|&i| &crate::requirements()[usize::from(i)])
    }
}

/// Every abbreviation, in data-file order.
pub fn abbreviations() -> &'static [Abbreviation] {
    crate::generated::ABBREVIATIONS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PortRange;

    fn ports_of(term: &str) -> Vec<(u16, &'static str)> {
        abbreviations()
            .iter()
            .filter(|a| a.term == term)
            .flat_map(|a| a.requirements())
            .filter_map(|r| r.ports.map(|p: PortRange| (p.start, r.transport.as_str())))
            .collect()
    }

    #[test]
    fn the_terms_administrators_use_point_at_the_right_ports() {
        assert!(ports_of("adws").iter().all(|p| *p == (9389, "tcp")));
        assert!(ports_of("ldaps").iter().all(|p| *p == (636, "tcp")));
        assert!(ports_of("kpasswd").contains(&(464, "udp")));
        assert!(ports_of("gc").contains(&(3268, "tcp")));
        assert!(ports_of("zone transfer").contains(&(53, "tcp")));
        for t in [
            "adws", "ldaps", "gc", "kpasswd", "smb", "cifs", "rdp", "winrm", "wmi", "dcom",
            "epmap", "sysvol",
        ] {
            assert!(!ports_of(t).is_empty(), "{t} is missing");
        }
    }
}
