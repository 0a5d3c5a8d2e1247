# Installs an Understudy build into a fresh prefix, builds the project in this folder against it
# and runs it. `cmake -P` script; every step's failure fails the test with that step's output.
#
#   -DBUILD=understudy build dir  -DSOURCE=repository  -DWORK=scratch dir (emptied first)
#   -DGENERATOR=... -DCXX=... -DBUILD_TYPE=... [-DSANITIZE=address,undefined]
foreach(var BUILD SOURCE WORK GENERATOR CXX BUILD_TYPE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${step} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${step}: ok")
  set(output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK}/prefix)
file(REMOVE_RECURSE ${WORK})

run("install" ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix})
foreach(file
    bin/understudy
    lib/libunderstudy_core.a
    lib/libunderstudy_mockserver.a
    include/understudy/mock_server.h
    include/understudy/mockserver/mock_server.h
    include/understudy/src/schema.h
    include/understudy/google/rpc/status.pb.h
    lib/cmake/understudy/understudyConfig.cmake
    lib/cmake/understudy/understudyConfigVersion.cmake
    lib/cmake/understudy/understudyTargets.cmake
    share/understudy/proto/google/rpc/status.proto
    share/understudy/proto/google/rpc/error_details.proto)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "install did not create ${file}")
  endif()
endforeach()
# The installed binary runs on its own.
run("installed understudy check" ${prefix}/bin/understudy check
    --proto ${SOURCE}/proto/user.proto ${SOURCE}/contracts/user_service)

set(flags)
if(SANITIZE)
  set(flags "-DCMAKE_CXX_FLAGS=-fsanitize=${SANITIZE} -fno-omit-frame-pointer")
endif()
run("configure the consumer" ${CMAKE_COMMAND} -S ${SOURCE}/tests/package -B ${WORK}/build
    -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE}
    -DCMAKE_PREFIX_PATH=${prefix} -DUNDERSTUDY_SOURCE=${SOURCE} ${flags})
# The package must come from the fresh prefix, not from some other installation.
file(STRINGS ${WORK}/build/CMakeCache.txt found REGEX "^understudy_DIR:")
if(NOT found STREQUAL "understudy_DIR:PATH=${prefix}/lib/cmake/understudy")
  message(FATAL_ERROR "the consumer found the wrong package: ${found}")
endif()
run("build the consumer" ${CMAKE_COMMAND} --build ${WORK}/build)
run("run the consumer" ${WORK}/build/package_consumer
    ${SOURCE}/proto/user.proto ${SOURCE}/contracts/user_service/get_user.json)
message(STATUS "${output}")
run("the consumer's contract test" ${CMAKE_CTEST_COMMAND} --test-dir ${WORK}/build
    --output-on-failure)
message(STATUS "${output}")
