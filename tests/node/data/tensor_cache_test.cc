#include "node/data/tensor_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace tverr::node {
namespace {

std::string EntryPath(const TensorCache& cache, const std::string& key) {
  return cache.dir() + "/" + key.substr(0, 2) + "/" + key + ".tensor";
}

TEST(TensorCache, RoundTripsAndMisses) {
  testing::TempDir tmp;
  auto cache = TensorCache::Open(tmp.Sub("cache"));
  ASSERT_TRUE(cache.ok());
  const std::string key = TensorCache::Key("pipeline", "1.2.3", 1000, 42);
  EXPECT_EQ(cache->Get(key).status().code(), absl::StatusCode::kNotFound);
  std::vector<float> values = {0.0f, 0.5f, -1.25f, 3e7f};
  ASSERT_TRUE(cache->Put(key, values).ok());
  auto got = cache->Get(key);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, values);
}

TEST(TensorCache, KeyDependsOnInstanceFileAndPipeline) {
  const std::string k = TensorCache::Key("p", "1.2.3", 10, 1);
  EXPECT_NE(k, TensorCache::Key("q", "1.2.3", 10, 1));
  EXPECT_NE(k, TensorCache::Key("p", "1.2.4", 10, 1));
  EXPECT_NE(k, TensorCache::Key("p", "1.2.3", 11, 1));
  EXPECT_NE(k, TensorCache::Key("p", "1.2.3", 10, 2));
  EXPECT_EQ(k, TensorCache::Key("p", "1.2.3", 10, 1));
}

TEST(TensorCache, CorruptEntriesAreDetected) {
  testing::TempDir tmp;
  auto cache = TensorCache::Open(tmp.Sub("cache"));
  ASSERT_TRUE(cache.ok());
  const std::vector<float> values(100, 1.5f);
  struct Corruption {
    std::string name;
    std::function<void(std::string*)> apply;
  };
  const std::vector<Corruption> corruptions = {
      {"flipped value byte", [](std::string* s) { (*s)[40] ^= 0x01; }},
      {"flipped checksum byte", [](std::string* s) { s->back() ^= 0x80; }},
      {"truncated", [](std::string* s) { s->resize(s->size() / 2); }},
      {"bad magic", [](std::string* s) { (*s)[0] = 'X'; }},
      {"empty", [](std::string* s) { s->clear(); }},
      {"huge count", [](std::string* s) { (*s)[15] = 0x7f; }},
  };
  for (const Corruption& c : corruptions) {
    SCOPED_TRACE(c.name);
    const std::string key = TensorCache::Key("p", c.name, 1, 1);
    ASSERT_TRUE(cache->Put(key, values).ok());
    std::string bytes = testing::ReadFileOrEmpty(EntryPath(*cache, key));
    c.apply(&bytes);
    testing::WriteFileOrDie(EntryPath(*cache, key), bytes);
    EXPECT_EQ(cache->Get(key).status().code(), absl::StatusCode::kDataLoss);
    // Rebuilding replaces the entry.
    ASSERT_TRUE(cache->Put(key, values).ok());
    EXPECT_TRUE(cache->Get(key).ok());
  }
}

}  // namespace
}  // namespace tverr::node
