# The N-API addon llm_engine.node, built only by cmake-js (which defines CMAKE_JS_INC/SRC/LIB
# and puts the output in build/Release). Uses node-addon-api with C++ exceptions.
file(GLOB LLM_ADDON_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/addon/*.cpp)

get_filename_component(LLM_REPO_ROOT ${CMAKE_CURRENT_SOURCE_DIR} DIRECTORY)
find_path(LLM_NODE_ADDON_API_DIR napi.h
  HINTS ${LLM_REPO_ROOT}/node_modules/node-addon-api NO_DEFAULT_PATH)
if(NOT LLM_NODE_ADDON_API_DIR)
  message(FATAL_ERROR "node-addon-api not found under ${LLM_REPO_ROOT}/node_modules; run npm install")
endif()

add_library(llm_engine_addon SHARED ${LLM_ADDON_SOURCES} ${CMAKE_JS_SRC})
set_target_properties(llm_engine_addon PROPERTIES PREFIX "" SUFFIX ".node" OUTPUT_NAME llm_engine)
target_include_directories(llm_engine_addon PRIVATE ${CMAKE_JS_INC} ${LLM_NODE_ADDON_API_DIR})
target_compile_definitions(llm_engine_addon PRIVATE
  NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS NODE_ADDON_API_DISABLE_DEPRECATED)
target_compile_options(llm_engine_addon PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${LLM_CXX_WARNINGS}>)
target_link_libraries(llm_engine_addon PRIVATE llm_engine ${CMAKE_JS_LIB})
if(MSVC AND CMAKE_JS_NODELIB_DEF AND CMAKE_JS_NODELIB_TARGET)
  execute_process(COMMAND ${CMAKE_AR} /def:${CMAKE_JS_NODELIB_DEF} /out:${CMAKE_JS_NODELIB_TARGET} ${CMAKE_STATIC_LINKER_FLAGS})
endif()
