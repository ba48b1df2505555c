// JsonSchema::compile_cached: a small LRU of compiled schemas keyed by their text.
#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sampling/json_schema.h"

namespace llm {

namespace {

constexpr size_t kMaxEntries = 64;
constexpr size_t kMaxTextBytes = size_t{16} << 20;  // schema texts kept as keys, at most

class SchemaCache {
 public:
  std::shared_ptr<const JsonSchema> find(const std::string& text) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = index_.find(text);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  std::shared_ptr<const JsonSchema> add(const std::string& text, std::shared_ptr<const JsonSchema> schema) {
    std::lock_guard<std::mutex> lk(mu_);
    if (auto it = index_.find(text); it != index_.end()) return it->second->second;  // a racing compile won
    lru_.emplace_front(text, std::move(schema));
    index_.emplace(lru_.front().first, lru_.begin());
    bytes_ += text.size();
    while (lru_.size() > 1 && (lru_.size() > kMaxEntries || bytes_ > kMaxTextBytes)) {
      bytes_ -= lru_.back().first.size();
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return lru_.front().second;
  }

 private:
  std::mutex mu_;
  std::list<std::pair<std::string, std::shared_ptr<const JsonSchema>>> lru_;  // newest first
  std::unordered_map<std::string_view, decltype(lru_)::iterator> index_;     // views lru_'s keys
  size_t bytes_ = 0;
};

SchemaCache& cache() {
  static SchemaCache c;
  return c;
}

}  // namespace

std::shared_ptr<const JsonSchema> JsonSchema::compile_cached(const std::string& schema_text) {
  if (auto hit = cache().find(schema_text)) return hit;
  return cache().add(schema_text, compile(schema_text));  // compiled outside the lock
}

}  // namespace llm
