//! The simulated world: the suite, its corps and users, internal apps, outsiders and templates,
//! with the built-in demo data set of ARCHITECTURE.md section 9.

use serde::{Deserialize, Serialize};

/// A DingTalk user of the simulated world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimUser {
    /// Org userid (only meaningful for members of a corp).
    pub userid: String,
    /// unionId.
    pub unionid: String,
    /// openId.
    pub openid: String,
    /// Display name.
    pub nick: String,
    /// Mobile.
    #[serde(default)]
    pub mobile: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
}

/// A corp that has authorized the suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCorp {
    /// corpId.
    pub corp_id: String,
    /// Corp name.
    pub corp_name: String,
    /// The suite's agent id in this corp.
    pub agent_id: i64,
    /// Members.
    pub users: Vec<SimUser>,
}

/// The ISV suite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSuite {
    /// SuiteKey (also the OAuth client id and the callback owner key).
    pub suite_key: String,
    /// SuiteSecret.
    pub suite_secret: String,
    /// Callback token.
    pub callback_token: String,
    /// Callback EncodingAESKey (43 characters).
    pub callback_aes_key: String,
    /// The suite id (`subscribe_id` is "<suite_id>_0").
    pub suite_id: String,
}

/// An internal (enterprise) app of one corp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimInternalApp {
    /// AppKey (also the OAuth client id).
    pub app_key: String,
    /// AppSecret.
    pub app_secret: String,
    /// The corp it belongs to.
    pub corp_id: String,
    /// Its agent id.
    pub agent_id: i64,
}

/// The simulated world: one suite, its corps, an optional internal app, and accounts outside
/// every corp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimData {
    /// The ISV suite.
    pub suite: SimSuite,
    /// Authorizing corps.
    pub corps: Vec<SimCorp>,
    /// Internal apps.
    #[serde(default)]
    pub internal_apps: Vec<SimInternalApp>,
    /// DingTalk accounts that belong to no corp (getbyunionid answers 60121).
    #[serde(default)]
    pub outsiders: Vec<SimUser>,
    /// Work-notification template ids `sendbytemplate` accepts (others answer 885001).
    /// Empty: every non-empty template id is accepted.
    #[serde(default)]
    pub templates: Vec<String>,
}

fn user(userid: &str, nick: &str, mobile: &str) -> SimUser {
    SimUser {
        userid: userid.to_string(),
        unionid: format!("union-{userid}"),
        openid: format!("open-{userid}"),
        nick: nick.to_string(),
        mobile: mobile.to_string(),
        email: format!("{userid}@demo.example"),
    }
}

impl SimData {
    /// The demo data set of ARCHITECTURE.md section 9 (suite `suitedemo0001`, corp
    /// `dingdemocorp001` with zhangsan, lisi, wangwu; outsider `outsider`; internal app
    /// `dingdemoapp0001` / `demo-app-secret` in the same corp, agent 100001; template
    /// `demo-template`).
    pub fn demo() -> Self {
        SimData {
            suite: SimSuite {
                suite_key: "suitedemo0001".into(),
                suite_secret: "demo-suite-secret".into(),
                callback_token: "demotoken".into(),
                callback_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
                suite_id: "1000001".into(),
            },
            corps: vec![SimCorp {
                corp_id: "dingdemocorp001".into(),
                corp_name: "Demo Corp".into(),
                agent_id: 100001,
                users: vec![
                    user("zhangsan", "张三", "13800000001"),
                    user("lisi", "李四", "13800000002"),
                    user("wangwu", "王五", "13800000003"),
                ],
            }],
            internal_apps: vec![SimInternalApp {
                app_key: "dingdemoapp0001".into(),
                app_secret: "demo-app-secret".into(),
                corp_id: "dingdemocorp001".into(),
                agent_id: 100001,
            }],
            outsiders: vec![SimUser {
                email: "outsider@elsewhere.example".into(),
                ..user("outsider", "Outsider", "13900000009")
            }],
            templates: vec!["demo-template".into()],
        }
    }

    /// The corp with this id.
    pub fn corp(&self, corp_id: &str) -> Option<&SimCorp> {
        self.corps.iter().find(|c| c.corp_id == corp_id)
    }

    /// The internal app with this key.
    pub fn internal_app(&self, app_key: &str) -> Option<&SimInternalApp> {
        self.internal_apps.iter().find(|a| a.app_key == app_key)
    }

    /// Finds an account by userid or unionid: corp members first (with their corp), then
    /// outsiders (no corp).
    pub fn find_account(&self, id: &str) -> Option<(SimUser, Option<String>)> {
        for corp in &self.corps {
            if let Some(u) = corp
                .users
                .iter()
                .find(|u| u.userid == id || u.unionid == id)
            {
                return Some((u.clone(), Some(corp.corp_id.clone())));
            }
        }
        self.outsiders
            .iter()
            .find(|u| u.userid == id || u.unionid == id)
            .map(|u| (u.clone(), None))
    }

    /// Whether `sendbytemplate` knows this template id.
    pub fn knows_template(&self, template_id: &str) -> bool {
        !template_id.is_empty()
            && (self.templates.is_empty() || self.templates.iter().any(|t| t == template_id))
    }
}
