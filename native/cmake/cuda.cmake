# The CUDA backend (src/backend/cuda). Included by native/CMakeLists.txt after llm_engine exists.
#   LLM_WITH_CUDA            ON by default when nvcc is found (CMakeLists.txt decides); OFF skips all this
#   CMAKE_CUDA_ARCHITECTURES "80;86;89;90" unless given (e.g. -DCMAKE_CUDA_ARCHITECTURES=90 for fast builds)
#   CUBLAS_ROOT / LLM_CUBLAS_LIBRARY  where libcublas.so* lives (e.g. PyTorch's nvidia cublas wheel);
#                            cuBLAS is never linked: it is dlopen()ed at run time (this path first, then
#                            the usual sonames), so a build without cuBLAS still uses it where present,
#                            and our own bf16 GEMM kernels are the fallback.
if(NOT LLM_WITH_CUDA)
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  set(CMAKE_CUDA_ARCHITECTURES "80;86;89;90" CACHE STRING "CUDA architectures" FORCE)
endif()
if(NOT CMAKE_CUDA_COMPILER)
  find_program(_llm_nvcc nvcc HINTS ENV CUDACXX ENV CUDA_HOME PATHS /usr/local/cuda/bin)
  if(_llm_nvcc)
    set(CMAKE_CUDA_COMPILER ${_llm_nvcc})
  endif()
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

file(GLOB LLM_CUDA_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/backend/cuda/*.cu
  ${CMAKE_CURRENT_SOURCE_DIR}/src/backend/cuda/*.cpp)
target_sources(llm_engine PRIVATE ${LLM_CUDA_SOURCES})
target_compile_definitions(llm_engine PUBLIC LLM_WITH_CUDA)
target_compile_options(llm_engine PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo -Xcompiler=-fPIC>)
set_target_properties(llm_engine PROPERTIES CUDA_SEPARABLE_COMPILATION OFF CUDA_RUNTIME_LIBRARY Static)
target_link_libraries(llm_engine PUBLIC CUDA::cudart_static ${CMAKE_DL_LIBS})

# Optional cuBLAS hint: a full path to libcublas.so.N baked in as the first dlopen candidate.
set(CUBLAS_ROOT "$ENV{CUBLAS_ROOT}" CACHE PATH "Directory holding lib/libcublas.so* (optional)")
if(NOT LLM_CUBLAS_LIBRARY AND CUBLAS_ROOT)
  file(GLOB_RECURSE _llm_cublas_candidates ${CUBLAS_ROOT}/libcublas.so*)
  list(FILTER _llm_cublas_candidates EXCLUDE REGEX "libcublasLt|/stubs/")
  list(SORT _llm_cublas_candidates)
  if(_llm_cublas_candidates)
    list(GET _llm_cublas_candidates -1 LLM_CUBLAS_LIBRARY)
  endif()
endif()
if(NOT LLM_CUBLAS_LIBRARY AND TARGET CUDA::cublas)
  get_target_property(_llm_cublas_loc CUDA::cublas IMPORTED_LOCATION)
  if(_llm_cublas_loc AND NOT _llm_cublas_loc MATCHES "/stubs/")
    set(LLM_CUBLAS_LIBRARY ${_llm_cublas_loc})
  endif()
endif()
if(LLM_CUBLAS_LIBRARY)
  message(STATUS "llm_engine: cuBLAS hint ${LLM_CUBLAS_LIBRARY} (loaded at run time)")
  target_compile_definitions(llm_engine PRIVATE LLM_WITH_CUBLAS LLM_CUBLAS_HINT="${LLM_CUBLAS_LIBRARY}")
else()
  message(STATUS "llm_engine: no cuBLAS at build time; will try libcublas.so at run time, else our GEMM kernels")
endif()
message(STATUS "llm_engine: CUDA backend ON (architectures ${CMAKE_CUDA_ARCHITECTURES})")
