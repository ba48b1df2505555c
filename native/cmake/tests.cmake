# Every native/tests/*_test.cpp is its own executable, linked to llm_engine and registered with
# ctest. Its label is the file name's first word (block_manager_test.cpp -> "block"; model_*,
# cpu_*, cuda_*, fuzz_* ... likewise). Exit code 77 means SKIP (e.g. no model fixture, no GPU).
file(GLOB LLM_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/*_test.cpp)

get_filename_component(LLM_REPO_ROOT ${CMAKE_CURRENT_SOURCE_DIR} DIRECTORY)
set(LLM_DEFAULT_TEST_MODEL_DIR ${LLM_REPO_ROOT}/.data/models/tiny-llama)
set(LLM_DEFAULT_TEST_MID_MODEL_DIR ${LLM_REPO_ROOT}/.data/models/mid-llama)

foreach(src ${LLM_TEST_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX MATCH "^[a-z0-9]+" label ${name})
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE llm_engine)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tests)
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${LLM_CXX_WARNINGS}>)
  target_compile_definitions(${name} PRIVATE
    LLM_DEFAULT_TEST_MODEL_DIR="${LLM_DEFAULT_TEST_MODEL_DIR}"
    LLM_DEFAULT_TEST_MID_MODEL_DIR="${LLM_DEFAULT_TEST_MID_MODEL_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${label} SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

# The backend tests again with the other SIMD kernel tables forced (the default is the best the
# CPU has, e.g. AMX): each must keep its own results batch- and thread-invariant and near float64.
foreach(isa avx512 avx2)
  add_test(NAME cpu_backend_test_${isa} COMMAND cpu_backend_test)
  set_tests_properties(cpu_backend_test_${isa} PROPERTIES LABELS cpu ENVIRONMENT LLM_CPU_ISA=${isa}
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

# The int8 tests with each SIMD table forced, and with the scalar one (which must refuse int8).
foreach(isa avx512 avx2 scalar)
  add_test(NAME cpu_int8_test_${isa} COMMAND cpu_int8_test)
  set_tests_properties(cpu_int8_test_${isa} PROPERTIES LABELS cpu ENVIRONMENT LLM_CPU_ISA=${isa}
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

# The int4 tests likewise; LLM_CPU_NO_VNNI=1 runs the AVX2 int4 kernel on AVX-512's 32-row panels.
foreach(isa avx512 avx2 scalar)
  add_test(NAME cpu_int4_test_${isa} COMMAND cpu_int4_test)
  set_tests_properties(cpu_int4_test_${isa} PROPERTIES LABELS cpu ENVIRONMENT LLM_CPU_ISA=${isa}
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
add_test(NAME cpu_int4_test_novnni COMMAND cpu_int4_test)
set_tests_properties(cpu_int4_test_novnni PROPERTIES LABELS cpu ENVIRONMENT "LLM_CPU_ISA=avx512;LLM_CPU_NO_VNNI=1"
                     SKIP_RETURN_CODE 77 TIMEOUT 600)

# The CUDA tests on the CPU emulator of CUDA (cmake/cuda_emu.cmake).
include(${CMAKE_CURRENT_SOURCE_DIR}/cmake/cuda_emu.cmake)
