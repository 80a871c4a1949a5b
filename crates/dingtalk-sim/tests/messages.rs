//! The userid lookup and work notifications: what the simulator records and answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{json, Value};
use support::{corp_token, get_json, http, post_json, sim};

const CONV: &str = "/topapi/message/corpconversation";

#[tokio::test]
async fn getbyunionid_resolves_members_and_answers_60121_for_outsiders() {
    let sim = sim().await;
    let token = corp_token(&sim).await;
    let url = format!(
        "{}/topapi/user/getbyunionid?access_token={token}",
        sim.base_url()
    );
    let (status, body) = post_json(&url, json!({"unionid": "union-lisi"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["errcode"], 0);
    assert_eq!(body["result"]["userid"], "lisi");
    assert_eq!(body["result"]["contact_type"], 0);
    assert!(body["request_id"].as_str().is_some());
    let (status, body) = post_json(&url, json!({"unionid": "union-outsider"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["errcode"], 60121);
    assert_eq!(body["errmsg"], "找不到该用户");
    // Form bodies work as well.
    let resp = http()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("unionid=union-wangwu")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["result"]["userid"], "wangwu");
    sim.stop().await;
}

#[tokio::test]
async fn both_sends_are_recorded_with_increasing_task_ids() {
    let sim = sim().await;
    let token = corp_token(&sim).await;
    let base = sim.base_url();
    let (_, t1) = post_json(
        &format!("{base}{CONV}/sendbytemplate?access_token={token}"),
        json!({"agent_id": 100001, "template_id": "demo-template", "userid_list": "zhangsan,lisi",
               "data": "{\"message\":\"hello\",\"url\":\"http://x\"}"}),
    )
    .await;
    assert_eq!(t1["errcode"], 0, "{t1}");
    let (_, t2) = post_json(
        &format!("{base}{CONV}/asyncsend_v2?access_token={token}"),
        json!({"agent_id": "100001", "userid_list": "wangwu",
               "msg": {"msgtype": "text", "text": {"content": "hi"}}}),
    )
    .await;
    assert_eq!(t2["errcode"], 0, "{t2}");
    assert!(t2["task_id"].as_i64().unwrap() > t1["task_id"].as_i64().unwrap());

    let msgs = sim.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].api, "sendbytemplate");
    assert_eq!(msgs[0].corp_id, "dingdemocorp001");
    assert_eq!(msgs[0].agent_id, 100001);
    assert_eq!(msgs[0].user_ids, vec!["zhangsan", "lisi"]);
    assert_eq!(msgs[0].template_id.as_deref(), Some("demo-template"));
    assert_eq!(msgs[0].data.as_ref().unwrap()["message"], "hello");
    assert_eq!(msgs[1].api, "asyncsend_v2");
    assert_eq!(msgs[1].msg.as_ref().unwrap()["text"]["content"], "hi");
    assert_eq!(msgs[1].task_id, t2["task_id"].as_i64().unwrap());

    let (_, listed) = get_json(&format!("{base}/_sim/messages")).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let inbox = http()
        .get(format!("{base}/_sim/inbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200);
    let page = inbox.text().await.unwrap();
    assert!(page.contains("张三") && page.contains("hello"));
    let resp = http()
        .delete(format!("{base}/_sim/messages"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert!(sim.messages().is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn sends_are_validated_like_dingtalk() {
    let sim = sim().await;
    let token = corp_token(&sim).await;
    let url = format!(
        "{}{CONV}/sendbytemplate?access_token={token}",
        sim.base_url()
    );
    let good = json!({"agent_id": 100001, "template_id": "demo-template",
                      "userid_list": "zhangsan", "data": "{}"});
    let too_many = (0..101)
        .map(|i| format!("u{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let cases = [
        ("agent_id", json!(999), 400002),
        ("userid_list", json!(""), 400002),
        ("userid_list", json!(too_many), 400002),
        ("template_id", json!("no-such-template"), 885001),
        ("data", json!("not json"), 400002),
    ];
    for (field, value, code) in cases {
        let mut body = good.clone();
        body[field] = value;
        let (status, answer) = post_json(&url, body).await;
        assert_eq!(status, 200);
        assert_eq!(answer["errcode"], code, "{field}: {answer}");
    }
    let (_, answer) = post_json(
        &format!("{}{CONV}/asyncsend_v2?access_token={token}", sim.base_url()),
        json!({"agent_id": 100001, "userid_list": "zhangsan", "msg": {"text": {}}}),
    )
    .await;
    assert_eq!(answer["errcode"], 400002, "msg without msgtype");
    let resp = http()
        .post(&url)
        .header("content-type", "application/json")
        .body("[1,2")
        .send()
        .await
        .unwrap();
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["errcode"], 400002);
    assert!(sim.messages().is_empty(), "nothing invalid was recorded");
    sim.stop().await;
}

#[tokio::test]
async fn progress_and_result_report_on_a_recorded_task() {
    let sim = sim().await;
    let token = corp_token(&sim).await;
    let base = sim.base_url();
    let (_, sent) = post_json(
        &format!("{base}{CONV}/asyncsend_v2?access_token={token}"),
        json!({"agent_id": 100001, "userid_list": "zhangsan,ghost",
               "msg": {"msgtype": "text", "text": {"content": "hi"}}}),
    )
    .await;
    let task_id = sent["task_id"].clone();
    let (_, progress) = post_json(
        &format!("{base}{CONV}/getsendprogress?access_token={token}"),
        json!({"agent_id": 100001, "task_id": task_id}),
    )
    .await;
    assert_eq!(progress["errcode"], 0);
    assert_eq!(progress["progress"]["progress_in_percent"], 100);
    assert_eq!(progress["progress"]["status"], 2);
    let (_, result) = post_json(
        &format!("{base}{CONV}/getsendresult?access_token={token}"),
        json!({"agent_id": 100001, "task_id": task_id}),
    )
    .await;
    assert_eq!(
        result["send_result"]["invalid_user_id_list"],
        json!(["ghost"])
    );
    assert_eq!(
        result["send_result"]["unread_user_id_list"],
        json!(["zhangsan"])
    );
    assert_eq!(result["send_result"]["forbidden_user_id_list"], json!([]));
    let (_, unknown) = post_json(
        &format!("{base}{CONV}/getsendresult?access_token={token}"),
        json!({"agent_id": 100001, "task_id": 1}),
    )
    .await;
    assert_ne!(unknown["errcode"], 0);
    sim.stop().await;
}

#[tokio::test]
async fn unknown_paths_answer_in_the_host_style() {
    let sim = sim().await;
    let (status, body) = get_json(&format!("{}/topapi/nothing/here", sim.base_url())).await;
    assert_eq!((status, body["errcode"].as_i64()), (200, Some(22)));
    let (status, body) = get_json(&format!("{}/v1.0/nothing", sim.base_url())).await;
    assert_eq!(status, 404);
    assert!(body["code"].as_str().is_some());
    sim.stop().await;
}
