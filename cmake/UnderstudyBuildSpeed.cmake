# Build speed: precompiled headers (PCH) of the heavy third-party headers, unity builds of the
# libraries and test suites, and lld. All three are private details of this build tree: they are
# set as PRECOMPILE_HEADERS, PRECOMPILE_HEADERS_REUSE_FROM, UNITY_BUILD and directory link options,
# never as INTERFACE_ properties, so install(EXPORT) and the installed package (tests/package)
# carry none of them.
#
#   understudy_precompile(GROUP TARGET...)   TARGETs reuse the precompiled headers of GROUP:
#     core   the C++ library, protobuf, Abseil, nlohmann/json, RE2: understudy_core, which does
#            not link gRPC and so does not see its headers either
#     grpc   core + grpcpp: the libraries and programs that serve or call
#     test   grpc + GoogleTest/GoogleMock: every target that links GTest::gtest or GTest::gmock
#   understudy_unity_build(TARGET...)        compiles TARGET's sources as unity builds: up to 8
#     sources (UNITY_BUILD_BATCH_SIZE) in one translation unit, which shares the header and the
#     template instantiations. Sources there share their anonymous namespaces and macros: a
#     source that defines a name another one of its target also has ("redefinition of ..." in
#     Unity/unity_N_cxx.cxx) gets SKIP_UNITY_BUILD_INCLUSION (see the top-level CMakeLists.txt);
#     sources are never renamed for it. A new source of such a target joins automatically.
#
# Each group's header is built once, by an owner target of its own (understudy_pch_<GROUP>: an
# object library of one empty file), and reused by every member. A precompiled header is only
# valid for translation units compiled with the same flags: clang rejects it otherwise (an error),
# g++ silently parses the headers again (slow, not wrong). The flags agree here because all of
# them are global (build type, -g1, sanitizers, the fuzzing instrumentation of UNDERSTUDY_FUZZ:
# add_compile_options in the top-level CMakeLists.txt, before any target), and each owner takes the
# usage requirements that change its headers (-pthread; GoogleTest's -DGTEST_HAS_PTHREAD=1) as its
# members do. Members' own definitions (UNDERSTUDY_SOURCE_DIR, ...) are not used by these headers.
# A target with compile options of its own is left out (with a note), as are libFuzzer targets
# built with the in-place instrumentation of understudy_add_service_fuzzer (their flags differ).
#
# -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON and -DUNDERSTUDY_UNITY_BUILD=OFF turn them off: to check
# that every file includes what it uses, or for quicker rebuilds of one edited library source.
option(UNDERSTUDY_UNITY_BUILD "Unity builds of the libraries and test suites (quicker clean builds)"
       ON)

# lld links a test executable in a quarter of the time of GNU ld (0.18 vs 0.72 s, measured on an
# ASan test; a clean CI run links some 125 of them). Used when the compiler accepts it
# (scripts/install-deps installs it); -DUNDERSTUDY_LLD=OFF keeps the system's default linker.
option(UNDERSTUDY_LLD "Link with lld when the compiler can" ON)
if(UNDERSTUDY_LLD)
  include(CheckLinkerFlag)
  check_linker_flag(CXX -fuse-ld=lld UNDERSTUDY_HAVE_LLD)
  if(UNDERSTUDY_HAVE_LLD)
    add_link_options(-fuse-ld=lld)
  endif()
endif()

set(_understudy_pch_core
  <algorithm> <atomic> <chrono> <cstdint> <filesystem> <fstream> <functional> <map> <memory>
  <mutex> <optional> <set> <string> <thread> <utility> <vector>
  <google/protobuf/descriptor.h>
  <google/protobuf/descriptor.pb.h>
  <google/protobuf/dynamic_message.h>
  <google/protobuf/message.h>
  <google/protobuf/util/json_util.h>
  <google/protobuf/util/message_differencer.h>
  <google/protobuf/util/time_util.h>
  <nlohmann/json.hpp>
  <re2/re2.h>
  <absl/status/status.h>
  <absl/status/statusor.h>
  <absl/strings/match.h>
  <absl/strings/str_cat.h>
  <absl/strings/str_join.h>
  <absl/strings/str_split.h>
  <absl/strings/string_view.h>
  <absl/synchronization/mutex.h>)
set(_understudy_pch_grpc ${_understudy_pch_core}
  <grpcpp/grpcpp.h>
  <grpcpp/generic/generic_stub.h>)
set(_understudy_pch_test ${_understudy_pch_grpc}
  <gtest/gtest.h>
  <gmock/gmock.h>)
set(_understudy_pch_core_links protobuf::libprotobuf nlohmann_json::nlohmann_json PkgConfig::RE2
    absl::status absl::statusor absl::strings absl::synchronization Threads::Threads)
set(_understudy_pch_grpc_links ${_understudy_pch_core_links} gRPC::grpc++)
set(_understudy_pch_test_links ${_understudy_pch_grpc_links} GTest::gtest GTest::gmock)

# The owner of GROUP's header, made on first use.
function(_understudy_pch_owner group out_var)
  set(owner understudy_pch_${group})
  if(NOT TARGET ${owner})
    if(group STREQUAL "test")
      find_package(GTest REQUIRED)  # its imported targets are local to the calling directory
    endif()
    set(source ${PROJECT_BINARY_DIR}/understudy_pch/${group}.cc)
    file(CONFIGURE OUTPUT ${source} CONTENT "// Compiles the precompiled header of ${owner}.\n")
    add_library(${owner} OBJECT ${source})
    target_link_libraries(${owner} PRIVATE ${_understudy_pch_${group}_links})
    target_precompile_headers(${owner} PRIVATE ${_understudy_pch_${group}})
  endif()
  set(${out_var} ${owner} PARENT_SCOPE)
endfunction()

function(understudy_precompile group)
  if(NOT group MATCHES "^(core|grpc|test)$")
    message(FATAL_ERROR "understudy_precompile: GROUP is core, grpc or test, not ${group}")
  endif()
  if(CMAKE_DISABLE_PRECOMPILE_HEADERS)
    return()
  endif()
  _understudy_pch_owner(${group} owner)
  # get_property, not get_target_property: an unset property reads as empty, not as NOTFOUND.
  get_property(owner_options TARGET ${owner} PROPERTY COMPILE_OPTIONS)
  foreach(target ${ARGN})
    get_property(options TARGET ${target} PROPERTY COMPILE_OPTIONS)
    if(NOT "${options}" STREQUAL "${owner_options}")
      message(STATUS "${target}: compile options of its own, no shared precompiled header")
      continue()
    endif()
    target_precompile_headers(${target} REUSE_FROM ${owner})
  endforeach()
endfunction()

# protoc's output is left out of the unity sources: each generated file defines file-level names
# of its own (descriptor tables, method name arrays) that need not be unique across files.
function(understudy_unity_build)
  if(NOT UNDERSTUDY_UNITY_BUILD)
    return()
  endif()
  foreach(target ${ARGN})
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON)
    get_target_property(sources ${target} SOURCES)
    list(FILTER sources INCLUDE REGEX "\\.pb\\.cc$")
    if(sources)
      set_source_files_properties(${sources} TARGET_DIRECTORY ${target}
        PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
    endif()
  endforeach()
endfunction()
