//! The layout's limits (docs/development.md): files in `src/` stay under 700 lines, and
//! command files, which only orchestrate, under 300.

#[test]
fn files_stay_small_and_commands_stay_orchestration() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut over = Vec::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let lines = std::fs::read_to_string(path).unwrap().lines().count();
        let relative = path.strip_prefix(&src).unwrap();
        let limit = if relative.starts_with("cmd") {
            300
        } else {
            700
        };
        if lines > limit {
            over.push(format!(
                "src/{}: {lines} lines (limit {limit})",
                relative.display()
            ));
        }
    }
    assert!(over.is_empty(), "split these files:\n{}", over.join("\n"));
}
