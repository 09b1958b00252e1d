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
    /// For shell completion: the role names (and, after `ROLE:`, the options) that
    /// complete WORD, one a line.
    #[arg(long, value_name = "WORD", hide = true)]
    pub complete: Option<String>,
}

/// What completes `word` after `--role`: role ids and aliases, or after `ROLE:` that
/// role's options (`dc:gc`, `dc:no-gc`), after a comma the next option.
pub fn completions(word: &str) -> Vec<String> {
    let lower = word.to_ascii_lowercase();
    let Some((role, opts)) = lower.split_once(':') else {
        let mut out: Vec<String> = portq_catalog::roles()
            .iter()
            .flat_map(|r| std::iter::once(r.id).chain(r.aliases.iter().copied()))
            .filter(|n| n.starts_with(&lower))
            .map(str::to_owned)
            .collect();
        out.sort();
        return out;
    };
    let Ok(r) = portq_catalog::roles::find(role) else {
        return Vec::new();
    };
    let (done, last) = match opts.rsplit_once(',') {
        Some((d, l)) => (format!("{d},"), l),
        None => (String::new(), opts),
    };
    r.options
        .iter()
        .flat_map(|o| [o.id.to_owned(), format!("no-{}", o.id)])
        .filter(|o| o.starts_with(last))
        .map(|o| {
            format!(
                "{}:{done}{o}",
                word.split_once(':').map_or(role, |(w, _)| w)
            )
        })
        .collect()
}

/// Runs `portq roles`.
pub fn run(args: Args) -> Result<Status, Failure> {
    if let Some(word) = &args.complete {
        let mut text = completions(word).join("\n");
        text.push('\n');
        out::print(&text).map_err(Failure::runtime)?;
        return Ok(Status::Ok);
    }
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
