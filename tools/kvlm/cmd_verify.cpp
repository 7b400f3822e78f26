// kvlm verify: hash every blob of a .kvlm package and name each one whose
// bytes differ from the checksum its header records.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "command.h"
#include "kvlm/error.h"
#include "kvlm/verify.h"
#include "numeric_checks.h"
#include "timing.h"

namespace kvlm::cli {
namespace {

struct VerifyOptions {
  std::string package;
  int threads = 0;
  bool json = false;
};

const CommandRegistration registration{
    "verify", "Check every tensor and file of a .kvlm package against its checksum", [](CLI::App& sub) {
      auto o = std::make_shared<VerifyOptions>();
      sub.add_option("package", o->package, "the .kvlm package")->required();
      add_threads_option(sub, o->threads);
      sub.add_flag("--json", o->json,
                   "print one object: package, ok, blobs, bytes, seconds, corrupted (a list of \"tensor NAME\" / "
                   "\"file NAME\")");
      return [o] {
        const auto t0 = Clock::now();
        const PackageVerification v = verify_package(o->package, o->threads);
        const double seconds = ms_since(t0) / 1e3;
        if (o->json) {
          const nlohmann::json out = {{"package", o->package}, {"ok", v.ok()},      {"blobs", v.blobs},
                                      {"bytes", v.bytes},      {"seconds", seconds}, {"corrupted", v.corrupted}};
          fmt::print("{}\n", out.dump());
        } else {
          for (const std::string& what : v.corrupted) fmt::print("{}: checksum mismatch\n", what);
          if (v.ok())
            fmt::print("{}: OK, {} blobs, {:.1f} MB, {:.2f} s\n", o->package, v.blobs, double(v.bytes) / 1e6, seconds);
        }
        if (!v.ok())
          throw Error(fmt::format("{}: {} of {} blobs fail their checksum", o->package, v.corrupted.size(), v.blobs));
        return 0;
      };
    }};

}  // namespace
}  // namespace kvlm::cli
