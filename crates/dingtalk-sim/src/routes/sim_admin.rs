//! The simulator's own endpoints (`/_sim/*`): received messages (JSON and an HTML inbox),
//! fault injection, on-demand pushes, the clock and a state summary for tests.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::reply::{escape, page_with_refresh, request_id};
use crate::state::Shared;
use crate::{pusher, Fault, PushKind};

fn bad_request(errmsg: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .json(json!({"errcode": 400, "errmsg": errmsg, "request_id": request_id()}))
}

/// `GET /_sim/messages`.
pub async fn list_messages(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(&shared.lock().messages)
}

/// `DELETE /_sim/messages`.
pub async fn clear_messages(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().messages.clear();
    HttpResponse::NoContent().finish()
}

/// `GET /_sim/inbox`: the notifications grouped by recipient, refreshed every 3 s.
pub async fn inbox(shared: web::Data<Shared>) -> HttpResponse {
    let st = shared.lock();
    let mut names: BTreeMap<(String, String), String> = BTreeMap::new();
    for corp in &st.data.corps {
        for u in &corp.users {
            names.insert((corp.corp_id.clone(), u.userid.clone()), u.nick.clone());
        }
    }
    let mut by_user: BTreeMap<(String, String), Vec<&crate::SimMessage>> = BTreeMap::new();
    for m in &st.messages {
        for u in &m.user_ids {
            by_user
                .entry((m.corp_id.clone(), u.clone()))
                .or_default()
                .push(m);
        }
    }
    let mut body =
        String::from("<p class=\"logo\">DingTalk (simulated)</p><h1>Work notification inbox</h1>");
    if by_user.is_empty() {
        body.push_str("<p>No notifications yet. This page refreshes itself.</p>");
    }
    for ((corp, user), msgs) in &by_user {
        let nick = names
            .get(&(corp.clone(), user.clone()))
            .map(String::as_str)
            .unwrap_or("(not a member)");
        body.push_str(&format!(
            "<h2>{} <small>{} · {}</small></h2>",
            escape(nick),
            escape(user),
            escape(corp)
        ));
        for m in msgs.iter().rev() {
            body.push_str(&format!(
                "<div class=\"msg\"><small>task {} · {} · {}</small><pre>{}</pre></div>",
                m.task_id,
                escape(&m.api),
                escape(&m.received_at),
                escape(&readable_content(m))
            ));
        }
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page_with_refresh("Inbox (simulated DingTalk)", &body, 3))
}

/// What a person would read on the phone: the template's `message` (and `url`), a text
/// message's content, or else the message object as JSON.
fn readable_content(m: &crate::SimMessage) -> String {
    let text =
        |v: &serde_json::Value, key: &str| v.get(key).and_then(|s| s.as_str()).map(str::to_string);
    if let Some(data) = &m.data {
        if let Some(message) = text(data, "message") {
            return match text(data, "url").filter(|u| !u.is_empty()) {
                Some(url) => format!("{message}\n{url}"),
                None => message,
            };
        }
    }
    if let Some(msg) = &m.msg {
        if let Some(content) = msg.get("text").and_then(|t| text(t, "content")) {
            return content;
        }
    }
    m.data
        .as_ref()
        .or(m.msg.as_ref())
        .and_then(|v| serde_json::to_string_pretty(v).ok())
        .unwrap_or_default()
}

/// `POST /_sim/faults`.
pub async fn add_fault(bytes: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let fault: Fault = match serde_json::from_slice(&bytes) {
        Ok(f) => f,
        Err(e) => return bad_request(&format!("expected {{path, kind, errcode?, times?}}: {e}")),
    };
    if !fault.path.starts_with('/') || fault.times == 0 {
        return bad_request("path must start with / and times must be at least 1");
    }
    if fault.kind == crate::FaultKind::Errcode && fault.errcode.is_none() {
        return bad_request("an errcode fault needs errcode");
    }
    shared.lock().faults.push(fault.clone());
    HttpResponse::Created().json(fault)
}

/// `DELETE /_sim/faults`.
pub async fn clear_faults(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().faults.clear();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct PushRequest {
    kind: PushKind,
}

/// `POST /_sim/push` `{"kind":"ticket"|"authorization"|"relieve"}`: 200 once acknowledged,
/// 502 with the reason otherwise.
pub async fn push(bytes: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let req: PushRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(&format!(
                "expected {{\"kind\":\"ticket\"|\"authorization\"|\"relieve\"}}: {e}"
            ))
        }
    };
    match pusher::push(&shared, &[req.kind], 4).await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "acknowledged", "kind": req.kind})),
        Err(e) => HttpResponse::BadGateway()
            .json(json!({"errcode": 502, "errmsg": e, "request_id": request_id()})),
    }
}

#[derive(Deserialize)]
struct ClockRequest {
    advance_secs: i64,
}

/// `POST /_sim/clock` `{"advance_secs": N}`: moves the simulator's clock (token and code expiry).
pub async fn advance_clock(bytes: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    match serde_json::from_slice::<ClockRequest>(&bytes) {
        Ok(r) => {
            let mut st = shared.lock();
            st.clock_offset_ms = st
                .clock_offset_ms
                .saturating_add(r.advance_secs.saturating_mul(1000));
            HttpResponse::Ok().json(json!({"clock_offset_ms": st.clock_offset_ms}))
        }
        Err(e) => bad_request(&format!("expected {{\"advance_secs\": N}}: {e}")),
    }
}

/// `GET /_sim/state`: the suite ticket (a fake one), counters and pending faults.
pub async fn state(shared: web::Data<Shared>) -> HttpResponse {
    let st = shared.lock();
    HttpResponse::Ok().json(json!({
        "suite_key": st.data.suite.suite_key,
        "suite_ticket": st.suite_ticket,
        "previous_suite_ticket": st.previous_ticket,
        "ticket_seq": st.ticket_seq,
        "callback_url": st.callback_url,
        "initial_push_acknowledged": st.initial_push_acked,
        "pushes_acknowledged": st.pushes_acked,
        "pushes_failed": st.pushes_failed,
        "last_push_error": st.last_push_error,
        "messages": st.messages.len(),
        "faults": st.faults,
        "calls": st.calls,
        "relieved_corps": st.relieved,
        "clock_offset_ms": st.clock_offset_ms,
    }))
}
