//! Shell completion: clap's scripts for every shell, taught to complete the values that
//! come from the catalogue (roles and their options, services, probe names) by asking
//! `portq complete-value KIND WORD`, and the answers to those questions.

/// The kinds of value a completion script asks portq for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValueKind {
    /// `--role`, `--expect`: role ids and aliases, and after `ROLE:` its options.
    Role,
    /// `--service`: catalogue service ids, short names and aliases.
    Service,
    /// `--probe-as PORT=PROBE`: after `PORT=`, the probe names.
    Probe,
}

/// The options whose values come from portq, as (option, kind) for every shell.
const VALUE_OPTIONS: &[(&str, Option<char>, &str)] = &[
    ("role", Some('r'), "role"),
    ("expect", Some('e'), "role"),
    ("service", Some('s'), "service"),
    ("probe-as", None, "probe"),
];

/// The values of `kind` that complete `word`, sorted.
pub fn values(kind: ValueKind, word: &str) -> Vec<String> {
    match kind {
        ValueKind::Role => roles(word),
        ValueKind::Service => services(word),
        ValueKind::Probe => probes(word),
    }
}

/// What completes `word` after `--role`: role ids and aliases, or after `ROLE:` that
/// role's options (`dc:gc`, `dc:no-gc`), after a comma the next option.
fn roles(word: &str) -> Vec<String> {
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

/// Service ids, short names and aliases that start with `word` (case-insensitive).
fn services(word: &str) -> Vec<String> {
    let lower = word.to_ascii_lowercase();
    let mut out: Vec<String> = portq_catalog::services()
        .iter()
        .flat_map(|s| {
            std::iter::once(s.id)
                .chain(s.service_name.split(';'))
                .chain(s.aliases.iter().copied())
        })
        .filter(|n| !n.is_empty() && !n.contains(' '))
        .filter(|n| n.to_ascii_lowercase().starts_with(&lower))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// After `PORT=`: `PORT=` and each probe name that starts with what follows.
fn probes(word: &str) -> Vec<String> {
    let Some((port, name)) = word.split_once('=') else {
        return Vec::new();
    };
    let name = name.to_ascii_lowercase();
    portq_probe::ProbeKind::ALL
        .iter()
        .map(|k| k.name())
        .filter(|n| n.starts_with(&name))
        .map(|n| format!("{port}={n}"))
        .collect()
}

/// The completion script for `shell`: clap's, with the catalogue's values wired in
/// for bash, zsh, fish and PowerShell (elvish gets clap's alone).
pub fn script(shell: clap_complete::Shell, mut cmd: clap::Command) -> Vec<u8> {
    use clap_complete::Shell;
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "portq", &mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let text = match shell {
        Shell::Bash => text + BASH,
        Shell::Zsh => zsh(&text),
        Shell::Fish => text + &fish(),
        Shell::PowerShell => powershell(&text),
        _ => text,
    };
    text.into_bytes()
}

/// Bash: the options' values, asked of `portq complete-value`, with or without `:` and
/// `=` in COMP_WORDBREAKS; everything else is clap's completion.
const BASH: &str = r#"
_portq_values() {
    local cur="${COMP_WORDS[COMP_CWORD]}" i=$((COMP_CWORD - 1))
    local word="$cur" before="${COMP_WORDS[i]}"
    # "--role dc:gc" and "--probe-as 8389=ld" arrive split at ':' or '=' when those
    # break words: join them back.
    if [[ "$before" == ":" || "$before" == "=" ]]; then
        word="${COMP_WORDS[i-1]}$before$cur"; before="${COMP_WORDS[i-2]}"
    elif [[ "$cur" == ":" || "$cur" == "=" ]]; then
        word="${COMP_WORDS[i]}$cur"; before="${COMP_WORDS[i-1]}"
    fi
    local kind=
    case "$before" in
        --role|-r|--expect|-e) kind=role ;;
        --service|-s) kind=service ;;
        --probe-as) kind=probe ;;
    esac
    if [[ -n "$kind" ]]; then
        local IFS=$'
' c
        COMPREPLY=()
        for c in $(portq complete-value "$kind" "$word" 2>/dev/null); do
            # Bash completes only what follows the last word break.
            if [[ "$word" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
                COMPREPLY+=("${c#*:}")
            elif [[ "$word" == *=* && "$COMP_WORDBREAKS" == *=* ]]; then
                COMPREPLY+=("${c#*=}")
            else
                COMPREPLY+=("$c")
            fi
        done
        return 0
    fi
    _portq "$@"
}
complete -F _portq_values -o bashdefault -o default portq
"#;

/// Zsh: each of those options' value action becomes `_portq_values KIND`, defined before
/// the script's last lines (which call `_portq` when the file is autoloaded).
fn zsh(text: &str) -> String {
    let mut out = text.to_owned();
    for (long, _, kind) in VALUE_OPTIONS {
        // clap writes `'*--role=[help]:ROLE:_default'`; swap only those options' actions.
        let mut rebuilt = String::with_capacity(out.len());
        for line in out.lines() {
            let short = VALUE_OPTIONS
                .iter()
                .find(|(l, _, _)| l == long)
                .and_then(|(_, s, _)| *s);
            let ours = line.contains(&format!("--{long}=["))
                || short.is_some_and(|s| {
                    line.contains(&format!("'*-{s}+[")) || line.contains(&format!("'-{s}+["))
                });
            if ours && line.trim_end().ends_with(":_default' \\") {
                rebuilt.push_str(&line.replacen(
                    ":_default'",
                    &format!(":_portq_values {kind}'"),
                    1,
                ));
            } else {
                rebuilt.push_str(line);
            }
            rebuilt.push('\n');
        }
        out = rebuilt;
    }
    const HELPER: &str = r#"
(( $+functions[_portq_values] )) ||
_portq_values() {
    local -a vals
    vals=("${(@f)$(portq complete-value "$1" "$PREFIX" 2>/dev/null)}")
    compadd -Q -- ${vals:#}
}

"#;
    match out.rfind("if [ \"$funcstack[1]\" = \"_portq\" ]") {
        Some(at) => {
            out.insert_str(at, HELPER);
            out
        }
        None => out + HELPER,
    }
}

/// Fish: the options' values from `portq complete-value`, beside clap's definitions.
fn fish() -> String {
    let mut s = String::from("\n# Values from the catalogue.\n");
    for (long, short, kind) in VALUE_OPTIONS {
        let short = short.map(|c| format!(" -s {c}")).unwrap_or_default();
        s.push_str(&format!(
            "complete -c portq -l {long}{short} -x -a '(portq complete-value {kind} (commandline -ct))'\n"
        ));
    }
    s
}

/// PowerShell: before clap's completer looks at anything, a value of one of those options
/// is answered from `portq complete-value`.
fn powershell(text: &str) -> String {
    let mut cases = String::new();
    for (long, short, kind) in VALUE_OPTIONS {
        let mut names = vec![format!("'--{long}'")];
        if let Some(c) = short {
            names.push(format!("'-{c}'"));
        }
        cases.push_str(&format!(
            "        {{ $_ -in @({}) }} {{ $portqKind = '{kind}' }}\n",
            names.join(", ")
        ));
    }
    let block = format!(
        r#"
    # Values from the catalogue: the word before the cursor names the option.
    $portqBefore = $null
    foreach ($portqElement in $commandAst.CommandElements) {{
        if ($portqElement.Extent.EndOffset -lt ($cursorPosition - $wordToComplete.Length)) {{
            $portqBefore = $portqElement.ToString()
        }}
    }}
    $portqKind = $null
    switch ($portqBefore) {{
{cases}    }}
    if ($portqKind) {{
        & portq complete-value $portqKind "$wordToComplete" 2>$null | ForEach-Object {{
            [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
        }}
        return
    }}
"#
    );
    let marker = "param($wordToComplete, $commandAst, $cursorPosition)\n";
    match text.find(marker) {
        Some(at) => {
            let mut out = text.to_owned();
            out.insert_str(at + marker.len(), &block);
            out
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_from_the_catalogue() {
        assert!(values(ValueKind::Role, "dom").contains(&"domain-controller".to_owned()));
        assert!(values(ValueKind::Role, "dc:").contains(&"dc:no-gc".to_owned()));
        assert!(
            values(ValueKind::Service, "spool")
                .iter()
                .any(|s| s.eq_ignore_ascii_case("spooler"))
        );
        assert_eq!(
            values(ValueKind::Probe, "8389=ld"),
            ["8389=ldap", "8389=ldaps"]
        );
        assert!(values(ValueKind::Probe, "8389").is_empty());
    }

    #[test]
    fn every_shell_with_values_asks_portq() {
        let cmd = <crate::cli::Cli as clap::CommandFactory>::command;
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
        ] {
            let s = String::from_utf8(script(shell, cmd())).unwrap_or_default();
            for kind in ["role", "service", "probe"] {
                assert!(
                    s.contains(&format!("complete-value {kind}"))
                        || s.contains(&format!("_portq_values {kind}"))
                        || s.contains(&format!("'{kind}'"))
                        || s.contains(&format!("kind={kind}")),
                    "{shell:?} does not complete {kind}"
                );
            }
        }
        let zsh = String::from_utf8(script(clap_complete::Shell::Zsh, cmd())).unwrap_or_default();
        assert!(zsh.contains(":ROLE:_portq_values role'"), "zsh --role");
        assert!(
            zsh.contains(":PORT=PROBE:_portq_values probe'"),
            "zsh --probe-as"
        );
        assert!(zsh.find("_portq_values() {") < zsh.find("if [ \"$funcstack[1]\""));
    }
}
