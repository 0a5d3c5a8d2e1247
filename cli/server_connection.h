// What `verify` and `fuzz` do before their first call: the schema from files or from the server's
// reflection, and a connection to the server.
//
//   if (std::string why = SchemaSourceProblem(options, reflect); !why.empty()) { ... exit 2 ... }
//   auto schema = LoadSchemaUnlessReflect(options, reflect);  // null with --reflect
//   if (*schema) check_the_files(*schema);  // a typo is found before connecting
//   auto channel = ConnectToServer(target, tls, connect_by, reflection_timeout, &*schema);
//   if (reflect) check_the_files(*schema);
#ifndef UNDERSTUDY_CLI_SERVER_CONNECTION_H_
#define UNDERSTUDY_CLI_SERVER_CONNECTION_H_

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "mockserver/tls.h"
#include "src/schema.h"

namespace understudy {

// Why the schema flags do not name exactly one source (files, or --reflect); "" when they do.
std::string SchemaSourceProblem(const SchemaOptions& options, bool reflect);

// The schema of the files, or null with --reflect (ConnectToServer fetches it).
absl::StatusOr<std::shared_ptr<const Schema>> LoadSchemaUnlessReflect(const SchemaOptions& options,
                                                                      bool reflect);

// A channel to `target` (over TLS when `tls` says so) once it accepts a connection (until
// `connect_by`: else Unavailable, "cannot reach TARGET"). When `*schema` is null it is set from
// the server's reflection, each reflection call within `reflection_timeout`.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToServer(
    const std::string& target, const ClientTls& tls,
    std::chrono::system_clock::time_point connect_by, std::chrono::milliseconds reflection_timeout,
    std::shared_ptr<const Schema>* schema);

}  // namespace understudy

#endif  // UNDERSTUDY_CLI_SERVER_CONNECTION_H_
