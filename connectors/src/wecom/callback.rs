//! The decrypted JSON of an intelligent robot's callbacks ("接收消息", "接收事件"), as data.

use crate::chat::MessageKind;
use serde::Deserialize;
use serde_json::Value;

/// Whether a message came from a group or a one-to-one chat with the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    /// `single`.
    Single,
    /// `group`.
    Group,
}

/// A user's message to the robot.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotMessage {
    /// Unique per callback; WeCom may deliver a callback more than once.
    pub msgid: String,
    /// The robot.
    pub aibotid: String,
    /// The group (group chats only).
    pub chatid: Option<String>,
    /// Group or single chat.
    pub chattype: ChatType,
    /// The sender's user id.
    pub userid: String,
    /// The one-use URL for an active reply (valid for an hour).
    pub response_url: Option<String>,
    /// What it is.
    pub kind: MessageKind,
    /// The text (the text items of a mixed message joined by new lines; the recognised text of
    /// a voice message; empty for images and files).
    pub text: String,
    /// When WeCom says it was created (Unix seconds), when given.
    pub create_time: Option<i64>,
}

/// One callback.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// A user's message.
    Message(RobotMessage),
    /// WeCom asks for the current content of a stream the robot opened.
    StreamRefresh {
        /// Unique per callback.
        msgid: String,
        /// The stream's id, as the robot set it.
        stream_id: String,
    },
    /// An event (`enter_chat`, `template_card_event`, `feedback_event`, …).
    Event {
        /// Unique per callback.
        msgid: String,
        /// `event.eventtype`.
        eventtype: String,
    },
}

#[derive(Deserialize)]
struct Raw {
    msgid: String,
    #[serde(default)]
    aibotid: String,
    chatid: Option<String>,
    chattype: Option<String>,
    from: Option<From>,
    response_url: Option<String>,
    msgtype: String,
    create_time: Option<i64>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct From {
    userid: String,
}

/// Why a decrypted callback could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the callback is not a WeCom robot message: {0}")]
pub struct CallbackError(pub String);

fn text_of(v: Option<&Value>) -> Option<String> {
    v?.get("content")?.as_str().map(str::to_string)
}

/// Reads a decrypted callback.
pub fn parse(json: &str) -> Result<Callback, CallbackError> {
    let raw: Raw = serde_json::from_str(json).map_err(|e| CallbackError(e.to_string()))?;
    if raw.msgid.is_empty() {
        return Err(CallbackError("msgid is empty".into()));
    }
    match raw.msgtype.as_str() {
        "stream" => {
            let id = raw
                .rest
                .get("stream")
                .and_then(|s| s.get("id"))
                .and_then(Value::as_str)
                .ok_or_else(|| CallbackError("a stream refresh without stream.id".into()))?;
            return Ok(Callback::StreamRefresh {
                msgid: raw.msgid,
                stream_id: id.to_string(),
            });
        }
        "event" => {
            let t = raw
                .rest
                .get("event")
                .and_then(|e| e.get("eventtype"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Ok(Callback::Event {
                msgid: raw.msgid,
                eventtype: t.to_string(),
            });
        }
        _ => {}
    }
    let userid = raw
        .from
        .map(|f| f.userid)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| CallbackError("from.userid is missing".into()))?;
    let chattype = match raw.chattype.as_deref() {
        Some("group") => ChatType::Group,
        Some("single") | None => ChatType::Single,
        Some(other) => return Err(CallbackError(format!("chattype {other:?}"))),
    };
    if chattype == ChatType::Group && raw.chatid.as_deref().unwrap_or("").is_empty() {
        return Err(CallbackError("a group message without chatid".into()));
    }
    let (kind, text) = match raw.msgtype.as_str() {
        "text" => (
            MessageKind::Text,
            text_of(raw.rest.get("text")).unwrap_or_default(),
        ),
        "voice" => (
            MessageKind::Text,
            text_of(raw.rest.get("voice")).unwrap_or_default(),
        ),
        "mixed" => {
            let items = raw
                .rest
                .get("mixed")
                .and_then(|m| m.get("msg_item"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let texts: Vec<String> = items
                .iter()
                .filter(|i| i.get("msgtype").and_then(Value::as_str) == Some("text"))
                .filter_map(|i| text_of(i.get("text")))
                .collect();
            if texts.iter().all(|t| t.trim().is_empty()) {
                (MessageKind::Image, String::new())
            } else {
                (MessageKind::Text, texts.join("\n"))
            }
        }
        "image" => (MessageKind::Image, String::new()),
        _ => (MessageKind::Other, String::new()),
    };
    Ok(Callback::Message(RobotMessage {
        msgid: raw.msgid,
        aibotid: raw.aibotid,
        chatid: raw.chatid.filter(|c| !c.is_empty()),
        chattype,
        userid,
        response_url: raw.response_url.filter(|u| !u.is_empty()),
        kind,
        text,
        create_time: raw.create_time,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_examples_parse() {
        // "接收消息": a text message in a group, a mixed message, a stream refresh, an event.
        let text = r#"{"msgid":"CAIQ16HMjQYY\/NGagIOAgAMgq4KM0AI=","aibotid":"AIBOTID","chatid":"CHATID",
            "chattype":"group","from":{"userid":"USERID"},"response_url":"RESPONSEURL","msgtype":"text",
            "text":{"content":"@RobotA hello robot"},"quote":{"msgtype":"text","text":{"content":"这是今日的测试情况"}}}"#;
        let Callback::Message(m) = parse(text).unwrap() else {
            panic!()
        };
        assert_eq!(m.msgid, "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=");
        assert_eq!(
            (m.chatid.as_deref(), m.chattype),
            (Some("CHATID"), ChatType::Group)
        );
        assert_eq!(
            (m.userid.as_str(), m.text.as_str()),
            ("USERID", "@RobotA hello robot")
        );
        assert_eq!(m.response_url.as_deref(), Some("RESPONSEURL"));
        let mixed = r#"{"msgid":"m2","aibotid":"A","chatid":"C","chattype":"group","from":{"userid":"U"},
            "response_url":"R","msgtype":"mixed","mixed":{"msg_item":[{"msgtype":"text","text":{"content":"@机器人 这是今日的测试情况"}},
            {"msgtype":"image","image":{"url":"URL"}}]}}"#;
        let Callback::Message(m) = parse(mixed).unwrap() else {
            panic!()
        };
        assert_eq!(
            (m.kind, m.text.as_str()),
            (MessageKind::Text, "@机器人 这是今日的测试情况")
        );
        let image = r#"{"msgid":"m3","aibotid":"A","chattype":"single","from":{"userid":"U"},"msgtype":"image","image":{"url":"U"}}"#;
        let Callback::Message(m) = parse(image).unwrap() else {
            panic!()
        };
        assert_eq!((m.kind, m.chatid), (MessageKind::Image, None));
        let refresh = r#"{"msgid":"m4","aibotid":"A","chatid":"C","chattype":"group","from":{"userid":"U"},"msgtype":"stream","stream":{"id":"STREAMID"}}"#;
        assert_eq!(
            parse(refresh).unwrap(),
            Callback::StreamRefresh {
                msgid: "m4".into(),
                stream_id: "STREAMID".into()
            }
        );
        let event = r#"{"msgid":"m5","create_time":1700000000,"aibotid":"A","from":{"corpid":"wpxxxx","userid":"U"},"msgtype":"event","event":{"eventtype":"enter_chat"}}"#;
        assert!(
            matches!(parse(event).unwrap(), Callback::Event { eventtype, .. } if eventtype == "enter_chat")
        );
    }

    #[test]
    fn malformed_callbacks_are_refused_with_the_reason() {
        for (json, why) in [
            ("not json", "expected"),
            (r#"{"msgtype":"text"}"#, "msgid"),
            (
                r#"{"msgid":"m","msgtype":"text","text":{"content":"x"}}"#,
                "from.userid",
            ),
            (
                r#"{"msgid":"m","msgtype":"text","chattype":"group","from":{"userid":"u"}}"#,
                "chatid",
            ),
            (
                r#"{"msgid":"m","msgtype":"stream","stream":{}}"#,
                "stream.id",
            ),
        ] {
            let e = parse(json).unwrap_err();
            assert!(e.0.contains(why), "{json}: {e}");
        }
    }
}
