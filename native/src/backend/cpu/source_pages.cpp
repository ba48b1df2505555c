#include "backend/cpu/source_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace llm {
namespace cpu {

namespace {

// True when [begin, end) lies inside one mapping of /proc/self/maps that is read-only, private
// and backed by a file (inode != 0).
bool in_readonly_file_mapping(uintptr_t begin, uintptr_t end) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream ss(line);
    std::string range, perms, offset, dev;
    unsigned long long inode = 0;
    if (!(ss >> range >> perms >> offset >> dev >> inode)) continue;
    const size_t dash = range.find('-');
    if (dash == std::string::npos) continue;
    const uintptr_t lo = std::stoull(range.substr(0, dash), nullptr, 16);
    const uintptr_t hi = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (begin >= lo && end <= hi) return inode != 0 && perms.size() >= 4 && perms[1] == '-' && perms[3] == 'p';
  }
  return false;
}

}  // namespace

bool release_file_pages(const void* p, size_t n) {
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || n == 0) return false;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const uintptr_t lo = (a + page - 1) / page * page, hi = (a + n) / page * page;
  if (hi <= lo || !in_readonly_file_mapping(a, a + n)) return false;
  return madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED) == 0;
}

}  // namespace cpu
}  // namespace llm
