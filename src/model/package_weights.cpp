#include "model/package_weights.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/page_cache.h"
#include "io/json_file.h"
#include "io/package_checksum.h"
#include "io/package_file.h"
#include "io/package_format.h"
#include "kvlm/error.h"
#include "kvlm/model.h"
#include "model/model_impl.h"
#include "quant/quant_formats.h"

namespace kvlm {

Weights load_package_weights(const std::shared_ptr<const PackageFile>& package, const ModelConfig& c, DType stored) {
  Weights w;
  w.keep_alive = package;
  const nlohmann::json& tensors = package->header()["tensors"];
  const std::string where = package->path().string();
  if (!tensors.is_object()) throw Error(where + ": package 'tensors' is not an object");
  for (const WeightSlot& slot : weight_slots(w, c)) {
    if (!tensors.contains(slot.name)) throw Error("missing tensor " + slot.name + " in " + where);
    const nlohmann::json& t = tensors[slot.name];
    if (!t.is_object() || !t.contains("format") || !t["format"].is_string() || !t.contains("shape") || !t.contains("data"))
      throw Error(where + ": tensor " + slot.name + ": malformed entry");
    const DType format = parse_dtype(t["format"].get<std::string>());
    if (t["shape"] != nlohmann::json(slot.shape))
      throw Error(where + ": tensor " + slot.name + " has shape " + t["shape"].dump() + ", expected " +
                  nlohmann::json(slot.shape).dump());
    ++w.tensor_count;
    if (slot.vector) {
      if (format != DType::f32) throw Error(where + ": tensor " + slot.name + " must be f32");
      const Blob b = package->blob(t["data"], "tensor " + slot.name);
      if (b.bytes != std::size_t(slot.shape[0]) * 4) throw Error(where + ": tensor " + slot.name + ": wrong byte size");
      slot.vector->resize(std::size_t(slot.shape[0]));
      std::memcpy(slot.vector->data(), b.data, b.bytes);
      w.parameter_count += std::uint64_t(slot.shape[0]);
      continue;
    }
    const std::size_t rows = std::size_t(slot.shape[0]), cols = std::size_t(slot.shape[1]);
    // q4 packages hold q8 matrices too: the output one and any without whole q4 blocks.
    const bool allowed = format == stored || (stored == DType::q4 && format == DType::q8);
    if (!allowed)
      throw Error(where + ": tensor " + slot.name + " is " + std::string(dtype_name(format)) + " in a " +
                  std::string(dtype_name(stored)) + " package");
    if (format == DType::q4 && !quant::q4_fits(rows, cols))
      throw Error(where + ": tensor " + slot.name + ": q4 needs 16-row blocks and 32-column groups");
    auto checked = [&](const char* key, std::size_t bytes) {
      if (!t.contains(key)) throw Error(where + ": tensor " + slot.name + " lacks " + key);
      const Blob b = package->blob(t[key], "tensor " + slot.name + " " + key);
      if (b.bytes != bytes)
        throw Error(where + ": tensor " + slot.name + " " + key + " has " + std::to_string(b.bytes) + " bytes, expected " +
                    std::to_string(bytes));
      return b.data;
    };
    if (format == DType::q8 && !quant::q8_fits(cols))
      throw Error(where + ": tensor " + slot.name + ": q8 needs a multiple of 4 columns");
    const WeightMatrix m{format, rows, cols, checked("data", MatrixView{format, rows, cols}.bytes())};
    *slot.matrix = m;
    w.parameter_count += std::uint64_t(rows * cols);
    w.matrix_bytes += m.bytes();
  }
  if (c.tie_word_embeddings) w.lm_head = w.embed;
  return w;
}

namespace {

// Collects blobs with aligned offsets relative to the data section, and
// their [offset, bytes, checksum] ranges.
class BlobList {
 public:
  nlohmann::json add(const void* data, std::size_t bytes) {
    offset_ = (offset_ + package::kAlignment - 1) / package::kAlignment * package::kAlignment;
    blobs_.push_back({static_cast<const std::byte*>(data), bytes, offset_});
    const nlohmann::json range = {offset_, bytes, package::checksum_hex(package::checksum(data, bytes))};
    offset_ += bytes;
    return range;
  }
  struct Entry {
    const std::byte* data;
    std::size_t bytes;
    std::size_t offset;
  };
  const std::vector<Entry>& blobs() const { return blobs_; }
  std::size_t total() const { return offset_; }

 private:
  std::vector<Entry> blobs_;
  std::size_t offset_ = 0;
};

}  // namespace

void write_package(const Model& model, const ModelFiles& source, const std::filesystem::path& out,
                   const std::function<void(std::size_t, std::size_t)>& progress) {
  const Model::Impl& impl = detail::ModelAccess::impl(model);
  Weights& weights = const_cast<Weights&>(impl.weights);  // weight_slots only hands out pointers; nothing is written
  const ModelConfig& c = impl.config;
  const DType dtype = *impl.options.dtype;

  nlohmann::json header;
  header["format_version"] = package::kFormatVersion;
  header["dtype"] = dtype_name(dtype);
  header["config"] = parse_json(source.read("config.json").value(), "config.json");
  const auto generation = source.read("generation_config.json");
  header["generation_config"] = generation ? parse_json(*generation, "generation_config.json") : nlohmann::json();

  BlobList blobs;
  std::vector<std::string> carried;  // keeps file texts alive until written
  carried.reserve(std::size(package::kCarriedFiles));
  header["files"] = nlohmann::json::object();
  for (const std::string_view name : package::kCarriedFiles) {
    auto text = source.read(std::string(name));
    if (!text) continue;
    carried.push_back(std::move(*text));
    header["files"][std::string(name)] = blobs.add(carried.back().data(), carried.back().size());
  }
  nlohmann::json tensors = nlohmann::json::object();
  // weight_slots resizes layers to the count they already have: a no-op here.
  for (const WeightSlot& slot : weight_slots(weights, c)) {
    nlohmann::json t;
    t["shape"] = slot.shape;
    if (slot.vector) {
      t["format"] = "f32";
      t["data"] = blobs.add(slot.vector->data(), slot.vector->size() * 4);
    } else {
      const WeightMatrix& m = *slot.matrix;
      t["format"] = dtype_name(m.dtype);
      t["data"] = blobs.add(m.data, m.bytes());  // q8 and q4 scales lie inside
    }
    tensors[slot.name] = std::move(t);
  }
  header["tensors"] = std::move(tensors);

  // data_offset depends on the header's length, which depends on data_offset's
  // digits: reserve 20 digits, then pad the header with spaces to fit exactly.
  // The header's checksum takes the last 8 bytes before data_offset.
  header["data_offset"] = ~std::uint64_t(0);
  const std::size_t reserved = header.dump().size() + 24 + package::kHeaderChecksumBytes;
  const std::size_t data_offset =
      (package::kPrefixBytes + reserved + package::kAlignment - 1) / package::kAlignment * package::kAlignment;
  header["data_offset"] = data_offset;
  std::string head(package::kMagic);
  const std::uint64_t len = data_offset - package::kPrefixBytes - package::kHeaderChecksumBytes;
  head.append(reinterpret_cast<const char*>(&len), 8);
  head += header.dump();
  head.append(data_offset - package::kHeaderChecksumBytes - head.size(), ' ');
  const std::uint64_t head_checksum = package::checksum(head.data(), head.size());
  head.append(reinterpret_cast<const char*>(&head_checksum), 8);

  const std::filesystem::path tmp = out.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot create " + tmp.string() + ": " + std::strerror(errno));
    f.write(head.data(), std::streamsize(head.size()));
    std::size_t at = 0, done = 0;
    static const char zeros[package::kAlignment] = {};
    for (const auto& b : blobs.blobs()) {
      f.write(zeros, std::streamsize(b.offset - at));
      constexpr std::size_t kStep = 16u << 20;
      for (std::size_t i = 0; i < b.bytes; i += kStep) {
        const std::size_t n = std::min(kStep, b.bytes - i);
        f.write(reinterpret_cast<const char*>(b.data + i), std::streamsize(n));
        done += n;
        if (progress) progress(done, blobs.total());
      }
      at = b.offset + b.bytes;
    }
    f.flush();
    if (!f) {
      std::filesystem::remove(tmp);
      throw Error("write failed: " + tmp.string() + " (disk full?)");
    }
  }
  // Cached in large folios, the package maps with 2 MiB entries (core/page_cache.h).
  if (!sync_and_recache(tmp)) {
    const int err = errno;
    std::filesystem::remove(tmp);
    throw Error("write failed: " + tmp.string() + ": " + std::strerror(err));
  }
  std::filesystem::rename(tmp, out);
}

}  // namespace kvlm
