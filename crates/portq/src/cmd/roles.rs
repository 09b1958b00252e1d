//! `portq roles`: the server roles, their options and what they need.

use crate::cmd::lookup::LookupFormat;
use crate::exit::{Failure, Status};
use crate::out;
use crate::render::Grid;
use crate::views::roles::views;

/// Arguments of `portq roles`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One role to show in full (id or alias): its aliases, what each option switches,
    /// and its ports. Without it, every role in one table.
    #[arg(value_name = "ROLE")]
    pub role: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: LookupFormat,
}

/// Runs `portq roles`.
pub fn run(args: Args) -> Result<Status, Failure> {
    if let Some(name) = &args.role {
        let role = portq_catalog::roles::find(name).map_err(Failure::usage)?;
        let result = match args.format {
            LookupFormat::Json => out::json(&crate::views::roles::detail(role)),
            f => out::print(&one_role(role, f)),
        };
        result.map_err(Failure::runtime)?;
        return Ok(Status::Ok);
    }
    let roles = portq_catalog::roles();
    let result = match args.format {
        LookupFormat::Json => out::json(&views()),
        f => {
            let mut grid = Grid::new(vec!["ROLE", "ALIASES", "NAME", "OPTIONS (default on*)"])
                .keep_whole(&["ROLE", "ALIASES", "OPTIONS (default on*)"])
                .drop_when_narrow(&["ALIASES"]);
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
                text.push('\n');
                text.push_str(&crate::render::prose(
                    "Use ROLE:OPTION to switch an option on and ROLE:no-OPTION to switch it off, e.g. dc:no-gc,frs. portq roles ROLE shows one role: its aliases, what each option switches, and its ports.",
                ));
            }
            out::print(&text)
        }
    };
    result.map_err(Failure::runtime)?;
    Ok(Status::Ok)
}

/// One role as text: its names and description, its options (what each switches), then
/// every port it may need with the option that brings it.
fn one_role(role: &'static portq_catalog::Role, f: LookupFormat) -> String {
    let detail = crate::views::roles::detail(role);
    let mut options = Grid::new(vec!["OPTION", "DEFAULT", "WHAT IT SWITCHES", "PORTS"])
        .keep_whole(&["OPTION", "DEFAULT", "PORTS"]);
    for o in &detail.options {
        options.push(vec![
            o.id.to_owned(),
            if o.default { "on" } else { "off" }.to_owned(),
            o.description.to_owned(),
            o.ports.join(", "),
        ]);
    }
    let mut ports = Grid::new(vec!["PORT", "PROTO", "SERVICE", "FROM", "OPTION"])
        .keep_whole(&["PORT", "PROTO", "FROM", "OPTION"]);
    for p in &detail.ports {
        ports.push(vec![
            p.port.clone(),
            p.protocol.to_uppercase(),
            p.service.to_owned(),
            p.from.to_owned(),
            p.option.unwrap_or("(always)").to_owned(),
        ]);
    }
    if f != LookupFormat::Table {
        // CSV and Markdown: the ports, one row each (the options are in the OPTION column).
        return ports.render(f.into(), role.name).unwrap_or_default();
    }
    let mut text = format!("{} ({})\n", role.id, role.name);
    if !role.aliases.is_empty() {
        text.push_str(&format!("Aliases: {}\n", role.aliases.join(", ")));
    }
    text.push_str(&crate::render::prose(role.description));
    if !detail.options.is_empty() {
        text.push('\n');
        text.push_str(&options.to_table());
    }
    text.push('\n');
    text.push_str(&ports.to_table());
    if !detail.outbound.is_empty() {
        text.push_str(&crate::render::prose(&format!(
            "It also connects out to: {}.",
            detail.outbound.join(", ")
        )));
    }
    text.push('\n');
    text.push_str(&crate::render::prose(&format!(
        "Select it as {id}, {id}:OPTION or {id}:no-OPTION (several: {id}:no-OPTION,OPTION).",
        id = role.aliases.first().copied().unwrap_or(role.id)
    )));
    text
}
