#include "io/safetensors.h"

#include <cstring>
#include <limits>
#include <set>

#include "io/json_file.h"
#include "kvlm/error.h"

namespace kvlm {

namespace {

struct DTypeInfo {
  StDType dtype;
  std::size_t size;
};

DTypeInfo dtype_info(const std::string& name) {
  if (name == "F32") return {StDType::f32, 4};
  if (name == "F16") return {StDType::f16, 2};
  if (name == "BF16") return {StDType::bf16, 2};
  if (name == "F64" || name == "I64" || name == "U64") return {StDType::other, 8};
  if (name == "I32" || name == "U32") return {StDType::other, 4};
  if (name == "I16" || name == "U16") return {StDType::other, 2};
  if (name == "I8" || name == "U8" || name == "BOOL" || name == "F8_E4M3" || name == "F8_E5M2")
    return {StDType::other, 1};
  return {StDType::other, 0};
}

}  // namespace

std::int64_t StTensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : file_(std::make_unique<MappedFile>(path)) {
  const std::string where = path.string();
  const std::size_t size = file_->size();
  if (size < 8) throw Error(where + ": truncated safetensors file (" + std::to_string(size) + " bytes)");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, file_->data(), 8);  // little-endian on every supported target
  if (header_len > size - 8)
    throw Error(where + ": safetensors header length " + std::to_string(header_len) + " exceeds the file size " +
                std::to_string(size));
  const std::string header(reinterpret_cast<const char*>(file_->data() + 8), header_len);
  const nlohmann::json j = parse_json(header, where + " header");
  if (!j.is_object()) throw Error(where + ": safetensors header is not a JSON object");

  const std::byte* data_begin = file_->data() + 8 + header_len;
  const std::size_t data_size = size - 8 - header_len;
  for (const auto& [name, entry] : j.items()) {
    if (name == "__metadata__") continue;
    const std::string what = where + ": tensor " + name;
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets") || !entry["dtype"].is_string() || !entry["shape"].is_array() ||
        !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      throw Error(what + ": malformed header entry");
    StTensor t;
    t.name = name;
    t.file = file_.get();
    t.dtype_name = entry["dtype"].get<std::string>();
    const DTypeInfo info = dtype_info(t.dtype_name);
    if (info.size == 0) throw Error(what + ": unknown dtype " + t.dtype_name);
    t.dtype = info.dtype;
    // Element count with overflow checks: a hostile header must not wrap around.
    std::uint64_t numel = 1;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) throw Error(what + ": shape has a non-integer or negative dimension");
      const std::uint64_t dim = d.get<std::uint64_t>();
      if (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / dim / 8)
        throw Error(what + ": shape is too large");
      numel *= dim;
      t.shape.push_back(std::int64_t(dim));
    }
    const auto& off = entry["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(what + ": data_offsets are not non-negative integers");
    const std::uint64_t begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
    if (begin > end || end > data_size)
      throw Error(what + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  ") are outside the file's data section of " + std::to_string(data_size) + " bytes");
    if (end - begin != numel * info.size)
      throw Error(what + ": byte size " + std::to_string(end - begin) + " does not match shape and dtype (" +
                  std::to_string(numel * info.size) + " bytes expected)");
    t.data = data_begin + begin;
    t.nbytes = std::size_t(end - begin);
    tensors_.emplace(name, std::move(t));
  }
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::filesystem::path& model_dir) : dir_(model_dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> shard_paths;
  const fs::path index_path = model_dir / "model.safetensors.index.json";
  if (fs::exists(index_path)) {
    const nlohmann::json index = read_json_file(index_path);
    if (!index.contains("weight_map") || !index["weight_map"].is_object())
      throw Error(index_path.string() + ": no weight_map object");
    std::set<std::string> names;
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      if (!file.is_string()) throw Error(index_path.string() + ": weight_map entry " + tensor + " is not a string");
      const std::string shard = file.get<std::string>();
      if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
        throw Error(index_path.string() + ": shard name '" + shard + "' is not a plain file name");
      names.insert(shard);
    }
    for (const auto& n : names) shard_paths.push_back(model_dir / n);
  } else if (fs::exists(model_dir / "model.safetensors")) {
    shard_paths.push_back(model_dir / "model.safetensors");
  } else {
    if (!fs::is_directory(model_dir)) throw Error("model directory not found: " + model_dir.string());
    for (const auto& e : fs::directory_iterator(model_dir))
      if (e.path().extension() == ".safetensors") shard_paths.push_back(e.path());
    if (shard_paths.empty()) throw Error("no *.safetensors weights in " + model_dir.string());
    if (shard_paths.size() > 1)
      throw Error(model_dir.string() + ": several .safetensors files but no model.safetensors.index.json");
  }
  for (const auto& p : shard_paths) {
    files_.push_back(std::make_unique<SafetensorsFile>(p));
    for (const auto& [name, t] : files_.back()->tensors()) {
      if (!index_.emplace(name, &t).second) throw Error(p.string() + ": tensor " + name + " appears in two shards");
    }
  }
}

const StTensor& SafetensorsCheckpoint::get(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) throw Error("missing tensor " + name + " in " + dir_.string());
  return *it->second;
}

}  // namespace kvlm
