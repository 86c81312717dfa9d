"""Deskmate's OpenAI-compatible API driven by the official `openai` Python package.

Run by `tests/openai_client.rs` against a real `deskmate serve` on 127.0.0.1 (the fixture models:
SmolLM2-135M for chat, all-MiniLM-L6-v2 for embeddings). Reads DESKMATE_OPENAI_BASE_URL,
DESKMATE_OPENAI_API_KEY, DESKMATE_OPENAI_CHAT_MODEL, DESKMATE_OPENAI_EMBED_MODEL and
DESKMATE_OPENAI_MAX_CONTEXT. Any failed check raises; the last line is "ok: N checks".
"""

import json
import math
import os
from typing import Literal

import openai
import pydantic
from openai import OpenAI

BASE = os.environ["DESKMATE_OPENAI_BASE_URL"]
KEY = os.environ["DESKMATE_OPENAI_API_KEY"]
CHAT = os.environ["DESKMATE_OPENAI_CHAT_MODEL"]
EMBED = os.environ["DESKMATE_OPENAI_EMBED_MODEL"]
MAX_CONTEXT = int(os.environ["DESKMATE_OPENAI_MAX_CONTEXT"])

client = OpenAI(base_url=BASE, api_key=KEY, max_retries=0, timeout=300)
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


MESSAGES = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "What is a call option?"},
]

# Models list.
ids = {m.id: m for m in client.models.list().data}
check(CHAT in ids and EMBED in ids, f"models list lacks {CHAT} or {EMBED}: {sorted(ids)}")

# Chat, not streamed.
r = client.chat.completions.create(model=CHAT, messages=MESSAGES, temperature=0, max_tokens=24)
text = r.choices[0].message.content
check(isinstance(text, str) and text.strip(), f"empty answer: {r}")
check(r.model == CHAT, f"model {r.model}")
check(r.choices[0].finish_reason in ("stop", "length"), f"finish {r.choices[0].finish_reason}")
check(r.usage.prompt_tokens > 10 and 0 < r.usage.completion_tokens <= 24, f"usage {r.usage}")
check(r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, "total_tokens")

# Chat, streamed: the same greedy answer, piece by piece, with usage at the end.
stream = client.chat.completions.create(
    model=CHAT,
    messages=MESSAGES,
    temperature=0,
    max_tokens=24,
    stream=True,
    stream_options={"include_usage": True},
)
pieces, usage, finish = [], None, None
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for c in chunk.choices:
        if c.delta.content:
            pieces.append(c.delta.content)
        if c.finish_reason:
            finish = c.finish_reason
check("".join(pieces) == text, f"streamed {''.join(pieces)!r} != {text!r}")
check(len(pieces) >= 2, f"the stream came in {len(pieces)} piece(s)")
check(finish == r.choices[0].finish_reason, f"stream finish {finish}")
check(usage is not None and usage.completion_tokens == r.usage.completion_tokens, f"usage {usage}")

# Structured output: a raw JSON Schema ...
schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 40},
        "strike": {"type": "number"},
        "kind": {"enum": ["call", "put"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
    },
    "required": ["name", "strike", "kind", "tags"],
    "additionalProperties": False,
}
r = client.chat.completions.create(
    model=CHAT,
    messages=[{"role": "user", "content": "Describe a call option struck at 100 as JSON."}],
    response_format={"type": "json_schema", "json_schema": {"name": "option", "schema": schema, "strict": True}},
    temperature=0,
    max_tokens=80,
)
doc = json.loads(r.choices[0].message.content)
check(set(doc) == {"name", "strike", "kind", "tags"}, f"keys {doc}")
check(doc["kind"] in ("call", "put") and isinstance(doc["strike"], (int, float)), f"doc {doc}")


# ... and a pydantic model through the client's own structured-output helper.
class Option(pydantic.BaseModel):
    underlying: str
    kind: Literal["call", "put"]
    strike_pct: float
    tenor_months: int


parsed = client.chat.completions.parse(
    model=CHAT,
    messages=[{"role": "user", "content": "A 3-month call on the CSI 500 at 105%, as JSON."}],
    response_format=Option,
    temperature=0,
    max_tokens=200,
)
opt = parsed.choices[0].message.parsed
check(isinstance(opt, Option), f"parsed {parsed.choices[0].message}")

# JSON mode: any object.
r = client.chat.completions.create(
    model=CHAT,
    messages=[{"role": "user", "content": "Give me a JSON object about Paris."}],
    response_format={"type": "json_object"},
    temperature=0.7,
    seed=5,
    max_tokens=60,
)
check(isinstance(json.loads(r.choices[0].message.content), dict), "json_object answer")

# Embeddings: the client asks for base64 by default and decodes it.
e = client.embeddings.create(model=EMBED, input=["The cat sat on the mat.", "A put option."])
check(len(e.data) == 2 and [d.index for d in e.data] == [0, 1], f"data {len(e.data)}")
vectors = [d.embedding for d in e.data]
check(all(len(v) == 384 for v in vectors), "384 dimensions")
check(all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-4 for v in vectors), "unit vectors")
check(e.usage.prompt_tokens > 5, f"usage {e.usage}")
f = client.embeddings.create(model=EMBED, input="A put option.", encoding_format="float")
check(max(abs(a - b) for a, b in zip(f.data[0].embedding, vectors[1])) < 1e-6, "float == base64")

# Errors: our one error shape, surfaced by the client as APIError with our message and code.
try:
    client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    check(False, "an unknown model was accepted")
except openai.NotFoundError as err:
    check(err.status_code == 404, f"status {err.status_code}")
    check(err.code == "model_not_found", f"code {err.code}")
    check("unknown model `no-such-model`" in err.message, f"message {err.message}")
    check(isinstance(err, openai.APIError), "an APIError")

# Several choices, log-probabilities, a forced tool call, and a raw-prompt completion.
r = client.chat.completions.create(model=CHAT, messages=MESSAGES, n=2, temperature=1, seed=3,
                                   max_tokens=8, logprobs=True, top_logprobs=2)
check([c.index for c in r.choices] == [0, 1], f"choices {r.choices}")
lp = r.choices[0].logprobs.content
check(lp and all(len(t.top_logprobs) == 2 and t.logprob <= 0 for t in lp), f"logprobs {lp}")
check("".join(t.token for t in lp) == r.choices[0].message.content, "tokens spell the answer")
tools = [{"type": "function", "function": {
    "name": "get_price", "description": "Price an option",
    "parameters": {"type": "object", "properties": {"underlying": {"type": "string", "maxLength": 20},
                                                    "strike_pct": {"type": "number"}},
                   "required": ["underlying", "strike_pct"]}}}]
r = client.chat.completions.create(
    model=CHAT, messages=[{"role": "user", "content": "Price a 100% call on CSI 300."}],
    tools=tools, tool_choice={"type": "function", "function": {"name": "get_price"}},
    temperature=0, max_tokens=60)
call = r.choices[0].message.tool_calls[0]
args = json.loads(call.function.arguments)
check(r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_price", f"{r}")
check(isinstance(args["underlying"], str) and isinstance(args["strike_pct"], (int, float)), f"{args}")
c = client.completions.create(model=CHAT, prompt="The capital of France is", max_tokens=1,
                              echo=True, logprobs=1, temperature=0)
check(c.choices[0].text.startswith("The capital of France is"), f"echo {c.choices[0].text!r}")
check(c.choices[0].logprobs.token_logprobs[0] is None, "the first prompt token has no logprob")
check(all(x < 0 for x in c.choices[0].logprobs.token_logprobs[1:]), "prompt logprobs")

try:
    client.chat.completions.create(model=CHAT, messages=MESSAGES, n=20)
    check(False, "n=20 was accepted")
except openai.BadRequestError as err:
    check("`n` 20 is not between 1 and 16" in err.message, f"message {err.message}")

# Before the first token, a streamed request fails as a plain HTTP error.
try:
    client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "word " * (MAX_CONTEXT + 10)}],
        stream=True,
    )
    check(False, "a prompt longer than the context was accepted")
except openai.BadRequestError as err:
    check(f"at most {MAX_CONTEXT} tokens" in err.message, f"message {err.message}")

try:
    client.chat.completions.create(
        model=CHAT,
        messages=MESSAGES,
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "^a"}}},
    )
    check(False, "an unsupported schema was accepted")
except openai.BadRequestError as err:
    check("keyword `pattern` is not supported" in err.message, f"message {err.message}")

print(f"openai {openai.__version__}: ok: {checks} checks")
