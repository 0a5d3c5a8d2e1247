// Diagnostics: problems found in interaction files, each tied to a file and a JSON pointer.
//
//   Diagnostics d;
//   d.Add("contracts/users.json", "/interactions/2/method", "no method \"GetUsr\" ...");
//   if (!d.empty()) return d.ToStatus();
//
// Loading collects every problem of every file before it fails, so a user fixes them in one pass.
#ifndef UNDERSTUDY_SRC_DIAGNOSTICS_H_
#define UNDERSTUDY_SRC_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace understudy {

struct Diagnostic {
  std::string file;     // as the user named it
  std::string pointer;  // RFC 6901 JSON pointer into the file; empty for the whole file
  std::string message;  // what was found and what was expected
  std::string ToString() const;
};

class Diagnostics {
 public:
  void Add(absl::string_view file, absl::string_view pointer, absl::string_view message);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // One line per diagnostic; InvalidArgument unless empty (then OK).
  absl::Status ToStatus() const;

 private:
  std::vector<Diagnostic> items_;
};

// Appends a reference token to a JSON pointer, escaping '~' and '/'.
std::string JoinPointer(absl::string_view pointer, absl::string_view token);
std::string JoinPointer(absl::string_view pointer, size_t index);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_DIAGNOSTICS_H_
