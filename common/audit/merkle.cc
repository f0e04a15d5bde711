#include "common/audit/merkle.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace tverr::audit {
namespace {

// Largest power of two strictly smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// RFC 6962 §2.1.1 PATH(m, D[begin:end]) appended to `out`, given MTH of any
// subtree the recursion reaches. Iterative, from the leaf upwards: the
// siblings are collected top-down and reversed at the end.
template <typename SubtreeHashFn>
void Path(uint64_t m, uint64_t begin, uint64_t end, const SubtreeHashFn& mth,
          std::vector<Hash>* out) {
  std::vector<Hash> top_down;
  while (end - begin > 1) {
    const uint64_t k = SplitPoint(end - begin);
    if (m < k) {
      top_down.push_back(mth(begin + k, end));
      end = begin + k;
    } else {
      top_down.push_back(mth(begin, begin + k));
      m -= k;
      begin += k;
    }
  }
  out->insert(out->end(), top_down.rbegin(), top_down.rend());
}

// RFC 6962 §2.1.2 SUBPROOF(m, D[begin:end], b), iteratively as above.
template <typename SubtreeHashFn>
void Subproof(uint64_t m, uint64_t begin, uint64_t end, bool b, const SubtreeHashFn& mth,
              std::vector<Hash>* out) {
  std::vector<Hash> top_down;
  while (true) {
    const uint64_t n = end - begin;
    if (m == n) {
      if (!b) top_down.push_back(mth(begin, end));
      break;
    }
    const uint64_t k = SplitPoint(n);
    if (m <= k) {
      top_down.push_back(mth(begin + k, end));
      end = begin + k;
    } else {
      top_down.push_back(mth(begin, begin + k));
      m -= k;
      begin += k;
      b = false;
    }
  }
  out->insert(out->end(), top_down.rbegin(), top_down.rend());
}

}  // namespace

Hash LeafHash(absl::string_view data) {
  crypto::Sha256Hasher h;
  const char prefix = 0x00;
  h.Update(absl::string_view(&prefix, 1));
  h.Update(data);
  return h.Finish();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  char buf[1 + 2 * 32];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return crypto::Sha256(absl::string_view(buf, sizeof(buf)));
}

Hash EmptyTreeHash() { return crypto::Sha256(absl::string_view()); }

std::string HashToHex(const Hash& hash) { return crypto::ToHex(hash); }

absl::StatusOr<Hash> HashFromHex(absl::string_view hex) {
  if (hex.size() != 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash must be 64 hex digits, got ", hex.size(), " characters"));
  }
  Hash out{};
  for (size_t i = 0; i < 64; ++i) {
    const char c = hex[i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return absl::InvalidArgumentError("hash must be lower-case hex");
    }
    out[i / 2] = static_cast<uint8_t>(i % 2 == 0 ? v << 4 : out[i / 2] | v);
  }
  return out;
}

Hash MerkleRoot(absl::Span<const Hash> leaf_hashes) {
  CompactRange range;
  for (const Hash& h : leaf_hashes) range.Append(h);
  return range.Root();
}

// ---- CompactRange ----

void CompactRange::Append(const Hash& leaf_hash) {
  peaks_.push_back(leaf_hash);
  // Each trailing 1 bit of the old size is a perfect subtree the same size
  // as the one just completed: merge them.
  for (uint64_t s = size_; s & 1; s >>= 1) {
    Hash right = peaks_.back();
    peaks_.pop_back();
    peaks_.back() = NodeHash(peaks_.back(), right);
  }
  ++size_;
}

Hash CompactRange::Root() const {
  if (peaks_.empty()) return EmptyTreeHash();
  // RFC 6962 splits at the highest bit, so the tree is the peaks folded
  // from the right.
  Hash root = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) root = NodeHash(peaks_[i], root);
  return root;
}

// ---- MerkleTree ----

MerkleTree::MerkleTree(absl::Span<const Hash> leaf_hashes) {
  levels_.reserve(65);
  for (const Hash& h : leaf_hashes) Append(h);
}

void MerkleTree::Append(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  // Complete every perfect subtree the new leaf closes.
  for (size_t h = 0; levels_[h].size() % 2 == 0; ++h) {
    if (levels_.size() == h + 1) levels_.emplace_back();
    const std::vector<Hash>& level = levels_[h];
    Hash parent = NodeHash(level[level.size() - 2], level[level.size() - 1]);
    levels_[h + 1].push_back(parent);
  }
}

Hash MerkleTree::SubtreeHash(uint64_t begin, uint64_t end) const {
  const uint64_t n = end - begin;
  if (IsPowerOfTwo(n)) {
    size_t h = 0;
    while ((uint64_t{1} << h) < n) ++h;
    return levels_[h][begin >> h];
  }
  const uint64_t k = SplitPoint(n);
  return NodeHash(SubtreeHash(begin, begin + k), SubtreeHash(begin + k, end));
}

Hash MerkleTree::Root() const { return size() == 0 ? EmptyTreeHash() : SubtreeHash(0, size()); }

absl::StatusOr<Hash> MerkleTree::RootAt(uint64_t tree_size) const {
  if (tree_size > size()) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", tree_size, " exceeds the ", size(), " leaves"));
  }
  return tree_size == 0 ? EmptyTreeHash() : SubtreeHash(0, tree_size);
}

absl::StatusOr<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index,
                                                             uint64_t tree_size) const {
  if (tree_size > size()) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", tree_size, " exceeds the ", size(), " leaves"));
  }
  if (index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf ", index, " is not in a tree of size ", tree_size));
  }
  std::vector<Hash> proof;
  Path(
      index, 0, tree_size, [this](uint64_t b, uint64_t e) { return SubtreeHash(b, e); }, &proof);
  return proof;
}

absl::StatusOr<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t first,
                                                               uint64_t second) const {
  if (second > size()) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", second, " exceeds the ", size(), " leaves"));
  }
  if (first > second) {
    return absl::InvalidArgumentError(
        absl::StrCat("first tree size ", first, " exceeds second ", second));
  }
  std::vector<Hash> proof;
  if (first == 0 || first == second) return proof;
  Subproof(
      first, 0, second, /*b=*/true, [this](uint64_t b, uint64_t e) { return SubtreeHash(b, e); },
      &proof);
  return proof;
}

// ---- Verification (RFC 9162) ----

absl::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t tree_size,
                             absl::Span<const Hash> proof, const Hash& root) {
  if (index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf ", index, " is not in a tree of size ", tree_size));
  }
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return absl::InvalidArgumentError("inclusion proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("inclusion proof is too short");
  if (r != root) return absl::DataLossError("inclusion proof does not lead to the root");
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_root,
                               const Hash& second_root, absl::Span<const Hash> proof) {
  if (first > second) {
    return absl::InvalidArgumentError(
        absl::StrCat("first tree size ", first, " exceeds second ", second));
  }
  if (first == second || first == 0) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError("consistency proof must be empty for these sizes");
    }
    if (first == second && first_root != second_root) {
      return absl::DataLossError("trees of the same size have different roots");
    }
    if (first == 0 && first_root != EmptyTreeHash()) {
      return absl::DataLossError("the empty tree's root is not SHA-256 of nothing");
    }
    return absl::OkStatus();
  }
  if (proof.empty()) return absl::InvalidArgumentError("consistency proof is empty");

  // Step 2: a first tree that is a perfect subtree is its own first node.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (IsPowerOfTwo(first)) path.push_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());

  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return absl::InvalidArgumentError("consistency proof is too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("consistency proof is too short");
  if (fr != first_root) {
    return absl::DataLossError("consistency proof does not lead to the first root");
  }
  if (sr != second_root) {
    return absl::DataLossError("consistency proof does not lead to the second root");
  }
  return absl::OkStatus();
}

}  // namespace tverr::audit
