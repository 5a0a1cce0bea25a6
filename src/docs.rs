//! Shell completions and man pages, generated from the clap tree and committed under
//! `completions/` and `man/`. The test below fails when they drift from the code;
//! `KRONIC_UPDATE_GENERATED=1 cargo test generated_files` rewrites them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use roff::{Roff, bold, roman};

use crate::cli::Cli;
use crate::config::vars::ENV_VARS;
use crate::report::exit::table;

/// The date man pages carry: this release's.
const RELEASE_DATE: &str = "2026-11-25";

/// Every generated file: (path relative to the repository, contents).
pub fn render() -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for (shell, name) in [
        (Shell::Bash, "kronic.bash"),
        (Shell::Zsh, "_kronic"),
        (Shell::Fish, "kronic.fish"),
        (Shell::Elvish, "kronic.elv"),
        (Shell::PowerShell, "_kronic.ps1"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "kronic", &mut buf);
        files.push((Path::new("completions").join(name), buf));
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    man_pages(&cmd, &mut files)?;
    Ok(files)
}

fn man_pages(cmd: &clap::Command, files: &mut Vec<(PathBuf, Vec<u8>)>) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, files)?;
    }
    let man = clap_mangen::Man::new(cmd.clone())
        .date(RELEASE_DATE)
        .source(format!("kronic {}", env!("CARGO_PKG_VERSION")));
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut buf)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut buf)?;
    }
    let mut roff = Roff::new();
    if let Some(examples) = cmd.get_after_help().map(|h| h.to_string()) {
        roff.control("SH", ["EXAMPLES"]);
        for line in examples
            .lines()
            .filter(|l| !l.trim().is_empty() && l.trim() != "Examples:")
        {
            roff.control("nf", [] as [&str; 0])
                .text([roman(line.trim())])
                .control("fi", [] as [&str; 0]);
        }
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in ENV_VARS {
        roff.control("TP", [] as [&str; 0])
            .text([bold(*name)])
            .text([roman(*meaning)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in table() {
        roff.control("TP", [] as [&str; 0])
            .text([bold(code.to_string())])
            .text([roman(meaning)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    let pages = [
        "kronic(1)",
        "kronic-migrate(1)",
        "kronic-seed(1)",
        "kronic-backup(1)",
        "kronic-restore(1)",
        "kronic-health(1)",
    ];
    roff.text([roman(pages.join(", "))]);
    roff.to_writer(&mut buf)?;
    files.push((Path::new("man").join(man.get_filename()), buf));
    Ok(())
}

/// Writes every generated file under `dir`.
fn write_all(dir: &Path) -> Result<()> {
    for (rel, contents) in render()? {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's tables list every variable and every exit code.
    #[test]
    fn readme_documents_every_variable_and_exit_code() {
        let readme = include_str!("../README.md");
        for (name, _) in ENV_VARS {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "README lacks {name}"
            );
        }
        for (code, _) in table() {
            assert!(
                readme.contains(&format!("\n| {code} | ")),
                "README lacks exit code {code}"
            );
        }
    }

    /// The README's configuration table states each variable's default as the code
    /// does (`vars::default_of`, which `--help`, the man pages and `kronic config` show),
    /// and "-" where there is none; its exit table says what each code means as
    /// `exit::Code::meaning` does (for `--help` and the man pages), backticks aside.
    #[test]
    fn readme_tables_agree_with_the_code() {
        let readme = include_str!("../README.md");
        let cells = |line: &str| -> Vec<String> {
            line.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().replace('`', ""))
                .collect()
        };
        let mut wrong = Vec::new();
        for (name, _) in ENV_VARS {
            let row = format!("| `{name}` |");
            let line = readme.lines().find(|l| l.starts_with(&row)).unwrap();
            let stated = cells(line)[1].clone();
            let want = crate::config::vars::default_of(name).unwrap_or("-");
            if stated != want {
                wrong.push(format!("{name}: README says {stated:?}, the code {want:?}"));
            }
        }
        for (code, meaning) in table() {
            let row = format!("| {code} | ");
            let line = readme.lines().find(|l| l.starts_with(&row)).unwrap();
            let stated = cells(line)[1].clone();
            if stated != meaning {
                wrong.push(format!(
                    "exit {code}: README says {stated:?}, the code {meaning:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// What the README says of names and paths is what the code uses: one source for
    /// each claim, checked here (the temporary files, the scratch databases, the
    /// signature beside a manifest, the ping paths, the defaults).
    #[test]
    fn readme_names_what_the_code_names() {
        let readme = include_str!("../README.md");
        let claims = [
            format!(".sql.gz{}XXXXXX", crate::fsutil::TEMP_MARK),
            format!("{}<pid>", crate::schema::plan::DATABASE_PREFIX),
            crate::backup::signing::sig_name(&crate::backup::manifest::name_for("")),
            format!(
                "| `KRONIC_BACKUP_DIR` | `{}` |",
                crate::backup::settings::DEFAULT_BACKUP_DIR
            ),
            "<dbname>_drill_scratch".into(),
            "`URL/start`".into(),
            "`URL/<exit code>`".into(),
            "`URL/fail`".into(),
            "405 for another method on `/healthz`, 404 any other path".into(),
        ];
        for claim in claims {
            assert!(readme.contains(&claim), "README lacks {claim:?}");
        }
        // The drill's help names the same scratch database.
        let mut cmd = crate::cli::Cli::command();
        let drill = cmd
            .find_subcommand_mut("backup")
            .and_then(|b| b.find_subcommand_mut("drill"))
            .expect("backup drill")
            .render_long_help()
            .to_string();
        assert!(drill.contains("<dbname>_drill_scratch"), "{drill}");
    }

    /// Every flag an example in the help names is one the command shows: no example
    /// teaches a hidden or removed flag (`sync --remote-url` once did).
    #[test]
    fn help_examples_use_visible_flags() {
        fn walk(root: &clap::Command, cmd: &clap::Command, wrong: &mut Vec<String>) {
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            for line in help.lines().filter(|l| l.trim().starts_with("kronic ")) {
                // The command the example runs: follow its words down the tree.
                let mut at = root;
                for word in line.split_whitespace().skip(1) {
                    if let Some(sub) = at.find_subcommand(word) {
                        at = sub;
                    }
                }
                for word in line.split_whitespace().filter(|w| w.starts_with("--")) {
                    let name = word
                        .trim_start_matches("--")
                        .split('=')
                        .next()
                        .unwrap_or("");
                    let shown = at
                        .get_arguments()
                        .any(|a| a.get_long() == Some(name) && !a.is_hide_set());
                    if !shown {
                        wrong.push(format!("{}: {word}", line.trim()));
                    }
                }
            }
            for sub in cmd.get_subcommands() {
                walk(root, sub, wrong);
            }
        }
        let mut cmd = crate::cli::Cli::command();
        cmd.build();
        let mut wrong = Vec::new();
        walk(&cmd, &cmd, &mut wrong);
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// The committed files match the code. `KRONIC_UPDATE_GENERATED=1 cargo test` rewrites them.
    #[test]
    fn generated_files_are_up_to_date() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("KRONIC_UPDATE_GENERATED").is_some() {
            write_all(root).unwrap();
            return;
        }
        let mut stale = Vec::new();
        for (rel, contents) in render().unwrap() {
            if std::fs::read(root.join(&rel)).ok().as_deref() != Some(&contents[..]) {
                stale.push(rel.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "out of date: {}\nregenerate with: KRONIC_UPDATE_GENERATED=1 cargo test generated_files",
            stale.join(", ")
        );
        // No stray pages for commands that no longer exist.
        let generated: Vec<String> = render()
            .unwrap()
            .into_iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        for dir in ["man", "completions"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
                let rel = format!("{dir}/{}", e.file_name().to_string_lossy());
                assert!(
                    generated.contains(&rel),
                    "{rel} is not generated any more: delete it"
                );
            }
        }
    }
}
