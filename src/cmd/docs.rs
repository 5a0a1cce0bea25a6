//! `kronic generate-docs`: shell completions and man pages from the clap tree.

use std::path::Path;

use anyhow::Result;

use crate::exit::{Code, fail};

pub fn run(_dir: &Path) -> Result<Code> {
    Err(fail(Code::Software, "not built yet"))
}
