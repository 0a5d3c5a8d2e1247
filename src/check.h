// Check: every problem of a set of interaction files against a schema, grouped by interaction,
// as `understudy check` reports them (SPEC.md, "Errors").
//
//   CheckReport report = CheckFiles(*schema, {"contracts/"});
//   std::cerr << report.diagnostics.ToStatus().message();
//   for (const CheckedInteraction* i : report.Broken()) std::cout << i->Label() << "\n";
//
// Files compile as `serve` loads them (the same loader, the same messages), so a clean check
// means the mock will start; nothing is served and no set is built.
#ifndef UNDERSTUDY_SRC_CHECK_H_
#define UNDERSTUDY_SRC_CHECK_H_

#include <string>
#include <vector>

#include "src/diagnostics.h"
#include "src/schema.h"

namespace understudy {

// One entry of an `interactions` array, whether or not it compiled.
struct CheckedInteraction {
  std::string file;
  std::string pointer;   // "/interactions/N"
  std::string name;      // as written; empty when missing or not a string
  size_t problems = 0;   // diagnostics at or under `pointer`
  // "name" (file), or /interactions/N (file) for an interaction without a name.
  std::string Label() const;
};

struct CheckReport {
  Diagnostics diagnostics;                        // every problem, file by file, in file order
  std::vector<CheckedInteraction> interactions;  // every interaction found, in load order
  size_t files = 0;                               // the files that could be read

  // The interactions with at least one problem, in load order. Problems of a whole file
  // (unreadable, invalid JSON, no "interactions" array) are in `diagnostics` only.
  std::vector<const CheckedInteraction*> Broken() const;
};

// Reads and compiles every *.json file under `paths` (files and directories) against `schema`.
CheckReport CheckFiles(const Schema& schema, const std::vector<std::string>& paths);

}  // namespace understudy

#endif  // UNDERSTUDY_SRC_CHECK_H_
