//! Chat templates: the model's own Jinja template from its GGUF metadata
//! (`tokenizer.chat_template`), rendered with minijinja the way Hugging Face does
//! (`messages`, `add_generation_prompt`, `bos_token`, `eos_token`); ChatML when a model has none.

use minijinja::{Environment, context};

use super::Message;
use crate::error::ModelError;

/// ChatML, used by Qwen and SmolLM2, as the fallback.
const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// A compiled chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
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
        })
    }

    /// The prompt text for `messages`, ending where the assistant's answer starts.
    pub fn render(&self, messages: &[Message]) -> Result<String, ModelError> {
        let msgs: Vec<_> = messages
            .iter()
            .map(|m| context! { role => m.role.as_str(), content => m.content.as_str() })
            .collect();
        let tmpl = self
            .env
            .get_template("chat")
            .map_err(|e| ModelError::Inference(format!("chat template: {e}")))?;
        tmpl.render(context! {
            messages => msgs,
            add_generation_prompt => true,
            bos_token => self.bos.as_str(),
            eos_token => self.eos.as_str(),
        })
        .map_err(|e| ModelError::InvalidInput(format!("rendering the chat template: {e}")))
    }
}
