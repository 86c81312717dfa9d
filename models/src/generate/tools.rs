//! Function calling (OpenAI's `tools` and `tool_choice`) on local models.
//!
//! The tools are shown to the model by its own chat template when the template takes them
//! (Qwen2.5 and other Hermes-style templates: a system text listing the function signatures
//! and asking for `<tool_call>{"name": …, "arguments": …}</tool_call>`); for a template that
//! does not, the same text is added to the system message ([`system_text`]). What the model
//! writes is read back by [`parse_calls`], and every call's arguments are checked against the
//! function's parameter schema:
//!
//! - `tool_choice: "none"` (or no tools): the tools are not shown; plain text.
//! - a named function, or `"required"` with one function: the call is decoded under the
//!   constraint of [`call_schema`] after the template's `<tool_call>` opening, so it always
//!   names the function and its arguments always validate.
//! - `"required"` with several functions: the model writes the call after the opening; a call
//!   that does not parse or validate is decoded again under the constraint of the function it
//!   named (or of [`name_schema`] first, when it named none).
//! - `"auto"`: the model answers freely; text streams as it comes, except what could be the
//!   start of a `<tool_call>` ([`StreamGate`]); a call it writes is checked, and decoded again
//!   under its function's constraint when its arguments do not validate.

use std::ops::ControlFlow;

use serde_json::{Value, json};

/// Opens a call in the Hermes format that Qwen2.5's template asks for.
pub const CALL_OPEN: &str = "<tool_call>";
/// Closes a call.
pub const CALL_CLOSE: &str = "</tool_call>";

/// A function the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// The function's name.
    pub name: String,
    /// What it does, for the model.
    pub description: Option<String>,
    /// The JSON Schema of its arguments (`{"type": "object"}` when the caller gave none).
    pub parameters: Value,
    /// The tool's definition as the caller wrote it (`{"type": "function", "function": …}`),
    /// JSON text with the caller's key order, which is what the chat template shows.
    pub source: String,
}

impl Tool {
    /// A tool from its OpenAI definition (`{"type": "function", "function": {"name",
    /// "description", "parameters"}}`) as JSON text; the error says what is wrong.
    pub fn from_openai(source: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(source).map_err(|e| format!("not JSON: {e}"))?;
        match v.get("type").and_then(Value::as_str) {
            Some("function") => {}
            Some(other) => {
                return Err(format!("type {other:?} is not supported; use \"function\""));
            }
            None => return Err("`type` is missing (use \"function\")".into()),
        }
        let f = v
            .get("function")
            .and_then(Value::as_object)
            .ok_or("`function` is missing or not an object")?;
        let name = f
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or("`function.name` is missing or empty")?;
        if name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "`function.name` {name:?} must be 1 to 64 letters, digits, `_` or `-`"
            ));
        }
        let parameters = match f.get("parameters") {
            None | Some(Value::Null) => json!({"type": "object"}),
            Some(p) if p.is_object() => p.clone(),
            Some(_) => return Err("`function.parameters` must be a JSON Schema object".into()),
        };
        Ok(Self {
            name: name.to_string(),
            description: f
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            parameters,
            source: source.to_string(),
        })
    }
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ToolChoice {
    /// No tool (the default without tools).
    #[default]
    None,
    /// The model decides (the default with tools).
    Auto,
    /// The model must call one of the tools.
    Required,
    /// The model must call this function.
    Named(String),
}

/// One call the model made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The call's id (`call_…`), which the tool's answer names.
    pub id: String,
    /// The function.
    pub name: String,
    /// Its arguments, a JSON object as text.
    pub arguments: String,
}

impl ToolCall {
    /// A call with a fresh id.
    pub fn new(name: impl Into<String>, arguments: &Value) -> Self {
        Self {
            id: new_call_id(),
            name: name.into(),
            arguments: arguments.to_string(),
        }
    }
}

/// `call_` and 24 random hexadecimal digits.
fn new_call_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = super::sampler::Rng::new(nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed) << 48);
    format!("call_{:016x}{:08x}", rng.next_u64(), rng.next_u64() as u32)
}

/// The schema of one call of `tool`: `{"name": <its name>, "arguments": <its parameters>}`.
pub fn call_schema(tool: &Tool) -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"const": tool.name},
            "arguments": tool.parameters,
        },
        "required": ["name", "arguments"],
    })
}

/// The schema of a choice among `tools`: `{"name": <one of their names>}`.
pub fn name_schema(tools: &[Tool]) -> Value {
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    json!({
        "type": "object",
        "properties": {"name": {"enum": names}},
        "required": ["name"],
    })
}

/// The tools described for a model whose template does not take them: the wording of
/// Qwen2.5's template (Hermes format), which small instruction models follow too.
pub fn system_text(tools: &[Tool]) -> String {
    let mut s = String::from(
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n\
         You are provided with function signatures within <tools></tools> XML tags:\n<tools>",
    );
    for t in tools {
        s.push('\n');
        s.push_str(&compact(&t.source));
    }
    s.push_str(
        "\n</tools>\n\nFor each function call, return a json object with function name and \
         arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n\
         {\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>",
    );
    s
}

/// Replayed calls and their results written out for a template that knows no tools, as
/// Qwen2.5's template writes them: an assistant's calls as `<tool_call>` blocks after its
/// text, a tool's answer as a user message in `<tool_response>` tags.
pub fn calls_as_text(messages: &mut [super::Message]) {
    for m in messages.iter_mut() {
        for c in std::mem::take(&mut m.tool_calls) {
            let args = serde_json::from_str::<Value>(&c.arguments)
                .map_or_else(|_| c.arguments.clone(), |v| python_dumps(&v));
            if !m.content.is_empty() {
                m.content.push('\n');
            }
            m.content.push_str(&format!(
                "{CALL_OPEN}\n{{\"name\": {}, \"arguments\": {args}}}\n{CALL_CLOSE}",
                Value::from(c.name.as_str())
            ));
        }
        if m.role == super::Role::Tool {
            m.role = super::Role::User;
            m.content = format!("<tool_response>\n{}\n</tool_response>", m.content);
            m.tool_call_id = None;
        }
    }
}

/// JSON text in Python's `json.dumps` spacing, keys in their order (what Qwen's template
/// writes with `tojson`).
fn compact(source: &str) -> String {
    match serde_json::from_str::<Value>(source) {
        Ok(v) => python_dumps(&v),
        Err(_) => source.to_string(),
    }
}

fn python_dumps(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), python_dumps(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(python_dumps).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// A call as the model wrote it, before it is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The name it wrote (may be no tool's).
    pub name: Option<String>,
    /// Its arguments, when they parsed as JSON.
    pub arguments: Option<Value>,
}

/// What a generated text holds: the text before the first call, and the calls written in it
/// (`<tool_call>…</tool_call>` blocks, the last one possibly unclosed); `None` when it holds
/// no call.
pub fn parse_calls(text: &str) -> Option<(String, Vec<Written>)> {
    let start = text.find(CALL_OPEN)?;
    let content = text[..start].trim().to_string();
    let mut calls = Vec::new();
    let mut rest = &text[start..];
    while let Some(i) = rest.find(CALL_OPEN) {
        let body_start = i + CALL_OPEN.len();
        let (body, next) = match rest[body_start..].find(CALL_CLOSE) {
            Some(j) => (
                &rest[body_start..body_start + j],
                body_start + j + CALL_CLOSE.len(),
            ),
            None => (&rest[body_start..], rest.len()),
        };
        calls.push(read_call(body));
        rest = &rest[next..];
    }
    Some((content, calls))
}

/// One call's JSON (`{"name": …, "arguments": {…}}`, arguments possibly as a JSON string).
pub fn read_call(body: &str) -> Written {
    let Ok(v) = serde_json::from_str::<Value>(body.trim()) else {
        // The name may still be readable from a broken document.
        let name = body
            .split("\"name\"")
            .nth(1)
            .and_then(|r| r.split('"').nth(1))
            .map(str::to_string);
        return Written {
            name,
            arguments: None,
        };
    };
    let name = v.get("name").and_then(Value::as_str).map(str::to_string);
    let arguments = match v.get("arguments").or_else(|| v.get("parameters")) {
        Some(Value::String(s)) => serde_json::from_str(s).ok(),
        Some(a @ Value::Object(_)) => Some(a.clone()),
        None => Some(json!({})),
        Some(_) => None,
    };
    Written { name, arguments }
}

/// A checked call, or why it is not one.
pub fn check(w: &Written, tools: &[Tool]) -> Result<ToolCall, String> {
    let name = w.name.as_deref().ok_or("the call names no function")?;
    let tool = tools
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| format!("the call names {name:?}, which is not an offered function"))?;
    let args = w
        .arguments
        .as_ref()
        .ok_or("the call's arguments are not a JSON object")?;
    let problems = crate::json::validate(&tool.parameters, args);
    if !problems.is_empty() {
        return Err(format!(
            "the arguments of {name} break its schema: {}",
            problems.join("; ")
        ));
    }
    Ok(ToolCall::new(name, args))
}

/// Streams text deltas through, holding back what could be the start of a call: once a
/// `<tool_call>` appears, nothing more is streamed (the call is returned whole at the end).
pub struct StreamGate<'a> {
    out: &'a mut dyn FnMut(&str) -> ControlFlow<()>,
    text: String,
    sent: usize,
    in_call: bool,
}

impl<'a> StreamGate<'a> {
    /// A gate in front of `out`.
    pub fn new(out: &'a mut dyn FnMut(&str) -> ControlFlow<()>) -> Self {
        Self {
            out,
            text: String::new(),
            sent: 0,
            in_call: false,
        }
    }

    /// Takes the next delta.
    pub fn push(&mut self, d: &str) -> ControlFlow<()> {
        self.text.push_str(d);
        if self.in_call {
            return ControlFlow::Continue(());
        }
        let safe = match self.text[self.sent..].find(CALL_OPEN) {
            Some(i) => {
                self.in_call = true;
                self.sent + i
            }
            None => {
                // Hold back a suffix that is a prefix of the opening tag.
                let t = &self.text[self.sent..];
                let hold = (1..CALL_OPEN.len().min(t.len()) + 1)
                    .rev()
                    .find(|&n| {
                        t.is_char_boundary(t.len() - n) && CALL_OPEN.starts_with(&t[t.len() - n..])
                    })
                    .unwrap_or(0);
                self.text.len() - hold
            }
        };
        if safe > self.sent {
            let piece = self.text[self.sent..safe].to_string();
            self.sent = safe;
            return (self.out)(&piece);
        }
        ControlFlow::Continue(())
    }

    /// Sends what was held back when the text turned out to hold no call.
    pub fn finish(&mut self) {
        if !self.in_call && self.sent < self.text.len() {
            let piece = self.text[self.sent..].to_string();
            self.sent = self.text.len();
            let _ = (self.out)(&piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weather() -> Tool {
        Tool::from_openai(
            r#"{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn definitions_are_read_and_bad_ones_named() {
        let t = weather();
        assert_eq!(t.name, "get_weather");
        assert_eq!(t.parameters["required"][0], "city");
        for (src, says) in [
            (r#"{"type": "retrieval"}"#, "\"retrieval\""),
            (r#"{"type": "function"}"#, "`function`"),
            (
                r#"{"type": "function", "function": {"name": "a b"}}"#,
                "letters",
            ),
            (
                r#"{"type": "function", "function": {"name": "f", "parameters": 3}}"#,
                "parameters",
            ),
        ] {
            let e = Tool::from_openai(src).unwrap_err();
            assert!(e.contains(says), "{src}: {e}");
        }
        let t = Tool::from_openai(r#"{"type": "function", "function": {"name": "now"}}"#).unwrap();
        assert_eq!(t.parameters, json!({"type": "object"}));
    }

    #[test]
    fn calls_are_read_from_hermes_blocks_and_checked() {
        let tools = [weather()];
        let (content, calls) = parse_calls(
            "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"上海\"}}\n</tool_call>\n<tool_call>{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"HK\\\"}\"}",
        )
        .unwrap();
        assert_eq!(content, "Let me look.");
        assert_eq!(calls.len(), 2);
        let c = check(&calls[0], &tools).unwrap();
        assert_eq!(
            (c.name.as_str(), c.arguments.as_str()),
            ("get_weather", r#"{"city":"上海"}"#)
        );
        assert!(c.id.starts_with("call_") && c.id.len() == 29);
        assert_eq!(
            check(&calls[1], &tools).unwrap().arguments,
            r#"{"city":"HK"}"#
        );
        assert!(parse_calls("no call here").is_none());
        let (_, bad) =
            parse_calls("<tool_call>{\"name\": \"get_weather\", \"arguments\": {}}").unwrap();
        assert!(check(&bad[0], &tools).unwrap_err().contains("city"));
        let (_, bad) = parse_calls("<tool_call>{\"name\": \"get_weather\", \"argu").unwrap();
        assert_eq!(bad[0].name.as_deref(), Some("get_weather"));
        assert!(bad[0].arguments.is_none());
        let (_, bad) = parse_calls("<tool_call>{\"name\": \"rm\", \"arguments\": {}}").unwrap();
        assert!(
            check(&bad[0], &tools)
                .unwrap_err()
                .contains("not an offered")
        );
    }

    #[test]
    fn the_gate_streams_text_and_holds_back_calls() {
        let mut got = String::new();
        let mut out = |d: &str| {
            got.push_str(d);
            ControlFlow::Continue(())
        };
        let mut g = StreamGate::new(&mut out);
        for d in [
            "Sure",
            ", 1 < 2 ",
            "<",
            "tool",
            "_call>{\"name\"",
            ": \"x\"}",
        ] {
            let _ = g.push(d);
        }
        g.finish();
        assert_eq!(got, "Sure, 1 < 2 ");
        let mut got = String::new();
        let mut out = |d: &str| {
            got.push_str(d);
            ControlFlow::Continue(())
        };
        let mut g = StreamGate::new(&mut out);
        for d in ["a <to", "p> b <", "tool_"] {
            let _ = g.push(d);
        }
        g.finish();
        assert_eq!(got, "a <top> b <tool_");
    }

    #[test]
    fn schemas_and_system_text() {
        let t = weather();
        let s = call_schema(&t);
        assert_eq!(s["properties"]["name"]["const"], "get_weather");
        crate::json::Schema::compile(&s).unwrap();
        crate::json::Schema::compile(&name_schema(std::slice::from_ref(&t))).unwrap();
        let text = system_text(&[t]);
        assert!(text.contains(
            "<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\""
        ));
        assert!(text.ends_with("</tool_call>"));
    }
}
