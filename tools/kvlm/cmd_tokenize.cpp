// kvlm tokenize: text to token ids with the model's tokenizer.json.
//   kvlm tokenize -m MODEL [--no-bos] [--special] TEXT   -> [id,id,...]
//   kvlm tokenize -m MODEL [--no-bos] [--special] --jsonl (stdin: a JSON string a line)
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "kvlm/error.h"
#include "kvlm/providers.h"
#include "kvlm/tokenizer.h"

namespace kvlm::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  bool no_bos = false;
  bool special = false;
  bool jsonl = false;
};

void print_ids(const std::vector<std::int32_t>& ids, std::string& line) {
  line.clear();
  line += '[';
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ',';
    line += std::to_string(ids[i]);
  }
  line += "]\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
}

const CommandRegistration registration{
    "tokenize", "Text to token ids (JSON array); --jsonl reads one JSON string a line", [](CLI::App& sub) {
      auto o = std::make_shared<TokenizeOptions>();
      sub.add_option("-m,--model", o->model, "model: a directory (or one holding only tokenizer files), a .kvlm package, a .gguf or kv:NAME (no weights are loaded)")->required();
      sub.add_flag("--no-bos", o->no_bos, "do not add the post-processor's special tokens (BOS)");
      sub.add_flag("--special", o->special, "parse special tokens written in the text (\"<|eot_id|>\")");
      auto* jsonl = sub.add_flag("--jsonl", o->jsonl, "read one JSON string a line from stdin, write one id array a line");
      sub.add_option("text", o->text, "text to tokenize")->excludes(jsonl);
      return [o] {
        const auto tokenizer = Tokenizer::load(resolve_model(o->model));
        EncodeOptions options;
        options.add_special = !o->no_bos;
        options.parse_special = o->special;
        std::string out;
        if (!o->jsonl) {
          print_ids(tokenizer->encode(o->text, options), out);
          return 0;
        }
        std::string line;
        std::size_t line_number = 0;
        while (std::getline(std::cin, line)) {
          ++line_number;
          nlohmann::json value;
          try {
            value = nlohmann::json::parse(line);
          } catch (const nlohmann::json::exception&) {
            throw Error("stdin line " + std::to_string(line_number) + ": not valid JSON");
          }
          if (!value.is_string()) throw Error("stdin line " + std::to_string(line_number) + ": expected a JSON string");
          print_ids(tokenizer->encode(value.get_ref<const std::string&>(), options), out);
        }
        return 0;
      };
    }};

}  // namespace
}  // namespace kvlm::cli
