//! `GET /oauth2/auth`: DingTalk's browser login (login.dingtalk.com). An account list, a consent
//! page, then a redirect to `redirect_uri?authCode=…&state=…` (or `error=access_denied`).
//! `&user=<userid|unionid>` logs in without a click; `&deny=1` refuses.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::reply::{escape, html, page};
use crate::state::{random_string, AuthCode, Shared, AUTH_CODE_TTL_MS};

/// The query of `/oauth2/auth`, in order.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// This login URL without the page-flow parameters, plus `extra`.
    fn link(&self, extra: (&str, &str)) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "user" | "select" | "deny"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(extra);
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("/oauth2/auth?{qs}")
    }
}

fn bad_request(why: &str) -> HttpResponse {
    html(
        StatusCode::BAD_REQUEST,
        "Login error",
        &format!(
            "<p class=\"logo\">DingTalk (simulated)</p><h1>This login link is invalid</h1><p>{}</p>",
            escape(why)
        ),
    )
}

fn redirect_to(redirect_uri: &url::Url, pairs: &[(&str, &str)]) -> HttpResponse {
    let mut target = redirect_uri.clone();
    {
        let mut q = target.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    HttpResponse::Found()
        .insert_header(("location", target.to_string()))
        .insert_header(("cache-control", "no-store"))
        .finish()
}

/// `GET /oauth2/auth`.
pub async fn authorize(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string()) else {
        return bad_request("The query string is malformed.");
    };
    let p = Params(pairs);
    let client_id = p.get("client_id").unwrap_or_default().to_string();
    let (client_label, client_corp) = {
        let st = shared.lock();
        if client_id == st.data.suite.suite_key {
            (
                format!("suite {client_id}"),
                st.data.corps.first().map(|c| c.corp_id.clone()),
            )
        } else if let Some(app) = st.data.internal_app(&client_id) {
            (format!("app {client_id}"), Some(app.corp_id.clone()))
        } else {
            return bad_request("Unknown client_id: it is neither the suite key nor an app key.");
        }
    };
    let Some(redirect_raw) = p.get("redirect_uri") else {
        return bad_request("redirect_uri is missing.");
    };
    let redirect_uri = match url::Url::parse(redirect_raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => return bad_request("redirect_uri is not an http(s) URL."),
    };
    if p.get("response_type") != Some("code") {
        return bad_request("response_type must be code.");
    }
    let scope = p.get("scope").unwrap_or_default();
    if !scope.split_whitespace().any(|s| s == "openid") {
        return bad_request("scope must include openid.");
    }
    let state = p.get("state").unwrap_or_default().to_string();

    if p.get("deny").is_some() {
        return redirect_to(
            &redirect_uri,
            &[("error", "access_denied"), ("state", &state)],
        );
    }
    if let Some(who) = p.get("user") {
        let mut st = shared.lock();
        let Some((user, own_corp)) = st.data.find_account(who) else {
            drop(st);
            return bad_request("No such account.");
        };
        // The org the user "picked": corpId when given and the user belongs to it, else the
        // user's own corp; outsiders report the app's corp, so the userid lookup answers 60121.
        let picked = p
            .get("corpId")
            .filter(|c| {
                st.data
                    .corp(c)
                    .is_some_and(|corp| corp.users.contains(&user))
            })
            .map(str::to_string);
        let corp_id = picked.or(own_corp).or(client_corp);
        let code = random_string(32);
        let expires_at = st.now_ms().saturating_add(AUTH_CODE_TTL_MS);
        st.codes.insert(
            code.clone(),
            AuthCode {
                client_id,
                user,
                corp_id,
                expires_at,
            },
        );
        drop(st);
        return redirect_to(&redirect_uri, &[("authCode", &code), ("state", &state)]);
    }
    if let Some(who) = p.get("select") {
        let found = shared.lock().data.find_account(who);
        let Some((user, _)) = found else {
            return bad_request("No such account.");
        };
        let body = format!(
            "<p class=\"logo\">DingTalk (simulated)</p><h1>Authorize {app}</h1>\
             <p>Signed in as <b>{nick}</b> ({uid}). {app} will receive your name, unionId and \
             the organization you belong to.</p>\
             <p><a class=\"btn primary\" href=\"{agree}\">Agree</a>\
             <a class=\"btn\" href=\"{cancel}\">Cancel</a></p>",
            app = escape(&client_label),
            nick = escape(&user.nick),
            uid = escape(&user.userid),
            agree = escape(&p.link(("user", &user.unionid))),
            cancel = escape(&p.link(("deny", "1"))),
        );
        return page_response(&body);
    }
    let st = shared.lock();
    let mut body = format!(
        "<p class=\"logo\">DingTalk (simulated)</p><h1>Log in to {}</h1>\
         <p>Choose an account.</p>",
        escape(&client_label)
    );
    for corp in &st.data.corps {
        body.push_str(&format!("<h2>{}</h2>", escape(&corp.corp_name)));
        for u in &corp.users {
            body.push_str(&account_link(&p, &u.nick, &u.userid, &u.unionid));
        }
    }
    if !st.data.outsiders.is_empty() {
        body.push_str("<h2>Accounts outside every organization</h2>");
        for u in &st.data.outsiders {
            body.push_str(&account_link(&p, &u.nick, &u.userid, &u.unionid));
        }
    }
    body.push_str(&format!(
        "<p><a class=\"btn\" href=\"{}\">Cancel</a></p>",
        escape(&p.link(("deny", "1")))
    ));
    page_response(&body)
}

fn account_link(p: &Params, nick: &str, userid: &str, unionid: &str) -> String {
    format!(
        "<a class=\"account\" href=\"{}\"><span>{}</span><small>{}</small></a>",
        escape(&p.link(("select", unionid))),
        escape(nick),
        escape(userid)
    )
}

fn page_response(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(page("DingTalk login (simulated)", body))
}
