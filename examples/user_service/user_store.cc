#include "examples/user_service/user_store.h"

#include <google/protobuf/util/time_util.h>
#include <sqlite3.h>

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "examples/user_service/sqlite.h"

namespace user_service {
namespace {

using internal::Exec;
using internal::SqliteError;
using internal::Statement;
using internal::Transaction;
using google::protobuf::util::TimeUtil;

// `seq` keeps insertion order (lists follow it); `id` is the user's public, opaque id. The email
// is unique among live users only, so a deleted user's address can be used again.
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS users (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  status INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS users_live_email ON users(email) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  total REAL NOT NULL,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_items (
  order_id TEXT NOT NULL REFERENCES orders(id),
  position INTEGER NOT NULL,
  product_id TEXT NOT NULL,
  name TEXT NOT NULL,
  price REAL NOT NULL,
  quantity INTEGER NOT NULL,
  PRIMARY KEY (order_id, position)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
)sql";

constexpr char kUserColumns[] = "seq, id, name, email, status, created_at, updated_at, deleted_at";

std::string Now() {
  google::protobuf::Timestamp now = TimeUtil::GetCurrentTime();
  now.set_nanos(0);
  return TimeUtil::ToString(now);
}

void ParseTime(const std::string& text, google::protobuf::Timestamp* out) {
  if (!TimeUtil::FromString(text, out)) out->Clear();
}

// Reads the columns of kUserColumns; returns the scan position (seq).
int64_t ReadUser(const Statement& q, StoredUser* out) {
  user::User& u = out->user;
  u.set_id(q.Text(1));
  u.set_name(q.Text(2));
  u.set_email(q.Text(3));
  u.set_status(static_cast<user::UserStatus>(q.Int(4)));
  ParseTime(q.Text(5), u.mutable_created_at());
  ParseTime(q.Text(6), u.mutable_updated_at());
  out->deleted = !q.IsNull(7);
  return q.Int(0);
}

// The status filter of lists and scans, parameter ?2: USER_STATUS_UNSPECIFIED (0) for any.
constexpr char kStatusFilter[] = " AND (?2 = 0 OR status = ?2)";

absl::Status EmailFree(sqlite3* db, const std::string& email, const std::string& except_id) {
  auto q = Statement::Prepare(
      db, "SELECT 1 FROM users WHERE email = ?1 AND id != ?2 AND deleted_at IS NULL");
  if (!q.ok()) return q.status();
  q->Bind(1, email);
  q->Bind(2, except_id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return *row ? absl::AlreadyExistsError(email) : absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<UserStore>> UserStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("cannot open ", path, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return status;
  }
  sqlite3_busy_timeout(db, 5000);  // before anything that may meet another process's lock
  // WAL lets a seeding process write while the server reads; NORMAL syncs at checkpoints only
  // (safe against corruption, may lose the last commits on power loss: fine for a test double).
  for (const char* sql : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                          "PRAGMA foreign_keys = ON", kSchema}) {
    if (absl::Status s = Exec(db, sql); !s.ok()) {
      sqlite3_close(db);
      return s;
    }
  }
  return std::unique_ptr<UserStore>(new UserStore(db));
}

UserStore::~UserStore() { sqlite3_close(db_); }

absl::Status UserStore::LoadOrders(user::User* user) {
  auto orders = Statement::Prepare(db_,
                                   "SELECT id, total, status, created_at FROM orders "
                                   "WHERE user_id = ?1 ORDER BY created_at DESC, id DESC");
  if (!orders.ok()) return orders.status();
  orders->Bind(1, user->id());
  while (true) {
    absl::StatusOr<bool> row = orders->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    user::Order* order = user->add_orders();
    order->set_id(orders->Text(0));
    order->set_user_id(user->id());
    order->set_total(orders->Double(1));
    order->set_status(orders->Text(2));
    ParseTime(orders->Text(3), order->mutable_created_at());
    auto q = Statement::Prepare(db_,
                                "SELECT product_id, name, price, quantity FROM order_items "
                                "WHERE order_id = ?1 ORDER BY position");
    if (!q.ok()) return q.status();
    q->Bind(1, order->id());
    while (true) {
      absl::StatusOr<bool> item_row = q->Step();
      if (!item_row.ok()) return item_row.status();
      if (!*item_row) break;
      user::OrderItem* item = order->add_items();
      item->set_product_id(q->Text(0));
      item->set_name(q->Text(1));
      item->set_price(q->Double(2));
      item->set_quantity(static_cast<int32_t>(q->Int(3)));
    }
  }
}

absl::StatusOr<StoredUser> UserStore::GetUser(const std::string& id, bool with_orders) {
  absl::MutexLock lock(&mu_);
  auto q = Statement::Prepare(db_, absl::StrCat("SELECT ", kUserColumns,
                                                " FROM users WHERE id = ?1"));
  if (!q.ok()) return q.status();
  q->Bind(1, id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(id);
  StoredUser out;
  ReadUser(*q, &out);
  if (with_orders && !out.deleted) {
    if (absl::Status s = LoadOrders(&out.user); !s.ok()) return s;
  }
  return out;
}

absl::StatusOr<UserPage> UserStore::ListUsers(user::UserStatus status, int limit, int offset) {
  absl::MutexLock lock(&mu_);
  // Count and page in one transaction, so total_count describes the same snapshot as the page.
  absl::StatusOr<Transaction> snapshot = Transaction::Begin(db_, /*write=*/false);
  if (!snapshot.ok()) return snapshot.status();
  UserPage page;
  auto count = Statement::Prepare(db_, absl::StrCat("SELECT count(*) FROM users WHERE "
                                                    "deleted_at IS NULL",
                                                    kStatusFilter));
  if (!count.ok()) return count.status();
  count->Bind(2, static_cast<int64_t>(status));
  if (absl::StatusOr<bool> row = count->Step(); !row.ok()) return row.status();
  page.total_count = count->Int(0);
  auto q = Statement::Prepare(
      db_, absl::StrCat("SELECT ", kUserColumns, " FROM users WHERE deleted_at IS NULL",
                        kStatusFilter, " ORDER BY seq LIMIT ?3 OFFSET ?4"));
  if (!q.ok()) return q.status();
  q->Bind(2, static_cast<int64_t>(status));
  q->Bind(3, static_cast<int64_t>(limit));
  q->Bind(4, static_cast<int64_t>(offset));
  while (true) {
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return page;
    StoredUser stored;
    ReadUser(*q, &stored);
    page.users.push_back(std::move(stored.user));
  }
}

absl::StatusOr<std::optional<ScannedUser>> UserStore::NextUser(user::UserStatus status,
                                                               int64_t after) {
  absl::MutexLock lock(&mu_);
  auto q = Statement::Prepare(
      db_, absl::StrCat("SELECT ", kUserColumns, " FROM users WHERE deleted_at IS NULL",
                        kStatusFilter, " AND seq > ?1 ORDER BY seq LIMIT 1"));
  if (!q.ok()) return q.status();
  q->Bind(1, after);
  q->Bind(2, static_cast<int64_t>(status));
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ScannedUser>();
  StoredUser stored;
  ScannedUser out;
  out.position = ReadUser(*q, &stored);
  out.user = std::move(stored.user);
  return std::optional<ScannedUser>(std::move(out));
}

absl::StatusOr<int64_t> UserStore::NextId() {
  auto q = Statement::Prepare(db_, "SELECT value FROM counters WHERE name = 'next_user_id'");
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  int64_t id = *row ? q->Int(0) : 1;
  while (true) {  // an id set by a provider state may collide with an inserted user
    auto used = Statement::Prepare(db_, "SELECT 1 FROM users WHERE id = ?1");
    if (!used.ok()) return used.status();
    used->Bind(1, absl::StrCat(id));
    absl::StatusOr<bool> exists = used->Step();
    if (!exists.ok()) return exists.status();
    if (!*exists) break;
    ++id;
  }
  auto set = Statement::Prepare(
      db_, "INSERT OR REPLACE INTO counters (name, value) VALUES ('next_user_id', ?1)");
  if (!set.ok()) return set.status();
  set->Bind(1, id + 1);
  if (absl::Status s = set->Run(); !s.ok()) return s;
  return id;
}

absl::StatusOr<std::vector<user::User>> UserStore::CreateUsers(const std::vector<NewUser>& users) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> tx = Transaction::Begin(db_, /*write=*/true);
  if (!tx.ok()) return tx.status();
  std::vector<user::User> created;
  std::set<std::string> emails;
  const std::string now = Now();
  for (const NewUser& n : users) {
    if (!emails.insert(n.email).second) return absl::AlreadyExistsError(n.email);
    if (absl::Status s = EmailFree(db_, n.email, ""); !s.ok()) return s;
    absl::StatusOr<int64_t> id = NextId();
    if (!id.ok()) return id.status();
    user::User u;
    u.set_id(absl::StrCat(*id));
    u.set_name(n.name);
    u.set_email(n.email);
    u.set_status(n.status);
    ParseTime(now, u.mutable_created_at());
    ParseTime(now, u.mutable_updated_at());
    if (absl::Status s = InsertUserLocked(u); !s.ok()) return s;
    created.push_back(std::move(u));
  }
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  return created;
}

absl::StatusOr<user::User> UserStore::UpdateUser(const std::string& id,
                                                 const UserChanges& changes) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> tx = Transaction::Begin(db_, /*write=*/true);
  if (!tx.ok()) return tx.status();
  auto q = Statement::Prepare(db_, absl::StrCat("SELECT ", kUserColumns,
                                                " FROM users WHERE id = ?1"));
  if (!q.ok()) return q.status();
  q->Bind(1, id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  StoredUser stored;
  if (*row) ReadUser(*q, &stored);
  if (!*row || stored.deleted) return absl::NotFoundError(id);
  user::User& u = stored.user;
  // A suspended user can only be unsuspended (a change of status alone).
  if (u.status() == user::USER_STATUS_SUSPENDED &&
      (changes.name || changes.email || !changes.status)) {
    return absl::FailedPreconditionError(id);
  }
  if (changes.email && *changes.email != u.email()) {
    if (absl::Status s = EmailFree(db_, *changes.email, id); !s.ok()) return s;
  }
  if (changes.name) u.set_name(*changes.name);
  if (changes.email) u.set_email(*changes.email);
  if (changes.status) u.set_status(*changes.status);
  const std::string now = Now();
  ParseTime(now, u.mutable_updated_at());
  auto update = Statement::Prepare(
      db_, "UPDATE users SET name = ?2, email = ?3, status = ?4, updated_at = ?5 WHERE id = ?1");
  if (!update.ok()) return update.status();
  update->Bind(1, id);
  update->Bind(2, u.name());
  update->Bind(3, u.email());
  update->Bind(4, static_cast<int64_t>(u.status()));
  update->Bind(5, now);
  if (absl::Status s = update->Run(); !s.ok()) return s;
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  return u;
}

absl::Status UserStore::DeleteUser(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto q = Statement::Prepare(
      db_, "UPDATE users SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL");
  if (!q.ok()) return q.status();
  q->Bind(1, id);
  q->Bind(2, Now());
  if (absl::Status s = q->Run(); !s.ok()) return s;
  return sqlite3_changes(db_) == 1 ? absl::OkStatus() : absl::NotFoundError(id);
}

absl::Status UserStore::Reset() {
  absl::MutexLock lock(&mu_);
  return Exec(db_,
              "BEGIN IMMEDIATE; DELETE FROM order_items; DELETE FROM orders; DELETE FROM users; "
              "DELETE FROM counters; COMMIT;");
}

absl::Status UserStore::InsertUser(const user::User& user) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> tx = Transaction::Begin(db_, /*write=*/true);
  if (!tx.ok()) return tx.status();
  if (absl::Status s = InsertUserLocked(user); !s.ok()) return s;
  return tx->Commit();
}

absl::Status UserStore::InsertUserLocked(const user::User& u) {
  auto q = Statement::Prepare(db_,
                              "INSERT INTO users (id, name, email, status, created_at, "
                              "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!q.ok()) return q.status();
  q->Bind(1, u.id());
  q->Bind(2, u.name());
  q->Bind(3, u.email());
  q->Bind(4, static_cast<int64_t>(u.status()));
  q->Bind(5, TimeUtil::ToString(u.created_at()));
  q->Bind(6, TimeUtil::ToString(u.updated_at()));
  if (absl::Status s = q->Run(); !s.ok()) return s;
  for (const user::Order& order : u.orders()) {
    auto o = Statement::Prepare(db_,
                                "INSERT INTO orders (id, user_id, total, status, created_at) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!o.ok()) return o.status();
    o->Bind(1, order.id());
    o->Bind(2, u.id());
    o->Bind(3, order.total());
    o->Bind(4, order.status());
    o->Bind(5, TimeUtil::ToString(order.created_at()));
    if (absl::Status s = o->Run(); !s.ok()) return s;
    for (int i = 0; i < order.items_size(); ++i) {
      const user::OrderItem& item = order.items(i);
      auto it = Statement::Prepare(db_,
                                   "INSERT INTO order_items (order_id, position, product_id, "
                                   "name, price, quantity) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      if (!it.ok()) return it.status();
      it->Bind(1, order.id());
      it->Bind(2, static_cast<int64_t>(i));
      it->Bind(3, item.product_id());
      it->Bind(4, item.name());
      it->Bind(5, item.price());
      it->Bind(6, static_cast<int64_t>(item.quantity()));
      if (absl::Status s = it->Run(); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status UserStore::SetNextUserId(int64_t id) {
  absl::MutexLock lock(&mu_);
  auto q = Statement::Prepare(
      db_, "INSERT OR REPLACE INTO counters (name, value) VALUES ('next_user_id', ?1)");
  if (!q.ok()) return q.status();
  q->Bind(1, id);
  return q->Run();
}

int64_t UserStore::ChangeCount() {
  absl::MutexLock lock(&mu_);
  return sqlite3_total_changes64(db_);
}

absl::StatusOr<bool> UserStore::HasUsers() {
  absl::MutexLock lock(&mu_);
  auto q = Statement::Prepare(db_, "SELECT 1 FROM users LIMIT 1");
  if (!q.ok()) return q.status();
  return q->Step();
}

}  // namespace user_service
