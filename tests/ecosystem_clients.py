"""Deskmate's OpenAI-compatible API driven by two widely used clients, unchanged:

- LangChain's `ChatOpenAI` (langchain-openai): a tool bound and called (forced by name and
  with `tool_choice="any"`), the call's arguments parsed by LangChain and checked against the
  tool's schema; the tool's answer sent back and answered in text; structured output.
- lm-evaluation-harness (`lm_eval`): `local-completions` scoring a multiple-choice task built
  from FinEval questions (`shared/data/qa/fineval/`, Chinese) by log-likelihood (echo +
  logprobs), with the `remote` tokenizer backend (our `/tokenize`, `/detokenize`,
  `/tokenizer_info`) and token-id prompts; `local-chat-completions` on the same questions by
  generation with the chat template.

Run by `tests/it/ecosystem_clients.rs` against a real `deskmate serve` on 127.0.0.1 with the
fixture models. Reads DESKMATE_OPENAI_BASE_URL (ending in /v1), DESKMATE_OPENAI_API_KEY,
DESKMATE_OPENAI_CHAT_MODEL, DESKMATE_FINEVAL_DIR, DESKMATE_LMEVAL_LIMIT. Any failed check
raises; the last line is "ok: N checks" followed by one JSON line of lm-eval figures.
"""

import json
import os
import sys
import tempfile

BASE = os.environ["DESKMATE_OPENAI_BASE_URL"]
KEY = os.environ["DESKMATE_OPENAI_API_KEY"]
CHAT = os.environ["DESKMATE_OPENAI_CHAT_MODEL"]
FINEVAL = os.environ["DESKMATE_FINEVAL_DIR"]
LIMIT = int(os.environ.get("DESKMATE_LMEVAL_LIMIT", "40"))
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


# ------------------------------------------------------------------------------------------
# LangChain with a tool.
from langchain_core.messages import HumanMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402


@tool
def get_quote(underlying: str, tenor_months: int) -> str:
    """Indicative price of an at-the-money call on an underlying for a tenor in months."""
    return f"{underlying} {tenor_months}M ATM call: 5.2% of notional (indicative)"


llm = ChatOpenAI(base_url=BASE, api_key=KEY, model=CHAT, temperature=0, max_tokens=80,
                 max_retries=0, timeout=600)
question = HumanMessage("Quote a 6 month at-the-money call on the CSI 500 index.")
for choice in ("get_quote", "any"):
    ai = llm.bind_tools([get_quote], tool_choice=choice).invoke([question])
    check(len(ai.tool_calls) >= 1, f"tool_choice={choice}: no tool call: {ai}")
    call = ai.tool_calls[0]
    check(call["name"] == "get_quote", f"called {call['name']}")
    args = call["args"]
    check(isinstance(args.get("underlying"), str), f"underlying: {args}")
    check(isinstance(args.get("tenor_months"), int), f"tenor_months: {args}")
    check(ai.response_metadata.get("finish_reason") == "tool_calls", f"{ai.response_metadata}")
# The tool's answer goes back; the model answers in text.
result = get_quote.invoke(ai.tool_calls[0])
check(isinstance(result, ToolMessage), f"tool result {result!r}")
final = llm.bind_tools([get_quote]).invoke([question, ai, result])
check(isinstance(final.content, str), f"final {final}")
# Streaming with a forced tool: LangChain assembles the call from the chunks.
chunks = list(llm.bind_tools([get_quote], tool_choice="get_quote").stream([question]))
merged = chunks[0]
for c in chunks[1:]:
    merged = merged + c
check(merged.tool_calls and merged.tool_calls[0]["name"] == "get_quote", f"stream {merged}")


class Trade(BaseModel):
    """An option trade."""
    underlying: str = Field(description="the underlying")
    notional_cny: int = Field(description="notional in CNY")


structured = llm.with_structured_output(Trade, method="json_schema").invoke(
    "Buy a call on CSI 500, notional 10 million CNY.")
check(isinstance(structured, Trade), f"structured {structured!r}")
structured = llm.with_structured_output(Trade, method="function_calling").invoke(
    "Buy a call on CSI 500, notional 10 million CNY.")
check(isinstance(structured, Trade), f"structured by a tool call {structured!r}")

# ------------------------------------------------------------------------------------------
# lm-evaluation-harness.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["OPENAI_API_KEY"] = KEY
import lm_eval  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

TASKS = """
task: fineval_deskmate_{kind}
dataset_path: csv
dataset_kwargs:
  data_files:
    test: {files}
test_split: test
doc_to_text: "{{{{question}}}}\\nA. {{{{A}}}}\\nB. {{{{B}}}}\\nC. {{{{C}}}}\\nD. {{{{D}}}}\\n答案："
{rest}
"""
MC = """output_type: multiple_choice
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: "{{['A', 'B', 'C', 'D'].index(answer)}}"
metric_list:
  - metric: acc
"""
GEN = """output_type: generate_until
doc_to_target: "{{answer}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 4
  do_sample: false
filter_list:
  - name: letter
    filter:
      - function: regex
        regex_pattern: "([ABCD])"
      - function: take_first
metric_list:
  - metric: exact_match
"""
files = sorted(os.path.join(FINEVAL, f) for f in os.listdir(FINEVAL) if f.endswith(".csv"))
tasks_dir = tempfile.mkdtemp()
for kind, rest in (("mc", MC), ("gen", GEN)):
    with open(os.path.join(tasks_dir, f"fineval_deskmate_{kind}.yaml"), "w") as f:
        f.write(TASKS.format(kind=kind, files=json.dumps(files), rest=rest))
tm = TaskManager(include_path=tasks_dir)
server = BASE[: -len("/v1")]
figures = {}
out = lm_eval.simple_evaluate(
    model="local-completions",
    model_args=(f"base_url={server}/v1/completions,model={CHAT},tokenizer_backend=remote,"
                f"auth_token={KEY},num_concurrent=1,max_retries=1,timeout=600,max_length=2048"),
    tasks=["fineval_deskmate_mc"], task_manager=tm, limit=LIMIT, log_samples=True,
    random_seed=1234, numpy_random_seed=1234, torch_random_seed=1234)
acc = out["results"]["fineval_deskmate_mc"]["acc,none"]
samples = out["samples"]["fineval_deskmate_mc"]
check(len(samples) == LIMIT, f"{len(samples)} samples scored, {LIMIT} asked")
check(0.0 <= acc <= 1.0, f"acc {acc}")
lls = [r[0][0] for s in samples for r in [s["resps"]] for r in r]
check(all(isinstance(x, float) and x < 0 for x in lls), f"log-likelihoods {lls[:8]}")
figures["local-completions acc"] = acc
figures["local-completions items"] = len(samples)
out = lm_eval.simple_evaluate(
    model="local-chat-completions",
    model_args=(f"base_url={server}/v1/chat/completions,model={CHAT},num_concurrent=1,"
                f"max_retries=1,timeout=600"),
    tasks=["fineval_deskmate_gen"], task_manager=tm, limit=min(LIMIT, 10),
    apply_chat_template=True, log_samples=True)
em = out["results"]["fineval_deskmate_gen"]["exact_match,letter"]
check(0.0 <= em <= 1.0, f"exact match {em}")
check(len(out["samples"]["fineval_deskmate_gen"]) == min(LIMIT, 10), "chat samples")
figures["local-chat-completions exact_match"] = em
print(f"ok: {checks} checks")
print(json.dumps(figures))
