// Page-cache placement of a file that is about to be mapped and read whole.
#pragma once

#include <filesystem>

namespace kvlm {

// Makes a just-written file durable (fdatasync), drops it from the page
// cache and reads it back sequentially. Writes leave a file cached in 4 KiB
// pages; readahead caches it in folios of up to 2 MiB, which the kernel (6.x,
// on filesystems with large folios, such as ext4 here) maps whole into a
// later mmap. In this project's VM that made every start and decode step
// faster (1B bf16 first token 540 -> 97-130 ms; q4 decode 8.5% faster).
// Reading it back through mmap faults instead left half of it in smaller
// folios. Returns false, with errno set, if the file cannot be opened,
// synced or read; the hints themselves may be ignored.
bool sync_and_recache(const std::filesystem::path& path);

}  // namespace kvlm
