//! `bindings`: (tenant id, staff id) -> (corp id, user id); a DingTalk user is bound to at most
//! one staff per tenant.

use chrono::Utc;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::upsert::excluded;

use super::models::{Binding, BindingView, NewDingTalkUser, OutboxRow};
use super::schema::bindings::dsl as b;
use super::schema::dingtalk_users::dsl as u;

/// Why a bind did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The DingTalk user is already bound to this other staff of the tenant.
    #[error("this DingTalk user is already bound to staff `{0}` of the tenant; unbind it first")]
    AlreadyBound(String),
    /// A database failure.
    #[error(transparent)]
    Db(#[from] DieselError),
}

/// In one transaction: upserts the user, replaces the staff's binding, and queues the optional
/// IAM announcement. Returns the stored binding.
pub fn bind(
    conn: &mut PgConnection,
    tenant_id: &str,
    staff_id: &str,
    user: &NewDingTalkUser<'_>,
    iam_row: Option<&OutboxRow>,
) -> Result<BindingView, BindError> {
    conn.transaction(|conn| {
        super::users::upsert(conn, user)?;
        let other: Option<String> = b::bindings
            .filter(b::tenant_id.eq(tenant_id))
            .filter(b::corp_id.eq(user.corp_id))
            .filter(b::user_id.eq(user.user_id))
            .filter(b::staff_id.ne(staff_id))
            .select(b::staff_id)
            .first(conn)
            .optional()?;
        if let Some(other) = other {
            return Err(BindError::AlreadyBound(other));
        }
        let row = Binding {
            tenant_id: tenant_id.to_string(),
            staff_id: staff_id.to_string(),
            corp_id: user.corp_id.to_string(),
            user_id: user.user_id.to_string(),
            bound_at: Utc::now(),
        };
        let inserted = diesel::insert_into(b::bindings)
            .values(&row)
            .on_conflict((b::tenant_id, b::staff_id))
            .do_update()
            .set((
                b::corp_id.eq(excluded(b::corp_id)),
                b::user_id.eq(excluded(b::user_id)),
                b::bound_at.eq(excluded(b::bound_at)),
            ))
            .execute(conn);
        match inserted {
            // Another request bound the same user to another staff concurrently.
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(BindError::AlreadyBound("another staff".into()));
            }
            other => other?,
        };
        if let Some(iam) = iam_row {
            super::outbox::insert(conn, std::slice::from_ref(iam))?;
        }
        Ok(BindingView {
            tenant_id: row.tenant_id,
            staff_id: row.staff_id,
            corp_id: row.corp_id,
            user_id: row.user_id,
            nick: user.nick.to_string(),
            union_id: user.union_id.to_string(),
            bound_at: row.bound_at,
        })
    })
}

/// Bindings of a tenant ordered by staff id, after `after`, at most `limit`.
pub fn list(
    conn: &mut PgConnection,
    tenant_id: &str,
    staff_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<BindingView>> {
    let mut query = b::bindings
        .inner_join(u::dingtalk_users.on(u::corp_id.eq(b::corp_id).and(u::user_id.eq(b::user_id))))
        .filter(b::tenant_id.eq(tenant_id))
        .select((
            b::tenant_id,
            b::staff_id,
            b::corp_id,
            b::user_id,
            u::nick,
            u::union_id,
            b::bound_at,
        ))
        .order(b::staff_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(staff) = staff_id {
        query = query.filter(b::staff_id.eq(staff));
    }
    if let Some(after) = after {
        query = query.filter(b::staff_id.gt(after));
    }
    query.load(conn)
}

/// Removes a binding; true when there was one.
pub fn delete(conn: &mut PgConnection, tenant_id: &str, staff_id: &str) -> QueryResult<bool> {
    let n = diesel::delete(
        b::bindings
            .filter(b::tenant_id.eq(tenant_id))
            .filter(b::staff_id.eq(staff_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// The bindings of these staff ids in the tenant (missing ones are simply absent).
pub fn resolve(
    conn: &mut PgConnection,
    tenant_id: &str,
    staff_ids: &[String],
) -> QueryResult<Vec<Binding>> {
    b::bindings
        .filter(b::tenant_id.eq(tenant_id))
        .filter(b::staff_id.eq_any(staff_ids))
        .select(Binding::as_select())
        .load(conn)
}
