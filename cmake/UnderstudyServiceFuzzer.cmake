# understudy_add_service_fuzzer: a fuzz target of your own gRPC service implementation, called in
# process through the real gRPC stack (fuzz/service_fuzzer.h, fuzz/README.md).
#
#   understudy_add_service_fuzzer(NAME user_service_fuzzer
#     SOURCES user_service_fuzzer.cc        # defines understudy::ServiceFuzzer UnderstudyServiceFuzzer()
#     LINK my_service_impl                  # the implementation and its generated code
#     CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus
#     REGRESSIONS ${CMAKE_CURRENT_SOURCE_DIR}/regressions
#     DICT ${CMAKE_CURRENT_SOURCE_DIR}/my.dict)
#
# The engine is UNDERSTUDY_SERVICE_FUZZER_ENGINE:
#   libfuzzer  (default with clang, or with UNDERSTUDY_FUZZ in Understudy's own tree) links
#              -fsanitize=fuzzer and compiles SOURCES with -fsanitize=fuzzer-no-link,address,undefined
#              (compile the service's own libraries so too for coverage of them). The build target
#              run_<NAME> fuzzes a copy of CORPUS for UNDERSTUDY_FUZZ_SECONDS (60) with DICT.
#   replay     (default otherwise, e.g. g++) links a main that runs the input files named on the
#              command line (files or directories) once each.
# With CORPUS or REGRESSIONS, the ctest <NAME>_replay runs every input of them (LABELS, default
# fuzz): a finding fails it.
#
#   NAME            the executable (required); SOURCES ... (required); LINK ... libraries
#   CORPUS dir      seed inputs; REGRESSIONS dir  inputs that once were findings
#   DICT file       a libFuzzer dictionary for run_<NAME>
#   LABELS ...      ctest labels of the replay test
function(understudy_add_service_fuzzer)
  cmake_parse_arguments(ARG "" "NAME;CORPUS;REGRESSIONS;DICT" "SOURCES;LINK;LABELS" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_SOURCES)
    message(FATAL_ERROR "understudy_add_service_fuzzer: NAME and SOURCES are required")
  endif()
  if(NOT UNDERSTUDY_FUZZ_SOURCE_DIR OR NOT TARGET understudy::service_fuzzer)
    message(FATAL_ERROR "understudy_add_service_fuzzer(${ARG_NAME}): use find_package(understudy) "
                        "first (or include Understudy's CMakeLists.txt)")
  endif()
  set(engine ${UNDERSTUDY_SERVICE_FUZZER_ENGINE})
  if(NOT engine)
    if(UNDERSTUDY_FUZZ OR (CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND
                           NOT CMAKE_PROJECT_NAME STREQUAL "understudy"))
      set(engine libfuzzer)
    else()
      set(engine replay)
    endif()
  endif()

  set(inputs)
  foreach(dir ${ARG_CORPUS} ${ARG_REGRESSIONS})
    list(APPEND inputs ${dir})
  endforeach()
  if(engine STREQUAL "libfuzzer")
    add_executable(${ARG_NAME} ${ARG_SOURCES} ${UNDERSTUDY_FUZZ_SOURCE_DIR}/service_fuzzer_main.cc)
    if(NOT UNDERSTUDY_FUZZ)  # Understudy's fuzz build already instruments everything
      target_compile_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                             -fno-sanitize-recover=all -fno-omit-frame-pointer)
      target_link_options(${ARG_NAME} PRIVATE -fsanitize=address,undefined)
    endif()
    target_link_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer)
    set(replay_args -runs=0)  # run every input once, then stop
  elseif(engine STREQUAL "replay")
    add_executable(${ARG_NAME} ${ARG_SOURCES} ${UNDERSTUDY_FUZZ_SOURCE_DIR}/service_fuzzer_main.cc
                               ${UNDERSTUDY_FUZZ_SOURCE_DIR}/replay_main.cc)
    set(replay_args)
  else()
    message(FATAL_ERROR "UNDERSTUDY_SERVICE_FUZZER_ENGINE is libfuzzer or replay, not ${engine}")
  endif()
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LINK} understudy::service_fuzzer)

  if(inputs)
    if(NOT ARG_LABELS)
      set(ARG_LABELS fuzz)
    endif()
    add_test(NAME ${ARG_NAME}_replay COMMAND ${ARG_NAME} ${replay_args} ${inputs})
    set_tests_properties(${ARG_NAME}_replay PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300)
  endif()

  if(engine STREQUAL "libfuzzer" AND ARG_CORPUS)
    set(work ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}.run)
    set(seconds 60)
    if(UNDERSTUDY_FUZZ_SECONDS)
      set(seconds ${UNDERSTUDY_FUZZ_SECONDS})
    endif()
    set(dict)
    if(ARG_DICT)
      set(dict -dict=${ARG_DICT})
    endif()
    add_custom_target(run_${ARG_NAME}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${work}/corpus ${work}/artifacts
      COMMAND ${CMAKE_COMMAND} -E copy_directory ${ARG_CORPUS} ${work}/corpus
      COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=malloc_context_size=0
              $<TARGET_FILE:${ARG_NAME}> -max_total_time=${seconds} -print_final_stats=1
              -artifact_prefix=${work}/artifacts/ ${dict} ${work}/corpus
      DEPENDS ${ARG_NAME}
      USES_TERMINAL
      COMMENT "fuzzing ${ARG_NAME} for ${seconds} s; findings go to ${work}/artifacts")
  endif()
endfunction()
