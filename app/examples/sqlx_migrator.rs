//! The baseline `cargo xtask bench` measures `migrate` against: sqlx's own `Migrator`, used
//! the way applications use it (`Migrator::new(dir).run(&pool)`), on the same files.
//!
//! Usage: `DATABASE_URL=... sqlx_migrator DIR`. Not part of the app: never deploy this.

use std::{path::Path, time::Duration};

use anyhow::Context;
use sqlx::{migrate::Migrator, postgres::PgPoolOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: sqlx_migrator DIR")?;
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&url)
        .await?;
    let migrator = Migrator::new(Path::new(&dir)).await?;
    #[expect(
        clippy::disallowed_methods,
        reason = "the benchmark's baseline is sqlx's own migrator"
    )]
    migrator.run(&pool).await?;
    Ok(())
}
