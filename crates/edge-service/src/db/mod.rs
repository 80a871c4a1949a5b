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
use diesel::RunQueryDsl;
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

/// The advisory lock that serializes the migrations of replicas starting together ("edgemigr").
const MIGRATION_LOCK: i64 = 0x6564_6765_6d69_6772;

/// Applies every pending migration, holding [`MIGRATION_LOCK`] so that replicas starting at the
/// same time on a fresh database take turns instead of failing on each other's tables.
pub fn run_migrations(conn: &mut PgConnection) -> anyhow::Result<()> {
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(conn)
        .context("database.url: taking the migration lock")?;
    let ran = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
    let unlocked = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .execute(conn)
        .context("releasing the migration lock");
    ran?;
    unlocked?;
    Ok(())
}
