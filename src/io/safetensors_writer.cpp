#include "io/safetensors_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "kvlm/error.h"

namespace kvlm {

namespace {

std::size_t element_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  throw Error("cannot write safetensors dtype " + dtype);
}

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::vector<std::size_t> sizes;
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    std::size_t n = element_size(t.dtype);
    for (auto d : t.shape) n *= std::size_t(d);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    sizes.push_back(n);
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - (text.size() + 8) % 8) % 8, ' ');  // data section starts 8-byte aligned

  // A per-process temporary name, so concurrent writers never share a file.
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot create " + tmp.string() + ": " + std::strerror(errno));
    const std::uint64_t len = text.size();
    out.write(reinterpret_cast<const char*>(&len), 8);
    out.write(text.data(), std::streamsize(text.size()));
    constexpr std::size_t kChunk = 64u << 20;
    auto buf = std::make_unique<std::byte[]>(kChunk);
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      for (std::size_t done = 0; done < sizes[i]; done += kChunk) {
        const std::size_t n = std::min(kChunk, sizes[i] - done);
        tensors[i].fill(buf.get(), done, n);
        out.write(reinterpret_cast<const char*>(buf.get()), std::streamsize(n));
      }
    }
    out.flush();
    if (!out) throw Error("write failed: " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace kvlm
