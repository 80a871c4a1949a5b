//! What callbacks store: suite tickets, corp authorizations and the event log, all changes of one
//! event in one transaction, deduplicated by the SHA-256 of the decrypted message.

use diesel::prelude::*;
use dingtalk_core::events::{BizData, CallbackEvent, CorpAuthorization};
use secrecy::ExposeSecret;

use super::models::{CorpAuthorizationRow, SuiteTicketRow};
use super::schema::{corp_authorizations, events, suite_tickets};

/// What happened to an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Stored (and its changes made).
    Stored,
    /// Seen before: nothing changed.
    Duplicate,
    /// Refused: a ticket or relieve for another suite key (nothing stored).
    ForeignSuite(String),
}

/// Applies `event` (dedup key `dedup_key`) for the configured `suite_key`, in one transaction.
pub fn apply_event(
    conn: &mut SqliteConnection,
    dedup_key: &str,
    event: &CallbackEvent,
    suite_key: &str,
    now: i64,
) -> QueryResult<Applied> {
    conn.immediate_transaction(|conn| {
        let seen: i64 = events::table
            .filter(events::dedup_key.eq(dedup_key))
            .count()
            .get_result(conn)?;
        if seen > 0 {
            return Ok(Applied::Duplicate);
        }
        match event {
            CallbackEvent::SuiteTicket {
                suite_key: key,
                ticket,
                ..
            } => {
                if is_foreign(key, suite_key) {
                    return Ok(Applied::ForeignSuite(key.clone()));
                }
                // Internal apps (no suite key configured) have no use for tickets.
                if !suite_key.is_empty() {
                    upsert_ticket(conn, suite_key, ticket.expose_secret(), None, now)?;
                }
            }
            CallbackEvent::SuiteRelieve {
                suite_key: key,
                corp_id,
            } => {
                if is_foreign(key, suite_key) {
                    return Ok(Applied::ForeignSuite(key.clone()));
                }
                relieve(conn, corp_id, now)?;
            }
            CallbackEvent::SyncPush { items, .. } => {
                for item in items {
                    match &item.data {
                        // Internal apps (no suite key configured) have no use for tickets.
                        BizData::SuiteTicket { .. } if suite_key.is_empty() => {}
                        BizData::SuiteTicket { ticket } => {
                            // The payload was encrypted for our suite key (owner key checked).
                            let corp = Some(item.corp_id.as_str()).filter(|c| !c.is_empty());
                            upsert_ticket(conn, suite_key, ticket.expose_secret(), corp, now)?;
                        }
                        BizData::OrgSuiteAuth(auth) => upsert_authorization(conn, auth, now)?,
                        BizData::OrgSuiteRelieve { corp_id } => relieve(conn, corp_id, now)?,
                        BizData::Other { .. } => {}
                    }
                }
            }
            CallbackEvent::CheckUrl { .. } | CallbackEvent::Unknown { .. } => {}
        }
        diesel::insert_into(events::table)
            .values((
                events::dedup_key.eq(dedup_key),
                events::event_type.eq(event.event_type()),
                events::received_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Applied::Stored)
    })
}

/// Whether a legacy event names another suite than the configured `suite_key`. An event without
/// `SuiteKey` is ours: it was encrypted for our owner key, which the caller has checked.
fn is_foreign(event_suite_key: &str, suite_key: &str) -> bool {
    !event_suite_key.is_empty() && event_suite_key != suite_key
}

fn upsert_ticket(
    conn: &mut SqliteConnection,
    suite_key: &str,
    ticket: &str,
    corp_id: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    let row = SuiteTicketRow {
        suite_key: suite_key.to_string(),
        ticket: ticket.to_string(),
        corp_id: corp_id.map(str::to_string),
        updated_at: now,
    };
    diesel::insert_into(suite_tickets::table)
        .values(&row)
        .on_conflict(suite_tickets::suite_key)
        .do_update()
        .set(&row)
        .execute(conn)?;
    Ok(())
}

fn upsert_authorization(
    conn: &mut SqliteConnection,
    auth: &CorpAuthorization,
    now: i64,
) -> QueryResult<()> {
    let row = CorpAuthorizationRow {
        corp_id: auth.corp_id.clone(),
        corp_name: auth.corp_name.clone(),
        agent_id: auth.agent_id,
        status: "active".into(),
        permanent_code: auth
            .permanent_code
            .as_ref()
            .map(|c| c.expose_secret().to_string()),
        ch_permanent_code: auth
            .ch_permanent_code
            .as_ref()
            .map(|c| c.expose_secret().to_string()),
        updated_at: now,
    };
    diesel::insert_into(corp_authorizations::table)
        .values(&row)
        .on_conflict(corp_authorizations::corp_id)
        .do_update()
        .set(&row)
        .execute(conn)?;
    Ok(())
}

fn relieve(conn: &mut SqliteConnection, corp_id: &str, now: i64) -> QueryResult<()> {
    let updated = diesel::update(corp_authorizations::table.find(corp_id))
        .set((
            corp_authorizations::status.eq("relieved"),
            corp_authorizations::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(corp_authorizations::table)
            .values((
                corp_authorizations::corp_id.eq(corp_id),
                corp_authorizations::corp_name.eq(""),
                corp_authorizations::status.eq("relieved"),
                corp_authorizations::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The stored ticket of `suite_key`.
pub fn suite_ticket(
    conn: &mut SqliteConnection,
    suite_key: &str,
) -> QueryResult<Option<SuiteTicketRow>> {
    suite_tickets::table
        .find(suite_key)
        .select(SuiteTicketRow::as_select())
        .first(conn)
        .optional()
}

/// The stored authorization of `corp_id`.
pub fn corp(
    conn: &mut SqliteConnection,
    corp_id: &str,
) -> QueryResult<Option<CorpAuthorizationRow>> {
    corp_authorizations::table
        .find(corp_id)
        .select(CorpAuthorizationRow::as_select())
        .first(conn)
        .optional()
}

/// How many events were recorded (for tests and diagnostics).
pub fn event_count(conn: &mut SqliteConnection) -> QueryResult<i64> {
    events::table.count().get_result(conn)
}

/// How long received events are kept for deduplication, in milliseconds (7 days).
pub const EVENT_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// Deletes event log entries older than [`EVENT_RETENTION_MS`]; returns how many.
pub fn sweep_events(conn: &mut SqliteConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(events::table.filter(events::received_at.le(now - EVENT_RETENTION_MS)))
        .execute(conn)
}
