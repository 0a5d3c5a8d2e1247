# Install rules and the CMake package, included from the top-level CMakeLists.txt after the
# libraries are defined. `cmake --install BUILD --prefix P` lays out:
#
#   P/bin/understudy
#   P/lib/libunderstudy_core.a, libunderstudy_mockserver.a, libunderstudy_service_fuzzer.a
#   P/include/understudy/{mock_server,testing,schema,...}.h   stable forwarding headers
#   P/include/understudy/src/*.h, mockserver/*.h               the headers, repo-rooted as in the tree
#   P/include/understudy/fuzz/service_{fuzzer,input}.h         the service-fuzzing harness
#   P/include/understudy/google/rpc/*.pb.h                     generated code compiled into core
#   P/lib/cmake/understudy/understudy{Config,ConfigVersion,Targets}.cmake, UnderstudyContracts.cmake,
#     UnderstudyServiceFuzzer.cmake
#   P/share/understudy/proto/google/rpc/*.proto
#   P/share/understudy/fuzz/{service_fuzzer_main,replay_main}.cc  compiled into each service fuzzer
#
# and users write
#
#   find_package(understudy CONFIG REQUIRED)
#   target_link_libraries(my_test PRIVATE understudy::mockserver)
#   #include <understudy/mock_server.h>
#
# Both P/include and P/include/understudy are on the targets' include path: the first for the
# stable `<understudy/...>` names, the second because the headers include each other rooted at the
# repository (`#include "src/schema.h"`), as inside the project.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(UNDERSTUDY_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/understudy)
set(UNDERSTUDY_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/understudy)

# The stable names: one forwarding header per entry point, generated into the build tree so that
# `#include <understudy/mock_server.h>` works both for an installed package and for a project
# that adds this one with add_subdirectory (the examples use it that way).
set(UNDERSTUDY_FORWARDING_DIR ${PROJECT_BINARY_DIR}/include)
set(UNDERSTUDY_FORWARDED_HEADERS
  mockserver/mock_server.h
  mockserver/journal.h
  mockserver/testing.h
  mockserver/tls.h
  src/schema.h
  src/interaction_loader.h
  src/interaction_set.h
  fuzz/service_fuzzer.h)
foreach(header ${UNDERSTUDY_FORWARDED_HEADERS})
  get_filename_component(name ${header} NAME)
  file(CONFIGURE OUTPUT ${UNDERSTUDY_FORWARDING_DIR}/understudy/${name} CONTENT
"// The stable include path of Understudy's \"${header}\": include <understudy/${name}>.
#include \"${header}\"
")
endforeach()

target_include_directories(understudy_core PUBLIC
  $<BUILD_INTERFACE:${UNDERSTUDY_FORWARDING_DIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  $<INSTALL_INTERFACE:${UNDERSTUDY_INSTALL_INCLUDEDIR}>)
if(UNDERSTUDY_SANITIZE)
  # An instrumented static library needs the sanitizer runtime in whatever links it.
  target_link_options(understudy_core INTERFACE
    $<INSTALL_INTERFACE:-fsanitize=${UNDERSTUDY_SANITIZE}>)
endif()

# The installed names, also inside this build: code written against the package (the examples)
# builds unchanged here.
add_library(understudy::core ALIAS understudy_core)
add_library(understudy::mockserver ALIAS understudy_mockserver)
set_target_properties(understudy_core PROPERTIES EXPORT_NAME core)
set_target_properties(understudy_mockserver PROPERTIES EXPORT_NAME mockserver)
set_target_properties(understudy PROPERTIES EXPORT_NAME understudy)

install(TARGETS understudy_core understudy_mockserver understudy_service_fuzzer understudy
  EXPORT understudyTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

# Headers are matched when installing, so a header added to src/ or mockserver/ is installed
# without a change here.
foreach(dir src mockserver)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/
    DESTINATION ${UNDERSTUDY_INSTALL_INCLUDEDIR}/${dir}
    FILES_MATCHING PATTERN "*.h")
endforeach()
# The service fuzzer's headers alone: the rest of fuzz/ are in-tree targets.
install(FILES ${PROJECT_SOURCE_DIR}/fuzz/service_fuzzer.h ${PROJECT_SOURCE_DIR}/fuzz/service_input.h
  DESTINATION ${UNDERSTUDY_INSTALL_INCLUDEDIR}/fuzz)
install(FILES ${PROJECT_SOURCE_DIR}/fuzz/service_fuzzer_main.cc ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cc
  DESTINATION ${CMAKE_INSTALL_DATADIR}/understudy/fuzz)
install(DIRECTORY ${UNDERSTUDY_FORWARDING_DIR}/understudy/
  DESTINATION ${UNDERSTUDY_INSTALL_INCLUDEDIR})
# The google.rpc messages are compiled into understudy_core; a user who unpacks status details
# must use these headers (generating a second copy would register the same types twice).
install(DIRECTORY ${UNDERSTUDY_GEN_DIR}/google/rpc/
  DESTINATION ${UNDERSTUDY_INSTALL_INCLUDEDIR}/google/rpc
  FILES_MATCHING PATTERN "*.pb.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/proto/google/rpc/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/understudy/proto/google/rpc
  FILES_MATCHING PATTERN "*.proto")
# The admin service (understudy_mockserver), for mockserver/admin_service.h and for clients.
install(DIRECTORY ${UNDERSTUDY_GEN_DIR}/understudy/admin/
  DESTINATION ${UNDERSTUDY_INSTALL_INCLUDEDIR}/understudy/admin
  FILES_MATCHING PATTERN "*.pb.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/proto/understudy/admin/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/understudy/proto/understudy/admin
  FILES_MATCHING PATTERN "*.proto")

install(EXPORT understudyTargets
  NAMESPACE understudy::
  DESTINATION ${UNDERSTUDY_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/understudyConfig.cmake.in
  ${PROJECT_BINARY_DIR}/understudyConfig.cmake
  INSTALL_DESTINATION ${UNDERSTUDY_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_DATADIR)
# 0.x: a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/understudyConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/understudyConfig.cmake
              ${PROJECT_BINARY_DIR}/understudyConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/UnderstudyContracts.cmake
              ${PROJECT_SOURCE_DIR}/cmake/UnderstudyServiceFuzzer.cmake
  DESTINATION ${UNDERSTUDY_INSTALL_CMAKEDIR})
