// HubClient: the hub's model API and file URLs, and what its refusals mean.
// The hub answers 401 both for a missing repository and for a private one
// without a token, and marks gated repositories with X-Error-Code: GatedRepo.
#include "hub_client.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <regex>

#include "kvlm/error.h"

namespace kvlm::cli {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// HF_TOKEN, else the file `huggingface-cli login` writes (as huggingface_hub looks for it).
std::optional<std::string> find_token() {
  if (auto t = trim(env("HF_TOKEN")); !t.empty()) return t;
  std::string path = env("HF_TOKEN_PATH");
  if (path.empty()) {
    std::string home = env("HF_HOME");
    if (home.empty()) {
      const std::string cache = env("XDG_CACHE_HOME");
      home = (cache.empty() ? env("HOME") + "/.cache" : cache) + "/huggingface";
    }
    path = home + "/token";
  }
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line) && !trim(line).empty()) return trim(line);
  return std::nullopt;
}

// A body quoted in a message: its first line, at most 200 characters.
std::string excerpt(const std::string& body) {
  std::string s = trim(body.substr(0, body.find('\n')));
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

}  // namespace

bool valid_repo_id(const std::string& repo) {
  static const std::regex re(R"([A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95})");
  return std::regex_match(repo, re) && repo.find("..") == std::string::npos;
}

const HubFile* RepoInfo::find(const std::string& name) const {
  for (const auto& f : files)
    if (f.name == name) return &f;
  return nullptr;
}

HubClient::HubClient(std::string endpoint, std::optional<std::string> token)
    : endpoint_(std::move(endpoint)), token_(token), http_(std::move(token)) {}

HubClient HubClient::from_environment() {
  std::string endpoint = trim(env("HF_ENDPOINT"));
  if (endpoint.empty()) endpoint = "https://huggingface.co";
  while (endpoint.ends_with('/')) endpoint.pop_back();
  if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://"))
    throw Error("HF_ENDPOINT must be an http:// or https:// URL, not '" + endpoint + "'");
  return HubClient(endpoint, find_token());
}

std::string HubClient::file_url(const std::string& repo, const std::string& commit, const std::string& file) const {
  std::string path;
  std::size_t start = 0;
  while (true) {  // each segment escaped, the slashes kept
    const auto slash = file.find('/', start);
    path += HttpClient::escape(file.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    path += '/';
    start = slash + 1;
  }
  return endpoint_ + "/" + repo + "/resolve/" + HttpClient::escape(commit) + "/" + path;
}

RepoInfo HubClient::repo_info(const std::string& repo, const std::string& revision) const {
  RepoInfo info;
  info.repo = repo;
  info.revision = revision;
  const std::string url = endpoint_ + "/api/models/" + repo + "/revision/" + HttpClient::escape(revision) + "?blobs=true";
  HttpResponse r;
  for (int attempt = 0; attempt < 3; ++attempt) {
    r = http_.get(url);
    if (r.ok() || !r.transient) break;
  }
  if (!r.ok()) throw Error(describe_failure(r, info, ""));
  try {
    const auto j = nlohmann::json::parse(r.body);
    info.commit = j.at("sha").get<std::string>();
    if (const auto g = j.find("gated"); g != j.end() && g->is_string()) info.gated = g->get<std::string>();
    for (const auto& s : j.at("siblings")) {
      HubFile f;
      f.name = s.at("rfilename").get<std::string>();
      if (const auto size = s.find("size"); size != s.end() && size->is_number_unsigned()) f.size = size->get<std::uint64_t>();
      if (const auto blob = s.find("blobId"); blob != s.end() && blob->is_string()) f.blob_id = blob->get<std::string>();
      if (const auto lfs = s.find("lfs"); lfs != s.end() && lfs->is_object()) {
        f.sha256 = lfs->at("sha256").get<std::string>();
        f.size = lfs->at("size").get<std::uint64_t>();
      }
      info.files.push_back(std::move(f));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(endpoint_ + " did not answer with the model API's JSON for " + repo + " (" + e.what() + ")");
  }
  static const std::regex commit_re("[0-9a-f]{40}");
  if (!std::regex_match(info.commit, commit_re))
    throw Error(endpoint_ + " gave '" + info.commit + "' as the commit of " + repo + ", not a 40-digit hex id");
  return info;
}

std::string HubClient::describe_failure(const HttpResponse& r, const RepoInfo& info, const std::string& file) const {
  const std::string& repo = info.repo;
  const std::string what = file.empty() ? "the model API for " + repo : file + " of " + repo;
  if (!r.error.empty())
    return "cannot fetch " + what + " from " + endpoint_ + ": " + r.error +
           (r.status == 0 ? " (no network? HF_ENDPOINT chooses another hub)" : "");
  const std::string status = "HTTP " + std::to_string(r.status);
  const std::string code = r.header("x-error-code");
  const bool denied = r.status == 401 || r.status == 403;
  if (code == "GatedRepo" || (denied && !file.empty() && !info.gated.empty())) {
    const std::string tokens = endpoint_ + "/settings/tokens";
    if (!has_token())
      return repo + " is gated (" + status + "): log in at " + repo_page(repo) +
             " and accept its licence, then set HF_TOKEN to a read token of that account (" + tokens + ")";
    return "the HF_TOKEN account has no access to gated " + repo + " (" + status + "): accept its licence at " +
           repo_page(repo) + " (access may take a while to be granted) or check the token (" + tokens + ")";
  }
  if (code == "RevisionNotFound") return repo + " has no revision '" + info.revision + "' (" + status + ")";
  if (code == "RepoNotFound" || (file.empty() && (denied || r.status == 404))) {
    if (!has_token()) return "no repository " + repo + " on " + endpoint_ + " (" + status + "; a private one needs HF_TOKEN)";
    return "no repository " + repo + " on " + endpoint_ + " that HF_TOKEN can read (" + status + ")";
  }
  if (denied)
    return endpoint_ + " refused " + what + " (" + status + (has_token() ? "; check HF_TOKEN's access)" : "; set HF_TOKEN if it is private)");
  if (code == "EntryNotFound" || r.status == 404)
    return repo + " has no file " + file + " at commit " + info.commit.substr(0, 12) + " (" + status + ")";
  std::string detail = trim(r.header("x-error-message"));
  if (detail.empty()) detail = excerpt(r.body);
  return endpoint_ + " answered " + status + " for " + what + (detail.empty() ? "" : ": " + detail);
}

}  // namespace kvlm::cli
