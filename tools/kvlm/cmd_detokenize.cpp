// kvlm detokenize: token ids to text with the model's tokenizer.json.
//   kvlm detokenize -m MODEL ID...            (ids as arguments, commas allowed)
//   kvlm detokenize -m MODEL --jsonl          (stdin: an id array a line; stdout: a JSON string a line)
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

struct DetokenizeOptions {
  std::string model;
  std::vector<std::string> ids;
  bool skip_special = false;
  bool jsonl = false;
};

std::int32_t parse_id(const std::string& s) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || v < INT32_MIN || v > INT32_MAX) throw Error("not a token id: \"" + s + "\"");
  return static_cast<std::int32_t>(v);
}

const CommandRegistration registration{
    "detokenize", "Token ids to text; --jsonl reads one id array a line", [](CLI::App& sub) {
      auto o = std::make_shared<DetokenizeOptions>();
      sub.add_option("-m,--model", o->model, "model: a directory (or one holding only tokenizer files), a .kvlm package, a .gguf or kv:NAME (no weights are loaded)")->required();
      sub.add_flag("--skip-special", o->skip_special, "leave special tokens out of the text");
      auto* jsonl = sub.add_flag("--jsonl", o->jsonl, "read one JSON id array a line from stdin, write one JSON string a line");
      sub.add_option("ids", o->ids, "token ids (separate arguments or comma-separated)")->excludes(jsonl);
      return [o] {
        const auto tokenizer = Tokenizer::load(resolve_model(o->model));
        if (!o->jsonl) {
          std::vector<std::int32_t> ids;
          for (const std::string& arg : o->ids) {
            std::size_t start = 0;
            while (start <= arg.size()) {
              const std::size_t comma = std::min(arg.find(',', start), arg.size());
              if (comma > start) ids.push_back(parse_id(arg.substr(start, comma - start)));
              start = comma + 1;
            }
          }
          const std::string text = tokenizer->decode(ids, o->skip_special) + "\n";
          std::fwrite(text.data(), 1, text.size(), stdout);
          return 0;
        }
        std::string line;
        std::size_t line_number = 0;
        while (std::getline(std::cin, line)) {
          ++line_number;
          std::vector<std::int32_t> ids;
          try {
            ids = nlohmann::json::parse(line).get<std::vector<std::int32_t>>();
          } catch (const nlohmann::json::exception&) {
            throw Error("stdin line " + std::to_string(line_number) + ": expected a JSON array of ids");
          }
          const std::string out = nlohmann::json(tokenizer->decode(ids, o->skip_special)).dump() + "\n";
          std::fwrite(out.data(), 1, out.size(), stdout);
        }
        return 0;
      };
    }};

}  // namespace
}  // namespace kvlm::cli
