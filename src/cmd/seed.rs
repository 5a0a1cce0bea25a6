//! `kronic seed`.

use anyhow::Result;

use crate::cli::SeedArgs;
use crate::config::Config;
use crate::exit::{Code, fail};

pub async fn run(_config: &Config, _args: SeedArgs) -> Result<Code> {
    Err(fail(Code::Software, "kronic seed is not built yet"))
}
