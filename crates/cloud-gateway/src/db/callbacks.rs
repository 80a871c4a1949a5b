//! What callbacks store: suite tickets, corp authorizations and the event log, all changes of one
//! event in one transaction, deduplicated by the SHA-256 of the decrypted message.
//!
//! Suite tickets never roll back. The dedup only catches a byte-identical replay; DingTalk also
//! re-pushes unacknowledged events and pushes can cross, so an older ticket can arrive after a
//! newer one in a different message. Each ticket is stored with its source timestamp (SyncHTTP
//! `gmt_modified`, legacy `TimeStamp`, both ms; 0 when absent) and replaces the stored one only
//! when that timestamp is not older (`incoming >= stored`; equal replaces). Hence a ticket without
//! a timestamp (0) replaces only a ticket that also has none. An older ticket is acknowledged and
//! ignored.

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
                timestamp,
            } => {
                if is_foreign(key, suite_key) {
                    return Ok(Applied::ForeignSuite(key.clone()));
                }
                // Internal apps (no suite key configured) have no use for tickets.
                if !suite_key.is_empty() {
                    let incoming = Ticket {
                        ticket: ticket.expose_secret(),
                        corp_id: None,
                        source_ts: *timestamp,
                    };
                    upsert_ticket(conn, suite_key, &incoming, now)?;
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
                            let incoming = Ticket {
                                ticket: ticket.expose_secret(),
                                corp_id: Some(item.corp_id.as_str()).filter(|c| !c.is_empty()),
                                source_ts: item.gmt_modified,
                            };
                            upsert_ticket(conn, suite_key, &incoming, now)?;
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

/// A ticket from a push.
struct Ticket<'a> {
    ticket: &'a str,
    corp_id: Option<&'a str>,
    /// DingTalk's timestamp of the push (ms), 0 when absent.
    source_ts: i64,
}

/// Whether a ticket pushed at `incoming` (ms) replaces one pushed at `stored`: when it is not
/// older. A missing timestamp counts as 0, so it replaces only a ticket that also has none.
pub fn ticket_replaces(incoming: i64, stored: i64) -> bool {
    incoming.max(0) >= stored.max(0)
}

/// Stores `incoming` unless the stored ticket is newer (see [`ticket_replaces`]).
fn upsert_ticket(
    conn: &mut SqliteConnection,
    suite_key: &str,
    incoming: &Ticket<'_>,
    now: i64,
) -> QueryResult<()> {
    let stored: Option<i64> = suite_tickets::table
        .find(suite_key)
        .select(suite_tickets::source_ts)
        .first(conn)
        .optional()?;
    if let Some(stored) = stored.filter(|s| !ticket_replaces(incoming.source_ts, *s)) {
        log::info!(
            "callback: ignored a suite ticket pushed at {} (the stored one is from {stored})",
            incoming.source_ts
        );
        return Ok(());
    }
    let row = SuiteTicketRow {
        suite_key: suite_key.to_string(),
        ticket: incoming.ticket.to_string(),
        corp_id: incoming.corp_id.map(str::to_string),
        updated_at: now,
        source_ts: incoming.source_ts.max(0),
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

/// ISV sends and logins: the authorization of `corp_id` and the ticket of `suite_key`.
pub fn corp_and_ticket(
    conn: &mut SqliteConnection,
    corp_id: &str,
    suite_key: &str,
) -> QueryResult<(Option<CorpAuthorizationRow>, Option<SuiteTicketRow>)> {
    Ok((corp(conn, corp_id)?, suite_ticket(conn, suite_key)?))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_replaces_only_a_ticket_that_is_not_newer() {
        assert!(ticket_replaces(2, 1));
        assert!(ticket_replaces(2, 2), "equal timestamps replace");
        assert!(!ticket_replaces(1, 2));
        assert!(ticket_replaces(0, 0), "no timestamp replaces no timestamp");
        assert!(
            !ticket_replaces(0, 5),
            "no timestamp never replaces a timestamped ticket"
        );
        assert!(ticket_replaces(5, 0));
        assert!(
            !ticket_replaces(-3, 5),
            "a negative timestamp counts as none"
        );
    }
}
