//! Micro-benchmarks of the hot paths of `dingtalk-core`, without a benchmark framework.
//!
//! Each case runs `ITERS` iterations per run, `RUNS` runs; the output is the median, minimum
//! and maximum ns/op over the runs. Run in release mode (see `docs/benchmarks.md`):
//!
//! ```text
//! cargo run --release -p dingtalk-core --example crypto_bench
//! ```
//!
//! Optional arguments: `crypto_bench [ITERS_SCALE]`, a multiplier of the default iteration
//! counts (e.g. `0.1` for a quick smoke run).

use std::hint::black_box;
use std::time::Instant;

use dingtalk_core::crypto::{corp_token_signature, CallbackCrypto};
use dingtalk_core::events::parse_event;
use dingtalk_core::oauth::RedirectAllowList;
use serde_json::json;

/// The demo callback settings (ARCHITECTURE.md section 9).
const TOKEN: &str = "demotoken";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const SUITE_KEY: &str = "suitedemo0001";
/// Timed runs per case; the median of them is reported.
const RUNS: usize = 7;

/// One measured case: its name and the ns/op of each run.
struct Measured {
    name: &'static str,
    iters: u64,
    ns_per_op: Vec<f64>,
}

impl Measured {
    fn median(&self) -> f64 {
        let mut sorted = self.ns_per_op.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
    }

    fn min(&self) -> f64 {
        self.ns_per_op.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn max(&self) -> f64 {
        self.ns_per_op.iter().copied().fold(0.0, f64::max)
    }
}

/// Runs `op` `iters` times per run (after one warm-up run), `RUNS` times.
fn bench<T>(name: &'static str, iters: u64, mut op: impl FnMut() -> T) -> Measured {
    for _ in 0..iters / 10 + 1 {
        black_box(op());
    }
    let ns_per_op = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(op());
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    Measured {
        name,
        iters,
        ns_per_op,
    }
}

/// A `SYNC_HTTP_PUSH_HIGH` with a suite ticket (biz_type 2) and a corp authorization
/// (biz_type 4), shaped like the simulator's and DingTalk's pushes: about 1.5 KiB of JSON.
fn sync_push() -> String {
    let ticket = json!({
        "syncAction": "suite_ticket",
        "suiteTicket": "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijKLMN",
        "syncSeq": 7,
    });
    let auth = json!({
        "syncAction": "org_suite_auth",
        "auth_corp_info": {
            "corpid": "dingdemocorp001",
            "corp_name": "Demo Corp",
            "full_corp_name": "Demo Corp",
            "corp_type": 0,
            "industry": "",
            "auth_level": 1,
            "is_authenticated": false,
            "corp_logo_url": "",
        },
        "auth_info": {"agent": [{
            "agentid": 100_001,
            "agent_name": "Demo App",
            "appid": 1001,
            "admin_list": ["zhangsan"],
            "logo_url": "",
        }]},
        "auth_user_info": {"userId": "zhangsan"},
        "auth_scope": {"errcode": 0, "errmsg": "ok", "condition_field": [],
            "auth_user_field": [], "auth_org_scopes": {"authed_user": [], "authed_dept": [1]}},
        "permanent_code": "demo-permanent-dingdemocorp001",
        "ch_permanent_code": "demo-ch-permanent-dingdemocorp001",
    });
    let item = |id: i64, corp_id: &str, biz_type: i64, data: &serde_json::Value| {
        json!({
            "id": id,
            "gmt_create": 1_764_000_000_000_i64,
            "gmt_modified": 1_764_000_000_000_i64,
            "subscribe_id": "1001_0",
            "corp_id": corp_id,
            "biz_id": "1001",
            "biz_type": biz_type,
            "biz_data": data.to_string(),
            "open_cursor": 0,
            "status": 0,
        })
    };
    json!({
        "EventType": "SYNC_HTTP_PUSH_HIGH",
        "bizData": [
            item(1, "dingsimdeveloper", 2, &ticket),
            item(2, "dingdemocorp001", 4, &auth),
        ],
    })
    .to_string()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scale: f64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 1.0,
    };
    let iters = |n: u64| ((n as f64 * scale) as u64).max(1);

    let crypto = CallbackCrypto::new(TOKEN, AES_KEY, SUITE_KEY)?;
    let event = sync_push();
    let sealed = crypto.seal(&event, "1764000000000", "nonce123");
    // The benchmark must measure the success path: check it once first.
    let opened = crypto.open(
        &sealed.msg_signature,
        &sealed.time_stamp,
        &sealed.nonce,
        &sealed.encrypt,
    )?;
    if opened != event {
        return Err("decrypt did not return the event".into());
    }
    parse_event(&event).map_err(|e| format!("parse_event: {e}"))?;

    let prefixes: Vec<String> = (0..10)
        .map(|i| format!("https://frontend{i}.example.com:8443/apps/portal{i}"))
        .collect();
    let allow = RedirectAllowList::new(&prefixes)?;
    // The last entry matches: the matcher walks all ten.
    let candidate = "https://frontend9.example.com:8443/apps/portal9/profile/settings";
    let refused = "https://frontend9.example.com.evil.com/apps/portal9";
    allow.matches(candidate)?;
    if allow.matches(refused).is_ok() {
        return Err("the allow-list accepted a foreign host".into());
    }

    println!(
        "dingtalk-core micro-benchmarks: event {} B of JSON, ciphertext {} B (Base64); {RUNS} runs per case",
        event.len(),
        sealed.encrypt.len()
    );
    let results = [
        bench("callback open (verify + decrypt)", iters(50_000), || {
            crypto.open(
                &sealed.msg_signature,
                &sealed.time_stamp,
                &sealed.nonce,
                &sealed.encrypt,
            )
        }),
        bench(
            "callback seal(\"success\") (encrypt + sign)",
            iters(200_000),
            || crypto.seal("success", "1764000000000", "nonce123"),
        ),
        bench(
            "get_corp_token signature (HMAC-SHA256)",
            iters(500_000),
            || {
                corp_token_signature(
                    "1764000000000",
                    "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijKLMN",
                    "demo-suite-secret",
                )
            },
        ),
        bench(
            "parse_event (SyncHTTP: ticket + auth)",
            iters(50_000),
            || parse_event(&event),
        ),
        bench("open + parse_event (the whole push)", iters(30_000), || {
            crypto
                .open(
                    &sealed.msg_signature,
                    &sealed.time_stamp,
                    &sealed.nonce,
                    &sealed.encrypt,
                )
                .map(|msg| parse_event(&msg).is_ok())
        }),
        bench(
            "RedirectAllowList::matches (10, last hits)",
            iters(200_000),
            || allow.matches(candidate),
        ),
        bench(
            "RedirectAllowList::matches (10, refused)",
            iters(200_000),
            || allow.matches(refused),
        ),
    ];

    println!(
        "{:<44} {:>10} {:>12} {:>12} {:>12}",
        "case", "iters", "median ns", "min ns", "max ns"
    );
    for m in &results {
        println!(
            "{:<44} {:>10} {:>12.0} {:>12.0} {:>12.0}",
            m.name,
            m.iters,
            m.median(),
            m.min(),
            m.max()
        );
    }
    Ok(())
}
