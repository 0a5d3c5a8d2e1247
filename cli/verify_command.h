// `understudy verify`: plays interaction files against a real server (SPEC.md, "verify").
#ifndef UNDERSTUDY_CLI_VERIFY_COMMAND_H_
#define UNDERSTUDY_CLI_VERIFY_COMMAND_H_

#include <string>
#include <vector>

#include "mockserver/tls.h"
#include "src/schema.h"

namespace understudy {

struct VerifyCommand {
  SchemaOptions schema;
  bool reflect = false;
  std::string target;  // HOST:PORT; with --start, defaults to the address the provider prints
  std::string start;   // a command that starts the provider
  std::vector<std::string> paths;
  std::vector<std::string> headers;  // "KEY: VALUE"
  double timeout_seconds = 10;        // each call
  double setup_timeout_seconds = 60;  // each run of the --setup hook
  double start_timeout_seconds = 30;  // --start until its `listening on` line
  int jobs = 1;
  std::string setup;
  std::string junit, json;
  std::string color = "auto";  // auto, always, never
  ClientTls tls;
};

// The process exit code: 0 all passed, 1 some failed, 2 could not run.
int RunVerify(const VerifyCommand& command);

}  // namespace understudy

#endif  // UNDERSTUDY_CLI_VERIFY_COMMAND_H_
