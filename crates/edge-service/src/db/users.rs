//! `dingtalk_users`: the DingTalk users this edge knows, unique by corp id + user id.

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::models::NewDingTalkUser;
use super::schema::dingtalk_users::dsl as u;

/// Inserts the user or refreshes its facts.
pub fn upsert(conn: &mut PgConnection, user: &NewDingTalkUser<'_>) -> QueryResult<()> {
    diesel::insert_into(u::dingtalk_users)
        .values(user)
        .on_conflict((u::corp_id, u::user_id))
        .do_update()
        .set((
            u::union_id.eq(excluded(u::union_id)),
            u::open_id.eq(excluded(u::open_id)),
            u::nick.eq(excluded(u::nick)),
            u::email.eq(excluded(u::email)),
            u::avatar_url.eq(excluded(u::avatar_url)),
            u::mobile.eq(excluded(u::mobile)),
            u::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}
