// The user_service binary: serving until SIGTERM, and the `seed` command the verifier's setup
// hook runs.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "examples/user_service/test_support.h"
#include "gmock/gmock.h"

extern char** environ;

namespace user_service::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A child process of USER_SERVICE_BINARY with its stdin, stdout and stderr on pipes.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), USER_SERVICE_BINARY);
    int in[2], out[2], err[2];
    if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) {
      posix_spawn_file_actions_addclose(&actions, fd);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    for (int fd : {stdin_, stdout_, stderr_}) {
      if (fd >= 0) close(fd);
    }
  }

  bool started() const { return pid_ > 0; }

  void Send(const std::string& text) {
    ASSERT_EQ(write(stdin_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(stdin_);
    stdin_ = -1;
  }

  // The next line of stdout, or "" when none comes within 20 s.
  std::string ReadLine() {
    std::string line;
    char c;
    while (true) {
      pollfd p{stdout_, POLLIN, 0};
      if (poll(&p, 1, 20000) != 1 || read(stdout_, &c, 1) != 1) return line;
      if (c == '\n') return line;
      line.push_back(c);
    }
  }

  std::string ReadStderr() {
    std::string text;
    char buffer[512];
    ssize_t n;
    while ((n = read(stderr_, buffer, sizeof buffer)) > 0) text.append(buffer, n);
    return text;
  }

  void Signal(int signal) { kill(pid_, signal); }

  // The exit code, or -1 when it died of a signal.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
};

class UserServiceBinaryTest : public ::testing::Test {
 protected:
  void TearDown() override { RemoveDb(db_); }
  std::string db_ = TempDbPath();
};

TEST_F(UserServiceBinaryTest, ServesUntilSigtermAndExitsZero) {
  Child server({"--listen", "127.0.0.1:0", "--db", db_, "--example-data"});
  ASSERT_TRUE(server.started());
  std::string line = server.ReadLine();
  ASSERT_THAT(line, StartsWith("listening on 127.0.0.1:"));
  std::string address = line.substr(std::string("listening on ").size());
  EXPECT_NE(address, "127.0.0.1:0");

  {
    auto stub = user::UserService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    context.AddMetadata("authorization", "Bearer any-token");
    user::GetUserRequest request;
    request.set_user_id("42");
    user::GetUserResponse response;
    grpc::Status status = stub->GetUser(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.user().name(), "Ada Lovelace");
  }

  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(), 0);
}

TEST_F(UserServiceBinaryTest, SeedAppliesStatesReadFromStdin) {
  Child seed({"seed", "--db", db_});
  ASSERT_TRUE(seed.started());
  seed.Send(R"({"interaction": "get user 500 slowly", "file": "get_user.json",
                "method": "user.UserService/GetUser",
                "states": ["the example users exist", "user 500 exists"]})");
  EXPECT_EQ(seed.Wait(), 0) << seed.ReadStderr();

  auto store = UserStore::Open(db_);
  ASSERT_TRUE(store.ok());
  auto user500 = (*store)->GetUser("500", false);
  ASSERT_TRUE(user500.ok()) << user500.status();
  EXPECT_EQ(user500->user.name(), "Barbara Liskov");
  auto page = (*store)->ListUsers(user::USER_STATUS_UNSPECIFIED, 100, 0);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_count, 6);
}

TEST_F(UserServiceBinaryTest, SeedWithUnknownStateNamesItAndExitsOne) {
  Child seed({"seed", "--db", db_});
  ASSERT_TRUE(seed.started());
  seed.Send(R"({"interaction": "x", "file": "f.json", "states": ["user 501 exists"]})");
  std::string errors = seed.ReadStderr();
  EXPECT_EQ(seed.Wait(), 1);
  EXPECT_THAT(errors, HasSubstr("unknown provider state \"user 501 exists\""));
  EXPECT_THAT(errors, HasSubstr("f.json"));
}

}  // namespace
}  // namespace user_service::testing
