// The fuzz target of buggy_service.proto: what a user writes for a service of their own.
#include "fuzz/testing/buggy_service.h"

understudy::ServiceFuzzer UnderstudyServiceFuzzer() { return understudy::fuzztest::BuggyFuzzer(); }
