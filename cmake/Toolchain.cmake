# Compiler launcher, warnings and sanitizers shared by every tejun target.

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

add_library(tejun_options INTERFACE)
target_compile_options(tejun_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
  $<$<BOOL:${TEJUN_WERROR}>:-Werror>
  # GCC 12 reports std::string copies at -O2 and above as overlapping (GCC bug 105329).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)

if(TEJUN_SANITIZE)
  target_compile_options(tejun_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(tejun_options INTERFACE -fsanitize=address,undefined)
endif()

if(TEJUN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TEJUN_FUZZ needs clang (libFuzzer)")
  endif()
  target_compile_options(tejun_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(tejun_options INTERFACE -fsanitize=address,undefined)
endif()
