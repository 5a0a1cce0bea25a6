//! `kronic restore`.

use anyhow::Result;

use crate::cli::RestoreArgs;
use crate::config::Config;
use crate::exit::{Code, fail};

pub async fn run(_config: &Config, _args: RestoreArgs) -> Result<Code> {
    Err(fail(Code::Software, "kronic restore is not built yet"))
}
