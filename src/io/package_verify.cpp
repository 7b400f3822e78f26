#include <string>
#include <system_error>

#include "core/thread_pool.h"
#include "io/package_file.h"
#include "kvlm/error.h"
#include "kvlm/model_files.h"
#include "kvlm/verify.h"

namespace kvlm {

PackageVerification verify_package(const std::filesystem::path& path, int threads) {
  if (threads < 0) throw Error("a thread count must be 0 (one per core) or more, got " + std::to_string(threads));
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error("package not found: " + path.string());
  if (!is_package_file(path)) throw Error(path.string() + " is not a .kvlm package");
  // Populated: every page is about to be read, so map them in one pass.
  const PackageFile package(path, /*populate=*/true);
  ThreadPool pool(threads);
  PackageFile::BlobCheck check = package.check_blobs(pool);
  return {check.blobs, check.bytes, std::move(check.corrupted)};
}

}  // namespace kvlm
