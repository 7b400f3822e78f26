"""Load on a running `kvlm serve`: for each concurrency level, that many
clients each send streaming chat requests one after another (a fixed count
per client, greedy, a fixed max_tokens) through the official openai client.
Reports per level: failed requests, aggregate decode tokens/s (tokens after
the first, over each request's first-to-last token time, summed over the
streams running at once), aggregate tokens/s over the wall time, and p50 /
p95 time to first token.

    serve_load.py URL [--levels 1,2,4,8] [--requests 3] [--max-tokens 64]
"""
import argparse
import statistics
import threading
import time

import openai

USERS = ["Write a story about a lighthouse keeper.", "Explain how rain forms.", "Describe a busy market.",
         "Tell me about the history of bread.", "What makes a good friend?", "Describe the sea at night.",
         "How do bees make honey?", "Write a letter to a future self."]


def one_request(client, user, max_tokens):
    t0 = time.perf_counter()
    first = last = None
    tokens = 0
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": user}],
                                            max_tokens=max_tokens, temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    for chunk in stream:
        now = time.perf_counter()
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or now
            last = now
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    return {"ttft": (first or time.perf_counter()) - t0, "tokens": tokens,
            "decode_s": (last - first) if first and last else 0.0}


def level(url, clients, requests, max_tokens):
    results, failures = [], []
    lock = threading.Lock()

    def worker(i):
        client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=600)
        for r in range(requests):
            try:
                out = one_request(client, USERS[(i + r) % len(USERS)], max_tokens)
                with lock:
                    results.append(out)
            except Exception as e:  # noqa: BLE001 - a load run counts every failure
                with lock:
                    failures.append(repr(e))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ttft = sorted(r["ttft"] for r in results)
    per_stream = [(r["tokens"] - 1) / r["decode_s"] for r in results if r["decode_s"] > 0]
    return {"clients": clients, "requests": len(results) + len(failures), "failed": len(failures),
            "decode_tps": statistics.mean(per_stream) * clients if per_stream else 0.0,
            "wall_tps": sum(r["tokens"] for r in results) / wall,
            "ttft_p50_ms": 1000 * ttft[len(ttft) // 2] if ttft else 0.0,
            "ttft_p95_ms": 1000 * ttft[min(len(ttft) - 1, int(0.95 * len(ttft)))] if ttft else 0.0,
            "wall_s": wall, "errors": failures[:3]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--levels", default="1,2,4,8")
    p.add_argument("--requests", type=int, default=3)
    p.add_argument("--max-tokens", type=int, default=64)
    a = p.parse_args()
    print("| streams | requests | failed | decode tokens/s (aggregate) | tokens/s over wall time | TTFT p50 ms | TTFT p95 ms |")
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for n in [int(x) for x in a.levels.split(",")]:
        r = level(a.url, n, a.requests, a.max_tokens)
        print(f"| {n} | {r['requests']} | {r['failed']} | {r['decode_tps']:.1f} | {r['wall_tps']:.1f} | "
              f"{r['ttft_p50_ms']:.0f} | {r['ttft_p95_ms']:.0f} |", flush=True)
        for e in r["errors"]:
            print("  error:", e)


if __name__ == "__main__":
    main()
