//! `dingtalk-sim crypto encrypt|decrypt` with dingtalk-api.md's TV3.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

const TOKEN: &str = "tokenxxxx";
const AES_KEY: &str = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus";
const OWNER: &str = "dingxxxxxx";
const TIMESTAMP: &str = "1605695694141";
const NONCE: &str = "WelUQl6bCqcBa2fM";
const SIGNATURE: &str = "f36f4ba5337d426c7d4bca0dbcb06b3ddc1388fc";
const ENCRYPT: &str =
    "X1VSe9cTJUMZu60d3kyLYTrBq5578ZRJtteU94wG0Q4Uk6E/wQYeJRIC0/UFW5Wkya1Ihz9oXAdLlyC9TRaqsQ==";

fn sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dingtalk-sim"))
        .args(args)
        .output()
        .unwrap()
}

fn decrypt(token: &str, owner: &str, signature: &str) -> std::process::Output {
    sim(&[
        "crypto",
        "decrypt",
        "--token",
        token,
        "--aes-key",
        AES_KEY,
        "--owner-key",
        owner,
        "--signature",
        signature,
        "--timestamp",
        TIMESTAMP,
        "--nonce",
        NONCE,
        "--encrypt",
        ENCRYPT,
    ])
}

#[test]
fn decrypt_prints_the_plaintext_of_tv3() {
    let out = decrypt(TOKEN, OWNER, SIGNATURE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end(), "success");
}

#[test]
fn decrypt_with_a_wrong_signature_fails_and_says_why() {
    let out = decrypt(TOKEN, OWNER, "0000000000000000000000000000000000000000");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"));
}

#[test]
fn decrypt_with_another_owner_key_fails_with_owner_mismatch() {
    let out = decrypt(TOKEN, "suiteother", SIGNATURE);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("owner"));
}

#[test]
fn encrypt_with_random_reproduces_tv3_exactly() {
    let out = sim(&[
        "crypto",
        "encrypt",
        "--token",
        TOKEN,
        "--aes-key",
        AES_KEY,
        "--owner-key",
        OWNER,
        "--timestamp",
        TIMESTAMP,
        "--nonce",
        NONCE,
        "--random",
        NONCE,
        "--msg",
        "success",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["encrypt"], ENCRYPT);
    assert_eq!(json["msg_signature"], SIGNATURE);
    assert_eq!(json["timeStamp"], TIMESTAMP);
    assert_eq!(json["nonce"], NONCE);
}

#[test]
fn encrypt_without_random_round_trips_through_decrypt() {
    let out = sim(&[
        "crypto",
        "encrypt",
        "--token",
        TOKEN,
        "--aes-key",
        AES_KEY,
        "--owner-key",
        OWNER,
        "--timestamp",
        "1",
        "--nonce",
        "n",
        "--msg",
        "{\"EventType\":\"check_url\"}",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let back = sim(&[
        "crypto",
        "decrypt",
        "--token",
        TOKEN,
        "--aes-key",
        AES_KEY,
        "--owner-key",
        OWNER,
        "--signature",
        json["msg_signature"].as_str().unwrap(),
        "--timestamp",
        "1",
        "--nonce",
        "n",
        "--encrypt",
        json["encrypt"].as_str().unwrap(),
    ]);
    assert!(back.status.success());
    assert_eq!(
        String::from_utf8(back.stdout).unwrap().trim_end(),
        "{\"EventType\":\"check_url\"}"
    );
}

#[test]
fn a_random_prefix_of_the_wrong_length_is_refused() {
    let out = sim(&[
        "crypto",
        "encrypt",
        "--token",
        TOKEN,
        "--aes-key",
        AES_KEY,
        "--owner-key",
        OWNER,
        "--timestamp",
        "1",
        "--nonce",
        "n",
        "--random",
        "short",
        "--msg",
        "x",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("16"));
}
