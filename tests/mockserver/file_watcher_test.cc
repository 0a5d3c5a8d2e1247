// FileWatcher: which changes under the watched paths call back, how bursts are debounced, and
// that Stop is prompt.
#include "mockserver/file_watcher.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace understudy {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kQuiet{50};
// Generous: the callback normally comes about kQuiet after the change.
constexpr milliseconds kTimeout{5000};
// How long "no further callback" is watched for: many quiet periods.
constexpr milliseconds kSettle{400};

// Counts callbacks; tests wait on it instead of sleeping.
class Recorder {
 public:
  std::function<void()> Callback() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu_);
      ++count_;
      thread_ = std::this_thread::get_id();
      changed_.notify_all();
    };
  }
  // True once at least `n` callbacks came, false after kTimeout.
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kTimeout, [&] { return count_ >= n; });
  }
  // True when the count is still `n` after kSettle (returns false as soon as it moves).
  bool StaysAt(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return !changed_.wait_for(lock, kSettle, [&] { return count_ != n; });
  }
  int count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  std::thread::id thread() const {
    std::lock_guard<std::mutex> lock(mu_);
    return thread_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  int count_ = 0;
  std::thread::id thread_;
};

fs::path TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "understudy_file_watcher_test" /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::unique_ptr<FileWatcher> StartWatcher(const std::vector<std::string>& paths,
                                          Recorder* recorder, milliseconds quiet = kQuiet) {
  FileWatcherOptions options;
  options.quiet_period = quiet;
  auto watcher = FileWatcher::Start(paths, recorder->Callback(), options);
  EXPECT_TRUE(watcher.ok()) << watcher.status();
  return watcher.ok() ? std::move(*watcher) : nullptr;
}

TEST(FileWatcher, BurstOfWritesCallsBackOnce) {
  fs::path dir = TestDir();
  WriteFile(dir / "a.json", "{}");
  Recorder recorder;
  // Quiet for longer than a loaded machine may pause this thread between two writes.
  auto watcher = StartWatcher({dir.string()}, &recorder, milliseconds(500));
  ASSERT_NE(watcher, nullptr);
  for (int i = 0; i < 10; ++i) WriteFile(dir / "a.json", "{\"v\": " + std::to_string(i) + "}");
  ASSERT_TRUE(recorder.WaitFor(1));
  EXPECT_TRUE(recorder.StaysAt(1)) << recorder.count() << " callbacks";
  EXPECT_NE(recorder.thread(), std::this_thread::get_id());
}

TEST(FileWatcher, EachSeparateChangeCallsBack) {
  fs::path dir = TestDir();
  WriteFile(dir / "a.json", "{}");
  Recorder recorder;
  auto watcher = StartWatcher({dir.string()}, &recorder);
  ASSERT_NE(watcher, nullptr);

  WriteFile(dir / "b.json", "{}");  // create
  ASSERT_TRUE(recorder.WaitFor(1));
  WriteFile(dir / "a.json", "{\"v\": 1}");  // modify
  ASSERT_TRUE(recorder.WaitFor(2));
  fs::remove(dir / "b.json");  // delete
  ASSERT_TRUE(recorder.WaitFor(3));
  fs::rename(dir / "a.json", dir / "a.json.bak");  // renamed away
  ASSERT_TRUE(recorder.WaitFor(4));
  fs::create_symlink(dir / "a.json.bak", dir / "c.json");  // appears whole, no write follows
  ASSERT_TRUE(recorder.WaitFor(5));
  EXPECT_TRUE(recorder.StaysAt(5)) << recorder.count() << " callbacks";
}

TEST(FileWatcher, TempFileRenamedOverTheOriginalCallsBackOnce) {
  fs::path dir = TestDir();
  WriteFile(dir / "a.json", "{}");
  Recorder recorder;
  auto watcher = StartWatcher({dir.string()}, &recorder);
  ASSERT_NE(watcher, nullptr);
  for (int round = 1; round <= 2; ++round) {
    WriteFile(dir / ".a.json.tmp", "{\"v\": 2}");
    fs::rename(dir / ".a.json.tmp", dir / "a.json");
    ASSERT_TRUE(recorder.WaitFor(round)) << "round " << round;
    EXPECT_TRUE(recorder.StaysAt(round)) << recorder.count() << " callbacks";
  }
}

TEST(FileWatcher, IgnoresFilesThatAreNotJson) {
  fs::path dir = TestDir();
  Recorder recorder;
  auto watcher = StartWatcher({dir.string()}, &recorder);
  ASSERT_NE(watcher, nullptr);
  WriteFile(dir / "notes.txt", "x");
  WriteFile(dir / ".a.json.swp", "x");
  WriteFile(dir / "a.json~", "x");
  EXPECT_TRUE(recorder.StaysAt(0)) << recorder.count() << " callbacks";
  WriteFile(dir / "a.json", "{}");  // still watching
  EXPECT_TRUE(recorder.WaitFor(1));
}

TEST(FileWatcher, WatchesSubdirectoriesIncludingNewOnes) {
  fs::path dir = TestDir();
  fs::create_directories(dir / "old" / "deep");
  Recorder recorder;
  auto watcher = StartWatcher({dir.string()}, &recorder);
  ASSERT_NE(watcher, nullptr);

  WriteFile(dir / "old" / "deep" / "a.json", "{}");
  ASSERT_TRUE(recorder.WaitFor(1));
  fs::create_directory(dir / "new");
  ASSERT_TRUE(recorder.WaitFor(2));
  WriteFile(dir / "new" / "b.json", "{}");
  ASSERT_TRUE(recorder.WaitFor(3));
  // A directory renamed within the tree keeps being watched under its new name.
  fs::rename(dir / "new", dir / "renamed");
  ASSERT_TRUE(recorder.WaitFor(4));
  WriteFile(dir / "renamed" / "b.json", "{\"v\": 1}");
  ASSERT_TRUE(recorder.WaitFor(5));
  // One moved out of the tree no longer counts.
  fs::rename(dir / "renamed", dir.parent_path() / (dir.filename().string() + ".out"));
  ASSERT_TRUE(recorder.WaitFor(6));
  WriteFile(dir.parent_path() / (dir.filename().string() + ".out") / "b.json", "{}");
  EXPECT_TRUE(recorder.StaysAt(6)) << recorder.count() << " callbacks";
  fs::remove_all(dir.parent_path() / (dir.filename().string() + ".out"));
}

TEST(FileWatcher, WatchedFileIsSeenThroughReplacementsAndSiblingsAreNot) {
  fs::path dir = TestDir();
  WriteFile(dir / "a.json", "{}");
  WriteFile(dir / "other.json", "{}");
  Recorder recorder;
  auto watcher = StartWatcher({(dir / "a.json").string()}, &recorder);
  ASSERT_NE(watcher, nullptr);

  WriteFile(dir / "other.json", "{\"v\": 1}");
  EXPECT_TRUE(recorder.StaysAt(0)) << recorder.count() << " callbacks";
  // Each replacement is a new inode: a watch on the file itself would miss the second.
  for (int round = 1; round <= 2; ++round) {
    WriteFile(dir / "tmp", "{}");
    fs::rename(dir / "tmp", dir / "a.json");
    ASSERT_TRUE(recorder.WaitFor(round)) << "round " << round;
  }
  fs::remove(dir / "a.json");
  ASSERT_TRUE(recorder.WaitFor(3));
  WriteFile(dir / "a.json", "{}");
  ASSERT_TRUE(recorder.WaitFor(4));
}

TEST(FileWatcher, WatchedDirectoryRemovedAndRecreatedIsStillWatched) {
  fs::path dir = TestDir();
  fs::path served = dir / "served";
  fs::create_directory(served);
  Recorder recorder;
  auto watcher = StartWatcher({served.string() + "/"}, &recorder);
  ASSERT_NE(watcher, nullptr);

  fs::remove_all(served);
  ASSERT_TRUE(recorder.WaitFor(1));
  fs::create_directory(served);
  ASSERT_TRUE(recorder.WaitFor(2));
  WriteFile(served / "a.json", "{}");
  ASSERT_TRUE(recorder.WaitFor(3));
}

TEST(FileWatcher, ChangesThatNeverStopStillCallBackWithinMaxDelay) {
  fs::path dir = TestDir();
  Recorder recorder;
  FileWatcherOptions options;
  options.quiet_period = milliseconds(200);
  options.max_delay = milliseconds(400);
  auto watcher = FileWatcher::Start({dir.string()}, recorder.Callback(), options);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  // Writes every 20 ms, more often than the quiet period, until the callback comes.
  auto give_up = std::chrono::steady_clock::now() + kTimeout;
  while (recorder.count() == 0 && std::chrono::steady_clock::now() < give_up) {
    WriteFile(dir / "a.json", "{}");
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(recorder.count(), 1);
}

TEST(FileWatcher, StopIsPromptAndNoCallbackFollowsIt) {
  fs::path dir = TestDir();
  Recorder recorder;
  FileWatcherOptions options;
  options.quiet_period = milliseconds(10000);  // a change would still be pending at Stop
  options.max_delay = milliseconds(10000);
  auto watcher = FileWatcher::Start({dir.string()}, recorder.Callback(), options);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  WriteFile(dir / "a.json", "{}");
  auto start = std::chrono::steady_clock::now();
  (*watcher)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(500));
  EXPECT_EQ(recorder.count(), 0);
  (*watcher)->Stop();  // idempotent
}

TEST(FileWatcher, StopWaitsForACallbackInProgress) {
  fs::path dir = TestDir();
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool finished = false;
  FileWatcherOptions options;
  options.quiet_period = kQuiet;
  auto watcher = FileWatcher::Start(
      {dir.string()},
      [&] {
        std::unique_lock<std::mutex> lock(mu);
        entered = true;
        cv.notify_all();
        lock.unlock();
        std::this_thread::sleep_for(milliseconds(100));  // a slow reload
        lock.lock();
        finished = true;
      },
      options);
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  WriteFile(dir / "a.json", "{}");
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kTimeout, [&] { return entered; }));
  }
  (*watcher)->Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(finished);
}

TEST(FileWatcher, StartFailsWhenAPathsDirectoryIsMissing) {
  Recorder recorder;
  fs::path missing = TestDir() / "no" / "such" / "dir" / "a.json";
  auto watcher = FileWatcher::Start({missing.string()}, recorder.Callback());
  ASSERT_FALSE(watcher.ok());
  EXPECT_THAT(std::string(watcher.status().message()),
              ::testing::HasSubstr((missing.parent_path()).string()));
}

}  // namespace
}  // namespace understudy
