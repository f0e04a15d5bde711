#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/store/blob_store.h"
#include "common/store/sqlite.h"
#include "tests/support/temp_dir.h"

namespace tverr::store {
namespace {

TEST(SqliteDb, CommittedRowsSurviveReopen) {
  testing::TempDir tmp;
  {
    auto db = SqliteDb::Open(tmp.Sub("a.db"));
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER);").ok());
    auto stmt = (*db)->Prepare("INSERT INTO t VALUES (?1, ?2);");
    ASSERT_TRUE(stmt.ok());
    ASSERT_TRUE(stmt->Bind(1, "x").ok());
    ASSERT_TRUE(stmt->Bind(2, int64_t{42}).ok());
    ASSERT_TRUE(stmt->Run().ok());
    EXPECT_EQ((*db)->Changes(), 1);
  }
  auto db = SqliteDb::Open(tmp.Sub("a.db"));
  ASSERT_TRUE(db.ok());
  auto stmt = (*db)->Prepare("SELECT k, v FROM t;");
  ASSERT_TRUE(stmt.ok());
  auto row = stmt->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(stmt->ColumnText(0), "x");
  EXPECT_EQ(stmt->ColumnInt(1), 42);
}

TEST(SqliteDb, ErrorsAreStatuses) {
  testing::TempDir tmp;
  auto db = SqliteDb::Open(tmp.Sub("a.db"));
  ASSERT_TRUE(db.ok());
  EXPECT_FALSE((*db)->Exec("NOT SQL").ok());
  EXPECT_FALSE((*db)->Prepare("SELECT * FROM missing;").ok());
  EXPECT_FALSE(SqliteDb::Open(tmp.Sub("no/such/dir/a.db")).ok());
}

TEST(BlobStore, CommittedBlobIsFoundByDigestAndUncommittedOneVanishes) {
  testing::TempDir tmp;
  auto store = BlobStore::Open(tmp.Sub("blobs"));
  ASSERT_TRUE(store.ok()) << store.status();
  const crypto::Sha256Digest digest = crypto::Sha256("hello");
  {
    auto w = (*store)->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("hel").ok());
    ASSERT_TRUE((*w)->Append("lo").ok());
    ASSERT_TRUE((*w)->Commit(digest).ok());
  }
  {
    auto w = (*store)->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("abandoned").ok());
  }
  auto path = (*store)->PathOf(digest);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(testing::ReadFileOrEmpty(*path), "hello");
  EXPECT_EQ((*store)->PathOf(crypto::Sha256("other")).status().code(),
            absl::StatusCode::kNotFound);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.Sub("blobs"))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1) << "the abandoned temporary file must be removed";
}

TEST(BlobStore, LeftoverTemporaryFilesAreRemovedAtOpen) {
  testing::TempDir tmp;
  ASSERT_TRUE(BlobStore::Open(tmp.Sub("blobs")).ok());
  testing::WriteFileOrDie(tmp.Sub("blobs/.tmp-123-0"), "partial write from a crash");
  ASSERT_TRUE(BlobStore::Open(tmp.Sub("blobs")).ok());
  EXPECT_FALSE(std::filesystem::exists(tmp.Sub("blobs/.tmp-123-0")));
}

}  // namespace
}  // namespace tverr::store
