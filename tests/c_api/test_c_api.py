"""The C API (tests/c_api/c_api_test.c, built as C99) against the C++ side:
greedy text, ids, chat, translate and copy-edit must equal what the kvlm CLI
(kvlm::Session and the providers) prints for a tiny synth model with the real
Llama 3 tokenizer and Llama 3.2 template; stories260k's ids must equal
llama2.c run.c's. The C program also checks errors, NULL arguments, buffers,
callbacks and cancellation on its own.

  test_c_api.py --kvlm KVLM --c-api-test KVLM_C_API_TEST --workdir DIR"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
from kvlm_test_util import SOURCE_DIR, run_json, tiny_chat_model  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--kvlm", required=True)
p.add_argument("--c-api-test", required=True)
p.add_argument("--workdir", required=True)
args = p.parse_args()
os.makedirs(args.workdir, exist_ok=True)
K = args.kvlm
STORIES = os.path.join(SOURCE_DIR, "tests/fixtures/stories260k")
DATE = "2024-07-26"

model = os.path.abspath(os.path.join(args.workdir, "tiny"))
tiny_chat_model(K, model, seed=3)

# Longer than 8 tokens: the C test also overflows a context of 8 with it.
prompt = "The quick brown fox jumps over the lazy dog. Once upon a time"
greedy = run_json([K, "run", "-m", model, "-p", prompt, "-n", "24", "--greedy", "--ignore-eos", "--json"])
text = greedy["text"]
if len(greedy["generated_ids"]) != 24 or len(text) < 8:
    raise SystemExit(f"FAIL: the reference generation is too short to test with: {greedy}")
# A stop string from the middle of the text; the expected output is the text before its first occurrence.
stop = next(text[i:i + 3] for i in range(len(text) // 2, len(text) - 3) if "\ufffd" not in text[i:i + 3])
system, user = "You are a helpful assistant.", "Say hello in French."
chat = run_json([K, "run", "-m", model, "--chat", "--system", system, "-p", user, "-n", "16", "--greedy",
                 "--ignore-eos", "--date", DATE, "--json"])
service = ["-m", model, "--date", DATE, "-n", "12", "--json"]
translate_input, copyedit_input = "The cat is on the table.", "their going to send it to you're team"
translated = run_json([K, "translate", *service, "--to", "French", translate_input])
translated_from = run_json([K, "translate", *service, "--from", "English", "--to", "French", translate_input])
copyedited = run_json([K, "copyedit", *service, copyedit_input])
stories_case = json.load(open(os.path.join(STORIES, "expected.json")))["cases"][0]
version = re.search(r"project\(kvlm VERSION (\S+)", open(os.path.join(SOURCE_DIR, "CMakeLists.txt")).read()).group(1)

expectations = {
    "model": model,
    "version": version,
    "vocab_size": str(json.load(open(os.path.join(model, "config.json")))["vocab_size"]),
    "prompt": prompt,
    "prompt_ids": ",".join(map(str, greedy["prompt_ids"])),
    "greedy_text": text,
    "greedy_ids": ",".join(map(str, greedy["generated_ids"])),
    "stop": stop,
    "stop_text": text[:text.find(stop)],
    "mixed_text": "Grüße, 東京! <|eot_id|> is just text\n\ttabs",
    "date": DATE,
    "chat_system": system,
    "chat_user": user,
    "chat_text": chat["text"],
    "translate_input": translate_input,
    "translate_text": translated["text"],
    "translate_from_english_text": translated_from["text"],
    "copyedit_input": copyedit_input,
    "copyedit_text": copyedited["text"],
    "stories": STORIES,
    "stories_prompt_ids": ",".join(map(str, stories_case["prompt_ids"])),
    "stories_ids": ",".join(map(str, stories_case["generated_ids"])),
}
expect_file = os.path.join(args.workdir, "expect.txt")
with open(expect_file, "w") as f:
    for key, value in expectations.items():
        f.write(f"{key} {value.encode().hex()}\n")
proc = subprocess.run([args.c_api_test, expect_file], capture_output=True, text=True)
sys.stdout.write(proc.stdout)
sys.stderr.write(proc.stderr)
if proc.returncode != 0:
    sys.exit(f"FAIL: {args.c_api_test} exited {proc.returncode}")
