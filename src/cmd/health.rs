//! `kronic health`.

use anyhow::Result;

use crate::cli::HealthArgs;
use crate::config::Config;
use crate::exit::{Code, fail};

pub async fn run(_config: &Config, _args: HealthArgs) -> Result<Code> {
    Err(fail(Code::Software, "kronic health is not built yet"))
}
