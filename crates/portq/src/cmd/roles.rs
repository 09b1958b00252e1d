//! `portq roles`: the server roles, their options and what they need.

use crate::cmd::lookup::LookupFormat;
use crate::exit::{Failure, Status};
use crate::out;
use crate::render::Grid;
use serde::Serialize;

/// Arguments of `portq roles`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: LookupFormat,
}

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

/// Runs `portq roles`.
pub fn run(args: Args) -> Result<Status, Failure> {
    let roles = portq_catalog::roles();
    let result = match args.format {
        LookupFormat::Json => out::json(&views()),
        f => {
            let mut grid = Grid::new(vec!["ROLE", "ALIASES", "NAME", "OPTIONS (default on*)"]);
            for r in roles {
                let opts: Vec<String> = r
                    .options
                    .iter()
                    .map(|o| format!("{}{}", o.id, if o.default { "*" } else { "" }))
                    .collect();
                grid.push(vec![
                    r.id.into(),
                    r.aliases.join(", "),
                    r.name.into(),
                    opts.join(", "),
                ]);
            }
            let mut text = grid.render(f.into(), "portq roles").unwrap_or_default();
            if f == LookupFormat::Table {
                text.push_str("\nUse ROLE:OPTION to switch an option on and ROLE:no-OPTION to switch it off, e.g. dc:no-gc,frs.\n");
            }
            out::print(&text)
        }
    };
    result.map_err(Failure::runtime)?;
    Ok(Status::Ok)
}
