//! The edge <-> cloud wire types: the JSON both services read and write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dingtalk_core::wire::{
    CorpAuthStatus, CorpStatus, EdgeUser, ErrorBody, SendContent, SendRequest, SendResult,
};
use serde_json::json;

#[test]
fn a_template_send_reads_and_writes_the_message_string() {
    let body =
        json!({"corp_id": "c1", "user_ids": ["u1", "u2"], "message": "{\"message\":\"hi\"}"});
    let req: SendRequest = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(
        req,
        SendRequest {
            corp_id: "c1".into(),
            user_ids: vec!["u1".into(), "u2".into()],
            content: SendContent::Template {
                message: "{\"message\":\"hi\"}".into()
            },
        }
    );
    assert_eq!(serde_json::to_value(&req).unwrap(), body);
}

#[test]
fn a_msg_send_reads_and_writes_the_message_object() {
    let body = json!({"corp_id": "c1", "user_ids": ["u1"],
        "msg": {"msgtype": "text", "text": {"content": "hi"}}});
    let req: SendRequest = serde_json::from_value(body.clone()).unwrap();
    assert!(matches!(&req.content, SendContent::Msg { msg } if msg["text"]["content"] == "hi"));
    assert_eq!(serde_json::to_value(&req).unwrap(), body);
}

#[test]
fn a_send_with_both_message_and_msg_or_neither_is_refused() {
    let both = json!({"corp_id": "c1", "user_ids": ["u1"], "message": "{}",
        "msg": {"msgtype": "text", "text": {"content": "hi"}}});
    let err = serde_json::from_value::<SendRequest>(both).unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
    let neither = json!({"corp_id": "c1", "user_ids": ["u1"]});
    assert!(serde_json::from_value::<SendRequest>(neither).is_err());
    let wrong_type = json!({"corp_id": "c1", "user_ids": ["u1"], "message": {"a": 1}});
    assert!(serde_json::from_value::<SendRequest>(wrong_type).is_err());
}

#[test]
fn the_edge_user_has_the_field_names_of_the_contract() {
    let user = EdgeUser {
        nick: "张三".into(),
        corp_id: "c1".into(),
        open_id: "o1".into(),
        union_id: "un1".into(),
        user_id: "zhangsan".into(),
        email: None,
        avatar_url: Some("http://a/x.png".into()),
        mobile: None,
        staff_id: None,
        tenant_id: None,
    };
    let value = serde_json::to_value(&user).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "avatar_url",
            "corp_id",
            "email",
            "mobile",
            "nick",
            "open_id",
            "staff_id",
            "tenant_id",
            "union_id",
            "user_id"
        ]
    );
    assert_eq!(serde_json::from_value::<EdgeUser>(value).unwrap(), user);
}

#[test]
fn corp_status_is_active_or_relieved_in_lowercase() {
    let status = CorpStatus {
        corp_id: "c1".into(),
        corp_name: "Demo Corp".into(),
        agent_id: Some(100001),
        status: CorpAuthStatus::Relieved,
        updated_at: "2026-01-01T00:00:00Z".into(),
    };
    let value = serde_json::to_value(&status).unwrap();
    assert_eq!(value["status"], "relieved");
    assert_eq!(
        serde_json::from_value::<CorpAuthStatus>(json!("active")).unwrap(),
        CorpAuthStatus::Active
    );
    assert!(serde_json::from_value::<CorpAuthStatus>(json!("Active")).is_err());
}

#[test]
fn results_and_errors_have_the_documented_shape() {
    let result: SendResult = serde_json::from_value(json!({"task_ids": [1, 2]})).unwrap();
    assert_eq!(result.task_ids, [1, 2]);
    let err = ErrorBody {
        errcode: 60121,
        errmsg: "no such user".into(),
        request_id: "r1".into(),
    };
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({"errcode": 60121, "errmsg": "no such user", "request_id": "r1"})
    );
}
