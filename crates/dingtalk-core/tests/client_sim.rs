//! The client against the simulator in-process: the whole OAuth exchange from the login redirect
//! to the org userid, every token flavour, both sends landing in the simulator, and every
//! injected fault either healed by the retry policy / token cache or surfaced as the right typed
//! error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use dingtalk_core::client::{AsyncSend, ClientConfig, DingTalkClient, TemplateSend};
use dingtalk_core::error::{DingTalkError, ErrorKind};
use dingtalk_core::retry::RetryPolicy;
use dingtalk_core::token::{TokenCache, TokenKey};
use dingtalk_sim::{Fault, FaultKind, SimConfig, SimHandle};
use secrecy::ExposeSecret;
use serde_json::json;

const SUITE_KEY: &str = "suitedemo0001";
const SUITE_SECRET: &str = "demo-suite-secret";
const CORP: &str = "dingdemocorp001";
const AGENT: i64 = 100001;
const APP_KEY: &str = "dingdemoapp0001";
const APP_SECRET: &str = "demo-app-secret";
const GETBYUNIONID: &str = "/topapi/user/getbyunionid";
const SENDBYTEMPLATE: &str = "/topapi/message/corpconversation/sendbytemplate";

async fn sim() -> SimHandle {
    dingtalk_sim::spawn(SimConfig::for_tests()).await.unwrap()
}

fn client(sim: &SimHandle) -> DingTalkClient {
    client_with_timeout(sim, Duration::from_secs(10))
}

fn client_with_timeout(sim: &SimHandle, timeout: Duration) -> DingTalkClient {
    DingTalkClient::new(ClientConfig {
        request_timeout: timeout,
        ..ClientConfig::single_host(&sim.base_url())
    })
    .unwrap()
}

/// Quick retries so the tests do not wait long.
fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(10),
    }
}

fn fault(path: &str, kind: FaultKind, errcode: Option<i64>, times: u32) -> Fault {
    Fault {
        path: path.into(),
        kind,
        errcode,
        times,
    }
}

/// Follows the browser login with `&user=` and returns (authCode, state) from the redirect.
async fn login(c: &DingTalkClient, client_id: &str, user: &str) -> (String, String) {
    let url = format!(
        "{}&user={user}",
        c.authorize_url(
            client_id,
            "http://app.example/profile",
            "http://app.example::n0nce"
        )
    );
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/profile");
    let get = |k: &str| {
        location
            .query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    (get("authCode"), get("state"))
}

async fn corp_token(c: &DingTalkClient, sim: &SimHandle) -> String {
    let t = c
        .corp_access_token(SUITE_KEY, SUITE_SECRET, CORP, &sim.suite_ticket())
        .await
        .unwrap();
    t.token.expose_secret().to_string()
}

fn api_code(err: &DingTalkError) -> (Option<i64>, String) {
    match err {
        DingTalkError::Api { errcode, code, .. } => (*errcode, code.clone()),
        other => panic!("expected a DingTalk error code, got {other:?}"),
    }
}

#[tokio::test]
async fn the_full_oauth_exchange_leads_from_the_login_redirect_to_the_org_userid() {
    let sim = sim().await;
    let c = client(&sim);
    let (code, state) = login(&c, SUITE_KEY, "zhangsan").await;
    assert_eq!(state, "http://app.example::n0nce");

    let user_token = c
        .user_access_token(SUITE_KEY, SUITE_SECRET, &code)
        .await
        .unwrap();
    assert_eq!(user_token.corp_id.as_deref(), Some(CORP));
    assert_eq!(user_token.expire_in, Some(7200));
    let me = c
        .user_me(user_token.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(me.union_id, "union-zhangsan");
    assert_eq!(me.nick, "张三");

    let corp = c
        .corp_access_token(SUITE_KEY, SUITE_SECRET, CORP, &sim.suite_ticket())
        .await
        .unwrap();
    assert_eq!(corp.expires_in, Some(7200));
    let lookup = c
        .get_by_unionid(corp.token.expose_secret(), &me.union_id)
        .await
        .unwrap();
    assert_eq!(lookup.userid, "zhangsan");
    assert_eq!(lookup.contact_type, 0);

    // The code was single-use.
    let again = c
        .user_access_token(SUITE_KEY, SUITE_SECRET, &code)
        .await
        .err()
        .expect("a used code is refused");
    assert_eq!(api_code(&again).1, "invalidCode");
    assert_eq!(again.kind(), ErrorKind::Other);
    sim.stop().await;
}

#[tokio::test]
async fn an_account_outside_the_org_surfaces_as_not_in_org() {
    let sim = sim().await;
    let c = client(&sim);
    let (code, _) = login(&c, SUITE_KEY, "outsider").await;
    let user_token = c
        .user_access_token(SUITE_KEY, SUITE_SECRET, &code)
        .await
        .unwrap();
    let me = c
        .user_me(user_token.access_token.expose_secret())
        .await
        .unwrap();
    assert_eq!(me.union_id, "union-outsider");
    let token = corp_token(&c, &sim).await;
    let err = c.get_by_unionid(&token, &me.union_id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotInOrg);
    assert_eq!(err.errcode(), Some(60121));
    assert!(!err.is_retryable());
    sim.stop().await;
}

#[tokio::test]
async fn both_isv_corp_token_flavours_give_working_tokens() {
    let sim = sim().await;
    let c = client(&sim);
    let v1 = corp_token(&c, &sim).await;
    let legacy = c
        .get_corp_token(SUITE_KEY, SUITE_SECRET, CORP, &sim.suite_ticket())
        .await
        .unwrap();
    assert_eq!(legacy.expires_in, Some(7200));
    for token in [v1.as_str(), legacy.token.expose_secret()] {
        assert_eq!(
            c.get_by_unionid(token, "union-lisi").await.unwrap().userid,
            "lisi"
        );
    }
    let bad = c
        .get_corp_token(SUITE_KEY, "not-the-secret", CORP, &sim.suite_ticket())
        .await
        .unwrap_err();
    assert_eq!(bad.errcode(), Some(853004));
    let bad = c
        .corp_access_token(SUITE_KEY, SUITE_SECRET, CORP, "stale-ticket")
        .await
        .unwrap_err();
    assert_eq!(api_code(&bad).1, "invalidSuiteTicket");
    sim.stop().await;
}

#[tokio::test]
async fn both_internal_app_token_flavours_give_the_same_working_token() {
    let sim = sim().await;
    let c = client(&sim);
    let v1 = c.app_access_token(APP_KEY, APP_SECRET).await.unwrap();
    let legacy = c.gettoken(APP_KEY, APP_SECRET).await.unwrap();
    assert_eq!(v1.token.expose_secret(), legacy.token.expose_secret());
    let lookup = c
        .get_by_unionid(legacy.token.expose_secret(), "union-wangwu")
        .await
        .unwrap();
    assert_eq!(lookup.userid, "wangwu");
    let bad = c.app_access_token(APP_KEY, "wrong").await.unwrap_err();
    assert_eq!(api_code(&bad).1, "invalidClientIdOrSecret");
    let bad = c.gettoken(APP_KEY, "wrong").await.unwrap_err();
    assert_eq!(bad.errcode(), Some(40096));
    // The internal app's login works too.
    let (code, _) = login(&c, APP_KEY, "lisi").await;
    let t = c
        .user_access_token(APP_KEY, APP_SECRET, &code)
        .await
        .unwrap();
    assert_eq!(t.corp_id.as_deref(), Some(CORP));
    sim.stop().await;
}

#[tokio::test]
async fn sends_of_both_kinds_land_in_the_simulator() {
    let sim = sim().await;
    let c = client(&sim);
    let token = corp_token(&c, &sim).await;
    let users = vec!["zhangsan".to_string(), "lisi".to_string()];
    let data = json!({"message": "hello", "url": "http://x"}).to_string();
    let t1 = c
        .send_by_template(
            &token,
            &TemplateSend {
                agent_id: AGENT,
                template_id: "demo-template",
                user_ids: &users,
                data: &data,
            },
        )
        .await
        .unwrap();
    let msg = json!({"msgtype": "text", "text": {"content": "hi"}});
    let t2 = c
        .async_send_v2(
            &token,
            &AsyncSend {
                agent_id: AGENT,
                user_ids: &users[..1],
                msg: &msg,
            },
        )
        .await
        .unwrap();
    let got = sim.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].task_id, got[0].api.as_str()),
        (t1, "sendbytemplate")
    );
    assert_eq!(got[0].user_ids, users);
    assert_eq!(got[0].data.as_ref().unwrap()["message"], "hello");
    assert_eq!((got[1].task_id, got[1].api.as_str()), (t2, "asyncsend_v2"));
    assert_eq!(got[1].msg.as_ref().unwrap(), &msg);
    let progress = c.get_send_progress(&token, AGENT, t2).await.unwrap();
    assert_eq!((progress.progress_in_percent, progress.status), (100, 2));
    let result = c.get_send_result(&token, AGENT, t1).await.unwrap();
    assert_eq!(result.unread_user_id_list, users);
    assert!(result.invalid_user_id_list.is_empty());
    // A wrong agent id is refused and nothing more is recorded.
    let err = c
        .async_send_v2(
            &token,
            &AsyncSend {
                agent_id: 1,
                user_ids: &users,
                msg: &msg,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(400002));
    assert_eq!(sim.messages().len(), 2);
    sim.stop().await;
}

#[tokio::test]
async fn http_500_timeout_and_transient_codes_are_healed_by_the_retry_policy() {
    let sim = sim().await;
    let c = client_with_timeout(&sim, Duration::from_millis(500));
    let token = corp_token(&c, &sim).await;
    sim.add_fault(fault(GETBYUNIONID, FaultKind::Http500, None, 1));
    sim.add_fault(fault(GETBYUNIONID, FaultKind::Timeout, None, 1));
    sim.add_fault(fault(GETBYUNIONID, FaultKind::Errcode, Some(-1), 1));
    sim.add_fault(fault(GETBYUNIONID, FaultKind::Errcode, Some(88), 1));
    let lookup = policy(5)
        .run("getbyunionid", || {
            c.get_by_unionid(&token, "union-zhangsan")
        })
        .await
        .unwrap();
    assert_eq!(lookup.userid, "zhangsan");
    assert_eq!(
        sim.calls(GETBYUNIONID),
        5,
        "four faulted calls, then the good one"
    );
    sim.stop().await;
}

#[tokio::test]
async fn rate_limits_on_both_apis_are_healed_and_a_send_is_recorded_once() {
    let sim = sim().await;
    let c = client(&sim);
    let corp_path = "/v1.0/oauth2/corpAccessToken";
    sim.add_fault(fault(corp_path, FaultKind::Errcode, Some(90018), 2));
    let ticket = sim.suite_ticket();
    let token = policy(4)
        .run("corp token", || {
            c.corp_access_token(SUITE_KEY, SUITE_SECRET, CORP, &ticket)
        })
        .await
        .unwrap();
    assert_eq!(sim.calls(corp_path), 3);
    sim.add_fault(fault(SENDBYTEMPLATE, FaultKind::Errcode, Some(90018), 1));
    let users = vec!["wangwu".to_string()];
    let req = TemplateSend {
        agent_id: AGENT,
        template_id: "demo-template",
        user_ids: &users,
        data: "{}",
    };
    let task = policy(4)
        .run("send", || {
            c.send_by_template(token.token.expose_secret(), &req)
        })
        .await
        .unwrap();
    let got = sim.messages();
    assert_eq!(got.len(), 1, "the rate-limited attempt was not recorded");
    assert_eq!(got[0].task_id, task);
    sim.stop().await;
}

#[tokio::test]
async fn faults_lasting_longer_than_the_policy_surface_as_typed_errors() {
    let sim = sim().await;
    let c = client_with_timeout(&sim, Duration::from_millis(300));
    let token = corp_token(&c, &sim).await;

    sim.add_fault(fault(GETBYUNIONID, FaultKind::Http500, None, 10));
    let err = policy(3)
        .run("lookup", || c.get_by_unionid(&token, "union-zhangsan"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DingTalkError::HttpStatus { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(sim.calls(GETBYUNIONID), 3);
    sim.clear_faults();

    sim.add_fault(fault(GETBYUNIONID, FaultKind::Errcode, Some(90018), 10));
    let err = policy(2)
        .run("lookup", || c.get_by_unionid(&token, "union-zhangsan"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.errcode(), Some(90018));
    sim.clear_faults();

    sim.add_fault(fault(GETBYUNIONID, FaultKind::Timeout, None, 10));
    let err = policy(2)
        .run("lookup", || c.get_by_unionid(&token, "union-zhangsan"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DingTalkError::Transport { timeout: true, .. }),
        "{err:?}"
    );
    sim.clear_faults();

    sim.add_fault(fault(GETBYUNIONID, FaultKind::Errcode, Some(-1), 10));
    let err = policy(2)
        .run("lookup", || c.get_by_unionid(&token, "union-zhangsan"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.errcode()),
        (ErrorKind::Transient, Some(-1))
    );
    sim.clear_faults();

    // Healed once the faults are gone.
    let ok = c.get_by_unionid(&token, "union-zhangsan").await.unwrap();
    assert_eq!(ok.userid, "zhangsan");
    sim.stop().await;
}

#[tokio::test]
async fn token_invalid_answers_make_the_token_cache_refresh_once_and_retry() {
    let sim = sim().await;
    let c = client(&sim);
    let cache = TokenCache::default();
    let key = TokenKey {
        app: SUITE_KEY.into(),
        corp: CORP.into(),
    };
    let ticket = sim.suite_ticket();
    let fetch = || c.corp_access_token(SUITE_KEY, SUITE_SECRET, CORP, &ticket);
    let lookup = |token: secrecy::SecretString| {
        let c = &c;
        async move { c.get_by_unionid(token.expose_secret(), "union-lisi").await }
    };

    // First call fetches; an injected 40014 then makes the cache refresh and retry once.
    assert_eq!(
        cache.with_token(&key, fetch, lookup).await.unwrap().userid,
        "lisi"
    );
    sim.add_fault(fault(GETBYUNIONID, FaultKind::Errcode, Some(40014), 1));
    assert_eq!(
        cache.with_token(&key, fetch, lookup).await.unwrap().userid,
        "lisi"
    );
    assert_eq!(cache.stats().refreshes, 2);
    assert_eq!(sim.calls("/v1.0/oauth2/corpAccessToken"), 2);

    // A token the simulator let expire (errcode 88 / sub_code 40014) is refreshed the same way.
    sim.advance_clock(Duration::from_secs(7300));
    assert_eq!(
        cache.with_token(&key, fetch, lookup).await.unwrap().userid,
        "lisi"
    );
    assert_eq!(cache.stats().refreshes, 3);

    // When the fresh token is rejected too, the error surfaces as token-invalid.
    sim.add_fault(fault(GETBYUNIONID, FaultKind::Errcode, Some(40014), 2));
    let err = cache.with_token(&key, fetch, lookup).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TokenInvalid);
    assert_eq!(err.errcode(), Some(40014));
    sim.stop().await;
}
