//! Chat templates: the model's own Jinja template from its GGUF metadata
//! (`tokenizer.chat_template`), rendered with minijinja the way Hugging Face's
//! `apply_chat_template` renders it, so that a model sees the prompt it was trained on:
//! `trim_blocks` and `lstrip_blocks`, loop controls (`break`, `continue`), Python's string and
//! dict methods (`.strip()`, `.split()`, `.items()`, … through minijinja-contrib's pycompat),
//! its `tojson` (`json.dumps` with `ensure_ascii=False`, Python's separators, `indent`),
//! `raise_exception` and `strftime_now`; variables `messages`, `tools` (when given),
//! `add_generation_prompt`, `bos_token`, `eos_token`. ChatML when a model has no template.
//! Golden tests compare the prompts with those of transformers' own renderer
//! (`models/tests/golden/chat_templates/`).

use minijinja::value::{Kwargs, Value as JValue};
use minijinja::{Environment, context};

use super::Message;
use crate::error::ModelError;

/// `json.dumps(value, ensure_ascii=False, indent=indent, separators=separators,
/// sort_keys=sort_keys)` as Python writes it, keys in the value's own order.
fn python_json(
    v: &JValue,
    indent: Option<usize>,
    sep: (&str, &str),
    sort: bool,
    depth: usize,
    out: &mut String,
) -> Result<(), minijinja::Error> {
    use minijinja::value::ValueKind as K;
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    match v.kind() {
        K::Undefined | K::None => out.push_str("null"),
        K::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        K::Number => match v.as_i64().filter(|_| v.is_integer()) {
            Some(i) => out.push_str(&i.to_string()),
            None => {
                let f = f64::try_from(v.clone())?;
                // Python writes a whole float with its decimal point (1.0).
                if f.fract() == 0.0 && f.is_finite() {
                    out.push_str(&format!("{f:.1}"));
                } else {
                    out.push_str(&f.to_string());
                }
            }
        },
        K::Seq | K::Iterable => {
            let items: Vec<JValue> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep.0);
                }
                newline(out, depth + 1);
                python_json(x, indent, sep, sort, depth + 1, out)?;
            }
            newline(out, depth);
            out.push(']');
        }
        K::Map => {
            let mut keys: Vec<JValue> = v.try_iter()?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            if sort {
                keys.sort();
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep.0);
                }
                newline(out, depth + 1);
                let name = k.as_str().map_or_else(|| k.to_string(), str::to_string);
                out.push_str(&serde_json::to_string(&name).unwrap_or_default());
                out.push_str(sep.1);
                python_json(&v.get_item(k)?, indent, sep, sort, depth + 1, out)?;
            }
            newline(out, depth);
            out.push('}');
        }
        // Strings, and anything else as its text.
        _ => {
            let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            out.push_str(&serde_json::to_string(&s).unwrap_or_default());
        }
    }
    Ok(())
}

/// Hugging Face's `tojson` filter (see [`python_json`]).
fn tojson(value: JValue, kwargs: Kwargs) -> Result<JValue, minijinja::Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort: Option<bool> = kwargs.get("sort_keys")?;
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    let _: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    // Python's default separators: ", " and ": ", or "," and ": " when indenting.
    let (item, key) = match &separators {
        Some(s) if s.len() == 2 => (s[0].as_str(), s[1].as_str()),
        _ if indent.is_some() => (",", ": "),
        _ => (", ", ": "),
    };
    let mut out = String::new();
    python_json(
        &value,
        indent,
        (item, key),
        sort.unwrap_or(false),
        0,
        &mut out,
    )?;
    Ok(JValue::from_safe_string(out))
}

/// ChatML, used by Qwen and SmolLM2, as the fallback.
const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
    /// The template's source, `None` for the ChatML fallback.
    source: Option<String>,
}

/// One message as templates see it: `role`, `content`, and for replayed calls `tool_calls`
/// (`[{"id", "type": "function", "function": {"name", "arguments": <object>}}]`, arguments as
/// an object as transformers passes them) and `tool_call_id`.
fn message_value(m: &Message) -> JValue {
    let mut v = serde_json::Map::new();
    v.insert("role".into(), m.role.as_str().into());
    v.insert("content".into(), m.content.as_str().into());
    if !m.tool_calls.is_empty() {
        let calls: Vec<serde_json::Value> = m
            .tool_calls
            .iter()
            .map(|c| {
                let args = serde_json::from_str::<serde_json::Value>(&c.arguments)
                    .unwrap_or_else(|_| c.arguments.as_str().into());
                serde_json::json!({"id": c.id, "type": "function",
                                   "function": {"name": c.name, "arguments": args}})
            })
            .collect();
        v.insert("tool_calls".into(), calls.into());
    }
    if let Some(id) = &m.tool_call_id {
        v.insert("tool_call_id".into(), id.as_str().into());
    }
    JValue::from_serialize(serde_json::Value::Object(v))
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compiles `source` (or ChatML when `None`); `bos`/`eos` are the model's special tokens.
    pub fn new(source: Option<&str>, bos: &str, eos: &str) -> Result<Self, ModelError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("strftime_now", |format: String| -> String {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            strftime_utc(now, &format)
        });
        env.add_function(
            "raise_exception",
            |msg: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    msg,
                ))
            },
        );
        env.add_template_owned("chat", source.unwrap_or(CHATML).to_string())
            .map_err(|e| ModelError::InvalidInput(format!("the model's chat template: {e}")))?;
        Ok(Self {
            env,
            bos: bos.to_string(),
            eos: eos.to_string(),
            source: source.map(str::to_string),
        })
    }

    /// The template's source (`None`: the model has none and ChatML is used).
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// Whether the template shows `tools` to the model.
    pub fn takes_tools(&self) -> bool {
        self.source.as_deref().is_some_and(|s| s.contains("tools"))
    }

    /// Whether the template asks for calls in `<tool_call>` tags (Hermes format).
    pub fn hermes_calls(&self) -> bool {
        self.source
            .as_deref()
            .is_some_and(|s| s.contains(super::tools::CALL_OPEN))
    }

    /// The prompt text for `messages`, ending where the assistant's answer starts.
    pub fn render(&self, messages: &[Message]) -> Result<String, ModelError> {
        self.render_with_tools(messages, None)
    }

    /// [`ChatTemplate::render`] with OpenAI-style tool definitions, as JSON text
    /// (`[{"type": "function", "function": {...}}]`; text, so that their keys keep the order
    /// the caller wrote, as in Python), for templates that describe tools to the model.
    pub fn render_with_tools(
        &self,
        messages: &[Message],
        tools_json: Option<&str>,
    ) -> Result<String, ModelError> {
        let tools: Option<JValue> = tools_json
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| ModelError::InvalidInput(format!("the tools are not JSON: {e}")))?;
        let msgs: Vec<JValue> = messages.iter().map(message_value).collect();
        let tmpl = self
            .env
            .get_template("chat")
            .map_err(|e| ModelError::Inference(format!("chat template: {e}")))?;
        tmpl.render(context! {
            messages => msgs,
            tools => tools,
            add_generation_prompt => true,
            bos_token => self.bos.as_str(),
            eos_token => self.eos.as_str(),
        })
        .map_err(|e| ModelError::InvalidInput(format!("rendering the chat template: {e}")))
    }
}

/// `datetime.now().strftime(format)` for the formats chat templates use (`%d %b %Y`,
/// `%Y-%m-%d`, …), in UTC.
fn strftime_utc(secs: i64, format: &str) -> String {
    let days = secs.div_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = MONTHS[(m - 1) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&y.to_string()),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('B') => out.push_str(month),
            Some('b') => out.push_str(&month[..3]),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Role;

    /// What transformers 5.25's renderer makes of a template using its environment's features
    /// (block trimming, `break`, Python string methods, `tojson(indent=...)`), computed with it.
    #[test]
    fn the_environment_is_hugging_faces() {
        let t = "{%- for m in messages %}\n{%- if loop.index > 2 %}{% break %}{% endif %}\n{% if m['role'] == 'system' %}\n[SYS] {{ m['content'].strip() | upper }}\n{% else %}\n[{{ m['role'] }}] {{ m['content'].split(',')[0] }} {{ {'b': 1, 'a': [1.0, \"é\"]} | tojson(indent=2) }}\n{% endif %}\n{%- endfor %}\n{{- ' ' ~ messages | length }}";
        let c = ChatTemplate::new(Some(t), "", "").unwrap();
        let out = c
            .render(&[
                Message::new(Role::System, "  be brief  "),
                Message::new(Role::User, "x, y"),
                Message::new(Role::User, "never"),
            ])
            .unwrap();
        assert_eq!(
            out,
            "[SYS] BE BRIEF\n[user] x {\n  \"b\": 1,\n  \"a\": [\n    1.0,\n    \"é\"\n  ]\n}\n 3"
        );
        assert_eq!(
            strftime_utc(0, "%d %b %Y, %B %m/%d"),
            "01 Jan 1970, January 01/01"
        );
    }
}
