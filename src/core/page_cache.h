// Page-cache placement of a file that is about to be mapped and read whole.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>

#include "kvlm/system.h"

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

// file_mapping(path) (kvlm/system.h) finds the file by device and inode in
// /proc/self/smaps and sums FilePmdMapped for its 2 MiB entries.

// The share of `path` that a mapping of it would map with 2 MiB entries,
// estimated from one touched byte in each of up to 32 of its 2 MiB regions
// spread over the file (a fault each). nullopt for a file under 2 MiB, on
// tmpfs, that cannot be opened or mapped, or where smaps does not say.
std::optional<double> huge_mapped_share(const std::filesystem::path& path);

// Whether anonymous memory can get 2 MiB transparent huge pages here (the
// setting is "always" or "madvise"; LargeBuffer asks with MADV_HUGEPAGE).
bool anonymous_huge_pages_available();

// MemAvailable from /proc/meminfo, in bytes; nullopt where unreadable.
std::optional<std::size_t> available_memory();

}  // namespace kvlm
