//! DingTalk's HTTP callback crypto (AES-256-CBC, 32-byte PKCS#7 blocks, SHA-1 signature) and the
//! ISV `get_corp_token` HMAC-SHA256 signature.
//!
//! SKELETON: bodies are filled in by the crypto work; signatures are the contract.

use serde::{Deserialize, Serialize};

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
        let _ = (token, encoding_aes_key, owner_key);
        todo!()
    }

    /// The owner key this crypto checks and writes.
    pub fn owner_key(&self) -> &str {
        &self.owner_key
    }

    /// Lowercase hex SHA-1 of the sorted concatenation of token, timestamp, nonce and `encrypt`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let _ = (timestamp, nonce, encrypt, &self.token, &self.aes_key);
        todo!()
    }

    /// Checks a signature in constant time.
    pub fn verify_signature(
        &self,
        signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> bool {
        let _ = (signature, timestamp, nonce, encrypt);
        todo!()
    }

    /// Encrypts `msg` with a fresh random 16-character alphanumeric prefix; returns Base64.
    pub fn encrypt(&self, msg: &str) -> String {
        let _ = msg;
        todo!()
    }

    /// Encrypts `msg` with the given 16-byte prefix (deterministic; for test vectors and the CLI).
    pub fn encrypt_with_random(&self, msg: &str, random: &[u8; 16]) -> String {
        let _ = (msg, random);
        todo!()
    }

    /// Decrypts Base64 `encrypt`, checks padding, length and owner key; returns the message.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        let _ = encrypt;
        todo!()
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
    let _ = (timestamp, suite_ticket, suite_secret);
    todo!()
}

/// URL-encodes a value once for a DingTalk signed query (`+` → `%2B`, `/` → `%2F`, `=` → `%3D`,
/// space → `%20`, `*` → `%2A`, `~` kept as `%7E`).
pub fn url_encode(value: &str) -> String {
    let _ = value;
    todo!()
}
