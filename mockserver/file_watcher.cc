#include "mockserver/file_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace understudy {

namespace fs = std::filesystem;

namespace {

// IN_CREATE is kept for directories, links and files that appear whole; a file being written
// is taken at IN_CLOSE_WRITE.
constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                           IN_ONLYDIR | IN_EXCL_UNLINK;

absl::Status ErrnoError(const std::string& what, int error) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(error)));
}

// "/a/b/" and "/a/b/." name the directory "/a/b".
fs::path Normalize(const std::string& path) {
  std::error_code ec;
  fs::path out = fs::absolute(path, ec).lexically_normal();
  if (ec) out = fs::path(path).lexically_normal();
  if (!out.has_filename() && out != out.root_path()) out = out.parent_path();
  return out;
}

// A regular file that has just been created with a single link is still being written by
// whoever created it: its IN_CLOSE_WRITE will follow.
bool IsFileBeingWritten(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileWatcher>> FileWatcher::Start(
    const std::vector<std::string>& paths, std::function<void()> on_change,
    FileWatcherOptions options) {
  std::vector<std::string> roots;
  for (const auto& path : paths) roots.push_back(Normalize(path).string());
  std::unique_ptr<FileWatcher> watcher(
      new FileWatcher(std::move(roots), std::move(on_change), options));
  watcher->inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (watcher->inotify_fd_ < 0) return ErrnoError("inotify_init1", errno);
  watcher->stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (watcher->stop_fd_ < 0) return ErrnoError("eventfd", errno);
  absl::Status status = watcher->Rescan();
  if (!status.ok()) return status;
  watcher->thread_ = std::thread([w = watcher.get()] { w->Run(); });
  return watcher;
}

FileWatcher::FileWatcher(std::vector<std::string> roots, std::function<void()> on_change,
                         FileWatcherOptions options)
    : roots_(std::move(roots)), on_change_(std::move(on_change)), options_(options) {}

FileWatcher::~FileWatcher() { Stop(); }

void FileWatcher::Stop() {
  std::call_once(stop_once_, [this] {
    if (thread_.joinable()) {
      uint64_t one = 1;
      // Cannot fail short of a counter overflow; the thread wakes on any non-zero value.
      (void)!write(stop_fd_, &one, sizeof one);
      thread_.join();
    }
    if (inotify_fd_ >= 0) close(inotify_fd_);
    if (stop_fd_ >= 0) close(stop_fd_);
    inotify_fd_ = stop_fd_ = -1;
  });
}

absl::Status FileWatcher::AddWatch(const std::string& dir, bool in_tree,
                                   const std::string& root_name, std::map<int, Watch>* watches) {
  int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
  if (wd < 0) return ErrnoError(absl::StrCat("cannot watch ", dir), errno);
  // One directory may be both in a tree and the parent of a watched path: one descriptor.
  Watch& watch = (*watches)[wd];
  watch.dir = dir;
  watch.in_tree = watch.in_tree || in_tree;
  if (!root_name.empty()) watch.roots.insert(root_name);
  return absl::OkStatus();
}

absl::Status FileWatcher::Rescan() {
  absl::Status first_error;
  auto keep_first = [&](absl::Status status) {
    if (first_error.ok()) first_error = std::move(status);
  };
  std::map<int, Watch> fresh;
  for (const auto& root : roots_) {
    fs::path path(root);
    // The parent sees the path itself replaced, deleted or created (a directory watch alone
    // would die with its directory).
    if (path != path.root_path()) {
      keep_first(AddWatch(path.parent_path().string(), false, path.filename().string(), &fresh));
    }
    std::error_code ec;
    if (!fs::is_directory(path, ec)) continue;
    keep_first(AddWatch(root, true, "", &fresh));
    // As InteractionSet::ListFiles: symlinked directories are not descended into.
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->symlink_status(type_ec).type() == fs::file_type::directory) {
        keep_first(AddWatch(it->path().string(), true, "", &fresh));
      }
    }
    if (ec) keep_first(ErrnoError(absl::StrCat("cannot list ", root), ec.value()));
  }
  // inotify_add_watch returned the same descriptor for a directory already watched (even one
  // renamed within a tree); the ones not seen again are directories that left.
  for (const auto& [wd, watch] : watches_) {
    if (fresh.count(wd) == 0) inotify_rm_watch(inotify_fd_, wd);
  }
  watches_ = std::move(fresh);
  return first_error;
}

bool FileWatcher::ReadEvents(bool* rescan) {
  bool changed = false;
  alignas(struct inotify_event) char buffer[16 * 1024];
  while (true) {
    ssize_t n = read(inotify_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    for (char* p = buffer; p < buffer + n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {  // events were lost: assume anything changed
        changed = true;
        *rescan = true;
        continue;
      }
      auto found = watches_.find(event->wd);
      if (found == watches_.end()) continue;  // a watch already dropped
      if (event->mask & IN_IGNORED) {         // its directory is gone
        watches_.erase(found);
        continue;
      }
      const Watch& watch = found->second;
      const std::string name = event->len > 0 ? event->name : "";
      const bool is_dir = (event->mask & IN_ISDIR) != 0;
      const bool is_root = watch.roots.count(name) > 0;
      if (!is_root && !(watch.in_tree && (is_dir || absl::EndsWith(name, ".json")))) continue;
      if ((event->mask & IN_CREATE) && !is_dir && IsFileBeingWritten(watch.dir + "/" + name)) {
        continue;
      }
      changed = true;
      if (is_dir || is_root) *rescan = true;
    }
  }
  return changed;
}

void FileWatcher::Run() {
  using Clock = std::chrono::steady_clock;
  bool pending = false;
  Clock::time_point due;    // when the callback runs, while pending
  Clock::time_point limit;  // the latest it may run: first change + max_delay
  while (true) {
    int timeout_ms = -1;
    if (pending) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now()).count();
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left));
    }
    struct pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) return;  // cannot happen with valid descriptors
    if (fds[0].revents != 0) return;
    if (ready > 0 && (fds[1].revents & POLLIN)) {
      bool rescan = false;
      if (ReadEvents(&rescan)) {
        Clock::time_point now = Clock::now();
        if (!pending) limit = now + options_.max_delay;
        pending = true;
        due = std::min(now + options_.quiet_period, limit);
      }
      // Errors are left to the callback, which finds the same files missing or unreadable.
      if (rescan) (void)Rescan();
    }
    if (pending && Clock::now() >= due) {
      pending = false;
      on_change_();
    }
  }
}

}  // namespace understudy
