#include "common/audit/merkle.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tverr::audit {
namespace {

using ::testing::ElementsAre;

Hash H(absl::string_view hex) {
  absl::StatusOr<Hash> h = HashFromHex(hex);
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? *h : Hash{};
}

std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// ---- A straightforward recursive reference, written from RFC 6962 §2.1 ----

uint64_t RefSplit(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash RefMth(const std::vector<Hash>& d, uint64_t begin, uint64_t end) {
  if (end - begin == 0) return EmptyTreeHash();
  if (end - begin == 1) return d[begin];
  const uint64_t k = RefSplit(end - begin);
  return NodeHash(RefMth(d, begin, begin + k), RefMth(d, begin + k, end));
}

std::vector<Hash> RefPath(uint64_t m, const std::vector<Hash>& d, uint64_t begin, uint64_t end) {
  if (end - begin <= 1) return {};
  const uint64_t k = RefSplit(end - begin);
  std::vector<Hash> path;
  if (m < k) {
    path = RefPath(m, d, begin, begin + k);
    path.push_back(RefMth(d, begin + k, end));
  } else {
    path = RefPath(m - k, d, begin + k, end);
    path.push_back(RefMth(d, begin, begin + k));
  }
  return path;
}

std::vector<Hash> RefSubproof(uint64_t m, const std::vector<Hash>& d, uint64_t begin, uint64_t end,
                              bool b) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (b) return {};
    return {RefMth(d, begin, end)};
  }
  const uint64_t k = RefSplit(n);
  std::vector<Hash> proof;
  if (m <= k) {
    proof = RefSubproof(m, d, begin, begin + k, b);
    proof.push_back(RefMth(d, begin + k, end));
  } else {
    proof = RefSubproof(m - k, d, begin + k, end, false);
    proof.push_back(RefMth(d, begin, begin + k));
  }
  return proof;
}

std::vector<Hash> RandomLeaves(size_t n, std::mt19937_64& rng) {
  std::vector<Hash> leaves;
  for (size_t i = 0; i < n; ++i) leaves.push_back(LeafHash(std::to_string(rng())));
  return leaves;
}

// ---- Hashing primitives ----

TEST(MerkleTest, LeafAndNodeHashesUseTheRfcPrefixes) {
  EXPECT_EQ(HashToHex(EmptyTreeHash()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // SHA-256 of the single byte 0x00.
  EXPECT_EQ(HashToHex(LeafHash("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(HashToHex(NodeHash(LeafHash(""), LeafHash(Bytes({0x00})))),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
}

TEST(MerkleTest, HashFromHexIsStrict) {
  const std::string good(64, 'a');
  EXPECT_TRUE(HashFromHex(good).ok());
  EXPECT_FALSE(HashFromHex(good.substr(1)).ok());
  EXPECT_FALSE(HashFromHex(std::string(64, 'A')).ok());
  EXPECT_FALSE(HashFromHex(std::string(63, 'a') + "g").ok());
  EXPECT_EQ(HashToHex(H(good)), good);
}

// The Certificate Transparency reference leaves and roots for sizes 1..8
// (as published with RFC 6962 implementations).
class CtVectorsTest : public ::testing::Test {
 protected:
  std::vector<Hash> leaves_ = [] {
    std::vector<Hash> out;
    for (const std::string& d :
         {Bytes({}), Bytes({0x00}), Bytes({0x10}), Bytes({0x20, 0x21}), Bytes({0x30, 0x31}),
          Bytes({0x40, 0x41, 0x42, 0x43}), Bytes({0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57}),
          Bytes({0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                 0x6e, 0x6f})}) {
      out.push_back(LeafHash(d));
    }
    return out;
  }();
};

TEST_F(CtVectorsTest, RootsForEverySize) {
  const char* kRoots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  MerkleTree tree(leaves_);
  CompactRange range;
  for (size_t n = 1; n <= 8; ++n) {
    range.Append(leaves_[n - 1]);
    EXPECT_EQ(HashToHex(*tree.RootAt(n)), kRoots[n - 1]) << n;
    EXPECT_EQ(HashToHex(range.Root()), kRoots[n - 1]) << n;
  }
  EXPECT_EQ(*tree.RootAt(0), EmptyTreeHash());
}

TEST_F(CtVectorsTest, PublishedProofs) {
  MerkleTree tree(leaves_);
  EXPECT_THAT(*tree.InclusionProof(0, 8),
              ElementsAre(H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                          H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                          H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")));
  EXPECT_THAT(*tree.InclusionProof(5, 8),
              ElementsAre(H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                          H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                          H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")));
  EXPECT_THAT(*tree.ConsistencyProof(2, 8),
              ElementsAre(H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                          H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")));
}

// RFC 6962 §2.1.3: the tree of d0..d6 and the proofs the RFC lists for it.
//   hash = node(k, l)
//   k = node(g, h)                l = node(i, j)
//   g = node(a, b)  h = node(c, d)  i = node(e, f)  j = leaf(d6)
//   a..f = leaf(d0)..leaf(d5)
class RfcExampleTest : public ::testing::Test {
 protected:
  std::vector<Hash> d_ = [] {
    std::vector<Hash> out;
    for (int i = 0; i < 7; ++i) out.push_back(LeafHash("d" + std::to_string(i)));
    return out;
  }();
  const Hash a = d_[0], b = d_[1], c = d_[2], d = d_[3], e = d_[4], f = d_[5], j = d_[6];
  const Hash g = NodeHash(a, b), h = NodeHash(c, d), i = NodeHash(e, f);
  const Hash k = NodeHash(g, h), l = NodeHash(i, j);
  const Hash root = NodeHash(k, l);
  MerkleTree tree_{d_};
};

TEST_F(RfcExampleTest, Root) {
  EXPECT_EQ(tree_.Root(), root);
  EXPECT_EQ(MerkleRoot(d_), root);
}

TEST_F(RfcExampleTest, InclusionProofsAsListedInTheRfc) {
  EXPECT_THAT(*tree_.InclusionProof(0, 7), ElementsAre(b, h, l));
  EXPECT_THAT(*tree_.InclusionProof(3, 7), ElementsAre(c, g, l));
  EXPECT_THAT(*tree_.InclusionProof(4, 7), ElementsAre(f, j, k));
  EXPECT_THAT(*tree_.InclusionProof(6, 7), ElementsAre(i, k));
  for (uint64_t m : {0, 3, 4, 6}) {
    EXPECT_TRUE(VerifyInclusion(d_[m], m, 7, *tree_.InclusionProof(m, 7), root).ok()) << m;
  }
}

TEST_F(RfcExampleTest, ConsistencyProofsAsListedInTheRfc) {
  const Hash hash0 = NodeHash(g, c);  // the tree of d0..d2
  const Hash hash1 = k;               // d0..d3
  const Hash hash2 = NodeHash(k, i);  // d0..d5
  EXPECT_EQ(*tree_.RootAt(3), hash0);
  EXPECT_EQ(*tree_.RootAt(4), hash1);
  EXPECT_EQ(*tree_.RootAt(6), hash2);
  EXPECT_THAT(*tree_.ConsistencyProof(3, 7), ElementsAre(c, d, g, l));
  EXPECT_THAT(*tree_.ConsistencyProof(4, 7), ElementsAre(l));
  EXPECT_THAT(*tree_.ConsistencyProof(6, 7), ElementsAre(i, j, k));
  EXPECT_TRUE(VerifyConsistency(3, 7, hash0, root, *tree_.ConsistencyProof(3, 7)).ok());
  EXPECT_TRUE(VerifyConsistency(4, 7, hash1, root, *tree_.ConsistencyProof(4, 7)).ok());
  EXPECT_TRUE(VerifyConsistency(6, 7, hash2, root, *tree_.ConsistencyProof(6, 7)).ok());
}

TEST_F(RfcExampleTest, ArgumentsOutOfRange) {
  EXPECT_EQ(tree_.InclusionProof(7, 7).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_.InclusionProof(0, 8).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(tree_.ConsistencyProof(5, 4).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_.ConsistencyProof(3, 8).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(tree_.RootAt(8).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(tree_.ConsistencyProof(0, 7)->empty());
  EXPECT_TRUE(tree_.ConsistencyProof(7, 7)->empty());
  EXPECT_TRUE(VerifyConsistency(0, 7, EmptyTreeHash(), root, {}).ok());
  EXPECT_TRUE(VerifyConsistency(7, 7, root, root, {}).ok());
  EXPECT_FALSE(VerifyConsistency(7, 7, root, k, {}).ok());
  EXPECT_FALSE(VerifyConsistency(7, 7, root, root, {root}).ok());
}

// ---- Against the reference, for every size 1..300 ----

TEST(MerkleReferenceTest, RootsAndAllInclusionProofs) {
  std::mt19937_64 rng(6962);
  const std::vector<Hash> leaves = RandomLeaves(300, rng);
  MerkleTree tree;
  CompactRange range;
  for (uint64_t n = 1; n <= leaves.size(); ++n) {
    tree.Append(leaves[n - 1]);
    range.Append(leaves[n - 1]);
    const Hash root = RefMth(leaves, 0, n);
    ASSERT_EQ(tree.Root(), root) << n;
    ASSERT_EQ(range.Root(), root) << n;
    ASSERT_EQ(MerkleTree(absl::MakeConstSpan(leaves).subspan(0, n)).Root(), root) << n;
    for (uint64_t m = 0; m < n; ++m) {
      absl::StatusOr<std::vector<Hash>> proof = tree.InclusionProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, RefPath(m, leaves, 0, n)) << m << "/" << n;
      ASSERT_TRUE(VerifyInclusion(leaves[m], m, n, *proof, root).ok()) << m << "/" << n;
    }
  }
  // A bigger tree: proofs against older sizes come from the stored levels.
  for (uint64_t n = 1; n <= leaves.size(); n += 37) {
    for (uint64_t m = 0; m < n; m += 5) {
      ASSERT_EQ(*tree.InclusionProof(m, n), RefPath(m, leaves, 0, n)) << m << "/" << n;
    }
  }
}

TEST(MerkleReferenceTest, ConsistencyProofsForRandomPairs) {
  std::mt19937_64 rng(9162);
  const std::vector<Hash> leaves = RandomLeaves(300, rng);
  MerkleTree tree(leaves);
  std::uniform_int_distribution<uint64_t> size(1, leaves.size());
  for (int trial = 0; trial < 2000; ++trial) {
    uint64_t first = size(rng), second = size(rng);
    if (first > second) std::swap(first, second);
    absl::StatusOr<std::vector<Hash>> proof = tree.ConsistencyProof(first, second);
    ASSERT_TRUE(proof.ok()) << proof.status();
    const std::vector<Hash> expected =
        first == second ? std::vector<Hash>{} : RefSubproof(first, leaves, 0, second, true);
    ASSERT_EQ(*proof, expected) << first << "->" << second;
    ASSERT_TRUE(VerifyConsistency(first, second, RefMth(leaves, 0, first),
                                  RefMth(leaves, 0, second), *proof)
                    .ok())
        << first << "->" << second;
  }
}

// ---- Verification rejects what it must ----

TEST(MerkleVerifyTest, RejectsAlteredInclusionProofs) {
  std::mt19937_64 rng(1);
  const std::vector<Hash> leaves = RandomLeaves(77, rng);
  MerkleTree tree(leaves);
  const Hash root = tree.Root();
  for (uint64_t m = 0; m < leaves.size(); ++m) {
    const std::vector<Hash> proof = *tree.InclusionProof(m, leaves.size());
    ASSERT_TRUE(VerifyInclusion(leaves[m], m, leaves.size(), proof, root).ok());
    // Each hash of the path flipped in one bit.
    for (size_t p = 0; p < proof.size(); ++p) {
      std::vector<Hash> bad = proof;
      bad[p][p % 32] ^= 1;
      EXPECT_FALSE(VerifyInclusion(leaves[m], m, leaves.size(), bad, root).ok()) << m << " " << p;
    }
    // Wrong leaf, index, root; a hash dropped or added. (A wrong tree size
    // with the right root can pass, as in every RFC 9162 verifier: the
    // signed tree head binds the size to the root.)
    const uint64_t other = (m + 1) % leaves.size();
    EXPECT_FALSE(VerifyInclusion(leaves[other], m, leaves.size(), proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaves[m], other, leaves.size(), proof, root).ok());
    EXPECT_FALSE(VerifyInclusion(leaves[m], m, leaves.size(), proof, leaves[m]).ok());
    if (!proof.empty()) {
      EXPECT_FALSE(
          VerifyInclusion(leaves[m], m, leaves.size(), absl::MakeConstSpan(proof).subspan(1), root)
              .ok());
    }
    std::vector<Hash> longer = proof;
    longer.push_back(root);
    EXPECT_FALSE(VerifyInclusion(leaves[m], m, leaves.size(), longer, root).ok());
  }
  EXPECT_EQ(VerifyInclusion(leaves[0], 77, 77, {}, root).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MerkleVerifyTest, RejectsAlteredConsistencyProofs) {
  std::mt19937_64 rng(2);
  const std::vector<Hash> leaves = RandomLeaves(64, rng);
  MerkleTree tree(leaves);
  for (uint64_t first = 1; first < 64; ++first) {
    for (uint64_t second : {first + 1, uint64_t{64}}) {
      const Hash r1 = *tree.RootAt(first), r2 = *tree.RootAt(second);
      const std::vector<Hash> proof = *tree.ConsistencyProof(first, second);
      ASSERT_TRUE(VerifyConsistency(first, second, r1, r2, proof).ok());
      for (size_t p = 0; p < proof.size(); ++p) {
        std::vector<Hash> bad = proof;
        bad[p][0] ^= 0x80;
        EXPECT_FALSE(VerifyConsistency(first, second, r1, r2, bad).ok()) << first << " " << p;
      }
      EXPECT_FALSE(VerifyConsistency(first, second, r2, r2, proof).ok());
      EXPECT_FALSE(VerifyConsistency(first, second, r1, r1, proof).ok());
      EXPECT_FALSE(
          VerifyConsistency(first, second, r1, r2, absl::MakeConstSpan(proof).subspan(1)).ok());
      std::vector<Hash> longer = proof;
      longer.push_back(r1);
      EXPECT_FALSE(VerifyConsistency(first, second, r1, r2, longer).ok());
    }
  }
}

}  // namespace
}  // namespace tverr::audit
