#include "tokenizer/decoder.h"

#include "kvlm/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace kvlm::tok {
namespace {

void replace_all(std::string_view in, std::string_view from, std::string_view to, std::string& out) {
  std::size_t pos = 0;
  for (;;) {
    const std::size_t hit = in.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(in.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(in.substr(pos));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

Decoder Decoder::from_json(const nlohmann::json& config, const std::string& context) {
  Decoder d;
  if (!config.is_null()) d.add(config, context, false);
  return d;
}

void Decoder::add(const nlohmann::json& config, const std::string& context, bool after_fuse) {
  if (!config.is_object() || !config.contains("type")) throw Error(context + ": decoder without a type");
  const std::string type = config["type"].get<std::string>();
  if (type == "Sequence") {
    bool fused = after_fuse;
    for (const auto& item : config.at("decoders")) {
      add(item, context, fused);
      if (item.value("type", std::string()) == "Fuse") fused = true;
    }
  } else if (type == "ByteLevel") {
    steps_.push_back({Kind::byte_level, {}, {}});
  } else if (type == "Replace") {
    const auto& pattern = config.at("pattern");
    if (!pattern.contains("String"))
      throw Error(context + ": unsupported decoder: Replace with a regex pattern");
    const std::string from = pattern["String"].get<std::string>();
    if (from.empty()) throw Error(context + ": Replace decoder with an empty pattern");
    steps_.push_back({Kind::replace, from, config.at("content").get<std::string>()});
  } else if (type == "ByteFallback") {
    steps_.push_back({Kind::byte_fallback, {}, {}});
  } else if (type == "Fuse") {
    // Tokens are concatenated anyway.
  } else if (type == "Strip") {
    const std::string content = config.value("content", std::string(" "));
    if (content.size() != 1) throw Error(context + ": unsupported Strip decoder content \"" + content + "\"");
    if (!after_fuse) throw Error(context + ": unsupported decoder: Strip on each token");
    strip_char_ = content[0];
    strip_start_ = config.value("start", 0);
    strip_stop_ = config.value("stop", 0);
  } else if (type == "Metaspace") {
    const std::string rep = config.value("replacement", std::string("\xE2\x96\x81"));
    steps_.push_back({Kind::metaspace, rep, " "});
    bool prepend = config.value("add_prefix_space", true);
    if (config.contains("prepend_scheme") && config["prepend_scheme"].is_string())
      prepend = config["prepend_scheme"].get<std::string>() != "never";
    if (prepend) {
      strip_char_ = ' ';
      strip_start_ = 1;
    }
  } else {
    throw Error(context + ": unsupported decoder type \"" + type + "\"");
  }
}

void Decoder::append_token(std::string_view spelling, bool added, std::string& out) const {
  std::string current(spelling), next;
  for (const Step& step : steps_) {
    next.clear();
    switch (step.kind) {
      case Kind::byte_level:
        // Hugging Face keeps a token with characters outside the alphabet as is.
        if (added || !byte_level_to_bytes(current, next)) continue;
        break;
      case Kind::replace:
      case Kind::metaspace:
        replace_all(current, step.from, step.to, next);
        break;
      case Kind::byte_fallback:
        if (current.size() == 6 && current.compare(0, 3, "<0x") == 0 && current[5] == '>' && hex_digit(current[3]) >= 0 &&
            hex_digit(current[4]) >= 0) {
          next += static_cast<char>(hex_digit(current[3]) * 16 + hex_digit(current[4]));
          break;
        }
        continue;
    }
    current.swap(next);
  }
  out.append(current);
}

}  // namespace kvlm::tok
