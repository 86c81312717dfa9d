//! Title affinity: how strongly a question names a document, which ranks the documents an
//! exact structural lookup finds (several documents have a 第二十一条).

use std::collections::BTreeSet;

/// How strongly a question names a document: shared character bigrams (CJK) or words (other
/// scripts) between its title, less the common prefix 中华人民共和国, and the question.
pub(super) fn title_affinity(title: &str, question: &str) -> i64 {
    let title = title.trim_start_matches("中华人民共和国");
    let chars: Vec<char> = title
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let q: String = question
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    // Title bigrams with an ideograph in them (so `（二）` counts: 规定 and 规定（二） are two
    // documents), each counted once: the ones the question has raise the affinity, the ones it
    // lacks lower it a little, so the title the question spells out completely wins a tie.
    let (mut matched, mut unmatched) = (0i64, 0i64);
    let mut seen = BTreeSet::new();
    for w in chars.windows(2) {
        if cjk::is_cjk(w[0]) || cjk::is_cjk(w[1]) {
            let bigram: String = w.iter().collect();
            if seen.insert(bigram.clone()) {
                if q.contains(&bigram) {
                    matched += 1;
                } else {
                    unmatched += 1;
                }
            }
        }
    }
    for word in title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && w.is_ascii())
    {
        if q.contains(&word.to_lowercase()) {
            matched += 1;
        } else {
            unmatched += 1;
        }
    }
    if matched == 0 {
        0
    } else {
        matched * 1000 - unmatched
    }
}

#[cfg(test)]
mod tests {
    use super::title_affinity;

    #[test]
    fn the_title_the_question_spells_out_wins() {
        let one = "最高人民法院关于审理期货纠纷案件若干问题的规定";
        let two = "最高人民法院关于审理期货纠纷案件若干问题的规定（二）";
        let q2 = "《最高人民法院关于审理期货纠纷案件若干问题的规定（二）》说了什么？";
        let q1 = "《最高人民法院关于审理期货纠纷案件若干问题的规定》说了什么？";
        assert!(title_affinity(two, q2) > title_affinity(one, q2));
        assert!(title_affinity(one, q1) > title_affinity(two, q1));
        assert_eq!(title_affinity("期货和衍生品法", "EMIR Article 9"), 0);
        assert!(title_affinity("期货和衍生品法", "期货和衍生品法说了什么") > 0);
    }
}
