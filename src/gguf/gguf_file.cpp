#include "gguf/gguf_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/read_only_file.h"
#include "kvlm/error.h"
#include "tokenizer/utf8.h"

namespace kvlm {
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr std::size_t kMaxDims = 4;        // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 4;

enum class ValueType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

// Bytes the smallest value of a type takes: bounds an array's count by what is left.
std::size_t min_value_bytes(ValueType t) {
  switch (t) {
    case ValueType::u8: case ValueType::i8: case ValueType::boolean: return 1;
    case ValueType::u16: case ValueType::i16: return 2;
    case ValueType::u32: case ValueType::i32: case ValueType::f32: return 4;
    case ValueType::u64: case ValueType::i64: case ValueType::f64: case ValueType::string: return 8;
    case ValueType::array: return 12;
  }
  return 1;
}

// A bounds-checked little-endian cursor over the mapped file.
class Cursor {
 public:
  Cursor(const std::byte* data, std::size_t size, std::string where) : data_(data), size_(size), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where_ + ": " + what + " (at byte " + std::to_string(pos_) + ")");
  }
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return size_ - pos_; }

  const std::byte* take(std::size_t n, const char* what) {
    if (n > left()) fail(std::string("file ends inside ") + what);
    const std::byte* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  template <typename T>
  T read(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  std::string string(const char* what) {
    const std::uint64_t n = read<std::uint64_t>(what);
    if (n > left()) fail(std::string(what) + " of " + std::to_string(n) + " bytes runs past the end of the file");
    const std::byte* p = take(std::size_t(n), what);
    return std::string(reinterpret_cast<const char*>(p), std::size_t(n));
  }
  // A count of items each at least `min_bytes` long, checked against what is left.
  std::uint64_t count(std::size_t min_bytes, const std::string& what) {
    const std::uint64_t n = read<std::uint64_t>(what.c_str());
    if (n > left() / min_bytes) fail(what + " " + std::to_string(n) + " is more than the file can hold");
    return n;
  }

 private:
  const std::byte* data_;
  std::size_t size_;
  std::string where_;
  std::size_t pos_ = 0;
};

nlohmann::json read_value(Cursor& c, std::uint32_t type_id, const std::string& key, int depth) {
  switch (ValueType(type_id)) {
    case ValueType::u8: return c.read<std::uint8_t>("a u8 value");
    case ValueType::i8: return c.read<std::int8_t>("an i8 value");
    case ValueType::u16: return c.read<std::uint16_t>("a u16 value");
    case ValueType::i16: return c.read<std::int16_t>("an i16 value");
    case ValueType::u32: return c.read<std::uint32_t>("a u32 value");
    case ValueType::i32: return c.read<std::int32_t>("an i32 value");
    case ValueType::u64: return c.read<std::uint64_t>("a u64 value");
    case ValueType::i64: return c.read<std::int64_t>("an i64 value");
    case ValueType::f32: return double(c.read<float>("an f32 value"));
    case ValueType::f64: return c.read<double>("an f64 value");
    case ValueType::boolean: {
      const std::uint8_t b = c.read<std::uint8_t>("a bool value");
      if (b > 1) c.fail("metadata " + key + ": bool value " + std::to_string(b) + " is neither 0 nor 1");
      return b == 1;
    }
    case ValueType::string: return c.string("a string value");
    case ValueType::array: {
      if (depth >= kMaxArrayNesting) c.fail("metadata " + key + ": arrays nested deeper than 4");
      const std::uint32_t element_type = c.read<std::uint32_t>("an array's element type");
      if (element_type > std::uint32_t(ValueType::f64))
        c.fail("metadata " + key + ": unknown array element type " + std::to_string(element_type));
      const std::uint64_t n = c.count(min_value_bytes(ValueType(element_type)), "metadata " + key + ": array length");
      nlohmann::json array = nlohmann::json::array();
      array.get_ref<nlohmann::json::array_t&>().reserve(std::size_t(n));
      for (std::uint64_t i = 0; i < n; ++i) array.push_back(read_value(c, element_type, key, depth + 1));
      return array;
    }
  }
  c.fail("metadata " + key + ": unknown value type " + std::to_string(type_id));
}

std::string type_name(const nlohmann::json& v) {
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a bool";
  if (v.is_number_float()) return "a float";
  return "an integer";
}

}  // namespace

std::uint64_t GgufTensor::elements() const {
  std::uint64_t n = 1;
  for (const std::uint64_t d : dims) n *= d;
  return n;
}

GgufFile::GgufFile(const std::filesystem::path& path) : file_(path) {
  const std::string where = path.string();
  Cursor c(file_.data(), file_.size(), where);
  if (file_.size() < 4 || std::memcmp(file_.data(), kMagic, 4) != 0) throw Error(where + ": not a GGUF file (bad magic)");
  c.take(4, "the magic");
  version_ = c.read<std::uint32_t>("the version");
  if (version_ != 2 && version_ != 3)
    throw Error(where + ": GGUF version " + std::to_string(version_) + " is not supported (only 2 and 3)");
  // A tensor info takes at least 8 (name) + 4 + 8 (one dim) + 4 (type) + 8 (offset) bytes; a key/value 8 + 4 + 1.
  const std::uint64_t tensor_count = c.count(32, "tensor count");
  const std::uint64_t kv_count = c.count(13, "metadata count");

  for (std::uint64_t i = 0; i < kv_count; ++i) {
    std::string key = c.string("a metadata key");
    const std::uint32_t type = c.read<std::uint32_t>("a metadata value type");
    if (metadata_.count(key)) c.fail("metadata key " + printable(key) + " appears twice");
    nlohmann::json value = read_value(c, type, printable(key), 0);
    metadata_.emplace(std::move(key), std::move(value));
  }
  if (const nlohmann::json* a = find("general.alignment")) {
    // (dump() only of a number: a string's dump throws on invalid UTF-8.)
    if (!a->is_number_integer())
      throw Error(where + ": general.alignment is " + type_name(*a) + ", not a power of two up to 1 MiB");
    const std::uint64_t n = a->is_number_unsigned() || a->get<std::int64_t>() >= 0 ? a->get<std::uint64_t>() : 0;
    if (n == 0 || n > (1u << 20) || (n & (n - 1)) != 0)
      throw Error(where + ": general.alignment " + a->dump() + " is not a power of two up to 1 MiB");
    alignment_ = std::size_t(n);
  }

  struct Info {
    std::uint64_t offset;
  };
  std::vector<Info> infos;
  tensors_.reserve(std::size_t(tensor_count));
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensor t;
    t.name = c.string("a tensor name");
    const std::string name = printable(t.name);  // for messages
    const std::uint32_t n_dims = c.read<std::uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      c.fail("tensor " + name + " has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    std::uint64_t elements = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const std::uint64_t n = c.read<std::uint64_t>("a tensor dimension");
      if (n == 0 || n > std::uint64_t(std::numeric_limits<std::int64_t>::max()) / elements)
        c.fail("tensor " + name + " has dimension " + std::to_string(n) + " (empty or too large)");
      elements *= n;
      t.dims.push_back(n);
    }
    const std::uint32_t type_id = c.read<std::uint32_t>("a tensor type");
    const auto info = ggml_type_info(type_id);
    if (!info) c.fail("tensor " + name + " has type " + ggml_type_description(type_id) + ", which kvlm does not read");
    t.type = info->type;
    if (t.dims[0] % info->block_elems != 0)
      c.fail("tensor " + name + ": first dimension " + std::to_string(t.dims[0]) + " is not a multiple of " +
             info->name + "'s block of " + std::to_string(info->block_elems));
    const std::uint64_t blocks = elements / info->block_elems;
    if (blocks > std::numeric_limits<std::uint64_t>::max() / info->block_bytes)
      c.fail("tensor " + name + " is too large");
    t.nbytes = std::size_t(blocks * info->block_bytes);
    const std::uint64_t offset = c.read<std::uint64_t>("a tensor offset");
    if (offset % alignment_ != 0)
      c.fail("tensor " + name + " data offset " + std::to_string(offset) + " is not a multiple of the alignment " +
             std::to_string(alignment_));
    if (tensor_index_.count(t.name)) c.fail("tensor " + name + " appears twice");
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
    infos.push_back({offset});
  }

  const std::size_t data_start = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (tensor_count > 0 && data_start > file_.size()) throw Error(where + ": file ends before its tensor data");
  // Check every tensor's range, then that no two overlap (sorted by offset).
  std::vector<std::size_t> order(tensors_.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    GgufTensor& t = tensors_[i];
    const std::uint64_t offset = infos[i].offset;
    const std::size_t data_size = file_.size() - data_start;
    if (offset > data_size || t.nbytes > data_size - offset)
      throw Error(where + ": tensor " + printable(t.name) + " (" + std::to_string(t.nbytes) + " bytes at data offset " +
                  std::to_string(offset) + ") runs past the end of the file");
    t.data = file_.data() + data_start + offset;
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return infos[a].offset < infos[b].offset; });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const GgufTensor& prev = tensors_[order[k - 1]];
    const GgufTensor& next = tensors_[order[k]];
    if (infos[order[k - 1]].offset + prev.nbytes > infos[order[k]].offset)
      throw Error(where + ": tensors " + printable(prev.name) + " and " + printable(next.name) + " overlap");
  }
}

const nlohmann::json* GgufFile::find(const std::string& key) const {
  const auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

std::optional<std::string> GgufFile::optional_string(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) fail("metadata " + key + " is " + type_name(*v) + ", expected a string");
  return v->get<std::string>();
}

std::string GgufFile::string(const std::string& key) const {
  if (auto v = optional_string(key)) return *v;
  fail("metadata " + key + " is missing");
}

std::optional<std::int64_t> GgufFile::optional_integer(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer())
    fail("metadata " + key + " is " + type_name(*v) + ", expected an integer");
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > std::uint64_t(INT64_MAX))
    fail("metadata " + key + " = " + v->dump() + " is out of range");
  return v->get<std::int64_t>();
}

std::int64_t GgufFile::integer(const std::string& key) const {
  if (auto v = optional_integer(key)) return *v;
  fail("metadata " + key + " is missing");
}

std::optional<double> GgufFile::optional_real(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) fail("metadata " + key + " is " + type_name(*v) + ", expected a number");
  if (!std::isfinite(v->get<double>())) fail("metadata " + key + " is not a finite number");
  return v->get<double>();
}

std::optional<bool> GgufFile::optional_bool(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) fail("metadata " + key + " is " + type_name(*v) + ", expected a bool");
  return v->get<bool>();
}

void GgufFile::fail(const std::string& what) const { throw Error(path().string() + ": " + what); }

const GgufTensor* GgufFile::tensor(const std::string& name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

bool is_gguf_file(const std::filesystem::path& path) { return file_starts_with(path, std::string_view(kMagic, 4)); }

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const int n = b < 0x80 ? 1 : utf8::valid_sequence_at(text, i);
    if (n > 0 && b >= 0x20 && b != 0x7F) {
      out.append(text.substr(i, std::size_t(n)));
      i += std::size_t(n);
      continue;
    }
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02X", b);
    out += hex;
    ++i;
  }
  return out;
}

}  // namespace kvlm
