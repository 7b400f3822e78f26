// The Hugging Face hub as `kvlm pull` uses it: the model API (which files a
// revision holds, with sizes and checksums) and the /resolve/ URLs of files.
// HF_ENDPOINT moves the hub (as for huggingface_hub); HF_TOKEN, or the token
// file huggingface-cli writes, authorises gated and private repositories.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "http_client.h"

namespace kvlm::cli {

struct HubFile {
  std::string name;             // path in the repository ("model.safetensors")
  std::optional<std::uint64_t> size;
  std::string sha256;           // LFS files: the sha256 of the content
  std::string blob_id;          // the git blob id (sha1 of "blob SIZE\0" + content)
};

struct RepoInfo {
  std::string repo;
  std::string revision;         // as asked for ("main", a tag, a commit)
  std::string commit;           // the revision's commit; files are fetched at it
  std::string gated;            // "" when not gated, else the hub's mode ("auto", "manual")
  std::vector<HubFile> files;
  const HubFile* find(const std::string& name) const;
};

class HubClient {
 public:
  // Reads HF_ENDPOINT (default https://huggingface.co) and the token.
  static HubClient from_environment();

  const std::string& endpoint() const { return endpoint_; }
  bool has_token() const { return token_.has_value(); }
  const HttpClient& http() const { return http_; }

  // GET /api/models/{repo}/revision/{revision}?blobs=true. Throws Error (one
  // line) when the hub cannot be reached or refuses.
  RepoInfo repo_info(const std::string& repo, const std::string& revision) const;
  // {endpoint}/{repo}/resolve/{commit}/{file}
  std::string file_url(const std::string& repo, const std::string& commit, const std::string& file) const;
  // The repository's page, where gated access is requested.
  std::string repo_page(const std::string& repo) const { return endpoint_ + "/" + repo; }

  // The one-line message for a failed request about `info.repo`: for the
  // API when `file` is empty, else for that file's /resolve/ URL.
  std::string describe_failure(const HttpResponse& r, const RepoInfo& info, const std::string& file) const;

 private:
  HubClient(std::string endpoint, std::optional<std::string> token);
  std::string endpoint_;
  std::optional<std::string> token_;
  HttpClient http_;
};

// "owner/name" with the characters the hub allows; false otherwise.
bool valid_repo_id(const std::string& repo);

}  // namespace kvlm::cli
