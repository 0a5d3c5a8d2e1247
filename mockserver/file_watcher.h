// FileWatcher: calls back when interaction files under a set of paths change (Linux inotify).
//
//   auto watcher = understudy::FileWatcher::Start(
//       {"contracts/user_service"}, [&] { server->Reload({"contracts/user_service"}); });
//   if (!watcher.ok()) { /* inotify unavailable, or a path's directory cannot be watched */ }
//   ...
//   (*watcher)->Stop();  // also done by the destructor
//
// A path is a file or a directory. A directory is watched recursively: its `*.json` files being
// written (closed after writing), renamed in or out, linked or deleted, and subdirectories being
// created, renamed or deleted, all count as changes. A file path counts when that name is written,
// created, renamed or deleted, so an editor that writes a temporary file and renames it over the
// original is seen, and so is a path that disappears and comes back. A regular file counts when
// its writer closes it, not when it is created: the callback never races a half-written file.
//
// Changes are debounced: the callback runs once the paths have been quiet for `quiet_period`
// (or, under changes that never stop, once `max_delay` after the first of them), on the
// watcher's own thread, never twice at once. Changes made while it runs lead to another call.
// The callback reads the files itself; it is not told which ones changed.
//
// Thread safety: Stop() may be called from any thread but the callback's.
#ifndef UNDERSTUDY_MOCKSERVER_FILE_WATCHER_H_
#define UNDERSTUDY_MOCKSERVER_FILE_WATCHER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace understudy {

struct FileWatcherOptions {
  std::chrono::milliseconds quiet_period{100};
  std::chrono::milliseconds max_delay{1000};
};

class FileWatcher {
 public:
  // Starts watching `paths` (every path's directory must exist). Changes made after Start
  // returns are seen.
  static absl::StatusOr<std::unique_ptr<FileWatcher>> Start(const std::vector<std::string>& paths,
                                                            std::function<void()> on_change,
                                                            FileWatcherOptions options = {});
  ~FileWatcher();  // Stop()

  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Returns once the watcher's thread has finished, after a callback in progress returns.
  // Pending changes are dropped. Idempotent.
  void Stop();

 private:
  // What one inotify watch descriptor stands for.
  struct Watch {
    std::string dir;
    bool in_tree = false;         // inside a watched directory: *.json and subdirectories count
    std::set<std::string> roots;  // names in `dir` that are watched paths themselves
  };

  FileWatcher(std::vector<std::string> roots, std::function<void()> on_change,
              FileWatcherOptions options);
  // (Re)computes the watches from the file system: adds what is new, drops what went away.
  absl::Status Rescan();
  absl::Status AddWatch(const std::string& dir, bool in_tree, const std::string& root_name,
                        std::map<int, Watch>* watches);
  // Reads the pending events; true when any of them is a change.
  bool ReadEvents(bool* rescan);
  void Run();

  const std::vector<std::string> roots_;  // absolute, normalized
  const std::function<void()> on_change_;
  const FileWatcherOptions options_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;             // an eventfd: written by Stop() to wake poll()
  std::map<int, Watch> watches_;  // by watch descriptor; used by the watcher's thread only
  std::thread thread_;
  std::once_flag stop_once_;
};

}  // namespace understudy

#endif  // UNDERSTUDY_MOCKSERVER_FILE_WATCHER_H_
