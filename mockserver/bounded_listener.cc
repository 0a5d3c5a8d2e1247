#include "mockserver/bounded_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace understudy {

namespace {

// "HOST:PORT" split; "[::1]:0" gives "::1".
bool SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  int number = 0;
  return absl::SimpleAtoi(*port, &number) && number >= 0 && number <= 65535;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BoundedListener>> BoundedListener::Bind(const std::string& address,
                                                                       int max_connections) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot listen on ", address,
                                                   ": expected HOST:PORT with a port of 0 to 65535"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int error = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", gai_strerror(error)));
  }
  std::unique_ptr<BoundedListener> out(new BoundedListener());
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr && out->listen_fd_ < 0; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      why = strerror(errno);
      continue;
    }
    int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (a->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
      why = strerror(errno);
      close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    out->port_ = ntohs(bound.ss_family == AF_INET6
                           ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    out->listen_fd_ = fd;
  }
  freeaddrinfo(found);
  if (out->listen_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, ": ", why));
  }
  out->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  out->reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  out->max_connections_ = static_cast<size_t>(std::max(max_connections, 1));
  return out;
}

BoundedListener::~BoundedListener() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
  if (reserve_fd_ >= 0) close(reserve_fd_);
}

void BoundedListener::Start(
    std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> acceptor) {
  acceptor_ = std::move(acceptor);
  thread_ = std::thread([this] { Run(); });
}

void BoundedListener::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
}

size_t BoundedListener::Prune() {
  auto closed = [](const std::pair<int, ino_t>& connection) {
    struct stat st;
    return fstat(connection.first, &st) != 0 || !S_ISSOCK(st.st_mode) ||
           st.st_ino != connection.second;
  };
  open_.erase(std::remove_if(open_.begin(), open_.end(), closed), open_.end());
  return open_.size();
}

void BoundedListener::ShedOne() {
  if (reserve_fd_ >= 0) {
    close(reserve_fd_);
    reserve_fd_ = -1;
  }
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) close(fd);
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void BoundedListener::Run() {
  // Back-off after an error that shedding cannot clear, so the loop does not spin.
  constexpr int kBackoffMs = 10;
  int timeout_ms = -1;
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int ready = poll(fds, 2, timeout_ms);
    if (fds[1].revents != 0) return;
    timeout_ms = -1;
    if (ready <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      switch (errno) {
        case EAGAIN:
        case EINTR:
        case ECONNABORTED:
          break;
        case EMFILE:
        case ENFILE:
          Prune();
          ShedOne();
          if (reserve_fd_ < 0) timeout_ms = kBackoffMs;
          break;
        default:  // ENOBUFS, ENOMEM, ...: try again shortly
          timeout_ms = kBackoffMs;
      }
      continue;
    }
    if (open_.size() >= max_connections_ && Prune() >= max_connections_) {
      close(fd);  // over the cap: the client sees the connection closed (UNAVAILABLE)
      continue;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      close(fd);
      continue;
    }
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    open_.emplace_back(fd, st.st_ino);
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters params;
    params.listener_fd = listen_fd_;
    params.fd = fd;
    acceptor_->HandleNewConnection(&params);  // gRPC owns fd from here
  }
}

}  // namespace understudy
