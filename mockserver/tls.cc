#include "mockserver/tls.h"

#include <fstream>
#include <sstream>

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace understudy {
namespace {

// The PEM text of `path`, which must hold a block whose label ends with `label`
// ("CERTIFICATE", "PRIVATE KEY"). `flag` names the file in errors.
absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path,
                                    const std::string& label) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": cannot read it"));
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (!absl::StrContains(pem, "-----BEGIN ") || !absl::StrContains(pem, label + "-----")) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": not a PEM file with a ", label));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const ServerTls& tls) {
  if (!tls.enabled()) {
    if (!tls.client_ca_file.empty()) {
      return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  auto cert = ReadPem("--tls-cert", tls.cert_file, "CERTIFICATE");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("--tls-key", tls.key_file, "PRIVATE KEY");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
  if (!tls.client_ca_file.empty()) {
    auto roots = ReadPem("--tls-client-ca", tls.client_ca_file, "CERTIFICATE");
    if (!roots.ok()) return roots.status();
    options.pem_root_certs = std::move(*roots);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(const ClientTls& tls) {
  if (!tls.secure()) return grpc::InsecureChannelCredentials();
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together");
  }
  grpc::SslCredentialsOptions options;
  if (!tls.ca_file.empty()) {
    auto roots = ReadPem("--ca", tls.ca_file, "CERTIFICATE");
    if (!roots.ok()) return roots.status();
    options.pem_root_certs = std::move(*roots);
  }
  if (!tls.cert_file.empty()) {
    auto cert = ReadPem("--cert", tls.cert_file, "CERTIFICATE");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem("--key", tls.key_file, "PRIVATE KEY");
    if (!key.ok()) return key.status();
    options.pem_cert_chain = std::move(*cert);
    options.pem_private_key = std::move(*key);
  }
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                          const ClientTls& tls) {
  auto credentials = ChannelCredentials(tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments arguments;
  if (!tls.server_name.empty()) arguments.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(target, *credentials, arguments);
}

}  // namespace understudy
