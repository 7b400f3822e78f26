// Chat templates: renders a model's chat_template (a Jinja2 template) into the
// prompt text exactly as Hugging Face transformers' apply_chat_template does
// (Jinja2 ImmutableSandboxedEnvironment, trim_blocks and lstrip_blocks on,
// raise_exception, strftime_now, tojson keeping non-ASCII).
//
// A ChatTemplate is immutable once loaded; render() is const and safe to call
// from many threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvlm {

class ModelFiles;

namespace chat {
struct Template;
class Value;
}

struct ChatMessage {
  std::string role;
  std::string content;
};

struct RenderOptions {
  // "YYYY-MM-DD": the day strftime_now() formats (time 00:00:00). Unset: now.
  std::optional<std::string> date;
  // Extra template variables (tools, documents, date_string, custom ones): the
  // text of a JSON object, key order kept (tojson output depends on it).
  // Empty: none.
  std::string extra_json;
};

class ChatTemplate {
 public:
  // Loads MODEL_DIR/chat_template.jinja if present, else the "chat_template"
  // of tokenizer_config.json (a string, or a list of {name, template} from
  // which "default" is taken). bos_token / eos_token / pad_token / unk_token
  // come from tokenizer_config.json (a string or {"content": ...}).
  // Throws kvlm::Error when there is no template or it does not parse.
  static ChatTemplate load(const std::filesystem::path& model_dir);
  // The same from a HF directory or a .kvlm package.
  static ChatTemplate load(const ModelFiles& files);
  // As load(), but nullopt when the model has no template (a null
  // "chat_template" included); a broken one still throws.
  static std::optional<ChatTemplate> load_if_present(const ModelFiles& files);

  // Parses `source`; special tokens left unset are undefined in the template.
  static ChatTemplate from_string(std::string source, std::optional<std::string> bos_token = std::nullopt,
                                  std::optional<std::string> eos_token = std::nullopt);

  // Renders with the variables transformers passes: messages, tools (None
  // unless in extra), documents (None), add_generation_prompt, the special
  // tokens, then every key of options.extra_json. Throws kvlm::Error (one
  // line: "chat template: line N: ...") on raise_exception, template errors
  // and JSON that does not parse.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const RenderOptions& options = {}) const;
  // The same with the messages as the text of a JSON array, whose messages
  // may carry any fields (tool calls, content parts).
  std::string render_json(std::string_view messages_json, bool add_generation_prompt,
                          const RenderOptions& options = {}) const;

  const std::string& source() const { return source_; }
  const std::optional<std::string>& bos_token() const { return bos_token_; }
  const std::optional<std::string>& eos_token() const { return eos_token_; }

 private:
  ChatTemplate() = default;
  std::string render_value(const chat::Value& messages, bool add_generation_prompt, const RenderOptions& options) const;
  std::string source_;
  std::optional<std::string> bos_token_, eos_token_, pad_token_, unk_token_;
  std::shared_ptr<const chat::Template> tmpl_;
};

}  // namespace kvlm
