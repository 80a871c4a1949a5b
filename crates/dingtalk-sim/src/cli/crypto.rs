//! `dingtalk-sim crypto encrypt|decrypt`: the callback crypto of ARCHITECTURE.md section 7.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use dingtalk_core::crypto::CallbackCrypto;

/// The callback app's settings.
#[derive(Debug, Args)]
pub struct Keys {
    /// The callback token.
    #[arg(long)]
    pub token: String,
    /// The 43-character EncodingAESKey.
    #[arg(long = "aes-key")]
    pub aes_key: String,
    /// The owner key (SuiteKey, AppKey or CorpId).
    #[arg(long = "owner-key")]
    pub owner_key: String,
}

/// encrypt or decrypt.
#[derive(Debug, Subcommand)]
pub enum CryptoOp {
    /// Verify and decrypt a push; prints the plaintext message.
    Decrypt {
        #[command(flatten)]
        keys: Keys,
        /// The `signature` / `msg_signature`.
        #[arg(long)]
        signature: String,
        /// The signed timestamp.
        #[arg(long)]
        timestamp: String,
        /// The signed nonce.
        #[arg(long)]
        nonce: String,
        /// The Base64 ciphertext.
        #[arg(long)]
        encrypt: String,
    },
    /// Encrypt and sign a message; prints {"msg_signature","timeStamp","nonce","encrypt"}.
    Encrypt {
        #[command(flatten)]
        keys: Keys,
        /// The timestamp to sign.
        #[arg(long)]
        timestamp: String,
        /// The nonce to sign.
        #[arg(long)]
        nonce: String,
        /// The 16-character random prefix (makes the output deterministic).
        #[arg(long)]
        random: Option<String>,
        /// The message to encrypt.
        #[arg(long)]
        msg: String,
    },
}

fn crypto(keys: &Keys) -> Result<CallbackCrypto, String> {
    CallbackCrypto::new(&keys.token, &keys.aes_key, &keys.owner_key).map_err(|e| e.to_string())
}

/// Runs the operation; prints the result to stdout, or the reason to stderr and fails.
pub fn run(op: CryptoOp) -> ExitCode {
    match execute(op) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn execute(op: CryptoOp) -> Result<String, String> {
    match op {
        CryptoOp::Decrypt {
            keys,
            signature,
            timestamp,
            nonce,
            encrypt,
        } => crypto(&keys)?
            .open(&signature, &timestamp, &nonce, &encrypt)
            .map_err(|e| e.to_string()),
        CryptoOp::Encrypt {
            keys,
            timestamp,
            nonce,
            random,
            msg,
        } => {
            let c = crypto(&keys)?;
            let encrypt = match random {
                Some(r) => {
                    let bytes: [u8; 16] = r.as_bytes().try_into().map_err(|_| {
                        format!("--random must be exactly 16 bytes (got {})", r.len())
                    })?;
                    c.encrypt_with_random(&msg, &bytes)
                }
                None => c.encrypt(&msg),
            };
            let sealed = c.sign_encrypted(encrypt, &timestamp, &nonce);
            serde_json::to_string(&sealed).map_err(|e| e.to_string())
        }
    }
}
