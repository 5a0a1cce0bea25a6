//! `kronic backup`.

use anyhow::Result;

use crate::cli::BackupArgs;
use crate::config::Config;
use crate::exit::{Code, fail};

pub async fn run(_config: &Config, _args: BackupArgs) -> Result<Code> {
    Err(fail(Code::Software, "kronic backup is not built yet"))
}

pub fn run_offline(_args: &BackupArgs) -> Result<Code> {
    Err(fail(Code::Software, "kronic backup is not built yet"))
}
