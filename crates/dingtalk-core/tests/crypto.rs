//! Callback crypto and the `get_corp_token` signature against DingTalk's published vectors, plus
//! round-trips and every malformed input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aes::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use dingtalk_core::crypto::{corp_token_signature, url_encode, CallbackCrypto, CryptoError};

// TV1: the official doc's debug example (dingtalk-api.md section 8).
const TV1_TOKEN: &str = "123456";
const TV1_KEY: &str = "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij";
const TV1_OWNER: &str = "suite4xxxxxxxxxxxxxxx";
const TV1_TIMESTAMP: &str = "1445827045067";
const TV1_NONCE: &str = "nEXhMP4r";
const TV1_SIGNATURE: &str = "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0";
const TV1_ENCRYPT: &str = "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==";
const TV1_MSG: &str = r#"{"EventType":"check_create_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}"#;
const TV1_RANDOM: &[u8; 16] = b"hU3bEfGZZewzhG5a";

// TV3: DingTalkCrypto.go main() (the encrypted "success" reply).
const TV3_TOKEN: &str = "tokenxxxx";
const TV3_KEY: &str = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus";
const TV3_OWNER: &str = "dingxxxxxx";
const TV3_TIMESTAMP: &str = "1605695694141";
const TV3_NONCE: &str = "WelUQl6bCqcBa2fM";
const TV3_SIGNATURE: &str = "f36f4ba5337d426c7d4bca0dbcb06b3ddc1388fc";
const TV3_ENCRYPT: &str =
    "X1VSe9cTJUMZu60d3kyLYTrBq5578ZRJtteU94wG0Q4Uk6E/wQYeJRIC0/UFW5Wkya1Ihz9oXAdLlyC9TRaqsQ==";
const TV3_RANDOM: &[u8; 16] = b"WelUQl6bCqcBa2fM";

fn tv1() -> CallbackCrypto {
    CallbackCrypto::new(TV1_TOKEN, TV1_KEY, TV1_OWNER).unwrap()
}

fn tv3() -> CallbackCrypto {
    CallbackCrypto::new(TV3_TOKEN, TV3_KEY, TV3_OWNER).unwrap()
}

/// The raw AES key of an EncodingAESKey, decoded independently of the library.
fn raw_key(encoding_aes_key: &str) -> [u8; 32] {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(format!("{encoding_aes_key}="))
        .unwrap()
        .try_into()
        .unwrap()
}

/// Encrypts arbitrary bytes (already a multiple of 16 long) with TV3's key, without any checks:
/// the way to craft malformed payloads.
fn raw_encrypt(plain: &[u8]) -> String {
    assert_eq!(
        plain.len() % 16,
        0,
        "crafted plaintext must be block aligned"
    );
    let key = raw_key(TV3_KEY);
    let iv: [u8; 16] = key[..16].try_into().unwrap();
    let cipher = cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into());
    STANDARD.encode(cipher.encrypt_padded_vec_mut::<NoPadding>(plain))
}

/// random ‖ len ‖ msg ‖ owner, not yet padded.
fn layout(len_field: u32, msg: &[u8], owner: &[u8]) -> Vec<u8> {
    let mut plain = b"abcdefghijklmnop".to_vec();
    plain.extend_from_slice(&len_field.to_be_bytes());
    plain.extend_from_slice(msg);
    plain.extend_from_slice(owner);
    plain
}

/// Pads like DingTalk (PKCS#7 to 32 bytes).
fn pad32(mut plain: Vec<u8>) -> Vec<u8> {
    let pad = 32 - plain.len() % 32;
    plain.resize(plain.len() + pad, pad as u8);
    plain
}

#[test]
fn tv1_signature_matches_the_official_example() {
    let crypto = tv1();
    assert_eq!(
        crypto.signature(TV1_TIMESTAMP, TV1_NONCE, TV1_ENCRYPT),
        TV1_SIGNATURE
    );
    assert!(crypto.verify_signature(TV1_SIGNATURE, TV1_TIMESTAMP, TV1_NONCE, TV1_ENCRYPT));
}

#[test]
fn tv1_decrypts_to_the_official_message() {
    let msg = tv1()
        .open(TV1_SIGNATURE, TV1_TIMESTAMP, TV1_NONCE, TV1_ENCRYPT)
        .unwrap();
    assert_eq!(msg, TV1_MSG);
}

#[test]
fn tv1_reencrypts_byte_exactly_with_its_known_random_prefix() {
    assert_eq!(tv1().encrypt_with_random(TV1_MSG, TV1_RANDOM), TV1_ENCRYPT);
}

#[test]
fn tv1_is_refused_for_another_owner_key() {
    let other = CallbackCrypto::new(TV1_TOKEN, TV1_KEY, "suite4yyyyyyyyyyyyyyy").unwrap();
    assert_eq!(other.decrypt(TV1_ENCRYPT), Err(CryptoError::OwnerMismatch));
}

#[test]
fn tv3_signature_and_decryption_match_the_go_library() {
    let crypto = tv3();
    assert_eq!(
        crypto.signature(TV3_TIMESTAMP, TV3_NONCE, TV3_ENCRYPT),
        TV3_SIGNATURE
    );
    let msg = crypto
        .open(TV3_SIGNATURE, TV3_TIMESTAMP, TV3_NONCE, TV3_ENCRYPT)
        .unwrap();
    assert_eq!(msg, "success");
}

#[test]
fn tv3_success_reply_reencrypts_byte_exactly() {
    let crypto = tv3();
    let encrypt = crypto.encrypt_with_random("success", TV3_RANDOM);
    assert_eq!(encrypt, TV3_ENCRYPT);
    let reply = crypto.sign_encrypted(encrypt, TV3_TIMESTAMP, TV3_NONCE);
    assert_eq!(reply.msg_signature, TV3_SIGNATURE);
    let json = serde_json::to_value(&reply).unwrap();
    assert_eq!(json["timeStamp"], TV3_TIMESTAMP);
    assert_eq!(json["msg_signature"], TV3_SIGNATURE);
}

#[test]
fn tv3_is_refused_for_another_owner_key() {
    let other = CallbackCrypto::new(TV3_TOKEN, TV3_KEY, "dingyyyyyy").unwrap();
    assert_eq!(other.decrypt(TV3_ENCRYPT), Err(CryptoError::OwnerMismatch));
}

#[test]
fn a_wrong_signature_is_refused_before_decryption() {
    let crypto = tv3();
    let mut wrong = TV3_SIGNATURE.to_string();
    wrong.replace_range(0..1, "0");
    assert!(!crypto.verify_signature(&wrong, TV3_TIMESTAMP, TV3_NONCE, TV3_ENCRYPT));
    assert!(!crypto.verify_signature("", TV3_TIMESTAMP, TV3_NONCE, TV3_ENCRYPT));
    assert!(!crypto.verify_signature(TV3_SIGNATURE, "1605695694142", TV3_NONCE, TV3_ENCRYPT));
    assert_eq!(
        crypto.open(&wrong, TV3_TIMESTAMP, TV3_NONCE, TV3_ENCRYPT),
        Err(CryptoError::BadSignature)
    );
    let other_token = CallbackCrypto::new("tokenyyyy", TV3_KEY, TV3_OWNER).unwrap();
    assert_eq!(
        other_token.open(TV3_SIGNATURE, TV3_TIMESTAMP, TV3_NONCE, TV3_ENCRYPT),
        Err(CryptoError::BadSignature)
    );
}

#[test]
fn every_message_length_from_0_to_300_bytes_round_trips() {
    let crypto = tv1();
    for len in 0..=300usize {
        let msg: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let encrypt = crypto.encrypt(&msg);
        let raw = STANDARD.decode(&encrypt).unwrap();
        assert_eq!(raw.len() % 32, 0, "length {len} is not padded to 32");
        assert_eq!(crypto.decrypt(&encrypt).unwrap(), msg, "length {len}");
        let sealed = crypto.seal(&msg, "1700000000000", "nonce123");
        let opened = crypto
            .open(
                &sealed.msg_signature,
                &sealed.time_stamp,
                &sealed.nonce,
                &sealed.encrypt,
            )
            .unwrap();
        assert_eq!(opened, msg, "sealed length {len}");
    }
}

#[test]
fn non_ascii_text_round_trips() {
    let crypto = tv3();
    for msg in [
        "钉钉工作通知：您有一条新消息",
        "emoji 🎉🚀 and ümlauts",
        r#"{"EventType":"check_url","名字":"张三 👋"}"#,
    ] {
        assert_eq!(crypto.decrypt(&crypto.encrypt(msg)).unwrap(), msg);
    }
}

#[test]
fn fresh_encryptions_use_a_random_alphanumeric_prefix() {
    let crypto = tv3();
    let a = crypto.encrypt("success");
    let b = crypto.encrypt("success");
    assert_ne!(a, b, "two encryptions of the same message must differ");
    // Decrypt the first block by hand to look at the prefix.
    use aes::cipher::{BlockDecryptMut, KeyIvInit as _};
    let key = raw_key(TV3_KEY);
    let iv: [u8; 16] = key[..16].try_into().unwrap();
    let plain = cbc::Decryptor::<aes::Aes256>::new(&key.into(), &iv.into())
        .decrypt_padded_vec_mut::<NoPadding>(&STANDARD.decode(&a).unwrap())
        .unwrap();
    assert!(plain[..16].iter().all(u8::is_ascii_alphanumeric));
}

#[test]
fn input_that_is_not_base64_is_refused() {
    let crypto = tv3();
    assert_eq!(crypto.decrypt("not base64!!"), Err(CryptoError::NotBase64));
    assert_eq!(crypto.decrypt("@@@@"), Err(CryptoError::NotBase64));
}

#[test]
fn ciphertexts_of_a_wrong_length_are_refused() {
    let crypto = tv3();
    assert_eq!(crypto.decrypt(""), Err(CryptoError::BadLength(0)));
    let fifteen = STANDARD.encode([7u8; 15]);
    assert_eq!(crypto.decrypt(&fifteen), Err(CryptoError::BadLength(15)));
    let forty = STANDARD.encode([7u8; 40]);
    assert_eq!(crypto.decrypt(&forty), Err(CryptoError::BadLength(40)));
}

#[test]
fn a_pad_byte_of_zero_is_refused() {
    let mut plain = pad32(layout(7, b"success", TV3_OWNER.as_bytes()));
    let last = plain.len() - 1;
    plain[last] = 0;
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&plain)),
        Err(CryptoError::BadPadding)
    );
}

#[test]
fn a_pad_byte_above_32_is_refused() {
    let mut plain = layout(7, b"success", TV3_OWNER.as_bytes());
    plain.resize(64, 33);
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&plain)),
        Err(CryptoError::BadPadding)
    );
}

#[test]
fn inconsistent_pad_bytes_are_refused() {
    let mut plain = pad32(layout(7, b"success", TV3_OWNER.as_bytes()));
    let pad = usize::from(*plain.last().unwrap());
    assert!(pad >= 2);
    let idx = plain.len() - pad;
    plain[idx] ^= 1;
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&plain)),
        Err(CryptoError::BadPadding)
    );
}

#[test]
fn a_pad_longer_than_a_16_byte_ciphertext_is_refused() {
    let plain = [20u8; 16];
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&plain)),
        Err(CryptoError::BadPadding)
    );
}

#[test]
fn a_length_field_past_the_end_is_refused() {
    let plain = pad32(layout(4000, b"success", TV3_OWNER.as_bytes()));
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&plain)),
        Err(CryptoError::LengthOutOfRange)
    );
    let huge = pad32(layout(u32::MAX, b"success", TV3_OWNER.as_bytes()));
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&huge)),
        Err(CryptoError::LengthOutOfRange)
    );
}

#[test]
fn a_body_shorter_than_the_random_prefix_and_length_is_refused() {
    // 16 bytes of data and a 16-byte pad: no room for the length field.
    let mut plain = b"abcdefghijklmnop".to_vec();
    plain.resize(32, 16);
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&plain)),
        Err(CryptoError::LengthOutOfRange)
    );
}

#[test]
fn a_crafted_payload_for_another_owner_is_refused() {
    let plain = pad32(layout(7, b"success", b"dingEVIL"));
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&plain)),
        Err(CryptoError::OwnerMismatch)
    );
    // A length field that swallows part of the owner key shifts the owner: refused too.
    let shifted = pad32(layout(8, b"success", TV3_OWNER.as_bytes()));
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&shifted)),
        Err(CryptoError::OwnerMismatch)
    );
}

#[test]
fn a_message_that_is_not_utf8_is_refused() {
    let plain = pad32(layout(4, &[0xff, 0xfe, 0x80, 0x00], TV3_OWNER.as_bytes()));
    assert_eq!(
        tv3().decrypt(&raw_encrypt(&plain)),
        Err(CryptoError::InvalidUtf8)
    );
}

#[test]
fn a_correctly_crafted_payload_decrypts() {
    // Control for the crafted cases above: the helper itself produces valid payloads.
    let plain = pad32(layout(7, b"success", TV3_OWNER.as_bytes()));
    assert_eq!(tv3().decrypt(&raw_encrypt(&plain)).unwrap(), "success");
}

#[test]
fn aes_keys_that_are_not_43_base64_characters_are_refused() {
    for (key, chars) in [
        ("", 0),
        ("short", 5),
        ("4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3i", 42),
        ("4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ijk", 44),
        ("4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3i!", 43),
        ("4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3i=", 43),
        ("4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3i钉", 43),
    ] {
        assert_eq!(
            CallbackCrypto::new("t", key, "o").err(),
            Some(CryptoError::InvalidAesKey(chars)),
            "key {key:?}"
        );
    }
}

#[test]
fn debug_output_never_shows_the_token_or_the_key() {
    let crypto = tv1();
    let debug = format!("{crypto:?}");
    assert!(!debug.contains(TV1_TOKEN), "{debug}");
    assert!(!debug.contains(TV1_KEY), "{debug}");
    assert!(debug.contains(TV1_OWNER), "{debug}");
    assert_eq!(crypto.owner_key(), TV1_OWNER);
}

#[test]
fn corp_token_signature_matches_the_published_vector() {
    let signature = corp_token_signature(
        "1629879099342",
        "SEx31XX20YLqvcLVpnwObQHIbvv85ZD6UGXCphXEmp0zCNNfj6VMMklvZjVNDCf99rrKc476XMKS56d5p6iCOU",
        "c9RMIAGoL_K26gxkw4LrLGf2ERSQVqMBd1K_jclUIT3WM249uVCwf0Ug2RpG4dBh",
    );
    assert_eq!(signature, "auGsFduirwTx3fYqswR8SCuaKbHpHjJzUB/cIAWHGuw=");
    assert_eq!(
        url_encode(&signature),
        "auGsFduirwTx3fYqswR8SCuaKbHpHjJzUB%2FcIAWHGuw%3D"
    );
}

#[test]
fn url_encode_escapes_everything_but_unreserved_characters() {
    assert_eq!(url_encode("a+b/c=d e*f~g"), "a%2Bb%2Fc%3Dd%20e%2Af%7Eg");
    assert_eq!(url_encode("AZaz09-_."), "AZaz09-_.");
    assert_eq!(url_encode("钉"), "%E9%92%89");
    assert_eq!(url_encode(""), "");
}
