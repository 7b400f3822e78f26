#include "tokenizer/pre_tokenizer.h"

#include <algorithm>

#include "kvlm/error.h"

namespace kvlm::tok {
namespace {

// The split the GPT-2 ByteLevel pre-tokenizer does when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

SplitBehavior parse_behavior(const std::string& name, const std::string& context) {
  if (name == "Removed") return SplitBehavior::removed;
  if (name == "Isolated") return SplitBehavior::isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (name == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (name == "Contiguous") return SplitBehavior::contiguous;
  throw Error(context + ": unknown Split behavior \"" + name + "\"");
}

struct Segment {
  std::size_t begin, end;
  bool is_match;
};

}  // namespace

void split_with_behavior(std::string_view text, const std::vector<Regex::Span>& matches, SplitBehavior behavior,
                         bool invert, std::vector<std::string_view>& out) {
  // The text as alternating gaps and matches (Hugging Face's find_matches).
  std::vector<Segment> segs;
  segs.reserve(matches.size() * 2 + 1);
  std::size_t pos = 0;
  for (const auto& m : matches) {
    if (m.begin > pos) segs.push_back({pos, m.begin, invert});
    segs.push_back({m.begin, m.end, !invert});
    pos = m.end;
  }
  if (pos < text.size()) segs.push_back({pos, text.size(), invert});

  std::vector<Segment> merged;
  merged.reserve(segs.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::isolated:
      merged = std::move(segs);
      break;
    case SplitBehavior::removed:
      for (const auto& s : segs)
        if (!s.is_match) merged.push_back(s);
      break;
    case SplitBehavior::merged_with_previous:
      for (const auto& s : segs) {
        if (s.is_match && !previous_match && !merged.empty())
          merged.back().end = s.end;
        else
          merged.push_back(s);
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::merged_with_next:
      for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
        if (it->is_match && !previous_match && !merged.empty())
          merged.back().begin = it->begin;
        else
          merged.push_back(*it);
        previous_match = it->is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    case SplitBehavior::contiguous:
      for (const auto& s : segs) {
        if (s.is_match == previous_match && !merged.empty())
          merged.back().end = s.end;
        else
          merged.push_back(s);
        previous_match = s.is_match;
      }
      break;
  }
  for (const auto& s : merged)
    if (s.end > s.begin) out.push_back(text.substr(s.begin, s.end - s.begin));
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& config, const std::string& context) {
  PreTokenizer p;
  if (!config.is_null()) p.add(config, context);
  return p;
}

void PreTokenizer::add(const nlohmann::json& config, const std::string& context) {
  if (!config.is_object() || !config.contains("type")) throw Error(context + ": pre_tokenizer without a type");
  const std::string type = config["type"].get<std::string>();
  if (type == "Sequence") {
    for (const auto& item : config.at("pretokenizers")) add(item, context);
  } else if (type == "Split") {
    Step s = make_step(Kind::split, {});
    const auto& pattern = config.at("pattern");
    if (pattern.contains("Regex"))
      s.regex = std::make_shared<Regex>(pattern["Regex"].get<std::string>(), false, context + " Split pre_tokenizer");
    else if (pattern.contains("String"))
      s.regex = std::make_shared<Regex>(pattern["String"].get<std::string>(), true, context + " Split pre_tokenizer");
    else
      throw Error(context + ": Split pre_tokenizer needs a String or Regex pattern");
    s.behavior = parse_behavior(config.value("behavior", std::string("Isolated")), context);
    s.invert = config.value("invert", false);
    steps_.push_back(std::move(s));
  } else if (type == "ByteLevel") {
    byte_level_ = true;
    const bool prefix = config.value("add_prefix_space", false);
    if (config.value("use_regex", true)) {
      Step s = make_step(Kind::split, std::make_shared<Regex>(kGpt2Pattern, false, context + " ByteLevel pre_tokenizer"));
      s.behavior = SplitBehavior::isolated;
      if (prefix) {  // the prefix space goes on before the split
        Step p = make_step(Kind::byte_level, {});
        p.add_prefix_space = true;
        steps_.push_back(std::move(p));
      }
      steps_.push_back(std::move(s));
    } else if (prefix) {
      Step p = make_step(Kind::byte_level, {});
      p.add_prefix_space = true;
      steps_.push_back(std::move(p));
    }
    // Otherwise a no-op on raw bytes.
  } else if (type == "Metaspace") {
    Step s = make_step(Kind::metaspace, {});
    s.replacement = config.value("replacement", std::string("\xE2\x96\x81"));
    if (s.replacement.empty()) throw Error(context + ": Metaspace with an empty replacement");
    if (config.contains("prepend_scheme") && config["prepend_scheme"].is_string()) {
      const std::string scheme = config["prepend_scheme"].get<std::string>();
      if (scheme == "always") s.prepend = Step::Prepend::always;
      else if (scheme == "first") s.prepend = Step::Prepend::first;
      else if (scheme == "never") s.prepend = Step::Prepend::never;
      else throw Error(context + ": unknown Metaspace prepend_scheme \"" + scheme + "\"");
    } else {
      s.prepend = config.value("add_prefix_space", true) ? Step::Prepend::always : Step::Prepend::never;
    }
    s.metaspace_split = config.value("split", true);
    s.regex = std::make_shared<Regex>(s.replacement, true, context + " Metaspace pre_tokenizer");
    steps_.push_back(std::move(s));
  } else if (type == "Digits") {
    Step s = make_step(Kind::split, {});
    const bool individual = config.value("individual_digits", false);
    s.regex = std::make_shared<Regex>(individual ? R"(\p{N})" : R"(\p{N}+)", false, context + " Digits");
    s.behavior = SplitBehavior::isolated;
    steps_.push_back(std::move(s));
  } else if (type == "WhitespaceSplit") {
    Step s = make_step(Kind::split, std::make_shared<Regex>(R"(\s+)", false, context + " WhitespaceSplit"));
    s.behavior = SplitBehavior::removed;
    steps_.push_back(std::move(s));
  } else {
    throw Error(context + ": unsupported pre_tokenizer type \"" + type + "\"");
  }
}

void PreTokenizer::run_step(const Step& step, std::string_view piece, bool at_start, std::vector<std::string_view>& out,
                            std::deque<std::string>& storage) const {
  switch (step.kind) {
    case Kind::split: {
      thread_local std::vector<Regex::Span> matches;
      matches.clear();
      step.regex->find_all(piece, matches);
      if (step.behavior == SplitBehavior::isolated && !step.invert) {
        // The hot path (Llama 3, Qwen 2): matches and the gaps between them.
        std::size_t pos = 0;
        for (const auto& m : matches) {
          if (m.begin > pos) out.push_back(piece.substr(pos, m.begin - pos));
          out.push_back(piece.substr(m.begin, m.end - m.begin));
          pos = m.end;
        }
        if (pos < piece.size()) out.push_back(piece.substr(pos));
      } else {
        const std::vector<Regex::Span> copy = matches;
        split_with_behavior(piece, copy, step.behavior, step.invert, out);
      }
      return;
    }
    case Kind::byte_level:
      if (step.add_prefix_space && (piece.empty() || piece.front() != ' ')) {
        std::string& s = storage.emplace_back(" ");
        s.append(piece);
        out.push_back(s);
      } else {
        out.push_back(piece);
      }
      return;
    case Kind::metaspace: {
      std::string& s = storage.emplace_back();
      const std::string_view rep = step.replacement;
      const bool prepend = step.prepend == Step::Prepend::always || (step.prepend == Step::Prepend::first && at_start);
      // Hugging Face checks for a leading replacement after replacing spaces.
      const bool starts_with_rep = (!piece.empty() && piece.front() == ' ') || piece.substr(0, rep.size()) == rep;
      if (prepend && !starts_with_rep) s.append(rep);
      for (const char c : piece) {
        if (c == ' ')
          s.append(rep);
        else
          s += c;
      }
      if (!step.metaspace_split) {
        out.push_back(s);
        return;
      }
      std::vector<Regex::Span> matches;
      step.regex->find_all(s, matches);
      split_with_behavior(s, matches, SplitBehavior::merged_with_next, false, out);
      return;
    }
  }
}

void PreTokenizer::split(std::string_view text, bool at_input_start, std::vector<std::string_view>& out,
                         std::deque<std::string>& storage) const {
  if (steps_.empty()) {
    if (!text.empty()) out.push_back(text);
    return;
  }
  if (steps_.size() == 1) {
    run_step(steps_[0], text, at_input_start, out, storage);
    return;
  }
  std::vector<std::string_view> current{text}, next;
  for (const Step& step : steps_) {
    next.clear();
    for (std::size_t i = 0; i < current.size(); ++i)
      run_step(step, current[i], at_input_start && i == 0, next, storage);
    current.swap(next);
  }
  out.insert(out.end(), current.begin(), current.end());
}

}  // namespace kvlm::tok
