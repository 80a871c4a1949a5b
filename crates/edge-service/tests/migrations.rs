//! Every migration of migrations-local/ applies, reverts and applies again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use diesel_migrations::MigrationHarness;
use edge_service::db::MIGRATIONS;

#[test]
fn migrations_apply_revert_and_apply_again() {
    let db = common::TestDb::create();
    let mut conn = db.conn();
    let applied = conn.run_pending_migrations(MIGRATIONS).unwrap();
    assert_eq!(applied.len(), 4);
    let tables =
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' \
                  AND table_name IN ('dingtalk_users', 'bindings', 'outbox', 'idempotency_keys')";
    assert_eq!(common::count(&mut conn, tables), 4);

    let reverted = conn.revert_all_migrations(MIGRATIONS).unwrap();
    assert_eq!(reverted.len(), 4);
    assert_eq!(common::count(&mut conn, tables), 0);

    conn.run_pending_migrations(MIGRATIONS).unwrap();
    assert_eq!(common::count(&mut conn, tables), 4);
    assert!(!conn.has_pending_migration(MIGRATIONS).unwrap());
}

#[tokio::test]
async fn replicas_starting_together_on_a_fresh_database_all_start() {
    let db = common::TestDb::create();
    let settings = || {
        edge_service::config::Settings::from_toml_str(&common::edge_toml(
            &db.url,
            "http://127.0.0.1:9",
        ))
        .unwrap()
    };
    let started = futures::future::join_all(
        (0..4).map(|_| edge_service::startup::Application::build(settings())),
    )
    .await;
    for app in started {
        assert!(app.is_ok(), "{:#}", app.err().unwrap());
    }
    let mut conn = db.conn();
    assert!(!conn.has_pending_migration(MIGRATIONS).unwrap());
}
