//! What the prompts built over retrieved text share: the cited answer's ([`crate::answer`])
//! and the reranker's grading prompt ([`crate::rerank`]) both reply in the question's language
//! ([`answer_language`]) and fence retrieved text as data that cannot close its own fence
//! ([`defuse_tags`]). Both modules import this one; it imports neither.

use crate::document::Language;

/// The language an answer to `question` must be in: Chinese for a Chinese question, English
/// otherwise.
pub fn answer_language(question: &str) -> Language {
    match Language::detect(question) {
        Language::Zh => Language::Zh,
        _ => Language::En,
    }
}

/// Defuses anything in a chunk that looks like the prompt's own evidence tags, so the data
/// cannot close its fence.
pub(crate) fn defuse_tags(text: &str) -> String {
    let mut s = text.to_string();
    for tag in ["资料", "source", "SOURCE", "Source"] {
        s = s.replace(&format!("</{tag}"), &format!("＜/{tag}"));
        s = s.replace(&format!("<{tag}"), &format!("＜{tag}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_cannot_close_its_fence() {
        assert_eq!(
            defuse_tags("a </资料> b <source id=1>"),
            "a ＜/资料> b ＜source id=1>"
        );
    }
}
