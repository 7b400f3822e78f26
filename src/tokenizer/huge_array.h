// A fixed-capacity array of trivially copyable elements in a LargeBuffer:
// the capacity is reserved as address space only, and pages (huge ones where
// the kernel allows) are faulted in as elements are written. The loader sizes
// these from the tokenizer.json length, which bounds every table it builds.
#pragma once

#include <cstring>
#include <memory>
#include <type_traits>

#include "core/large_buffer.h"
#include "kvlm/error.h"

namespace kvlm::tok {

template <class T>
class HugeArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  HugeArray() = default;
  explicit HugeArray(std::size_t capacity)
      : buffer_(std::make_unique<LargeBuffer>(std::max<std::size_t>(capacity, 1) * sizeof(T))),
        capacity_(std::max<std::size_t>(capacity, 1)) {}

  T* data() { return buffer_ ? reinterpret_cast<T*>(buffer_->data()) : nullptr; }
  const T* data() const { return buffer_ ? reinterpret_cast<const T*>(buffer_->data()) : nullptr; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t capacity() const { return capacity_; }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

  void push_back(const T& v) {
    reserve_more(1);
    data()[size_++] = v;
  }
  // Room for n more elements at end(); commit them with grow_by().
  T* reserve_more(std::size_t n) {
    if (capacity_ - size_ < n) throw Error("tokenizer table overflow");
    return data() + size_;
  }
  void grow_by(std::size_t n) { size_ += n; }
  void shrink_to(std::size_t n) { size_ = n; }

 private:
  std::unique_ptr<LargeBuffer> buffer_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

}  // namespace kvlm::tok
