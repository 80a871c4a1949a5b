//! The client against a tiny canned HTTP server: what DingTalk receives (paths, token placement,
//! field names, the signed query) and how each kind of answer maps to a typed error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use dingtalk_core::client::{AsyncSend, ClientConfig, DingTalkClient, SendProgress, TemplateSend};
use dingtalk_core::error::{DingTalkError, ErrorKind};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    /// Path and raw query, exactly as sent.
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// What the server answers: a canned response, or nothing at all.
#[derive(Clone)]
enum Canned {
    Reply {
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: &'static str,
    },
    Hang,
}

fn json(status: u16, body: &'static str) -> Canned {
    Canned::Reply {
        status,
        headers: vec![("Content-Type", "application/json")],
        body,
    }
}

struct Server {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    async fn start(canned: Canned) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (canned, log) = (canned.clone(), log.clone());
                tokio::spawn(async move { serve(stream, canned, log).await });
            }
        });
        Server { base, received }
    }

    fn client(&self) -> DingTalkClient {
        DingTalkClient::new(ClientConfig {
            request_timeout: Duration::from_millis(500),
            ..ClientConfig::single_host(&self.base)
        })
        .unwrap()
    }

    fn only_request(&self) -> Received {
        let received = self.received.lock().unwrap();
        assert_eq!(received.len(), 1, "exactly one request: {received:?}");
        received[0].clone()
    }
}

async fn serve(mut stream: TcpStream, canned: Canned, log: Arc<Mutex<Vec<Received>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_string();
    let target = request_line.next().unwrap().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.unwrap();
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    log.lock().unwrap().push(Received {
        method,
        target,
        headers,
        body: String::from_utf8(body).unwrap(),
    });
    match canned {
        Canned::Hang => {
            // Keep the connection open without answering until the client gives up.
            let _ = stream.read(&mut chunk).await;
        }
        Canned::Reply {
            status,
            headers,
            body,
        } => {
            let mut response = format!(
                "HTTP/1.1 {status} Canned\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                response.push_str(&format!("{name}: {value}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(body);
            stream.write_all(response.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
        }
    }
}

/// Calls getbyunionid against a server answering `canned`.
async fn unionid_call(canned: Canned) -> (Server, DingTalkError) {
    let server = Server::start(canned).await;
    let err = server
        .client()
        .get_by_unionid("tok-secret-1", "union-1")
        .await
        .unwrap_err();
    (server, err)
}

fn api_parts(err: &DingTalkError) -> (u16, String, Option<i64>, ErrorKind, Option<Duration>) {
    match err {
        DingTalkError::Api {
            status,
            code,
            errcode,
            kind,
            retry_after,
            ..
        } => (*status, code.clone(), *errcode, *kind, *retry_after),
        other => panic!("expected an Api error, got {other:?}"),
    }
}

#[tokio::test]
async fn getbyunionid_sends_token_in_query_and_parses_numbers_sent_as_strings() {
    let server = Server::start(json(
        200,
        r#"{"errcode":"0","errmsg":"ok","request_id":"r1","result":{"userid":"manager1","contact_type":"1"}}"#,
    ))
    .await;
    let found = server
        .client()
        .get_by_unionid("tok/+ 1", "union-1")
        .await
        .unwrap();
    assert_eq!(found.userid, "manager1");
    assert_eq!(found.contact_type, 1);
    let req = server.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.target,
        "/topapi/user/getbyunionid?access_token=tok%2F%2B%201"
    );
    assert_eq!(req.json(), serde_json::json!({ "unionid": "union-1" }));
}

#[tokio::test]
async fn legacy_60121_is_not_in_org() {
    let (_, err) = unionid_call(json(200, r#"{"errcode":60121,"errmsg":"找不到该用户"}"#)).await;
    assert_eq!(
        api_parts(&err),
        (200, "60121".into(), Some(60121), ErrorKind::NotInOrg, None)
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn legacy_88_with_sub_code_40014_is_token_invalid_under_the_sub_code() {
    let (_, err) = unionid_call(json(
        200,
        r#"{"errcode":88,"errmsg":"鉴权异常","sub_code":"40014","sub_msg":"不合法的access_token"}"#,
    ))
    .await;
    assert_eq!(
        api_parts(&err),
        (200, "40014".into(), Some(88), ErrorKind::TokenInvalid, None)
    );
    assert!(err.is_token_invalid());
    assert!(err.to_string().contains("不合法的access_token"));
}

#[tokio::test]
async fn legacy_88_without_sub_code_is_transient() {
    let (_, err) = unionid_call(json(200, r#"{"errcode":"88","errmsg":"auth timeout"}"#)).await;
    assert_eq!(
        api_parts(&err),
        (200, "88".into(), Some(88), ErrorKind::Transient, None)
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn legacy_minus_1_is_transient() {
    let (_, err) = unionid_call(json(200, r#"{"errcode":-1,"errmsg":"系统繁忙"}"#)).await;
    assert_eq!(
        api_parts(&err),
        (200, "-1".into(), Some(-1), ErrorKind::Transient, None)
    );
}

#[tokio::test]
async fn legacy_90018_is_rate_limited() {
    let (_, err) = unionid_call(json(200, r#"{"errcode":90018,"errmsg":"qps"}"#)).await;
    assert_eq!(
        api_parts(&err),
        (
            200,
            "90018".into(),
            Some(90018),
            ErrorKind::RateLimited,
            None
        )
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn new_api_400_invalid_authentication_is_token_invalid() {
    let server = Server::start(json(
        400,
        r#"{"code":"InvalidAuthentication","requestid":"30EE","message":"不合法的access_token"}"#,
    ))
    .await;
    let err = server.client().user_me("user-tok").await.unwrap_err();
    assert_eq!(
        api_parts(&err),
        (
            400,
            "InvalidAuthentication".into(),
            None,
            ErrorKind::TokenInvalid,
            None
        )
    );
    let req = server.only_request();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/v1.0/contact/users/me")
    );
    assert_eq!(req.header("x-acs-dingtalk-access-token"), Some("user-tok"));
}

#[tokio::test]
async fn new_api_403_qps_limit_is_rate_limited() {
    let server = Server::start(json(
        403,
        r#"{"code":"Forbidden.AccessDenied.QpsLimitForApi","message":"qps"}"#,
    ))
    .await;
    let err = server
        .client()
        .app_access_token("k", "s")
        .await
        .unwrap_err();
    let (status, code, errcode, kind, _) = api_parts(&err);
    assert_eq!(
        (status, code.as_str(), errcode, kind),
        (
            403,
            "Forbidden.AccessDenied.QpsLimitForApi",
            None,
            ErrorKind::RateLimited
        )
    );
}

#[tokio::test]
async fn new_api_403_permission_denied_is_permission_missing() {
    let server = Server::start(json(
        403,
        r#"{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"no"}"#,
    ))
    .await;
    let err = server.client().user_me("t").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionMissing);
}

#[tokio::test]
async fn http_429_with_retry_after_carries_the_delay() {
    let server = Server::start(Canned::Reply {
        status: 429,
        headers: vec![("Retry-After", "2"), ("Content-Type", "application/json")],
        body: r#"{"code":"system.busy","message":"busy"}"#,
    })
    .await;
    let err = server
        .client()
        .app_access_token("k", "s")
        .await
        .unwrap_err();
    assert_eq!(
        api_parts(&err),
        (
            429,
            "system.busy".into(),
            None,
            ErrorKind::RateLimited,
            Some(Duration::from_secs(2))
        )
    );

    let server = Server::start(Canned::Reply {
        status: 429,
        headers: vec![("Retry-After", "2")],
        body: "",
    })
    .await;
    let err = server
        .client()
        .app_access_token("k", "s")
        .await
        .unwrap_err();
    match &err {
        DingTalkError::HttpStatus {
            status,
            retry_after,
            ..
        } => assert_eq!((*status, *retry_after), (429, Some(Duration::from_secs(2)))),
        other => panic!("expected HttpStatus, got {other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn http_502_with_an_html_body_is_a_transient_http_status() {
    let (_, err) = unionid_call(Canned::Reply {
        status: 502,
        headers: vec![("Content-Type", "text/html")],
        body: "<html><body>Bad Gateway</body></html>",
    })
    .await;
    match &err {
        DingTalkError::HttpStatus {
            status,
            retry_after,
            endpoint,
        } => {
            assert_eq!((*status, *retry_after), (502, None));
            assert_eq!(endpoint, "/topapi/user/getbyunionid");
        }
        other => panic!("expected HttpStatus, got {other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn garbage_200_body_is_a_decode_error() {
    let (_, err) = unionid_call(Canned::Reply {
        status: 200,
        headers: vec![],
        body: "this is not json {",
    })
    .await;
    assert!(matches!(err, DingTalkError::Decode { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_200_missing_the_expected_fields_is_a_decode_error() {
    let (_, err) = unionid_call(json(200, r#"{"errcode":0,"errmsg":"ok"}"#)).await;
    assert!(matches!(err, DingTalkError::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_transport_timeout_without_the_token() {
    let (_, err) = unionid_call(Canned::Hang).await;
    match &err {
        DingTalkError::Transport {
            endpoint, timeout, ..
        } => {
            assert!(*timeout);
            assert_eq!(endpoint, "/topapi/user/getbyunionid");
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    assert!(err.is_retryable());
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("tok-secret-1"), "{shown}");
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_that_is_not_a_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = DingTalkClient::new(ClientConfig::single_host(&base)).unwrap();
    let err = client.gettoken("key", "app-secret-9").await.unwrap_err();
    assert!(
        matches!(err, DingTalkError::Transport { timeout: false, .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("app-secret-9"), "{shown}");
}

#[tokio::test]
async fn get_corp_token_signs_the_query_and_encodes_the_signature_exactly_once() {
    let server = Server::start(json(
        200,
        r#"{"access_token":"corp-tok","expires_in":"7200","errcode":0,"errmsg":"ok"}"#,
    ))
    .await;
    let secret = "c9RMIAGoL_K26gxkw4LrLGf2ERSQVqMBd1K_jclUIT3WM249uVCwf0Ug2RpG4dBh";
    let ticket = "ticket+/=x";
    let token = server
        .client()
        .get_corp_token("suiteKey1", secret, "dingcorp1", ticket)
        .await
        .unwrap();
    assert_eq!(token.token.expose_secret(), "corp-tok");
    assert_eq!(token.expires_in, Some(7200));

    let req = server.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.json(),
        serde_json::json!({ "auth_corpid": "dingcorp1" })
    );
    let (path, query) = req.target.split_once('?').unwrap();
    assert_eq!(path, "/service/get_corp_token");
    let params: Vec<(&str, &str)> = query
        .split('&')
        .map(|p| p.split_once('=').unwrap())
        .collect();
    let names: Vec<&str> = params.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["accessKey", "timestamp", "suiteTicket", "signature"]
    );
    let raw = |name: &str| params.iter().find(|(n, _)| *n == name).unwrap().1;
    let decode = |v: &str| {
        percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    assert_eq!(raw("accessKey"), "suiteKey1");
    assert_eq!(decode(raw("suiteTicket")), ticket);
    let timestamp = raw("timestamp");
    assert_eq!(timestamp.len(), 13, "milliseconds: {timestamp}");
    assert!(timestamp.bytes().all(|b| b.is_ascii_digit()));

    // Recompute the signature independently: Base64(HMAC-SHA256(secret, ts + "\n" + ticket)).
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}\n{ticket}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let signature = raw("signature");
    // Decoding once gives the Base64 signature back; nothing was encoded twice.
    assert_eq!(decode(signature), expected);
    assert!(!signature.contains("%25"), "{signature}");
    assert!(!signature.contains(['+', '/', '=']), "{signature}");
}

#[tokio::test]
async fn token_calls_use_dingtalk_paths_and_field_names() {
    let server = Server::start(json(200, r#"{"accessToken":"t","expireIn":7200}"#)).await;
    let client = server.client();
    let t = client
        .corp_access_token("sk", "ss", "corp", "tick")
        .await
        .unwrap();
    assert_eq!((t.token.expose_secret(), t.expires_in), ("t", Some(7200)));
    client.app_access_token("ak", "as").await.unwrap();
    let user = client.user_access_token("ck", "cs", "code1").await.unwrap();
    assert_eq!(user.access_token.expose_secret(), "t");
    let received = server.received.lock().unwrap().clone();
    let calls: Vec<(&str, &str, serde_json::Value)> = received
        .iter()
        .map(|r| (r.method.as_str(), r.target.as_str(), r.json()))
        .collect();
    assert_eq!(
        calls,
        vec![
            (
                "POST",
                "/v1.0/oauth2/corpAccessToken",
                serde_json::json!({"suiteKey":"sk","suiteSecret":"ss","authCorpId":"corp","suiteTicket":"tick"})
            ),
            (
                "POST",
                "/v1.0/oauth2/accessToken",
                serde_json::json!({"appKey":"ak","appSecret":"as"})
            ),
            (
                "POST",
                "/v1.0/oauth2/userAccessToken",
                serde_json::json!({"clientId":"ck","clientSecret":"cs","code":"code1","grantType":"authorization_code"})
            ),
        ]
    );
}

#[tokio::test]
async fn gettoken_sends_app_key_and_secret_in_the_query() {
    let server = Server::start(json(
        200,
        r#"{"errcode":0,"access_token":"legacy","errmsg":"ok","expires_in":7200}"#,
    ))
    .await;
    let t = server
        .client()
        .gettoken("app key", "sec&ret")
        .await
        .unwrap();
    assert_eq!(
        (t.token.expose_secret(), t.expires_in),
        ("legacy", Some(7200))
    );
    let req = server.only_request();
    assert_eq!(req.method, "GET");
    assert_eq!(req.target, "/gettoken?appkey=app%20key&appsecret=sec%26ret");
}

#[tokio::test]
async fn message_calls_send_dingtalk_field_names() {
    let server = Server::start(json(
        200,
        r#"{"errcode":0,"task_id":"256","progress":{"progress_in_percent":100,"status":2},"send_result":{"read_user_id_list":["u1"]}}"#,
    ))
    .await;
    let client = server.client();
    let users = vec!["u1".to_string(), "u2".to_string()];
    let task = client
        .send_by_template(
            "tok",
            &TemplateSend {
                agent_id: 7,
                template_id: "tpl",
                user_ids: &users,
                data: r#"{"name":"x"}"#,
            },
        )
        .await
        .unwrap();
    assert_eq!(task, 256);
    let msg = serde_json::json!({"msgtype":"text","text":{"content":"hi"}});
    let task = client
        .async_send_v2(
            "tok",
            &AsyncSend {
                agent_id: 7,
                user_ids: &users,
                msg: &msg,
            },
        )
        .await
        .unwrap();
    assert_eq!(task, 256);
    let progress = client.get_send_progress("tok", 7, 256).await.unwrap();
    assert_eq!(
        progress,
        SendProgress {
            progress_in_percent: 100,
            status: 2
        }
    );
    let result = client.get_send_result("tok", 7, 256).await.unwrap();
    assert_eq!(result.read_user_id_list, vec!["u1"]);

    let received = server.received.lock().unwrap().clone();
    let calls: Vec<(&str, serde_json::Value)> = received
        .iter()
        .map(|r| (r.target.as_str(), r.json()))
        .collect();
    let base = "/topapi/message/corpconversation";
    assert_eq!(
        calls,
        vec![
            (
                &*format!("{base}/sendbytemplate?access_token=tok"),
                serde_json::json!({"agent_id":7,"template_id":"tpl","userid_list":"u1,u2","data":"{\"name\":\"x\"}"})
            ),
            (
                &*format!("{base}/asyncsend_v2?access_token=tok"),
                serde_json::json!({"agent_id":7,"userid_list":"u1,u2","msg":msg})
            ),
            (
                &*format!("{base}/getsendprogress?access_token=tok"),
                serde_json::json!({"agent_id":7,"task_id":256})
            ),
            (
                &*format!("{base}/getsendresult?access_token=tok"),
                serde_json::json!({"agent_id":7,"task_id":256})
            ),
        ]
    );
}
