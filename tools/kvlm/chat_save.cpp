#include "chat_save.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

#include "kvlm/error.h"

namespace kvlm::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormat = "kvlm-chat";
constexpr int kVersion = 1;

fs::path state_file(const fs::path& file) { return fs::path(file.string() + ".kvstate"); }

// Renames `tmp` over `file`; removes `tmp` when that fails.
void replace_file(const fs::path& tmp, const fs::path& file) {
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot write " + file.string() + ": " + ec.message());
  }
}

}  // namespace

fs::path expand_user_path(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (home && *home && (path == "~" || path.starts_with("~/"))) return fs::path(home) / path.substr(path.size() > 1 ? 2 : 1);
  return path;
}

void save_chat(const fs::path& file, const ChatConversation& conversation, const Session& session,
               const ChatModelId& id) {
  std::error_code ec;
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  if (!fs::is_directory(dir, ec)) throw Error("cannot write " + file.string() + ": no directory " + dir.string());
  if (fs::is_directory(file, ec)) throw Error("cannot write " + file.string() + ": it is a directory");
  json messages = json::array();
  for (const auto& m : conversation.messages()) messages.push_back({{"role", m.role}, {"content", m.content}});
  const json doc = {{"format", kFormat},
                    {"version", kVersion},
                    {"model", id.model},
                    {"dtype", id.dtype},
                    {"ctx", session.state().max_ctx()},
                    {"state", state_file(file).filename().string()},  // for the reader: always FILE.kvstate
                    {"messages", messages}};
  const fs::path state = state_file(file);
  const fs::path state_tmp = state.string() + ".tmp";
  try {
    session.save(state_tmp);
  } catch (const Error&) {
    fs::remove(state_tmp, ec);
    throw;
  }
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << doc.dump(2) << '\n';
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      fs::remove(state_tmp, ec);
      throw Error("cannot write " + file.string());
    }
  }
  replace_file(state_tmp, state);
  replace_file(tmp, file);
}

namespace {

// The whole of a chat file. Anything that is not a regular file of a
// plausible size (a directory, a device, a multi-GiB file) is refused before
// it is read.
std::string read_chat_file(const fs::path& file) {
  std::error_code ec;
  const fs::file_status st = fs::status(file, ec);
  if (ec || !fs::exists(st)) throw Error("cannot open " + file.string() + ": no such file");
  if (fs::is_directory(st)) throw Error(file.string() + " is a directory");
  if (!fs::is_regular_file(st)) throw Error(file.string() + " is not a regular file");
  const std::uintmax_t size = fs::file_size(file, ec);
  constexpr std::uintmax_t kMaxBytes = std::uintmax_t(256) << 20;  // far beyond any context's text
  if (ec || size > kMaxBytes) throw Error(file.string() + " is too large for a kvlm chat file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot open " + file.string());
  std::string text(std::size_t(size), '\0');
  if (!in.read(text.data(), std::streamsize(text.size()))) throw Error("cannot read " + file.string());
  return text;
}

}  // namespace

std::string load_chat(const fs::path& file, ChatConversation& conversation, Session& session, const ChatModelId& id) {
  const std::string text = read_chat_file(file);
  json doc;
  std::vector<ChatMessage> messages;
  std::string model, dtype;
  int ctx = 0;
  try {
    doc = json::parse(text);
    if (!doc.is_object() || doc.value("format", "") != kFormat) throw Error(file.string() + " is not a kvlm chat file");
    if (doc.value("version", 0) != kVersion)
      throw Error(file.string() + ": unsupported version (this kvlm reads version " + std::to_string(kVersion) + ")");
    for (const json& m : doc.at("messages"))
      messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
    model = doc.value("model", "");
    dtype = doc.value("dtype", "");
    ctx = doc.value("ctx", 0);
  } catch (const json::exception&) {
    throw Error(file.string() + " is not a kvlm chat file (bad JSON, or a message without a string role or content)");
  }
  // Messages this model's template refuses (roles it does not know, turns out
  // of order) would fail every later turn: refuse the file instead.
  try {
    (void)session.chat_ids(messages, /*add_generation_prompt=*/true);
  } catch (const Error& e) {
    throw Error(file.string() + ": this model's chat template refuses its messages (" + e.what() + ")");
  }
  conversation.assign(std::move(messages));

  // The cache is reused only when it was computed by the same weights into a
  // context of the same size; the Session itself checks the cache's shape.
  std::string why;
  if (model != id.model || dtype != id.dtype)
    why = "it was saved with another model or --dtype";
  else if (ctx != session.state().max_ctx())
    why = "it was saved with --ctx " + std::to_string(ctx);
  else
    try {
      session.load(state_file(file));
    } catch (const std::exception& e) {  // an Error, or bad_alloc for a huge damaged cache
      why = e.what();
    }
  if (why.empty()) return {};
  session.reset();
  return "the saved KV cache is not used (" + why + "): the next turn prefills the whole conversation";
}

}  // namespace kvlm::cli
