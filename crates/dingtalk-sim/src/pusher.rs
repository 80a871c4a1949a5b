//! The event pusher: `SYNC_HTTP_PUSH_HIGH` events (suite ticket, `org_suite_auth`,
//! `org_suite_relieve`), encrypted with the suite's callback crypto and POSTed to the callback
//! URL. A push counts only when the reply decrypts (signature checked) to `success`.
//!
//! In the background it pushes the ticket and every corp's authorization as soon as a callback
//! URL is known, retrying with backoff until acknowledged; with an interval it then rotates the
//! ticket and pushes again every interval. The token APIs accept the current and the previous
//! ticket, so a rotation never strands a caller that has not yet stored the new one.

use std::time::Duration;

use dingtalk_core::crypto::{CallbackCrypto, EncryptedMessage};
use serde_json::{json, Value};

use crate::state::{random_string, Shared, SimState};
use crate::PushKind;

/// The start push: the ticket and every corp's authorization.
pub const FULL: &[PushKind] = &[PushKind::Ticket, PushKind::Authorization];

/// How long the pusher waits for the callback to answer.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest pause between background retries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Builds the decrypted event for these kinds and applies their effect (relieve/authorize).
pub fn build_event(st: &mut SimState, kinds: &[PushKind]) -> Value {
    let now = st.now_ms();
    let suite_id = st.data.suite.suite_id.clone();
    let mut items = Vec::new();
    let mut next_id = now;
    let mut item = |corp_id: &str, biz_type: i64, biz_data: Value| {
        next_id += 1;
        json!({
            "id": next_id,
            "gmt_create": now,
            "gmt_modified": now,
            "subscribe_id": format!("{suite_id}_0"),
            "corp_id": corp_id,
            "biz_id": suite_id,
            "biz_type": biz_type,
            "biz_data": biz_data,
            "open_cursor": 0,
            "status": 0,
        })
    };
    for kind in kinds {
        match kind {
            PushKind::Ticket => {
                let data = json!({
                    "syncAction": "suite_ticket",
                    "suiteTicket": st.suite_ticket,
                    "syncSeq": st.ticket_seq,
                });
                // DingTalk sends biz_data as a JSON string in SyncHTTP pushes.
                items.push(item("dingsimdeveloper", 2, Value::String(data.to_string())));
            }
            PushKind::Authorization => {
                for (i, corp) in st.data.corps.iter().enumerate() {
                    let admin = corp
                        .users
                        .first()
                        .map(|u| u.userid.clone())
                        .unwrap_or_default();
                    let data = json!({
                        "syncAction": "org_suite_auth",
                        "auth_corp_info": {
                            "corpid": corp.corp_id,
                            "corp_name": corp.corp_name,
                            "full_corp_name": corp.corp_name,
                            "corp_type": 0,
                            "corp_type_v2": 0,
                            "industry": "",
                            "auth_level": 1,
                            "auth_channel": "",
                            "auth_channel_type": "",
                            "is_authenticated": false,
                            "is_ecological_corp": false,
                            "corp_logo_url": "",
                        },
                        "auth_info": {"agent": [{
                            "agentid": corp.agent_id,
                            "agent_name": "Demo App",
                            "appid": st.data.suite.suite_id.parse::<i64>().unwrap_or(0),
                            "admin_list": [admin.clone()],
                            "logo_url": "",
                        }]},
                        "auth_user_info": {"userId": admin},
                        "auth_scope": {"errcode": 0, "errmsg": "ok", "condition_field": [],
                            "auth_user_field": [], "auth_org_scopes": {"authed_user": [], "authed_dept": [1]}},
                        "permanent_code": format!("demo-permanent-{}", corp.corp_id),
                        "ch_permanent_code": format!("demo-ch-permanent-{}", corp.corp_id),
                    });
                    // Both encodings occur in DingTalk's documentation: alternate them.
                    let encoded = if (i as u64 + st.pushes_acked) % 2 == 0 {
                        Value::String(data.to_string())
                    } else {
                        data
                    };
                    items.push(item(&corp.corp_id, 4, encoded));
                }
            }
            PushKind::Relieve => {
                for corp in &st.data.corps {
                    let data = json!({"syncAction": "org_suite_relieve", "corpId": corp.corp_id});
                    items.push(item(&corp.corp_id, 4, data));
                }
            }
        }
    }
    for kind in kinds {
        match kind {
            PushKind::Authorization => st.relieved.clear(),
            PushKind::Relieve => {
                let ids: Vec<String> = st.data.corps.iter().map(|c| c.corp_id.clone()).collect();
                st.relieved.extend(ids);
            }
            PushKind::Ticket => {}
        }
    }
    json!({"EventType": "SYNC_HTTP_PUSH_HIGH", "bizData": items})
}

/// One delivery attempt of an already built event to `url`.
async fn attempt(shared: &Shared, url: &str, event: &str) -> Result<(), String> {
    let crypto = {
        let st = shared.lock();
        let s = &st.data.suite;
        CallbackCrypto::new(&s.callback_token, &s.callback_aes_key, &s.suite_key)
            .map_err(|e| format!("the suite's callback settings are unusable: {e}"))?
    };
    let timestamp = chrono::Utc::now().timestamp_millis().to_string();
    let nonce = random_string(8);
    let sealed = crypto.seal(event, &timestamp, &nonce);
    let mut target = url::Url::parse(url).map_err(|e| format!("bad callback URL: {e}"))?;
    target
        .query_pairs_mut()
        .append_pair("signature", &sealed.msg_signature)
        .append_pair("timestamp", &timestamp)
        .append_pair("nonce", &nonce);
    let client = reqwest::Client::builder()
        .timeout(PUSH_TIMEOUT)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let resp = client
        .post(target)
        .json(&json!({"encrypt": sealed.encrypt}))
        .send()
        .await
        .map_err(|e| format!("callback unreachable: {e}"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("reading the callback's reply: {e}"))?;
    if !status.is_success() {
        return Err(format!("callback answered HTTP {status}"));
    }
    let reply: EncryptedMessage = serde_json::from_str(&text)
        .map_err(|_| "callback reply is not the encrypted JSON".to_string())?;
    let msg = crypto
        .open(
            &reply.msg_signature,
            &reply.time_stamp,
            &reply.nonce,
            &reply.encrypt,
        )
        .map_err(|e| format!("callback reply rejected: {e}"))?;
    if msg == "success" {
        Ok(())
    } else {
        Err("callback reply does not say success".to_string())
    }
}

/// Records the outcome of an attempt.
fn record(shared: &Shared, result: &Result<(), String>) {
    let mut st = shared.lock();
    match result {
        Ok(()) => st.pushes_acked += 1,
        Err(e) => {
            st.pushes_failed += 1;
            st.last_push_error = Some(e.clone());
        }
    }
}

/// Pushes these kinds, trying up to `attempts` times with a short backoff.
pub async fn push(shared: &Shared, kinds: &[PushKind], attempts: u32) -> Result<(), String> {
    let (url, event) = {
        let mut st = shared.lock();
        let Some(url) = st.callback_url.clone() else {
            return Err("no callback URL is configured".to_string());
        };
        (url, build_event(&mut st, kinds).to_string())
    };
    let mut last = Err("not attempted".to_string());
    for i in 0..attempts.max(1) {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(200 << i.min(5))).await;
        }
        last = attempt(shared, &url, &event).await;
        record(shared, &last);
        match &last {
            Ok(()) => {
                log::info!("push {kinds:?} acknowledged by {url}");
                return Ok(());
            }
            Err(e) => log::warn!(
                "push {kinds:?} to {url} not acknowledged (attempt {}): {e}",
                i + 1
            ),
        }
    }
    last
}

/// The background loop (runs until aborted).
pub async fn run(shared: Shared, interval: Option<Duration>) {
    let mut backoff = Duration::from_millis(250);
    let mut next_periodic = interval.map(|i| tokio::time::Instant::now() + i);
    loop {
        let pending = {
            let st = shared.lock();
            match (&st.callback_url, st.initial_push_acked) {
                (Some(url), false) => Some(url.clone()),
                _ => None,
            }
        };
        if let Some(url) = pending {
            match push(&shared, FULL, 1).await {
                Ok(()) => {
                    let mut st = shared.lock();
                    if st.callback_url.as_deref() == Some(url.as_str()) {
                        st.initial_push_acked = true;
                    }
                    backoff = Duration::from_millis(250);
                }
                Err(_) => {
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shared.wake_pusher.notified() => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            continue;
        }
        match (next_periodic, interval) {
            (Some(at), Some(every)) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {
                        next_periodic = Some(tokio::time::Instant::now() + every);
                        let has_url = {
                            let mut st = shared.lock();
                            if st.callback_url.is_some() {
                                st.rotate_ticket();
                            }
                            st.callback_url.is_some()
                        };
                        if has_url && push(&shared, FULL, 5).await.is_err() {
                            // Make sure the callback gets the new ticket eventually.
                            shared.lock().initial_push_acked = false;
                        }
                    }
                    _ = shared.wake_pusher.notified() => {}
                }
            }
            _ => shared.wake_pusher.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use actix_web::{web, App, HttpResponse, HttpServer};

    use super::*;
    use crate::{SimConfig, SimData};

    /// A callback answering its first `refusals` pushes with a plain `ok` (not the encrypted
    /// success), then with the encrypted success; returns its URL and how many pushes it got.
    fn flaky_callback(refusals: usize) -> (String, Arc<AtomicUsize>) {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let suite = SimData::demo().suite;
        let crypto = CallbackCrypto::new(
            &suite.callback_token,
            &suite.callback_aes_key,
            &suite.suite_key,
        )
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let (counter, crypto) = (counter.clone(), crypto.clone());
            App::new().route(
                "/cb",
                web::post().to(move || {
                    let reply = if counter.fetch_add(1, Ordering::SeqCst) < refusals {
                        HttpResponse::Ok().body("ok")
                    } else {
                        HttpResponse::Ok().json(crypto.seal("success", "1", "n"))
                    };
                    async move { reply }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        (format!("http://127.0.0.1:{port}/cb"), seen)
    }

    #[tokio::test]
    async fn the_start_push_is_retried_until_the_encrypted_success_comes_back() {
        let (url, seen) = flaky_callback(2);
        let sim = crate::spawn(SimConfig {
            callback_url: Some(url),
            ..SimConfig::for_tests()
        })
        .await
        .unwrap();
        for _ in 0..200 {
            if sim.initial_push_acknowledged() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(sim.initial_push_acknowledged(), "never acknowledged");
        // Two replies without the encrypted success were not taken as acknowledgements.
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        assert_eq!(sim.pushes_acknowledged(), 1);
        sim.stop().await;
    }
}
