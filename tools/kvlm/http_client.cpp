// HttpClient over libcurl's easy interface. Callbacks never let an exception
// cross libcurl's C frames: they keep it and it is rethrown after the transfer.
#include "http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>

#include "kvlm/error.h"

namespace kvlm::cli {
namespace {

void global_init() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw Error(std::string("libcurl could not start: ") + curl_easy_strerror(rc));
}

// An error body is only quoted in a message, so a little of it is enough.
constexpr std::size_t kErrorBodyBytes = 4096;

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* response = nullptr;
  std::size_t max_body = 0;
  bool too_big = false;
  // Streams only.
  std::uint64_t from = 0;
  const HttpClient::BodyStart* on_start = nullptr;
  const HttpClient::BodyChunk* on_chunk = nullptr;
  bool started = false;
  std::exception_ptr failure;
};

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    t->response->headers.emplace_back();
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos && !t->response->headers.empty()) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    t->response->headers.back().emplace_back(std::move(name), trim(line.substr(colon + 1)));
  }
  return size * count;
}

// "bytes START-END/TOTAL" -> START.
std::optional<std::uint64_t> content_range_start(const std::string& value) {
  if (!value.starts_with("bytes ")) return std::nullopt;
  std::uint64_t start = 0;
  std::size_t i = 6;
  if (i >= value.size() || !std::isdigit(static_cast<unsigned char>(value[i]))) return std::nullopt;
  for (; i < value.size() && std::isdigit(static_cast<unsigned char>(value[i])); ++i) start = start * 10 + unsigned(value[i] - '0');
  return start;
}

bool begin_stream(Transfer* t, long status) {
  t->started = true;
  std::uint64_t offset = 0;
  if (status == 206) {
    const auto start = content_range_start(t->response->header("content-range"));
    if (!start) throw Error("the server answered 206 without a usable Content-Range");
    offset = *start;
  }
  return (*t->on_start)(status, offset);
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  try {
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    const bool payload = t->on_chunk && status >= 200 && status < 300;
    if (!payload) {
      std::string& body = t->response->body;
      const std::size_t limit = t->on_chunk ? kErrorBodyBytes : t->max_body;
      if (body.size() + bytes > limit) {
        if (!t->on_chunk) {
          t->too_big = true;
          return 0;
        }
        body.append(data, limit - std::min(limit, body.size()));
        return bytes;
      }
      body.append(data, bytes);
      return bytes;
    }
    if (!t->started && !begin_stream(t, status)) return 0;
    return (*t->on_chunk)(data, bytes) ? bytes : 0;
  } catch (...) {
    t->failure = std::current_exception();
    return 0;
  }
}

bool transient_error(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (auto r = headers.rbegin(); r != headers.rend(); ++r)
    for (const auto& [n, v] : *r)
      if (n == name) return v;
  return {};
}

HttpClient::HttpClient(std::optional<std::string> bearer_token) : token_(std::move(bearer_token)) { global_init(); }

std::string HttpClient::escape(std::string_view segment) {
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

HttpResponse perform(const std::string& url, const std::optional<std::string>& token, Transfer& t, bool stream) {
  HttpResponse r;
  t.response = &r;
  CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw Error("libcurl could not make a handle");
  t.curl = curl.get();
  char errbuf[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "kvlm");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled connection (under 1 byte/s for a minute) fails instead of hanging.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (token) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, long(CURLAUTH_BEARER));
    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, token->c_str());
  }
  std::string range;
  if (stream) {
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    if (t.from > 0) {
      range = std::to_string(t.from) + "-";
      curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    }
  } else {
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // JSON compresses well; file bodies stay identity (Range offsets)
  }

  const CURLcode rc = curl_easy_perform(c);
  if (t.failure) std::rethrow_exception(t.failure);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  if (char* effective = nullptr; curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
    r.url = effective;
  if (t.too_big) {
    r.error = "the response is larger than " + std::to_string(t.max_body) + " bytes";
  } else if (rc != CURLE_OK) {
    r.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    r.transient = transient_error(rc);
  } else {
    r.transient = r.status >= 500 || r.status == 429 || r.status == 408;
    // An empty 2xx body never reached on_body: start it here.
    if (stream && r.ok() && !t.started && !begin_stream(&t, r.status)) r.error = "aborted";
  }
  return r;
}

}  // namespace

HttpResponse HttpClient::get(const std::string& url, std::size_t max_body) const {
  Transfer t;
  t.max_body = max_body;
  return perform(url, token_, t, false);
}

HttpResponse HttpClient::get_stream(const std::string& url, std::uint64_t from, const BodyStart& on_start,
                                    const BodyChunk& on_chunk) const {
  Transfer t;
  t.from = from;
  t.on_start = &on_start;
  t.on_chunk = &on_chunk;
  return perform(url, token_, t, true);
}

}  // namespace kvlm::cli
