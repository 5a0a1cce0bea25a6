//! Embeds every file in migrations/ so that the binary runs without the source tree.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new("migrations");
    println!("cargo:rerun-if-changed=migrations");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("migrations/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    let mut out = String::from("&[\n");
    for n in &names {
        let path = std::fs::canonicalize(dir.join(n)).expect("readable migration");
        writeln!(out, "    ({n:?}, include_str!({:?})),", path.display()).unwrap();
    }
    out.push(']');
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("migrations.rs");
    std::fs::write(dest, out).expect("write embedded migrations");
}
