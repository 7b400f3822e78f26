// The post_processor of tokenizer.json for a single sequence: the special
// ids that go before and after the encoded text when EncodeOptions::add_special
// is set (TemplateProcessing, Bert/RobertaProcessing; ByteLevel adds nothing).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kvlm::tok {

struct PostProcessor {
  std::vector<std::int32_t> prefix;
  std::vector<std::int32_t> suffix;

  // `config` is the "post_processor" value (null: nothing is added).
  static PostProcessor from_json(const nlohmann::json& config, const std::string& context);

 private:
  void add(const nlohmann::json& config, const std::string& context);
};

}  // namespace kvlm::tok
