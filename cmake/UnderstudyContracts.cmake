# understudy_add_contract_test: a ctest that verifies a server against interaction files.
#
#   understudy_add_contract_test(NAME user_service_contracts
#     CONTRACTS ${PROJECT_SOURCE_DIR}/contracts/user_service
#     PROTO ${PROJECT_SOURCE_DIR}/proto/user.proto
#     START "$<TARGET_FILE:user_service> --listen 127.0.0.1:0"
#     HEADERS "authorization: Bearer test-token")
#
# runs `understudy verify` on the contracts against the server that START launches (it must print
# `listening on HOST:PORT`; it is stopped with SIGTERM afterwards), or against TARGET when the
# server runs elsewhere. The test fails when any interaction fails, and says which and where.
#
#   NAME             the test's name (required)
#   CONTRACTS ...    interaction files or directories (required)
#   START cmd        command line, run by /bin/sh, that starts the server; generator expressions
#                    such as $<TARGET_FILE:my_server> work
#   TARGET addr      HOST:PORT of a running server (with START: connect there, do not read the port)
#   PROTO ...        .proto files; IMPORT_PATHS ... and DESCRIPTOR_SETS ... as the command takes them
#   REFLECT          take the schema from the server's reflection instead
#   HEADERS ...      "KEY: VALUE" metadata for every call (tokens)
#   SETUP cmd        provider-state hook (see `understudy verify --help`)
#   TIMEOUT s        deadline of each call; JOBS n  parallel independent interactions
#   JUNIT file       also write a JUnit report (CI dashboards)
#   LABELS ...       ctest labels (default: contract)
#   UNDERSTUDY path  the understudy executable, when neither the in-tree target `understudy` nor
#                    the imported `understudy::understudy` exists
function(understudy_add_contract_test)
  cmake_parse_arguments(ARG "REFLECT"
    "NAME;START;TARGET;SETUP;TIMEOUT;JOBS;JUNIT;UNDERSTUDY;WORKING_DIRECTORY"
    "CONTRACTS;PROTO;IMPORT_PATHS;DESCRIPTOR_SETS;HEADERS;LABELS" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_CONTRACTS)
    message(FATAL_ERROR "understudy_add_contract_test: NAME and CONTRACTS are required")
  endif()
  if(NOT ARG_START AND NOT ARG_TARGET)
    message(FATAL_ERROR "understudy_add_contract_test(${ARG_NAME}): give START or TARGET")
  endif()
  if(ARG_UNDERSTUDY)
    set(exe ${ARG_UNDERSTUDY})
  elseif(TARGET understudy)
    set(exe $<TARGET_FILE:understudy>)
  elseif(TARGET understudy::understudy)
    set(exe $<TARGET_FILE:understudy::understudy>)
  else()
    message(FATAL_ERROR "understudy_add_contract_test(${ARG_NAME}): no understudy executable; "
                        "pass UNDERSTUDY path")
  endif()

  set(args verify --color never)
  foreach(proto ${ARG_PROTO})
    list(APPEND args --proto ${proto})
  endforeach()
  foreach(dir ${ARG_IMPORT_PATHS})
    list(APPEND args -I ${dir})
  endforeach()
  foreach(set ${ARG_DESCRIPTOR_SETS})
    list(APPEND args --descriptor-set ${set})
  endforeach()
  if(ARG_REFLECT)
    list(APPEND args --reflect)
  endif()
  foreach(header ${ARG_HEADERS})
    list(APPEND args --header ${header})
  endforeach()
  foreach(option START TARGET SETUP TIMEOUT JOBS JUNIT)
    if(ARG_${option})
      string(TOLOWER ${option} flag)
      list(APPEND args --${flag} ${ARG_${option}})
    endif()
  endforeach()
  if(NOT ARG_WORKING_DIRECTORY)
    set(ARG_WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  add_test(NAME ${ARG_NAME} COMMAND ${exe} ${args} ${ARG_CONTRACTS}
    WORKING_DIRECTORY ${ARG_WORKING_DIRECTORY})
  if(NOT ARG_LABELS)
    set(ARG_LABELS contract)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
