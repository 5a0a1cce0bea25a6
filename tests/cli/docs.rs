//! The manual cannot drift: the README's session and the demo run for real, bash loads
//! the completion, and the man pages render without warnings.

use std::path::Path;

use crate::support::*;

crate::register!(
    readme_session_runs_against_a_throwaway_server,
    demo_script_runs,
    bash_completes_mi_to_migrate,
    man_pages_render_without_warnings,
);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `$ kronic ...` line of the README's console blocks, in order.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut in_console = false;
    let mut cmds = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_console = line.trim() == "```console";
            continue;
        }
        if in_console && let Some(cmd) = line.strip_prefix("$ ") {
            cmds.push(cmd.to_string());
        }
    }
    cmds
}

fn readme_session_runs_against_a_throwaway_server() {
    let db = TestDb::new();
    let cmds = readme_commands();
    assert!(cmds.len() >= 20, "{cmds:?}");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_kronic")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let drill = "kronic_restored";
    for cmd in &cmds {
        assert!(
            cmd.starts_with("kronic "),
            "README console lines run kronic: {cmd}"
        );
        let mut sh = db.bash(cmd);
        sh.env("PATH", &path);
        sh.env("KRONIC_ADMIN_EMAIL", "admin@example.com")
            .env("KRONIC_ADMIN_PASSWORD", "a long admin password");
        let out = sh.output().unwrap();
        assert!(
            out.status.success(),
            "README command failed: {cmd}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut admin = postgres::Client::connect(&server().admin_url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {drill} WITH (FORCE)"))
        .unwrap();
}

fn demo_script_runs() {
    let out = std::process::Command::new(repo().join("scripts/demo"))
        .env("KRONIC_BIN", env!("CARGO_BIN_EXE_kronic"))
        .env_remove("KRONIC_DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "applied 1 initial_schema",
        "Backup completed: ",
        "Restore completed: ",
        "\"status\": \"ok\"",
        "all steps succeeded",
    ] {
        assert!(stdout.contains(step), "{step} missing from:\n{stdout}");
    }
}

fn bash_completes_mi_to_migrate() {
    let script = format!(
        "source {}; COMP_WORDS=(kronic mi); COMP_CWORD=1; COMP_LINE='kronic mi'; COMP_POINT=9; _kronic kronic mi kronic; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        repo().join("completions/kronic.bash").display()
    );
    let out = run_ok(std::process::Command::new("bash").arg("-c").arg(script));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "migrate");
}

fn man_pages_render_without_warnings() {
    let pages: Vec<_> = std::fs::read_dir(repo().join("man"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(pages.iter().any(|p| p.ends_with("kronic-backup.1")));
    let have_mandoc = std::process::Command::new("mandoc")
        .arg("-V")
        .output()
        .is_ok();
    for page in pages {
        let out = if have_mandoc {
            std::process::Command::new("mandoc")
                .args(["-Tlint", "-W", "warning"])
                .arg(&page)
                .output()
                .unwrap()
        } else {
            std::process::Command::new("groff")
                .args(["-ww", "-z", "-man"])
                .arg(&page)
                .output()
                .unwrap()
        };
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.trim().is_empty(),
            "{}: {text}",
            page.display()
        );
    }
}
