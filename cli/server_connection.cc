#include "cli/server_connection.h"

#include "absl/strings/str_cat.h"
#include "verify/reflection_client.h"

namespace understudy {

std::string SchemaSourceProblem(const SchemaOptions& options, bool reflect) {
  const bool files = !options.proto_files.empty() || !options.descriptor_sets.empty();
  if (reflect == files) {
    return "give the schema with --proto/--descriptor-set, or --reflect (one of them)";
  }
  return "";
}

absl::StatusOr<std::shared_ptr<const Schema>> LoadSchemaUnlessReflect(const SchemaOptions& options,
                                                                      bool reflect) {
  if (reflect) return std::shared_ptr<const Schema>();
  auto loaded = Schema::Load(options);
  if (!loaded.ok()) return loaded.status();
  return std::shared_ptr<const Schema>(std::move(*loaded));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToServer(
    const std::string& target, const ClientTls& tls,
    std::chrono::system_clock::time_point connect_by, std::chrono::milliseconds reflection_timeout,
    std::shared_ptr<const Schema>* schema) {
  auto made = MakeChannel(target, tls);
  if (!made.ok()) return made.status();
  std::shared_ptr<grpc::Channel> channel = std::move(*made);
  if (!channel->WaitForConnected(connect_by)) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reach ", target,
        tls.secure()
            ? " over TLS (is the server running, with TLS? does --ca sign its certificate, and "
              "does the server accept --cert?)"
            : " (is the server running? without TLS?)"));
  }
  if (*schema == nullptr) {
    auto reflected = SchemaFromReflection(channel, reflection_timeout);
    if (!reflected.ok()) return reflected.status();
    *schema = *reflected;
  }
  return channel;
}

}  // namespace understudy
