"""lm-evaluation-harness against Deskmate and against llama.cpp's server on the same GGUF file,
side by side in one run: the same client (`local-completions`, string prompts, the same
Hugging Face tokenizer read from the GGUF for the context lengths), the same task (FinEval
multiple-choice questions from `shared/data/qa/fineval/`, scored by log-likelihood) and the
same items. Prints one JSON object: each server's accuracy and time, how often the two pick
the same answer, and how far their log-likelihoods differ.

Usage (a Deskmate server already running on the same model, its token in DESKMATE_TOKEN):

  python lm_eval_side_by_side.py --gguf MODEL.gguf --deskmate http://127.0.0.1:8080 \\
      --model NAME --limit 100 --threads 2 --fineval ../../../shared/data/qa/fineval

Needs `llama-cpp-python[server]`, `lm_eval[api]`, `transformers` and `gguf` (PyPI). The
llama.cpp server is started here with the same thread count; it and Deskmate run one after
the other, never at once, so neither slows the other.

llama-cpp-python's server (0.3.36) reports echoed prompt log-probabilities one position off
(position i's distribution for token i, not position i-1's) and leaves out the generated
token, so lm-evaluation-harness reads zeros from it. The script therefore also scores the same
requests on llama.cpp itself (`llama_cpp.Llama`, every position's logits): the continuation's
tokens, after the context lm-evaluation-harness counted, each from the previous position's
distribution. That column (`llama_cpp_direct_*`) is the comparison to read.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TASK = """
task: fineval_side_by_side
dataset_path: csv
dataset_kwargs:
  data_files:
    test: {files}
test_split: test
doc_to_text: "{{{{question}}}}\\nA. {{{{A}}}}\\nB. {{{{B}}}}\\nC. {{{{C}}}}\\nD. {{{{D}}}}\\n答案："
output_type: multiple_choice
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: "{{{{['A', 'B', 'C', 'D'].index(answer)}}}}"
metric_list:
  - metric: acc
"""


def hf_tokenizer(path):
    """The GGUF file's byte-level BPE tokenizer as a Hugging Face fast tokenizer (transformers'
    own GGUF reader needs PyTorch): vocabulary and merges from the file, the pre-tokenizer of
    its `tokenizer.ggml.pre` (Qwen2's split pattern, or SmolLM's digits then byte level)."""
    import gguf
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    r = gguf.GGUFReader(path)

    def field(name):
        f = r.fields[name]
        if len(f.data) == 1 and f.types[0] != gguf.GGUFValueType.ARRAY:
            v = f.parts[f.data[0]]
            return bytes(v).decode() if f.types[0] == gguf.GGUFValueType.STRING else v[0]
        return [bytes(f.parts[i]).decode() if f.types[-1] == gguf.GGUFValueType.STRING
                else f.parts[i][0] for i in f.data]

    tokens = field("tokenizer.ggml.tokens")
    types = field("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field("tokenizer.ggml.merges")]
    pre = field("tokenizer.ggml.pre") if "tokenizer.ggml.pre" in r.fields else ""
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges,
                               ignore_merges=pre == "qwen2"))
    if pre == "qwen2":
        split = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    special = [t for t, ty in zip(tokens, types) if ty != 1]
    tok.add_special_tokens(special)
    eos = tokens[field("tokenizer.ggml.eos_token_id")]
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos, pad_token=eos)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=300):
    t0 = time.time()
    while time.time() - t0 < seconds:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except Exception:
            time.sleep(1)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def run(lm_eval, tm, base, model, tokenizer, limit, key):
    os.environ["OPENAI_API_KEY"] = key
    t0 = time.time()
    out = lm_eval.simple_evaluate(
        model="local-completions",
        model_args=(f"base_url={base}/v1/completions,model={model},tokenizer_backend=huggingface,"
                    f"tokenizer={tokenizer},tokenized_requests=False,num_concurrent=1,"
                    f"max_retries=1,timeout=900,max_length=2048"),
        tasks=["fineval_side_by_side"], task_manager=tm, limit=limit, log_samples=True,
        random_seed=1234, numpy_random_seed=1234, torch_random_seed=1234)
    secs = time.time() - t0
    samples = sorted(out["samples"]["fineval_side_by_side"], key=lambda s: s["doc_id"])
    # Each choice's response is [(log-likelihood, is_greedy)].
    lls = [[float(r[0][0]) for r in s["resps"]] for s in samples]
    # Each request's arguments: (context, continuation).
    reqs = [[tuple(args) for args in s["arguments"]] for s in samples]
    targets = [s["target"] for s in samples]
    return out["results"]["fineval_side_by_side"]["acc,none"], lls, secs, reqs, targets


def direct(gguf_path, tokenizer, reqs, threads):
    """Continuation log-likelihoods on llama.cpp itself, as lm-evaluation-harness defines them."""
    import numpy as np
    from llama_cpp import Llama

    m = Llama(model_path=gguf_path, logits_all=True, n_ctx=2048, n_threads=threads,
              n_threads_batch=threads, verbose=False)
    t0 = time.time()
    out = []
    for item in reqs:
        row = []
        for ctx, cont in item:
            ctxlen = len(tokenizer.encode(ctx, add_special_tokens=False))
            toks = m.tokenize((ctx + cont).encode(), add_bos=False, special=True)
            m.reset()
            m.eval(toks)
            sc = np.array(m.scores[: len(toks)], dtype=np.float64)
            mx = sc.max(1, keepdims=True)
            ls = sc - mx - np.log(np.exp(sc - mx).sum(1, keepdims=True))
            row.append(float(sum(ls[i - 1, toks[i]] for i in range(ctxlen, len(toks)))))
        out.append(row)
    return out, time.time() - t0


def server_run(lm_eval, tm, a, tok_dir):
    """lm-evaluation-harness against llama-cpp-python's server on the same file and threads."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", a.gguf, "--model_alias", a.model,
         "--n_threads", str(a.threads), "--n_threads_batch", str(a.threads), "--n_ctx", "2048",
         "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/models")
        return run(lm_eval, tm, f"http://127.0.0.1:{port}", a.model, tok_dir, a.limit, "none")
    finally:
        server.terminate()
        server.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--deskmate", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--fineval", required=True)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-server", action="store_true",
                    help="skip llama-cpp-python's server (its echo log-probabilities are off by one)")
    a = ap.parse_args()
    import lm_eval
    import llama_cpp
    from lm_eval.tasks import TaskManager
    from transformers import AutoTokenizer

    tok_dir = tempfile.mkdtemp()
    hf_tokenizer(a.gguf).save_pretrained(tok_dir)
    check = AutoTokenizer.from_pretrained(tok_dir)
    print(f"tokenizer: {len(check)} tokens, e.g. {check.encode('金融市场 is 123')}", file=sys.stderr)
    files = sorted(os.path.join(a.fineval, f) for f in os.listdir(a.fineval) if f.endswith(".csv"))
    task_dir = tempfile.mkdtemp()
    with open(os.path.join(task_dir, "fineval_side_by_side.yaml"), "w") as f:
        f.write(TASK.format(files=json.dumps(files)))
    tm = TaskManager(include_path=task_dir)

    ours = run(lm_eval, tm, a.deskmate, a.model, tok_dir, a.limit, os.environ["DESKMATE_TOKEN"])

    if a.no_server:
        theirs = (None, ours[1], 0.0)
    else:
        theirs = server_run(lm_eval, tm, a, tok_dir)
    from transformers import AutoTokenizer as _AT
    direct_lls, direct_secs = direct(a.gguf, _AT.from_pretrained(tok_dir), ours[3], a.threads)
    targets = ours[4]
    pick = lambda r: max(range(len(r)), key=r.__getitem__)  # noqa: E731
    direct_acc = sum(pick(r) == int(t) for r, t in zip(direct_lls, targets)) / len(targets)
    dpairs = list(zip(ours[1], direct_lls))
    ddiffs = [abs(x - y) for o, t in dpairs for x, y in zip(o, t)]
    pairs = list(zip(ours[1], theirs[1]))
    same = sum(max(range(4), key=o.__getitem__) == max(range(4), key=t.__getitem__)
               for o, t in pairs)
    diffs = [abs(x - y) for o, t in pairs for x, y in zip(o, t)]
    figures = {
        "model": a.model, "gguf": os.path.basename(a.gguf), "items": len(pairs),
        "threads": a.threads, "llama_cpp_python": llama_cpp.__version__,
        "lm_eval": lm_eval.__version__,
        "deskmate_acc": ours[0], "llama_cpp_server_acc": theirs[0],
        "llama_cpp_server_same_answer": same / len(pairs),
        "llama_cpp_server_loglik_abs_diff_mean": sum(diffs) / len(diffs),
        "llama_cpp_server_loglik_abs_diff_max": max(diffs),
        "deskmate_secs": round(ours[2], 1), "llama_cpp_server_secs": round(theirs[2], 1),
        "llama_cpp_direct_acc": direct_acc,
        "llama_cpp_direct_same_answer": sum(pick(o) == pick(t) for o, t in dpairs) / len(dpairs),
        "llama_cpp_direct_loglik_abs_diff_mean": sum(ddiffs) / len(ddiffs),
        "llama_cpp_direct_loglik_abs_diff_max": max(ddiffs),
        "llama_cpp_direct_secs": round(direct_secs, 1),
    }
    if a.no_server:
        figures = {k: v for k, v in figures.items() if "server" not in k}
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
