// Dropping the resident pages of a weight that was copied into another layout, so that the
// process does not keep both copies in memory. Only done for read-only private file mappings
// (the memory-mapped safetensors), where the kernel simply re-reads a page if it is touched
// again; heap memory and writable mappings are left alone.
#pragma once

#include <cstddef>

namespace llm {
namespace cpu {

// Returns true when the pages fully inside [p, p + n) were released.
bool release_file_pages(const void* p, size_t n);

}  // namespace cpu
}  // namespace llm
