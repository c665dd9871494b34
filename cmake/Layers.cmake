# The module layers of docs/ARCHITECTURE.md. A module may include only modules of a
# lower layer; tejun_module() checks every #include "<module>/..." at configure time
# and fails the build when one points sideways or upward.

set(TEJUN_LAYER_base 0)
set(TEJUN_LAYER_notebook 1)
set(TEJUN_LAYER_protocol 1)
set(TEJUN_LAYER_config 1)
# integrations (the HTTP client, GitLab) sits under exec: runbook steps call GitLab.
set(TEJUN_LAYER_integrations 2)
set(TEJUN_LAYER_exec 3)
set(TEJUN_LAYER_store 3)
set(TEJUN_LAYER_audit 3)
set(TEJUN_LAYER_net 3)
set(TEJUN_LAYER_auth 3)
set(TEJUN_LAYER_kernel 4)
set(TEJUN_LAYER_client 4)
set(TEJUN_LAYER_spawn 4)
set(TEJUN_LAYER_server 5)
set(TEJUN_LAYER_hub 5)
set(TEJUN_LAYER_runner 5)
set(TEJUN_LAYER_cli 6)

function(tejun_check_layers module)
  set(own ${TEJUN_LAYER_${module}})
  if(own STREQUAL "")
    message(FATAL_ERROR "module '${module}' has no layer in cmake/Layers.cmake")
  endif()
  file(GLOB_RECURSE files CONFIGURE_DEPENDS
    ${CMAKE_CURRENT_SOURCE_DIR}/*.hpp ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  foreach(file IN LISTS files)
    file(STRINGS ${file} includes REGEX "^#include \"[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([a-z_]+)/.*" "\\1" target "${line}")
      set(layer ${TEJUN_LAYER_${target}})
      if(layer STREQUAL "")
        continue()
      endif()
      if(NOT target STREQUAL module AND NOT layer LESS own)
        message(FATAL_ERROR
          "${file}: module '${module}' (layer ${own}) includes '${target}' (layer ${layer}); "
          "a module may include only lower layers (see docs/ARCHITECTURE.md)")
      endif()
    endforeach()
  endforeach()
endfunction()

# tejun_module(NAME SOURCES ... DEPS ...) defines the library tejun_NAME.
function(tejun_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  tejun_check_layers(${name})
  add_library(tejun_${name} STATIC ${ARG_SOURCES})
  target_include_directories(tejun_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(tejun_${name} PUBLIC tejun_options ${ARG_DEPS})
endfunction()
