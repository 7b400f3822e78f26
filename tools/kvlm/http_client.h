// A small HTTP(S) GET client over libcurl for `kvlm pull`: text bodies (the
// hub's JSON API) and streamed file bodies that may start at a byte offset
// (HTTP Range), following redirects (the hub answers /resolve/ with a 302 to
// its CDN). Thread-compatible: one client per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvlm::cli {

struct HttpResponse {
  long status = 0;            // the last response's status; 0 when none came
  std::string error;          // a transport failure (connection refused, reset...); empty otherwise
  bool transient = false;     // worth retrying: a transport failure, 5xx or 429
  std::string body;           // text bodies; for streams, the start of a non-2xx body
  std::string url;            // the URL that answered last (after redirects)
  // Headers of each response in the redirect chain, names lowercased.
  std::vector<std::vector<std::pair<std::string, std::string>>> headers;

  // The value of `name` (lowercase) in the latest response that has it; "" if none.
  std::string header(std::string_view name) const;
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

class HttpClient {
 public:
  // `bearer_token` goes in an Authorization header, which libcurl sends only
  // to the host first asked (never to the CDN a redirect points to).
  explicit HttpClient(std::optional<std::string> bearer_token);

  // GET with the body kept in memory (at most `max_body` bytes, else an error).
  HttpResponse get(const std::string& url, std::size_t max_body = std::size_t{64} << 20) const;

  // Called once a 2xx response is known, before its first byte: `status` and
  // the offset its body starts at (`from` for a 206 whose Content-Range says
  // so, else 0). Returns false to abort.
  using BodyStart = std::function<bool(long status, std::uint64_t body_offset)>;
  // Each piece of a 2xx body, in order; returns false to abort (a write error).
  using BodyChunk = std::function<bool(const char* data, std::size_t bytes)>;
  // GET that asks for bytes from `from` on (no Range header when 0) and streams them.
  HttpResponse get_stream(const std::string& url, std::uint64_t from, const BodyStart& on_start,
                          const BodyChunk& on_chunk) const;

  // Percent-encodes one URL path segment.
  static std::string escape(std::string_view segment);

 private:
  std::optional<std::string> token_;
};

}  // namespace kvlm::cli
