# ctest fuzz_corpus_in_sync: runs make_corpus into WORK and fails when the file names it writes
# differ from those of the committed corpus (CORPUS), listing the differences.
#   cmake -DMAKE_CORPUS=... -DCORPUS=fuzz/corpus -DWORK=... -P check_corpus.cmake
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${MAKE_CORPUS} ${WORK} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "make_corpus failed: ${result}")
endif()
file(GLOB_RECURSE generated RELATIVE ${WORK} ${WORK}/*)
file(GLOB_RECURSE committed RELATIVE ${CORPUS} ${CORPUS}/*)
set(missing ${generated})
list(REMOVE_ITEM missing ${committed})
set(stale ${committed})
list(REMOVE_ITEM stale ${generated})
if(missing OR stale)
  list(JOIN missing "\n  " missing)
  list(JOIN stale "\n  " stale)
  message(FATAL_ERROR "fuzz/corpus is out of date with contracts/user_service; regenerate it "
                      "(fuzz/README.md).\nnot committed:\n  ${missing}\nno longer generated:\n  ${stale}")
endif()
list(LENGTH generated count)
message(STATUS "fuzz/corpus matches make_corpus: ${count} files")
