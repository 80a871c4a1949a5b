//! DingTalk's HTTP callback crypto (AES-256-CBC, 32-byte PKCS#7 blocks, SHA-1 signature) and the
//! ISV `get_corp_token` HMAC-SHA256 signature.
//!
//! Plaintext layout: 16 random ASCII alphanumerics ‖ message length (u32 big-endian) ‖ message ‖
//! owner key, PKCS#7-padded to a 32-byte block (DingTalk's block size, not AES's 16), encrypted
//! with AES-256-CBC (key = Base64(EncodingAESKey + "="), IV = the key's first 16 bytes) and
//! Base64-encoded (standard alphabet, padded).

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use rand::distributions::{Alphanumeric, Distribution};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// DingTalk pads to 32-byte blocks (its libraries' `BLOCK_SIZE = 32`).
const PAD_BLOCK: usize = 32;
/// The AES block size: a ciphertext is a whole number of these.
const AES_BLOCK: usize = 16;
/// The random prefix length.
const RANDOM_LEN: usize = 16;
/// The length of an EncodingAESKey.
const AES_KEY_CHARS: usize = 43;

/// Decodes the EncodingAESKey like DingTalk's own libraries do: the last character of a
/// 43-character key usually carries non-zero trailing bits, which a strict decoder refuses.
const LENIENT_KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Characters `url_encode` leaves as they are: ASCII letters, digits, `-`, `_` and `.`.
const URL_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Why a callback could not be verified or decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The EncodingAESKey is not 43 characters of Base64 decoding to 32 bytes.
    #[error("the AES key must be 43 characters of base64 (it is {0} characters)")]
    InvalidAesKey(usize),
    /// The signature does not match.
    #[error("signature mismatch")]
    BadSignature,
    /// The `encrypt` value is not Base64.
    #[error("the encrypted payload is not base64")]
    NotBase64,
    /// The ciphertext is empty or not a multiple of the AES block size.
    #[error("the ciphertext length {0} is not a positive multiple of 16")]
    BadLength(usize),
    /// The PKCS#7 padding is invalid.
    #[error("bad padding")]
    BadPadding,
    /// The length field points past the end of the plaintext.
    #[error("the message length field is out of range")]
    LengthOutOfRange,
    /// The trailing owner key is not the expected one.
    #[error("the payload belongs to another app (owner key mismatch)")]
    OwnerMismatch,
    /// The message is not valid UTF-8.
    #[error("the message is not valid UTF-8")]
    InvalidUtf8,
}

/// The JSON an app answers a callback with (and the JSON a push carries, minus the body field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedMessage {
    /// SHA-1 signature over token, timestamp, nonce and `encrypt`.
    pub msg_signature: String,
    /// The timestamp that was signed.
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    /// The nonce that was signed.
    pub nonce: String,
    /// Base64 ciphertext.
    pub encrypt: String,
}

/// Callback crypto for one app: token, AES key and owner key (SuiteKey, AppKey or CorpId).
/// Its `Debug` output never shows the token or the key.
#[derive(Clone)]
pub struct CallbackCrypto {
    token: String,
    aes_key: [u8; 32],
    owner_key: String,
}

impl std::fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackCrypto")
            .field("token", &"<redacted>")
            .field("aes_key", &"<redacted>")
            .field("owner_key", &self.owner_key)
            .finish()
    }
}

impl CallbackCrypto {
    /// Builds the crypto from the callback token, the 43-character EncodingAESKey and the owner key.
    pub fn new(token: &str, encoding_aes_key: &str, owner_key: &str) -> Result<Self, CryptoError> {
        let chars = encoding_aes_key.chars().count();
        if chars != AES_KEY_CHARS || !encoding_aes_key.is_ascii() {
            return Err(CryptoError::InvalidAesKey(chars));
        }
        let decoded = LENIENT_KEY_ENGINE
            .decode(encoding_aes_key)
            .map_err(|_| CryptoError::InvalidAesKey(chars))?;
        let aes_key: [u8; 32] = decoded
            .try_into()
            .map_err(|_| CryptoError::InvalidAesKey(chars))?;
        Ok(Self {
            token: token.to_string(),
            aes_key,
            owner_key: owner_key.to_string(),
        })
    }

    /// The owner key this crypto checks and writes.
    pub fn owner_key(&self) -> &str {
        &self.owner_key
    }

    /// Lowercase hex SHA-1 of the sorted concatenation of token, timestamp, nonce and `encrypt`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        let mut hasher = Sha1::new();
        for part in parts {
            hasher.update(part.as_bytes());
        }
        hex::encode(hasher.finalize())
    }

    /// Checks a signature in constant time.
    pub fn verify_signature(
        &self,
        signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> bool {
        let expected = self.signature(timestamp, nonce, encrypt);
        expected.as_bytes().ct_eq(signature.as_bytes()).into()
    }

    /// Encrypts `msg` with a fresh random 16-character alphanumeric prefix; returns Base64.
    pub fn encrypt(&self, msg: &str) -> String {
        let mut random = [0u8; RANDOM_LEN];
        let mut rng = rand::thread_rng();
        for (slot, byte) in random.iter_mut().zip(Alphanumeric.sample_iter(&mut rng)) {
            *slot = byte;
        }
        self.encrypt_with_random(msg, &random)
    }

    /// Encrypts `msg` with the given 16-byte prefix (deterministic; for test vectors and the CLI).
    pub fn encrypt_with_random(&self, msg: &str, random: &[u8; 16]) -> String {
        let msg = msg.as_bytes();
        let owner = self.owner_key.as_bytes();
        let mut plain = Vec::with_capacity(RANDOM_LEN + 4 + msg.len() + owner.len() + PAD_BLOCK);
        plain.extend_from_slice(random);
        // A callback message longer than 4 GiB cannot exist; saturate rather than wrap.
        let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
        plain.extend_from_slice(&len.to_be_bytes());
        plain.extend_from_slice(msg);
        plain.extend_from_slice(owner);
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        // `pad` is 1..=32, so it fits a byte.
        plain.resize(plain.len() + pad, pad as u8);
        let cipher = Aes256CbcEnc::new(&self.aes_key.into(), &self.iv().into());
        let encrypted = cipher.encrypt_padded_vec_mut::<NoPadding>(&plain);
        STANDARD.encode(encrypted)
    }

    /// Decrypts Base64 `encrypt`, checks padding, length and owner key; returns the message.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        let encrypted = STANDARD
            .decode(encrypt.trim())
            .map_err(|_| CryptoError::NotBase64)?;
        if encrypted.is_empty() || encrypted.len() % AES_BLOCK != 0 {
            return Err(CryptoError::BadLength(encrypted.len()));
        }
        let cipher = Aes256CbcDec::new(&self.aes_key.into(), &self.iv().into());
        let plain = cipher
            .decrypt_padded_vec_mut::<NoPadding>(&encrypted)
            .map_err(|_| CryptoError::BadLength(encrypted.len()))?;
        let body = strip_padding(&plain)?;
        if body.len() < RANDOM_LEN + 4 {
            return Err(CryptoError::LengthOutOfRange);
        }
        let (_random, rest) = body.split_at(RANDOM_LEN);
        let (len_bytes, rest) = rest.split_at(4);
        let len_bytes: [u8; 4] = len_bytes
            .try_into()
            .map_err(|_| CryptoError::LengthOutOfRange)?;
        let msg_len = usize::try_from(u32::from_be_bytes(len_bytes))
            .map_err(|_| CryptoError::LengthOutOfRange)?;
        if msg_len > rest.len() {
            return Err(CryptoError::LengthOutOfRange);
        }
        let (msg, owner) = rest.split_at(msg_len);
        if owner != self.owner_key.as_bytes() {
            return Err(CryptoError::OwnerMismatch);
        }
        String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::InvalidUtf8)
    }

    /// The CBC IV: the key's first 16 bytes.
    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.aes_key[..16]);
        iv
    }

    /// Verifies the signature, then decrypts: what a callback endpoint does with a push.
    pub fn open(
        &self,
        signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<String, CryptoError> {
        if !self.verify_signature(signature, timestamp, nonce, encrypt) {
            return Err(CryptoError::BadSignature);
        }
        self.decrypt(encrypt)
    }

    /// Encrypts and signs `msg` with the given timestamp and nonce: the callback reply
    /// (`seal("success", …)`) or a push body.
    pub fn seal(&self, msg: &str, timestamp: &str, nonce: &str) -> EncryptedMessage {
        let encrypt = self.encrypt(msg);
        self.sign_encrypted(encrypt, timestamp, nonce)
    }

    /// Signs an already encrypted payload.
    pub fn sign_encrypted(
        &self,
        encrypt: String,
        timestamp: &str,
        nonce: &str,
    ) -> EncryptedMessage {
        EncryptedMessage {
            msg_signature: self.signature(timestamp, nonce, &encrypt),
            time_stamp: timestamp.to_string(),
            nonce: nonce.to_string(),
            encrypt,
        }
    }
}

/// The ISV `get_corp_token` signature: Base64(HMAC-SHA256(key = suite secret,
/// msg = timestamp + "\n" + suite ticket)), not yet URL-encoded.
pub fn corp_token_signature(timestamp: &str, suite_ticket: &str, suite_secret: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(suite_secret.as_bytes()) else {
        // HMAC accepts keys of any length, so this branch is never taken.
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(b"\n");
    mac.update(suite_ticket.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// URL-encodes a value once for a DingTalk signed query (`+` → `%2B`, `/` → `%2F`, `=` → `%3D`,
/// space → `%20`, `*` → `%2A`, `~` kept as `%7E`).
pub fn url_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, URL_ENCODE_SET).to_string()
}

/// Checks and removes DingTalk's PKCS#7 padding (pad value 1..=32, all pad bytes equal).
fn strip_padding(plain: &[u8]) -> Result<&[u8], CryptoError> {
    let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
    if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
        return Err(CryptoError::BadPadding);
    }
    let (body, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::BadPadding);
    }
    Ok(body)
}
