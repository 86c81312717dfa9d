//! WeCom's callback encryption ("回调和回复的加解密方案"), written from the published scheme:
//!
//! - `AESKey = Base64_Decode(EncodingAESKey + "=")`: the 43-character EncodingAESKey is 32 bytes
//!   of key; the IV is the key's first 16 bytes.
//! - Plain text = 16 random bytes ‖ `msg_len` (4 bytes, network order) ‖ msg ‖ receiveid, padded
//!   with PKCS#7 **to a multiple of 32 bytes**, encrypted with AES-256-CBC and Base64-encoded.
//!   The receive id is the corp id for applications and empty for an intelligent robot.
//! - `msg_signature = sha1(sort(token, timestamp, nonce, msg_encrypt).join(""))`, lower-case hex.
//!
//! The known-answer tests below are the worked examples of WeCom's documentation.

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use sha1::{Digest, Sha1};

/// WeCom pads to 32 bytes, not to the AES block of 16.
const PAD_BLOCK: usize = 32;

/// Why a callback could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The EncodingAESKey is not 43 Base64 characters decoding to 32 bytes.
    #[error("the EncodingAESKey must be 43 Base64 characters (32 bytes of key); {0}")]
    Key(String),
    /// `msg_signature` does not match the token, timestamp, nonce and cipher text.
    #[error("msg_signature does not match (wrong token, or the message was altered)")]
    Signature,
    /// The cipher text is not Base64.
    #[error("the encrypt field is not Base64: {0}")]
    Base64(String),
    /// The cipher text's length is not a positive multiple of the AES block.
    #[error("the encrypt field is {0} bytes, not a positive multiple of 16 (truncated?)")]
    Length(usize),
    /// The padding or the length field inside is wrong (wrong key, or corrupted).
    #[error("the encrypt field does not decrypt to WeCom's layout ({0}); wrong EncodingAESKey?")]
    Layout(&'static str),
    /// The receive id inside is not ours.
    #[error("the message is for receive id {got:?}, not {expected:?}")]
    ReceiveId {
        /// Ours.
        expected: String,
        /// The message's.
        got: String,
    },
    /// The message is not UTF-8.
    #[error("the decrypted message is not UTF-8")]
    Utf8,
}

/// Signs, verifies, encrypts and decrypts one robot's or application's callbacks.
#[derive(Clone)]
pub struct WecomCrypto {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl std::fmt::Debug for WecomCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WecomCrypto")
            .field("receive_id", &self.receive_id)
            .finish_non_exhaustive()
    }
}

/// Base64 as WeCom writes it: the EncodingAESKey's last character carries bits that strict
/// decoders refuse, so trailing bits are allowed.
fn lenient() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

impl WecomCrypto {
    /// A codec for `token` and `encoding_aes_key`; `receive_id` is the corp id for an
    /// application's callbacks and empty for an intelligent robot's.
    pub fn new(
        token: &str,
        encoding_aes_key: &str,
        receive_id: &str,
    ) -> Result<WecomCrypto, CryptoError> {
        let k = encoding_aes_key.trim();
        if k.chars().count() != 43 {
            return Err(CryptoError::Key(format!(
                "this one has {} characters",
                k.chars().count()
            )));
        }
        let bytes = lenient()
            .decode(format!("{k}="))
            .map_err(|e| CryptoError::Key(e.to_string()))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| CryptoError::Key(format!("it decodes to {} bytes", b.len())))?;
        Ok(WecomCrypto {
            token: token.to_string(),
            key,
            receive_id: receive_id.to_string(),
        })
    }

    /// `msg_signature` of a message.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        let mut h = Sha1::new();
        for p in parts {
            h.update(p.as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// Checks `msg_signature` (compared in constant time).
    pub fn verify(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CryptoError> {
        let want = self.signature(timestamp, nonce, encrypt);
        let got = msg_signature.trim().to_ascii_lowercase();
        let same = want.len() == got.len()
            && want
                .bytes()
                .zip(got.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(CryptoError::Signature)
        }
    }

    fn cipher_iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    /// Decrypts an `encrypt` field (or a URL check's `echostr`) to the message inside.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        let mut buf = lenient()
            .decode(encrypt.trim())
            .map_err(|e| CryptoError::Base64(e.to_string()))?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CryptoError::Length(buf.len()));
        }
        let dec = cbc::Decryptor::<Aes256>::new(&self.key.into(), &self.cipher_iv().into());
        let plain = dec
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::Layout("block decryption failed"))?;
        let pad = usize::from(*plain.last().ok_or(CryptoError::Layout("empty"))?);
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CryptoError::Layout("bad padding"));
        }
        let body = &plain[..plain.len() - pad];
        if body.len() < 20 {
            return Err(CryptoError::Layout(
                "shorter than the random and length fields",
            ));
        }
        let len = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
        let rest = &body[20..];
        if len > rest.len() {
            return Err(CryptoError::Layout("message length beyond the data"));
        }
        let (msg, rid) = rest.split_at(len);
        let rid = std::str::from_utf8(rid).map_err(|_| CryptoError::Utf8)?;
        if rid != self.receive_id {
            return Err(CryptoError::ReceiveId {
                expected: self.receive_id.clone(),
                got: rid.to_string(),
            });
        }
        String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::Utf8)
    }

    /// Encrypts `msg` with the given 16 random bytes (the documented layout).
    pub fn encrypt_with(&self, msg: &str, random: [u8; 16]) -> String {
        let mut plain = Vec::with_capacity(20 + msg.len() + self.receive_id.len() + PAD_BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(self.receive_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let n = plain.len();
        let enc = cbc::Encryptor::<Aes256>::new(&self.key.into(), &self.cipher_iv().into());
        let out = enc
            .encrypt_padded_mut::<NoPadding>(&mut plain, n)
            .expect("the buffer is a whole number of blocks");
        general_purpose::STANDARD.encode(out)
    }

    /// Encrypts `msg` with fresh random bytes.
    pub fn encrypt(&self, msg: &str) -> String {
        self.encrypt_with(msg, rand::random())
    }

    /// A passive reply: `msg` encrypted and signed, as the JSON body WeCom expects.
    pub fn reply(&self, msg: &str, timestamp: i64, nonce: &str) -> String {
        let encrypt = self.encrypt(msg);
        let ts = timestamp.to_string();
        let sig = self.signature(&ts, nonce, &encrypt);
        serde_json::json!({
            "encrypt": encrypt,
            "msgsignature": sig,
            "timestamp": ts,
            "nonce": nonce,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of WeCom's "加解密方案说明" (developer.work.weixin.qq.com, path 90968).
    const TOKEN: &str = "QDG6eK";
    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    const CORP: &str = "wx5823bf96d3bd56c7";
    const ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

    #[test]
    fn the_documented_message_verifies_and_decrypts() {
        let c = WecomCrypto::new(TOKEN, KEY, CORP).unwrap();
        assert_eq!(
            c.signature("1409659813", "1372623149", ENCRYPT),
            "477715d11cdb4164915debcba66cb864d751f3e6"
        );
        c.verify(
            "477715d11cdb4164915debcba66cb864d751f3e6",
            "1409659813",
            "1372623149",
            ENCRYPT,
        )
        .unwrap();
        let msg = c.decrypt(ENCRYPT).unwrap();
        assert!(msg.starts_with("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]>"));
        assert!(msg.contains("<Content><![CDATA[hello]]></Content>"));
        assert!(msg.contains("<MsgId>4561255354251345929</MsgId>"));
        // Encrypting the same message with the same random bytes gives the documented cipher
        // text back, byte for byte.
        let raw = general_purpose::STANDARD.decode(ENCRYPT).unwrap();
        let dec = cbc::Decryptor::<Aes256>::new(&c.key.into(), &c.cipher_iv().into());
        let mut buf = raw.clone();
        let plain = dec.decrypt_padded_mut::<NoPadding>(&mut buf).unwrap();
        let random: [u8; 16] = plain[..16].try_into().unwrap();
        assert_eq!(c.encrypt_with(&msg, random), ENCRYPT);
    }

    #[test]
    fn the_documented_url_check_decrypts() {
        let c = WecomCrypto::new(TOKEN, KEY, CORP).unwrap();
        let echostr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
        c.verify(
            "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
            "1409659589",
            "263014780",
            echostr,
        )
        .unwrap();
        assert_eq!(c.decrypt(echostr).unwrap(), "1616140317555161061");
    }

    #[test]
    fn robots_round_trip_with_an_empty_receive_id() {
        let c = WecomCrypto::new("tok", KEY, "").unwrap();
        for msg in ["", "a", &"x".repeat(31), &"报价".repeat(100)] {
            let e = c.encrypt(msg);
            assert_eq!(c.decrypt(&e).unwrap(), msg);
        }
        let reply: serde_json::Value =
            serde_json::from_str(&c.reply("{}", 1700000000, "n1")).unwrap();
        c.verify(
            reply["msgsignature"].as_str().unwrap(),
            "1700000000",
            "n1",
            reply["encrypt"].as_str().unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn bad_input_is_named() {
        assert!(matches!(
            WecomCrypto::new(TOKEN, "short", ""),
            Err(CryptoError::Key(_))
        ));
        assert!(matches!(
            WecomCrypto::new(TOKEN, &format!("{}!", &KEY[..42]), ""),
            Err(CryptoError::Key(_))
        ));
        let c = WecomCrypto::new(TOKEN, KEY, CORP).unwrap();
        assert_eq!(
            c.verify(
                "477715d11cdb4164915debcba66cb864d751f3e7",
                "1409659813",
                "1372623149",
                ENCRYPT
            ),
            Err(CryptoError::Signature)
        );
        assert!(matches!(
            c.decrypt("not base64 ***"),
            Err(CryptoError::Base64(_))
        ));
        assert!(matches!(
            c.decrypt(&ENCRYPT[..40]),
            Err(CryptoError::Length(_))
        ));
        // Another robot's key: the layout check fails, or the receive id does not match.
        let other =
            WecomCrypto::new(TOKEN, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", CORP).unwrap();
        assert!(matches!(
            other.decrypt(ENCRYPT),
            Err(CryptoError::Layout(_) | CryptoError::ReceiveId { .. } | CryptoError::Utf8)
        ));
        let robot = WecomCrypto::new(TOKEN, KEY, "").unwrap();
        assert!(matches!(
            robot.decrypt(ENCRYPT),
            Err(CryptoError::ReceiveId { .. })
        ));
    }
}
