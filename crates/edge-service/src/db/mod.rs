//! PostgreSQL access: the r2d2 pool, the embedded migrations, and plain sync query functions per
//! table taking `&mut PgConnection`.

pub mod bindings;
pub mod idempotency;
pub mod models;
pub mod outbox;
pub mod schema;
pub mod users;

use std::time::Duration;

use anyhow::Context;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The connection pool shared by handlers and the outbox worker.
pub type DbPool = Pool<ConnectionManager<PgConnection>>;

/// The migrations of `migrations-local/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations-local");

/// Builds the pool (failing fast when the database cannot be reached).
pub fn build_pool(url: &str, size: u32) -> anyhow::Result<DbPool> {
    let manager = ConnectionManager::<PgConnection>::new(url);
    Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(true)
        .build(manager)
        .context("database.url: cannot connect to PostgreSQL")
}

/// Applies every pending migration.
pub fn run_migrations(conn: &mut PgConnection) -> anyhow::Result<()> {
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
    Ok(())
}
