# The CUDA tests again on the CPU, through the CUDA emulator in native/tests/cuda_emu (tests only):
# llm_engine_cuda_emu is the engine with its CUDA backend compiled by g++ against the emulator's
# headers (kernels and all; the .cu files are copied with their <<<...>>> launches rewritten), and
# each cuda_*_test.cpp is built against it as <name>_emu (ctest label "cudaemu"). This runs the
# CUDA backend's kernels, graphs and host code on machines without a GPU, CI included: their
# indexing, barriers, memory bounds and results against the CPU backend, never their speed.
# Needs no nvcc. LLM_CUDA_EMU=OFF skips it; sanitizer builds skip it (fibers switch stacks).
option(LLM_CUDA_EMU "Build the CUDA tests against the CPU emulator of CUDA (tests only)" ON)
if(NOT LLM_CUDA_EMU OR LLM_SANITIZE OR NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
  return()
endif()

set(LLM_EMU_DIR ${CMAKE_CURRENT_SOURCE_DIR}/tests/cuda_emu)
file(GLOB LLM_EMU_CU CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/backend/cuda/*.cu)
file(GLOB LLM_EMU_CUDA_CPP CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/backend/cuda/*.cpp)
set(LLM_EMU_REWRITTEN)
foreach(cu ${LLM_EMU_CU})
  get_filename_component(stem ${cu} NAME_WE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/cuda_emu/${stem}.cu.cpp)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${cu} -DOUT=${out} -P ${LLM_EMU_DIR}/rewrite_launches.cmake
    DEPENDS ${cu} ${LLM_EMU_DIR}/rewrite_launches.cmake
    COMMENT "cuda emulator: rewriting launches in ${stem}.cu")
  list(APPEND LLM_EMU_REWRITTEN ${out})
endforeach()

add_library(llm_engine_cuda_emu STATIC
  ${LLM_ENGINE_SOURCES} ${LLM_EMU_CUDA_CPP} ${LLM_EMU_REWRITTEN}
  ${LLM_EMU_DIR}/runtime.cpp ${LLM_EMU_DIR}/device_memory.cpp ${LLM_EMU_DIR}/fault_handler.cpp
  ${LLM_EMU_DIR}/block_runner.cpp ${LLM_EMU_DIR}/fibers.cpp)
target_include_directories(llm_engine_cuda_emu BEFORE PUBLIC ${LLM_EMU_DIR}/include)
target_include_directories(llm_engine_cuda_emu PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_definitions(llm_engine_cuda_emu PUBLIC LLM_WITH_CUDA LLM_CUDA_EMU)
# No FMA contraction: the kernels' explicit roundings (__fmul_rn ...) must stay single roundings.
target_compile_options(llm_engine_cuda_emu PRIVATE ${LLM_CXX_WARNINGS} -ffp-contract=off -Wno-unknown-pragmas)
target_link_libraries(llm_engine_cuda_emu PUBLIC Threads::Threads ${CMAKE_DL_LIBS})

file(GLOB LLM_EMU_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/cuda_*_test.cpp)
foreach(src ${LLM_EMU_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name}_emu ${src})
  target_link_libraries(${name}_emu PRIVATE llm_engine_cuda_emu)
  target_include_directories(${name}_emu PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tests)
  target_compile_options(${name}_emu PRIVATE ${LLM_CXX_WARNINGS} -ffp-contract=off -Wno-unknown-pragmas)
  target_compile_definitions(${name}_emu PRIVATE
    LLM_DEFAULT_TEST_MODEL_DIR="${LLM_DEFAULT_TEST_MODEL_DIR}"
    LLM_DEFAULT_TEST_MID_MODEL_DIR="${LLM_DEFAULT_TEST_MID_MODEL_DIR}")
  add_test(NAME ${name}_emu COMMAND ${name}_emu)
  # cuBLAS would get host pointers: the emulated tests use our GEMM kernels.
  set_tests_properties(${name}_emu PROPERTIES LABELS cudaemu ENVIRONMENT LLM_CUDA_NO_CUBLAS=1
                       SKIP_RETURN_CODE 77 TIMEOUT 1200)
endforeach()
# The kernel-level tests again with each block's threads run last to first, so a read that a
# missing barrier leaves unordered sees the unwritten value in one of the two runs.
foreach(name cuda_ops_test cuda_sample_rows_test)
  if(TARGET ${name}_emu)
    add_test(NAME ${name}_emu_reverse COMMAND ${name}_emu)
    set_tests_properties(${name}_emu_reverse PROPERTIES LABELS cudaemu SKIP_RETURN_CODE 77 TIMEOUT 1200
                         ENVIRONMENT "LLM_CUDA_NO_CUBLAS=1;LLM_CUDA_EMU_ORDER=reverse")
  endif()
endforeach()

# The emulator's own tests (kernels in a .cu file, rewritten like the engine's).
set(LLM_EMU_SELF_TEST ${CMAKE_CURRENT_BINARY_DIR}/cuda_emu/emu_self_test.cu.cpp)
add_custom_command(OUTPUT ${LLM_EMU_SELF_TEST}
  COMMAND ${CMAKE_COMMAND} -DIN=${LLM_EMU_DIR}/emu_self_test.cu -DOUT=${LLM_EMU_SELF_TEST} -P ${LLM_EMU_DIR}/rewrite_launches.cmake
  DEPENDS ${LLM_EMU_DIR}/emu_self_test.cu ${LLM_EMU_DIR}/rewrite_launches.cmake)
add_executable(cuda_emu_self_test ${LLM_EMU_SELF_TEST})
target_link_libraries(cuda_emu_self_test PRIVATE llm_engine_cuda_emu)
target_include_directories(cuda_emu_self_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tests)
target_compile_options(cuda_emu_self_test PRIVATE ${LLM_CXX_WARNINGS} -ffp-contract=off -Wno-unknown-pragmas)
add_test(NAME cuda_emu_self_test COMMAND cuda_emu_self_test)
set_tests_properties(cuda_emu_self_test PROPERTIES LABELS cudaemu TIMEOUT 120)

# engine-bench's CUDA paths (decode steps through forward_step and CUDA graphs, op timing, TTFT,
# the offline run through the real Engine) on the emulator with the tiny fixture: that they run
# and report, not their numbers. Skips without the fixture.
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/bench/CMakeLists.txt)
  set(_bench ${CMAKE_CURRENT_SOURCE_DIR}/bench)
  add_executable(engine-bench-emu ${_bench}/main.cpp ${_bench}/random_model.cpp ${_bench}/bench_backend.cpp
                 ${_bench}/bench_offline.cpp)
  target_link_libraries(engine-bench-emu PRIVATE llm_engine_cuda_emu)
  target_compile_options(engine-bench-emu PRIVATE ${LLM_CXX_WARNINGS} -Wno-unknown-pragmas)
  set(_bench_args --device cuda --batch-sizes 1,3 --prompt-len 16 --ttft-len 24 --decode-steps 4 --repeats 1
      --num-prompts 6 --input-len 12 --output-len 5 --max-num-seqs 4 --max-num-batched-tokens 64
      --kv-cache-fraction 0.5)
  # graphs: decode steps replay CUDA graphs; optiming: eager steps with per-op GPU times;
  # sampled: offline requests drawn on the device (temperature, top_p); logprobs: greedy
  # offline requests scored on the device (logprobs 5); penalties: rows edited on the device.
  # Their JSON goes where gpu-check.sh puts its own (bench-1b*.json), for summarize.py below.
  set(_results ${CMAKE_CURRENT_BINARY_DIR}/gpu-check-emu)
  file(MAKE_DIRECTORY ${_results})
  foreach(mode graphs optiming sampled logprobs penalties)
    set(_extra)
    set(_json bench-1b.json)
    if(mode STREQUAL "optiming")
      set(_extra --op-timing)
      set(_json bench-1b-ops.json)
    elseif(mode STREQUAL "sampled")
      set(_extra --temperature 0.8 --top-p 0.9)
      set(_json bench-1b-topp.json)
    elseif(mode STREQUAL "logprobs")
      set(_extra --logprobs 5)
      set(_json bench-1b-logprobs.json)
    elseif(mode STREQUAL "penalties")
      set(_extra --repetition-penalty 1.1 --frequency-penalty 0.3 --presence-penalty 0.5)
      set(_json bench-1b-penalties.json)
    endif()
    add_test(NAME engine_bench_cuda_emu_${mode}
      COMMAND sh -c "test -f \"$1/config.json\" || { echo 'no tiny fixture'; exit 77; }; shift; exec \"$@\""
              sh ${LLM_DEFAULT_TEST_MODEL_DIR} $<TARGET_FILE:engine-bench-emu> --model ${LLM_DEFAULT_TEST_MODEL_DIR}
              ${_bench_args} ${_extra} --output ${_results}/${_json})
    # A failed offline request is counted, not fatal: fail the test on it.
    set_tests_properties(engine_bench_cuda_emu_${mode} PROPERTIES LABELS cudaemu SKIP_RETURN_CODE 77 TIMEOUT 600
                         FAIL_REGULAR_EXPRESSION "[1-9][0-9]* errors" FIXTURES_SETUP gpu_check_emu_results
                         ENVIRONMENT "LLM_CUDA_NO_CUBLAS=1;LLM_CUDA_EMU_MEMORY_MB=1536")
  endforeach()
  # gpu-check.sh's results table (native/bench/summarize.py) reads what engine-bench writes now.
  find_package(Python3 COMPONENTS Interpreter QUIET)
  if(Python3_Interpreter_FOUND)
    add_test(NAME gpu_check_summary_emu
             COMMAND ${Python3_EXECUTABLE} ${_bench}/summarize.py ${_results})
    set_tests_properties(gpu_check_summary_emu PROPERTIES LABELS cudaemu FIXTURES_REQUIRED gpu_check_emu_results
                         PASS_REGULAR_EXPRESSION
                         "ops decode b1 .*offline 6 x 12/5 \\(temperature 0.8, top_p 0.9\\): .*errors 0.*offline 6 x 12/5 \\(greedy, logprobs 5\\): .*errors 0.*offline 6 x 12/5 \\(greedy, penalties repetition 1.1 frequency 0.3 presence 0.5\\): .*errors 0")
  endif()
endif()
