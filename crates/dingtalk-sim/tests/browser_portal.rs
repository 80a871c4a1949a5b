//! The demo portal in a real browser: headless Chromium, driven through chromedriver with
//! fantoccini, against the three binaries started as processes. It binds a DingTalk user to a
//! staff id through the cloud login and the simulator's login page, lists the binding, sends a
//! work notification, watches it become delivered and finds it in the simulator's inbox;
//! screenshots land in `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/test.sh installs them where missing);
//! without them this test fails and says so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod system;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use system::{free_port, Proc, System, PATIENCE};

/// chromedriver: `$CHROMEDRIVER` when set, else `/usr/bin/chromedriver`, else the first on
/// `PATH`; fails the test with what to install when there is none.
fn chromedriver_path() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("CHROMEDRIVER") {
        Some(p) => vec![PathBuf::from(p)],
        None => std::iter::once(PathBuf::from("/usr/bin/chromedriver"))
            .chain(
                std::env::var_os("PATH")
                    .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| d.join("chromedriver")),
            )
            .collect(),
    };
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromedriver is not installed: the portal's browser test needs headless Chromium. \
                 Install Debian's packages with `sudo apt-get install -y chromium chromium-driver` \
                 (scripts/test.sh does this where it can), or set CHROMEDRIVER to its path."
            )
        })
}

/// Starts chromedriver on a free port and opens a headless Chromium session with a fresh
/// profile in `profile_dir`.
async fn start_browser(dir: &Path, http: &reqwest::Client) -> (Proc, Client) {
    let port = free_port();
    let mut driver = Proc::spawn(
        "chromedriver",
        &chromedriver_path(),
        &[format!("--port={port}")],
        &[],
        dir,
    );
    let driver_url = format!("http://127.0.0.1:{port}");
    driver
        .wait_ready(http, &format!("{driver_url}/status"))
        .await;

    let profile = dir.join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let mut options = json!({
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1600",
            format!("--user-data-dir={}", profile.display()),
        ]
    });
    if Path::new("/usr/bin/chromium").is_file() {
        options["binary"] = json!("/usr/bin/chromium");
    }
    // fantoccini's TLS stack links two rustls crypto providers; chromedriver is plain HTTP, but
    // rustls wants one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    let client = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "chromedriver could not start Chromium: {e}. Is Debian's `chromium` installed \
                 next to `chromium-driver`? chromedriver's log:\n{}",
                driver.log_tail()
            )
        });
    (driver, client)
}

/// Waits until the element matching `css` exists and its text satisfies `ok`; returns the text.
async fn wait_text(c: &Client, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(text) = el.text().await {
                if ok(&text) {
                    return text;
                }
                last = text;
            }
        }
        if start.elapsed() > PATIENCE {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!("{what}: `{css}` on {url} shows:\n{last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replaces the value of the input matching `css`.
async fn fill(c: &Client, css: &str, value: &str) {
    let input = c
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

async fn click(c: &Client, locator: Locator<'_>) {
    c.wait()
        .at_most(PATIENCE)
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("nothing to click at {locator:?}: {e}"))
        .click()
        .await
        .unwrap();
}

fn screenshot_dir() -> PathBuf {
    // target/debug/ -> target/screenshots/
    let dir = system::bin_dir()
        .parent()
        .expect("the target directory")
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot of the whole page (the window is resized to the page's height first).
async fn save_screenshot(c: &Client, name: &str) {
    c.set_window_size(1280, 900).await.unwrap();
    let height = c
        .execute(
            "window.scrollTo(0, 0); return document.documentElement.scrollHeight;",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(1600);
    let height = u32::try_from(height.clamp(800, 6000)).unwrap_or(1600);
    c.set_window_size(1280, height + 140).await.unwrap();
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = screenshot_dir().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

#[tokio::test]
async fn the_portal_binds_a_dingtalk_user_and_shows_a_sent_message_delivered_and_in_the_inbox() {
    let sys = Arc::new(System::start().await);
    let (mut driver, c) = start_browser(sys.dir.path(), &sys.http).await;
    // The walk runs in its own task so that a failed assertion still closes the browser
    // (chromedriver then quits Chromium) before the panic is passed on.
    let walk = tokio::spawn({
        let (sys, c) = (Arc::clone(&sys), c.clone());
        async move { walk_the_portal(&sys, &c).await }
    })
    .await;
    let _ = c.close().await;
    driver.kill();
    if let Err(e) = walk {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn walk_the_portal(sys: &System, c: &Client) {
    let portal = format!("{}/portal/", sys.sim_url());
    c.goto(&portal).await.unwrap();
    wait_text(c, "#config-summary", "the portal reads its config", |t| {
        t.contains(&sys.cloud_url()) && t.contains(&sys.edge_url())
    })
    .await;

    // Step 1: who the user is in the company's app, then off to DingTalk.
    fill(c, "#staff-id", "S-2001").await;
    fill(c, "#tenant-id", "tenant-browser").await;
    click(c, Locator::Css("#bind-button")).await;

    // The simulator's login page (reached through the cloud's redirect): pick 张三, agree.
    click(
        c,
        Locator::XPath("//a[contains(@class,'account')][.//span[normalize-space()='张三']]"),
    )
    .await;
    click(c, Locator::Css("a.btn.primary")).await;

    // Back on the portal's profile page, which finishes the binding at the edge.
    let result = wait_text(c, "#bind-result", "the binding result", |t| {
        t.contains("张三") || t.contains("rror") || t.contains("ailed")
    })
    .await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/portal/profile", "landed on the profile page");
    assert!(result.contains("Bound"), "a success badge: {result}");
    assert!(
        result.contains("S-2001") && result.contains("zhangsan"),
        "the binding's staff id and DingTalk user: {result}"
    );
    c.find(Locator::Css("#bind-result .badge-success"))
        .await
        .expect("a success badge");

    // Step 2: the binding is listed.
    click(c, Locator::Css("#refresh-bindings")).await;
    wait_text(c, "#bindings-list", "the bindings list", |t| {
        t.contains("S-2001") && t.contains("张三")
    })
    .await;

    // Step 3: a work notification to that staff id.
    fill(c, "#send-staff-ids", "S-2001").await;
    fill(c, "#send-text", "Hello from the browser test").await;
    click(c, Locator::Css("#send-button")).await;
    let sent = wait_text(c, "#send-result", "the send result", |t| {
        t.contains("Message id") || t.contains("rror")
    })
    .await;
    assert!(!sent.contains("rror"), "sending failed: {sent}");
    let status = wait_text(c, "#message-status", "the delivery status", |t| {
        t.contains("delivered") || t.contains("failed")
    })
    .await;
    assert!(status.contains("delivered"), "{status}");

    // Step 4: the portal's inbox view lists it.
    wait_text(c, "#inbox-list", "the portal's inbox list", |t| {
        t.contains("Hello from the browser test")
    })
    .await;
    save_screenshot(c, "portal.png").await;

    // Step 2 again: remove the binding; the list says the tenant has none left.
    click(c, Locator::Css(".remove-binding[data-staff='S-2001']")).await;
    wait_text(c, "#bindings-list", "the list after removing", |t| {
        t.contains("No bindings")
    })
    .await;

    // And the simulator's own inbox page shows it for 张三.
    c.goto(&format!("{}/_sim/inbox", sys.sim_url()))
        .await
        .unwrap();
    let inbox = wait_text(c, "body", "the simulator's inbox", |t| {
        t.contains("Hello from the browser test")
    })
    .await;
    assert!(inbox.contains("张三"), "{inbox}");
    save_screenshot(c, "sim-inbox.png").await;

    // What the browser showed is what the systems hold.
    let received = sys
        .sim_messages_containing("Hello from the browser test")
        .await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["user_ids"], json!(["zhangsan"]));

    // A profile link whose code was already used (a reload, a shared link): the portal says so.
    let code = sys.auth_code_for("wangwu").await;
    let (status, body) = sys
        .bind(&sys.edge_url(), "S-3003", "tenant-browser", &code)
        .await;
    assert_eq!(status, 200, "{body}");
    c.goto(&format!(
        "{}/profile?state=x&authCode={code}",
        sys.redirect_prefix()
    ))
    .await
    .unwrap();
    let reused = wait_text(c, "#bind-result", "a reused code", |t| t.contains("HTTP")).await;
    assert!(reused.contains("Code unknown or used"), "{reused}");
    assert!(reused.contains("HTTP 404"), "{reused}");
    c.find(Locator::Css("#bind-result .badge-error"))
        .await
        .expect("an error badge");

    // The user cancels on DingTalk's login page: back on the profile page, nothing is bound.
    c.goto(&format!("{}/portal/", sys.sim_url())).await.unwrap();
    click(c, Locator::Css("#bind-button")).await;
    click(c, Locator::XPath("//a[normalize-space()='Cancel']")).await;
    let refused = wait_text(c, "#bind-result", "a cancelled login", |t| {
        t.contains("access_denied")
    })
    .await;
    assert!(refused.contains("Login refused"), "{refused}");
    assert_eq!(c.current_url().await.unwrap().path(), "/portal/profile");
}
