#!/usr/bin/env python3
"""Regenerates models/tests/golden/chat_templates/*.json: each generator's chat template (from
its GGUF, `tokenizer.chat_template`) with the prompts Hugging Face's own renderer makes of it
for a set of conversations (system prompt or none, multi-turn history, tools, Chinese text),
which the Rust test (models/tests/it/templates.rs) compares ours with. CI needs no Python.

    python3 -m venv /tmp/calvenv
    /tmp/calvenv/bin/pip install transformers==5.25.0 jinja2==3.1.6 gguf
    /tmp/calvenv/bin/python models/scripts/chat_template_goldens.py MODEL_DIR...

MODEL_DIR: an installed model directory (`deskmate models install default fast smollm2`
puts them in the model store). The renderer is transformers' own
(`transformers.utils.chat_template_utils.render_jinja_template`: trim_blocks, lstrip_blocks,
loop controls, its tojson and raise_exception), called as `apply_chat_template` calls it.
"""
import json
import os
import sys

import gguf
import transformers
from transformers.utils.chat_template_utils import render_jinja_template

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "chat_templates")

TOOLS = [{
    "type": "function",
    "function": {
        "name": "price_option",
        "description": "Price a vanilla option on the desk's pricing core.",
        "parameters": {
            "type": "object",
            "properties": {
                "underlying": {"type": "string", "description": "e.g. 000905.SH"},
                "strike_pct": {"type": "number"},
                "tenor_months": {"type": "integer"},
            },
            "required": ["underlying", "tenor_months"],
        },
    },
}]

CASES = [
    ("user_only", [{"role": "user", "content": "What is a snowball?"}], None),
    ("system_and_user", [
        {"role": "system", "content": "You are the desk's assistant. Answer briefly."},
        {"role": "user", "content": "中证500 雪球 敲出103 敲入75 票息多少？"},
    ], None),
    ("multi_turn", [
        {"role": "system", "content": "Answer in the user's language."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "  Leading spaces, a {brace} and a \"quote\".\nSecond line.  "},
    ], None),
    ("tools", [
        {"role": "system", "content": "Use the tools when a price is asked."},
        {"role": "user", "content": "Price a 3-month ATM call on 000905.SH."},
    ], TOOLS),
]


def field(reader, name):
    f = reader.fields.get(name)
    if f is None:
        return None
    return f.contents()


def main(dirs):
    os.makedirs(OUT, exist_ok=True)
    for d in dirs:
        manifest = json.load(open(os.path.join(d, "manifest.json")))
        name = manifest["name"]
        reader = gguf.GGUFReader(os.path.join(d, "model.gguf"))
        template = field(reader, "tokenizer.chat_template")
        tokens = field(reader, "tokenizer.ggml.tokens")
        bos_id = field(reader, "tokenizer.ggml.bos_token_id")
        eos_id = field(reader, "tokenizer.ggml.eos_token_id")
        bos = tokens[bos_id] if bos_id is not None else ""
        eos = tokens[eos_id] if eos_id is not None else ""
        cases = []
        for case, messages, tools in CASES:
            rendered, _ = render_jinja_template(
                conversations=[messages], tools=tools, chat_template=template,
                add_generation_prompt=True, bos_token=bos, eos_token=eos)
            cases.append({"name": case, "messages": messages, "tools": tools,
                          "prompt": rendered[0]})
        out = {
            "model": name,
            "generated_by": f"models/scripts/chat_template_goldens.py, transformers "
                            f"{transformers.__version__}",
            "bos_token": bos, "eos_token": eos, "chat_template": template, "cases": cases,
        }
        path = os.path.join(OUT, f"{name}.json")
        with open(path, "w") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"{path}: {len(cases)} cases")


if __name__ == "__main__":
    main(sys.argv[1:])
