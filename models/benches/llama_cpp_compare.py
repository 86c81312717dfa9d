"""llama.cpp on a GGUF file, for the side-by-side ratio in `models.rs`.

Usage: python3 llama_cpp_compare.py MODEL.gguf THREADS  ->  one JSON object on stdout.
Measures what the Rust bench measures: greedy decode of 128 tokens after a short prompt, and
prefill of a 500-token prompt. Needs `llama-cpp-python` (pip install llama-cpp-python).
"""
import json
import sys
import time

from llama_cpp import Llama

path, threads = sys.argv[1], int(sys.argv[2])
t0 = time.time()
llm = Llama(model_path=path, n_ctx=2048, n_threads=threads, n_threads_batch=threads,
            n_batch=512, verbose=False, seed=42)
load_s = time.time() - t0


def decode(prompt_tokens, n):
    llm.reset()
    t = time.time()
    llm.eval(prompt_tokens)
    prefill = time.time() - t
    t = time.time()
    made = 0
    for _ in range(n):
        tok = llm.sample(temp=0.0)
        llm.eval([tok])
        made += 1
    return prefill, time.time() - t, made


short = llm.tokenize(b"The history of derivatives markets in China began")
decode(short, 4)  # warm-up
_, dt, made = decode(short, 128)
long = (llm.tokenize("第一条 为了规范期货交易行为，保护期货交易各方的合法权益和社会公共利益。".encode()) * 40)[:500]
prefill, _, _ = decode(long, 1)
print(json.dumps({
    "llama_cpp_python": __import__("llama_cpp").__version__,
    "threads": threads,
    "load_s": load_s,
    "decode_tok_s": made / dt,
    "prefill_tok_s_500": 500 / prefill,
}))
