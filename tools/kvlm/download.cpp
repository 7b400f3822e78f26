// download_verified: .part file, Range resume, retries, checksum, rename.
#include "download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "digest.h"
#include "kvlm/error.h"

namespace kvlm::cli {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void throw_errno(const std::string& what, const fs::path& path) {
  throw Error(what + " " + path.string() + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void pwrite_all(int fd, const char* data, std::size_t bytes, std::uint64_t offset, const fs::path& path) {
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd, data, bytes, off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("cannot write", path);
    data += n;
    bytes -= std::size_t(n);
    offset += std::uint64_t(n);
  }
}

// Feeds bytes [0, bytes) of the file to `digest` (the prefix a resume keeps).
void hash_prefix(int fd, std::uint64_t bytes, Digest& digest, const fs::path& path) {
  std::string buffer(std::size_t{1} << 20, '\0');
  for (std::uint64_t at = 0; at < bytes;) {
    const std::size_t want = std::size_t(std::min<std::uint64_t>(buffer.size(), bytes - at));
    const ssize_t n = ::pread(fd, buffer.data(), want, off_t(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("cannot read", path);
    digest.update(buffer.data(), std::size_t(n));
    at += std::uint64_t(n);
  }
}

// What the content is checked against: its sha256 (LFS files) or its git
// blob id, the sha1 of "blob SIZE\0" followed by the content.
Digest fresh_digest(const ExpectedFile& e) {
  if (!e.sha256.empty() || e.git_blob_sha1.empty() || !e.size) return Digest::sha256();
  Digest d = Digest::sha1();
  const std::string prefix = "blob " + std::to_string(*e.size);
  d.update(prefix.c_str(), prefix.size() + 1);  // the NUL after the size belongs to it
  return d;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

// X-Linked-Etag of an LFS file is its sha256 in quotes; anything else is not a checksum.
std::string sha256_from_etag(std::string etag) {
  if (etag.starts_with("W/")) return {};
  etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
  etag = lower(etag);
  const bool hex = etag.size() == 64 && std::all_of(etag.begin(), etag.end(), [](char c) { return std::isxdigit(c); });
  return hex ? etag : std::string();
}

}  // namespace

std::uint64_t download_verified(const HttpClient& http, const DownloadJob& job, DownloadProgress& progress,
                                const FailureText& describe) {
  const fs::path part = job.path.string() + ".part";
  const ExpectedFile& e = job.expected;
  Fd fd(::open(part.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_errno("cannot open", part);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("cannot stat", part);
  std::uint64_t written = std::uint64_t(st.st_size);
  auto restart = [&] {
    if (::ftruncate(fd.get(), 0) != 0) throw_errno("cannot truncate", part);
    written = 0;
  };
  if (e.size && written > *e.size) restart();  // not a prefix of this file
  Digest digest = fresh_digest(e);
  if (written > 0) hash_prefix(fd.get(), written, digest, part);

  progress.begin(job.name, e.size.value_or(0), written);
  std::string linked_etag;
  const bool complete = e.size && written == *e.size;  // an earlier run got every byte
  // A refusal before the first byte leaves nothing worth resuming: no empty .part.
  struct EmptyPartRemover {
    const fs::path& part;
    const std::uint64_t& written;
    bool armed = true;
    ~EmptyPartRemover() {
      if (armed && written == 0) ::unlink(part.c_str());
    }
  } empty_part_remover{part, written};
  for (int attempt = 0; !complete; ++attempt) {
    const auto on_start = [&](long, std::uint64_t offset) {
      if (offset == written) return true;
      if (offset != 0)
        throw Error(fmt::format("{}: the server sent bytes from {} when asked for bytes from {}", job.name, offset, written));
      restart();  // a plain 200: the server ignored the Range, so the file comes whole
      digest = fresh_digest(e);
      progress.begin(job.name, e.size.value_or(0), 0);
      return true;
    };
    const auto on_chunk = [&](const char* data, std::size_t bytes) {
      if (e.size && written + bytes > *e.size)
        throw Error(fmt::format("{}: the server sent more than the hub's size of {} bytes", job.name, *e.size));
      pwrite_all(fd.get(), data, bytes, written, part);
      digest.update(data, bytes);
      written += bytes;
      progress.advance(written);
      return true;
    };
    const HttpResponse r = http.get_stream(job.url, written, on_start, on_chunk);
    if (r.ok()) {
      linked_etag = r.header("x-linked-etag");
      break;
    }
    const bool unsatisfiable = r.status == 416 && written > 0;  // the .part is no prefix: start over
    if ((!r.transient && !unsatisfiable) || attempt >= job.retries) throw Error(describe(r));
    const int wait_s = 1 << std::min(attempt, 4);
    progress.note(fmt::format("{}: {} at {}; retrying in {} s ({} of {})", job.name,
                              r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error, human_bytes(written),
                              wait_s, attempt + 1, job.retries));
    if (unsatisfiable) {
      restart();
      digest = fresh_digest(e);
    }
    std::this_thread::sleep_for(std::chrono::seconds(wait_s));
    progress.begin(job.name, e.size.value_or(0), written);
  }
  empty_part_remover.armed = false;  // an empty file can be whole (size 0)
  if (::fdatasync(fd.get()) != 0) throw_errno("cannot sync", part);

  if (e.size && written != *e.size) {
    ::unlink(part.c_str());
    throw Error(fmt::format("{} came as {} bytes, the hub says {}: deleted it", job.name, written, *e.size));
  }
  std::string kind = "sha256", want = lower(e.sha256);
  if (want.empty() && !e.git_blob_sha1.empty() && e.size) {
    kind = "git blob sha1";
    want = lower(e.git_blob_sha1);
  } else if (want.empty()) {
    want = sha256_from_etag(linked_etag);
    if (want.empty()) throw Error("the hub gave no checksum for " + job.name + "; not installing it unverified");
  }
  const std::string got = digest.hex_final();
  if (got != want) {
    ::unlink(part.c_str());
    throw Error(fmt::format("{} of {} is {}, the hub says {}: the download is corrupt (deleted; kvlm pull fetches it afresh)",
                            kind, job.name, got, want));
  }
  if (::rename(part.c_str(), job.path.c_str()) != 0) throw_errno("cannot rename " + part.string() + " to", job.path);
  progress.finish(human_bytes(written) + ", " + kind + " ok");
  return written;
}

}  // namespace kvlm::cli
