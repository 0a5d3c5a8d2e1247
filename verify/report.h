// Reports of a verify run: the console lines SPEC.md fixes, JUnit XML and JSON.
//
//   PASS get user 42 with orders
//   FAIL get user 7
//     /response/body/user/name: expected "Grace Hopper", got "Grace Hoper"
//   34 passed, 1 failed
#ifndef UNDERSTUDY_VERIFY_REPORT_H_
#define UNDERSTUDY_VERIFY_REPORT_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "verify/verifier.h"

namespace understudy {

// Colour when `out` is a terminal that supports it and NO_COLOR is not set.
bool ColorWanted(int fd);

void PrintResult(const CaseResult& result, bool color, std::ostream& out);
void PrintSummary(const std::vector<CaseResult>& results, bool color, std::ostream& out);

// `target` and `seconds` describe the run as a whole.
absl::Status WriteJUnit(const std::vector<CaseResult>& results, const std::string& target,
                        double seconds, const std::string& path);
absl::Status WriteJsonReport(const std::vector<CaseResult>& results, const std::string& target,
                             double seconds, const std::string& path);

}  // namespace understudy

#endif  // UNDERSTUDY_VERIFY_REPORT_H_
