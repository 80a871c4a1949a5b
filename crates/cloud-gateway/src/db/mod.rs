//! SQLite through diesel and an r2d2 pool. Connections are set up with WAL, `busy_timeout` and
//! foreign keys when acquired; the embedded migrations of `migrations-cloud/` run before the pool
//! serves requests. Query functions are plain sync functions taking `&mut SqliteConnection`, run
//! on the blocking threads through `AppState::db`.

pub mod auth_codes;
pub mod callbacks;
pub mod idempotency;
pub mod models;
pub mod schema;
pub mod send_batches;

use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The migrations of `migrations-cloud/`, embedded at build time.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations-cloud");

/// The connection pool.
pub type DbPool = Pool<ConnectionManager<SqliteConnection>>;

/// Sets the pragmas every connection needs.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas {
    busy_timeout_ms: u32,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            self.busy_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Runs the pending migrations on the database at `path` (creating the file if needed).
pub fn run_migrations(path: &str) -> anyhow::Result<()> {
    let mut conn = SqliteConnection::establish(path)
        .with_context(|| format!("opening the SQLite database {path}"))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
        .context("setting up the SQLite database")?;
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("running the migrations: {e}"))?;
    Ok(())
}

/// Builds the pool (migrations must have run).
pub fn build_pool(path: &str, size: u32, busy_timeout_ms: u32) -> anyhow::Result<DbPool> {
    Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(5))
        .connection_customizer(Box::new(SqlitePragmas { busy_timeout_ms }))
        .build(ConnectionManager::<SqliteConnection>::new(path))
        .with_context(|| format!("opening the SQLite pool for {path}"))
}

/// Whether the database can be written right now: takes and releases the write lock.
pub fn check_writable(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.immediate_transaction(|c| c.batch_execute("SELECT 1"))
}

/// Now, in unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Unix milliseconds as RFC 3339 (UTC).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;

    fn temp_db() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db").to_string_lossy().into_owned();
        (dir, path)
    }

    #[test]
    fn every_migration_runs_up_down_and_up_again() {
        let (_dir, path) = temp_db();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        let applied = conn.run_pending_migrations(MIGRATIONS).unwrap();
        assert_eq!(applied.len(), 5);
        conn.revert_all_migrations(MIGRATIONS).unwrap();
        // After all downs, no table of ours is left.
        let left: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'",
        )
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(left, 0);
        let again = conn.run_pending_migrations(MIGRATIONS).unwrap();
        assert_eq!(again.len(), 5);
    }

    #[test]
    fn pooled_connections_use_wal_busy_timeout_and_foreign_keys() {
        let (_dir, path) = temp_db();
        run_migrations(&path).unwrap();
        let pool = build_pool(&path, 2, 1000).unwrap();
        let mut conn = pool.get().unwrap();
        #[derive(diesel::QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(mode.journal_mode, "wal");
        #[derive(diesel::QueryableByName)]
        struct Fk {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            foreign_keys: i32,
        }
        let fk: Fk = diesel::sql_query("PRAGMA foreign_keys")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(fk.foreign_keys, 1);
        #[derive(diesel::QueryableByName)]
        struct Busy {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            timeout: i32,
        }
        let busy: Busy = diesel::sql_query("PRAGMA busy_timeout")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(busy.timeout, 1000);
        check_writable(&mut conn).unwrap();
    }
}
