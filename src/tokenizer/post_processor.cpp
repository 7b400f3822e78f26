#include "tokenizer/post_processor.h"

#include "kvlm/error.h"

namespace kvlm::tok {

PostProcessor PostProcessor::from_json(const nlohmann::json& config, const std::string& context) {
  PostProcessor p;
  if (!config.is_null()) p.add(config, context);
  return p;
}

void PostProcessor::add(const nlohmann::json& config, const std::string& context) {
  if (!config.is_object() || !config.contains("type")) throw Error(context + ": post_processor without a type");
  const std::string type = config["type"].get<std::string>();
  if (type == "Sequence") {
    for (const auto& item : config.at("processors")) add(item, context);
  } else if (type == "ByteLevel") {
    // Adjusts offsets only.
  } else if (type == "TemplateProcessing") {
    if (!prefix.empty() || !suffix.empty()) throw Error(context + ": more than one template post_processor");
    const auto& specials = config.at("special_tokens");
    bool after = false;
    for (const auto& item : config.at("single")) {
      if (item.contains("Sequence")) {
        if (item["Sequence"].value("id", std::string("A")) != "A")
          throw Error(context + ": single-sequence template refers to sequence B");
        after = true;
      } else if (item.contains("SpecialToken")) {
        const std::string name = item["SpecialToken"].at("id").get<std::string>();
        if (!specials.contains(name))
          throw Error(context + ": template special token \"" + name + "\" missing from special_tokens");
        for (const auto& id : specials[name].at("ids")) (after ? suffix : prefix).push_back(id.get<std::int32_t>());
      } else {
        throw Error(context + ": unknown template item " + item.dump());
      }
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    prefix.push_back(config.at("cls").at(1).get<std::int32_t>());
    suffix.push_back(config.at("sep").at(1).get<std::int32_t>());
  } else {
    throw Error(context + ": unsupported post_processor type \"" + type + "\"");
  }
}

}  // namespace kvlm::tok
