//! Parsing of decrypted callback events, with payloads shaped like DingTalk's documented ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dingtalk_core::events::{parse_event, BizData, CallbackEvent, SyncPriority};
use secrecy::ExposeSecret;
use serde_json::json;

const PERMANENT_CODE: &str = "pc_5ecret_Zq81nLx0w";
const CH_PERMANENT_CODE: &str = "chpc_5ecret_Kd72mP";
const SUITE_TICKET: &str = "ticket_S3cr3t_abc123";

/// A realistic `org_suite_auth` biz_data (dingtalk-api.md section 9).
fn org_suite_auth_data(sync_action: &str, agent_id: serde_json::Value) -> serde_json::Value {
    json!({
        "syncAction": sync_action,
        "auth_corp_info": {
            "corpid": "ding5f4a1b2c3d",
            "corp_name": "示例科技",
            "full_corp_name": "示例科技有限公司",
            "corp_type": 0,
            "auth_level": 1,
            "is_authenticated": false
        },
        "auth_info": {"agent": [{"agentid": agent_id, "agent_name": "Gateway", "appid": 12345, "admin_list": ["manager01"]}]},
        "auth_user_info": {"userId": "manager01"},
        "auth_scope": {"errcode": 0, "errmsg": "ok", "auth_org_scopes": {"authed_user": [], "authed_dept": [-1]}},
        "permanent_code": PERMANENT_CODE,
        "ch_permanent_code": CH_PERMANENT_CODE
    })
}

fn push(event_type: &str, items: Vec<serde_json::Value>) -> String {
    json!({"EventType": event_type, "bizData": items}).to_string()
}

fn item(biz_type: serde_json::Value, biz_data: serde_json::Value) -> serde_json::Value {
    json!({
        "id": 1001,
        "gmt_create": 1700000000000i64,
        "gmt_modified": 1700000001234i64,
        "subscribe_id": "27051_0",
        "corp_id": "ding5f4a1b2c3d",
        "biz_id": "27051",
        "biz_type": biz_type,
        "biz_data": biz_data,
        "open_cursor": 0,
        "status": 0
    })
}

fn single_item(msg: &str) -> dingtalk_core::events::SyncItem {
    match parse_event(msg).unwrap() {
        CallbackEvent::SyncPush { mut items, .. } => {
            assert_eq!(items.len(), 1);
            items.remove(0)
        }
        other => panic!("expected a sync push, got {other:?}"),
    }
}

#[test]
fn the_three_url_checks_parse_as_check_url() {
    for msg in [
        r#"{"EventType":"check_url"}"#,
        r#"{"EventType":"check_create_suite_url","Random":"brdkKLMW"}"#,
        r#"{"EventType":"check_update_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}"#,
    ] {
        let event = parse_event(msg).unwrap();
        let expected: serde_json::Value = serde_json::from_str(msg).unwrap();
        match &event {
            CallbackEvent::CheckUrl { event_type } => {
                assert_eq!(event_type, expected["EventType"].as_str().unwrap())
            }
            other => panic!("{msg} parsed as {other:?}"),
        }
        assert_eq!(event.event_type(), expected["EventType"].as_str().unwrap());
    }
}

#[test]
fn legacy_suite_ticket_parses_with_a_numeric_timestamp() {
    let msg = json!({"SuiteKey": "suite4xxxxxxxxxxxxxxx", "EventType": "suite_ticket",
        "TimeStamp": 1602040807000i64, "SuiteTicket": SUITE_TICKET})
    .to_string();
    match parse_event(&msg).unwrap() {
        CallbackEvent::SuiteTicket {
            suite_key,
            ticket,
            timestamp,
        } => {
            assert_eq!(suite_key, "suite4xxxxxxxxxxxxxxx");
            assert_eq!(ticket.expose_secret(), SUITE_TICKET);
            assert_eq!(timestamp, 1602040807000);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn legacy_suite_ticket_accepts_a_string_timestamp_and_hides_the_ticket() {
    let msg = json!({"SuiteKey": "suiteabc", "EventType": "suite_ticket",
        "TimeStamp": "1602040807000", "SuiteTicket": SUITE_TICKET})
    .to_string();
    let event = parse_event(&msg).unwrap();
    assert!(!format!("{event:?}").contains(SUITE_TICKET));
    match event {
        CallbackEvent::SuiteTicket { timestamp, .. } => assert_eq!(timestamp, 1602040807000),
        other => panic!("{other:?}"),
    }
}

#[test]
fn legacy_suite_ticket_without_a_ticket_is_kept_as_unknown() {
    let event = parse_event(r#"{"EventType":"suite_ticket","SuiteKey":"suiteabc"}"#).unwrap();
    match event {
        CallbackEvent::Unknown { event_type } => assert_eq!(event_type, "suite_ticket"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn legacy_suite_relieve_parses() {
    let msg = r#"{"EventType":"suite_relieve","SuiteKey":"suiteabc","TimeStamp":1602040807000,"AuthCorpId":"ding5f4a1b2c3d"}"#;
    match parse_event(msg).unwrap() {
        CallbackEvent::SuiteRelieve { suite_key, corp_id } => {
            assert_eq!(suite_key, "suiteabc");
            assert_eq!(corp_id, "ding5f4a1b2c3d");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn sync_push_suite_ticket_with_biz_data_as_a_json_string() {
    let data = json!({"syncAction": "suite_ticket", "suiteTicket": SUITE_TICKET, "syncSeq": "ABC"});
    let msg = push(
        "SYNC_HTTP_PUSH_HIGH",
        vec![item(json!(2), json!(data.to_string()))],
    );
    let event = parse_event(&msg).unwrap();
    assert_eq!(event.event_type(), "SYNC_HTTP_PUSH_HIGH");
    assert!(!format!("{event:?}").contains(SUITE_TICKET));
    let item = single_item(&msg);
    assert_eq!(item.subscribe_id, "27051_0");
    assert_eq!(item.corp_id, "ding5f4a1b2c3d");
    assert_eq!(item.biz_id, "27051");
    assert_eq!(item.biz_type, 2);
    assert_eq!(item.gmt_modified, 1700000001234);
    match item.data {
        BizData::SuiteTicket { ticket } => assert_eq!(ticket.expose_secret(), SUITE_TICKET),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sync_push_suite_ticket_with_biz_data_as_an_object() {
    let data = json!({"syncAction": "suite_ticket", "suiteTicket": SUITE_TICKET});
    let item = single_item(&push("SYNC_HTTP_PUSH_HIGH", vec![item(json!(2), data)]));
    match item.data {
        BizData::SuiteTicket { ticket } => assert_eq!(ticket.expose_secret(), SUITE_TICKET),
        other => panic!("{other:?}"),
    }
}

#[test]
fn org_suite_auth_as_a_string_yields_the_authorization() {
    let data = org_suite_auth_data("org_suite_auth", json!(100001));
    let item = single_item(&push(
        "SYNC_HTTP_PUSH_HIGH",
        vec![item(json!(4), json!(data.to_string()))],
    ));
    match item.data {
        BizData::OrgSuiteAuth(auth) => {
            assert_eq!(auth.corp_id, "ding5f4a1b2c3d");
            assert_eq!(auth.corp_name, "示例科技");
            assert_eq!(auth.agent_id, Some(100001));
            assert_eq!(auth.permanent_code.unwrap().expose_secret(), PERMANENT_CODE);
            assert_eq!(
                auth.ch_permanent_code.unwrap().expose_secret(),
                CH_PERMANENT_CODE
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn org_suite_change_as_an_object_with_string_numbers_is_the_latest_authorization() {
    let data = org_suite_auth_data("org_suite_change", json!("100001"));
    let mut it = item(json!("4"), data);
    it["gmt_modified"] = json!("1700000009999");
    let item = single_item(&push("SYNC_HTTP_PUSH_HIGH", vec![it]));
    assert_eq!(item.biz_type, 4);
    assert_eq!(item.gmt_modified, 1700000009999);
    match item.data {
        BizData::OrgSuiteAuth(auth) => {
            assert_eq!(auth.corp_id, "ding5f4a1b2c3d");
            assert_eq!(auth.agent_id, Some(100001));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn org_suite_auth_without_auth_corp_info_falls_back_to_the_item_corp_id() {
    let data = json!({"syncAction": "org_suite_auth", "auth_info": {"agent": []}});
    let mut it = item(json!(4), data);
    it["corp_id"] = json!("dingfallback");
    let item = single_item(&push("SYNC_HTTP_PUSH_HIGH", vec![it]));
    match item.data {
        BizData::OrgSuiteAuth(auth) => {
            assert_eq!(auth.corp_id, "dingfallback");
            assert_eq!(auth.corp_name, "");
            assert_eq!(auth.agent_id, None);
            assert!(auth.permanent_code.is_none());
            assert!(auth.ch_permanent_code.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn org_suite_relieve_names_the_corp() {
    let data = json!({"syncAction": "org_suite_relieve"});
    let item = single_item(&push("SYNC_HTTP_PUSH_HIGH", vec![item(json!(4), data)]));
    match item.data {
        BizData::OrgSuiteRelieve { corp_id } => assert_eq!(corp_id, "ding5f4a1b2c3d"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_biz_types_and_actions_are_kept_as_other() {
    let msg = push(
        "SYNC_HTTP_PUSH_MEDIUM",
        vec![
            item(
                json!(13),
                json!({"syncAction": "user_add_org", "userid": "u1"}),
            ),
            item(json!(4), json!({"syncAction": "org_suite_something_new"})),
            item(
                json!(7),
                json!(r#"{"syncAction":"org_micro_app_stop","agentId":1}"#),
            ),
        ],
    );
    let event = parse_event(&msg).unwrap();
    assert_eq!(event.event_type(), "SYNC_HTTP_PUSH_MEDIUM");
    let CallbackEvent::SyncPush { priority, items } = event else {
        panic!("not a push");
    };
    assert_eq!(priority, SyncPriority::Medium);
    let actions: Vec<_> = items
        .iter()
        .map(|i| match &i.data {
            BizData::Other { sync_action } => (i.biz_type, sync_action.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            (13, Some("user_add_org".to_string())),
            (4, Some("org_suite_something_new".to_string())),
            (7, Some("org_micro_app_stop".to_string())),
        ]
    );
}

#[test]
fn a_malformed_biz_data_item_does_not_spoil_the_rest_of_the_push() {
    let good = json!({"syncAction": "suite_ticket", "suiteTicket": SUITE_TICKET});
    let msg = push(
        "SYNC_HTTP_PUSH_HIGH",
        vec![
            item(json!(4), json!("{not json")),
            item(json!(4), json!("[1,2]")),
            item(json!(4), json!(42)),
            json!("not an object"),
            item(json!(2), json!({"syncAction": "suite_ticket"})),
            item(json!(2), good),
        ],
    );
    let CallbackEvent::SyncPush { items, .. } = parse_event(&msg).unwrap() else {
        panic!("not a push");
    };
    assert_eq!(items.len(), 6);
    for item in &items[..4] {
        assert!(
            matches!(item.data, BizData::Other { sync_action: None }),
            "{item:?}"
        );
    }
    assert!(matches!(
        &items[4].data,
        BizData::Other { sync_action: Some(a) } if a == "suite_ticket"
    ));
    assert!(matches!(items[5].data, BizData::SuiteTicket { .. }));
}

#[test]
fn a_push_without_biz_data_has_no_items() {
    let CallbackEvent::SyncPush { items, priority } =
        parse_event(r#"{"EventType":"SYNC_HTTP_PUSH_HIGH"}"#).unwrap()
    else {
        panic!("not a push");
    };
    assert_eq!(priority, SyncPriority::High);
    assert!(items.is_empty());
}

#[test]
fn unknown_event_types_are_kept() {
    let event =
        parse_event(r#"{"EventType":"user_add_org","TimeStamp":1,"UserId":["u1"],"CorpId":"c"}"#)
            .unwrap();
    match &event {
        CallbackEvent::Unknown { event_type } => assert_eq!(event_type, "user_add_org"),
        other => panic!("{other:?}"),
    }
    assert_eq!(event.event_type(), "user_add_org");
}

#[test]
fn only_non_json_non_objects_and_missing_event_types_are_errors() {
    for msg in [
        "",
        "not json",
        "[1,2]",
        "\"check_url\"",
        "null",
        "{}",
        r#"{"EventType":42}"#,
        r#"{"eventtype":"check_url"}"#,
    ] {
        assert!(parse_event(msg).is_err(), "{msg:?} should be refused");
    }
}

#[test]
fn debug_output_never_contains_the_permanent_codes() {
    let data = org_suite_auth_data("org_suite_auth", json!(100001));
    let msg = push(
        "SYNC_HTTP_PUSH_HIGH",
        vec![item(json!(4), json!(data.to_string()))],
    );
    let event = parse_event(&msg).unwrap();
    let event_debug = format!("{event:?}");
    let pretty_debug = format!("{event:#?}");
    let item = single_item(&msg);
    let BizData::OrgSuiteAuth(auth) = &item.data else {
        panic!("not an authorization");
    };
    let auth_debug = format!("{auth:?}");
    for debug in [&event_debug, &pretty_debug, &auth_debug] {
        assert!(!debug.contains(PERMANENT_CODE), "{debug}");
        assert!(!debug.contains(CH_PERMANENT_CODE), "{debug}");
        assert!(!debug.contains("5ecret"), "{debug}");
    }
    assert!(auth_debug.contains("ding5f4a1b2c3d"));
}
