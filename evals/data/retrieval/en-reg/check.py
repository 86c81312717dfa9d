#!/usr/bin/env python3
"""Validate questions.jsonl against the ESMA EMIR reporting guidelines Markdown.

Checks, for every record of questions.jsonl:
  - the fields (id, question, gold, style, split) are present and well formed;
  - ids are unique; split follows the rule
    held_out iff int(sha256(id).hexdigest(), 16) % 3 == 0, else dev;
  - every gold paragraph exists in the Annex "Guidelines for reporting under EMIR",
    under the section given (the most specific numbered heading above it);
  - the anchor is 60-80 characters, the paragraph's text (after its number) starts with
    it verbatim, and it occurs exactly once in the whole Markdown file, so "a chunk is a
    hit if it contains the anchor" cannot match anywhere else;
  - a record's gold paragraphs (at most 3) are consecutive, and no paragraph is gold
    in two records;
  - the question does not copy a run of 8 or more words from its gold paragraph(s)
    (12 for keyword questions, which quote field names and values on purpose).
Prints counts per style and split and the sections covered; exits 1 on any problem.

Usage: python3 check.py [--md PATH] [--questions PATH]
The Markdown is found with --md, else under $DESKMATE_SHARED_DATA, shared/data or
../shared/data (from the working directory), else beside the repository this file is in.
Python 3 standard library only.
"""

import argparse
import hashlib
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

REL = "regulation-en/esma-emir-refit-guidelines/esma74-362-2281_final_report_guidelines_emir_refit.md"
ANNEX_TITLE = "Annex: Guidelines for reporting under EMIR"
STYLES = ("paraphrase", "keyword", "scenario")
SPLITS = ("dev", "held_out")

SPAN = re.compile(r"<span[^>]*></span>")
# A numbered paragraph: "19. text", "- 5. text" or "\t- 592. text" (page-anchor spans allowed
# before the number).
PARA = re.compile(r"^\s*(?:-\s+)?(?:<span[^>]*></span>)*\s*(\d{1,3})\.\s+(\S.*)$")
# A numbered section heading once '#', list dashes, spans and bold are removed:
# "4.2.1 Reportable products", "4.10Mapping business events ...", "7.1.4 Treatment ...".
SUBSECTION = re.compile(r"^(\d+(?:\.\d+)+)\.?\s*(\S.*)$")
TOPSECTION = re.compile(r"^(\d+)\s+([A-Z].*)$")  # "# **4 General Principles**"


def find_markdown(explicit):
    if explicit:
        return Path(explicit)
    roots = []
    if os.environ.get("DESKMATE_SHARED_DATA"):
        roots.append(Path(os.environ["DESKMATE_SHARED_DATA"]))
    roots += [Path("shared/data"), Path("../shared/data")]
    repo = Path(__file__).resolve().parents[4]  # en-reg/retrieval/data/evals/<repo>
    roots += [repo / "shared/data", repo.parent / "shared/data"]
    for root in roots:
        if (root / REL).is_file():
            return root / REL
    sys.exit(f"check.py: cannot find {REL}; pass --md or set DESKMATE_SHARED_DATA")


def heading_text(line):
    s = SPAN.sub("", line).strip()
    s = re.sub(r"^#+\s*", "", s)
    s = re.sub(r"^-\s*", "", s)
    return s.replace("**", "").strip()


def parse_annex(lines):
    """Returns {number: {section, line, body, text}} for the Annex's numbered paragraphs."""
    starts = [i for i, l in enumerate(lines) if l.startswith("#") and ANNEX_TITLE in l]
    if len(starts) != 1:
        sys.exit(f"check.py: expected one Annex heading, found {len(starts)}")
    paras, section, last, cur = {}, None, 0, None
    for i in range(starts[0], len(lines)):
        line = lines[i]
        if line.lstrip().startswith("|"):  # table rows are never paragraphs
            continue
        h = heading_text(line)
        m = SUBSECTION.match(h) or (line.startswith("#") and TOPSECTION.match(h))
        if m:
            section, cur = m.group(1), None
            continue
        m = PARA.match(line)
        # Paragraph numbers run 1, 2, 3... through the Annex; accepting only a small step
        # forward keeps list items and numbers inside text from being taken as paragraphs.
        if m and last < int(m.group(1)) <= last + 3:
            last = int(m.group(1))
            cur = {"section": section, "line": i + 1, "body": m.group(2), "text": m.group(2)}
            paras[last] = cur
            continue
        s = line.strip()
        if cur is None or not s or s.startswith(("![", "<sup>", "#")):
            continue
        cur["text"] += " " + SPAN.sub("", s)
    return paras


def words(s):
    return re.findall(r"[a-z0-9]+", s.lower())


def copied_run(question, text, n=8):
    q, t = words(question), words(text)
    grams = {tuple(t[i:i + n]) for i in range(len(t) - n + 1)}
    for i in range(len(q) - n + 1):
        if tuple(q[i:i + n]) in grams:
            return " ".join(q[i:i + n])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--md", help="path of the guidelines Markdown")
    ap.add_argument("--questions", default=str(Path(__file__).with_name("questions.jsonl")))
    args = ap.parse_args()

    md_path = find_markdown(args.md)
    doc = md_path.read_text(encoding="utf-8")
    paras = parse_annex(doc.split("\n"))
    problems = []

    records = []
    with open(args.questions, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                problems.append(f"line {n}: empty line")
                continue
            try:
                records.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                problems.append(f"line {n}: invalid JSON ({e})")

    ids, used = Counter(), {}
    for n, r in records:
        rid = r.get("id")
        where = f"line {n} ({rid})"
        extra = set(r) - {"id", "question", "gold", "style", "split"}
        if extra:
            problems.append(f"{where}: unexpected keys {sorted(extra)}")
        if not isinstance(rid, str) or not re.fullmatch(r"enreg-\d{3}", rid):
            problems.append(f"{where}: id must look like enreg-001")
            continue
        ids[rid] += 1
        q = r.get("question")
        if not isinstance(q, str) or len(q.strip()) < 15:
            problems.append(f"{where}: question missing or too short")
            q = ""
        if r.get("style") not in STYLES:
            problems.append(f"{where}: style {r.get('style')!r} not in {STYLES}")
        want = "held_out" if int(hashlib.sha256(rid.encode()).hexdigest(), 16) % 3 == 0 else "dev"
        if r.get("split") != want:
            problems.append(f"{where}: split {r.get('split')!r}, the hash rule gives {want!r}")
        gold = r.get("gold")
        if not isinstance(gold, list) or not 1 <= len(gold) <= 3:
            problems.append(f"{where}: gold must be a list of 1 to 3 paragraphs")
            continue
        nums, text = [], ""
        for g in gold:
            if not isinstance(g, dict) or set(g) != {"section", "paragraph", "anchor"}:
                problems.append(f"{where}: gold entry needs exactly section, paragraph, anchor")
                continue
            sec, num, anchor = g["section"], g["paragraph"], g["anchor"]
            if not isinstance(num, int) or isinstance(num, bool):
                problems.append(f"{where}: paragraph {num!r} is not an integer")
                continue
            nums.append(num)
            p = paras.get(num)
            if p is None:
                problems.append(f"{where}: paragraph {num} not found in the Annex")
                continue
            if sec != p["section"]:
                problems.append(f"{where}: paragraph {num} is under section {p['section']}, not {sec!r}")
            if not isinstance(anchor, str) or not 60 <= len(anchor) <= 80:
                problems.append(f"{where}: anchor of paragraph {num} must be 60-80 characters")
            elif not p["body"].startswith(anchor):
                problems.append(f"{where}: anchor is not the start of paragraph {num} (line {p['line']})")
            elif doc.count(anchor) != 1:
                problems.append(f"{where}: anchor of paragraph {num} occurs {doc.count(anchor)} times in the document")
            if num in used:
                problems.append(f"{where}: paragraph {num} is already gold in {used[num]}")
            used.setdefault(num, rid)
            text += " " + p["text"]
        if nums and sorted(nums) != list(range(min(nums), min(nums) + len(nums))):
            problems.append(f"{where}: gold paragraphs {nums} are not consecutive")
        run = copied_run(q, text, 12 if r.get("style") == "keyword" else 8)
        if run:
            problems.append(f"{where}: question copies the gold text: '{run}'")

    for rid, c in ids.items():
        if c > 1:
            problems.append(f"id {rid} appears {c} times")

    ok = [r for _, r in records]
    styles = Counter(r.get("style") for r in ok)
    splits = Counter(r.get("split") for r in ok)
    cross = Counter((r.get("split"), r.get("style")) for r in ok)
    sections = Counter(g["section"] for r in ok for g in r.get("gold", []) if isinstance(g, dict) and "section" in g)
    chapters = Counter()
    for r in ok:
        secs = {str(g.get("section", "?")).split(".")[0] for g in r.get("gold", []) if isinstance(g, dict)}
        for c in secs:
            chapters[c] += 1

    print(f"source: {md_path}")
    print(f"annex paragraphs parsed: {len(paras)} (numbers {min(paras)}-{max(paras)})")
    print(f"questions: {len(ok)}; gold paragraphs: {sum(len(r.get('gold', [])) for r in ok)}")
    total = len(ok) or 1
    print("per style: " + ", ".join(f"{s} {styles[s]} ({100 * styles[s] / total:.0f}%)" for s in STYLES))
    print("per split: " + ", ".join(f"{s} {splits[s]}" for s in SPLITS))
    for sp in SPLITS:
        print(f"  {sp}: " + ", ".join(f"{s} {cross[(sp, s)]}" for s in STYLES))
    print(f"distinct sections: {len(sections)}")
    print("questions per chapter: " + ", ".join(f"{c}: {chapters[c]}" for c in sorted(chapters, key=lambda x: (len(x), x))))
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print("  " + p)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
