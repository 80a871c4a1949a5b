//! Work notifications (`topapi/message/corpconversation/*`): `sendbytemplate` and
//! `asyncsend_v2` are validated and recorded as [`SimMessage`]s; `getsendprogress` and
//! `getsendresult` report on them.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::body::Body;
use crate::reply::{legacy_error, legacy_ok};
use crate::routes::legacy_api::{parse, token};
use crate::state::{AppToken, Shared};
use crate::SimMessage;

/// The most recipients one call accepts.
const MAX_RECIPIENTS: usize = 100;

/// Token, body, agent id and recipients shared by both sends.
fn common(
    req: &HttpRequest,
    bytes: &[u8],
    shared: &Shared,
) -> Result<(AppToken, Body, Vec<String>), HttpResponse> {
    let app = token(req, shared)?;
    let body = parse(req, bytes)?;
    check_agent(&app, &body)?;
    let users: Vec<String> = body
        .str("userid_list")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if users.is_empty() {
        return Err(legacy_error(400002, "参数错误: userid_list不能为空"));
    }
    if users.len() > MAX_RECIPIENTS {
        return Err(legacy_error(400002, "参数错误: userid_list最多100个"));
    }
    Ok((app, body, users))
}

fn check_agent(app: &AppToken, body: &Body) -> Result<(), HttpResponse> {
    if body.int("agent_id") == Some(app.agent_id) {
        Ok(())
    } else {
        Err(legacy_error(400002, "参数错误: 不合法的agent_id"))
    }
}

/// A JSON value that may arrive as a JSON string (form bodies) or inline.
fn json_field(body: &Body, key: &str) -> Option<Value> {
    match body.value(key)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        v => Some(v.clone()),
    }
}

fn record(
    shared: &Shared,
    api: &str,
    app: &AppToken,
    user_ids: Vec<String>,
    template_id: Option<String>,
    data: Option<Value>,
    msg: Option<Value>,
) -> HttpResponse {
    let mut st = shared.lock();
    let task_id = st.next_task_id;
    st.next_task_id += 1;
    log::info!(
        "corp {}: {api} task {task_id} to {} recipient(s)",
        app.corp_id,
        user_ids.len()
    );
    st.messages.push(SimMessage {
        task_id,
        api: api.to_string(),
        corp_id: app.corp_id.clone(),
        agent_id: app.agent_id,
        user_ids,
        template_id,
        data,
        msg,
        received_at: chrono::Utc::now().to_rfc3339(),
    });
    legacy_ok(json!({"task_id": task_id}))
}

/// `POST /topapi/message/corpconversation/sendbytemplate`.
pub async fn send_by_template(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (app, body, users) = match common(&req, &bytes, &shared) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let template_id = body.str("template_id");
    if !shared.lock().data.knows_template(&template_id) {
        return legacy_error(885001, "模板不存在");
    }
    let Some(data) = json_field(&body, "data").filter(Value::is_object) else {
        return legacy_error(400002, "参数错误: data必须是JSON对象字符串");
    };
    record(
        &shared,
        "sendbytemplate",
        &app,
        users,
        Some(template_id),
        Some(data),
        None,
    )
}

/// `POST /topapi/message/corpconversation/asyncsend_v2`.
pub async fn async_send_v2(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (app, body, users) = match common(&req, &bytes, &shared) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let msg = json_field(&body, "msg").filter(|m| {
        m.get("msgtype")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty())
    });
    let Some(msg) = msg else {
        return legacy_error(400002, "参数错误: msg必须是带msgtype的JSON对象");
    };
    record(&shared, "asyncsend_v2", &app, users, None, None, Some(msg))
}

/// The recorded message a follow-up call asks about.
fn find_task(
    req: &HttpRequest,
    bytes: &[u8],
    shared: &Shared,
) -> Result<(AppToken, SimMessage), HttpResponse> {
    let app = token(req, shared)?;
    let body = parse(req, bytes)?;
    check_agent(&app, &body)?;
    let task_id = body.int("task_id");
    shared
        .lock()
        .messages
        .iter()
        .find(|m| Some(m.task_id) == task_id && m.corp_id == app.corp_id)
        .cloned()
        .map(|m| (app, m))
        .ok_or_else(|| legacy_error(400002, "参数错误: task_id不存在"))
}

/// `POST /topapi/message/corpconversation/getsendprogress`.
pub async fn get_send_progress(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    match find_task(&req, &bytes, &shared) {
        Ok(_) => legacy_ok(json!({"progress": {"progress_in_percent": 100, "status": 2}})),
        Err(resp) => resp,
    }
}

/// `POST /topapi/message/corpconversation/getsendresult`.
pub async fn get_send_result(
    req: HttpRequest,
    bytes: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let (app, msg) = match find_task(&req, &bytes, &shared) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let st = shared.lock();
    let members: Vec<&str> = st
        .data
        .corp(&app.corp_id)
        .map(|c| c.users.iter().map(|u| u.userid.as_str()).collect())
        .unwrap_or_default();
    let (valid, invalid): (Vec<&String>, Vec<&String>) = msg
        .user_ids
        .iter()
        .partition(|id| members.contains(&id.as_str()));
    legacy_ok(json!({"send_result": {
        "invalid_user_id_list": invalid,
        "forbidden_user_id_list": [],
        "failed_user_id_list": [],
        "read_user_id_list": [],
        "unread_user_id_list": valid,
        "invalid_dept_id_list": [],
        "forbidden_list": [],
    }}))
}
