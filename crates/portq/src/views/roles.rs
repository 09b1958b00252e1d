//! The server roles as JSON presents them (`portq roles --format json`, `GET /api/roles`).

use serde::Serialize;

/// A role option as JSON presents it.
#[derive(Serialize)]
pub struct OptionView {
    id: &'static str,
    description: &'static str,
    default: bool,
}

/// A role as JSON presents it (`portq roles --format json`, `GET /api/roles`).
#[derive(Serialize)]
pub struct RoleView {
    id: &'static str,
    name: &'static str,
    aliases: &'static [&'static str],
    description: &'static str,
    options: Vec<OptionView>,
    requirements: usize,
}

/// Every role, for JSON.
pub fn views() -> Vec<RoleView> {
    portq_catalog::roles()
        .iter()
        .map(|r| RoleView {
            id: r.id,
            name: r.name,
            aliases: r.aliases,
            description: r.description,
            options: r
                .options
                .iter()
                .map(|o| OptionView {
                    id: o.id,
                    description: o.description,
                    default: o.default,
                })
                .collect(),
            requirements: r.requirements.len(),
        })
        .collect()
}
