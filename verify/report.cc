#include "verify/report.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace understudy {
namespace {

constexpr char kGreen[] = "\033[32m";
constexpr char kRed[] = "\033[31m";
constexpr char kReset[] = "\033[0m";

size_t Failed(const std::vector<CaseResult>& results) {
  size_t n = 0;
  for (const auto& r : results) n += r.passed() ? 0 : 1;
  return n;
}

std::string DifferenceLine(const Difference& d) {
  return d.pointer.empty() ? d.message : absl::StrCat(d.pointer, ": ", d.message);
}

// "expected X, got Y" as the two halves, for reports that keep them apart.
void SplitExpectedActual(const std::string& message, std::string* expected, std::string* actual) {
  const std::string lead = "expected ", sep = ", got ";
  size_t at = message.rfind(sep);
  if (message.compare(0, lead.size(), lead) != 0 || at == std::string::npos) return;
  *expected = message.substr(lead.size(), at - lead.size());
  *actual = message.substr(at + sep.size());
}

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 has no place for other control characters.
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += '?';
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  return absl::OkStatus();
}

}  // namespace

bool ColorWanted(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return isatty(fd) == 1;
}

void PrintResult(const CaseResult& result, bool color, std::ostream& out) {
  const char* on = color ? (result.passed() ? kGreen : kRed) : "";
  const char* off = color ? kReset : "";
  out << on << (result.passed() ? "PASS" : "FAIL") << off << " " << result.interaction->name
      << "\n";
  for (const auto& d : result.differences) out << "    " << DifferenceLine(d) << "\n";
  out.flush();
}

void PrintSummary(const std::vector<CaseResult>& results, bool color, std::ostream& out) {
  const size_t failed = Failed(results);
  const char* on = color ? (failed == 0 ? kGreen : kRed) : "";
  out << on << (results.size() - failed) << " passed, " << failed << " failed"
      << (color ? kReset : "") << "\n";
  out.flush();
}

absl::Status WriteJUnit(const std::vector<CaseResult>& results, const std::string& target,
                        double seconds, const std::string& path) {
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  absl::StrAppendFormat(&xml,
                        "<testsuites tests=\"%d\" failures=\"%d\" time=\"%.3f\">\n"
                        "  <testsuite name=\"understudy verify %s\" tests=\"%d\" failures=\"%d\" "
                        "errors=\"0\" time=\"%.3f\">\n",
                        results.size(), Failed(results), seconds, XmlEscape(target),
                        results.size(), Failed(results), seconds);
  for (const auto& r : results) {
    const Interaction& i = *r.interaction;
    absl::StrAppendFormat(&xml, "    <testcase name=\"%s\" classname=\"%s\" time=\"%.3f\"",
                          XmlEscape(i.name), XmlEscape(i.file), r.seconds);
    if (r.passed()) {
      xml += "/>\n";
      continue;
    }
    std::string body;
    for (const auto& d : r.differences) absl::StrAppend(&body, DifferenceLine(d), "\n");
    absl::StrAppendFormat(&xml, ">\n      <failure message=\"%d difference%s in %s\">%s</failure>\n"
                                "    </testcase>\n",
                          r.differences.size(), r.differences.size() == 1 ? "" : "s",
                          XmlEscape(MethodName(i.method)), XmlEscape(body));
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return WriteFile(path, xml);
}

absl::Status WriteJsonReport(const std::vector<CaseResult>& results, const std::string& target,
                             double seconds, const std::string& path) {
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& r : results) {
    const Interaction& i = *r.interaction;
    nlohmann::json differences = nlohmann::json::array();
    for (const auto& d : r.differences) {
      nlohmann::json entry = {{"pointer", d.pointer}, {"message", d.message}};
      std::string expected, actual;
      SplitExpectedActual(d.message, &expected, &actual);
      if (!expected.empty()) {
        entry["expected"] = expected;
        entry["actual"] = actual;
      }
      differences.push_back(std::move(entry));
    }
    cases.push_back({{"name", i.name},
                     {"file", i.file},
                     {"pointer", i.pointer},
                     {"method", MethodName(i.method)},
                     {"result", r.passed() ? "PASS" : "FAIL"},
                     {"seconds", r.seconds},
                     {"differences", std::move(differences)}});
  }
  const size_t failed = Failed(results);
  nlohmann::json report = {{"target", target},
                           {"passed", results.size() - failed},
                           {"failed", failed},
                           {"seconds", seconds},
                           {"interactions", std::move(cases)}};
  // A server's text may be any bytes: what is not UTF-8 shows as U+FFFD.
  return WriteFile(path,
                   report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace understudy
