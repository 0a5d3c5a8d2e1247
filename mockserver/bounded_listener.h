// BoundedListener: a TCP listener that hands gRPC at most N connections at once and survives
// running out of file descriptors.
//
//   auto listener = BoundedListener::Bind("127.0.0.1:0", /*max_connections=*/1000);
//   builder.experimental().AddExternalConnectionAcceptor(...)  -> acceptor
//   server = builder.BuildAndStart();
//   (*listener)->Start(std::move(acceptor));   // accepts on its own thread
//   ...
//   (*listener)->Stop();                        // before the server shuts down
//
// Why: gRPC 1.51's own listener stops accepting for good once accept4 fails (EMFILE, "Too many
// open files"), and it has no connection cap (GRPC_ARG_MAX_ALLOWED_INCOMING_CONNECTIONS came
// later). This one counts the connections it handed over that are still open (an fd is still
// that connection while it names a socket with the same inode), closes a connection beyond the
// cap as soon as it is accepted (the client sees UNAVAILABLE, the backlog does not fill), and on
// EMFILE frees a reserved descriptor to accept and close the pending connection, then retries.
// It never stops accepting until Stop().
//
// Thread safety: Start and Stop from one thread; the accept loop runs on its own thread.
#ifndef UNDERSTUDY_MOCKSERVER_BOUNDED_LISTENER_H_
#define UNDERSTUDY_MOCKSERVER_BOUNDED_LISTENER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/server_builder.h>

#include "absl/status/statusor.h"

namespace understudy {

class BoundedListener {
 public:
  // Binds and listens on `address` ("HOST:PORT", HOST a name or address, "[v6]" bracketed; port
  // 0 picks a free port). `max_connections` > 0.
  static absl::StatusOr<std::unique_ptr<BoundedListener>> Bind(const std::string& address,
                                                               int max_connections);
  ~BoundedListener();  // Stop()

  int port() const { return port_; }

  // Accepts on a new thread, handing every connection to `acceptor` (of a started server).
  void Start(std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor);
  // Stops accepting and closes the listening socket; connections handed over stay gRPC's.
  void Stop();

 private:
  BoundedListener() = default;
  void Run();
  // Forgets the connections gRPC has closed since; returns how many are still open.
  size_t Prune();
  // accept4 failed with EMFILE/ENFILE: takes the pending connection off the queue and closes it.
  void ShedOne();

  int listen_fd_ = -1;
  int wake_fd_ = -1;     // an eventfd: Stop() writes it
  int reserve_fd_ = -1;  // /dev/null, given up to accept and close a connection on EMFILE
  int port_ = 0;
  size_t max_connections_ = 0;
  std::vector<std::pair<int, ino_t>> open_;  // accept thread only: handed-over fd and its inode
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor_;
  std::thread thread_;
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_BOUNDED_LISTENER_H_
