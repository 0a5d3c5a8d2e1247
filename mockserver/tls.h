// TLS for the mock server and for the clients that call a server (verify, fuzz, call, a test's
// channel): gRPC credentials from PEM files, with errors that name the flag and the file.
//
//   understudy::ServerTls tls{"server.pem", "server.key", "clients-ca.pem"};  // mTLS
//   auto credentials = understudy::ServerCredentials(tls);  // StatusOr
//
//   understudy::ClientTls client;
//   client.enabled = true;
//   client.ca_file = "ca.pem";                              // empty: the system's roots
//   client.cert_file = "client.pem";                        // both or neither
//   client.key_file = "client.key";
//   auto channel = understudy::MakeChannel("localhost:50051", client);  // StatusOr
#ifndef UNDERSTUDY_MOCKSERVER_TLS_H_
#define UNDERSTUDY_MOCKSERVER_TLS_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"

namespace understudy {

// How a server listens: plain text while `cert_file` is empty.
struct ServerTls {
  std::string cert_file;       // PEM certificate chain (--tls-cert)
  std::string key_file;        // PEM private key (--tls-key)
  std::string client_ca_file;  // PEM roots; when set, clients must present a certificate they
                               // sign (mTLS, --tls-client-ca)
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// How a client connects: plain text unless `enabled`.
struct ClientTls {
  bool enabled = false;     // --tls (implied by any of the others)
  std::string ca_file;      // PEM roots that sign the server's certificate; empty: system roots
  std::string cert_file;    // PEM client certificate chain, for mTLS (with key_file)
  std::string key_file;     // PEM private key of cert_file
  std::string server_name;  // the name the certificate must carry; empty: the target's host
  // Whether it connects with TLS: `enabled`, or any file given.
  bool secure() const {
    return enabled || !ca_file.empty() || !cert_file.empty() || !key_file.empty();
  }
};

// Insecure credentials for a plain server; an error when a file cannot be read, is not PEM, or
// only one of the certificate and key is given.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const ServerTls& tls);

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(const ClientTls& tls);

// A channel to `target` ("HOST:PORT") with the credentials of `tls`.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                          const ClientTls& tls);

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_TLS_H_
