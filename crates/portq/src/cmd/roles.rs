//! `portq roles`: the server roles, their options and what they need.

use crate::cmd::lookup::LookupFormat;
use crate::exit::{Failure, Status};
use crate::out;
use crate::render::Grid;
use crate::views::roles::views;

/// Arguments of `portq roles`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: LookupFormat,
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
