// A tiny header-only test harness for the native tests. Each *_test.cpp includes this once and
// defines TEST(name) { ... } blocks; main() (defined here) runs them all, or those whose name
// contains argv[1], and prints "N passed, N failed". A test that calls SKIP(...) is skipped; when
// every test skipped (e.g. no model fixture), the process exits 77, which ctest reports as SKIP.
//
//   CHECK(cond), CHECK_EQ(a, b)           fatal: the failing test stops here
//   EXPECT(cond), EXPECT_EQ(a, b)         non-fatal: the test goes on
//   EXPECT_NEAR(a, b, tol)
//   EXPECT_THROWS(stmt, "substring")      stmt must throw a std::exception whose what() has it
//   SKIP("reason")
//   testing::model_dir() / mid_model_dir()  env LLM_TEST_MODEL_DIR / LLM_TEST_MID_MODEL_DIR, else
//                                         the repo's .data/models/{tiny,mid}-llama; "" if absent
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <iterator>
#include <ostream>
#include <utility>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <type_traits>
#include <vector>

namespace testing {

struct TestCase {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

struct FatalFailure {};
struct Skipped {
  std::string reason;
};

inline int& current_failures() {
  static int n = 0;
  return n;
}

inline void report_failure(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "  FAILED %s:%d: %s\n", file, line, what.c_str());
  ++current_failures();
}

template <typename T, typename = void>
struct is_streamable : std::false_type {};
template <typename T>
struct is_streamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};
template <typename T, typename = void>
struct is_iterable : std::false_type {};
template <typename T>
struct is_iterable<T, std::void_t<decltype(std::begin(std::declval<const T&>()))>> : std::true_type {};

template <typename T>
std::string to_string_any(const T& v) {
  std::ostringstream os;
  if constexpr (std::is_enum_v<T>) {
    os << static_cast<long long>(v);
  } else if constexpr (is_streamable<T>::value) {
    os << v;
  } else if constexpr (is_iterable<T>::value) {
    os << "[";
    bool first = true;
    for (const auto& x : v) {
      os << (first ? "" : ", ") << to_string_any(x);
      first = false;
    }
    os << "]";
  } else {
    os << "<value>";
  }
  return os.str();
}

inline bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

inline std::string dir_with_config(const char* env, const char* fallback) {
  const char* v = std::getenv(env);
  std::string dir = (v && *v) ? v : fallback;
  return file_exists(dir + "/config.json") ? dir : std::string();
}

#ifndef LLM_DEFAULT_TEST_MODEL_DIR
#define LLM_DEFAULT_TEST_MODEL_DIR ""
#endif
#ifndef LLM_DEFAULT_TEST_MID_MODEL_DIR
#define LLM_DEFAULT_TEST_MID_MODEL_DIR ""
#endif

inline std::string model_dir() { return dir_with_config("LLM_TEST_MODEL_DIR", LLM_DEFAULT_TEST_MODEL_DIR); }
inline std::string mid_model_dir() {
  return dir_with_config("LLM_TEST_MID_MODEL_DIR", LLM_DEFAULT_TEST_MID_MODEL_DIR);
}

inline int run_all(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0, failed = 0, skipped = 0;
  for (const TestCase& t : registry()) {
    if (filter && !std::strstr(t.name, filter)) continue;
    current_failures() = 0;
    std::fprintf(stderr, "[ RUN  ] %s\n", t.name);
    try {
      t.fn();
    } catch (const FatalFailure&) {
    } catch (const Skipped& s) {
      std::fprintf(stderr, "[ SKIP ] %s: %s\n", t.name, s.reason.c_str());
      ++skipped;
      continue;
    } catch (const std::exception& e) {
      report_failure(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    } catch (...) {
      report_failure(__FILE__, __LINE__, "unexpected non-std exception");
    }
    if (current_failures() == 0) {
      std::fprintf(stderr, "[  OK  ] %s\n", t.name);
      ++passed;
    } else {
      std::fprintf(stderr, "[ FAIL ] %s\n", t.name);
      ++failed;
    }
  }
  std::printf("%d passed, %d failed%s\n", passed, failed,
              skipped ? (", " + std::to_string(skipped) + " skipped").c_str() : "");
  if (failed) return 1;
  if (skipped && passed == 0) return 77;
  return 0;
}

}  // namespace testing

#define LLM_TEST_CAT2(a, b) a##b
#define LLM_TEST_CAT(a, b) LLM_TEST_CAT2(a, b)
#define TEST(name)                                                                  \
  static void LLM_TEST_CAT(test_fn_, name)();                                       \
  static ::testing::Registrar LLM_TEST_CAT(test_reg_, name)(#name, LLM_TEST_CAT(test_fn_, name)); \
  static void LLM_TEST_CAT(test_fn_, name)()

#define EXPECT(cond)                                                             \
  do {                                                                           \
    if (!(cond)) ::testing::report_failure(__FILE__, __LINE__, "EXPECT(" #cond ")"); \
  } while (0)
#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) {                                                              \
      ::testing::report_failure(__FILE__, __LINE__, "CHECK(" #cond ")");        \
      throw ::testing::FatalFailure{};                                          \
    }                                                                           \
  } while (0)
#define LLM_TEST_EQ_IMPL(a, b, fatal)                                                       \
  do {                                                                                      \
    const auto& llm_a_ = (a);                                                               \
    const auto& llm_b_ = (b);                                                               \
    if (!(llm_a_ == llm_b_)) {                                                              \
      ::testing::report_failure(__FILE__, __LINE__,                                         \
                                std::string(#a " == " #b ": ") + ::testing::to_string_any(llm_a_) + \
                                    " vs " + ::testing::to_string_any(llm_b_));             \
      if (fatal) throw ::testing::FatalFailure{};                                           \
    }                                                                                       \
  } while (0)
#define EXPECT_EQ(a, b) LLM_TEST_EQ_IMPL(a, b, false)
#define CHECK_EQ(a, b) LLM_TEST_EQ_IMPL(a, b, true)
#define EXPECT_NEAR(a, b, tol)                                                                 \
  do {                                                                                         \
    const double llm_a_ = (a), llm_b_ = (b);                                                   \
    if (!(std::fabs(llm_a_ - llm_b_) <= (tol)))                                                \
      ::testing::report_failure(__FILE__, __LINE__,                                            \
                                std::string(#a " ~= " #b ": ") + std::to_string(llm_a_) + " vs " + \
                                    std::to_string(llm_b_) + " (tol " + std::to_string(tol) + ")"); \
  } while (0)
#define EXPECT_THROWS(stmt, substring)                                                        \
  do {                                                                                        \
    bool llm_threw_ = false;                                                                  \
    try {                                                                                     \
      stmt;                                                                                   \
    } catch (const std::exception& llm_e_) {                                                  \
      llm_threw_ = true;                                                                      \
      if (!std::strstr(llm_e_.what(), substring))                                             \
        ::testing::report_failure(__FILE__, __LINE__,                                         \
                                  std::string("exception '") + llm_e_.what() +                \
                                      "' lacks '" + substring + "'");                         \
    }                                                                                         \
    if (!llm_threw_)                                                                          \
      ::testing::report_failure(__FILE__, __LINE__, "expected " #stmt " to throw");           \
  } while (0)
#define SKIP(reason) throw ::testing::Skipped{reason}

int main(int argc, char** argv) { return ::testing::run_all(argc, argv); }
