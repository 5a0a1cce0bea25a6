//! `kronic seed`: the application's roles and its admin user, in one transaction, safe
//! to run any number of times. What to create lives in `seeding`.

use std::io::Write;

use anyhow::{Context, Result};

use crate::cli::SeedArgs;
use crate::config::{self, Config, vars};
use crate::pg::db;
use crate::report::exit::{Code, fail};
use crate::schema::seed::{self, Admin, Summary};

fn admin_from(args: &SeedArgs) -> Result<Admin> {
    let email =
        config::text_setting(args.admin_email.clone(), vars::ADMIN_EMAIL).ok_or_else(|| {
            fail(
                Code::Config,
                "KRONIC_ADMIN_EMAIL is not set (or pass --admin-email)",
            )
        })?;
    let password = if args.admin_password_stdin {
        let pw = crate::report::ui::read_secret_line("Admin password: ")
            .context("cannot read the admin password from standard input")?;
        if pw.is_empty() {
            return Err(fail(
                Code::Config,
                "--admin-password-stdin: standard input held no password",
            ));
        }
        pw
    } else {
        config::text_setting(args.admin_password.clone(), vars::ADMIN_PASSWORD).ok_or_else(
            || {
                fail(
                    Code::Config,
                    "KRONIC_ADMIN_PASSWORD is not set (or use --admin-password-stdin)",
                )
            },
        )?
    };
    Admin::new(&email, password)
}

pub async fn run(config: &Config, args: SeedArgs) -> Result<Code> {
    let admin = admin_from(&args)?;
    let mut client = db::connect_wait(&config.db, args.wait.wait).await?;
    seed::require_schema(&client).await?;
    let tx = client.transaction().await?;
    seed::lock(&tx).await?;
    let mut summary = Summary::default();
    seed::roles_in(&tx, args.update_roles, &mut summary).await?;
    seed::admin_in(&tx, &admin, args.reset_admin_password, &mut summary).await?;
    tx.commit().await.context("cannot commit the seed")?;

    let mut out = std::io::stdout().lock();
    for line in &summary.lines {
        writeln!(out, "{line}")?;
    }
    if summary.changed == 0 {
        writeln!(out, "seed: nothing changed")?;
    } else {
        writeln!(out, "seed: {} change(s) committed", summary.changed)?;
    }
    Ok(Code::Ok)
}
