#include "verify/report.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/value.h"

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

// `text` as valid UTF-8 whatever its bytes, nothing dropped: a byte that is not part of UTF-8
// shows as the four characters \xFF; with `xml`, a character XML 1.0 cannot hold (controls but
// tab, newline and carriage return; U+FFFE, U+FFFF) shows as \uFFFE.
std::string Visible(absl::string_view text, bool xml) {
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    const size_t start = at;
    const int32_t cp = DecodeUtf8At(text, &at);
    if (cp < 0) {
      absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned char>(text[start]));
    } else if (xml && ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE ||
                       cp == 0xFFFF)) {
      absl::StrAppendFormat(&out, "\\u%04X", cp);
    } else {
      out.append(text.data() + start, at - start);
    }
  }
  return out;
}

// Text or, with `attribute`, an attribute value of an XML 1.0 document.
std::string XmlEscape(absl::string_view text, bool attribute = true) {
  std::string out;
  for (char c : Visible(text, /*xml=*/true)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;  // a parser would read a literal one as a newline
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      default: out += c;
    }
  }
  return out;
}

// A string of the JSON report: nlohmann writes the escapes JSON needs, Visible the bytes it
// cannot hold.
nlohmann::json JsonText(absl::string_view text) { return Visible(text, /*xml=*/false); }

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
                          XmlEscape(MethodName(i.method)), XmlEscape(body, false));
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
      nlohmann::json entry = {{"pointer", JsonText(d.pointer)}, {"message", JsonText(d.message)}};
      if (!d.expected.empty() || !d.actual.empty()) {
        entry["expected"] = JsonText(d.expected);
        entry["actual"] = JsonText(d.actual);
      }
      differences.push_back(std::move(entry));
    }
    cases.push_back({{"name", JsonText(i.name)},
                     {"file", JsonText(i.file)},
                     {"pointer", JsonText(i.pointer)},
                     {"method", JsonText(MethodName(i.method))},
                     {"result", r.passed() ? "PASS" : "FAIL"},
                     {"seconds", r.seconds},
                     {"differences", std::move(differences)}});
  }
  const size_t failed = Failed(results);
  nlohmann::json report = {{"target", JsonText(target)},
                           {"passed", results.size() - failed},
                           {"failed", failed},
                           {"seconds", seconds},
                           {"interactions", std::move(cases)}};
  // Every string went through JsonText: strict dumping cannot throw.
  return WriteFile(path, report.dump(2) + "\n");
}

}  // namespace understudy
