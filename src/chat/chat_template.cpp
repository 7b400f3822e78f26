// ChatTemplate: loading a model's template and rendering it with the
// variables transformers passes (see include/kvlm/chat_template.h).
#include "kvlm/chat_template.h"

#include <ctime>
#include <fstream>
#include <sstream>

#include "chat/interpreter.h"
#include "chat/parser.h"
#include "gguf/gguf_file.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"

namespace kvlm {
namespace {

// An added token in tokenizer_config.json: "<bos>" or {"content": "<bos>", ...}.
std::optional<std::string> token_string(const nlohmann::ordered_json& cfg, const char* key) {
  const auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  throw Error(std::string("tokenizer_config.json: ") + key + " must be a string or {\"content\": ...}");
}

std::string template_from_config(const nlohmann::ordered_json& value, const std::string& where) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    for (const auto& entry : value)
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string())
        return entry["template"].get<std::string>();
    throw Error(where + ": chat_template is a list without a \"default\" entry");
  }
  throw Error(where + ": chat_template must be a string or a list of {name, template}");
}

std::tm parse_date(const std::string& date) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (date.size() != 10 || std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || date[4] != '-' ||
      date[7] != '-' || m < 1 || m > 12 || d < 1 || d > 31)
    throw Error("invalid date '" + date + "' (expected YYYY-MM-DD)");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  std::tm probe = tm;
  const std::time_t t = timegm(&probe);  // fills weekday and day of year
  if (probe.tm_mday != d) throw Error("invalid date '" + date + "'");
  gmtime_r(&t, &tm);
  return tm;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

ChatTemplate ChatTemplate::from_string(std::string source, std::optional<std::string> bos_token,
                                       std::optional<std::string> eos_token) {
  ChatTemplate t;
  try {
    t.tmpl_ = std::make_shared<const chat::Template>(chat::parse_template(source));
  } catch (const Error& e) {
    throw Error("chat template: " + one_line(e.what()));
  }
  t.source_ = std::move(source);
  t.bos_token_ = std::move(bos_token);
  t.eos_token_ = std::move(eos_token);
  return t;
}

ChatTemplate ChatTemplate::load(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec) && !is_package_file(model_dir) && !is_gguf_file(model_dir))
    throw Error("chat template: " + model_dir.string() + " is not a model directory, a .kvlm package or a GGUF file");
  return load(ModelFiles::open(model_dir));
}

ChatTemplate ChatTemplate::load(const ModelFiles& files) {
  if (auto t = load_if_present(files)) return std::move(*t);
  throw Error("chat template: " + files.path().string() +
              " has no chat_template.jinja and no chat_template in tokenizer_config.json");
}

std::optional<ChatTemplate> ChatTemplate::load_if_present(const ModelFiles& files) {
  const std::filesystem::path& model_dir = files.path();
  // Names a carried file in errors: DIR/name for a directory, PACKAGE:name for a package.
  const auto where = [&](const char* name) {
    return files.is_directory() ? (model_dir / name).string() : model_dir.string() + ":" + name;
  };
  nlohmann::ordered_json cfg = nlohmann::ordered_json::object();
  const std::string cfg_path = where("tokenizer_config.json");
  if (auto text = files.read("tokenizer_config.json")) {
    cfg = nlohmann::ordered_json::parse(*text, nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object()) throw Error(cfg_path + ": not a JSON object");
  }
  std::optional<std::string> source = files.read("chat_template.jinja");
  if (!source) {
    const std::string json_path = where("chat_template.json");
    if (auto text = files.read("chat_template.json")) {
      const auto j = nlohmann::ordered_json::parse(*text, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("chat_template"))
        throw Error(json_path + ": expected an object with \"chat_template\"");
      source = template_from_config(j["chat_template"], json_path);
    }
  }
  // null is transformers' "no template".
  if (!source && cfg.contains("chat_template") && !cfg["chat_template"].is_null())
    source = template_from_config(cfg["chat_template"], cfg_path);
  if (!source) return std::nullopt;
  ChatTemplate t = from_string(std::move(*source), token_string(cfg, "bos_token"), token_string(cfg, "eos_token"));
  t.pad_token_ = token_string(cfg, "pad_token");
  t.unk_token_ = token_string(cfg, "unk_token");
  return t;
}

std::string ChatTemplate::render_value(const chat::Value& messages, bool add_generation_prompt,
                                       const RenderOptions& options) const {
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  if (!options.extra_json.empty()) {
    extra = nlohmann::ordered_json::parse(options.extra_json, nullptr, /*allow_exceptions=*/false);
    if (extra.is_discarded() || !extra.is_object()) throw Error("chat template: extra variables must be a JSON object");
  }
  std::tm today{};
  if (options.date) {
    today = parse_date(*options.date);
  } else {
    const std::time_t now = std::time(nullptr);
    localtime_r(&now, &today);
  }
  int line = 0;
  try {
    chat::DictData vars;
    vars.set(chat::Value("messages"), messages);
    vars.set(chat::Value("tools"), chat::Value::none());
    vars.set(chat::Value("documents"), chat::Value::none());
    vars.set(chat::Value("add_generation_prompt"), chat::Value(add_generation_prompt));
    const std::pair<const char*, const std::optional<std::string>*> specials[] = {
        {"bos_token", &bos_token_}, {"eos_token", &eos_token_}, {"pad_token", &pad_token_}, {"unk_token", &unk_token_}};
    for (const auto& [name, value] : specials)
      if (*value) vars.set(chat::Value(name), chat::Value(**value));
    for (const auto& [key, value] : extra.items()) vars.set(chat::Value(key), chat::from_json(value));
    chat::Interpreter interp(*tmpl_, std::move(vars), today);
    try {
      return interp.render();
    } catch (...) {
      line = interp.line();
      throw;
    }
  } catch (const Error& e) {
    throw Error("chat template: " + (line > 0 ? "line " + std::to_string(line) + ": " : std::string()) + one_line(e.what()));
  }
}

std::string ChatTemplate::render_json(std::string_view messages_json, bool add_generation_prompt,
                                      const RenderOptions& options) const {
  const auto messages = nlohmann::ordered_json::parse(messages_json, nullptr, /*allow_exceptions=*/false);
  if (messages.is_discarded()) throw Error("chat template: the messages are not valid JSON");
  chat::Value value;
  try {
    value = chat::from_json(messages);
  } catch (const Error& e) {
    throw Error(std::string("chat template: ") + e.what());
  }
  return render_value(value, add_generation_prompt, options);
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const RenderOptions& options) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  return render_value(chat::from_json(list), add_generation_prompt, options);
}

}  // namespace kvlm
