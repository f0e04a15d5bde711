#include "common/audit/record_json.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/audit/fast_record_json.h"
#include "gtest/gtest.h"

namespace tverr::audit {
namespace {

using google::protobuf::util::MessageDifferencer;

v1::AuditRecord SampleRecord() {
  v1::AuditRecord r;
  r.set_schema_version(1);
  r.set_sequence(42);
  r.set_previous_leaf_sha256(std::string(64, 'a'));
  r.set_time("2026-11-26T15:04:05.123Z");
  r.mutable_actor()->set_identity("fl://nordic/node/oslo-uh");
  r.set_event(v1::UPDATE_ACCEPTED);
  r.set_run_id(std::string(64, 'c'));
  r.set_round(3);
  r.mutable_hashes()->set_update(std::string(64, 'd'));
  r.set_outcome(v1::SUCCESS);
  r.add_nodes("fl://nordic/node/bergen");
  r.set_bytes(4000000);
  (*r.mutable_parameters())["strategy"] = "FEDAVG";
  (*r.mutable_parameters())["secure.threshold"] = "3";
  v1::AuditSiteMetrics* m = r.add_metrics();
  m->set_site("oslo");
  m->set_samples(100);
  m->set_accuracy(0.9);
  return r;
}

TEST(RecordJsonTest, CanonicalLine) {
  absl::StatusOr<std::string> json = RecordToJson(SampleRecord());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "{\"schema_version\":1,\"sequence\":\"42\",\"previous_leaf_sha256\":\"" +
                       std::string(64, 'a') +
                       "\",\"time\":\"2026-11-26T15:04:05.123Z\","
                       "\"actor\":{\"identity\":\"fl://nordic/node/oslo-uh\"},"
                       "\"event\":\"UPDATE_ACCEPTED\",\"run_id\":\"" +
                       std::string(64, 'c') + "\",\"round\":\"3\",\"hashes\":{\"update\":\"" +
                       std::string(64, 'd') +
                       "\"},\"outcome\":\"SUCCESS\",\"nodes\":[\"fl://nordic/node/bergen\"],"
                       "\"bytes\":\"4000000\","
                       "\"parameters\":{\"secure.threshold\":\"3\",\"strategy\":\"FEDAVG\"},"
                       "\"metrics\":[{\"site\":\"oslo\",\"samples\":\"100\",\"accuracy\":0.9}]}");
}

TEST(RecordJsonTest, EmptyRecordIsEmptyObject) {
  EXPECT_EQ(*RecordToJson(v1::AuditRecord()), "{}");
  EXPECT_TRUE(ParseCanonicalRecord("{}").ok());
}

// Protobuf's MessageToJsonString prints map entries in hash-table order;
// the canonical line must not depend on how the map was filled.
TEST(RecordJsonTest, MapKeysAreSortedWhateverTheInsertionOrder) {
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("key." + std::to_string(i * 7919 % 1000));
  keys.push_back("");
  keys.push_back("A");
  keys.push_back("a<b");
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());

  std::string first;
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::shuffle(keys.begin(), keys.end(), rng);
    v1::AuditRecord r;
    for (const std::string& k : keys) (*r.mutable_parameters())[k] = "v" + k;
    absl::StatusOr<std::string> json = RecordToJson(r);
    ASSERT_TRUE(json.ok());
    if (trial == 0) first = *json;
    EXPECT_EQ(*json, first) << "insertion order changed the line";
  }
  // And the order is by key bytes.
  size_t last = 0;
  for (const std::string& k : sorted) {
    const std::string quoted = "\"" + (k == "a<b" ? std::string("a\\u003cb") : k) + "\":";
    size_t at = first.find(quoted, last);
    ASSERT_NE(at, std::string::npos) << k;
    last = at + quoted.size();
  }
  EXPECT_TRUE(ParseCanonicalRecord(first).ok());
}

TEST(RecordJsonTest, RoundTrip) {
  const v1::AuditRecord r = SampleRecord();
  absl::StatusOr<v1::AuditRecord> back = ParseCanonicalRecord(*RecordToJson(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(MessageDifferencer::Equals(r, *back));
}

struct BadLine {
  const char* name;
  std::string line;
  absl::StatusCode code;
};

// Table: lines that are records but not canonical (DATA_LOSS), and lines
// that are not records at all (INVALID_ARGUMENT).
TEST(RecordJsonTest, RejectsNonCanonicalAndInvalidLines) {
  const std::vector<BadLine> cases = {
      {"space after colon", R"({"schema_version": 1})", absl::StatusCode::kDataLoss},
      {"leading space", R"( {"schema_version":1})", absl::StatusCode::kDataLoss},
      {"trailing space", R"({"schema_version":1} )", absl::StatusCode::kDataLoss},
      {"camelCase name", R"({"schemaVersion":1})", absl::StatusCode::kDataLoss},
      {"field order", R"({"sequence":"2","schema_version":1})", absl::StatusCode::kDataLoss},
      {"uint64 as number", R"({"sequence":2})", absl::StatusCode::kDataLoss},
      {"uint32 as string", R"({"schema_version":"1"})", absl::StatusCode::kDataLoss},
      {"enum as number", R"({"event":31})", absl::StatusCode::kDataLoss},
      {"default value written", R"({"schema_version":0})", absl::StatusCode::kDataLoss},
      {"unsorted map keys", R"({"parameters":{"b":"1","a":"2"}})", absl::StatusCode::kDataLoss},
      {"unescaped <", R"({"reason":"a<b"})", absl::StatusCode::kDataLoss},
      {"needless escape", R"({"reason":"\u0061"})", absl::StatusCode::kDataLoss},
      {"leading zero", R"({"sequence":"02"})", absl::StatusCode::kDataLoss},
      {"double with needless digits", R"({"metrics":[{"accuracy":0.90}]})",
       absl::StatusCode::kDataLoss},
      {"unknown field", R"({"schema_version":1,"patient":"x"})",
       absl::StatusCode::kInvalidArgument},
      {"not JSON", "schema_version=1", absl::StatusCode::kInvalidArgument},
      {"truncated", R"({"schema_version":1,"seq)", absl::StatusCode::kInvalidArgument},
      {"wrong type", R"({"actor":5})", absl::StatusCode::kInvalidArgument},
      {"negative zero", R"({"metrics":[{"loss":-0}]})", absl::StatusCode::kDataLoss},
      {"unknown enum name", R"({"event":"PARTY"})", absl::StatusCode::kInvalidArgument},
      {"empty line", "", absl::StatusCode::kInvalidArgument},
  };
  for (const BadLine& c : cases) {
    absl::StatusOr<v1::AuditRecord> r = ParseCanonicalRecord(c.line);
    EXPECT_EQ(r.status().code(), c.code) << c.name << ": " << r.status();
  }
}

// Protobuf prints -0.0 as -0 and reads -0 as +0: the log stores 0.
TEST(RecordJsonTest, NegativeZeroIsStoredAsZero) {
  v1::AuditRecord r;
  r.add_metrics()->set_loss(-0.0);
  r.mutable_metrics(0)->set_accuracy(0.5);
  const std::string json = *RecordToJson(r);
  EXPECT_EQ(json, R"({"metrics":[{"accuracy":0.5}]})");
  EXPECT_TRUE(ParseCanonicalRecord(json).ok());
}

TEST(RecordJsonTest, TreeHeadRoundTripAndCanonicalCheck) {
  v1::AuditTreeHead head;
  head.set_tree_size(7);
  head.set_root_sha256(std::string(64, 'f'));
  head.set_time("2026-11-26T15:04:05.123Z");
  head.set_run_id("r");
  head.set_round(2);
  head.set_signature(std::string(128, '0'));
  head.set_key_id(std::string(64, '1'));
  absl::StatusOr<std::string> json = TreeHeadToJson(head);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->substr(0, 32), "{\"tree_size\":\"7\",\"root_sha256\":\"");
  absl::StatusOr<v1::AuditTreeHead> back = ParseCanonicalTreeHead(*json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(MessageDifferencer::Equals(head, *back));
  EXPECT_EQ(ParseCanonicalTreeHead(*json + " ").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseCanonicalTreeHead("{\"size\":1}").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- The fast printer and parser against protobuf ----

std::string RandomString(std::mt19937_64& rng) {
  static const std::vector<std::string> kPieces = {"a",
                                                   "Z",
                                                   "0",
                                                   " ",
                                                   "\"",
                                                   "\\",
                                                   "/",
                                                   "<",
                                                   ">",
                                                   "&",
                                                   "'",
                                                   "\n",
                                                   "\t",
                                                   "\r",
                                                   "\b",
                                                   "\f",
                                                   std::string(1, '\x01'),
                                                   std::string(1, '\x1f'),
                                                   std::string(1, '\x7f'),
                                                   std::string(1, '\0'),
                                                   "\xc3\xa5" /* å */,
                                                   "\xe2\x80\xa8" /* U+2028 */,
                                                   "\xc2\xad" /* soft hyphen */,
                                                   "\xf0\x9f\x98\x80" /* emoji */,
                                                   "fl://nordic/node/x",
                                                   std::string(64, 'e')};
  std::uniform_int_distribution<int> len(0, 6);
  std::uniform_int_distribution<size_t> piece(0, kPieces.size() - 1);
  std::bernoulli_distribution ascii_only(0.9);
  const bool ascii = ascii_only(rng);
  std::string s;
  for (int n = len(rng); n > 0; --n) {
    const std::string& p = kPieces[piece(rng)];
    if (ascii && (p.empty() || static_cast<unsigned char>(p[0]) >= 0x80 || p[0] == '\0')) continue;
    s += p;
  }
  return s;
}

double RandomDouble(std::mt19937_64& rng) {
  static const double kSpecial[] = {0.0,
                                    -0.0,
                                    1.0,
                                    0.9,
                                    0.1 + 0.2,
                                    1e15,
                                    1e16,
                                    1e21,
                                    1e-7,
                                    5e-324,
                                    std::numeric_limits<double>::max(),
                                    std::numeric_limits<double>::quiet_NaN(),
                                    std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity()};
  std::uniform_int_distribution<int> pick(0, 20);
  const int p = pick(rng);
  if (p < 14) return kSpecial[p];
  if (p < 17) return std::uniform_real_distribution<double>(0, 1)(rng);
  uint64_t bits = rng();
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

v1::AuditRecord RandomRecord(std::mt19937_64& rng) {
  std::bernoulli_distribution coin(0.5);
  v1::AuditRecord r;
  if (coin(rng)) r.set_schema_version(static_cast<uint32_t>(rng()));
  if (coin(rng)) r.set_sequence(rng() >> (rng() % 64));
  if (coin(rng)) r.set_previous_leaf_sha256(RandomString(rng));
  if (coin(rng)) r.set_time(RandomString(rng));
  if (coin(rng)) {
    r.mutable_actor();
    if (coin(rng)) r.mutable_actor()->set_identity(RandomString(rng));
    if (coin(rng)) r.mutable_actor()->set_certificate_sha256(RandomString(rng));
  }
  if (coin(rng)) r.set_event(static_cast<v1::AuditEvent>(rng() % 46));  // some unknown
  if (coin(rng)) r.set_run_id(RandomString(rng));
  if (coin(rng)) r.set_round(rng() % 1000);
  if (coin(rng)) {
    v1::AuditHashes* h = r.mutable_hashes();
    if (coin(rng)) h->set_run_spec(RandomString(rng));
    if (coin(rng)) h->set_global_after(RandomString(rng));
    if (coin(rng)) h->set_dataset(RandomString(rng));
  }
  if (coin(rng)) r.set_outcome(static_cast<v1::AuditOutcome>(rng() % 5));
  if (coin(rng)) r.set_reason(RandomString(rng));
  for (int n = static_cast<int>(rng() % 3); n > 0; --n) r.add_nodes(RandomString(rng));
  if (coin(rng)) r.set_bytes(rng());
  if (coin(rng)) r.set_samples(rng() % 100000);
  for (int n = static_cast<int>(rng() % 4); n > 0; --n) {
    (*r.mutable_parameters())[RandomString(rng)] = RandomString(rng);
  }
  for (int n = static_cast<int>(rng() % 3); n > 0; --n) {
    v1::AuditSiteMetrics* m = r.add_metrics();
    if (coin(rng)) m->set_site(RandomString(rng));
    if (coin(rng)) m->set_samples(rng() % 1000);
    if (coin(rng)) m->set_accuracy(RandomDouble(rng));
    if (coin(rng)) m->set_loss(RandomDouble(rng));
  }
  return r;
}

// The fast printer is only an accelerator: wherever it prints, it must
// print protobuf's bytes exactly; its parser must read them back.
TEST(FastRecordJsonTest, AgreesWithProtobufOnRandomRecords) {
  std::mt19937_64 rng(2026);
  int fast = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const v1::AuditRecord r = RandomRecord(rng);
    absl::StatusOr<std::string> canonical = RecordToJson(r);
    ASSERT_TRUE(canonical.ok()) << canonical.status();
    std::string printed;
    if (internal::FastRecordToJson(r, &printed)) {
      ++fast;
      ASSERT_EQ(printed, *canonical) << r.DebugString();
      v1::AuditRecord parsed;
      ASSERT_TRUE(internal::FastParseRecord(*canonical, &parsed)) << *canonical;
      std::string again;
      ASSERT_TRUE(internal::FastRecordToJson(parsed, &again));
      ASSERT_EQ(again, *canonical);
    }
    // Whatever path it takes, a canonical line parses back to the record
    // (NaN compares unequal to itself, so compare the lines).
    absl::StatusOr<v1::AuditRecord> back = ParseCanonicalRecord(*canonical);
    ASSERT_TRUE(back.ok()) << back.status() << " " << *canonical;
    ASSERT_EQ(*RecordToJson(*back), *canonical);
  }
  // Most random records are within the fast printer's reach.
  EXPECT_GT(fast, 5000);
}

TEST(FastRecordJsonTest, TreeHeadsAgreeWithProtobuf) {
  std::mt19937_64 rng(6962);
  std::bernoulli_distribution coin(0.5);
  int fast = 0;
  for (int trial = 0; trial < 5000; ++trial) {
    v1::AuditTreeHead h;
    if (coin(rng)) h.set_tree_size(rng() >> (rng() % 64));
    if (coin(rng)) h.set_root_sha256(RandomString(rng));
    if (coin(rng)) h.set_time(RandomString(rng));
    if (coin(rng)) h.set_run_id(RandomString(rng));
    if (coin(rng)) h.set_round(rng() % 1000);
    if (coin(rng)) h.set_signature(RandomString(rng));
    if (coin(rng)) h.set_key_id(RandomString(rng));
    const std::string canonical = *TreeHeadToJson(h);
    std::string printed;
    if (internal::FastTreeHeadToJson(h, &printed)) {
      ++fast;
      ASSERT_EQ(printed, canonical);
      v1::AuditTreeHead parsed;
      std::string scratch;
      ASSERT_TRUE(internal::FastParseCanonicalTreeHead(canonical, &parsed, &scratch));
      ASSERT_TRUE(MessageDifferencer::Equals(parsed, h));
    }
    absl::StatusOr<v1::AuditTreeHead> back = ParseCanonicalTreeHead(canonical);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_TRUE(MessageDifferencer::Equals(*back, h));
  }
  EXPECT_GT(fast, 1000);
}

TEST(FastRecordJsonTest, HandlesTypicalRecords) {
  std::string printed;
  ASSERT_TRUE(internal::FastRecordToJson(SampleRecord(), &printed));
  EXPECT_EQ(printed, *RecordToJson(SampleRecord()));
  v1::AuditRecord parsed;
  ASSERT_TRUE(internal::FastParseRecord(printed, &parsed));
  EXPECT_TRUE(MessageDifferencer::Equals(parsed, SampleRecord()));
}

TEST(FastRecordJsonTest, DeclinesWhatItCannotReproduce) {
  std::string out;
  v1::AuditRecord r;
  r.set_reason("caf\xc3\xa9");
  EXPECT_FALSE(internal::FastRecordToJson(r, &out));
  r.Clear();
  r.set_event(static_cast<v1::AuditEvent>(99));
  EXPECT_FALSE(internal::FastRecordToJson(r, &out));
  r.Clear();
  r.add_metrics()->set_loss(std::numeric_limits<double>::quiet_NaN());
  out.clear();
  EXPECT_FALSE(internal::FastRecordToJson(r, &out));
}

}  // namespace
}  // namespace tverr::audit
